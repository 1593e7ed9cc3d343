//! ONNX Runtime and tract must see the same lights: on the same frames, boxes within
//! 1 px and scores within 1e-3. Runs the shipped model through the real binary, once
//! per backend, on real photos when `../shared/` is present and on the sample clips.

use crate::util::{repo_root, safecross, safecross_with, shared_dir, shipped_model, skip};
use serde_json::Value;

fn detections(args: &[&str], backend: &str) -> Vec<Value> {
    let mut full = args.to_vec();
    full.extend_from_slice(&["--backend", backend, "--json"]);
    let run = safecross_with(&full, &[]);
    assert_eq!(run.code, 0, "{backend}: {}", run.stderr);
    run.stdout.lines().map(|l| serde_json::from_str::<Value>(l).unwrap()).collect()
}

fn assert_same(a: &[Value], b: &[Value]) {
    assert_eq!(a.len(), b.len());
    let mut compared = 0;
    for (fa, fb) in a.iter().zip(b) {
        let (da, db) = (fa["detections"].as_array().unwrap(), fb["detections"].as_array().unwrap());
        assert_eq!(da.len(), db.len(), "different detection counts:\n ort {fa}\n tract {fb}");
        for (x, y) in da.iter().zip(db) {
            assert_eq!(x["class"], y["class"]);
            assert!((x["score"].as_f64().unwrap() - y["score"].as_f64().unwrap()).abs() <= 1e-3, "{x} vs {y}");
            for (p, q) in x["box"].as_array().unwrap().iter().zip(y["box"].as_array().unwrap()) {
                assert!((p.as_f64().unwrap() - q.as_f64().unwrap()).abs() <= 1.0, "{x} vs {y}");
            }
            compared += 1;
        }
    }
    assert!(compared > 0, "no detections to compare");
}

fn ort_available() -> bool {
    std::env::var("ORT_DYLIB_PATH").is_ok_and(|p| std::path::Path::new(&p).exists())
}

#[test]
fn ort_and_tract_agree_on_real_photos() {
    let Some(model) = shipped_model() else {
        return skip("ort_and_tract_agree_on_real_photos", "models/safecross-tl.onnx is absent");
    };
    if !ort_available() {
        return skip("ort_and_tract_agree_on_real_photos", "ORT_DYLIB_PATH is not set (./quickstart.sh sets it)");
    }
    let Some(shared) = shared_dir() else { return skip("ort_and_tract_agree_on_real_photos", "../shared/ is absent") };
    let dir = shared.join("data/traffic-lights/cinta/valid/images");
    let mut images: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    images.sort();
    let picked: Vec<String> = images.iter().step_by(25).take(8).map(|p| p.display().to_string()).collect();
    let mut args = vec!["detect", "--model", model.to_str().unwrap()];
    args.extend(picked.iter().map(String::as_str));
    assert_same(&detections(&args, "ort"), &detections(&args, "tract"));
}

#[test]
fn ort_and_tract_agree_on_a_sample_clip() {
    let Some(model) = shipped_model() else {
        return skip("ort_and_tract_agree_on_a_sample_clip", "models/safecross-tl.onnx is absent");
    };
    if !ort_available() {
        return skip("ort_and_tract_agree_on_a_sample_clip", "ORT_DYLIB_PATH is not set (./quickstart.sh sets it)");
    }
    let clip = repo_root().join("samples/us.mp4");
    if !clip.exists() {
        return skip("ort_and_tract_agree_on_a_sample_clip", "samples/us.mp4 is absent");
    }
    let args = ["run", clip.to_str().unwrap(), "--fast", "--audio", "none", "--model", model.to_str().unwrap()];
    let (a, b) = (detections(&args, "ort"), detections(&args, "tract"));
    // Compare the per-frame objects only (decision lines may follow later issues' fields).
    let frames = |v: Vec<Value>| v.into_iter().filter(|o| o.get("detections").is_some()).collect::<Vec<_>>();
    assert_same(&frames(a), &frames(b));
}

/// XNNPACK is an opt-in execution provider: with a library built without it (the PyPI
/// wheel), asking for it is a clear error, never a silent run on the CPU provider that
/// would mislead a benchmark. With a library that has it, the model runs.
#[test]
fn xnnpack_is_used_or_refused_clearly() {
    let Some(model) = shipped_model() else {
        return skip("xnnpack_is_used_or_refused_clearly", "models/safecross-tl.onnx is absent");
    };
    if !ort_available() {
        return skip("xnnpack_is_used_or_refused_clearly", "ORT_DYLIB_PATH is not set (./quickstart.sh sets it)");
    }
    let run = safecross(&["info", "--backend", "ort", "--ort-ep", "xnnpack", "--model", model.to_str().unwrap()]);
    if run.code == 0 {
        assert!(run.stdout.contains("classes"), "{}", run.stdout);
    } else {
        run.assert_clean_error("XNNPACK execution provider is not available");
    }
}

#[test]
fn version_says_which_engine_would_run() {
    let run = safecross(&["--version"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("tract (built in)") && run.stdout.contains("camera:"), "{}", run.stdout);
    let now = run.stdout.lines().find(|l| l.starts_with("backend now:")).unwrap_or_else(|| panic!("{}", run.stdout));
    if ort_available() {
        assert!(now.contains("ONNX Runtime from"), "{now}");
    }
    let without = safecross_with(&["--version"], &[("ORT_DYLIB_PATH", Some("/nonexistent/libonnxruntime.so"))]);
    let now = without.stdout.lines().find(|l| l.starts_with("backend now:")).unwrap_or_default().to_string();
    // Another library (the quick start's .venv, a system one) or tract, never the missing one.
    assert!(
        now.starts_with("backend now:") && !now.contains("/nonexistent"),
        "a missing ORT_DYLIB_PATH is claimed: {now}"
    );
}
