//! `safecross detect`: lights in still images, as text, JSON, or an annotated PNG.

use crate::annotate::{draw_detections, save_png};
use crate::common::{ModelArgs, detection_json, detection_labels, load_detector};
use safecross::frame::Frame;
use safecross::source::images::{ImageSource, load_image};
use std::path::PathBuf;
use std::process::ExitCode;

/// Detect traffic lights and pedestrian signals in images.
#[derive(clap::Args)]
pub struct Args {
    /// Images to look at (PNG, JPEG, BMP, WebP), or folders of them
    #[arg(required = true, value_name = "IMAGE")]
    images: Vec<PathBuf>,
    #[command(flatten)]
    model: ModelArgs,
    /// Print one JSON object per image (JSON Lines)
    #[arg(long)]
    json: bool,
    /// Show only boxes of these class ids, comma-separated (as `--classes` in ultralytics;
    /// applied after NMS). Only here: a run that could not see stop classes would not be
    /// told to stop
    #[arg(long, value_name = "IDS", value_delimiter = ',')]
    classes: Option<Vec<u16>>,
    /// Write the image with boxes and labels drawn to this PNG (with several images,
    /// the image's name is appended)
    #[arg(long, value_name = "OUT.png")]
    draw: Option<PathBuf>,
}

pub fn execute(args: Args) -> anyhow::Result<ExitCode> {
    let config = args.model.to_config()?;
    let mut detector = load_detector(&config)?;
    let mut frame = Frame::default();
    // A folder stands for its images, in natural order (`f2.png` before `f10.png`); a
    // pattern the shell did not expand (quoted) for the files it matches, in order.
    let mut images = Vec::with_capacity(args.images.len());
    for path in &args.images {
        let text = path.to_string_lossy();
        if path.is_dir() {
            images.extend_from_slice(ImageSource::folder(path, 10.0)?.files());
        } else if !path.exists() && text.contains(['*', '?', '[']) {
            let matches = glob::glob(&text).map_err(|e| anyhow::anyhow!("{text}: not a valid pattern: {e}"))?;
            let mut found: Vec<PathBuf> = matches.filter_map(Result::ok).filter(|p| p.is_file()).collect();
            if found.is_empty() {
                anyhow::bail!("{text}: no file matches this pattern");
            }
            found.sort();
            images.extend(found);
        } else {
            images.push(path.clone());
        }
    }
    for (i, path) in images.iter().enumerate() {
        load_image(path, &mut frame)?;
        let mut detections = detector.detect(&frame)?.to_vec();
        if let Some(keep) = &args.classes {
            detections.retain(|d| keep.contains(&d.class_id));
        }
        let classes = detector.classes();
        if args.json {
            let list: Vec<_> = detections.iter().map(|d| detection_json(d, classes)).collect();
            outln!(
                "{}",
                serde_json::json!({"image": path.to_string_lossy(), "width": frame.width, "height": frame.height, "detections": list})
            );
        } else {
            outln!("{} ({}x{}): {} box(es)", path.display(), frame.width, frame.height, detections.len());
            for d in &detections {
                let b = d.bbox;
                outln!(
                    "  {:<10} {:<14} {:.2}  [{:.0}, {:.0}, {:.0}, {:.0}]",
                    classes.name(d.class_id),
                    d.meaning.as_str(),
                    d.score,
                    b.x1,
                    b.y1,
                    b.x2,
                    b.y2
                );
            }
        }
        if let Some(out) = &args.draw {
            let out = if images.len() > 1 {
                let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| i.to_string());
                out.with_file_name(format!(
                    "{}-{stem}.png",
                    out.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default()
                ))
            } else {
                out.clone()
            };
            draw_detections(&mut frame, &detections, &detection_labels(&detections, classes));
            save_png(&out, &frame)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
