//! Frame -> model input: our letterbox (own separable resizer with cached weights,
//! vectorised kernel picked at run time, written straight into the planar f32 tensor)
//! against the straightforward `image::imageops::resize` path and against the
//! `fast_image_resize` path we used before, from 720p and 1080p to 320 and 416.

mod common;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
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

/// The previous path: `fast_image_resize` (which rebuilds its weights on every call) to
/// a scaled RGB8 image, then a lookup table into the planes.
struct FirPath {
    resizer: fast_image_resize::Resizer,
    scaled: Vec<u8>,
    to_unit: [f32; 256],
}

impl FirPath {
    fn new() -> Self {
        let mut to_unit = [0.0; 256];
        for (i, v) in to_unit.iter_mut().enumerate() {
            *v = i as f32 / 255.0;
        }
        Self { resizer: fast_image_resize::Resizer::new(), scaled: Vec::new(), to_unit }
    }

    fn run(&mut self, frame: &safecross::frame::Frame, size: u32, out: &mut [f32]) {
        use fast_image_resize as fir;
        let lb = Letterbox::fit(frame.width, frame.height, size, size);
        let (sw, sh) = lb.scaled_size();
        self.scaled.resize(sw as usize * sh as usize * 3, 0);
        let src = fir::images::ImageRef::new(frame.width, frame.height, &frame.rgb, fir::PixelType::U8x3)
            .expect("frame size");
        let mut dst =
            fir::images::Image::from_slice_u8(sw, sh, &mut self.scaled, fir::PixelType::U8x3).expect("scaled size");
        let options = fir::ResizeOptions::new().resize_alg(fir::ResizeAlg::Convolution(fir::FilterType::Bilinear));
        self.resizer.resize(&src, &mut dst, &options).expect("resize");
        let plane = (size * size) as usize;
        let (r_plane, rest) = out.split_at_mut(plane);
        let (g_plane, b_plane) = rest.split_at_mut(plane);
        for (y, row) in self.scaled.chunks_exact(sw as usize * 3).enumerate() {
            let start = (lb.pad_y as usize + y) * size as usize + lb.pad_x as usize;
            let end = start + sw as usize;
            let (r, g, b) = (&mut r_plane[start..end], &mut g_plane[start..end], &mut b_plane[start..end]);
            for (x, px) in row.chunks_exact(3).enumerate() {
                r[x] = self.to_unit[px[0] as usize];
                g[x] = self.to_unit[px[1] as usize];
                b[x] = self.to_unit[px[2] as usize];
            }
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
            for (name, kernels) in
                [("safecross-no-avx2", Kernels::WithoutAvx2), ("safecross-baseline", Kernels::Baseline)]
            {
                let mut pre = Preprocessor::new(size, size, kernels);
                group.bench_function(BenchmarkId::new(name, &id), |b| {
                    b.iter(|| black_box(pre.run(black_box(&frame), &mut tensor).expect("preprocess")))
                });
            }
            let mut portable = Preprocessor::new(size, size, Kernels::Portable);
            group.bench_function(BenchmarkId::new("safecross-portable", &id), |b| {
                b.iter(|| black_box(portable.run(black_box(&frame), &mut tensor).expect("preprocess")))
            });
            let mut fir_path = FirPath::new();
            let mut planes = vec![114.0 / 255.0; 3 * (size * size) as usize];
            group.bench_function(BenchmarkId::new("fast-image-resize", &id), |b| {
                b.iter(|| fir_path.run(black_box(&frame), size, &mut planes))
            });
            let mut out = Vec::new();
            group.bench_function(BenchmarkId::new("image-imageops", &id), |b| {
                b.iter(|| naive(black_box(&frame), size, &mut out))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
