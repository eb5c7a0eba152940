//! The `chartcoder` command line: a thin front end over the engine.

use std::io::{BufRead, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use chartcoder::assets::Assets;
use chartcoder::batch::{run_batch, BatchOptions};
use chartcoder::codeset::System;
use chartcoder::coding::{RankerChoice, SuggestOptions};
use chartcoder::engine::{Config, Engine};
use chartcoder::index::{BuildOptions, LookupOptions};
use chartcoder::options::{UserOptions, MAX_TOP_K};
use chartcoder::rank::CodePrior;
use chartcoder::Error;

#[derive(Parser)]
#[command(
    name = "chartcoder",
    version,
    about = "Clinical coding suggestions (ICD-10-CM / ICD-10-PCS) with evidence"
)]
struct Cli {
    #[command(flatten)]
    paths: Paths,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
struct Paths {
    /// Directory of fetched assets [env: CHARTCODER_ASSETS; default .assets]
    #[arg(long, global = true)]
    assets: Option<PathBuf>,
    /// Index directory [env: CHARTCODER_INDEX; default index/default]
    #[arg(long, global = true)]
    index: Option<PathBuf>,
}

impl Paths {
    fn config(&self) -> Config {
        let mut config = Config::from_env();
        if let Some(a) = &self.assets {
            config.assets = a.clone();
        }
        if let Some(i) = &self.index {
            config.index = i.clone();
        }
        config
    }
}

#[derive(Subcommand)]
enum Command {
    /// Fetch the pinned assets (idempotent) and build the index if it is absent.
    Setup {
        /// Only fetch and verify assets.
        #[arg(long)]
        no_index: bool,
        /// Extra lexicon sources for the index (see `index build --extra`).
        #[arg(long)]
        extra: Vec<PathBuf>,
    },
    /// Build or inspect the term index.
    #[command(subcommand)]
    Index(IndexCommand),
    /// Look up codes for phrases.
    Lookup(LookupArgs),
    /// Run the HTTP API and coder workbench (fetches assets and builds the index on first run).
    Serve {
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: std::net::SocketAddr,
        /// SQLite file for coders' decisions.
        #[arg(long, default_value = "feedback.sqlite")]
        feedback_db: PathBuf,
        /// File of bearer tokens, one per line (also CHARTCODER_TOKENS=a,b).
        #[arg(long)]
        tokens: Option<PathBuf>,
    },
    /// Language server over stdio for editors.
    Lsp {
        /// Use a running `chartcoder serve` at this URL instead of an in-process engine.
        #[arg(long)]
        server: Option<String>,
        /// SQLite store for accept/reject decisions (default with --server: the server's store).
        #[arg(long)]
        feedback_db: Option<PathBuf>,
    },
    /// Code one note (a file, or - for standard input).
    Suggest(SuggestArgs),
    /// Code many notes on all cores; resumable.
    Batch(BatchArgs),
    /// Evaluate on an annotated set (CodiEsp format).
    Eval(EvalArgs),
    /// Train on an annotated split: code prior, candidate precision and fitted ranker.
    Train {
        /// Training notes (.txt by id); without them only the code prior is written.
        #[arg(long)]
        texts: Option<PathBuf>,
        /// Gold doc<TAB>code files (CodiEsp D and P).
        #[arg(long, required = true)]
        gold: Vec<PathBuf>,
        /// Directory receiving ranker.onnx, associations.json, code_prior.json and
        /// lexical_ranker.json; or the path of ranker.onnx, the others written beside it.
        #[arg(long, default_value = "models")]
        out: PathBuf,
        /// Seed of the learned ranker's initialisation and sample order.
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
    /// Write a phrase-lookup gold set sampled from an Alphabetic Index (CSV or XML).
    LookupDevset {
        #[arg(long)]
        from: PathBuf,
        #[arg(long, default_value_t = 5000)]
        sample: usize,
        #[arg(long, default_value_t = 20261125)]
        seed: u64,
        #[arg(long)]
        output: PathBuf,
    },
}

#[derive(Subcommand)]
enum IndexCommand {
    /// Build the index from the code sets, abbreviations and extra sources.
    Build {
        /// Extra source: CMS Alphabetic Index XML, its CSV flattening, or a term<TAB>code TSV. Repeatable.
        #[arg(long)]
        extra: Vec<PathBuf>,
        /// Rebuild even if the index already holds exactly these inputs.
        #[arg(long)]
        force: bool,
        /// Another index directory whose term embeddings are reused for identical texts
        /// (the index being rebuilt is always reused). Repeatable.
        #[arg(long, value_name = "DIR")]
        reuse_embeddings: Vec<PathBuf>,
    },
    /// Print the index manifest.
    Info,
}

#[derive(Args)]
struct LookupArgs {
    /// The phrase to look up (or use --input).
    query: Option<String>,
    /// JSONL of {"id","text"} lines.
    #[arg(long, requires = "output")]
    input: Option<PathBuf>,
    /// JSONL output: {"id","suggestions":[{"code","system","title","score"}]}.
    #[arg(long)]
    output: Option<PathBuf>,
    /// Most results, 1 to 1000 [default: 10].
    #[arg(long, allow_negative_numbers = true)]
    top_k: Option<i64>,
    /// Restrict to one system: icd10cm or icd10pcs.
    #[arg(long)]
    system: Option<String>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Args, Clone)]
struct CodingArgs {
    /// inpatient or outpatient (uncertain diagnoses are coded only inpatient) [default:
    /// inpatient].
    #[arg(long)]
    setting: Option<String>,
    /// Restrict to one system: icd10cm or icd10pcs.
    #[arg(long)]
    system: Option<String>,
    /// Most suggestions per note, 1 to 1000 [default: 50; eval ranks 1000, as MAP is over
    /// the whole ranking].
    #[arg(long, allow_negative_numbers = true)]
    top_k: Option<i64>,
    /// Lowest score shown, 0 to 1 [default: 0].
    #[arg(long, allow_negative_numbers = true)]
    min_score: Option<f64>,
    /// learned (the ONNX ranker) or lexical (the transparent logistic model) [default:
    /// learned].
    #[arg(long)]
    ranker: Option<String>,
}

impl CodingArgs {
    /// Through the one validation of every surface (`chartcoder::options`).
    fn options(&self) -> chartcoder::Result<SuggestOptions> {
        UserOptions {
            setting: self.setting.clone(),
            systems: self.system.iter().cloned().collect(),
            top_k: self.top_k,
            min_score: self.min_score,
            ranker: self.ranker.clone(),
        }
        .suggest(&SuggestOptions::default())
    }
}

#[derive(Args)]
struct SuggestArgs {
    /// Note file, or - for standard input.
    file: PathBuf,
    #[command(flatten)]
    coding: CodingArgs,
    /// Print the JSON output schema instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct BatchArgs {
    /// JSONL of {"id","text"} lines, or a folder of .txt files named by id.
    #[arg(long)]
    input: PathBuf,
    /// JSONL output; ids already there are skipped (resume).
    #[arg(long)]
    output: PathBuf,
    #[command(flatten)]
    coding: CodingArgs,
}

#[derive(Args)]
struct EvalArgs {
    /// Folder of .txt notes named by document id.
    #[arg(long)]
    texts: PathBuf,
    /// Gold doc<TAB>code files: a *D.tsv for diagnoses, a *P.tsv for procedures.
    #[arg(long, required = true)]
    gold: Vec<PathBuf>,
    /// Operating threshold for micro P/R/F1.
    #[arg(long, default_value_t = 0.1)]
    threshold: f32,
    /// JSON report path.
    #[arg(long, default_value = "eval-report.json")]
    report: PathBuf,
    /// Also write the predictions as JSONL (for ../shared/tools/score.py).
    #[arg(long)]
    predictions: Option<PathBuf>,
    /// Skip scoring the pipeline with its components added one at a time.
    #[arg(long)]
    no_ablation: bool,
    /// Also score the pipeline with each guideline rule switched off in turn (the MAP
    /// each rule costs or earns on this set).
    #[arg(long)]
    rule_effects: bool,
    #[command(flatten)]
    coding: CodingArgs,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CHARTCODER_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error[{}]: {e}", e.code());
            exit_code(&e)
        }
    }
}

