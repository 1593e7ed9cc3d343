//! `safecross eval`: detection metrics against the independent numpy reference
//! (`tests/reference/det_metrics.py`) on a hand-made dataset (always) and on real
//! validation photos with the shipped model (when `../shared/` and the model exist),
//! bad-input errors, and the decision mode's exit status.

use crate::util::{repo_root, safecross, shared_dir, skip, temp_dir, write_png};
use safecross::eval::dataset::Dataset;
use safecross::eval::detection::{DetectionEvalConfig, DetectionEvaluator};
use safecross::geom::BBox;
use safecross::signal::{Detection, SignalMeaning};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// A small deterministic generator (no external crate, same numbers everywhere).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.next()
    }
}

/// Writes a dataset split `<root>/valid` with `data.yaml` (mapping form) in `<root>`:
/// images of three sizes with boxes and polygons of widths 6-90 px, some images without
/// label files. Returns the split folder.
fn write_handmade_dataset(root: &Path, rng: &mut Lcg) -> PathBuf {
    std::fs::write(root.join("data.yaml"), "# hand-made\nnames:\n  0: green\n  1: red\n  2: yellow\n  3: ped_walk\nnc: 4\n").unwrap();
    let split = root.join("valid");
    std::fs::create_dir_all(split.join("images")).unwrap();
    std::fs::create_dir_all(split.join("labels")).unwrap();
    let sizes = [(320u32, 240u32), (416, 416), (640, 360)];
    for i in 0..40 {
        let (w, h) = sizes[i % 3];
        let name = format!("img{i:03}");
        write_png(&split.join("images").join(format!("{name}.png")), w, h, |x, y| [(x % 256) as u8, (y % 256) as u8, 40]);
        if i % 13 == 5 {
            continue; // no label file: an image with no lights
        }
        let mut lines = String::new();
        let n = (rng.next() * 5.0) as usize;
        for _ in 0..n {
            let class = (rng.next() * 4.0) as u32;
            let bw = rng.range(6.0, 90.0).min(f64::from(w) - 2.0);
            let bh = (bw * rng.range(1.0, 2.5)).min(f64::from(h) - 2.0);
            let x1 = rng.range(0.0, f64::from(w) - bw);
            let y1 = rng.range(0.0, f64::from(h) - bh);
            let (nx1, ny1, nx2, ny2) = (x1 / f64::from(w), y1 / f64::from(h), (x1 + bw) / f64::from(w), (y1 + bh) / f64::from(h));
            if rng.next() < 0.25 {
                // A polygon (quadrilateral a little inside the box, touching all four sides).
                let mx = (nx1 + nx2) / 2.0;
                let my = (ny1 + ny2) / 2.0;
                lines += &format!("{class} {mx} {ny1} {nx2} {my} {mx} {ny2} {nx1} {my}\n");
            } else {
                lines += &format!("{class} {} {} {} {}\n", (nx1 + nx2) / 2.0, (ny1 + ny2) / 2.0, nx2 - nx1, ny2 - ny1);
            }
        }
        std::fs::write(split.join("labels").join(format!("{name}.txt")), lines).unwrap();
    }
    split
}

