//! Output decoding + NMS with 0, 10 and 1,000 candidate boxes above the threshold, on a
//! YOLOv8-layout tensor the size of the shipped model's (416 px, 3,549 anchors).

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use safecross::decode::{ClassMap, DecodeConfig, Decoder, OutputLayout};
use safecross::geom::Letterbox;
use std::collections::BTreeMap;
use std::hint::black_box;

const CLASSES: usize = 6;
const ANCHORS: usize = 52 * 52 + 26 * 26 + 13 * 13;

/// An output tensor with `hits` anchors scoring above the threshold, spread over the image.
fn output_with(hits: usize) -> Vec<f32> {
    let mut t = vec![0.0f32; (4 + CLASSES) * ANCHORS];
    for a in 0..ANCHORS {
        t[4 * ANCHORS + a] = 0.01;
    }
    let step = (ANCHORS / hits.max(1)).max(1);
    for (k, a) in (0..ANCHORS).step_by(step).take(hits).enumerate() {
        let (x, y) = ((k * 37 % 400) as f32 + 8.0, (k * 53 % 400) as f32 + 8.0);
        for (row, v) in [x, y, 12.0, 30.0].into_iter().enumerate() {
            t[row * ANCHORS + a] = v;
        }
        t[(4 + k % CLASSES) * ANCHORS + a] = 0.3 + (k % 7) as f32 * 0.1;
    }
    t
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("postprocess");
    let names: Vec<String> = safecross::signal::SHIPPED_CLASSES.iter().map(|s| s.to_string()).collect();
    let layout = OutputLayout::YoloV8 { classes: CLASSES, anchors: ANCHORS };
    let lb = Letterbox::fit(1920, 1080, 416, 416);
    for hits in [0usize, 10, 1000] {
        let output = output_with(hits);
        let mut decoder = Decoder::new(layout, ClassMap::new(names.clone(), &BTreeMap::new()), DecodeConfig::default())
            .expect("decoder");
        let mut out = Vec::new();
        group.bench_function(BenchmarkId::new("decode+nms", hits), |b| {
            b.iter(|| {
                black_box(decoder.decode(black_box(&output), &lb, &mut out)).ok();
                black_box(out.len())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