/// The one place errors become exit statuses: 2 for the input, 3 for the setup (assets,
/// index, models), 1 for the rest. Exhaustive: a new error variant does not compile without
/// its status.
fn exit_code(e: &Error) -> ExitCode {
    ExitCode::from(match e {
        Error::InvalidInput(_)
        | Error::UnknownFormat { .. }
        | Error::UnknownCode(_)
        | Error::Parse { .. } => 2,
        Error::MissingAsset { .. } | Error::Index { .. } | Error::Model { .. } => 3,
        Error::Io { .. } | Error::Search(_) | Error::Command(_) => 1,
    })
}

/// An I/O failure on a file the user named (`io_error`).
fn io_error(path: impl AsRef<Path>, source: std::io::Error) -> Error {
    Error::Io {
        path: path.as_ref().to_path_buf(),
        source,
    }
}

fn run(cli: Cli) -> chartcoder::Result<()> {
    let config = cli.paths.config();
    match cli.command {
        Command::Setup { no_index, extra } => setup(&config, no_index, extra),
        Command::Index(IndexCommand::Build {
            extra,
            force,
            reuse_embeddings,
        }) => {
            let report = Engine::build_index(
                &config,
                &BuildOptions {
                    extras: extra,
                    force,
                    progress: true,
                    reuse_embeddings,
                    ..BuildOptions::default()
                },
            )?;
            print_build(&config, &report);
            Ok(())
        }
        Command::Index(IndexCommand::Info) => {
            let manifest = chartcoder::index::Manifest::read(&config.index)?;
            println!(
                "{}",
                serde_json::to_string_pretty(&manifest).unwrap_or_default()
            );
            Ok(())
        }
        Command::Lookup(args) => lookup(&config, args),
        Command::Serve {
            addr,
            feedback_db,
            tokens,
        } => {
            // First run on a fresh machine: fetch what is missing and build the index.
            if chartcoder::index::Manifest::read(&config.index).is_err() {
                setup(&config, false, Vec::new())?;
            }
            let engine = std::sync::Arc::new(Engine::open(config.clone())?);
            chartcoder::api::serve(
                engine,
                chartcoder::api::ServeConfig {
                    tokens_file: tokens,
                    ..chartcoder::api::ServeConfig::new(addr, feedback_db)
                },
            )
        }
        Command::Lsp {
            server,
            feedback_db,
        } => chartcoder::lsp::run(
            config.clone(),
            chartcoder::lsp::LspConfig {
                server,
                feedback_db,
            },
        ),
        Command::Suggest(args) => suggest(&config, args),
        Command::Batch(args) => {
            // Bad options are refused before a second is spent opening the engine.
            let options = BatchOptions {
                suggest: args.coding.options()?,
                progress: true,
            };
            let engine = Engine::open(config.clone())?;
            let report = run_batch(&engine, &args.input, &args.output, &options)?;
            eprintln!(
                "{} coded, {} failed (error lines in {}), {} already done; {:.1} notes/s over {:.1} s",
                report.coded,
                report.failed,
                args.output.display(),
                report.skipped_already_done,
                report.notes_per_second,
                report.seconds
            );
            Ok(())
        }
        Command::Eval(args) => eval(&config, args),
        Command::Train {
            gold,
            texts,
            out,
            seed,
        } => train(&config, &gold, texts.as_deref(), &out, seed),
        Command::LookupDevset {
            from,
            sample,
            seed,
            output,
        } => lookup_devset(&config, &from, sample, seed, &output),
    }
}

