//! Preprocessing: letterboxes a [`Frame`] into the model's [`InputTensor`].
//!
//! The frame is scaled by one factor to keep its aspect ratio, centred, and the border
//! is filled with grey 114/255 (what ultralytics trains with, so users' own YOLO
//! exports see the same input they were trained on). Values are RGB in `[0, 1]`.
//!
//! Resizing dominates this stage: `image::imageops::resize` takes 11-15 ms from 720p,
//! more than the model. `resize.rs` is our own separable resizer: a bilinear convolution
//! whose support grows with the scale factor, so a lamp a few pixels wide is averaged,
//! not skipped. Its weights are computed when the frame size changes and kept, and it
//! writes the planar tensor directly, so a warm [`Preprocessor::run`] allocates nothing
//! (`tests/alloc.rs` holds it to that). `fast_image_resize`, which we used before,
//! rebuilds its weights on every call. The fastest kernel the CPU supports is picked once,
//! in [`Preprocessor::new`]; all of them give the same bits.
//!
//! Imports: `frame`, `tensor`, `geom`.

mod resize;

use crate::frame::Frame;
use crate::geom::Letterbox;
use crate::tensor::InputTensor;
use resize::{Kernel, PlanarTarget, Resizer};

/// Grey used for the letterbox border, as a fraction of full scale.
pub const PAD_VALUE: f32 = 114.0 / 255.0;

/// Why a frame could not be preprocessed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PreprocessError {
    /// The frame's buffer does not hold `width * height * 3` bytes.
    #[error("frame buffer has {actual} bytes, a {width}x{height} RGB frame needs {expected}")]
    BadFrame {
        /// Frame width.
        width: u32,
        /// Frame height.
        height: u32,
        /// Bytes needed.
        expected: usize,
        /// Bytes present.
        actual: usize,
    },
}

/// Which resize kernels to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Kernels {
    /// The fastest kernels this CPU supports (fixed point, vectorised, picked once).
    #[default]
    Best,
    /// The plain floating-point reference kernel (for tests and comparisons).
    Portable,
    /// The fixed-point plain loops as compiled for the baseline target, with no
    /// run-time feature pick: what an Arm board runs (there LLVM vectorises them for
    /// NEON), measurable on x86-64 as a stand-in (SSE2).
    Baseline,
    /// The fastest kernel without AVX2: on x86-64, the plain loops compiled with SSE4.1
    /// when the CPU has it (older x86 boards and VMs); elsewhere the same as `Baseline`.
    WithoutAvx2,
}

/// Letterboxes frames into one model input size, reusing its buffers.
pub struct Preprocessor {
    input_w: u32,
    input_h: u32,
    kernel: Kernel,
    resizer: Resizer,
    letterbox: Option<Letterbox>,
    to_unit: [f32; 256],
}

impl std::fmt::Debug for Preprocessor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Preprocessor")
            .field("input", &(self.input_w, self.input_h))
            .field("kernel", &self.kernel)
            .finish_non_exhaustive()
    }
}

impl Preprocessor {
    /// A preprocessor for a `input_w x input_h` model input.
    pub fn new(input_w: u32, input_h: u32, kernels: Kernels) -> Self {
        let kernel = match kernels {
            Kernels::Best => Kernel::best(),
            Kernels::Portable => Kernel::Portable,
            Kernels::Baseline => Kernel::Fixed,
            Kernels::WithoutAvx2 => Kernel::best_without_avx2(),
        };
        let mut to_unit = [0.0; 256];
        for (i, v) in to_unit.iter_mut().enumerate() {
            *v = i as f32 / 255.0;
        }
        Self { input_w, input_h, kernel, resizer: Resizer::new(), letterbox: None, to_unit }
    }

    /// A tensor of the right size for [`Preprocessor::run`].
    pub fn new_tensor(&self) -> InputTensor {
        InputTensor::new(self.input_w, self.input_h)
    }

