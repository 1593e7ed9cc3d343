//! `safecross bench`: what this board can do, stage by stage.

use crate::common::{ModelArgs, check_model_exists};
use safecross::pipeline::Pipeline;
use safecross::source::{self, SourceSpec};
use std::process::ExitCode;

/// Measure per-stage speed, CPU time and memory on this board.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    model: ModelArgs,
    /// Video, image folder or camera to read [default: a bundled sample clip]
    #[arg(long, value_name = "SOURCE")]
    source: Option<String>,
    /// How long to measure, seconds (after warm-up)
    #[arg(long, default_value_t = 10.0, value_name = "N", value_parser = crate::common::positive, allow_negative_numbers = true)]
    seconds: f64,
    /// Frames processed before measuring
    #[arg(long, default_value_t = 10, value_name = "N")]
    warmup: usize,
    /// Print one JSON object instead of a table
    #[arg(long)]
    json: bool,
}

const DEFAULT_CLIP: &str = "samples/eu.mp4";

pub fn execute(args: Args) -> anyhow::Result<ExitCode> {
    let config = args.model.to_config()?;
    check_model_exists(&config)?;
    let spec = match &args.source {
        Some(s) => SourceSpec::parse(s),
        None => SourceSpec::Path(safecross::bundled::bundled_file(std::path::Path::new(DEFAULT_CLIP))),
    };
    let mut pipeline = Pipeline::new(&config)?;
    let source_config = config.source.clone();
    let report = safecross::bench::run(
        &mut pipeline,
        || source::open(&spec, &source_config),
        args.seconds,
        args.warmup,
        config.infer.intra_threads,
    )?;
    if args.json {
        outln!("{}", serde_json::to_string(&report)?);
        return Ok(ExitCode::SUCCESS);
    }
    outln!("safecross bench {}", env!("CARGO_PKG_VERSION"));
    outln!("  cpu       {} ({} cores)", report.cpu, report.cores);
    outln!("  backend   {} ({} threads)", report.backend, report.threads);
    outln!("  model     {} ({}x{})", report.model, report.input[0], report.input[1]);
    outln!("  source    {}", report.source);
    outln!("  frames    {}", report.frames);
    outln!();
    outln!("  {:<22} {:>8} {:>8} {:>8}", "stage (ms)", "p50", "p95", "max");
    for (name, l) in [
        ("read + decode (ahead)", report.source_decode),
        ("preprocess", report.preprocess),
        ("model", report.infer),
        ("postprocess (NMS)", report.postprocess),
        ("select + smooth", report.decide),
        ("capture to decision", report.capture_to_decision),
        ("frame interval", report.frame_interval),
    ] {
        outln!("  {name:<22} {:>8.2} {:>8.2} {:>8.2}", l.p50_ms, l.p95_ms, l.max_ms);
    }
    outln!();
    outln!("  throughput            {:.1} FPS", report.fps);
    outln!("  CPU per frame         {:.1} ms (all threads)", report.cpu_ms_per_frame);
    outln!("  peak memory           {:.0} MB", report.peak_rss_mb);
    outln!(
        "  pipeline / model      {:.2}x (stages one after another: {:.2}x)",
        report.pipeline_over_model,
        report.stages_over_model
    );
    outln!("  real time, no drops   up to {:.1} FPS", report.max_realtime_fps);
    outln!("  second looks          {:.1} % of frames (in the model time)", report.second_look_share * 100.0);
    outln!();
    outln!("  {}", report.recommendation);
    Ok(ExitCode::SUCCESS)
}
