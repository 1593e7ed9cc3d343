//! End to end: a sample clip through decode, preprocess, infer, post-process and
//! decide, every frame, as fast as possible (`--fast`), reported as frames per second.
//! Frames are read ahead on their own thread, as `safecross run` reads them.
//! Uses ONNX Runtime when `ORT_DYLIB_PATH` is set, else tract; skips without the model
//! or the clip.

mod common;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use safecross::config::Config;
use safecross::frame::Frame;
use safecross::pipeline::Pipeline;
use safecross::source::prefetch::Prefetch;
use safecross::source::{self, FrameSource, SourceConfig, SourceSpec};

fn bench(c: &mut Criterion) {
    let Some(model) = common::shipped_model() else {
        eprintln!("SKIPPED pipeline: models/safecross-tl.onnx is absent");
        return;
    };
    let clip = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("samples/eu.mp4");
    if !clip.exists() {
        eprintln!("SKIPPED pipeline: samples/eu.mp4 is absent");
        return;
    }
    let mut config = Config::default();
    config.model.path = model;
    let mut pipeline = Pipeline::new(&config).expect("pipeline");
    let spec = SourceSpec::Path(clip);
    let open = || Prefetch::new(source::open(&spec, &SourceConfig::default()).expect("clip")).expect("reader");
    let mut src = open();
    let mut frame = Frame::default();
    let mut group = c.benchmark_group("pipeline");
    group.sample_size(20);
    group.throughput(Throughput::Elements(1));
    let name = format!("sample clip, {} (frames/s = elements/s)", pipeline.backend().name());
    group.bench_function(name, |b| {
        b.iter(|| {
            if !src.next_frame(&mut frame).expect("decode") {
                src = open();
                pipeline.reset();
                src.next_frame(&mut frame).expect("decode");
            }
            pipeline.process(&frame).expect("process").decision.state
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
