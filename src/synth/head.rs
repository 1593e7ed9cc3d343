//! Signal heads: their layouts in the styles people meet at real crossings, and the
//! anti-aliased rasteriser that paints one onto a [`Canvas`].
//!
//! A head is described in its own units, where one lamp section is a 1 x 1 square.
//! [`render_head`] maps every output pixel back into head units, takes `n x n`
//! sub-samples (more for small heads), and shades each from signed distance
//! functions: housing, lens, then the figure, digits or lamp. Lit parts are emissive
//! (not darkened by ambient light, may exceed 1 so they clip whitish) and can show
//! LED dots; unlit parts keep a faint tint of their colour, as real lenses do. A lit
//! lamp also adds a Gaussian glow (bloom) around itself.

use super::canvas::{Canvas, Rgb};
use super::sdf::{capsule, circle, round_box};
use crate::geom::BBox;

/// What kind of head, in which national style.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeadStyle {
    /// China: red standing figure above green walking figure, optional countdown section below.
    PedCn,
    /// US: orange hand and white walking person in one lens, optional orange countdown beside it.
    PedUs,
    /// Europe: red standing figure above green walking figure, often round lenses.
    PedEu,
    /// Vehicle signal, three lamps stacked.
    VehicleVertical,
    /// Vehicle signal, three lamps side by side.
    VehicleHorizontal,
}

impl HeadStyle {
    /// Whether this is a pedestrian head.
    pub fn is_pedestrian(self) -> bool {
        matches!(self, HeadStyle::PedCn | HeadStyle::PedUs | HeadStyle::PedEu)
    }
}

/// What the head shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aspect {
    /// Pedestrian stop (red figure or orange hand).
    PedStop,
    /// Pedestrian walk (green or white walking figure).
    PedWalk,
    /// Vehicle red.
    VehRed,
    /// Vehicle yellow.
    VehYellow,
    /// Vehicle green.
    VehGreen,
    /// Nothing lit.
    Dark,
}

impl Aspect {
    /// Class id in [`crate::signal::SHIPPED_CLASSES`].
    pub fn class_id(self) -> usize {
        match self {
            Aspect::VehRed => 0,
            Aspect::VehYellow => 1,
            Aspect::VehGreen => 2,
            Aspect::PedStop => 3,
            Aspect::PedWalk => 4,
            Aspect::Dark => 5,
        }
    }

    /// Class name in [`crate::signal::SHIPPED_CLASSES`].
    pub fn class_name(self) -> &'static str {
        crate::signal::SHIPPED_CLASSES[self.class_id()]
    }
}

/// A countdown display's content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Countdown {
    /// The head has no countdown display.
    Absent,
    /// The display is there but dark.
    Blank,
    /// Seconds shown (0-99).
    Value(u8),
}

/// How one head looks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HeadLook {
    /// Style.
    pub style: HeadStyle,
    /// What is lit.
    pub aspect: Aspect,
    /// Countdown display.
    pub countdown: Countdown,
    /// LED panel with visible dots (else a diffused lamp).
    pub led_dots: bool,
    /// Round lenses (else rounded squares). Vehicle lamps are always round.
    pub round_lens: bool,
    /// Housing paint colour before lighting.
    pub housing: Rgb,
    /// Colour multipliers on the lit lamps, close to 1, so no two heads are identical.
    pub lamp_tint: Rgb,
}

/// Where a head goes in the picture.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Placement {
    /// Centre, px.
    pub cx: f32,
    /// Centre, px.
    pub cy: f32,
    /// Housing height, px.
    pub height_px: f32,
    /// Horizontal foreshortening from viewing at an angle, `cos(yaw)` in `(0, 1]`.
    pub squeeze: f32,
    /// In-plane rotation (camera roll), radians.
    pub roll: f32,
}

