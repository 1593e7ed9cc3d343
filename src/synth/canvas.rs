//! A floating-point RGB picture that the generator paints on, and the camera effects
//! applied to it (blur, motion blur, noise, glare, rain, exposure).
//!
//! Values are display-referred RGB in `[0, 1]`; lit lamps may go above 1 until
//! [`Canvas::to_rgb8`] clips them, which is how over-exposed lamps turn whitish.

use super::rng::Rng;

/// RGB triple.
pub type Rgb = [f32; 3];

/// An RGB f32 picture, rows top to bottom.
#[derive(Debug, Clone)]
pub struct Canvas {
    /// Width, px.
    pub width: usize,
    /// Height, px.
    pub height: usize,
    /// `width * height` pixels.
    pub px: Vec<Rgb>,
    scratch: Vec<Rgb>,
}

fn lerp3(a: Rgb, b: Rgb, t: f32) -> Rgb {
    [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t]
}

impl Canvas {
    /// A black canvas.
    pub fn new(width: usize, height: usize) -> Self {
        Self { width, height, px: vec![[0.0; 3]; width * height], scratch: Vec::new() }
    }

    /// A canvas holding an 8-bit RGB picture of the same size.
    pub fn from_rgb8(width: usize, height: usize, rgb: &[u8]) -> Self {
        let px = rgb.chunks_exact(3).map(|c| [c[0] as f32 / 255.0, c[1] as f32 / 255.0, c[2] as f32 / 255.0]).collect();
        Self { width, height, px, scratch: Vec::new() }
    }

    /// Writes the picture as packed RGB8 into `out` (resized to fit), clipping at 0 and 1.
    /// Channels above 1 bleed into the others so an over-exposed lamp whitens as on a sensor.
    pub fn to_rgb8(&self, out: &mut Vec<u8>) {
        out.clear();
        out.reserve(self.px.len() * 3);
        for p in &self.px {
            let over = (p[0].max(p[1]).max(p[2]) - 1.0).max(0.0) * 0.35;
            for c in p {
                out.push(((c + over).clamp(0.0, 1.0) * 255.0 + 0.5) as u8);
            }
        }
    }

    /// Pixel at `(x, y)`, black outside.
    pub fn get(&self, x: i32, y: i32) -> Rgb {
        if x < 0 || y < 0 || x as usize >= self.width || y as usize >= self.height {
            return [0.0; 3];
        }
        self.px[y as usize * self.width + x as usize]
    }

    /// Blends `color` over the pixel with opacity `alpha` (ignored outside the canvas).
    pub fn blend(&mut self, x: i32, y: i32, color: Rgb, alpha: f32) {
        if x < 0 || y < 0 || x as usize >= self.width || y as usize >= self.height || alpha <= 0.0 {
            return;
        }
        let i = y as usize * self.width + x as usize;
        self.px[i] = lerp3(self.px[i], color, alpha.min(1.0));
    }

    /// Adds light (`color * amount`) to the pixel.
    pub fn add(&mut self, x: i32, y: i32, color: Rgb, amount: f32) {
        if x < 0 || y < 0 || x as usize >= self.width || y as usize >= self.height {
            return;
        }
        let p = &mut self.px[y as usize * self.width + x as usize];
        for c in 0..3 {
            p[c] += color[c] * amount;
        }
    }

    /// Fills the region where the signed distance `sdf(x, y)` (px, negative inside) is
    /// below zero with `color`, anti-aliased over one pixel. `bounds` is `[x1, y1, x2, y2]`.
    pub fn fill_sdf(&mut self, bounds: [f32; 4], color: Rgb, alpha: f32, sdf: impl Fn(f32, f32) -> f32) {
        let x1 = bounds[0].floor().max(0.0) as i32;
        let y1 = bounds[1].floor().max(0.0) as i32;
        let x2 = (bounds[2].ceil() as i32).min(self.width as i32);
        let y2 = (bounds[3].ceil() as i32).min(self.height as i32);
        for y in y1..y2 {
            for x in x1..x2 {
                let d = sdf(x as f32 + 0.5, y as f32 + 0.5);
                let cov = (0.5 - d).clamp(0.0, 1.0);
                if cov > 0.0 {
                    self.blend(x, y, color, cov * alpha);
                }
            }
        }
    }