fn setup(config: &Config, no_index: bool, extra: Vec<PathBuf>) -> chartcoder::Result<()> {
    let assets = Assets::new(&config.assets);
    assets.fetch_all(|line| eprintln!("{line}"))?;
    if !no_index {
        let report = Engine::build_index(
            config,
            &BuildOptions {
                extras: extra,
                force: false,
                progress: true,
                ..BuildOptions::default()
            },
        )?;
        print_build(config, &report);
    }
    Ok(())
}

fn print_build(config: &Config, report: &chartcoder::index::BuildReport) {
    let m = &report.manifest;
    if report.rebuilt && m.encoder.is_some() {
        eprintln!(
            "term embeddings: {} distinct texts ({} encoded, {} reused from a previous index)",
            m.embedded_texts, report.embeddings_encoded, report.embeddings_reused
        );
    }
    eprintln!(
        "{} {}: {} documents; ICD-10-CM billable codes {}, ICD-10-PCS codes {}; extras: {}",
        if report.rebuilt {
            "built"
        } else {
            "up to date"
        },
        config.index.display(),
        m.documents,
        m.icd10cm_billable_codes,
        m.icd10pcs_codes,
        if m.extras.is_empty() {
            "none".to_string()
        } else {
            m.extras
                .iter()
                .map(|e| format!("{} ({}, {} terms)", e.path.display(), e.format, e.terms))
                .collect::<Vec<_>>()
                .join(", ")
        }
    );
}