/// Plausible detections for the labels: jittered boxes, some wrong colours, duplicates,
/// misses and false positives, scores spread over (0, 1).
fn fake_detections(labels: &[safecross::eval::GtBox], w: u32, h: u32, rng: &mut Lcg) -> Vec<Detection> {
    let meanings = [SignalMeaning::VehicleGreen, SignalMeaning::VehicleRed, SignalMeaning::VehicleYellow, SignalMeaning::PedWalk];
    let mut out = Vec::new();
    let jitter = |b: &BBox, amount: f64, rng: &mut Lcg| {
        let (bw, bh) = (f64::from(b.width()), f64::from(b.height()));
        BBox::new(
            (f64::from(b.x1) + rng.range(-amount, amount) * bw) as f32,
            (f64::from(b.y1) + rng.range(-amount, amount) * bh) as f32,
            (f64::from(b.x2) + rng.range(-amount, amount) * bw) as f32,
            (f64::from(b.y2) + rng.range(-amount, amount) * bh) as f32,
        )
    };
    for g in labels {
        if rng.next() < 0.15 {
            continue; // missed
        }
        let meaning = if rng.next() < 0.85 { g.meaning } else { meanings[(rng.next() * 4.0) as usize] };
        let score = rng.range(0.05, 0.99) as f32;
        out.push(Detection { class_id: 0, meaning, score, bbox: jitter(&g.bbox, 0.12, rng) });
        if rng.next() < 0.2 {
            out.push(Detection { class_id: 0, meaning, score: score * 0.5, bbox: jitter(&g.bbox, 0.2, rng) });
        }
    }
    for _ in 0..(rng.next() * 3.0) as usize {
        let bw = rng.range(5.0, 60.0);
        let x1 = rng.range(0.0, f64::from(w) - bw);
        let y1 = rng.range(0.0, f64::from(h) - bw);
        let bbox = BBox::new(x1 as f32, y1 as f32, (x1 + bw) as f32, (y1 + 1.5 * bw).min(f64::from(h)) as f32);
        out.push(Detection { class_id: 0, meaning: meanings[(rng.next() * 4.0) as usize], score: rng.range(0.001, 0.7) as f32, bbox });
    }
    out
}

