//! Preprocessing: letterboxes a [`Frame`] into the model's [`InputTensor`].
//!
//! The frame is scaled by one factor to keep its aspect ratio, centred, and the border
//! is filled with grey 114/255 (what ultralytics trains with, so users' own YOLO
//! exports see the same input they were trained on). Values are RGB in `[0, 1]`.
//!
//! Resizing dominates this stage: `image::imageops::resize` takes 11-15 ms from 720p,
//! more than the model. We use `fast_image_resize`, whose SIMD kernels (AVX2, SSE4.1,
//! NEON) are picked once at run time; its portable kernel is the reference the SIMD
//! path is tested against. The filter is a bilinear convolution whose support grows
//! with the scale factor, so a lamp a few pixels wide is averaged, not skipped.
//!
//! Imports: `frame`, `tensor`, `geom`.

use crate::frame::Frame;
use crate::geom::Letterbox;
use crate::tensor::InputTensor;
use fast_image_resize as fir;

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
    /// The resizer failed.
    #[error("resize failed: {0}")]
    Resize(String),
}

/// Which resize kernels to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Kernels {
    /// The fastest SIMD kernels this CPU supports.
    #[default]
    Best,
    /// The portable reference kernels (for tests and comparisons).
    Portable,
}

/// Letterboxes frames into one model input size, reusing its buffers.
pub struct Preprocessor {
    input_w: u32,
    input_h: u32,
    resizer: fir::Resizer,
    options: fir::ResizeOptions,
    scaled: Vec<u8>,
    letterbox: Option<Letterbox>,
    to_unit: [f32; 256],
}

impl std::fmt::Debug for Preprocessor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Preprocessor").field("input", &(self.input_w, self.input_h)).finish_non_exhaustive()
    }
}

impl Preprocessor {
    /// A preprocessor for a `input_w x input_h` model input.
    pub fn new(input_w: u32, input_h: u32, kernels: Kernels) -> Self {
        let mut resizer = fir::Resizer::new();
        if kernels == Kernels::Portable {
            // SAFETY: `None` selects the portable kernels, which every CPU supports.
            unsafe { resizer.set_cpu_extensions(fir::CpuExtensions::None) };
        }
        let mut to_unit = [0.0; 256];
        for (i, v) in to_unit.iter_mut().enumerate() {
            *v = i as f32 / 255.0;
        }
        Self {
            input_w,
            input_h,
            resizer,
            options: fir::ResizeOptions::new().resize_alg(fir::ResizeAlg::Convolution(fir::FilterType::Bilinear)),
            scaled: Vec::new(),
            letterbox: None,
            to_unit,
        }
    }

    /// A tensor of the right size for [`Preprocessor::run`].
    pub fn new_tensor(&self) -> InputTensor {
        InputTensor::new(self.input_w, self.input_h)
    }

    /// Letterboxes `frame` into `tensor` and returns the mapping between the two.
    ///
    /// # Errors
    /// [`PreprocessError`] when the frame buffer is inconsistent with its size.
    pub fn run(&mut self, frame: &Frame, tensor: &mut InputTensor) -> Result<Letterbox, PreprocessError> {
        let expected = frame.width as usize * frame.height as usize * 3;
        if frame.rgb.len() != expected || frame.width == 0 || frame.height == 0 {
            return Err(PreprocessError::BadFrame { width: frame.width, height: frame.height, expected, actual: frame.rgb.len() });
        }
        if tensor.width != self.input_w || tensor.height != self.input_h {
            *tensor = self.new_tensor();
            self.letterbox = None;
        }
        let lb = Letterbox::fit(frame.width, frame.height, self.input_w, self.input_h);
        let (sw, sh) = lb.scaled_size();
        if self.letterbox != Some(lb) {
            // The border only changes with the frame size; paint it once.
            tensor.data.fill(PAD_VALUE);
            self.scaled.resize(sw as usize * sh as usize * 3, 0);
            self.letterbox = Some(lb);
        }
        if (sw, sh) == (frame.width, frame.height) {
            self.scaled.copy_from_slice(&frame.rgb);
        } else {
            let src = fir::images::ImageRef::new(frame.width, frame.height, &frame.rgb, fir::PixelType::U8x3)
                .map_err(|e| PreprocessError::Resize(e.to_string()))?;
            let mut dst = fir::images::Image::from_slice_u8(sw, sh, &mut self.scaled, fir::PixelType::U8x3)
                .map_err(|e| PreprocessError::Resize(e.to_string()))?;
            self.resizer.resize(&src, &mut dst, &self.options).map_err(|e| PreprocessError::Resize(e.to_string()))?;
        }
        self.write_planes(&lb, tensor);
        Ok(lb)
    }

    /// Copies the scaled RGB image into the tensor's three planes at the padding offset.
    fn write_planes(&self, lb: &Letterbox, tensor: &mut InputTensor) {
        let (sw, sh) = lb.scaled_size();
        let (w, h) = (self.input_w as usize, self.input_h as usize);
        let plane = w * h;
        let (px, py) = (lb.pad_x as usize, lb.pad_y as usize);
        let (r_plane, rest) = tensor.data.split_at_mut(plane);
        let (g_plane, b_plane) = rest.split_at_mut(plane);
        for (y, src_row) in self.scaled.chunks_exact(sw as usize * 3).take(sh as usize).enumerate() {
            let start = (py + y) * w + px;
            let end = start + sw as usize;
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
        let frame = frame_with(1920, 1080, |x, y| if (900..906).contains(&x) && (500..506).contains(&y) { [0, 255, 0] } else { [20, 20, 20] });
        let mut pre = Preprocessor::new(320, 320, Kernels::Best);
        let mut t = pre.new_tensor();
        let lb = pre.run(&frame, &mut t).unwrap();
        let (cx, cy) = ((903.0 * lb.scale + lb.pad_x) as usize, (503.0 * lb.scale + lb.pad_y) as usize);
        let g = t.data[320 * 320 + cy * 320 + cx];
        assert!(g > 0.3, "lamp faded to {g}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        #[test]
        fn simd_matches_portable_within_one_lsb(w in 40u32..700, h in 40u32..500, seed in any::<u64>()) {
            let mut state = seed | 1;
            let frame = frame_with(w, h, |_, _| {
                state ^= state << 13; state ^= state >> 7; state ^= state << 17;
                [(state & 0xff) as u8, (state >> 8 & 0xff) as u8, (state >> 16 & 0xff) as u8]
            });
            let mut fast = Preprocessor::new(160, 160, Kernels::Best);
            let mut slow = Preprocessor::new(160, 160, Kernels::Portable);
            let (mut a, mut b) = (fast.new_tensor(), slow.new_tensor());
            fast.run(&frame, &mut a).unwrap();
            slow.run(&frame, &mut b).unwrap();
            let worst = a.data.iter().zip(&b.data).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
            prop_assert!(worst <= 1.0 / 255.0 + 1e-6, "max difference {} LSB", worst * 255.0);
        }
    }
}
