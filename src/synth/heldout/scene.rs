//! Held-out streets: scene kinds, palettes and layouts the training streets
//! ([`crate::synth::scene`]) never use.
//!
//! Four kinds: a dusk skyline (orange-violet sky, dark towers with sparse lit windows),
//! an avenue of trees (canopies, hedges, brick paving, no buildings), glass towers
//! (curtain walls with mullions and floor bands, shop fronts with awnings and lit signs),
//! and a low-rise street (pitched roofs, pastel walls, utility poles with overhead
//! wires). Roads are pale concrete or fresh dark asphalt with yellow centre lines and
//! ladder, bar or no crossing markings; at night they may be wet and mirror the lights.

use crate::synth::canvas::{Canvas, Rgb};
use crate::synth::rng::Rng;
use crate::synth::scene::SceneLight;
use crate::synth::sdf::{capsule, circle};

fn scale(c: Rgb, k: f32) -> Rgb {
    [c[0] * k, c[1] * k, c[2] * k]
}

fn mix(a: Rgb, b: Rgb, t: f32) -> Rgb {
    [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t]
}

/// Kinds of held-out street.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Dusk,
    Avenue,
    Glass,
    LowRise,
}

/// Paints a held-out street whose horizon is at row `horizon_y` (px).
pub fn paint_scene_at(canvas: &mut Canvas, rng: &mut Rng, light: SceneLight, horizon_y: f32) {
    let kind = [Kind::Dusk, Kind::Avenue, Kind::Glass, Kind::LowRise][rng.below(4)];
    paint_sky(canvas, rng, light, kind, horizon_y);
    match kind {
        Kind::Dusk => paint_towers(canvas, rng, light, horizon_y, true),
        Kind::Glass => paint_towers(canvas, rng, light, horizon_y, false),
        Kind::Avenue => paint_trees(canvas, rng, light, horizon_y),
        Kind::LowRise => paint_low_rise(canvas, rng, light, horizon_y),
    }
    if kind != Kind::Avenue && rng.chance(0.4) {
        paint_trees(canvas, rng, light, horizon_y);
    }
    paint_road(canvas, rng, light, kind, horizon_y);
}

fn fill_rows(canvas: &mut Canvas, y0: f32, y1: f32, color: impl Fn(f32) -> Rgb) {
    let w = canvas.width;
    let (a, b) = (y0.max(0.0) as usize, (y1.max(0.0) as usize).min(canvas.height));
    for y in a..b {
        let c = color(y as f32);
        for p in &mut canvas.px[y * w..(y + 1) * w] {
            *p = c;
        }
    }
}

fn paint_sky(canvas: &mut Canvas, rng: &mut Rng, light: SceneLight, kind: Kind, horizon_y: f32) {
    let (top, bottom) = if light.night {
        // Sodium-lit haze or a cold clear night.
        if rng.chance(0.5) { ([0.03, 0.02, 0.03], [0.22, 0.12, 0.05]) } else { ([0.0, 0.01, 0.02], [0.02, 0.05, 0.09]) }
    } else if kind == Kind::Dusk {
        ([0.25, 0.2, 0.45], [1.0, rng.range(0.5, 0.65), 0.3])
    } else if rng.chance(0.5) {
        // Hazy white-blue.
        ([0.6, 0.7, 0.85], [0.88, 0.9, 0.92])
    } else {
        // Deep clear blue.
        ([0.1, 0.3, 0.75], [0.5, 0.7, 0.95])
    };
    let k = if light.night { 1.0 } else { light.ambient.clamp(0.5, 1.1) };
    fill_rows(canvas, 0.0, horizon_y + 2.0, |y| scale(mix(top, bottom, (y / horizon_y.max(1.0)).min(1.0)), k));
}

