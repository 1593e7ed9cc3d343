//! Faults that keep frames coming are heard as unknown, never as walk: a frozen picture,
//! and a model whose scores are not probabilities.

use crate::onnx::constant_detector;
use crate::util::{repo_root, safecross, skip, temp_dir, write_png};
use safecross::frame::Frame;
use safecross::source::{self, SourceConfig, SourceSpec};
use serde_json::Value;
use std::path::Path;

/// `(t, decision)` of every frame of `run <folder> --fps 10 --fast --json --audio none`.
fn decisions(folder: &Path, model: &Path) -> (Vec<(f64, String)>, Vec<Value>) {
    let run = safecross(&[
        "run",
        folder.to_str().unwrap(),
        "--fps",
        "10",
        "--fast",
        "--json",
        "--audio",
        "none",
        "--model",
        model.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let frames = run.json_frames();
    let decided =
        frames.iter().map(|f| (f["t"].as_f64().unwrap(), f["decision"].as_str().unwrap().to_owned())).collect();
    (decided, frames)
}

/// The frame of `clip` shown at `t_s`, decoded by the library.
fn frame_at(clip: &Path, t_s: f64) -> Frame {
    let mut src = source::open(&SourceSpec::Path(clip.to_path_buf()), &SourceConfig::default()).unwrap();
    let mut frame = Frame::default();
    while src.next_frame(&mut frame).unwrap() {
        if frame.t_s() >= t_s {
            return frame;
        }
    }
    panic!("{} ends before {t_s} s", clip.display());
}

/// Writes `frames` PNGs into `dir`, frame `i` being `picture` with `noise(i)` added.
fn write_folder(dir: &Path, frames: u32, picture: &Frame, noise: impl Fn(u32) -> Option<u32>) {
    std::fs::create_dir_all(dir).unwrap();
    for i in 0..frames {
        let mut rgb = picture.rgb.clone();
        if let Some(seed) = noise(i) {
            // Sensor-like noise: every byte moves by up to 2 levels, differently each frame.
            let mut state = seed.wrapping_mul(0x9E37_79B9) | 1;
            for b in &mut rgb {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                *b = b.saturating_add((state % 5) as u8).saturating_sub(2);
            }
        }
        let img = image::RgbImage::from_raw(picture.width, picture.height, rgb).unwrap();
        img.save(dir.join(format!("f{i:04}.png"))).unwrap();
    }
}

#[test]
fn a_frozen_picture_of_walk_falls_to_unknown() {
    let test = "a_frozen_picture_of_walk_falls_to_unknown";
    let model = repo_root().join("models/safecross-tl.onnx");
    let clip = repo_root().join("samples/cn-day-countdown.mp4");
    if !model.exists() || !clip.exists() {
        return skip(test, "models/safecross-tl.onnx or samples/cn-day-countdown.mp4 is absent");
    }
    // Late in the clip's walk phase (6.8-13.6 s in its timeline): the head is big.
    let timeline: Value = serde_json::from_str(&std::fs::read_to_string(clip.with_extension("json")).unwrap()).unwrap();
    let walk = timeline["segments"].as_array().unwrap().iter().find(|s| s["signal"] == "walk").unwrap();
    let t_walk = walk["end_s"].as_f64().unwrap() - 1.0;
    assert!(t_walk > walk["start_s"].as_f64().unwrap());
    let picture = frame_at(&clip, t_walk);
    let dir = temp_dir();

    // The same walk picture, live (sensor noise): walk is decided and stays.
    let live = dir.path().join("live");
    write_folder(&live, 40, &picture, Some);
    let (decided, frames) = decisions(&live, &model);
    assert!(frames.iter().all(|f| f["frozen"] == false), "a live picture is never frozen");
    assert!(decided.iter().filter(|(t, _)| *t >= 2.0).all(|(_, d)| d == "walk"), "live walk picture: {decided:?}");

    // 40 copies of it at 10 fps, a camera handing out one buffer again and again: walk
    // may come on before the picture has been still for 1 s, but it is gone by 1.5 s
    // (1 s still, plus the smoother's 0.3 s walk hold, plus a frame) and stays gone.
    let frozen = dir.path().join("frozen");
    write_folder(&frozen, 40, &picture, |_| None);
    let (decided, frames) = decisions(&frozen, &model);
    assert_eq!(decided.len(), 40);
    for (f, (t, d)) in frames.iter().zip(&decided) {
        assert_eq!(f["frozen"], *t > 1.05, "frozen at {t} s");
        if *t >= 1.5 {
            assert_ne!(d, "walk", "a frozen picture kept walk at {t} s: {decided:?}");
        }
    }
    assert_eq!(decided.last().unwrap().1, "unknown", "{decided:?}");
}

/// A one-anchor detector for `ped_stop, ped_walk` that always outputs `stop` and `walk`
/// for a head in the middle of its 320x320 input.
pub(crate) fn constant_model(dir: &Path, name: &str, stop: f32, walk: f32) -> std::path::PathBuf {
    let anchors = 8;
    let mut t = vec![0.0f32; 6 * anchors];
    for (row, v) in [(0, 160.0), (1, 160.0), (2, 20.0), (3, 40.0), (4, stop), (5, walk)] {
        t[row * anchors] = v;
    }
    let path = dir.join(name);
    std::fs::write(&path, constant_detector(320, 6, anchors as i64, &t, Some("{0: 'ped_stop', 1: 'ped_walk'}")))
        .unwrap();
    path
}

#[test]
fn a_model_whose_scores_are_not_probabilities_never_gives_walk() {
    let dir = temp_dir();
    // A live picture (a different noise every frame), so only the model output matters.
    let folder = dir.path().join("frames");
    std::fs::create_dir_all(&folder).unwrap();
    for i in 0..20u32 {
        write_png(&folder.join(format!("f{i:02}.png")), 160, 120, |x, y| {
            let v = (x * 7 + y * 13 + i * 31) % 97;
            [60 + v as u8, 80 + v as u8, 90]
        });
    }
    // The same head with valid scores gives walk within the 2 s: the setup can show walk.
    let good = constant_model(dir.path(), "good.onnx", 0.01, 0.95);
    let (decided, frames) = decisions(&folder, &good);
    assert!(frames.iter().all(|f| f["bad_output"] == false));
    assert_eq!(decided.last().unwrap().1, "walk", "{decided:?}");

    for (name, stop, walk) in [
        ("nan-stop.onnx", f32::NAN, 0.95),
        ("inf-stop.onnx", f32::INFINITY, 0.95),
        ("walk-57.onnx", 0.01, 57.0),
        ("negative-stop.onnx", -0.1, 0.95),
    ] {
        let model = constant_model(dir.path(), name, stop, walk);
        let (decided, frames) = decisions(&folder, &model);
        assert_eq!(decided.len(), 20, "{name}");
        assert!(decided.iter().all(|(_, d)| d == "unknown"), "{name}: {decided:?}");
        for f in &frames {
            assert_eq!(f["bad_output"], true, "{name}: {f}");
            assert_eq!(f["detections"].as_array().map(Vec::len), Some(0), "{name}: {f}");
        }
    }
}
