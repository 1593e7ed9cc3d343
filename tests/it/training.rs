//! The training code runs end to end (a handful of images, one short epoch, export) and
//! the Rust pipeline loads what it exports. Needs python3 with torch, onnx and
//! onnxruntime; `.ci/run` installs them, a bare machine skips with a notice.

use crate::util::{repo_root, safecross, skip, temp_dir};
use std::ffi::OsStr;
use std::process::Command;

/// Of `modules`, those python3 cannot import.
fn missing_python_modules<'a>(modules: &[&'a str]) -> Vec<&'a str> {
    modules
        .iter()
        .copied()
        .filter(|m| {
            !Command::new("python3").args(["-c", &format!("import {m}")]).output().is_ok_and(|o| o.status.success())
        })
        .collect()
}

/// Runs `training/<script>` with `args` under python3 and fails the test, with its output,
/// unless it succeeds. `what` names the run in the failure message.
fn run_training_script(what: &str, script: &str, args: &[&OsStr]) {
    let run = Command::new("python3")
        .arg(repo_root().join("training").join(script))
        .args(args)
        .env("OMP_WAIT_POLICY", "PASSIVE")
        .output()
        .expect("run python3");
    assert!(
        run.status.success(),
        "{what} failed:\n{}\n{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
}

/// Runs a `training/check_*.py` script on the shipped model and sample frames (see
/// [`run_training_script`]), or skips as `name` where python3 lacks what it imports.
fn run_training_check(name: &str, what: &str, script: &str) {
    let missing = missing_python_modules(&["torch", "onnx", "cv2"]);
    if !missing.is_empty() {
        return skip(name, &format!("python3 cannot import {}", missing.join(", ")));
    }
    run_training_script(what, script, &[]);
}

#[test]
fn training_smoke_run_exports_a_model_the_pipeline_loads() {
    let missing = missing_python_modules(&["torch", "onnx", "onnxruntime"]);
    if !missing.is_empty() {
        return skip("training_smoke_run", &format!("python3 cannot import {}", missing.join(", ")));
    }
    let out = temp_dir();
    run_training_script(
        "training smoke run",
        "train.py",
        &["--smoke".as_ref(), "--out".as_ref(), out.path().as_os_str()],
    );
    let model = out.path().join("model.onnx");
    assert!(model.exists(), "no model.onnx in {}", out.path().display());
    let model = model.to_str().unwrap();

    // The exported names reach the pipeline through the ONNX metadata alone.
    let info = safecross(&["info", "--model", model, "--backend", "tract"]);
    assert_eq!(info.code, 0, "{}", info.stderr);
    for (name, meaning) in
        [("red", "-> vehicle_red"), ("ped_walk", "-> ped_walk"), ("ped_stop", "-> ped_stop"), ("off", "-> off")]
    {
        let line = info
            .stdout
            .lines()
            .find(|l| l.split_whitespace().nth(1) == Some(name))
            .unwrap_or_else(|| panic!("{name} missing from info:\n{}", info.stdout));
        assert!(line.trim_end().ends_with(meaning), "{name} should map {meaning}: {line}");
    }

    // And the detector runs on a real decoded frame through both paths of the binary.
    let clip = repo_root().join("samples/us.mp4");
    if clip.exists() {
        let r = safecross(&[
            "run",
            clip.to_str().unwrap(),
            "--fast",
            "--json",
            "--audio",
            "none",
            "--model",
            model,
            "--backend",
            "tract",
        ]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let frames = r.json_frames();
        assert!(frames.len() > 100, "expected a JSON object per frame, got {}", frames.len());
    }
}

/// `train.py --hard-drawn` picks the generated frames the shipped model gets wrong (a vehicle
/// lamp read as a pedestrian figure on the `eu` sample, a labelled head it does not box) and
/// leaves the frames it gets right; `training/check_hard_drawn.py` says which frames.
#[test]
fn hard_drawn_mining_picks_the_frames_the_model_gets_wrong() {
    run_training_check("hard_drawn_mining", "hard-frame mining check", "check_hard_drawn.py");
}

/// `train.py --freeze-bn` fine-tunes the shipped model from where it is: in training mode the
/// loaded network scores a sample frame exactly as in eval mode, a step leaves BatchNorm's
/// statistics alone, and without the flag the scores move (`training/check_freeze_bn.py`).
#[test]
fn freeze_bn_fine_tunes_from_the_shipped_model_unchanged() {
    run_training_check("freeze_bn", "frozen-BatchNorm check", "check_freeze_bn.py");
}

/// `train.py --distill`: the per-point weights follow the model's output order, the loss is
/// 0 for the teacher itself and where the mask is 0, and mined hard frames are never taught
/// (`training/check_distill.py`).
#[test]
fn distillation_keeps_the_teacher_only_where_it_was_right() {
    run_training_check("distill", "distillation check", "check_distill.py");
}