    /// Letterboxes `frame` into `tensor` and returns the mapping between the two.
    ///
    /// Allocates only when the frame size changes (or `tensor` has the wrong size).
    ///
    /// # Errors
    /// [`PreprocessError`] when the frame buffer is inconsistent with its size.
    pub fn run(&mut self, frame: &Frame, tensor: &mut InputTensor) -> Result<Letterbox, PreprocessError> {
        let expected = frame.width as usize * frame.height as usize * 3;
        if frame.rgb.len() != expected || frame.width == 0 || frame.height == 0 {
            return Err(PreprocessError::BadFrame {
                width: frame.width,
                height: frame.height,
                expected,
                actual: frame.rgb.len(),
            });
        }
        if tensor.width != self.input_w
            || tensor.height != self.input_h
            || tensor.data.len() != 3 * self.input_w as usize * self.input_h as usize
        {
            *tensor = self.new_tensor();
            self.letterbox = None;
        }
        let lb = Letterbox::fit(frame.width, frame.height, self.input_w, self.input_h);
        let (sw, sh) = lb.scaled_size();
        if self.letterbox != Some(lb) {
            // The border only changes with the frame size; paint it once.
            tensor.data.fill(PAD_VALUE);
            self.letterbox = Some(lb);
        }
        let (src_w, src_h) = (frame.width as usize, frame.height as usize);
        let target = PlanarTarget {
            data: &mut tensor.data,
            width: self.input_w as usize,
            height: self.input_h as usize,
            x: lb.pad_x as usize,
            y: lb.pad_y as usize,
        };
        if (sw, sh) == (frame.width, frame.height) {
            self.copy(&frame.rgb, src_w, target);
        } else {
            self.resizer.prepare(src_w, src_h, sw as usize, sh as usize);
            self.resizer.run(self.kernel, &frame.rgb, target);
        }
        Ok(lb)
    }

    /// A frame that already has the scaled size: only conversion to planar floats.
    fn copy(&self, rgb: &[u8], src_w: usize, out: PlanarTarget<'_>) {
        let plane = out.width * out.height;
        let (r_plane, rest) = out.data.split_at_mut(plane);
        let (g_plane, b_plane) = rest.split_at_mut(plane);
        for (y, src_row) in rgb.chunks_exact(src_w * 3).enumerate() {
            let start = (out.y + y) * out.width + out.x;
            let end = start + src_w;
            let (r, g, b) = (&mut r_plane[start..end], &mut g_plane[start..end], &mut b_plane[start..end]);
            for (x, px) in src_row.chunks_exact(3).enumerate() {
                r[x] = self.to_unit[px[0] as usize];
                g[x] = self.to_unit[px[1] as usize];
                b[x] = self.to_unit[px[2] as usize];
            }
        }
    }