fn lookup(config: &Config, args: LookupArgs) -> chartcoder::Result<()> {
    let options = UserOptions {
        systems: args.system.iter().cloned().collect(),
        top_k: args.top_k,
        ..UserOptions::default()
    }
    .lookup()?;
    // Reject a bad query before spending a second on opening the engine.
    if let Some(query) = &args.query {
        if query.trim().is_empty() {
            return Err(Error::InvalidInput("empty query".into()));
        }
        if query.chars().count() > chartcoder::index::MAX_QUERY_CHARS {
            return Err(Error::InvalidInput(format!(
                "query longer than {} characters",
                chartcoder::index::MAX_QUERY_CHARS
            )));
        }
    }
    let engine = Engine::open(config.clone())?;
    match (&args.query, &args.input, &args.output) {
        (Some(query), None, _) => {
            let suggestions = engine.lookup(query, &options)?;
            if args.json {
                let out = serde_json::json!({"query": query, "code_set": engine.code_set_years(), "suggestions": suggestions});
                println!("{out}");
            } else {
                for s in suggestions {
                    println!("{:<9} {:.3}  {}", s.code, s.score, s.title);
                }
            }
            Ok(())
        }
        (None, Some(input), Some(output)) => lookup_file(&engine, input, output, &options),
        _ => Err(Error::InvalidInput(
            "give a QUERY, or --input FILE --output FILE".into(),
        )),
    }
}

/// One output line per input line: suggestions, or an error that names the line; a bad line
/// never stops the run.
fn lookup_file(
    engine: &Engine,
    input: &Path,
    output: &Path,
    options: &LookupOptions,
) -> chartcoder::Result<()> {
    let file = std::fs::File::open(input).map_err(|e| io_error(input, e))?;
    let out = std::fs::File::create(output).map_err(|e| io_error(output, e))?;
    let mut out = BufWriter::new(out);
    let mut reader = std::io::BufReader::new(file);
    let mut raw = Vec::new();
    let (mut ok, mut failed) = (0usize, 0usize);
    let mut line_no = 0usize;
    loop {
        raw.clear();
        let n = reader
            .read_until(b'\n', &mut raw)
            .map_err(|e| io_error(input, e))?;
        if n == 0 {
            break;
        }
        line_no += 1;
        let result = parse_query_line(&raw, line_no).and_then(|(id, text)| {
            let suggestions = engine
                .lookup(&text, options)
                .map_err(|e| (Some(id.clone()), e))?;
            Ok(serde_json::json!({"id": id, "suggestions": suggestions}))
        });
        let value = match result {
            Ok(v) => {
                ok += 1;
                v
            }
            Err((_, Error::InvalidInput(m))) if m == "blank line" => continue,
            Err((id, e)) => {
                failed += 1;
                serde_json::json!({"id": id, "line": line_no, "error": {"code": e.code(), "message": e.to_string()}})
            }
        };
        writeln!(out, "{value}").map_err(|e| io_error(output, e))?;
    }
    out.flush().map_err(|e| io_error(output, e))?;
    eprintln!(
        "{ok} queries looked up, {failed} rejected (see their \"error\" lines in {})",
        output.display()
    );
    Ok(())
}

