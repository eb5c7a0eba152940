# Sourced by the scripts (not run): where cargo puts its build output, and the release
# binary there. `cargo metadata` knows CARGO_TARGET_DIR, CARGO_BUILD_TARGET_DIR and
# `build.target-dir` of .cargo/config.toml; `target/` is only its default.
#   . "$ROOT/scripts/lib.sh"; exec "$(chartcoder_bin)" ...
_chartcoder_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Resolved from the repository root, as `cargo build` in scripts/setup resolves it (a
# relative CARGO_TARGET_DIR is relative to the root, whatever the caller's directory).
target_dir() {
  local dir
  dir="$(cd "$_chartcoder_root" && cargo metadata --format-version 1 --no-deps --offline 2>/dev/null |
    sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')" || true
  if [ -z "$dir" ]; then
    # No cargo metadata (cargo missing or too old): the same rule by hand.
    dir="${CARGO_TARGET_DIR:-${CARGO_BUILD_TARGET_DIR:-target}}"
    case "$dir" in /*) ;; *) dir="$_chartcoder_root/$dir" ;; esac
  fi
  printf '%s\n' "$dir"
}

chartcoder_bin() {
  printf '%s/release/chartcoder\n' "$(target_dir)"
}
