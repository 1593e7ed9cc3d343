//! `safecross info`: what a model is and how safecross will read it.

use crate::common::{ModelArgs, load_detector};
use std::process::ExitCode;

/// Show the backend, the model's input size, its classes and their signal meanings.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    model: ModelArgs,
    /// Print one JSON object instead of text
    #[arg(long)]
    json: bool,
}

pub fn execute(args: Args) -> anyhow::Result<ExitCode> {
    let config = args.model.to_config()?;
    let detector = load_detector(&config)?;
    let io = detector.model_io();
    let classes: Vec<_> =
        detector.classes().iter().map(|(n, m)| serde_json::json!({"name": n, "signal": m.as_str()})).collect();
    if args.json {
        let info = serde_json::json!({
            "version": env!("CARGO_PKG_VERSION"),
            "model": detector.model_path(),
            "backend": detector.backend().name(),
            "backend_detail": detector.backend().to_string(),
            "input": [io.input_width, io.input_height],
            "output_shape": io.output_shape,
            "layout": detector.layout().name(),
            "classes": classes,
            "tells_state": detector.classes().tells_state(),
        });
        outln!("{info}");
        return Ok(ExitCode::SUCCESS);
    }
    outln!("safecross {}", env!("CARGO_PKG_VERSION"));
    outln!("model:    {}", detector.model_path().display());
    outln!("backend:  {}", detector.backend());
    outln!("input:    {}x{} RGB, letterboxed", io.input_width, io.input_height);
    outln!("output:   {:?} ({} layout)", io.output_shape, detector.layout().name());
    outln!("classes:");
    for (i, (name, meaning)) in detector.classes().iter().enumerate() {
        outln!("  {i:>2} {name:<16} -> {meaning}");
    }
    let unmapped: Vec<&str> = detector.classes().unmapped().collect();
    if let Some(first) = unmapped.first() {
        outln!(
            "not signals: {}; if one is, map it in a --config file: [model.class_meanings] \"{first}\" = \"ped_walk\" (or ped_stop, vehicle_red, vehicle_yellow, vehicle_green, off)",
            unmapped.join(", ")
        );
    }
    if !detector.classes().tells_state() {
        let heads: Vec<&str> = detector.classes().stateless_signals().collect();
        let heads = if heads.is_empty() { "none of its classes names one".to_string() } else { heads.join(", ") };
        outln!(
            "note: no class says a signal state, so with this model every decision is unknown; while it sees a \
             signal head ({heads}), the user hears \"Signal seen, state unknown\""
        );
    }
    Ok(ExitCode::SUCCESS)
}
