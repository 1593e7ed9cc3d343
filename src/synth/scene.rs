//! Procedural street backgrounds: sky, buildings with windows, trees, road with a
//! zebra crossing, parked cars, street lamps and signs. They hold the things a
//! detector must learn to ignore: red tail lights, lit windows, green foliage, round
//! red signs.

use super::canvas::{Canvas, Rgb};
use super::rng::Rng;
use super::sdf::{circle, round_box};

/// Light conditions of a scene.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SceneLight {
    /// Night (dark sky, lit windows and lamps).
    pub night: bool,
    /// Brightness multiplier for lit-by-the-sky surfaces, about 0.05 at night and 1 at noon.
    pub ambient: f32,
}

impl SceneLight {
    /// Draws day or night and a matching ambient level.
    pub fn random(rng: &mut Rng, night_chance: f32) -> Self {
        let night = rng.chance(night_chance);
        let ambient = if night { rng.range(0.08, 0.25) } else { rng.range(0.55, 1.05) };
        Self { night, ambient }
    }
}

fn mix(a: Rgb, b: Rgb, t: f32) -> Rgb {
    [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t]
}

fn scale(c: Rgb, k: f32) -> Rgb {
    [c[0] * k, c[1] * k, c[2] * k]
}

/// Layout facts the caller needs to place signals believably.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StreetLayout {
    /// Horizon row, px.
    pub horizon_y: f32,
    /// Row of the far kerb (where poles stand), px.
    pub kerb_y: f32,
}

/// Paints a whole street scene over the canvas.
pub fn paint_street(canvas: &mut Canvas, rng: &mut Rng, light: SceneLight) -> StreetLayout {
    let horizon_y = canvas.height as f32 * rng.range(0.38, 0.62);
    paint_street_at(canvas, rng, light, horizon_y)
}

/// Paints a street scene whose horizon is at row `horizon_y` (px).
pub fn paint_street_at(canvas: &mut Canvas, rng: &mut Rng, light: SceneLight, horizon_y: f32) -> StreetLayout {
    let (w, h) = (canvas.width as f32, canvas.height as f32);
    paint_sky(canvas, rng, light, horizon_y);
    paint_buildings(canvas, rng, light, horizon_y);
    if rng.chance(0.6) {
        for _ in 0..rng.below(4) + 1 {
            let cx = rng.range(0.0, w);
            let r = rng.range(0.04, 0.12) * h;
            let cy = horizon_y - r * rng.range(0.3, 1.2);
            let leaf = scale([rng.range(0.12, 0.25), rng.range(0.3, 0.45), rng.range(0.1, 0.2)], light.ambient);
            canvas.fill_rect(
                cx - r * 0.08,
                cy,
                cx + r * 0.08,
                horizon_y + r * 0.2,
                scale([0.25, 0.18, 0.12], light.ambient),
                1.0,
            );
            canvas.fill_sdf([cx - r, cy - r, cx + r, cy + r], leaf, 1.0, |x, y| circle(x, y, cx, cy, r));
        }
    }
    let kerb_y = paint_road(canvas, rng, light, horizon_y);
    for _ in 0..rng.below(4) {
        paint_car(canvas, rng, light, horizon_y);
    }
    if light.night || rng.chance(0.3) {
        for _ in 0..rng.below(3) + 1 {
            paint_street_lamp(canvas, rng, light, horizon_y);
        }
    }
    for _ in 0..rng.below(3) {
        paint_sign(canvas, rng, light, horizon_y);
    }
    StreetLayout { horizon_y, kerb_y }
}

fn paint_sky(canvas: &mut Canvas, rng: &mut Rng, light: SceneLight, horizon_y: f32) {
    let (top, bottom) = if light.night {
        ([0.01, 0.015, 0.04], [rng.range(0.06, 0.14), rng.range(0.05, 0.1), rng.range(0.08, 0.14)])
    } else if rng.chance(0.4) {
        let g = rng.range(0.55, 0.8);
        ([g, g, g + 0.03], [g + 0.1, g + 0.1, g + 0.1])
    } else {
        ([0.25, rng.range(0.42, 0.55), rng.range(0.75, 0.9)], [0.72, 0.8, rng.range(0.85, 0.95)])
    };
    let k = if light.night { 1.0 } else { light.ambient.max(0.6) };
    let w = canvas.width;
    for y in 0..canvas.height {
        let t = (y as f32 / horizon_y.max(1.0)).min(1.0);
        let c = scale(mix(top, bottom, t), k);
        for p in &mut canvas.px[y * w..(y + 1) * w] {
            *p = c;
        }
    }
}