type LineError = (Option<serde_json::Value>, Error);

fn parse_query_line(raw: &[u8], line_no: usize) -> Result<(serde_json::Value, String), LineError> {
    let text = std::str::from_utf8(raw).map_err(|e| {
        (
            None,
            Error::InvalidInput(format!("line {line_no}: invalid UTF-8 ({e})")),
        )
    })?;
    if text.trim().is_empty() {
        return Err((None, Error::InvalidInput("blank line".into())));
    }
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        (
            None,
            Error::InvalidInput(format!("line {line_no}: malformed JSON ({e})")),
        )
    })?;
    let id = value.get("id").cloned().unwrap_or(serde_json::Value::Null);
    let query = value.get("text").and_then(|t| t.as_str()).ok_or_else(|| {
        (
            Some(id.clone()),
            Error::InvalidInput(format!("line {line_no}: no string field \"text\"")),
        )
    })?;
    Ok((id, query.to_string()))
}

fn lookup_devset(
    config: &Config,
    from: &Path,
    sample: usize,
    seed: u64,
    output: &Path,
) -> chartcoder::Result<()> {
    let (codes, _) = chartcoder::engine::load_code_sets(config)?;
    let gold = chartcoder::lexicon::phrase_gold(from, &codes, sample, seed)?;
    let mut out = BufWriter::new(std::fs::File::create(output).map_err(|e| io_error(output, e))?);
    for g in &gold {
        writeln!(out, "{}", serde_json::to_string(g).unwrap_or_default())
            .map_err(|e| io_error(output, e))?;
    }
    out.flush().map_err(|e| io_error(output, e))?;
    eprintln!("wrote {} phrases to {}", gold.len(), output.display());
    Ok(())
}

fn suggest(config: &Config, args: SuggestArgs) -> chartcoder::Result<()> {
    let options = args.coding.options()?;
    let bytes = if args.file.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf)
            .map_err(|e| io_error("standard input", e))?;
        buf
    } else {
        std::fs::read(&args.file).map_err(|e| io_error(&args.file, e))?
    };
    let text = String::from_utf8(bytes).map_err(|e| {
        Error::InvalidInput(format!(
            "note is not valid UTF-8 (byte {})",
            e.utf8_error().valid_up_to()
        ))
    })?;
    let engine = Engine::open(config.clone())?;
    let id = args
        .file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned());
    let coding = engine.suggest(id, &text, &options)?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&coding).unwrap_or_default()
        );
        return Ok(());
    }
    for s in &coding.suggestions {
        let spans: Vec<String> = s
            .evidence
            .iter()
            .map(|e| format!("[{}..{}] {:?}", e.start, e.end, e.text))
            .collect();
        println!(
            "{:<9} {:.3} {:<12} {}",
            s.code,
            s.score,
            format!("{:?}", s.assertion).to_lowercase(),
            s.title
        );
        println!("          evidence: {}", spans.join("; "));
        for r in &s.rules {
            println!("          {}: {}", r.kind, r.message);
        }
    }
    Ok(())
}

