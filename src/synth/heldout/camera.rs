//! Held-out camera effects, drawn once per clip and applied to every frame: a colour
//! cast and exposure, vignetting, JPEG-like block artefacts with chroma subsampling,
//! and at night starburst flare and lens ghosts from the lit lamps.

use crate::synth::canvas::{Canvas, Rgb};
use crate::synth::rng::Rng;

/// One clip's camera.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Effects {
    /// White-balance cast, per channel.
    pub cast: Rgb,
    /// Exposure gain.
    pub gain: f32,
    /// Corner darkening, 0 (none) to about 0.5.
    pub vignette: f32,
    /// Pull of each pixel towards its 8 x 8 block's mean, 0 (none) to about 0.5.
    pub blocks: f32,
    /// Chroma averaged over 2 x 2 pixels, as in 4:2:0 JPEG.
    pub chroma_subsample: bool,
    /// Length of the starburst spokes in lamp radii (0: no flare).
    pub flare: f32,
    /// Number of starburst spokes (4, 6 or 8).
    pub spokes: u8,
    /// Strength of the lens ghost opposite each lamp.
    pub ghost: f32,
}

impl Effects {
    /// Draws a camera; flare only at night.
    pub fn random(rng: &mut Rng, night: bool) -> Self {
        Self {
            cast: [rng.range(0.85, 1.15), rng.range(0.92, 1.08), rng.range(0.85, 1.15)],
            gain: rng.range(0.75, 1.25),
            vignette: rng.range(0.0, 0.5),
            blocks: if rng.chance(0.6) { rng.range(0.1, 0.5) } else { 0.0 },
            chroma_subsample: rng.chance(0.6),
            flare: if night { rng.range(3.0, 12.0) } else { 0.0 },
            spokes: [4, 6, 8][rng.below(3)],
            ghost: if night { rng.range(0.0, 0.25) } else { 0.0 },
        }
    }

    /// Starburst spokes and a ghost for each lit lamp `(x, y, radius px, colour)`.
    pub fn add_flare(&self, canvas: &mut Canvas, lamps: &[(f32, f32, f32, Rgb)]) {
        if self.flare <= 0.0 {
            return;
        }
        let (w, h) = (canvas.width as f32, canvas.height as f32);
        for &(x, y, r, color) in lamps {
            let len = (r * self.flare).min(w * 0.15);
            let steps = (len * 2.0) as i32;
            for k in 0..self.spokes {
                let a = std::f32::consts::PI * f32::from(k) / f32::from(self.spokes) + 0.3;
                let (s, c) = a.sin_cos();
                for i in 1..steps {
                    let t = i as f32 * 0.5;
                    let fall = (1.0 - t / len).powi(2) * 0.35;
                    canvas.add((x + c * t) as i32, (y + s * t) as i32, color, fall);
                    canvas.add((x - c * t) as i32, (y - s * t) as i32, color, fall);
                }
            }
            if self.ghost > 0.0 {
                canvas.add_glow(w - x, h - y, r * 3.0 + 2.0, color, self.ghost * 0.3);
            }
        }
    }

    /// Colour cast, exposure and vignetting (before sensor noise).
    pub fn grade(&self, canvas: &mut Canvas) {
        let (w, h) = (canvas.width, canvas.height);
        let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
        let inv = 1.0 / (cx * cx + cy * cy);
        for y in 0..h {
            for x in 0..w {
                let (dx, dy) = (x as f32 - cx, y as f32 - cy);
                let k = self.gain * (1.0 - self.vignette * (dx * dx + dy * dy) * inv);
                let p = &mut canvas.px[y * w + x];
                for (v, cast) in p.iter_mut().zip(self.cast) {
                    *v *= k * cast;
                }
            }
        }
    }

    /// JPEG-like artefacts (after sensor noise): flattened 8 x 8 blocks and shared chroma.
    pub fn compress(&self, canvas: &mut Canvas) {
        let (w, h) = (canvas.width, canvas.height);
        if self.blocks > 0.0 {
            for by in (0..h).step_by(8) {
                for bx in (0..w).step_by(8) {
                    let (x2, y2) = ((bx + 8).min(w), (by + 8).min(h));
                    let mut mean = [0.0f32; 3];
                    for y in by..y2 {
                        for p in &canvas.px[y * w + bx..y * w + x2] {
                            for c in 0..3 {
                                mean[c] += p[c];
                            }
                        }
                    }
                    let n = ((x2 - bx) * (y2 - by)) as f32;
                    for y in by..y2 {
                        for p in &mut canvas.px[y * w + bx..y * w + x2] {
                            for c in 0..3 {
                                p[c] += (mean[c] / n - p[c]) * self.blocks;
                            }
                        }
                    }
                }
            }
        }
        if self.chroma_subsample {
            for y in (0..h.saturating_sub(1)).step_by(2) {
                for x in (0..w.saturating_sub(1)).step_by(2) {
                    let idx = [y * w + x, y * w + x + 1, (y + 1) * w + x, (y + 1) * w + x + 1];
                    let mut chroma = [0.0f32; 3];
                    for &i in &idx {
                        let p = canvas.px[i];
                        let l = (p[0] + p[1] + p[2]) / 3.0;
                        for c in 0..3 {
                            chroma[c] += (p[c] - l) / 4.0;
                        }
                    }
                    for &i in &idx {
                        let p = &mut canvas.px[i];
                        let l = (p[0] + p[1] + p[2]) / 3.0;
                        for c in 0..3 {
                            p[c] = l + chroma[c];
                        }
                    }
                }
            }
        }
    }
}
