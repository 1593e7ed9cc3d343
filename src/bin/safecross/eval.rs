//! `safecross eval`: detection quality on a YOLO dataset, or decision quality on clips
//! with ground-truth timelines. Glue only: the figures come from `safecross::eval`.

use crate::common::{ModelArgs, check_model_exists};
use anyhow::Context;
use safecross::config::Config;
use safecross::eval::clips::{ClipPace, find_clips, run_clip};
use safecross::eval::{Dataset, DecisionEvaluator, DetectionEvalConfig, DetectionEvaluator, report};
use safecross::frame::Frame;
use safecross::pipeline::{Detector, Pipeline};
use safecross::source::images::load_image;
use safecross::truth::Timeline;
use std::path::PathBuf;
use std::process::ExitCode;

/// Measure detection quality on labelled photos, or decision quality on clips with a
/// ground-truth timeline. Exits 1 when a quality gate fails, 2 on errors. Every column
/// of the tables is explained in the README, under "Measuring quality".
#[derive(clap::Args)]
pub struct Args {
    /// A YOLO dataset folder (images/, labels/, data.yaml here or in a parent) for
    /// detection quality; or a clip (<clip>.mp4 with <clip>.json beside it) or a folder
    /// of such clips for decision quality
    #[arg(value_name = "PATH")]
    path: PathBuf,
    #[command(flatten)]
    model: ModelArgs,
    /// Print one JSON object with every figure instead of tables
    #[arg(long)]
    json: bool,
    /// Write pictures into this folder: a timeline per clip, or a precision-recall curve
    /// and a grid of the worst misses
    #[arg(long, value_name = "DIR")]
    report: Option<PathBuf>,
    /// Decision mode: exit 1 when walk is decided during don't walk for longer than
    /// this, seconds over all clips
    #[arg(long, value_name = "SECONDS", default_value_t = 0.0, value_parser = crate::common::non_negative, allow_negative_numbers = true)]
    max_false_go: f64,
    /// Detection mode: exit 1 when mAP50 is below this
    #[arg(long, value_name = "MAP", value_parser = crate::common::fraction, allow_negative_numbers = true)]
    min_map50: Option<f64>,
    /// Decision mode: `fast` processes every frame; `realtime` drops frames that are
    /// stale on a simulated board (see --slowdown), as a user's device would
    #[arg(long, value_enum, default_value = "fast")]
    pace: Pace,
    /// With --pace realtime: how many times slower than this machine the simulated
    /// board is
    #[arg(long, value_name = "K", default_value_t = 1.0, value_parser = crate::common::at_least_one, allow_negative_numbers = true)]
    slowdown: f64,
    /// Detection mode: confidence down to which detections enter average precision
    /// (the operating point uses --conf)
    #[arg(long, value_name = "SCORE", default_value_t = 0.001, value_parser = crate::common::fraction_f32, allow_negative_numbers = true)]
    ap_conf: f32,
    /// Detection mode: also write labels and all detections as JSON (the input of
    /// tests/reference/det_metrics.py)
    #[arg(long, value_name = "FILE")]
    dump_detections: Option<PathBuf>,
}

/// How clip frames are fed to the pipeline.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq)]
enum Pace {
    /// Every frame, as fast as possible.
    Fast,
    /// Real time on a simulated board: stale frames are dropped.
    Realtime,
}

pub fn execute(args: Args) -> anyhow::Result<ExitCode> {
    let config = args.model.to_config()?;
    if !args.path.exists() {
        anyhow::bail!("{}: no such file or folder", args.path.display());
    }
    if args.path.is_dir() && Dataset::looks_like(&args.path) {
        detection(&args, config)
    } else {
        decision(&args, config)
    }
}