/// The engine's codings of every note, and the seconds they took.
fn code_all(
    engine: &Engine,
    texts: &[(String, String)],
    options: &SuggestOptions,
) -> (
    Vec<(String, chartcoder::Result<chartcoder::coding::Coding>)>,
    f64,
) {
    use rayon::prelude::*;
    let started = std::time::Instant::now();
    let codings = texts
        .par_iter()
        .map(|(id, text)| (id.clone(), engine.suggest(Some(id.clone()), text, options)))
        .collect();
    (codings, started.elapsed().as_secs_f64())
}

fn ranked_predictions(
    codings: &[(String, chartcoder::Result<chartcoder::coding::Coding>)],
) -> std::collections::HashMap<String, Vec<chartcoder::eval::RankedCode>> {
    codings
        .iter()
        .filter_map(|(id, coding)| {
            let c = coding.as_ref().ok()?;
            let ranked = c
                .suggestions
                .iter()
                .map(|s| {
                    chartcoder::eval::RankedCode::new(
                        s.code.clone(),
                        s.score,
                        s.system == System::Icd10pcs,
                    )
                })
                .collect();
            Some((id.clone(), ranked))
        })
        .collect()
}

/// The pipeline built up one component at a time; the last is the default pipeline.
fn ablation_variants(base: &SuggestOptions) -> Vec<(&'static str, SuggestOptions)> {
    use chartcoder::coding::Components;
    let with = |learned_phrases, encoder_candidates, ranker| SuggestOptions {
        components: Components {
            learned_phrases,
            encoder_candidates,
        },
        ranker,
        ..base.clone()
    };
    vec![
        ("lexical only", with(false, false, RankerChoice::Lexical)),
        (
            "+ learned phrases (lexical ranker)",
            with(true, false, RankerChoice::Lexical),
        ),
        (
            "+ encoder, learned ranker",
            with(true, false, RankerChoice::Learned),
        ),
        (
            "+ encoder candidates (default)",
            with(true, true, RankerChoice::Learned),
        ),
    ]
}

fn gold_system(path: &Path) -> chartcoder::eval::GoldSystem {
    if path.to_string_lossy().ends_with("P.tsv") {
        chartcoder::eval::GoldSystem::Procedures
    } else {
        chartcoder::eval::GoldSystem::Diagnoses
    }
}

