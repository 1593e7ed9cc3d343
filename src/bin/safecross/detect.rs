//! `safecross detect`: lights in still images, as text, JSON, or an annotated PNG.

use crate::common::{ModelArgs, detection_json, load_detector};
use anyhow::Context;
use safecross::frame::Frame;
use safecross::signal::{Detection, SignalMeaning};
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
    // A folder stands for its images, in natural order (`f2.png` before `f10.png`).
    let mut images = Vec::with_capacity(args.images.len());
    for path in &args.images {
        if path.is_dir() {
            images.extend_from_slice(ImageSource::folder(path, 10.0)?.files());
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
            let labels: Vec<String> =
                detections.iter().map(|d| format!("{} {:.2}", classes.name(d.class_id), d.score)).collect();
            draw_detections(&mut frame, &detections, &labels);
            image::save_buffer(&out, &frame.rgb, frame.width, frame.height, image::ExtendedColorType::Rgb8)
                .with_context(|| format!("cannot write {}", out.display()))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn colour(meaning: SignalMeaning) -> [u8; 3] {
    match meaning {
        SignalMeaning::VehicleRed | SignalMeaning::PedStop => [255, 40, 40],
        SignalMeaning::VehicleYellow => [255, 200, 0],
        SignalMeaning::VehicleGreen | SignalMeaning::PedWalk => [0, 230, 80],
        SignalMeaning::Off => [150, 150, 150],
        SignalMeaning::Crosswalk => [255, 255, 255],
        SignalMeaning::Other => [80, 160, 255],
    }
}

/// Draws each box (2 px outline) and its label above it.
pub fn draw_detections(frame: &mut Frame, detections: &[Detection], labels: &[String]) {
    for (d, label) in detections.iter().zip(labels) {
        let c = colour(d.meaning);
        let (x1, y1) = (d.bbox.x1.max(0.0) as i64, d.bbox.y1.max(0.0) as i64);
        let (x2, y2) = (d.bbox.x2 as i64, d.bbox.y2 as i64);
        for t in 0..2 {
            for x in x1..=x2 {
                put(frame, x, y1 - t, c);
                put(frame, x, y2 + t, c);
            }
            for y in y1..=y2 {
                put(frame, x1 - t, y, c);
                put(frame, x2 + t, y, c);
            }
        }
        let scale = 2;
        let text_y = if y1 >= 14 { y1 - 13 } else { y2 + 4 };
        for (i, ch) in label.chars().enumerate() {
            draw_glyph(frame, x1 + i as i64 * 4 * scale, text_y, ch, scale, c);
        }
    }
}

fn put(frame: &mut Frame, x: i64, y: i64, c: [u8; 3]) {
    if x >= 0 && y >= 0 && (x as u32) < frame.width && (y as u32) < frame.height {
        let i = (y as usize * frame.width as usize + x as usize) * 3;
        frame.rgb[i..i + 3].copy_from_slice(&c);
    }
}

/// A 3x5 pixel font: five rows of three bits, top row first.
fn glyph(ch: char) -> [u8; 5] {
    match ch.to_ascii_lowercase() {
        'a' => [2, 5, 7, 5, 5],
        'b' => [6, 5, 6, 5, 6],
        'c' => [3, 4, 4, 4, 3],
        'd' => [6, 5, 5, 5, 6],
        'e' => [7, 4, 6, 4, 7],
        'f' => [7, 4, 6, 4, 4],
        'g' => [3, 4, 5, 5, 3],
        'h' => [5, 5, 7, 5, 5],
        'i' => [7, 2, 2, 2, 7],
        'j' => [1, 1, 1, 5, 2],
        'k' => [5, 5, 6, 5, 5],
        'l' => [4, 4, 4, 4, 7],
        'm' => [5, 7, 7, 5, 5],
        'n' => [6, 5, 5, 5, 5],
        'o' => [2, 5, 5, 5, 2],
        'p' => [6, 5, 6, 4, 4],
        'q' => [2, 5, 5, 6, 3],
        'r' => [6, 5, 6, 5, 5],
        's' => [3, 4, 2, 1, 6],
        't' => [7, 2, 2, 2, 2],
        'u' => [5, 5, 5, 5, 7],
        'v' => [5, 5, 5, 5, 2],
        'w' => [5, 5, 7, 7, 5],
        'x' => [5, 5, 2, 5, 5],
        'y' => [5, 5, 2, 2, 2],
        'z' => [7, 1, 2, 4, 7],
        '0' => [7, 5, 5, 5, 7],
        '1' => [2, 6, 2, 2, 7],
        '2' => [6, 1, 2, 4, 7],
        '3' => [6, 1, 2, 1, 6],
        '4' => [5, 5, 7, 1, 1],
        '5' => [7, 4, 6, 1, 6],
        '6' => [3, 4, 7, 5, 7],
        '7' => [7, 1, 2, 2, 2],
        '8' => [7, 5, 7, 5, 7],
        '9' => [7, 5, 7, 1, 6],
        '.' => [0, 0, 0, 0, 2],
        '_' => [0, 0, 0, 0, 7],
        '-' => [0, 0, 7, 0, 0],
        ':' => [0, 2, 0, 2, 0],
        _ => [0, 0, 0, 0, 0],
    }
}

fn draw_glyph(frame: &mut Frame, x: i64, y: i64, ch: char, scale: i64, c: [u8; 3]) {
    for (row, bits) in glyph(ch).iter().enumerate() {
        for col in 0..3 {
            if bits >> (2 - col) & 1 == 1 {
                for dy in 0..scale {
                    for dx in 0..scale {
                        put(frame, x + col * scale + dx, y + row as i64 * scale + dy, c);
                    }
                }
            }
        }
    }
}