    /// The letterboxed image as RGB8 (border included), for drawing and debugging.
    pub fn tensor_to_rgb(tensor: &InputTensor) -> Vec<u8> {
        let plane = tensor.width as usize * tensor.height as usize;
        let mut rgb = Vec::with_capacity(plane * 3);
        for i in 0..plane {
            for c in 0..3 {
                rgb.push((tensor.data[c * plane + i] * 255.0).round().clamp(0.0, 255.0) as u8);
            }
        }
        rgb
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn frame_with(width: u32, height: u32, mut f: impl FnMut(u32, u32) -> [u8; 3]) -> Frame {
        let mut frame = Frame::new(width, height);
        for y in 0..height {
            for x in 0..width {
                let i = ((y * width + x) * 3) as usize;
                frame.rgb[i..i + 3].copy_from_slice(&f(x, y));
            }
        }
        frame
    }

    #[test]
    fn letterbox_pads_with_grey_and_keeps_colour() {
        let frame = frame_with(640, 360, |_, _| [255, 0, 0]);
        let mut pre = Preprocessor::new(320, 320, Kernels::Best);
        let mut t = pre.new_tensor();
        let lb = pre.run(&frame, &mut t).unwrap();
        assert_eq!((lb.pad_x, lb.pad_y), (0.0, 70.0));
        let plane = 320 * 320;
        // Border rows are grey, the picture is red.
        assert!((t.data[0] - PAD_VALUE).abs() < 1e-6);
        let centre = 160 * 320 + 160;
        assert!((t.data[centre] - 1.0).abs() < 1e-6);
        assert!(t.data[plane + centre].abs() < 1e-6);
        assert!(t.data[2 * plane + centre].abs() < 1e-6);
    }

    #[test]
    fn a_small_lamp_survives_downscaling() {
        // A 6-px green lamp in 1920x1080 becomes about 1 px at 320: it must stay visible.
        let frame = frame_with(1920, 1080, |x, y| {
            if (900..906).contains(&x) && (500..506).contains(&y) { [0, 255, 0] } else { [20, 20, 20] }
        });
        let mut pre = Preprocessor::new(320, 320, Kernels::Best);
        let mut t = pre.new_tensor();
        let lb = pre.run(&frame, &mut t).unwrap();
        let (cx, cy) = ((903.0 * lb.scale + lb.pad_x) as usize, (503.0 * lb.scale + lb.pad_y) as usize);
        let g = t.data[320 * 320 + cy * 320 + cx];
        assert!(g > 0.3, "lamp faded to {g}");
    }

    /// A street-like frame: gradient, noise, and some sharp edges.
    fn busy_frame(width: u32, height: u32, seed: u64) -> Frame {
        let mut state = seed | 1;
        frame_with(width, height, |x, y| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let base = (40 + y * 150 / height) as u8;
            let stripe = if (x / 7 + y / 11) % 5 == 0 { 90 } else { 0 };
            let n = (state & 31) as u8;
            [
                base.saturating_add(n).saturating_add(stripe),
                base.saturating_add(n / 2),
                base.wrapping_add(stripe / 2).wrapping_sub(n),
            ]
        })
    }

    fn max_diff(a: &InputTensor, b: &InputTensor) -> f32 {
        a.data.iter().zip(&b.data).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
    }

    #[test]
    fn a_one_pixel_dot_is_averaged_not_dropped() {
        // 1920 -> 416 is a 4.6x downscale: sampling would miss a 1-px dot most of the
        // time; a convolution spreads it over its neighbourhood instead.
        for kernels in [Kernels::Best, Kernels::Portable] {
            for (dx, dy) in [(0, 0), (1, 3), (2, 2), (3, 1)] {
                let (px, py) = (960 + dx, 540 + dy);
                let frame = frame_with(1920, 1080, |x, y| if (x, y) == (px, py) { [255, 255, 255] } else { [0, 0, 0] });
                let mut pre = Preprocessor::new(416, 416, kernels);
                let mut t = pre.new_tensor();
                let lb = pre.run(&frame, &mut t).unwrap();
                let (cx, cy) = ((px as f32 * lb.scale + lb.pad_x) as usize, (py as f32 * lb.scale + lb.pad_y) as usize);
                let mut brightest = 0.0f32;
                for y in cy - 2..=cy + 2 {
                    for x in cx - 2..=cx + 2 {
                        brightest = brightest.max(t.data[y * 416 + x]);
                    }
                }
                // A triangle 4.6 px wide each way gives it at most 1/4.6 per axis, so from
                // about 12 LSB when it sits on an output pixel's centre down to about 3
                // when it falls between four of them; zero would mean it was skipped.
                assert!(brightest >= 2.0 / 255.0, "{kernels:?}: dot at {px},{py} faded to {} LSB", brightest * 255.0);
                let total: f32 = t.data[..416 * 416].iter().filter(|&&v| v != PAD_VALUE).sum();
                assert!(
                    (total * 255.0 - 255.0 * lb.scale * lb.scale).abs() < 3.0,
                    "{kernels:?}: dot energy {}",
                    total * 255.0
                );
            }
        }
    }

