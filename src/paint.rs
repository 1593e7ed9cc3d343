//! Pixel painting into packed RGB8 pictures: the one painter for `detect --draw`,
//! `run --save` and `eval`'s report pictures. Text uses a 3x5 pixel font: no font
//! files, no allocation. (`synth`'s canvas is a float renderer of scenes, not this.)
//! Imports: `frame`.

use crate::frame::Frame;

/// Paints into a `width x height` picture of packed RGB8 pixels; what falls outside the
/// picture is clipped.
#[derive(Debug)]
pub struct Painter<'a> {
    rgb: &'a mut [u8],
    width: i64,
    height: i64,
}

impl<'a> Painter<'a> {
    /// A painter over `rgb`, which holds `width * height` pixels (a shorter buffer
    /// clips to the rows it holds).
    pub fn new(rgb: &'a mut [u8], width: u32, height: u32) -> Self {
        let rows = (rgb.len() / (width.max(1) as usize * 3)) as i64;
        Self { rgb, width: i64::from(width), height: i64::from(height).min(rows) }
    }

    /// A painter over a frame's pixels.
    pub fn frame(frame: &'a mut Frame) -> Self {
        let (w, h) = (frame.width, frame.height);
        Self::new(&mut frame.rgb, w, h)
    }

    /// Width and height, px.
    pub fn size(&self) -> (i64, i64) {
        (self.width, self.height)
    }

    /// One pixel.
    pub fn put(&mut self, x: i64, y: i64, c: [u8; 3]) {
        if x >= 0 && y >= 0 && x < self.width && y < self.height {
            let i = (y * self.width + x) as usize * 3;
            self.rgb[i..i + 3].copy_from_slice(&c);
        }
    }

    /// A filled `w x h` rectangle with its top-left corner at `(x, y)`.
    pub fn fill(&mut self, x: i64, y: i64, w: i64, h: i64, c: [u8; 3]) {
        for yy in y.max(0)..(y + h).min(self.height) {
            for xx in x.max(0)..(x + w).min(self.width) {
                self.put(xx, yy, c);
            }
        }
    }

    /// `text` in the pixel font, each font pixel `scale` px, its top-left at `(x, y)`;
    /// each character advances `4 * scale` px ([`text_width`]).
    pub fn text(&mut self, x: i64, y: i64, text: &str, scale: i64, c: [u8; 3]) {
        for (i, ch) in text.chars().enumerate() {
            self.glyph(x + i as i64 * 4 * scale, y, ch, scale, c);
        }
    }

    fn glyph(&mut self, x: i64, y: i64, ch: char, scale: i64, c: [u8; 3]) {
        for (row, bits) in glyph(ch).iter().enumerate() {
            for col in 0..3 {
                if bits >> (2 - col) & 1 == 1 {
                    self.fill(x + col * scale, y + row as i64 * scale, scale, scale, c);
                }
            }
        }
    }
}

/// Width of `chars` characters of the pixel font at `scale`, px.
pub fn text_width(chars: usize, scale: i64) -> i64 {
    chars as i64 * 4 * scale
}

/// A 3x5 pixel font: five rows of three bits, top row first.
fn glyph(ch: char) -> [u8; 5] {
    match ch.to_ascii_lowercase() {
        'a' => [2, 5, 7, 5, 5],
        'b' => [6, 5, 6, 5, 6],
        'c' => [3, 4, 4, 4, 3],
        'd' => [6, 5, 5, 5, 6],
        'e' => [7, 4, 6, 4, 7],
        'f' => [7, 4, 6, 4, 4],
        'g' => [3, 4, 5, 5, 3],
        'h' => [5, 5, 7, 5, 5],
        'i' => [7, 2, 2, 2, 7],
        'j' => [1, 1, 1, 5, 2],
        'k' => [5, 5, 6, 5, 5],
        'l' => [4, 4, 4, 4, 7],
        'm' => [5, 7, 7, 5, 5],
        'n' => [6, 5, 5, 5, 5],
        'o' => [2, 5, 5, 5, 2],
        'p' => [6, 5, 6, 4, 4],
        'q' => [2, 5, 5, 6, 3],
        'r' => [6, 5, 6, 5, 5],
        's' => [3, 4, 2, 1, 6],
        't' => [7, 2, 2, 2, 2],
        'u' => [5, 5, 5, 5, 7],
        'v' => [5, 5, 5, 5, 2],
        'w' => [5, 5, 7, 7, 5],
        'x' => [5, 5, 2, 5, 5],
        'y' => [5, 5, 2, 2, 2],
        'z' => [7, 1, 2, 4, 7],
        '0' => [7, 5, 5, 5, 7],
        '1' => [2, 6, 2, 2, 7],
        '2' => [6, 1, 2, 4, 7],
        '3' => [6, 1, 2, 1, 6],
        '4' => [5, 5, 7, 1, 1],
        '5' => [7, 4, 6, 1, 6],
        '6' => [3, 4, 7, 5, 7],
        '7' => [7, 1, 2, 2, 2],
        '8' => [7, 5, 7, 5, 7],
        '9' => [7, 5, 7, 1, 6],
        '.' => [0, 0, 0, 0, 2],
        '_' => [0, 0, 0, 0, 7],
        '-' => [0, 0, 7, 0, 0],
        ':' => [0, 2, 0, 2, 0],
        _ => [0, 0, 0, 0, 0],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn painting_clips_at_the_edges_and_text_sets_the_font_pixels() {
        let mut rgb = vec![0u8; 10 * 6 * 3];
        let mut p = Painter::new(&mut rgb, 10, 6);
        p.fill(-2, -2, 4, 4, [9, 9, 9]);
        p.put(10, 0, [1, 1, 1]);
        p.text(4, 0, "1", 1, [255, 0, 0]);
        let px = |x: usize, y: usize| [rgb[(y * 10 + x) * 3], rgb[(y * 10 + x) * 3 + 1], rgb[(y * 10 + x) * 3 + 2]];
        assert_eq!(px(0, 0), [9, 9, 9]);
        assert_eq!(px(1, 1), [9, 9, 9]);
        assert_eq!(px(2, 2), [0, 0, 0]);
        // '1' is [2, 6, 2, 2, 7]: the middle column of the top row, all of the bottom row.
        assert_eq!((px(4, 0), px(5, 0), px(6, 0)), ([0, 0, 0], [255, 0, 0], [0, 0, 0]));
        assert_eq!((px(4, 4), px(5, 4), px(6, 4)), ([255, 0, 0], [255, 0, 0], [255, 0, 0]));
        assert_eq!(text_width(3, 2), 24);
    }
}