/// Light on the head.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lighting {
    /// Brightness of the housing and unlit lenses, 0 (night) to about 1 (day).
    pub ambient: f32,
    /// Exposure of the lit lamps; above 1 they clip towards white.
    pub lamp_gain: f32,
    /// Strength of the glow around lit lamps (0 none, 1 strong night bloom).
    pub glow: f32,
    /// Glow radius relative to the lamp radius.
    pub glow_spread: f32,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Figure {
    Standing,
    Walking,
    Hand,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Content {
    /// One figure; `lit` and its colour.
    Figure(Figure, Rgb, bool),
    /// US style: hand and walking person in the same lens.
    Overlay { hand_lit: bool, walk_lit: bool },
    /// A full round lamp (vehicle).
    Lamp(Rgb, bool),
    /// Two-digit seven-segment countdown.
    Digits(Countdown, Rgb),
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Cell {
    x0: f32,
    y0: f32,
    content: Content,
}

const MARGIN: f32 = 0.09;
const GAP: f32 = 0.06;
const LENS_R: f32 = 0.44;

const RED: Rgb = [1.0, 0.13, 0.08];
const CN_GREEN: Rgb = [0.12, 1.0, 0.55];
const EU_GREEN: Rgb = [0.2, 1.0, 0.3];
const US_ORANGE: Rgb = [1.0, 0.48, 0.1];
const US_WHITE: Rgb = [0.9, 0.96, 1.0];
const VEH_YELLOW: Rgb = [1.0, 0.72, 0.08];
const VEH_GREEN: Rgb = [0.1, 1.0, 0.62];

struct Layout {
    w: f32,
    h: f32,
    cells: [Option<Cell>; 3],
}

impl HeadLook {
    fn layout(&self) -> Layout {
        let stop = self.aspect == Aspect::PedStop;
        let walk = self.aspect == Aspect::PedWalk;
        let stack = |contents: &[Content], vertical: bool| {
            let mut cells = [None; 3];
            for (i, c) in contents.iter().enumerate().take(3) {
                let off = MARGIN + i as f32 * (1.0 + GAP);
                let (x0, y0) = if vertical { (MARGIN, off) } else { (off, MARGIN) };
                cells[i] = Some(Cell { x0, y0, content: *c });
            }
            let n = contents.len().min(3) as f32;
            let long = 2.0 * MARGIN + n + (n - 1.0) * GAP;
            let short = 2.0 * MARGIN + 1.0;
            let (w, h) = if vertical { (short, long) } else { (long, short) };
            Layout { w, h, cells }
        };
        match self.style {
            HeadStyle::PedCn | HeadStyle::PedEu => {
                let green = if self.style == HeadStyle::PedCn { CN_GREEN } else { EU_GREEN };
                let mut contents =
                    vec![Content::Figure(Figure::Standing, RED, stop), Content::Figure(Figure::Walking, green, walk)];
                if self.countdown != Countdown::Absent {
                    contents.push(Content::Digits(self.countdown, if walk { green } else { RED }));
                }
                stack(&contents, true)
            }
            HeadStyle::PedUs => {
                let mut contents = vec![Content::Overlay { hand_lit: stop, walk_lit: walk }];
                if self.countdown != Countdown::Absent {
                    contents.push(Content::Digits(self.countdown, US_ORANGE));
                }
                stack(&contents, false)
            }
            HeadStyle::VehicleVertical | HeadStyle::VehicleHorizontal => stack(
                &[
                    Content::Lamp(RED, self.aspect == Aspect::VehRed),
                    Content::Lamp(VEH_YELLOW, self.aspect == Aspect::VehYellow),
                    Content::Lamp(VEH_GREEN, self.aspect == Aspect::VehGreen),
                ],
                self.style == HeadStyle::VehicleVertical,
            ),
        }
    }

    /// Housing size in head units `(width, height)`; one lamp section is 1 x 1.
    pub fn size_units(&self) -> (f32, f32) {
        let l = self.layout();
        (l.w, l.h)
    }

    /// The housing's axis-aligned box in frame px at `at` (the label box).
    pub fn bbox(&self, at: &Placement) -> BBox {
        let (w, h) = self.size_units();
        let scale = at.height_px / h;
        let (hw, hh) = (w * scale * at.squeeze / 2.0, at.height_px / 2.0);
        let (s, c) = at.roll.sin_cos();
        let ex = (hw * c).abs() + (hh * s).abs();
        let ey = (hw * s).abs() + (hh * c).abs();
        BBox::new(at.cx - ex, at.cy - ey, at.cx + ex, at.cy + ey)
    }
}

fn led(px: f32, py: f32, on: bool) -> f32 {
    if !on {
        return 1.0;
    }
    let pitch = 0.05;
    let gx = (px / pitch).rem_euclid(1.0) - 0.5;
    let gy = (py / pitch).rem_euclid(1.0) - 0.5;
    // Between the LEDs the diffuser still glows a little.
    if gx * gx + gy * gy < 0.14 { 1.5 } else { 0.55 }
}

fn figure_sdf(f: Figure, x: f32, y: f32) -> f32 {
    match f {
        Figure::Standing => circle(x, y, 0.0, -0.29, 0.075)
            .min(round_box(x, y, 0.0, -0.06, 0.09, 0.15, 0.04))
            .min(capsule(x, y, (-0.105, -0.16), (-0.125, 0.06), 0.035))
            .min(capsule(x, y, (0.105, -0.16), (0.125, 0.06), 0.035))
            .min(capsule(x, y, (-0.045, 0.06), (-0.05, 0.36), 0.042))
            .min(capsule(x, y, (0.045, 0.06), (0.05, 0.36), 0.042)),
        Figure::Walking => circle(x, y, 0.04, -0.30, 0.072)
            .min(capsule(x, y, (0.02, -0.19), (-0.02, 0.04), 0.062))
            .min(capsule(x, y, (-0.02, 0.04), (0.09, 0.18), 0.045))
            .min(capsule(x, y, (0.09, 0.18), (0.15, 0.36), 0.04))
            .min(capsule(x, y, (-0.02, 0.04), (-0.08, 0.19), 0.045))
            .min(capsule(x, y, (-0.08, 0.19), (-0.2, 0.32), 0.04))
            .min(capsule(x, y, (0.02, -0.16), (0.1, -0.06), 0.032))
            .min(capsule(x, y, (0.1, -0.06), (0.17, 0.0), 0.03))
            .min(capsule(x, y, (0.0, -0.16), (-0.09, -0.07), 0.032))
            .min(capsule(x, y, (-0.09, -0.07), (-0.13, 0.02), 0.03)),
        Figure::Hand => {
            let mut d = round_box(x, y, 0.0, 0.1, 0.13, 0.15, 0.06);
            for (fx, top) in [(-0.096, -0.2), (-0.032, -0.27), (0.032, -0.28), (0.096, -0.23)] {
                d = d.min(capsule(x, y, (fx, 0.0), (fx, top), 0.03));
            }
            d.min(capsule(x, y, (-0.12, 0.13), (-0.24, 0.0), 0.035))
        }
    }
}

/// Seven-segment masks for 0-9, bits a..g.
const SEGMENTS: [u8; 10] = [0x3F, 0x06, 0x5B, 0x4F, 0x66, 0x6D, 0x7D, 0x07, 0x7F, 0x6F];

/// Distance to the lit (`lit = true`) or unlit segments of digit `d` centred at `cx`.
fn digit_sdf(d: Option<u8>, cx: f32, x: f32, y: f32, lit: bool) -> f32 {
    let (hw, hh, r, inset) = (0.11, 0.24, 0.028, 0.04);
    let segs = [
        ((-hw + inset, -hh), (hw - inset, -hh)),
        ((hw, -hh + inset), (hw, -inset)),
        ((hw, inset), (hw, hh - inset)),
        ((-hw + inset, hh), (hw - inset, hh)),
        ((-hw, inset), (-hw, hh - inset)),
        ((-hw, -hh + inset), (-hw, -inset)),
        ((-hw + inset, 0.0), (hw - inset, 0.0)),
    ];
    let mask = d.map_or(0, |v| SEGMENTS[usize::from(v % 10)]);
    let mut best = f32::MAX;
    for (i, (a, b)) in segs.iter().enumerate() {
        let on = mask & (1 << i) != 0;
        if on == lit {
            best = best.min(capsule(x - cx, y, *a, *b, r));
        }
    }
    best
}

fn tint(c: Rgb, t: Rgb) -> Rgb {
    [c[0] * t[0], c[1] * t[1], c[2] * t[2]]
}

fn scale3(c: Rgb, k: f32) -> Rgb {
    [c[0] * k, c[1] * k, c[2] * k]
}

/// Colour of an unlit part whose lit colour is `c`: the coloured lens still shows a
/// little in daylight.
fn unlit(c: Rgb, ambient: f32) -> Rgb {
    [0.025 + c[0] * 0.09 * ambient, 0.025 + c[1] * 0.09 * ambient, 0.03 + c[2] * 0.09 * ambient]
}

/// Shades one sample at head units `(u, v)`; `None` outside the housing.
fn shade(look: &HeadLook, layout: &Layout, light: &Lighting, u: f32, v: f32) -> Option<Rgb> {
    if round_box(u, v, layout.w / 2.0, layout.h / 2.0, layout.w / 2.0, layout.h / 2.0, 0.1) > 0.0 {
        return None;
    }
    let amb = light.ambient;
    // Housing with a soft top-lit gradient.
    let shade_k = amb * (1.05 - 0.25 * v / layout.h);
    let housing = scale3(look.housing, shade_k);
    let emissive = |c: Rgb, x: f32, y: f32| scale3(tint(c, look.lamp_tint), light.lamp_gain * led(x, y, look.led_dots));
    for cell in layout.cells.iter().flatten() {
        let (x, y) = (u - cell.x0 - 0.5, v - cell.y0 - 0.5);
        if x.abs() > 0.5 || y.abs() > 0.5 {
            continue;
        }
        let round = look.round_lens || matches!(cell.content, Content::Lamp(..));
        let lens_d =
            if round { circle(x, y, 0.0, 0.0, LENS_R) } else { round_box(x, y, 0.0, 0.0, LENS_R, LENS_R, 0.07) };
        if lens_d > 0.0 {
            return Some(housing);
        }
        // Dark lens with a faint sky reflection towards the top.
        let lens = [0.02 + 0.05 * amb * (0.5 - y), 0.02 + 0.05 * amb * (0.5 - y), 0.025 + 0.06 * amb * (0.5 - y)];
        let color = match cell.content {
            Content::Figure(f, c, lit) => {
                if figure_sdf(f, x, y) < 0.0 {
                    if lit { emissive(c, x, y) } else { unlit(c, amb) }
                } else {
                    lens
                }
            }
            Content::Overlay { hand_lit, walk_lit } => {
                let hand = figure_sdf(Figure::Hand, x, y) < 0.0;
                let walker = figure_sdf(Figure::Walking, x, y) < 0.0;
                if hand && hand_lit {
                    emissive(US_ORANGE, x, y)
                } else if walker && walk_lit {
                    emissive(US_WHITE, x, y)
                } else if hand || walker {
                    unlit(if hand { US_ORANGE } else { US_WHITE }, amb)
                } else {
                    lens
                }
            }
            Content::Lamp(c, lit) => {
                if lit {
                    // Brighter centre, as behind a Fresnel lens.
                    let r2 = (x * x + y * y) / (LENS_R * LENS_R);
                    scale3(emissive(c, x, y), 1.1 - 0.35 * r2)
                } else {
                    unlit(c, amb * 1.5)
                }
            }
            Content::Digits(cd, c) => {
                let value = match cd {
                    Countdown::Value(n) => Some(n.min(99)),
                    _ => None,
                };
                let tens = value.and_then(|n| (n >= 10).then_some(n / 10));
                let ones = value.map(|n| n % 10);
                let on = digit_sdf(tens, -0.15, x, y, true).min(digit_sdf(ones, 0.15, x, y, true));
                let off = digit_sdf(tens, -0.15, x, y, false).min(digit_sdf(ones, 0.15, x, y, false));
                if on < 0.0 {
                    emissive(c, x, y)
                } else if off < 0.0 {
                    unlit(c, amb * 0.5)
                } else {
                    lens
                }
            }
        };
        return Some(color);
    }
    Some(housing)
}

/// Paints `look` at `at` under `light` and returns the housing's box in frame px (the
/// label box, before clipping to the canvas).
pub fn render_head(canvas: &mut Canvas, look: &HeadLook, at: &Placement, light: &Lighting) -> BBox {
    let layout = look.layout();
    let bbox = look.bbox(at);
    let scale = at.height_px / layout.h;
    let sx = scale * at.squeeze.max(0.05);
    let (sin, cos) = at.roll.sin_cos();
    // Sub-samples per axis: small heads need more to keep their colours right.
    let n: usize = if at.height_px < 24.0 {
        4
    } else if at.height_px < 60.0 {
        3
    } else {
        2
    };
    let inv_n = 1.0 / n as f32;
    let x1 = bbox.x1.floor().max(0.0) as i32;
    let y1 = bbox.y1.floor().max(0.0) as i32;
    let x2 = (bbox.x2.ceil() as i32).min(canvas.width as i32);
    let y2 = (bbox.y2.ceil() as i32).min(canvas.height as i32);
    for py in y1..y2 {
        for px in x1..x2 {
            let mut acc = [0.0f32; 3];
            let mut hits = 0u32;
            for j in 0..n {
                for i in 0..n {
                    let fx = px as f32 + (i as f32 + 0.5) * inv_n - at.cx;
                    let fy = py as f32 + (j as f32 + 0.5) * inv_n - at.cy;
                    // Undo roll, then scale into head units.
                    let rx = fx * cos + fy * sin;
                    let ry = -fx * sin + fy * cos;
                    let u = rx / sx + layout.w / 2.0;
                    let v = ry / scale + layout.h / 2.0;
                    if let Some(c) = shade(look, &layout, light, u, v) {
                        acc[0] += c[0];
                        acc[1] += c[1];
                        acc[2] += c[2];
                        hits += 1;
                    }
                }
            }
            if hits > 0 {
                let k = 1.0 / hits as f32;
                canvas.blend(px, py, [acc[0] * k, acc[1] * k, acc[2] * k], hits as f32 * inv_n * inv_n);
            }
        }
    }
    // Bloom around each lit lamp.
    if light.glow > 0.0 {
        for cell in layout.cells.iter().flatten() {
            let color = match cell.content {
                Content::Figure(_, c, true) | Content::Lamp(c, true) => c,
                Content::Overlay { hand_lit: true, .. } => US_ORANGE,
                Content::Overlay { walk_lit: true, .. } => US_WHITE,
                Content::Digits(Countdown::Value(_), c) => scale3(c, 0.5),
                _ => continue,
            };
            let (u, v) = (cell.x0 + 0.5 - layout.w / 2.0, cell.y0 + 0.5 - layout.h / 2.0);
            let (fx, fy) = (u * sx, v * scale);
            let cx = at.cx + fx * cos - fy * sin;
            let cy = at.cy + fx * sin + fy * cos;
            let sigma = (LENS_R * scale * light.glow_spread).max(0.6);
            canvas.add_glow(cx, cy, sigma, tint(color, look.lamp_tint), light.glow * 0.35 * light.lamp_gain);
        }
    }
    bbox
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn look(style: HeadStyle, aspect: Aspect) -> HeadLook {
        HeadLook {
            style,
            aspect,
            countdown: Countdown::Absent,
            led_dots: false,
            round_lens: false,
            housing: [0.1, 0.1, 0.1],
            lamp_tint: [1.0, 1.0, 1.0],
        }
    }

    fn mean_in(c: &Canvas, b: BBox) -> Rgb {
        let mut acc = [0.0; 3];
        let mut n = 0.0;
        for y in b.y1 as i32..b.y2 as i32 {
            for x in b.x1 as i32..b.x2 as i32 {
                let p = c.get(x, y);
                for k in 0..3 {
                    acc[k] += p[k];
                }
                n += 1.0;
            }
        }
        scale3(acc, 1.0 / n)
    }

    #[test]
    fn cn_stop_lights_the_top_and_walk_the_bottom() {
        let light = Lighting { ambient: 0.8, lamp_gain: 1.0, glow: 0.0, glow_spread: 1.0 };
        let at = Placement { cx: 50.0, cy: 60.0, height_px: 80.0, squeeze: 1.0, roll: 0.0 };
        for (aspect, top_red) in [(Aspect::PedStop, true), (Aspect::PedWalk, false)] {
            let mut c = Canvas::new(100, 120);
            let b = render_head(&mut c, &look(HeadStyle::PedCn, aspect), &at, &light);
            let mid = (b.y1 + b.y2) / 2.0;
            let top = mean_in(&c, BBox::new(b.x1, b.y1, b.x2, mid));
            let bottom = mean_in(&c, BBox::new(b.x1, mid, b.x2, b.y2));
            if top_red {
                assert!(top[0] > 2.0 * top[1] && top[0] > bottom[0] * 2.0, "top {top:?} bottom {bottom:?}");
            } else {
                assert!(bottom[1] > 2.0 * bottom[0] && bottom[1] > top[1] * 2.0, "top {top:?} bottom {bottom:?}");
            }
        }
    }

    #[test]
    fn box_matches_size_and_aspect() {
        let l = look(HeadStyle::VehicleHorizontal, Aspect::VehGreen);
        let at = Placement { cx: 0.0, cy: 0.0, height_px: 20.0, squeeze: 1.0, roll: 0.0 };
        let b = l.bbox(&at);
        assert!((b.height() - 20.0).abs() < 1e-4);
        assert!(b.width() > 2.5 * b.height());
        let rolled = l.bbox(&Placement { roll: 0.3, ..at });
        assert!(rolled.height() > b.height());
    }

    #[test]
    fn dark_head_has_no_bright_pixels() {
        let light = Lighting { ambient: 0.5, lamp_gain: 1.5, glow: 0.5, glow_spread: 1.5 };
        let at = Placement { cx: 30.0, cy: 30.0, height_px: 40.0, squeeze: 0.8, roll: 0.05 };
        let mut c = Canvas::new(60, 60);
        render_head(&mut c, &look(HeadStyle::PedUs, Aspect::Dark), &at, &light);
        let max = c.px.iter().map(|p| p[0].max(p[1]).max(p[2])).fold(0.0, f32::max);
        assert!(max < 0.2, "{max}");
    }
}