    #[test]
    fn a_flat_colour_stays_exactly_flat() {
        for kernels in [Kernels::Best, Kernels::Portable] {
            for (w, h, size) in [(1920, 1080, 416), (1280, 720, 320), (97, 61, 416), (1, 1, 64), (3000, 7, 100)] {
                let colour = [7u8, 128, 254];
                let frame = frame_with(w, h, |_, _| colour);
                let mut pre = Preprocessor::new(size, size, kernels);
                let mut t = pre.new_tensor();
                let lb = pre.run(&frame, &mut t).unwrap();
                let (sw, sh) = lb.scaled_size();
                let plane = (size * size) as usize;
                for (c, &value) in colour.iter().enumerate() {
                    let want = f32::from(value) / 255.0;
                    for y in 0..sh {
                        for x in 0..sw {
                            let i = (y + lb.pad_y as u32) as usize * size as usize + (x + lb.pad_x as u32) as usize;
                            assert_eq!(
                                t.data[c * plane + i],
                                want,
                                "{kernels:?} {w}x{h}->{size} at {x},{y} channel {c}"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn letterbox_padding_stays_grey() {
        for kernels in [Kernels::Best, Kernels::Portable] {
            for (w, h) in [(1920, 1080), (1280, 720), (720, 1280), (33, 200)] {
                let frame = busy_frame(w, h, 7);
                let mut pre = Preprocessor::new(416, 416, kernels);
                let mut t = pre.new_tensor();
                // Twice: the second run must leave the border it painted the first time.
                pre.run(&frame, &mut t).unwrap();
                let lb = pre.run(&frame, &mut t).unwrap();
                let (sw, sh) = lb.scaled_size();
                let (px, py) = (lb.pad_x as usize, lb.pad_y as usize);
                let inside =
                    |x: usize, y: usize| (px..px + sw as usize).contains(&x) && (py..py + sh as usize).contains(&y);
                for (i, v) in t.data.iter().enumerate() {
                    let (x, y) = (i % 416, i / 416 % 416);
                    if !inside(x, y) {
                        assert_eq!(*v, PAD_VALUE, "{kernels:?} {w}x{h}: border at {x},{y}");
                    }
                }
            }
        }
    }

    #[test]
    fn same_size_frames_are_copied() {
        let frame = busy_frame(416, 234, 3);
        for kernels in [Kernels::Best, Kernels::Portable] {
            let mut pre = Preprocessor::new(416, 416, kernels);
            let mut t = pre.new_tensor();
            let lb = pre.run(&frame, &mut t).unwrap();
            assert_eq!((lb.scale, lb.pad_x, lb.pad_y), (1.0, 0.0, 91.0));
            let rgb = Preprocessor::tensor_to_rgb(&t);
            assert_eq!(&rgb[91 * 416 * 3..(91 + 234) * 416 * 3], &frame.rgb[..]);
        }
    }

    #[test]
    fn frame_size_changes_recompute_the_weights() {
        // One preprocessor fed alternating sizes must match fresh ones.
        let (big, small) = (busy_frame(1920, 1080, 1), busy_frame(1280, 720, 2));
        let mut pre = Preprocessor::new(416, 416, Kernels::Best);
        let mut t = pre.new_tensor();
        for frame in [&big, &small, &big, &small] {
            pre.run(frame, &mut t).unwrap();
            let mut fresh = Preprocessor::new(416, 416, Kernels::Best);
            let mut want = fresh.new_tensor();
            fresh.run(frame, &mut want).unwrap();
            assert_eq!(t, want);
        }
    }

    #[test]
    fn matches_fast_image_resize() {
        // Our filter is fast_image_resize's bilinear convolution; that crate rounds to
        // 8 bits between its passes and we do not, so they may differ by one step.
        use fast_image_resize as fir;
        for (w, h, size) in [(1920, 1080, 416), (1280, 720, 320), (640, 480, 416), (300, 200, 416)] {
            let frame = busy_frame(w, h, 11);
            let mut pre = Preprocessor::new(size, size, Kernels::Best);
            let mut t = pre.new_tensor();
            let lb = pre.run(&frame, &mut t).unwrap();
            let (sw, sh) = lb.scaled_size();
            let src = fir::images::ImageRef::new(w, h, &frame.rgb, fir::PixelType::U8x3).unwrap();
            let mut dst = fir::images::Image::new(sw, sh, fir::PixelType::U8x3);
            let options = fir::ResizeOptions::new().resize_alg(fir::ResizeAlg::Convolution(fir::FilterType::Bilinear));
            fir::Resizer::new().resize(&src, &mut dst, &options).unwrap();
            let ours = Preprocessor::tensor_to_rgb(&t);
            let (mut worst, mut total) = (0u8, 0u64);
            for (y, row) in dst.buffer().chunks_exact(sw as usize * 3).enumerate() {
                let at = ((y + lb.pad_y as usize) * size as usize + lb.pad_x as usize) * 3;
                for (a, b) in row.iter().zip(&ours[at..at + row.len()]) {
                    worst = worst.max(a.abs_diff(*b));
                    total += u64::from(a.abs_diff(*b));
                }
            }
            let mean = total as f64 / (sw * sh * 3) as f64;
            assert!(worst <= 1 && mean < 0.25, "{w}x{h}->{size}: worst {worst} LSB, mean {mean:.3} LSB");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn fast_matches_portable_within_one_lsb(w in 1u32..700, h in 1u32..500, size in 1u32..300, seed in any::<u64>()) {
            // Sizes cover downscales, upscales (size above w or h), 1-px-wide frames,
            // odd sizes and copies. Every fixed-point kernel this CPU has is checked.
            let mut state = seed | 1;
            let frame = frame_with(w, h, |_, _| {
                state ^= state << 13; state ^= state >> 7; state ^= state << 17;
                [(state & 0xff) as u8, (state >> 8 & 0xff) as u8, (state >> 16 & 0xff) as u8]
            });
            let mut slow = Preprocessor::new(size, size, Kernels::Portable);
            let mut want = slow.new_tensor();
            slow.run(&frame, &mut want).unwrap();
            let results = run_each_fixed_kernel(&frame, size);
            for (kernel, got) in &results {
                let worst = max_diff(got, &want);
                prop_assert!(worst <= 1.0 / 255.0 + 1e-6, "{:?}: max difference {} LSB", kernel, worst * 255.0);
            }
            prop_assert!(results.iter().all(|(_, got)| *got == results[0].1), "fixed-point kernels disagree");
        }
    }

    /// `Preprocessor::run` with each fixed-point kernel this CPU has.
    fn run_each_fixed_kernel(frame: &Frame, size: u32) -> Vec<(Kernel, InputTensor)> {
        Kernel::all_fixed()
            .into_iter()
            .map(|kernel| {
                let mut pre = Preprocessor::new(size, size, Kernels::Best);
                pre.kernel = kernel;
                let mut t = pre.new_tensor();
                pre.run(frame, &mut t).unwrap();
                (kernel, t)
            })
            .collect()
    }

    #[test]
    fn every_fixed_point_kernel_gives_the_same_bits() {
        // The plain loops, the same loops compiled for SSE4.1, and the AVX2 intrinsics
        // compute the same integers; sizes cover full and partial SIMD chunks and blocks,
        // odd and even tap counts, windows of 8, 16, 32 and 48 taps and wider.
        for (w, h, size) in [
            (1920, 1080, 416),
            (1280, 720, 320),
            (1283, 719, 417),
            (4000, 3000, 160),
            (8000, 900, 100),
            (37, 23, 416),
            (1, 1, 8),
        ] {
            let frame = busy_frame(w, h, u64::from(w * h));
            let results = run_each_fixed_kernel(&frame, size);
            let (first, want) = &results[0];
            for (kernel, got) in &results[1..] {
                assert!(
                    got == want,
                    "{w}x{h}->{size}: {kernel:?} differs from {first:?} by up to {} LSB",
                    max_diff(got, want) * 255.0
                );
            }
        }
    }
}
