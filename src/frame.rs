//! Frame vocabulary: one decoded picture in packed RGB8 with its presentation time.
//!
//! Sources fill a caller-owned [`Frame`], so its buffer is reused from frame to frame
//! and the hot path does not allocate once the first frame has set the size.
//! Imports: std only.

use std::time::Duration;

/// One decoded picture, packed RGB8, rows top to bottom, no padding between rows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Frame {
    /// Width in px.
    pub width: u32,
    /// Height in px.
    pub height: u32,
    /// Presentation time from the start of the source.
    pub pts: Duration,
    /// Index of the frame in its source, counting frames that were dropped.
    pub seq: u64,
    /// `width * height * 3` bytes.
    pub rgb: Vec<u8>,
}

impl Frame {
    /// A black frame of the given size.
    pub fn new(width: u32, height: u32) -> Self {
        Self { width, height, pts: Duration::ZERO, seq: 0, rgb: vec![0; width as usize * height as usize * 3] }
    }

    /// Resizes the buffer for a new picture size, keeping its capacity.
    pub fn reshape(&mut self, width: u32, height: u32) {
        self.width = width;
        self.height = height;
        self.rgb.resize(width as usize * height as usize * 3, 0);
    }

    /// The RGB value at `(x, y)`; callers keep the point inside the frame.
    pub fn pixel(&self, x: u32, y: u32) -> [u8; 3] {
        let i = (y as usize * self.width as usize + x as usize) * 3;
        [self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]]
    }

    /// Copies the `width x height` window whose top-left corner is `(x, y)` into `out`
    /// (same time and index), reusing `out`'s buffer. Callers keep the window inside
    /// the frame.
    pub fn copy_region(&self, x: u32, y: u32, width: u32, height: u32, out: &mut Frame) {
        debug_assert!(x + width <= self.width && y + height <= self.height);
        out.reshape(width, height);
        out.pts = self.pts;
        out.seq = self.seq;
        let (row_len, stride) = (width as usize * 3, self.width as usize * 3);
        for (row, dst) in out.rgb.chunks_exact_mut(row_len).enumerate() {
            let start = (y as usize + row) * stride + x as usize * 3;
            dst.copy_from_slice(&self.rgb[start..start + row_len]);
        }
    }

    /// Presentation time in seconds.
    pub fn t_s(&self) -> f64 {
        self.pts.as_secs_f64()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_region_takes_the_window_pixels() {
        let mut frame = Frame::new(5, 4);
        for (i, v) in frame.rgb.iter_mut().enumerate() {
            *v = i as u8;
        }
        let mut out = Frame::default();
        frame.copy_region(1, 2, 3, 2, &mut out);
        assert_eq!((out.width, out.height), (3, 2));
        for y in 0..2 {
            for x in 0..3 {
                assert_eq!(out.pixel(x, y), frame.pixel(x + 1, y + 2));
            }
        }
    }
}