/// Runs the reference script on `input`; `None` (after printing why) when python3 or
/// numpy is missing.
fn reference(test: &str, input: &Path) -> Option<Value> {
    let script = repo_root().join("tests/reference/det_metrics.py");
    let out = match std::process::Command::new("python3").arg(&script).arg(input).output() {
        Ok(out) => out,
        Err(e) => {
            skip(test, &format!("python3 is not available: {e}"));
            return None;
        }
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() && stderr.contains("No module named 'numpy'") {
        skip(test, "numpy is not installed");
        return None;
    }
    assert!(out.status.success(), "reference script failed: {stderr}");
    Some(serde_json::from_slice(&out.stdout).expect("reference JSON"))
}

/// Asserts that two figures agree to 0.01 (`null` must match `null`).
fn close(what: &str, ours: &Value, theirs: &Value) {
    match (ours.as_f64(), theirs.as_f64()) {
        (Some(a), Some(b)) => assert!((a - b).abs() <= 0.01, "{what}: ours {a}, reference {b}"),
        _ => assert_eq!(ours, theirs, "{what}"),
    }
}

/// Compares every figure the reference computes with ours.
fn assert_agrees(ours: &Value, theirs: &Value) {
    for key in ["map50", "map50_95", "precision", "recall", "recall_any", "state_accuracy"] {
        close(key, &ours[key], &theirs[key]);
    }
    let ours_classes = ours["classes"].as_array().unwrap();
    let their_classes = theirs["classes"].as_array().unwrap();
    assert_eq!(ours_classes.len(), their_classes.len(), "meanings with labels");
    for (a, b) in ours_classes.iter().zip(their_classes) {
        assert_eq!(a["meaning"], b["meaning"]);
        assert_eq!(a["labels"], b["labels"], "{} labels", a["meaning"]);
        for key in ["precision", "recall", "ap50", "ap50_95"] {
            close(&format!("{} {key}", a["meaning"]), &a[key], &b[key]);
        }
    }
    assert_eq!(ours["confusion"], theirs["confusion"], "confusion matrix");
    for (a, b) in ours["by_size"].as_array().unwrap().iter().zip(theirs["by_size"].as_array().unwrap()) {
        assert_eq!(a["labels"], b["labels"], "{} labels", a["name"]);
        close(&format!("{} recall", a["name"]), &a["recall"], &b["recall"]);
        close(&format!("{} recall_any", a["name"]), &a["recall_any"], &b["recall_any"]);
    }
}

#[test]
fn detection_metrics_agree_with_the_reference_on_a_handmade_dataset() {
    let test = "detection_metrics_agree_with_the_reference_on_a_handmade_dataset";
    let dir = temp_dir();
    let mut rng = Lcg(20240611);
    let split = write_handmade_dataset(dir.path(), &mut rng);
    let dataset = Dataset::load(&split).unwrap();
    assert_eq!(dataset.class_names, ["green", "red", "yellow", "ped_walk"]);
    assert_eq!(dataset.images.len(), 40);
    assert_eq!(dataset.unlabelled_images(), 3);
    assert!(dataset.box_count() > 50, "{} boxes", dataset.box_count());

    let mut ev = DetectionEvaluator::new(DetectionEvalConfig { conf_threshold: 0.3, ..Default::default() });
    for im in &dataset.images {
        let dets = fake_detections(&im.boxes, im.width, im.height, &mut rng);
        ev.add_image(&im.boxes, &dets);
    }
    let report = ev.finish();
    // The fake detector is decent but imperfect, so every figure is away from 0 and 1
    // and a wrong formula shows.
    assert!(report.map50 > 0.3 && report.map50 < 0.95, "map50 {}", report.map50);
    assert!(report.map50_95 < report.map50, "{} vs {}", report.map50_95, report.map50);
    assert!(report.state_accuracy.is_some_and(|a| a > 0.6 && a < 1.0), "{:?}", report.state_accuracy);
    assert!(report.by_size.iter().all(|b| b.labels > 0), "{:?}", report.by_size);

    let input = dir.path().join("reference-input.json");
    std::fs::write(&input, serde_json::to_vec(&ev.to_reference_json()).unwrap()).unwrap();
    let Some(theirs) = reference(test, &input) else { return };
    eprintln!("ours: map50 {} map50_95 {}; reference: {} {}", report.map50, report.map50_95, theirs["map50"], theirs["map50_95"]);
    assert_agrees(&serde_json::to_value(&report).unwrap(), &theirs);
}

#[test]
fn dataset_bad_input_names_the_file_and_line() {
    let dir = temp_dir();
    let split = dir.path().join("valid");
    std::fs::create_dir_all(split.join("images")).unwrap();
    std::fs::create_dir_all(split.join("labels")).unwrap();
    write_png(&split.join("images/a.png"), 100, 50, |_, _| [0, 0, 0]);

    // No data.yaml anywhere up the tree (the temp dir's parents have none either).
    let err = Dataset::load(&split).unwrap_err().to_string();
    assert!(err.contains("no data.yaml") && err.contains("valid"), "{err}");

    std::fs::write(dir.path().join("data.yaml"), "names: ['green', 'red']\n").unwrap();
    let cases = [
        ("0 0.5 0.5 0.1 0.1\n1 0.5 0.5 0.1\n", "a.txt:2: ", "got 4"),
        ("0 0.5 0.5 0.1 0.1 0.2\n", "a.txt:1: ", "got 6"),
        ("0 0.5 1.2 0.1 0.1\n", "a.txt:1: ", "field 3 = 1.2 is outside [0, 1]"),
        ("\n2 0.5 0.5 0.1 0.1\n", "a.txt:2: ", "class id 2 has no name"),
    ];
    for (text, place, what) in cases {
        std::fs::write(split.join("labels/a.txt"), text).unwrap();
        let err = Dataset::load(&split).unwrap_err().to_string();
        assert!(err.contains(place) && err.contains(what), "{text:?}: {err}");
    }

    // An image without a label file is an image with no lights, not an error.
    std::fs::remove_file(split.join("labels/a.txt")).unwrap();
    let ds = Dataset::load(&split).unwrap();
    assert_eq!(ds.unlabelled_images(), 1);
    assert_eq!(ds.box_count(), 0);
}

#[test]
fn real_photos_agree_with_the_reference() {
    let test = "real_photos_agree_with_the_reference";
    let Some(shared) = shared_dir() else { return skip(test, "../shared is absent") };
    if !repo_root().join("models/safecross-tl.onnx").exists() {
        return skip(test, "models/safecross-tl.onnx is absent");
    }
    let valid = shared.join("data/traffic-lights/cinta/valid");
    let dir = temp_dir();
    let dump = dir.path().join("dump.json");
    let run = safecross(&["eval", valid.to_str().unwrap(), "--json", "--dump-detections", dump.to_str().unwrap()]);
    assert!(run.code == 0 || run.code == 1, "exit {}: {}", run.code, run.stderr);
    let ours: Value = serde_json::from_str(&run.stdout).expect("eval --json");
    assert_eq!(ours["kind"], "detection");
    assert_eq!(ours["images"], 200);
    let Some(theirs) = reference(test, &dump) else { return };
    assert_agrees(&ours, &theirs);
}
