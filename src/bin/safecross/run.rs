//! `safecross run`: the main job. Watches a source, prints what it sees.

use crate::common::{detection_json, load_detector, ModelArgs};
use safecross::frame::Frame;
use safecross::source::pacing::{Clock, Paced};
use safecross::source::{self, FrameSource, SourceSpec};
use std::io::Write;
use std::process::ExitCode;

/// Watch a video file, image folder or camera and report the signal.
#[derive(clap::Args)]
pub struct Args {
    /// What to watch: a video file (H.264 MP4 built in; other formats through ffmpeg),
    /// an image, a folder of images, or `camera` / `camera:N`
    #[arg(value_name = "SOURCE")]
    source: String,
    #[command(flatten)]
    model: ModelArgs,
    /// Process every frame as fast as possible (for evaluation) instead of in real time
    #[arg(long)]
    fast: bool,
    /// Frame rate for image folders
    #[arg(long, value_name = "FPS")]
    fps: Option<f64>,
    /// Camera resolution, e.g. 1280x720
    #[arg(long, value_name = "WxH", value_parser = parse_resolution)]
    resolution: Option<(u32, u32)>,
    /// Camera frame rate to ask for
    #[arg(long, value_name = "FPS")]
    camera_fps: Option<u32>,
    /// Write one JSON object per processed frame to stdout (JSON Lines)
    #[arg(long)]
    json: bool,
}

fn parse_resolution(text: &str) -> Result<(u32, u32), String> {
    let (w, h) = text.split_once(['x', 'X']).ok_or("expected WIDTHxHEIGHT, e.g. 1280x720")?;
    Ok((w.parse().map_err(|_| "bad width")?, h.parse().map_err(|_| "bad height")?))
}

pub fn execute(args: Args) -> anyhow::Result<ExitCode> {
    let mut config = args.model.to_config()?;
    if let Some(fps) = args.fps {
        config.source.image_fps = fps;
    }
    if let Some(r) = args.resolution {
        config.source.camera_resolution = r;
    }
    if let Some(f) = args.camera_fps {
        config.source.camera_fps = f;
    }
    config.validate()?;
    let mut detector = load_detector(&config)?;
    let inner = source::open(&SourceSpec::parse(&args.source), &config.source)?;
    tracing::info!("source: {}", inner.info().description);
    let mut source: Box<dyn FrameSource> = if args.fast { inner } else { Box::new(Paced::new(inner, Clock::Wall)) };
    let mut frame = Frame::default();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut frames = 0u64;
    while source.next_frame(&mut frame)? {
        frames += 1;
        detector.detect(&frame)?;
        let detections = detector.detections();
        let classes = detector.classes();
        if args.json {
            let list: Vec<_> = detections.iter().map(|d| detection_json(d, classes)).collect();
            let line = serde_json::json!({"t": (frame.t_s() * 1000.0).round() / 1000.0, "frame": frame.seq, "detections": list});
            writeln!(out, "{line}")?;
        } else {
            let seen: Vec<String> =
                detections.iter().map(|d| format!("{} {:.2}", classes.name(d.class_id), d.score)).collect();
            writeln!(out, "{:>8.2}s  frame {:>5}  {}", frame.t_s(), frame.seq, if seen.is_empty() { "-".into() } else { seen.join(", ") })?;
        }
        if !args.fast {
            out.flush()?;
        }
    }
    out.flush()?;
    if frames == 0 {
        anyhow::bail!("{} produced no frames", args.source);
    }
    Ok(ExitCode::SUCCESS)
}
