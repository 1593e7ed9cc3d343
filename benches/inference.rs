//! Model-only inference: the shipped model with ONNX Runtime at 1 and 2 threads and
//! with tract, and, where `../shared/peers/` is present, YOLOX-Nano and FastestDet in
//! the same group, so the ratios are in one report.
//!
//! ONNX Runtime runs through safecross's own engine (needs `ORT_DYLIB_PATH`, which
//! `./quickstart.sh` sets); tract is called directly, because `ort` picks one backend
//! per process. Skips, saying so, whatever is missing.
//!
//! Every model gets a 1280x720 street-like frame letterboxed into its input, as in the
//! pipeline, rather than a constant input whose flat activations can run into slow
//! subnormal arithmetic.

mod common;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use safecross::infer::{BackendChoice, Engine, InferConfig};
use safecross::preprocess::{Kernels, Preprocessor};
use safecross::tensor::InputTensor;
use std::path::PathBuf;
use tract_onnx::prelude::*;

fn models() -> Vec<(String, PathBuf)> {
    let mut list = Vec::new();
    match common::shipped_model() {
        Some(m) => list.push(("safecross-tl".to_string(), m)),
        None => eprintln!("SKIPPED shipped model: models/safecross-tl.onnx is absent"),
    }
    match common::peers_dir() {
        Some(p) => {
            list.push(("yolox-nano".to_string(), p.join("yolox_nano.onnx")));
            list.push(("fastestdet".to_string(), p.join("fastestdet.onnx")));
        }
        None => eprintln!("SKIPPED peers: ../shared/peers/ is absent"),
    }
    list
}

/// A 1280x720 street-like frame letterboxed into a `w` x `h` input.
fn street_input(w: u32, h: u32) -> InputTensor {
    let mut pre = Preprocessor::new(w, h, Kernels::Best);
    let mut input = pre.new_tensor();
    pre.run(&common::street_frame(1280, 720), &mut input).expect("preprocess");
    input
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("inference");
    group.sample_size(30);
    let ort_found = std::env::var("ORT_DYLIB_PATH").is_ok_and(|p| std::path::Path::new(&p).exists());
    if !ort_found {
        eprintln!("SKIPPED ONNX Runtime: ORT_DYLIB_PATH is not set (./quickstart.sh env prints it)");
    }
    for (name, path) in models() {
        if ort_found {
            // Spinning workers (ONNX Runtime's own default) win for the model alone and
            // lose in the pipeline, where they take the reader thread's core.
            for (threads, spin) in [(1usize, false), (2, false), (2, true)] {
                let config =
                    InferConfig { backend: BackendChoice::Ort, intra_threads: threads, spin, ..InferConfig::default() };
                let mut engine = match Engine::load(&path, &config) {
                    Ok(e) => e,
                    Err(e) => {
                        eprintln!("SKIPPED {name} on ort: {e}");
                        continue;
                    }
                };
                let io = engine.io().clone();
                let input = street_input(io.input_width, io.input_height);
                let id = format!("ort-{threads}t{}", if spin { "-spin" } else { "" });
                group.bench_function(BenchmarkId::new(id, &name), |b| {
                    b.iter(|| engine.run(&input).map(|o| o.len()).expect("run"))
                });
            }
        }
        let plan =
            tract_onnx::onnx().model_for_path(&path).and_then(|m| m.into_optimized()).and_then(|m| m.into_runnable());
        let plan = match plan {
            Ok(p) => p,
            Err(e) => {
                eprintln!("SKIPPED {name} on tract: {e}");
                continue;
            }
        };
        let shape: Vec<usize> = plan
            .model()
            .input_fact(0)
            .map(|f| f.shape.as_concrete().map(|s| s.to_vec()))
            .ok()
            .flatten()
            .unwrap_or(vec![1, 3, 416, 416]);
        let input: Tensor = match shape[..] {
            [1, 3, h, w] => {
                let t = street_input(w as u32, h as u32);
                tract_ndarray::ArrayD::from_shape_vec(shape.clone(), t.data).expect("input shape").into()
            }
            _ => tract_ndarray::ArrayD::<f32>::zeros(shape).into(),
        };
        group.bench_function(BenchmarkId::new("tract", &name), |b| {
            b.iter(|| plan.run(tvec!(input.clone().into())).map(|o| o.len()).expect("run"))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