fn paint_buildings(canvas: &mut Canvas, rng: &mut Rng, light: SceneLight, horizon_y: f32) {
    let (w, h) = (canvas.width as f32, canvas.height as f32);
    let mut x = rng.range(-0.2, 0.0) * w;
    while x < w {
        let bw = rng.range(0.1, 0.35) * w;
        let top = rng.range(0.02, 0.9) * horizon_y;
        let base = [rng.range(0.35, 0.75), rng.range(0.32, 0.7), rng.range(0.3, 0.65)];
        let wall = scale(base, light.ambient * rng.range(0.6, 1.0));
        let bottom = horizon_y + 0.02 * h;
        canvas.fill_rect(x, top, x + bw, bottom, wall, 1.0);
        // Window grid.
        let ww = rng.range(0.015, 0.04) * w;
        let wh = ww * rng.range(1.0, 1.8);
        let gap_x = ww * rng.range(0.5, 1.2);
        let gap_y = wh * rng.range(0.4, 0.9);
        let glass = scale([0.25, 0.3, 0.36], light.ambient);
        let mut wy = top + gap_y;
        while wy + wh < bottom - gap_y {
            let mut wx = x + gap_x;
            while wx + ww < x + bw - gap_x / 2.0 {
                let lit = light.night && rng.chance(0.35);
                let c = if lit { [rng.range(0.8, 1.0), rng.range(0.6, 0.8), rng.range(0.3, 0.5)] } else { glass };
                canvas.fill_rect(wx, wy, wx + ww, wy + wh, c, 1.0);
                wx += ww + gap_x;
            }
            wy += wh + gap_y;
        }
        x += bw + rng.range(0.0, 0.05) * w;
    }
}

fn paint_road(canvas: &mut Canvas, rng: &mut Rng, light: SceneLight, horizon_y: f32) -> f32 {
    let (w, h) = (canvas.width as f32, canvas.height as f32);
    let asphalt = scale([0.3, 0.3, 0.32], light.ambient * rng.range(0.7, 1.1));
    let pavement = scale([0.55, 0.53, 0.5], light.ambient);
    let kerb_y = horizon_y + (h - horizon_y) * rng.range(0.05, 0.2);
    canvas.fill_rect(0.0, horizon_y, w, kerb_y, pavement, 1.0);
    let ww = canvas.width;
    for y in kerb_y.max(0.0) as usize..canvas.height {
        let t = (y as f32 - kerb_y) / (h - kerb_y).max(1.0);
        let c = scale(asphalt, 0.85 + 0.3 * t);
        for p in &mut canvas.px[y * ww..(y + 1) * ww] {
            *p = c;
        }
    }
    // Zebra stripes in perspective: stripes widen towards the camera.
    let paint = scale([0.85, 0.85, 0.82], light.ambient);
    let vx = rng.range(0.3, 0.7) * w;
    let stripes = 8;
    let near_y = h;
    for i in 0..stripes {
        let fx = (i as f32 / stripes as f32 - 0.5) * 2.4;
        let y_top = kerb_y + (near_y - kerb_y) * 0.05;
        let x_top = vx + fx * w * 0.12;
        let x_bot = vx + fx * w * 0.9;
        let half_top = w * 0.012;
        let half_bot = w * 0.07;
        let bx1 = x_top.min(x_bot) - half_bot - 1.0;
        let bx2 = x_top.max(x_bot) + half_bot + 1.0;
        canvas.fill_sdf([bx1, y_top, bx2, near_y], paint, 0.9, |x, y| {
            let t = ((y - y_top) / (near_y - y_top)).clamp(0.0, 1.0);
            let cx = x_top + (x_bot - x_top) * t;
            let half = half_top + (half_bot - half_top) * t;
            (x - cx).abs() - half
        });
    }
    kerb_y
}

