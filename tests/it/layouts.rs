//! Each supported output layout, through the real binary: a small ONNX model whose
//! output holds known boxes is run on an image, and the boxes must come back in source
//! pixels with the right class, signal meaning and score.

use crate::onnx::{constant_detector, dynamic_constant_detector, half_constant_detector};
use crate::util::{safecross, temp_dir, write_png};
use serde_json::Value;

const SIZE: i64 = 320;
const NAMES: &str = "{0: 'red', 1: 'yellow', 2: 'green'}";

/// Runs `detect --json` on a 640x480 image with the model and returns the detections.
fn detect(model: &[u8], extra: &[&str]) -> Vec<Value> {
    let dir = temp_dir();
    let model_path = dir.path().join("m.onnx");
    std::fs::write(&model_path, model).unwrap();
    let image = dir.path().join("street.png");
    write_png(&image, 640, 480, |x, _| [(x % 256) as u8, 60, 90]);
    let mut args = vec!["detect", image.to_str().unwrap(), "--model", model_path.to_str().unwrap(), "--json"];
    args.extend_from_slice(extra);
    let run = safecross(&args);
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    let line: Value = serde_json::from_str(run.stdout.lines().next().unwrap()).unwrap();
    assert_eq!(line["width"], 640);
    line["detections"].as_array().unwrap().clone()
}

/// 640x480 into 320x320: scale 0.5, 40 px of padding above and below.
fn model_to_frame(x: f64, y: f64) -> (f64, f64) {
    (x / 0.5, (y - 40.0) / 0.5)
}

