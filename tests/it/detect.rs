//! `safecross detect` on files and folders.

use crate::onnx::constant_detector;
use crate::util::{safecross, temp_dir, write_png};

/// A model that finds nothing, written into `dir`.
fn empty_model(dir: &std::path::Path) -> std::path::PathBuf {
    let model = dir.join("m.onnx");
    std::fs::write(&model, constant_detector(320, 7, 8, &[0.0; 56], Some("{0: 'red', 1: 'yellow', 2: 'green'}")))
        .unwrap();
    model
}

/// The file names of the images `detect --json` reported, in its order.
fn image_names(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["image"].as_str().unwrap().to_owned())
        .map(|p| p.rsplit('/').next().unwrap().to_owned())
        .collect()
}

#[test]
fn a_folder_stands_for_its_images_in_natural_order() {
    let dir = temp_dir();
    let model = empty_model(dir.path());
    let folder = dir.path().join("shots");
    std::fs::create_dir(&folder).unwrap();
    for name in ["f10.png", "f2.png", "f1.png"] {
        write_png(&folder.join(name), 64, 48, |x, y| [(x * 3) as u8, (y * 5) as u8, 40]);
    }
    std::fs::write(folder.join("notes.txt"), "not an image").unwrap();
    let lone = dir.path().join("lone.png");
    write_png(&lone, 32, 32, |_, _| [9, 9, 9]);
    let run = safecross(&[
        "detect",
        folder.to_str().unwrap(),
        lone.to_str().unwrap(),
        "--json",
        "--model",
        model.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let names = image_names(&run.stdout);
    assert_eq!(names, ["f1.png", "f2.png", "f10.png", "lone.png"]);
}

/// A quoted pattern (the shell left it alone) stands for the files it matches, in
/// order; one that matches nothing is a one-line error.
#[test]
fn a_pattern_stands_for_the_files_it_matches() {
    let dir = temp_dir();
    let model = empty_model(dir.path());
    for name in ["b.png", "a.png"] {
        write_png(&dir.path().join(name), 40, 30, |_, _| [20, 20, 20]);
    }
    std::fs::write(dir.path().join("a.png.txt"), "not matched").unwrap();
    let pattern = dir.path().join("*.png");
    let run = safecross(&["detect", pattern.to_str().unwrap(), "--json", "--model", model.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let names = image_names(&run.stdout);
    assert_eq!(names, ["a.png", "b.png"]);
    let none = dir.path().join("*.bmp");
    let run = safecross(&["detect", none.to_str().unwrap(), "--model", model.to_str().unwrap()]);
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("no file matches") && run.stderr.lines().count() == 1, "{}", run.stderr);
}

#[test]
fn classes_filters_boxes_by_class_id_and_class_names_names_them() {
    let dir = temp_dir();
    // Two anchors: a class-0 box on the left, a class-2 box on the right.
    let anchors = 8;
    let mut t = vec![0.0f32; 7 * anchors];
    for (anchor, cx, class) in [(0, 80.0, 0), (1, 240.0, 2)] {
        for (row, v) in [(0, cx), (1, 160.0), (2, 20.0), (3, 40.0), (4 + class, 0.9)] {
            t[row * anchors + anchor] = v;
        }
    }
    let model = dir.path().join("m.onnx");
    std::fs::write(&model, constant_detector(320, 7, anchors as i64, &t, None)).unwrap();
    let img = dir.path().join("a.png");
    write_png(&img, 320, 320, |x, y| [(x / 3) as u8, (y / 3) as u8, 40]);
    let classes_of = |extra: &[&str]| -> Vec<String> {
        let args =
            [&["detect", img.to_str().unwrap(), "--json", "--model", model.to_str().unwrap()][..], extra].concat();
        let run = safecross(&args);
        assert_eq!(run.code, 0, "{}", run.stderr);
        let line: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
        line["detections"].as_array().unwrap().iter().map(|d| d["class"].as_str().unwrap().to_owned()).collect()
    };
    let mut all = classes_of(&["--class-names", "red,yellow,green"]);
    all.sort();
    assert_eq!(all, ["green", "red"]);
    assert_eq!(classes_of(&["--class-names", "red,yellow,green", "--classes", "2"]), ["green"]);
    assert!(classes_of(&["--class-names", "red,yellow,green", "--classes", "1"]).is_empty());
}
