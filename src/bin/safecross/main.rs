//! The `safecross` command: parses arguments, dispatches to one subcommand, and maps
//! errors to a one-line message and exit status 2. All behaviour lives in the library.

/// `println!` that returns from the function with the error, instead of panicking,
/// when stdout is closed early (`safecross info | head -1`); `main` ends quietly then.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout(), $($arg)*)?;
    }};
}

/// `print!` as [`outln`] does `println!`.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        write!(std::io::stdout(), $($arg)*)?;
    }};
}

mod annotate;
mod bench;
mod common;
mod cues;
mod detect;
mod eval;
mod info;
mod keys;
mod run;
mod synth;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use std::process::ExitCode;

/// Pedestrian-signal assistant: watches a crossing through a camera or a video file and
/// tells you, by sound, whether the signal shows walk, don't walk, or is changing.
/// `safecross --version`: what this build can do. Which engine actually runs, the
/// model's input size and its classes depend on the machine and the model: `safecross info`.
fn long_version() -> &'static str {
    static TEXT: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        let built = |yes: bool, what: &str, feature: &str| {
            if yes { what.to_string() } else { format!("not built in (cargo feature `{feature}`)") }
        };
        format!(
            "{}\nengines: ONNX Runtime (loaded at run time, API 24: --ort-lib or ORT_DYLIB_PATH), tract (built in)\n\
             backend now: {}\n\
             video: {}; other formats through ffmpeg when installed\ncamera: {}\naudio: {}\n\
             backend, input size and classes of a model: safecross info --model <FILE>",
            env!("CARGO_PKG_VERSION"),
            // Only looks for the library file; loading it is left to the commands that run a model.
            match safecross::infer::ort_library_candidates(&Default::default()).into_iter().find(|p| p.is_file()) {
                Some(lib) => format!("ONNX Runtime from {} (with --backend auto)", lib.display()),
                None => "tract (no ONNX Runtime library found; --backend auto falls back to it)".to_string(),
            },
            built(cfg!(feature = "video"), "H.264 MP4 built in", "video"),
            built(cfg!(feature = "camera"), "yes, through nokhwa", "camera"),
            built(cfg!(feature = "audio"), "speaker through rodio, or a WAV file", "audio"),
        )
    });
    TEXT.as_str()
}

#[derive(Parser)]
#[command(name = "safecross", version, long_version = long_version(), about, long_about = None, propagate_version = true)]
struct Cli {
    /// More log output (-v info, -vv debug). Logs go to stderr.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Watch a video file, image folder or camera; decide and speak.
    Run(run::Args),
    /// Detect lights in still images.
    Detect(detect::Args),
    /// Show the backend, the model's input size, classes and their signal meanings.
    Info(info::Args),
    /// Generate synthetic crossing clips with ground truth, or training stills.
    Synth(synth::Args),
    /// Render the audio cue for a state to a WAV file.
    Cues(cues::Args),
    /// Measure detection or decision quality against ground truth.
    Eval(eval::Args),
    /// Measure per-stage speed on this board.
    Bench(bench::Args),
}

/// The command line, each model flag's help ending with its default as the library's
/// config has it.
fn command() -> clap::Command {
    let defaults = common::shown_defaults();
    Cli::command().mut_subcommands(|sub| {
        sub.mut_args(|arg| match defaults.iter().find(|(id, _)| arg.get_id() == id) {
            Some((_, value)) => with_shown_default(arg, value),
            None => arg,
        })
    })
}

/// `arg` with `[default: value]` after its help. Shown only: a real clap default would
/// override the --config file.
fn with_shown_default(arg: clap::Arg, value: &str) -> clap::Arg {
    let with_default = |help: &clap::builder::StyledStr| format!("{help} [default: {value}]");
    let long = arg.get_long_help().map(with_default);
    let arg = match arg.get_help().map(with_default) {
        Some(help) => arg.help(help),
        None => arg,
    };
    match long {
        Some(long) => arg.long_help(long),
        None => arg,
    }
}

fn main() -> ExitCode {
    let cli = match command().try_get_matches().and_then(|m| Cli::from_arg_matches(&m)) {
        Ok(cli) => cli,
        Err(e) => return usage_error(&e),
    };
    init_logging(cli.verbose);
    let result = match cli.command {
        Command::Run(args) => run::execute(args),
        Command::Detect(args) => detect::execute(args),
        Command::Info(args) => info::execute(args),
        Command::Synth(args) => synth::execute(args),
        Command::Cues(args) => cues::execute(args),
        Command::Eval(args) => eval::execute(args),
        Command::Bench(args) => bench::execute(args),
    };
    match result {
        Ok(code) => code,
        // The reader of stdout went away (`| head -1`): nothing left to tell anyone, and
        // what had to be saved (a WAV recording) was completed on the way out.
        Err(err) if closed_stdout(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {}", one_line(&err));
            ExitCode::from(2)
        }
    }
}

/// Help and version print as clap makes them; a usage error is one line, like every
/// other error (clap's own has a usage block and a hint after it).
fn usage_error(e: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = e.print();
        return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
    }
    let text = e.render().to_string();
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("error: bad arguments");
    eprintln!("{} (see --help)", first.trim_end());
    ExitCode::from(2)
}

fn closed_stdout(err: &anyhow::Error) -> bool {
    err.chain()
        .any(|cause| cause.downcast_ref::<std::io::Error>().is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe))
}

fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("SAFECROSS_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(|| keys::Stderr).with_target(false).init();
}

/// The whole error chain on one line, outermost first (see [`safecross::error_chain`]).
fn one_line(err: &anyhow::Error) -> String {
    keys::with_flags(&safecross::error_chain(err.as_ref()))
}