fn eval(config: &Config, args: EvalArgs) -> chartcoder::Result<()> {
    use chartcoder::eval::{load_texts, score_docs, AblationRow, EvalReport, GoldSet};
    let fail = |e: chartcoder::eval::EvalError| Error::Command(e.to_string());
    let mut options = args.coding.options()?;
    if args.coding.top_k.is_none() {
        options.top_k = MAX_TOP_K;
    }
    let texts = load_texts(&args.texts).map_err(fail)?;
    let engine = Engine::open(config.clone())?;
    let golds: Vec<(PathBuf, chartcoder::eval::GoldSystem, GoldSet)> = args
        .gold
        .iter()
        .map(|p| {
            Ok((
                p.clone(),
                gold_system(p),
                GoldSet::load_tsv(p).map_err(fail)?,
            ))
        })
        .collect::<chartcoder::Result<_>>()?;
    let (codings, seconds) = code_all(&engine, &texts, &options);
    let preds = ranked_predictions(&codings);
    if let Some(path) = &args.predictions {
        let mut out = BufWriter::new(std::fs::File::create(path).map_err(|e| io_error(path, e))?);
        for coding in codings.iter().filter_map(|(_, c)| c.as_ref().ok()) {
            writeln!(out, "{}", serde_json::to_string(coding).unwrap_or_default())
                .map_err(|e| io_error(path, e))?;
        }
        out.flush().map_err(|e| io_error(path, e))?;
    }
    for (id, coding) in &codings {
        if let Err(e) = coding {
            eprintln!("{id}: {e}");
        }
    }
    let mut report = EvalReport::new();
    report.add_note(&format!(
        "ranker: {}; setting: {:?}; {} notes in {:.1} s",
        engine.ranker(options.ranker).name(),
        options.setting,
        texts.len(),
        seconds
    ));
    for (path, system, gold) in &golds {
        let r = report.add_system(&preds, gold, Some(*system), Some(args.threshold));
        let m = &r.metrics;
        println!(
            "{:<10} docs {:>4}  MAP {:.4}  MAP(category) {:.4}  P {:.4} R {:.4} F1 {:.4} (all ranked)  recall@10 {:.4}",
            format!("{system:?}"),
            m.docs,
            m.map,
            m.map_category,
            m.micro_p,
            m.micro_r,
            m.micro_f1,
            m.recall_at_10
        );
        if let Some(t) = &r.at_threshold {
            println!(
                "{:<10} at score >= {:.2}: P {:.4} R {:.4} F1 {:.4}",
                "", t.threshold, t.micro_p, t.micro_r, t.micro_f1
            );
        }
        println!(
            "{:<10} calibration: ECE {:.4} over {} bins",
            "",
            r.calibration.ece,
            r.calibration.bins.len()
        );
        let svg = args.report.with_file_name(format!(
            "{}-reliability-{}.svg",
            args.report
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "eval".into()),
            path.file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default()
        ));
        let title = format!(
            "{system:?}: {} ranker on {}",
            engine.ranker(options.ranker).name(),
            path.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        );
        std::fs::write(
            &svg,
            chartcoder::eval::reliability_svg(&r.calibration, &title),
        )
        .map_err(|e| io_error(&svg, e))?;
    }
    if args.rule_effects {
        println!("guideline rules switched off one at a time (MAP without the rule; effect of the rule):");
        let base: Vec<f64> = golds
            .iter()
            .map(|(_, system, gold)| score_docs(&preds, gold, Some(*system)).map)
            .collect();
        let names = chartcoder::guidelines::RULES
            .iter()
            .map(|(name, _)| vec![name.to_string()])
            .chain([chartcoder::guidelines::RULES
                .iter()
                .map(|(name, _)| name.to_string())
                .collect()]);
        for off in names {
            let label = if off.len() == 1 {
                off[0].clone()
            } else {
                "all".to_string()
            };
            let variant = SuggestOptions {
                rules_off: off,
                ..options.clone()
            };
            let (codings, _) = code_all(&engine, &texts, &variant);
            let preds = ranked_predictions(&codings);
            let mut line = format!("  {label:<22}");
            for ((_, system, gold), base) in golds.iter().zip(&base) {
                let m = score_docs(&preds, gold, Some(*system));
                line.push_str(&format!(" {system:?} {:.4} ({:+.4})", m.map, base - m.map));
            }
            println!("{line}");
        }
    }
    if !args.no_ablation {
        println!("ablation (MAP / recall@10, notes/s):");
        for (variant, variant_options) in ablation_variants(&options) {
            let (codings, seconds) = code_all(&engine, &texts, &variant_options);
            let preds = ranked_predictions(&codings);
            let rate = texts.len() as f64 / seconds.max(1e-9);
            let mut line = format!("  {variant:<36}");
            for (_, system, gold) in &golds {
                let m = score_docs(&preds, gold, Some(*system));
                line.push_str(&format!(
                    " {system:?} {:.4} / {:.4} ",
                    m.map, m.recall_at_10
                ));
                report.ablation.push(AblationRow {
                    variant: variant.to_string(),
                    system: Some(*system),
                    map: m.map,
                    map_category: m.map_category,
                    recall_at_10: m.recall_at_10,
                    notes_per_second: rate,
                });
            }
            println!("{line} {rate:.0} notes/s");
        }
    }
    report.write_json(&args.report).map_err(fail)?;
    eprintln!(
        "report written to {} ({:.1} notes/s)",
        args.report.display(),
        texts.len() as f64 / seconds.max(1e-9)
    );
    Ok(())
}

