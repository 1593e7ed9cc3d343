//! Whether a frame can show the street at all: a covered lens or a black scene shows no
//! signal, whatever the model says of it, so such a frame is no evidence.

use crate::frame::Frame;

/// The dark-scene check: a frame whose mean brightness (0-255) is below `dark_mean_luma`
/// is dark.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DarkCheck {
    /// The brightness below which a frame is dark (the config's `dark_mean_luma`).
    pub dark_mean_luma: f32,
}

impl DarkCheck {
    /// The frame's mean brightness, and whether that makes it dark.
    pub fn check(&self, frame: &Frame) -> (f32, bool) {
        let luma = mean_luma(frame);
        (luma, luma < self.dark_mean_luma)
    }
}

/// Mean brightness 0-255 (R + 2G + B over 4) on every 8th pixel of every 8th row: a
/// black frame tells itself from a grey one on far fewer pixels than a frame has.
fn mean_luma(frame: &Frame) -> f32 {
    let (w, h) = (frame.width as usize, frame.height as usize);
    let (mut sum, mut n) = (0u64, 0u64);
    for y in (0..h).step_by(8) {
        let row = &frame.rgb[y * w * 3..(y + 1) * w * 3];
        for px in row.chunks_exact(3).step_by(8) {
            sum += u64::from(px[0]) + 2 * u64::from(px[1]) + u64::from(px[2]);
            n += 4;
        }
    }
    if n == 0 { 0.0 } else { sum as f32 / n as f32 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_luma_tells_black_from_grey() {
        let mut f = Frame::new(64, 48);
        assert_eq!(mean_luma(&f), 0.0);
        let check = DarkCheck { dark_mean_luma: 12.0 };
        assert_eq!(check.check(&f), (0.0, true));
        f.rgb.fill(100);
        assert!((mean_luma(&f) - 100.0).abs() < 1e-3);
        assert!(!check.check(&f).1);
    }
}