fn paint_towers(canvas: &mut Canvas, rng: &mut Rng, light: SceneLight, horizon_y: f32, dusk: bool) {
    let (w, h) = (canvas.width as f32, canvas.height as f32);
    let mut x = rng.range(-0.1, 0.0) * w;
    while x < w {
        let bw = rng.range(0.06, 0.22) * w;
        let top = rng.range(-0.2, 0.6) * horizon_y;
        let bottom = horizon_y + 0.03 * h;
        let base: Rgb =
            if dusk { [0.1, 0.09, 0.12] } else { [rng.range(0.2, 0.4), rng.range(0.35, 0.55), rng.range(0.45, 0.65)] };
        let k = if dusk { light.ambient.min(0.6) } else { light.ambient };
        canvas.fill_rect(x, top, x + bw, bottom, scale(base, k), 1.0);
        let floor = rng.range(0.012, 0.025) * h;
        let mullion = rng.range(0.015, 0.04) * w;
        let frame = scale(if dusk { [0.05, 0.05, 0.06] } else { [0.75, 0.76, 0.78] }, k);
        let mut fy = top + floor;
        while fy < bottom {
            canvas.fill_rect(x, fy, x + bw, fy + floor * 0.18, frame, 0.8);
            if dusk || light.night {
                let mut fx = x + mullion * 0.2;
                while fx + mullion * 0.6 < x + bw {
                    if rng.chance(if dusk { 0.12 } else { 0.3 }) {
                        let c = if rng.chance(0.6) { [1.0, 0.86, 0.6] } else { [0.75, 0.85, 1.0] };
                        canvas.fill_rect(fx, fy + floor * 0.25, fx + mullion * 0.75, fy + floor * 0.9, c, 0.9);
                    }
                    fx += mullion;
                }
            }
            fy += floor;
        }
        let mut mx = x;
        while mx < x + bw {
            canvas.fill_rect(mx, top, mx + mullion * 0.08, bottom, frame, 0.7);
            mx += mullion;
        }
        if !dusk {
            paint_shop_fronts(canvas, rng, light, x, x + bw, horizon_y);
        }
        x += bw + rng.range(0.0, 0.03) * w;
    }
}

/// Shop fronts with striped awnings and lit signs: red and green boxes that are not signals.
fn paint_shop_fronts(canvas: &mut Canvas, rng: &mut Rng, light: SceneLight, x1: f32, x2: f32, horizon_y: f32) {
    let h = canvas.height as f32;
    let sh = 0.05 * h;
    let y = horizon_y - sh;
    let awning: Rgb = [[0.7, 0.1, 0.1], [0.1, 0.45, 0.2], [0.9, 0.6, 0.1], [0.15, 0.2, 0.55]][rng.below(4)];
    let stripes = 6;
    let sw = (x2 - x1) / stripes as f32;
    for i in 0..stripes {
        let c = if i % 2 == 0 { awning } else { [0.9, 0.9, 0.88] };
        canvas.fill_rect(x1 + i as f32 * sw, y - sh * 0.3, x1 + (i as f32 + 1.0) * sw, y, scale(c, light.ambient), 1.0);
    }
    if rng.chance(0.6) {
        let sign: Rgb = [[1.0, 0.2, 0.15], [0.2, 1.0, 0.4], [1.0, 0.9, 0.3], [0.3, 0.6, 1.0]][rng.below(4)];
        let k = if light.night { 1.3 } else { 0.8 };
        let sx = rng.range(x1, x2 - sw);
        canvas.fill_rect(sx, y - sh * 0.9, sx + sw * rng.range(0.8, 2.0), y - sh * 0.45, scale(sign, k), 1.0);
    }
}

