//! The shipped model on real validation photos from `../shared/` (skips when absent):
//! `safecross detect` must find the labelled lights and tell their colour.

use crate::util::{repo_root, safecross, shared_dir, skip};
use serde_json::Value;

/// Reads YOLO labels (boxes or polygons) as (class, [x1, y1, x2, y2]) in pixels.
/// Parsed here, not with `safecross::eval::Dataset`, on purpose: this test checks the
/// `detect` command against the labels, and must not share a parsing bug with the
/// evaluator whose figures it backs up.
fn labels(path: &std::path::Path, w: f64, h: f64) -> Vec<(usize, [f64; 4])> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .filter_map(|line| {
            let v: Vec<f64> = line.split_whitespace().filter_map(|t| t.parse().ok()).collect();
            match v.len() {
                0 => None,
                5 => Some((
                    v[0] as usize,
                    [
                        (v[1] - v[3] / 2.0) * w,
                        (v[2] - v[4] / 2.0) * h,
                        (v[1] + v[3] / 2.0) * w,
                        (v[2] + v[4] / 2.0) * h,
                    ],
                )),
                n if n >= 7 => {
                    let xs: Vec<f64> = v[1..].iter().step_by(2).map(|x| x * w).collect();
                    let ys: Vec<f64> = v[2..].iter().step_by(2).map(|y| y * h).collect();
                    let min = |s: &[f64]| s.iter().copied().fold(f64::INFINITY, f64::min);
                    let max = |s: &[f64]| s.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    Some((v[0] as usize, [min(&xs), min(&ys), max(&xs), max(&ys)]))
                }
                _ => None,
            }
        })
        .collect()
}

fn iou(a: &[f64; 4], b: &[f64]) -> f64 {
    let ix = (a[2].min(b[2]) - a[0].max(b[0])).max(0.0);
    let iy = (a[3].min(b[3]) - a[1].max(b[1])).max(0.0);
    let inter = ix * iy;
    inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)
}

#[test]
fn detect_finds_lights_in_real_photos() {
    let model = repo_root().join("models/safecross-tl.onnx");
    if !model.exists() {
        return skip("detect_finds_lights_in_real_photos", "models/safecross-tl.onnx is absent");
    }
    let Some(shared) = shared_dir() else { return skip("detect_finds_lights_in_real_photos", "../shared/ is absent") };
    let root = shared.join("data/traffic-lights/cinta/valid");
    let mut images: Vec<_> = std::fs::read_dir(root.join("images")).unwrap().map(|e| e.unwrap().path()).collect();
    images.sort();
    let picked: Vec<_> = images.iter().step_by(5).take(40).collect();
    let mut args = vec!["detect".to_string(), "--json".into(), "--model".into(), model.display().to_string()];
    args.extend(picked.iter().map(|p| p.display().to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = safecross(&args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // cinta's classes: 0 green, 1 red, 2 yellow.
    let meaning = ["vehicle_green", "vehicle_red", "vehicle_yellow"];
    let (mut found, mut total, mut right_colour) = (0, 0, 0);
    for (line, image) in run.stdout.lines().zip(&picked) {
        let v: Value = serde_json::from_str(line).unwrap();
        let (w, h) = (v["width"].as_f64().unwrap(), v["height"].as_f64().unwrap());
        // Roboflow stems contain dots, so the extension is appended, not substituted.
        let label = root.join("labels").join(format!("{}.txt", image.file_stem().unwrap().to_string_lossy()));
        let dets = v["detections"].as_array().unwrap();
        for (class, gt) in labels(&label, w, h) {
            total += 1;
            let best = dets.iter().max_by(|a, b| {
                let ia =
                    iou(&gt, &a["box"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect::<Vec<_>>());
                let ib =
                    iou(&gt, &b["box"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect::<Vec<_>>());
                ia.total_cmp(&ib)
            });
            if let Some(d) = best {
                let b: Vec<f64> = d["box"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect();
                if iou(&gt, &b) >= 0.3 {
                    found += 1;
                    if d["signal"] == meaning[class] {
                        right_colour += 1;
                    }
                }
            }
        }
    }
    let recall = f64::from(found) / f64::from(total.max(1));
    let state = f64::from(right_colour) / f64::from(found.max(1));
    eprintln!("real photos: {total} lights, recall@0.3 {recall:.3}, colour right {state:.3}");
    assert!(total > 20, "too few labelled lights picked: {total}");
    // Floors a little under what the shipped model measures on all of cinta/valid
    // (recall_any 0.88, state accuracy 0.81: see models/README.md; this subset measured
    // recall 0.86 and colour 0.75), so a regression fails here.
    assert!(recall >= 0.80, "recall {recall:.3} on {total} lights");
    assert!(state >= 0.70, "colour accuracy {state:.3}");
}