fn train(
    config: &Config,
    gold: &[PathBuf],
    texts: Option<&Path>,
    out: &Path,
    seed: u64,
) -> chartcoder::Result<()> {
    let (out_dir, ranker_file) = if out.extension().is_some_and(|e| e == "onnx") {
        let dir = out.parent().filter(|p| !p.as_os_str().is_empty());
        (
            dir.unwrap_or(Path::new(".")).to_path_buf(),
            out.to_path_buf(),
        )
    } else {
        (
            out.to_path_buf(),
            out.join(chartcoder::engine::LEARNED_RANKER_FILE),
        )
    };
    let out_dir = out_dir.as_path();
    std::fs::create_dir_all(out_dir).map_err(|e| io_error(out_dir, e))?;
    let out = &out_dir.join(chartcoder::engine::CODE_PRIOR_FILE);
    let paths: Vec<&Path> = gold.iter().map(PathBuf::as_path).collect();
    let names: Vec<String> = gold
        .iter()
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    let source = format!("CodiEsp train (CC-BY 4.0): {}", names.join(", "));
    let Some(texts) = texts else {
        let prior = CodePrior::from_gold(&paths, &source)?;
        prior.save(out)?;
        eprintln!(
            "{} codes over {} documents -> {}",
            prior.codes.len(),
            prior.documents,
            out.display()
        );
        return Ok(());
    };
    // Candidates do not depend on the trained models: open without them, so a stale model
    // never stands in the way of retraining.
    let engine = Engine::open_untrained(config.clone())?;
    let notes = chartcoder::eval::load_texts(texts).map_err(|e| Error::Command(e.to_string()))?;
    let mut by_doc: std::collections::HashMap<String, std::collections::HashSet<(System, String)>> =
        Default::default();
    for path in gold {
        let set =
            chartcoder::eval::GoldSet::load_tsv(path).map_err(|e| Error::Command(e.to_string()))?;
        let system = match gold_system(path) {
            chartcoder::eval::GoldSystem::Procedures => System::Icd10pcs,
            chartcoder::eval::GoldSystem::Diagnoses => System::Icd10cm,
        };
        for (doc, codes) in set.iter() {
            by_doc
                .entry(doc.to_string())
                .or_default()
                .extend(codes.iter().map(|c| (system, c.clone())));
        }
    }
    let set = chartcoder::train::TrainingSet {
        notes: &notes,
        gold: &by_doc,
        source,
    };
    let learned = chartcoder::train::LearnedFolds::fit(&engine, &set);
    let data = chartcoder::train::training_data(&engine, &set, &learned, RankerChoice::Learned);
    // The lexical ranker is fitted on its own pipeline's rows (no encoder features).
    let lexical_data =
        chartcoder::train::training_data(&engine, &set, &learned, RankerChoice::Lexical);
    let ranker = chartcoder::train::fit_linear(&lexical_data, &set.source);
    let mlp_config = chartcoder::onnx::MlpConfig {
        seed,
        ..chartcoder::train::ranker_config()
    };
    let (mlp, onnx) = chartcoder::train::fit_mlp(&data, &mlp_config)?;
    std::fs::write(&ranker_file, onnx).map_err(|e| io_error(&ranker_file, e))?;
    for member in &mlp {
        eprintln!(
            "learned ranker member: {}",
            serde_json::to_string(&member.report).unwrap_or_default()
        );
    }
    data.prior.save(out)?;
    let associations_path = out.with_file_name(chartcoder::associations::ASSOCIATIONS_FILE);
    learned.associations.save(&associations_path)?;
    let ranker_path = out.with_file_name(chartcoder::engine::LEXICAL_RANKER_FILE);
    ranker.save(&ranker_path)?;
    eprintln!(
        "{}",
        serde_json::to_string_pretty(&data.report).unwrap_or_default()
    );
    eprintln!(
        "learned ranker -> {}, associations -> {}, prior -> {}, fitted lexical ranker -> {}",
        ranker_file.display(),
        associations_path.display(),
        out.display(),
        ranker_path.display()
    );
    Ok(())
}