fn detection(args: &Args, mut config: Config) -> anyhow::Result<ExitCode> {
    let dataset = Dataset::load(&args.path)?;
    let operating = config.decode.conf_threshold;
    // AP needs the low-confidence tail; the operating point is applied by the evaluator.
    config.decode.conf_threshold = args.ap_conf.min(operating);
    config.decode.max_detections = config.decode.max_detections.max(300);
    config.validate().context("invalid settings")?;
    check_model_exists(&config)?;
    let mut detector = Detector::new(&config.model, &config.infer, &config.decode)?;
    let mut evaluator =
        DetectionEvaluator::new(DetectionEvalConfig { conf_threshold: operating, ..Default::default() });
    let mut frame = Frame::default();
    for image in &dataset.images {
        load_image(&image.path, &mut frame)?;
        let detections = detector.detect(&frame).with_context(|| format!("detecting in {}", image.path.display()))?;
        evaluator.add_image(&image.boxes, detections);
    }
    if let Some(path) = &args.dump_detections {
        let text = serde_json::to_vec(&evaluator.to_reference_json())?;
        std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    let mut result = evaluator.finish();
    result.images_without_label_files = dataset.unlabelled_image_names();
    result.images_without_labels = result.images_without_label_files.len();
    let files = match &args.report {
        Some(dir) => {
            let paths: Vec<PathBuf> = dataset.images.iter().map(|i| i.path.clone()).collect();
            report::write_detection_report(dir, &result, &paths)?
        }
        None => Vec::new(),
    };
    let failed = args.min_map50.is_some_and(|min| result.map50 < min);
    if args.json {
        let mut v = serde_json::to_value(&result)?;
        if let Some(obj) = v.as_object_mut() {
            obj.insert("kind".into(), "detection".into());
            obj.insert("dataset".into(), args.path.display().to_string().into());
            obj.insert("model".into(), detector.model_path().display().to_string().into());
            obj.insert("backend".into(), detector.backend().to_string().into());
            obj.insert("class_names".into(), dataset.class_names.clone().into());
            obj.insert("report_files".into(), files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>().into());
            obj.insert("passed".into(), (!failed).into());
        }
        outln!("{v}");
    } else {
        outln!(
            "safecross eval  |  {}  |  model {}  |  {}",
            args.path.display(),
            detector.model_path().display(),
            detector.backend().name()
        );
        out!("{}", report::detection_table(&result));
        for f in &files {
            outln!("report: {}", f.display());
        }
    }
    if failed {
        eprintln!("FAIL: mAP50 {:.3} is below --min-map50 {}", result.map50, args.min_map50.unwrap_or(0.0));
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

fn decision(args: &Args, config: Config) -> anyhow::Result<ExitCode> {
    let clips = find_clips(&args.path)?;
    check_model_exists(&config)?;
    let mut pipeline = Pipeline::new(&config)?;
    let mut evaluator = DecisionEvaluator::new();
    let pace = match args.pace {
        Pace::Fast => ClipPace::EveryFrame,
        Pace::Realtime => ClipPace::SimulatedBoard { slowdown: args.slowdown },
    };
    for clip in &clips {
        let shown = clip.timeline.display().to_string();
        // Load the timeline first: a bad one fails before minutes of video are decoded.
        let timeline = Timeline::load(&clip.timeline)?;
        let run = run_clip(&mut pipeline, &config.source, &clip.video, &timeline, pace)?;
        evaluator.add_clip(&timeline, &shown, &run)?;
        // Each clip starts from scratch: no decision carries over from the last one.
        pipeline.reset();
    }
    let result = evaluator.finish();
    let files = match &args.report {
        Some(dir) => report::write_decision_report(dir, &result)?,
        None => Vec::new(),
    };
    let failed = result.overall.false_go_s > args.max_false_go;
    if args.json {
        let mut v = serde_json::to_value(&result)?;
        if let Some(obj) = v.as_object_mut() {
            obj.insert("kind".into(), "decision".into());
            obj.insert("pace".into(), if args.pace == Pace::Fast { "fast" } else { "realtime" }.into());
            obj.insert("slowdown".into(), args.slowdown.into());
            obj.insert("max_false_go_s".into(), args.max_false_go.into());
            obj.insert("model".into(), pipeline.model_path().display().to_string().into());
            obj.insert("backend".into(), pipeline.backend().to_string().into());
            obj.insert("report_files".into(), files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>().into());
            obj.insert("passed".into(), (!failed).into());
        }
        outln!("{v}");
    } else {
        let pace = match pace {
            ClipPace::EveryFrame => "every frame".to_string(),
            ClipPace::SimulatedBoard { slowdown } => format!("real time on a board {slowdown}x slower"),
        };
        outln!(
            "safecross eval  |  {} clip(s), {pace}  |  model {}  |  {}",
            clips.len(),
            pipeline.model_path().display(),
            pipeline.backend().name()
        );
        out!("{}", report::decision_table(&result));
        for f in &files {
            outln!("report: {}", f.display());
        }
    }
    if failed {
        eprintln!(
            "FAIL: walk was decided during don't walk for {:.2} s in {} stretch(es); the limit is {} s",
            result.overall.false_go_s, result.overall.false_go_events, args.max_false_go
        );
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}
