//! The repository's scripts as a user runs them: `scripts/run` must find the binary where
//! cargo builds it (`CARGO_TARGET_DIR`, not `./target`), from any directory.
//!
//! A release build into a fresh target directory takes about ten minutes, and cargo relinks
//! `release/chartcoder` on every build, so the test cannot let cargo build there. It points
//! `CARGO_TARGET_DIR` at an empty directory whose `release/chartcoder` is a wrapper that
//! records its use and runs the binary under test, and puts first on `PATH` a `cargo` that
//! records its arguments, answers `build` with success (nothing to build: the binary is
//! there) and hands everything else (`cargo metadata`) to the real cargo. The scripts
//! themselves run unchanged; one that ran `./target/release/chartcoder` would never reach
//! the wrapper. Needs `scripts/setup` (see `common`): the lookup runs on the real index.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

fn executable(path: &Path, script: &str) {
    std::fs::write(path, script).expect("write a script");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

/// Single-quoted for sh.
fn quoted(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', r"'\''"))
}

#[test]
fn scripts_run_finds_the_binary_in_cargo_target_dir() {
    if common::setup_or_skip().is_none() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let elsewhere = dir.path().join("target-elsewhere");
    std::fs::create_dir_all(elsewhere.join("release")).expect("mkdir");
    let ran = dir.path().join("wrapper-ran.log");
    executable(
        &elsewhere.join("release/chartcoder"),
        &format!(
            "#!/bin/sh\necho \"$0\" >> {}\nexec {} \"$@\"\n",
            quoted(&ran),
            quoted(Path::new(env!("CARGO_BIN_EXE_chartcoder")))
        ),
    );
    let stubs = dir.path().join("bin");
    std::fs::create_dir_all(&stubs).expect("mkdir");
    let cargo_log = dir.path().join("cargo.log");
    executable(
        &stubs.join("cargo"),
        &format!(
            "#!/bin/sh\necho \"$* [CARGO_TARGET_DIR=$CARGO_TARGET_DIR]\" >> {}\n\
             if [ \"$1\" = build ]; then exit 0; fi\nexec {} \"$@\"\n",
            quoted(&cargo_log),
            quoted(Path::new(env!("CARGO")))
        ),
    );
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut search = vec![stubs.clone()];
    search.extend(std::env::split_paths(&path));

    let out = Command::new(common::root().join("scripts/run"))
        .args(["lookup", "DM2", "--json"])
        // Not the repository: the script must not depend on the caller's directory.
        .current_dir(dir.path())
        .env("PATH", std::env::join_paths(search).expect("PATH"))
        .env("CARGO_TARGET_DIR", &elsewhere)
        .env_remove("CARGO_BUILD_TARGET_DIR")
        .env_remove("CHARTCODER_ASSETS")
        .env_remove("CHARTCODER_INDEX")
        .env_remove("CHARTCODER_MODELS")
        .env("CHARTCODER_LOG", "error")
        .output()
        .expect("scripts/run runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let cargo_calls = std::fs::read_to_string(&cargo_log).unwrap_or_default();
    let wrapper_runs = std::fs::read_to_string(&ran).unwrap_or_default();
    assert!(
        out.status.success(),
        "scripts/run failed\ncargo calls:\n{cargo_calls}\nstderr:\n{stderr}"
    );
    assert!(
        cargo_calls
            .lines()
            .any(|l| l.starts_with("build --release")),
        "the script did not build with cargo: {cargo_calls}"
    );
    // `chartcoder setup` (scripts/setup), then `chartcoder lookup` (scripts/run).
    assert_eq!(
        wrapper_runs.lines().count(),
        2,
        "scripts/run did not run {}/release/chartcoder twice (setup, lookup) but {wrapper_runs:?}: \
         does a script hard-code ./target?\ncargo calls:\n{cargo_calls}\nstderr:\n{stderr}",
        elsewhere.display()
    );
    let answer: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("stdout is the JSON answer alone");
    assert_eq!(answer["query"], "DM2");
    let codes: Vec<&str> = answer["suggestions"]
        .as_array()
        .expect("suggestions")
        .iter()
        .filter_map(|s| s["code"].as_str())
        .collect();
    assert!(codes.contains(&"E11.9"), "DM2 -> {codes:?}");
}