fn paint_trees(canvas: &mut Canvas, rng: &mut Rng, light: SceneLight, horizon_y: f32) {
    let (w, h) = (canvas.width as f32, canvas.height as f32);
    // Hedge along the far pavement.
    let hedge = scale([0.1, 0.25, 0.08], light.ambient);
    canvas.fill_rect(0.0, horizon_y - 0.03 * h, w, horizon_y + 0.01 * h, hedge, 1.0);
    let n = 4 + rng.below(6);
    for i in 0..n {
        let cx = (i as f32 + rng.range(0.2, 0.8)) * w / n as f32;
        let r = rng.range(0.06, 0.14) * h;
        let cy = horizon_y - r * rng.range(1.0, 2.2);
        let trunk = scale([0.22, 0.16, 0.1], light.ambient);
        canvas.fill_sdf([cx - r, cy, cx + r, horizon_y + 0.02 * h], trunk, 1.0, |x, y| {
            capsule(x, y, (cx, cy), (cx, horizon_y), r * 0.07)
        });
        let leaf = [rng.range(0.15, 0.3), rng.range(0.28, 0.42), rng.range(0.05, 0.12)];
        for _ in 0..7 {
            let (ox, oy) = (rng.range(-0.7, 0.7) * r, rng.range(-0.6, 0.4) * r);
            let rr = r * rng.range(0.4, 0.65);
            let c = scale(leaf, light.ambient * rng.range(0.6, 1.1));
            let (bx, by) = (cx + ox, cy + oy);
            canvas.fill_sdf([bx - rr, by - rr, bx + rr, by + rr], c, 1.0, |x, y| circle(x, y, bx, by, rr));
        }
    }
}

fn paint_low_rise(canvas: &mut Canvas, rng: &mut Rng, light: SceneLight, horizon_y: f32) {
    let (w, h) = (canvas.width as f32, canvas.height as f32);
    let mut x = rng.range(-0.1, 0.0) * w;
    while x < w {
        let bw = rng.range(0.12, 0.3) * w;
        let wall_h = rng.range(0.15, 0.35) * horizon_y;
        let top = horizon_y - wall_h;
        let pastel: Rgb = [[0.9, 0.85, 0.75], [0.8, 0.88, 0.85], [0.92, 0.8, 0.78], [0.85, 0.85, 0.9]][rng.below(4)];
        canvas.fill_rect(x, top, x + bw, horizon_y + 0.02 * h, scale(pastel, light.ambient * 0.9), 1.0);
        let roof = scale([[0.35, 0.15, 0.1], [0.2, 0.25, 0.35], [0.25, 0.25, 0.25]][rng.below(3)], light.ambient);
        let rh = wall_h * rng.range(0.3, 0.6);
        canvas.fill_sdf([x - 2.0, top - rh - 1.0, x + bw + 2.0, top + 1.0], roof, 1.0, |px, py| {
            let t = ((py - (top - rh)) / rh).clamp(0.0, 1.0);
            let half = (bw / 2.0 + 2.0) * t;
            ((px - (x + bw / 2.0)).abs() - half).max(py - top).max(top - rh - py)
        });
        let win =
            if light.night && rng.chance(0.5) { [0.95, 0.8, 0.5] } else { scale([0.2, 0.25, 0.3], light.ambient) };
        let ww = bw * 0.15;
        canvas.fill_rect(x + bw * 0.2, top + wall_h * 0.25, x + bw * 0.2 + ww, top + wall_h * 0.55, win, 1.0);
        canvas.fill_rect(x + bw * 0.65, top + wall_h * 0.25, x + bw * 0.65 + ww, top + wall_h * 0.55, win, 1.0);
        x += bw + rng.range(0.01, 0.05) * w;
    }
    // Utility poles and sagging overhead wires.
    let pole = scale([0.35, 0.33, 0.3], light.ambient.max(0.2));
    let poles: Vec<f32> = (0..3).map(|_| rng.range(0.0, w)).collect();
    let top = horizon_y * rng.range(0.05, 0.3);
    for &px in &poles {
        canvas.fill_rect(px - 0.004 * w, top, px + 0.004 * w, horizon_y + 0.03 * h, pole, 1.0);
    }
    let wire = scale([0.08, 0.08, 0.08], 1.0);
    for k in 0..3 {
        let y0 = top + k as f32 * 0.02 * h;
        let sag = rng.range(0.02, 0.06) * h;
        canvas.fill_sdf([0.0, y0 - 2.0, w, y0 + sag + 2.0], wire, 0.9, |x, y| {
            let t = x / w;
            (y - (y0 + sag * 4.0 * t * (1.0 - t))).abs() - 0.6
        });
    }
}