    /// An axis-aligned rectangle, anti-aliased at fractional edges.
    pub fn fill_rect(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, color: Rgb, alpha: f32) {
        let (cx, cy, hx, hy) = ((x1 + x2) / 2.0, (y1 + y2) / 2.0, (x2 - x1).abs() / 2.0, (y2 - y1).abs() / 2.0);
        self.fill_sdf([x1 - 1.0, y1 - 1.0, x2 + 1.0, y2 + 1.0], color, alpha, |x, y| {
            ((x - cx).abs() - hx).max((y - cy).abs() - hy)
        });
    }

    /// Adds a Gaussian halo of light centred at `(cx, cy)` with spread `sigma` px.
    pub fn add_glow(&mut self, cx: f32, cy: f32, sigma: f32, color: Rgb, amount: f32) {
        if amount <= 0.0 || sigma <= 0.0 {
            return;
        }
        let r = (sigma * 3.0).ceil();
        let inv = 1.0 / (2.0 * sigma * sigma);
        for y in (cy - r) as i32..=(cy + r) as i32 {
            for x in (cx - r) as i32..=(cx + r) as i32 {
                let dx = x as f32 + 0.5 - cx;
                let dy = y as f32 + 0.5 - cy;
                let g = (-(dx * dx + dy * dy) * inv).exp();
                self.add(x, y, color, amount * g);
            }
        }
    }

    /// Separable Gaussian blur with spread `sigma` px (no-op below 0.3).
    pub fn gaussian_blur(&mut self, sigma: f32) {
        if sigma < 0.3 {
            return;
        }
        let r = (sigma * 2.5).ceil() as i32;
        let kernel: Vec<f32> = (-r..=r).map(|i| (-(i * i) as f32 / (2.0 * sigma * sigma)).exp()).collect();
        let sum: f32 = kernel.iter().sum();
        let kernel: Vec<f32> = kernel.iter().map(|k| k / sum).collect();
        self.convolve_1d(&kernel, true);
        self.convolve_1d(&kernel, false);
    }

    fn convolve_1d(&mut self, kernel: &[f32], horizontal: bool) {
        let (w, h) = (self.width as i32, self.height as i32);
        let r = (kernel.len() / 2) as i32;
        self.scratch.clear();
        self.scratch.resize(self.px.len(), [0.0; 3]);
        for y in 0..h {
            for x in 0..w {
                let mut acc = [0.0f32; 3];
                for (k, kv) in kernel.iter().enumerate() {
                    let o = k as i32 - r;
                    let (sx, sy) = if horizontal { ((x + o).clamp(0, w - 1), y) } else { (x, (y + o).clamp(0, h - 1)) };
                    let p = self.px[(sy * w + sx) as usize];
                    acc[0] += p[0] * kv;
                    acc[1] += p[1] * kv;
                    acc[2] += p[2] * kv;
                }
                self.scratch[(y * w + x) as usize] = acc;
            }
        }
        std::mem::swap(&mut self.px, &mut self.scratch);
    }

    /// Linear motion blur: the average of `taps` copies shifted along `(dx, dy)` px.
    pub fn motion_blur(&mut self, dx: f32, dy: f32) {
        let len = (dx * dx + dy * dy).sqrt();
        if len < 0.7 {
            return;
        }
        let taps = (len.ceil() as usize + 1).min(24);
        let (w, h) = (self.width as i32, self.height as i32);
        self.scratch.clear();
        self.scratch.resize(self.px.len(), [0.0; 3]);
        let offsets: Vec<(i32, i32)> = (0..taps)
            .map(|i| {
                let t = i as f32 / (taps - 1) as f32 - 0.5;
                ((dx * t).round() as i32, (dy * t).round() as i32)
            })
            .collect();
        let inv = 1.0 / taps as f32;
        for y in 0..h {
            for x in 0..w {
                let mut acc = [0.0f32; 3];
                for (ox, oy) in &offsets {
                    let p = self.px[((y + oy).clamp(0, h - 1) * w + (x + ox).clamp(0, w - 1)) as usize];
                    acc[0] += p[0];
                    acc[1] += p[1];
                    acc[2] += p[2];
                }
                self.scratch[(y * w + x) as usize] = [acc[0] * inv, acc[1] * inv, acc[2] * inv];
            }
        }
        std::mem::swap(&mut self.px, &mut self.scratch);
    }

