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
    std::fs::write(
        root.join("data.yaml"),
        "# hand-made\nnames:\n  0: green\n  1: red\n  2: yellow\n  3: ped_walk\n  4: crosswalk\nnc: 5\n",
    )
    .unwrap();
    let split = root.join("valid");
    std::fs::create_dir_all(split.join("images")).unwrap();
    std::fs::create_dir_all(split.join("labels")).unwrap();
    let sizes = [(320u32, 240u32), (416, 416), (640, 360)];
    for i in 0..40 {
        let (w, h) = sizes[i % 3];
        // Dots in the stem, as Roboflow exports name files.
        let name = format!("img{i:03}_jpg.rf.{i:x}");
        write_png(&split.join("images").join(format!("{name}.png")), w, h, |x, y| {
            [(x % 256) as u8, (y % 256) as u8, 40]
        });
        if i % 13 == 5 {
            continue; // no label file: an image with no lights
        }
        let mut lines = String::new();
        let n = (rng.next() * 5.0) as usize;
        for _ in 0..n {
            // Crosswalks too: labels that are not signals, which no headline figure counts.
            let class = (rng.next() * 5.0) as u32;
            let bw = rng.range(6.0, 90.0).min(f64::from(w) - 2.0);
            let bh = (bw * rng.range(1.0, 2.5)).min(f64::from(h) - 2.0);
            let x1 = rng.range(0.0, f64::from(w) - bw);
            let y1 = rng.range(0.0, f64::from(h) - bh);
            let (nx1, ny1, nx2, ny2) =
                (x1 / f64::from(w), y1 / f64::from(h), (x1 + bw) / f64::from(w), (y1 + bh) / f64::from(h));
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
    let meanings = [
        SignalMeaning::VehicleGreen,
        SignalMeaning::VehicleRed,
        SignalMeaning::VehicleYellow,
        SignalMeaning::PedWalk,
        SignalMeaning::Crosswalk,
    ];
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
        let meaning = if rng.next() < 0.85 { g.meaning } else { meanings[(rng.next() * 5.0) as usize] };
        let score = rng.range(0.05, 0.99) as f32;
        out.push(Detection { class_id: 0, meaning, score, bbox: jitter(&g.bbox, 0.12, rng), rival: None });
        if rng.next() < 0.2 {
            out.push(Detection {
                class_id: 0,
                meaning,
                score: score * 0.5,
                bbox: jitter(&g.bbox, 0.2, rng),
                rival: None,
            });
        }
    }
    for _ in 0..(rng.next() * 3.0) as usize {
        let bw = rng.range(5.0, 60.0);
        let x1 = rng.range(0.0, f64::from(w) - bw);
        let y1 = rng.range(0.0, f64::from(h) - bw);
        let bbox = BBox::new(x1 as f32, y1 as f32, (x1 + bw) as f32, (y1 + 1.5 * bw).min(f64::from(h)) as f32);
        out.push(Detection {
            class_id: 0,
            meaning: meanings[(rng.next() * 5.0) as usize],
            score: rng.range(0.001, 0.7) as f32,
            bbox,
            rival: None,
        });
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
    assert_eq!(dataset.class_names, ["green", "red", "yellow", "ped_walk", "crosswalk"]);
    assert_eq!(dataset.images.len(), 40);
    assert_eq!(dataset.unlabelled_images(), 3);
    assert!(dataset.box_count() > 50, "{} boxes", dataset.box_count());

    let mut ev = DetectionEvaluator::new(DetectionEvalConfig { conf_threshold: 0.3, ..Default::default() });
    for im in &dataset.images {
        let dets = fake_detections(&im.boxes, im.width, im.height, &mut rng);
        ev.add_image(&im.boxes, &dets);
    }
    let report = ev.finish();
    assert!(report.non_signal_labels > 5, "{} crosswalk labels", report.non_signal_labels);
    // The fake detector is decent but imperfect, so every figure is away from 0 and 1
    // and a wrong formula shows.
    assert!(report.map50 > 0.3 && report.map50 < 0.95, "map50 {}", report.map50);
    assert!(report.map50_95 < report.map50, "{} vs {}", report.map50_95, report.map50);
    assert!(report.state_accuracy.is_some_and(|a| a > 0.6 && a < 1.0), "{:?}", report.state_accuracy);
    assert!(report.by_size.iter().all(|b| b.labels > 0), "{:?}", report.by_size);

    let input = dir.path().join("reference-input.json");
    std::fs::write(&input, serde_json::to_vec(&ev.to_reference_json()).unwrap()).unwrap();
    let Some(theirs) = reference(test, &input) else {
        return;
    };
    eprintln!(
        "ours: map50 {} map50_95 {}; reference: {} {}",
        report.map50, report.map50_95, theirs["map50"], theirs["map50_95"]
    );
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

    // But a split without any labels/ folder is a mistake, not a set of negatives.
    std::fs::remove_dir(split.join("labels")).unwrap();
    let err = Dataset::load(&split).unwrap_err().to_string();
    assert!(err.contains("no labels/ folder"), "{err}");
}

#[test]
fn real_photos_agree_with_the_reference() {
    let test = "real_photos_agree_with_the_reference";
    let Some(shared) = shared_dir() else {
        return skip(test, "../shared is absent");
    };
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
    let Some(theirs) = reference(test, &dump) else {
        return;
    };
    assert_agrees(&ours, &theirs);
}

/// A 320x320 end-to-end model that reports the same boxes in every image:
/// `(x1, y1, x2, y2, score, class)` rows, classes red, yellow, green, ped_stop, ped_walk.
fn constant_model(dir: &Path, rows: &[[f32; 6]]) -> PathBuf {
    let mut t = vec![0.0f32; 5 * 6];
    for (i, r) in rows.iter().enumerate() {
        t[i * 6..i * 6 + 6].copy_from_slice(r);
    }
    let names = "{0: 'red', 1: 'yellow', 2: 'green', 3: 'ped_stop', 4: 'ped_walk'}";
    let path = dir.join("constant.onnx");
    std::fs::write(&path, crate::onnx::constant_detector(320, 5, 6, &t, Some(names))).unwrap();
    path
}

#[test]
fn eval_cli_reports_detection_figures_pictures_and_the_map_gate() {
    let test = "eval_cli_reports_detection_figures_pictures_and_the_map_gate";
    let dir = temp_dir();
    // The dataset names classes differently and in another order than the model.
    std::fs::write(dir.path().join("data.yaml"), "names: [Green, Red, Yellow]\n").unwrap();
    let ds = dir.path().join("valid");
    std::fs::create_dir_all(ds.join("images")).unwrap();
    std::fs::create_dir_all(ds.join("labels")).unwrap();
    for name in ["a", "b", "c"] {
        write_png(&ds.join(format!("images/{name}.png")), 320, 320, |x, y| [(x % 200) as u8, (y % 200) as u8, 90]);
    }
    let norm = |b: [f64; 4]| {
        format!(
            "{} {} {} {}",
            (b[0] + b[2]) / 640.0,
            (b[1] + b[3]) / 640.0,
            (b[2] - b[0]) / 320.0,
            (b[3] - b[1]) / 320.0
        )
    };
    let (red, green, yellow) = ([100.0, 120.0, 110.0, 150.0], [200.0, 100.0, 220.0, 140.0], [50.0, 50.0, 70.0, 90.0]);
    std::fs::write(ds.join("labels/a.txt"), format!("1 {}\n0 {}\n", norm(red), norm(green))).unwrap();
    std::fs::write(ds.join("labels/b.txt"), format!("1 {}\n2 {}\n", norm(red), norm(yellow))).unwrap();
    // c.png has no label file: an image with no lights.
    let model =
        constant_model(dir.path(), &[[100.0, 120.0, 110.0, 150.0, 0.9, 0.0], [200.0, 100.0, 220.0, 140.0, 0.6, 2.0]]);
    let report_dir = dir.path().join("report");
    let dump = dir.path().join("dump.json");
    let (m, r, d) = (model.to_str().unwrap(), report_dir.to_str().unwrap(), dump.to_str().unwrap());
    let run = safecross(&["eval", ds.to_str().unwrap(), "--model", m, "--json", "--report", r, "--dump-detections", d]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["kind"], "detection");
    assert_eq!(
        (v["images"].as_u64(), v["images_without_labels"].as_u64(), v["labels"].as_u64()),
        (Some(3), Some(1), Some(4))
    );
    assert_eq!(v["images_without_label_files"], serde_json::json!(["c.png"]), "the unlabelled image is named");
    assert!(run.stderr.contains("c.png"), "and the warning names it: {}", run.stderr);
    // red: 3 detections, 2 right, AP 1; green: 3 detections, 1 right, AP 1; yellow: missed.
    let classes = v["classes"].as_array().unwrap();
    let by = |m: &str| classes.iter().find(|c| c["meaning"] == m).unwrap().clone();
    assert_eq!(by("vehicle_red")["ap50"], 1.0);
    assert!((by("vehicle_red")["precision"].as_f64().unwrap() - 2.0 / 3.0).abs() < 1e-9);
    assert!((by("vehicle_green")["precision"].as_f64().unwrap() - 1.0 / 3.0).abs() < 1e-9);
    assert_eq!(by("vehicle_yellow")["recall"], 0.0);
    assert!((v["map50"].as_f64().unwrap() - 2.0 / 3.0).abs() < 1e-9, "{}", v["map50"]);
    assert_eq!(v["missed"], 1);
    assert!(report_dir.join("pr-curve.png").is_file());
    assert!(report_dir.join("worst-misses.png").is_file());
    if let Some(theirs) = reference(test, &dump) {
        assert_agrees(&v, &theirs);
    }

    // The table, and the quality gate.
    let run = safecross(&["eval", ds.to_str().unwrap(), "--model", m, "--min-map50", "0.9"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stdout.contains("mAP50 0.667"), "{}", run.stdout);
    assert!(run.stderr.contains("below --min-map50"), "{}", run.stderr);
}

#[test]
fn eval_cli_names_a_missing_data_yaml() {
    let dir = temp_dir();
    let ds = dir.path().join("valid");
    std::fs::create_dir_all(ds.join("images")).unwrap();
    write_png(&ds.join("images/a.png"), 32, 32, |_, _| [0, 0, 0]);
    let run = safecross(&["eval", ds.to_str().unwrap()]);
    run.assert_clean_error("no data.yaml");
}

/// Writes a 320x320, 10 fps grey clip of `seconds` and its timeline (don't walk
/// throughout, `timeline_s` long).
fn write_clip(dir: &Path, seconds: u32, timeline_s: f64) -> PathBuf {
    let video = dir.join("crossing.mp4");
    let mut w = safecross::synth::video::Mp4VideoWriter::create(&video, 320, 320, 10.0, 500_000, 10).unwrap();
    // The picture moves (a drifting ramp): an unchanging one is a frozen camera, which the
    // pipeline rightly hears as unknown whatever the model says.
    let mut rgb = vec![0u8; 320 * 320 * 3];
    for i in 0..seconds * 10 {
        for (k, v) in rgb.iter_mut().enumerate() {
            *v = 96 + ((k / 3 % 320 + i as usize * 7) % 64) as u8;
        }
        w.write_frame(&rgb).unwrap();
    }
    w.finish().unwrap();
    let timeline = serde_json::json!({
        "version": 1, "fps": 10.0, "duration_s": timeline_s, "source": {"kind": "recorded"},
        "segments": [{"start_s": 0.0, "end_s": timeline_s, "signal": "dont_walk"}],
    });
    std::fs::write(dir.join("crossing.json"), timeline.to_string()).unwrap();
    video
}

#[test]
fn eval_cli_fails_on_a_false_go_and_passes_a_steady_stop() {
    let dir = temp_dir();
    let video = write_clip(dir.path(), 4, 4.0);
    let clip = video.to_str().unwrap();
    // A model that always sees a walking figure, on a clip whose truth is don't walk.
    let walk = constant_model(dir.path(), &[[100.0, 120.0, 130.0, 180.0, 0.95, 4.0]]);
    let report_dir = dir.path().join("report");
    let run = safecross(&[
        "eval",
        clip,
        "--model",
        walk.to_str().unwrap(),
        "--json",
        "--report",
        report_dir.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["kind"], "decision");
    assert_eq!(v["passed"], false);
    let false_go = v["overall"]["false_go_s"].as_f64().unwrap();
    assert!(false_go > 1.0 && false_go < 4.0, "{false_go}");
    assert_eq!(v["overall"]["false_go_events"], 1);
    assert_eq!(v["clips"][0]["frames"], 40);
    assert!(report_dir.join("timeline-crossing.png").is_file());
    assert!(run.stderr.contains("FAIL"), "{}", run.stderr);

    // The gate is a parameter.
    let run = safecross(&["eval", clip, "--model", walk.to_str().unwrap(), "--max-false-go", "10"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("OVERALL"), "{}", run.stdout);

    // Real-time pacing on a much slower board drops frames; the figures still cover the clip.
    // The slowdown is large enough that even a very fast machine's processing time,
    // multiplied, exceeds the 0.1 s frame period: the constant model's frame takes well
    // under half a millisecond here (200x once sufficed, and then did not), and anything
    // over 1 us, times 100,000, is more than a frame period.
    let run = safecross(&[
        "eval",
        clip,
        "--model",
        walk.to_str().unwrap(),
        "--json",
        "--pace",
        "realtime",
        "--slowdown",
        "100000",
    ]);
    assert!(run.code == 0 || run.code == 1, "{}", run.stderr);
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    let (processed, frames) =
        (v["overall"]["frames_processed"].as_u64().unwrap(), v["overall"]["frames"].as_u64().unwrap());
    assert_eq!(frames, 40);
    assert!(processed >= 1 && processed < frames, "{processed} of {frames}");
    assert!((v["overall"]["duration_s"].as_f64().unwrap() - 4.0).abs() < 1e-9);

    // A model that sees the stop figure: no false go.
    let stop = constant_model(dir.path(), &[[100.0, 120.0, 130.0, 180.0, 0.95, 3.0]]);
    let run = safecross(&["eval", clip, "--model", stop.to_str().unwrap(), "--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["overall"]["false_go_s"], 0.0);
    assert!(v["overall"]["first_match"]["mean_s"].as_f64().is_some_and(|t| t < 2.0), "{}", v["overall"]);
}

#[test]
fn eval_cli_rejects_a_timeline_that_does_not_cover_the_clip() {
    let dir = temp_dir();
    let video = write_clip(dir.path(), 3, 2.0);
    let model = constant_model(dir.path(), &[[100.0, 120.0, 130.0, 180.0, 0.95, 3.0]]);
    let run = safecross(&["eval", video.to_str().unwrap(), "--model", model.to_str().unwrap()]);
    run.assert_clean_error("crossing.json");
    assert!(run.stderr.contains("duration_s"), "{}", run.stderr);
}

#[test]
fn real_labels_with_simulated_detections_agree_with_the_reference() {
    let test = "real_labels_with_simulated_detections_agree_with_the_reference";
    let Some(shared) = shared_dir() else {
        return skip(test, "../shared is absent");
    };
    // cinta: mid-range vehicle lights; kr: tiny lights and polygon labels.
    for split in ["data/traffic-lights/cinta/valid", "data/traffic-lights/kr/train"] {
        let dataset = Dataset::load(&shared.join(split)).unwrap();
        assert_eq!(dataset.unlabelled_images(), 0, "{split}");
        let mut rng = Lcg(7);
        let mut ev = DetectionEvaluator::new(DetectionEvalConfig::default());
        for im in &dataset.images {
            ev.add_image(&im.boxes, &fake_detections(&im.boxes, im.width, im.height, &mut rng));
        }
        let report = ev.finish();
        assert!(report.labels > 250, "{split}: {} labels", report.labels);
        let dir = temp_dir();
        let input = dir.path().join("in.json");
        std::fs::write(&input, serde_json::to_vec(&ev.to_reference_json()).unwrap()).unwrap();
        let Some(theirs) = reference(test, &input) else {
            return;
        };
        assert_agrees(&serde_json::to_value(&report).unwrap(), &theirs);
    }
}