fn paint_road(canvas: &mut Canvas, rng: &mut Rng, light: SceneLight, kind: Kind, horizon_y: f32) {
    let (w, h) = (canvas.width as f32, canvas.height as f32);
    let pavement: Rgb = if kind == Kind::Avenue { [0.55, 0.32, 0.25] } else { [0.7, 0.68, 0.62] };
    let kerb_y = horizon_y + (h - horizon_y) * rng.range(0.04, 0.15);
    fill_rows(canvas, horizon_y, kerb_y, |_| scale(pavement, light.ambient));
    let surface: Rgb = if rng.chance(0.5) { [0.58, 0.57, 0.54] } else { [0.12, 0.12, 0.13] };
    let wet = light.night && rng.chance(0.6);
    fill_rows(canvas, kerb_y, h, |y| {
        let t = (y - kerb_y) / (h - kerb_y).max(1.0);
        scale(surface, light.ambient * (0.8 + 0.4 * t))
    });
    if wet {
        // A wet road mirrors what stands above the horizon, dimmed and smeared.
        let wpx = canvas.width;
        for y in kerb_y.max(0.0) as usize..canvas.height {
            let src = (2.0 * horizon_y - y as f32).max(0.0) as usize;
            if src >= canvas.height {
                continue;
            }
            for x in 0..wpx {
                let s = canvas.px[src * wpx + x];
                let p = &mut canvas.px[y * wpx + x];
                for c in 0..3 {
                    p[c] += s[c] * 0.35;
                }
            }
        }
    }
    let paint = scale([0.9, 0.9, 0.88], light.ambient.max(0.25));
    let yellow = scale([0.95, 0.75, 0.15], light.ambient.max(0.25));
    let vx = rng.range(0.35, 0.65) * w;
    // Double yellow centre line towards the vanishing point.
    for off in [-0.006, 0.006] {
        canvas.fill_sdf([0.0, kerb_y, w, h], yellow, 0.9, |x, y| {
            let t = ((y - kerb_y) / (h - kerb_y)).clamp(0.0, 1.0);
            (x - (vx + off * w * (1.0 + 30.0 * t) + (0.5 * w - vx) * t * 0.8)).abs() - (0.5 + 4.0 * t)
        });
    }
    match rng.below(3) {
        0 => {
            // Ladder crossing: two side lines and rungs across.
            let (y1, y2) = (kerb_y + (h - kerb_y) * 0.1, kerb_y + (h - kerb_y) * 0.45);
            canvas.fill_rect(0.0, y1, w, y1 + 0.01 * h, paint, 0.9);
            canvas.fill_rect(0.0, y2, w, y2 + 0.015 * h, paint, 0.9);
            let mut x = rng.range(0.0, 0.05) * w;
            while x < w {
                canvas.fill_rect(x, y1, x + 0.04 * w, y2, paint, 0.9);
                x += 0.09 * w;
            }
        }
        1 => {
            // Bars across the road, parallel to the kerb.
            for i in 0..5 {
                let y = kerb_y + (h - kerb_y) * (0.08 + 0.09 * i as f32);
                canvas.fill_rect(0.0, y, w, y + (h - kerb_y) * 0.035, paint, 0.85);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn scenes_are_deterministic_and_night_is_darker() {
        let mean = |night: bool, seed: u64| {
            let mut c = Canvas::new(160, 120);
            let light = SceneLight { night, ambient: if night { 0.1 } else { 0.9 } };
            paint_scene_at(&mut c, &mut Rng::new(seed), light, 55.0);
            let mut d = Canvas::new(160, 120);
            paint_scene_at(&mut d, &mut Rng::new(seed), light, 55.0);
            assert_eq!(c.px, d.px);
            c.px.iter().map(|p| p[0] + p[1] + p[2]).sum::<f32>() / c.px.len() as f32
        };
        for seed in 0..8 {
            assert!(mean(true, seed) * 2.0 < mean(false, seed), "seed {seed}");
        }
    }
}
