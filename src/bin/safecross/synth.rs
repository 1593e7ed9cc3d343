//! `safecross synth`: synthetic training stills and crossing clips with ground truth.

use anyhow::Context;
use safecross::synth::StillsConfig;
use std::path::PathBuf;
use std::process::ExitCode;

/// Generate synthetic crossing clips with ground truth, or training stills.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: SynthCommand,
}

#[derive(clap::Subcommand)]
enum SynthCommand {
    /// Write training stills with YOLO labels: DIR/images, DIR/labels, DIR/data.yaml
    Stills(StillsArgs),
}

#[derive(clap::Args)]
struct StillsArgs {
    /// Output folder
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Number of stills
    #[arg(long, default_value_t = 1000)]
    count: usize,
    /// Seed; the same seed and flags give the same files
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Side of the square stills, px
    #[arg(long, default_value_t = 640)]
    size: u32,
    /// Folder of real photos to paste onto (a dataset split with images/ and labels/, or
    /// a plain folder); repeat for several. Their own labels are carried over when found
    #[arg(long, value_name = "DIR")]
    backgrounds: Vec<PathBuf>,
    /// Share of stills on a real photo when --backgrounds is given, 0..1
    #[arg(long, default_value_t = 0.7)]
    real_share: f32,
    /// Share of procedural scenes at night, 0..1
    #[arg(long, default_value_t = 0.3)]
    night_share: f32,
    /// Worker threads (the output does not depend on it)
    #[arg(long, default_value_t = 2)]
    jobs: usize,
}

pub fn execute(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        SynthCommand::Stills(a) => stills(a),
    }
}

fn stills(a: StillsArgs) -> anyhow::Result<ExitCode> {
    let config = StillsConfig {
        size_px: a.size,
        count: a.count,
        seed: a.seed,
        backgrounds: a.backgrounds,
        real_share: a.real_share,
        night_share: a.night_share,
        jobs: a.jobs,
    };
    let started = std::time::Instant::now();
    let summary = safecross::synth::write_stills(&config, &a.out)
        .with_context(|| format!("writing stills to {}", a.out.display()))?;
    let secs = started.elapsed().as_secs_f64();
    let per_class: Vec<String> = safecross::signal::SHIPPED_CLASSES
        .iter()
        .zip(summary.per_class)
        .map(|(n, c)| format!("{n} {c}"))
        .collect();
    println!(
        "wrote {} stills to {} in {secs:.1} s ({:.1}/s); labels: {}",
        summary.images,
        a.out.display(),
        summary.images as f64 / secs.max(1e-9),
        per_class.join(", ")
    );
    Ok(ExitCode::SUCCESS)
}
