//! `safecross synth`: synthetic training stills and crossing clips with ground truth.

use anyhow::Context;
use safecross::synth::heldout::head::Style;
use safecross::synth::{Designs, Preset, StillsConfig};
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
    /// Write a synthetic crossing clip (H.264 MP4) and its ground truth (same name, .json)
    Clip(ClipArgs),
}

#[derive(clap::Args)]
struct ClipArgs {
    /// Scene: cn-day-countdown, us, eu, night, vehicle-conflict, occlusion, random,
    /// vehicle-only (no pedestrian signal, a far vehicle light)
    #[arg(long, default_value = "cn-day-countdown")]
    preset: Preset,
    /// Seed; the same seed and flags give byte-identical files
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Output MP4; the timeline goes next to it with the extension .json
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Length, s
    #[arg(long, default_value_t = 20.0)]
    seconds: f64,
    /// Frame width, px (even)
    #[arg(long, default_value_t = 960)]
    width: u32,
    /// Frame height, px (even)
    #[arg(long, default_value_t = 540)]
    height: u32,
    /// Frames per second
    #[arg(long, default_value_t = 15.0)]
    fps: f64,
    /// H.264 bit rate, kbit/s
    #[arg(long, default_value_t = 400)]
    kbps: u32,
    /// Design family: `train` (the heads, streets and camera every training set and sample
    /// was made with) or `heldout` (Japanese, Korean, British, stacked and outline US heads,
    /// other figure drawings, incandescent lamps and other LED pitches, visors, other
    /// housings, streets and camera effects that training never saw), for a test set held
    /// out by design. The preset keeps its scene; the timeline's preset reads `<preset>+heldout`
    #[arg(long, default_value = "train")]
    designs: Designs,
    /// With `--designs heldout`: only these pedestrian styles (comma-separated: jp, kr, uk,
    /// us-stacked, us-outline), to split the held-out family into styles for training and
    /// styles held out
    #[arg(long, value_delimiter = ',', value_name = "STYLES")]
    heldout_styles: Vec<Style>,
    /// Folder of real photos (a YOLO dataset split) to use as the street instead of a
    /// drawn one; repeat for several. The seed picks the photo. Only labelled photos with no
    /// pedestrian head are used: the truth follows the drawn head
    #[arg(long, value_name = "DIR")]
    backgrounds: Vec<PathBuf>,
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
    /// Design family of the heads, drawn streets and camera: `train` or `heldout` (see
    /// `synth clip --help`). Train on held-out stills only with --heldout-styles, and hold
    /// the other styles out
    #[arg(long, default_value = "train")]
    designs: Designs,
    /// With `--designs heldout`: only these pedestrian styles (see `synth clip --help`)
    #[arg(long, value_delimiter = ',', value_name = "STYLES")]
    heldout_styles: Vec<Style>,
}

pub fn execute(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        SynthCommand::Stills(a) => stills(a),
        SynthCommand::Clip(a) => clip(a),
    }
}

#[cfg(not(feature = "video"))]
fn clip(_a: ClipArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("this build has no H.264 encoder (cargo feature `video`); `synth clip` needs it")
}

#[cfg(feature = "video")]
fn clip(a: ClipArgs) -> anyhow::Result<ExitCode> {
    let config = safecross::synth::ClipConfig {
        preset: a.preset,
        seed: a.seed,
        seconds: a.seconds,
        width: a.width,
        height: a.height,
        fps: a.fps,
        bitrate_bps: a.kbps.saturating_mul(1000),
        designs: a.designs,
        heldout_styles: a.heldout_styles,
        backgrounds: a.backgrounds,
        ..safecross::synth::ClipConfig::default()
    };
    let started = std::time::Instant::now();
    let timeline =
        safecross::synth::write_clip(&config, &a.out).with_context(|| format!("writing clip {}", a.out.display()))?;
    let size = std::fs::metadata(&a.out).map(|m| m.len()).unwrap_or(0);
    outln!(
        "wrote {} ({:.1} s, {} frames, {:.2} MB) and {} in {:.1} s",
        a.out.display(),
        timeline.duration_s,
        timeline.boxes.len(),
        size as f64 / 1e6,
        a.out.with_extension("json").display(),
        started.elapsed().as_secs_f64()
    );
    for seg in &timeline.segments {
        outln!("  {:6.2} - {:6.2} s  {:?}", seg.start_s, seg.end_s, seg.signal);
    }
    Ok(ExitCode::SUCCESS)
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
        designs: a.designs,
        heldout_styles: a.heldout_styles,
    };
    let started = std::time::Instant::now();
    let summary = safecross::synth::write_stills(&config, &a.out)
        .with_context(|| format!("writing stills to {}", a.out.display()))?;
    let secs = started.elapsed().as_secs_f64();
    let per_class: Vec<String> =
        safecross::signal::SHIPPED_CLASSES.iter().zip(summary.per_class).map(|(n, c)| format!("{n} {c}")).collect();
    outln!(
        "wrote {} stills to {} in {secs:.1} s ({:.1}/s); labels: {}",
        summary.images,
        a.out.display(),
        summary.images as f64 / secs.max(1e-9),
        per_class.join(", ")
    );
    Ok(ExitCode::SUCCESS)
}
