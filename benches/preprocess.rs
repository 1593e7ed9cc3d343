//! Frame -> model input: our letterbox (SIMD resize picked at run time, planar f32 with
//! a lookup table) against the straightforward `image::imageops::resize` path, from
//! 720p and 1080p to 320 and 416.

mod common;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use safecross::geom::Letterbox;
use safecross::preprocess::{Kernels, Preprocessor};
use std::hint::black_box;

/// What most code does: resize with `image`, then normalise pixel by pixel.
fn naive(frame: &safecross::frame::Frame, size: u32, out: &mut Vec<f32>) {
    let img = image::RgbImage::from_raw(frame.width, frame.height, frame.rgb.clone()).expect("frame size");
    let lb = Letterbox::fit(frame.width, frame.height, size, size);
    let (sw, sh) = lb.scaled_size();
    let small = image::imageops::resize(&img, sw, sh, image::imageops::FilterType::Triangle);
    out.clear();
    out.resize(3 * (size * size) as usize, 114.0 / 255.0);
    let plane = (size * size) as usize;
    for (x, y, p) in small.enumerate_pixels() {
        let i = (y + lb.pad_y as u32) as usize * size as usize + (x + lb.pad_x as u32) as usize;
        for c in 0..3 {
            out[c * plane + i] = f32::from(p[c]) / 255.0;
        }
    }
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("preprocess");
    for (w, h) in [(1280u32, 720u32), (1920, 1080)] {
        let frame = common::street_frame(w, h);
        for size in [320u32, 416] {
            let id = format!("{w}x{h}->{size}");
            let mut pre = Preprocessor::new(size, size, Kernels::Best);
            let mut tensor = pre.new_tensor();
            group.bench_function(BenchmarkId::new("safecross", &id), |b| {
                b.iter(|| black_box(pre.run(black_box(&frame), &mut tensor).expect("preprocess")))
            });
            let mut portable = Preprocessor::new(size, size, Kernels::Portable);
            group.bench_function(BenchmarkId::new("safecross-portable", &id), |b| {
                b.iter(|| black_box(portable.run(black_box(&frame), &mut tensor).expect("preprocess")))
            });
            let mut out = Vec::new();
            group.bench_function(BenchmarkId::new("image-imageops", &id), |b| b.iter(|| naive(black_box(&frame), size, &mut out)));
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
