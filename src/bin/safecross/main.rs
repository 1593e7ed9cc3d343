//! The `safecross` command: parses arguments, dispatches to one subcommand, and maps
//! errors to a one-line message and exit status 2. All behaviour lives in the library.

mod bench;
mod common;
mod cues;
mod detect;
mod eval;
mod info;
mod run;
mod synth;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Pedestrian-signal assistant: watches a crossing through a camera or a video file and
/// tells you, by sound, whether the signal shows walk, don't walk, or is changing.
#[derive(Parser)]
#[command(name = "safecross", version, about, long_about = None, propagate_version = true)]
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

fn main() -> ExitCode {
    let cli = Cli::parse();
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
        Err(err) => {
            eprintln!("error: {}", one_line(&err));
            ExitCode::from(2)
        }
    }
}

fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("SAFECROSS_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_target(false).init();
}

/// The whole error chain on one line, outermost first. Library errors often repeat their
/// cause in their own message; a cause already shown is not printed twice.
fn one_line(err: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line.replace('\n', " ")
}