fn assert_box(d: &Value, class: &str, signal: &str, score: f64, model_box: [f64; 4]) {
    assert_eq!(d["class"], class, "{d}");
    assert_eq!(d["signal"], signal, "{d}");
    assert!((d["score"].as_f64().unwrap() - score).abs() < 1e-3, "{d}");
    let (x1, y1) = model_to_frame(model_box[0], model_box[1]);
    let (x2, y2) = model_to_frame(model_box[2], model_box[3]);
    let b: Vec<f64> = d["box"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    for (got, want) in b.iter().zip([x1, y1, x2, y2]) {
        assert!((got - want).abs() <= 1.0, "box {b:?} vs expected {:?}", [x1, y1, x2, y2]);
    }
}

/// A YOLOv8 output `[4 + nc, anchors]`: zero but for the given anchors' columns
/// (`cx, cy, w, h`, then one score per class).
fn yolov8_output(anchors: usize, columns: &[(usize, &[f32])]) -> Vec<f32> {
    let rows = columns.first().map_or(0, |(_, c)| c.len());
    let mut t = vec![0.0f32; rows * anchors];
    for (a, column) in columns {
        for (r, v) in column.iter().enumerate() {
            t[r * anchors + a] = *v;
        }
    }
    t
}

#[test]
fn yolov8_layout_boxes_come_back_in_source_pixels() {
    let (rows, anchors) = (7usize, 8usize);
    let t = yolov8_output(
        anchors,
        &[
            (2, &[160.0, 160.0, 20.0, 40.0, 0.9, 0.05, 0.02]),
            (5, &[60.0, 100.0, 10.0, 20.0, 0.01, 0.02, 0.6]),
            (6, &[200.0, 200.0, 10.0, 20.0, 0.1, 0.1, 0.1]), // below the threshold
        ],
    );
    let dets = detect(&constant_detector(SIZE, rows as i64, anchors as i64, &t, Some(NAMES)), &[]);
    assert_eq!(dets.len(), 2, "{dets:?}");
    assert_box(&dets[0], "red", "vehicle_red", 0.9, [150.0, 140.0, 170.0, 180.0]);
    assert_box(&dets[1], "green", "vehicle_green", 0.6, [55.0, 90.0, 65.0, 110.0]);
}

#[test]
fn yolov5_layout_multiplies_objectness_and_class() {
    let (anchors, cols) = (9usize, 8usize);
    let mut t = vec![0.0f32; anchors * cols];
    t[3 * cols..4 * cols].copy_from_slice(&[160.0, 160.0, 20.0, 40.0, 0.8, 0.1, 0.9, 0.05]);
    let dets = detect(&constant_detector(SIZE, anchors as i64, cols as i64, &t, Some(NAMES)), &[]);
    assert_eq!(dets.len(), 1, "{dets:?}");
    assert_box(&dets[0], "yellow", "vehicle_yellow", 0.72, [150.0, 140.0, 170.0, 180.0]);
}

#[test]
fn end_to_end_layout_reads_corners_and_class_index() {
    let rows = 5usize;
    let mut t = vec![0.0f32; rows * 6];
    t[..6].copy_from_slice(&[100.0, 120.0, 110.0, 150.0, 0.95, 4.0]);
    t[6..12].copy_from_slice(&[10.0, 60.0, 20.0, 80.0, 0.2, 1.0]); // below the threshold
    let names = "{0: 'red', 1: 'yellow', 2: 'green', 3: 'ped_stop', 4: 'ped_walk'}";
    let dets = detect(&constant_detector(SIZE, rows as i64, 6, &t, Some(names)), &[]);
    assert_eq!(dets.len(), 1, "{dets:?}");
    assert_box(&dets[0], "ped_walk", "ped_walk", 0.95, [100.0, 120.0, 110.0, 150.0]);
}

#[test]
fn classes_flag_names_a_model_without_metadata_and_threshold_is_configurable() {
    let (rows, anchors) = (6usize, 16usize);
    let t = yolov8_output(anchors, &[(0, &[160.0, 160.0, 20.0, 40.0, 0.3, 0.1])]);
    let model = constant_detector(SIZE, rows as i64, anchors as i64, &t, None);
    let dets = detect(&model, &["--class-names", "walking_man,stop_hand"]);
    assert_eq!(dets.len(), 1);
    assert_eq!(dets[0]["class"], "walking_man");
    assert_eq!(dets[0]["signal"], "ped_walk");
    assert!(detect(&model, &["--class-names", "walking_man,stop_hand", "--conf", "0.5"]).is_empty());
}

#[test]
fn two_models_load_in_one_process() {
    // One environment per process is all tract allows; every load must share it.
    let dir = temp_dir();
    let mut engines = Vec::new();
    for (i, rows) in [7i64, 8].into_iter().enumerate() {
        let path = dir.path().join(format!("m{i}.onnx"));
        std::fs::write(&path, constant_detector(SIZE, rows, 16, &vec![0.0; rows as usize * 16], None)).unwrap();
        let engine = safecross::infer::Engine::load(&path, &safecross::infer::InferConfig::default()).unwrap();
        assert_eq!(engine.io().output_shape, [1, rows as usize, 16]);
        engines.push(engine);
    }
    let input = safecross::tensor::InputTensor::new(SIZE as u32, SIZE as u32);
    for engine in &mut engines {
        assert!(engine.run(&input).unwrap().iter().all(|v| *v == 0.0));
    }
}

#[test]
fn detect_draw_writes_the_image_with_boxes() {
    let (rows, anchors) = (7usize, 8usize);
    let t = yolov8_output(anchors, &[(0, &[160.0, 160.0, 20.0, 40.0, 0.9, 0.05, 0.02])]);
    let dir = temp_dir();
    let model = dir.path().join("m.onnx");
    std::fs::write(&model, constant_detector(SIZE, rows as i64, anchors as i64, &t, Some(NAMES))).unwrap();
    let image = dir.path().join("street.png");
    write_png(&image, 640, 480, |_, _| [60, 60, 60]);
    let out = dir.path().join("drawn.png");
    let run = safecross(&[
        "detect",
        image.to_str().unwrap(),
        "--model",
        model.to_str().unwrap(),
        "--draw",
        out.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("red"), "{}", run.stdout);
    let drawn = image::open(&out).unwrap().to_rgb8();
    assert_eq!(drawn.dimensions(), (640, 480));
    // The box spans x 300..340, y 200..280 in the image: its left edge is drawn red,
    // its inside is untouched.
    assert_eq!(drawn.get_pixel(300, 240).0, [255, 40, 40]);
    assert_eq!(drawn.get_pixel(320, 240).0, [60, 60, 60]);
}

/// A YOLOX-style head (one row per grid cell with objectness) is refused in one line,
/// never run as YOLOv5: a 128x128 input has 16x16 + 8x8 + 4x4 = 336 cells.
#[test]
fn a_yolox_head_is_refused_with_a_clear_error() {
    let dir = temp_dir();
    let model = dir.path().join("yolox.onnx");
    std::fs::write(&model, constant_detector(128, 336, 85, &vec![0.0; 336 * 85], None)).unwrap();
    let image = dir.path().join("street.png");
    write_png(&image, 640, 480, |_, _| [60, 60, 60]);
    let run = safecross(&["detect", image.to_str().unwrap(), "--model", model.to_str().unwrap()]);
    assert_ne!(run.code, 0, "a YOLOX head was run: {}", run.stdout);
    assert!(run.stderr.contains("YOLOX") && run.stderr.contains("[1, 336, 85]"), "{}", run.stderr);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    // Three rows per cell of a 64x64 input (3 x 84) are YOLOv5's, and run.
    std::fs::write(&model, constant_detector(64, 252, 85, &vec![0.0; 252 * 85], None)).unwrap();
    let run = safecross(&["detect", image.to_str().unwrap(), "--model", model.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
}

/// The real YOLOX-Nano of `../shared/peers` is refused the same way.
#[test]
fn the_peer_yolox_nano_is_refused() {
    let Some(shared) = crate::util::shared_dir() else {
        return crate::util::skip("the_peer_yolox_nano_is_refused", "../shared is absent");
    };
    let model = shared.join("peers/yolox_nano.onnx");
    let dir = temp_dir();
    let image = dir.path().join("street.png");
    write_png(&image, 640, 480, |_, _| [60, 60, 60]);
    let run = safecross(&["detect", image.to_str().unwrap(), "--model", model.to_str().unwrap()]);
    assert_ne!(run.code, 0, "{}", run.stdout);
    assert!(run.stderr.contains("YOLOX") && run.stderr.lines().count() <= 2, "{}", run.stderr);
}

/// The texts `run --json` announced with a constant model of these class names whose
/// one box (class 1) scores 0.9 in every frame of `samples/us.mp4`, and its stderr.
fn announced_with_classes(names: &str) -> (Vec<String>, String) {
    let (rows, anchors) = (6usize, 8usize);
    let t = yolov8_output(anchors, &[(0, &[160.0, 100.0, 12.0, 30.0, 0.01, 0.9])]);
    let dir = temp_dir();
    let model = dir.path().join("coco-like.onnx");
    std::fs::write(&model, constant_detector(SIZE, rows as i64, anchors as i64, &t, Some(names))).unwrap();
    let clip = crate::util::repo_root().join("samples/us.mp4");
    let run = safecross(&["run", clip.to_str().unwrap(), "--model", model.to_str().unwrap(), "--fast", "--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let texts = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|l| l["event"] == "announce" && l["text"].as_str().is_some_and(|t| !t.is_empty()))
        .map(|l| l["text"].as_str().unwrap().to_string())
        .collect();
    (texts, run.stderr)
}

/// A model that finds traffic lights but cannot tell their state (a COCO detector)
/// says so at start, and then "signal seen, state unknown" while one is in view, never
/// "no signal found" nor a "checking" that promises a decision.
#[test]
fn a_model_without_states_says_signal_seen_state_unknown() {
    let (texts, stderr) = announced_with_classes("{0: 'person', 1: 'traffic light'}");
    assert!(stderr.contains("none of its classes says a signal state"), "{stderr}");
    assert_eq!(texts, ["Signal seen, state unknown"], "{stderr}");
    // The same box under a name that is not a signal: nothing in view, so no signal.
    let (texts, _) = announced_with_classes("{0: 'person', 1: 'bird'}");
    assert_eq!(texts, ["Looking for the signal", "No signal found"]);
}

/// A half-precision export (`half=True`: float16 input and output) runs, on either
/// engine, and gives the boxes its float32 twin gives, to float16's rounding.
#[test]
fn a_float16_model_gives_the_boxes_of_its_float32_twin() {
    let (rows, anchors) = (7usize, 8usize);
    let t = yolov8_output(
        anchors,
        &[(2, &[160.0, 160.0, 20.0, 40.0, 0.9, 0.05, 0.02]), (5, &[60.0, 100.0, 10.0, 20.0, 0.01, 0.02, 0.6])],
    );
    let full = detect(&constant_detector(SIZE, rows as i64, anchors as i64, &t, Some(NAMES)), &[]);
    let half_model = half_constant_detector(SIZE, rows as i64, anchors as i64, &t, Some(NAMES));
    for backend in ["auto", "tract"] {
        let half = detect(&half_model, &["--backend", backend]);
        assert_eq!(half.len(), full.len(), "{backend}: {half:?}");
        for (h, f) in half.iter().zip(&full) {
            assert_eq!(h["class"], f["class"], "{backend}");
            assert!(
                (h["score"].as_f64().unwrap() - f["score"].as_f64().unwrap()).abs() < 2e-3,
                "{backend}: {h} vs {f}"
            );
            for (a, b) in h["box"].as_array().unwrap().iter().zip(f["box"].as_array().unwrap()) {
                assert!((a.as_f64().unwrap() - b.as_f64().unwrap()).abs() < 0.5, "{backend}: {h} vs {f}");
            }
        }
    }
}

/// An ultralytics `dynamic=True` export (open batch, size and anchors; the size in
/// `imgsz`) runs, on either engine: the output's shape comes from a first run at load,
/// and the boxes are those of the static twin.
#[test]
fn a_dynamic_export_takes_its_output_shape_from_a_first_run() {
    let (rows, anchors) = (7usize, 8usize);
    let t = yolov8_output(anchors, &[(2, &[160.0, 160.0, 20.0, 40.0, 0.9, 0.05, 0.02])]);
    let full = detect(&constant_detector(SIZE, rows as i64, anchors as i64, &t, Some(NAMES)), &[]);
    let dynamic = dynamic_constant_detector(Some(SIZE), rows as i64, anchors as i64, &t, NAMES);
    for backend in ["auto", "tract"] {
        assert_eq!(detect(&dynamic, &["--backend", backend]), full, "{backend}");
    }
    let dir = temp_dir();
    let path = dir.path().join("dynamic.onnx");
    std::fs::write(&path, &dynamic).unwrap();
    let info = safecross(&["info", "--model", path.to_str().unwrap()]);
    assert_eq!(info.code, 0, "{}", info.stderr);
    assert!(info.stdout.contains("[1, 7, 8]"), "{}", info.stdout);
    // Without `imgsz` (another tool's export) the size must be given, or it is refused.
    let unsized_model = dynamic_constant_detector(None, rows as i64, anchors as i64, &t, NAMES);
    std::fs::write(&path, &unsized_model).unwrap();
    let refused = safecross(&["info", "--model", path.to_str().unwrap()]);
    assert_ne!(refused.code, 0);
    assert!(refused.stderr.contains("--imgsz") && refused.stderr.lines().count() == 1, "{}", refused.stderr);
    assert_eq!(detect(&unsized_model, &["--imgsz", &SIZE.to_string()]), full);
}

/// `--nms per-class` keeps overlapping boxes of different classes apart; the default
/// (`agnostic`) keeps the stronger one, with the other reading as its rival.
#[test]
fn nms_mode_is_on_the_command_line() {
    let (rows, anchors) = (7usize, 8usize);
    let t = yolov8_output(
        anchors,
        &[(0, &[160.0, 160.0, 20.0, 40.0, 0.9, 0.05, 0.02]), (1, &[161.0, 160.0, 20.0, 40.0, 0.05, 0.05, 0.7])],
    );
    let model = constant_detector(SIZE, rows as i64, anchors as i64, &t, Some(NAMES));
    let agnostic = detect(&model, &[]);
    assert_eq!(agnostic.len(), 1, "{agnostic:?}");
    assert_eq!(detect(&model, &["--nms", "agnostic"]), agnostic);
    let per_class = detect(&model, &["--nms", "per-class"]);
    let classes: Vec<&str> = per_class.iter().map(|d| d["class"].as_str().unwrap()).collect();
    assert_eq!(classes, ["red", "green"], "{per_class:?}");
}