fn paint_car(canvas: &mut Canvas, rng: &mut Rng, light: SceneLight, horizon_y: f32) {
    let (w, h) = (canvas.width as f32, canvas.height as f32);
    let cw = rng.range(0.12, 0.35) * w;
    let ch = cw * rng.range(0.35, 0.5);
    let cx = rng.range(0.0, w);
    let bottom = horizon_y + rng.range(0.05, 0.35) * (h - horizon_y);
    let body = scale([rng.range(0.05, 0.9), rng.range(0.05, 0.9), rng.range(0.05, 0.9)], light.ambient);
    canvas.fill_sdf([cx - cw / 2.0 - 1.0, bottom - ch - 1.0, cx + cw / 2.0 + 1.0, bottom + 1.0], body, 1.0, |x, y| {
        round_box(x, y, cx, bottom - ch * 0.35, cw / 2.0, ch * 0.35, ch * 0.12).min(round_box(
            x,
            y,
            cx,
            bottom - ch * 0.75,
            cw * 0.32,
            ch * 0.25,
            ch * 0.12,
        ))
    });
    let glass = scale([0.15, 0.18, 0.22], light.ambient);
    canvas.fill_rect(cx - cw * 0.26, bottom - ch * 0.95, cx + cw * 0.26, bottom - ch * 0.62, glass, 1.0);
    // Rear view: red tail lights (brighter at night); they are not traffic signals.
    let tail = [1.0, 0.1, 0.05];
    let k = if light.night { 1.4 } else { 0.6 };
    for side in [-1.0, 1.0] {
        let lx = cx + side * cw * 0.4;
        let ly = bottom - ch * 0.45;
        canvas.fill_rect(lx - cw * 0.05, ly - ch * 0.06, lx + cw * 0.05, ly + ch * 0.06, scale(tail, k), 1.0);
        if light.night {
            canvas.add_glow(lx, ly, cw * 0.05, tail, 0.3);
        }
    }
    let tyre = [0.03, 0.03, 0.03];
    for side in [-1.0, 1.0] {
        let wx = cx + side * cw * 0.32;
        canvas.fill_rect(wx - cw * 0.07, bottom - ch * 0.08, wx + cw * 0.07, bottom + ch * 0.04, tyre, 1.0);
    }
}

fn paint_street_lamp(canvas: &mut Canvas, rng: &mut Rng, light: SceneLight, horizon_y: f32) {
    let (w, h) = (canvas.width as f32, canvas.height as f32);
    let x = rng.range(0.0, w);
    let top = rng.range(0.02, 0.5) * horizon_y;
    let pw = rng.range(0.004, 0.01) * w;
    let grey = scale([0.3, 0.3, 0.3], light.ambient);
    canvas.fill_rect(x - pw / 2.0, top, x + pw / 2.0, horizon_y + 0.05 * h, grey, 1.0);
    let lamp = [1.0, 0.85, 0.55];
    let r = pw * 1.6;
    if light.night {
        canvas.fill_sdf([x - r, top - r, x + r, top + r], scale(lamp, 1.5), 1.0, |px, py| circle(px, py, x, top, r));
        canvas.add_glow(x, top, r * 2.5, lamp, 0.5);
    } else {
        canvas.fill_sdf([x - r, top - r, x + r, top + r], grey, 1.0, |px, py| circle(px, py, x, top, r));
    }
}

fn paint_sign(canvas: &mut Canvas, rng: &mut Rng, light: SceneLight, horizon_y: f32) {
    let (w, h) = (canvas.width as f32, canvas.height as f32);
    let x = rng.range(0.0, w);
    let s = rng.range(0.01, 0.05) * h;
    let y = horizon_y - rng.range(0.5, 3.0) * s;
    let grey = scale([0.4, 0.4, 0.4], light.ambient);
    canvas.fill_rect(x - s * 0.08, y, x + s * 0.08, horizon_y + 0.04 * h, grey, 1.0);
    let colors: [Rgb; 4] = [[0.8, 0.1, 0.1], [0.1, 0.25, 0.7], [0.1, 0.45, 0.25], [0.9, 0.75, 0.1]];
    let c = scale(colors[rng.below(colors.len())], light.ambient.max(0.15));
    if rng.chance(0.5) {
        canvas.fill_sdf([x - s, y - s, x + s, y + s], c, 1.0, |px, py| circle(px, py, x, y, s));
    } else {
        canvas.fill_rect(x - s * 1.4, y - s * 0.6, x + s * 1.4, y + s * 0.6, c, 1.0);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn night_scenes_are_darker_than_day_scenes() {
        let mean = |night: bool| {
            let mut c = Canvas::new(160, 120);
            let mut rng = Rng::new(3);
            let light = SceneLight { night, ambient: if night { 0.1 } else { 0.9 } };
            let layout = paint_street(&mut c, &mut rng, light);
            assert!(layout.kerb_y > layout.horizon_y && layout.kerb_y < 120.0);
            c.px.iter().map(|p| p[0] + p[1] + p[2]).sum::<f32>() / c.px.len() as f32
        };
        assert!(mean(true) * 3.0 < mean(false));
    }
}