    /// Per-pixel sensor noise: luminance noise of spread `sigma` plus a little chroma noise.
    pub fn add_noise(&mut self, rng: &mut Rng, sigma: f32) {
        if sigma <= 0.0 {
            return;
        }
        for p in &mut self.px {
            // Shot noise grows with brightness; read noise does not.
            let lum = (p[0] + p[1] + p[2]) / 3.0;
            let s = sigma * (0.5 + lum.clamp(0.0, 1.0).sqrt());
            let n = (rng.f32() + rng.f32() - 1.0) * 1.7 * s;
            let c = (rng.f32() - 0.5) * s * 0.5;
            p[0] += n + c;
            p[1] += n;
            p[2] += n - c;
        }
    }

    /// Scales and offsets every pixel: `p * gain + lift`, then a tint multiply.
    pub fn grade(&mut self, gain: f32, lift: f32, tint: Rgb) {
        for p in &mut self.px {
            for c in 0..3 {
                p[c] = (p[c] * gain + lift) * tint[c];
            }
        }
    }

    /// Backlight: a bright sun or glare blob at `(cx, cy)` that washes out contrast.
    pub fn add_glare(&mut self, cx: f32, cy: f32, radius: f32, strength: f32) {
        let inv = 1.0 / (radius * radius);
        let warm = [1.0, 0.96, 0.85];
        for y in 0..self.height {
            for x in 0..self.width {
                let dx = x as f32 - cx;
                let dy = y as f32 - cy;
                let g = strength / (1.0 + (dx * dx + dy * dy) * inv);
                let p = &mut self.px[y * self.width + x];
                for c in 0..3 {
                    p[c] = p[c] * (1.0 - g * 0.5) + warm[c] * g;
                }
            }
        }
    }

    /// Rain: thin bright streaks at angle `slant` (px of x per px of y).
    pub fn add_rain(&mut self, rng: &mut Rng, drops: usize, slant: f32, brightness: f32) {
        let (w, h) = (self.width as f32, self.height as f32);
        for _ in 0..drops {
            let x0 = rng.range(0.0, w);
            let y0 = rng.range(0.0, h);
            let len = rng.range(h * 0.01, h * 0.05);
            let steps = len.ceil() as i32;
            for s in 0..steps {
                let y = y0 + s as f32;
                let x = x0 + slant * s as f32;
                self.blend(x as i32, y as i32, [0.85, 0.88, 0.92], brightness);
            }
        }
    }

    /// Rolling-shutter flicker: rows inside `[y1, y2)` and columns `[x1, x2)` dimmed by a
    /// band pattern of period `period_px`, as an LED driven by PWM looks to a rolling shutter.
    pub fn roll_flicker(&mut self, bounds: [f32; 4], period_px: f32, phase: f32, depth: f32) {
        let x1 = bounds[0].max(0.0) as usize;
        let y1 = bounds[1].max(0.0) as usize;
        let x2 = (bounds[2].max(0.0) as usize).min(self.width);
        let y2 = (bounds[3].max(0.0) as usize).min(self.height);
        for y in y1..y2 {
            let t = (y as f32 / period_px.max(1.0) + phase).fract();
            // Square-ish wave: the LED is off for part of each PWM period.
            let k = if t < 0.5 { 1.0 } else { 1.0 - depth };
            for x in x1..x2 {
                let p = &mut self.px[y * self.width + x];
                for c in p.iter_mut() {
                    *c *= k;
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_through_rgb8() {
        let rgb: Vec<u8> = (0..4 * 3 * 3).map(|i| (i * 7) as u8).collect();
        let c = Canvas::from_rgb8(4, 3, &rgb);
        let mut out = Vec::new();
        c.to_rgb8(&mut out);
        assert_eq!(out, rgb);
    }

    #[test]
    fn blur_keeps_mean_and_spreads_a_dot() {
        let mut c = Canvas::new(21, 21);
        c.px[10 * 21 + 10] = [1.0, 1.0, 1.0];
        c.gaussian_blur(1.5);
        let total: f32 = c.px.iter().map(|p| p[0]).sum();
        assert!((total - 1.0).abs() < 1e-3, "{total}");
        assert!(c.get(10, 10)[0] < 0.2 && c.get(11, 10)[0] > 0.01);
    }

    #[test]
    fn fill_rect_covers_inside_only() {
        let mut c = Canvas::new(10, 10);
        c.fill_rect(2.0, 2.0, 5.0, 5.0, [1.0, 0.0, 0.0], 1.0);
        assert_eq!(c.get(3, 3), [1.0, 0.0, 0.0]);
        assert_eq!(c.get(6, 6), [0.0, 0.0, 0.0]);
    }
}
