//! Held-out signal heads: styles, figure drawings and lamp kinds that the training
//! family ([`crate::synth::head`]) never draws.
//!
//! The rasteriser works as the training one does (head units where a lamp section is
//! 1 x 1, several sub-samples per pixel, emissive lit parts, bloom), but every shape
//! and shading rule here is its own: other figure poses and a different hand, figures
//! drawn as outlines, dot-matrix countdown digits, remaining-time bar graphs, LED
//! pitches well away from the training 0.05, incandescent lamps whose unlit figure
//! shows as a phantom, frosted lenses, visors that shade the lens and hide part of it
//! at an angle, and housings with backing borders in colours training never uses.

mod shapes;

use crate::geom::BBox;
use crate::synth::canvas::{Canvas, Rgb};
use crate::synth::head::{Aspect, Countdown, Lighting, Placement};
use crate::synth::rng::Rng;
use crate::synth::sdf::{circle, round_box};
use shapes::{Figure, dot_digit, figure_sdf};

/// Held-out head styles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Japan: red standing figure above a blue-green walking figure, square lenses,
    /// often a wait bar graph beside them.
    PedJp,
    /// Korea: red standing figure above a green walking figure with a remaining-time
    /// bar under it, often a countdown section beside the walking figure.
    PedKr,
    /// United Kingdom / Australia: stocky red standing and green walking figures in a
    /// dark head with a light backing border.
    PedUk,
    /// North America, stacked: orange hand above a white walking person in two sections,
    /// optional dot-matrix countdown below.
    PedUsStacked,
    /// North America, outline LEDs: hand and walking person drawn as outlines in one
    /// lens, dot-matrix countdown beside it.
    PedUsOutline,
    /// Vehicle signal, three lamps stacked.
    VehicleVertical,
    /// Vehicle signal, three lamps side by side.
    VehicleHorizontal,
}

impl std::str::FromStr for Style {
    type Err = crate::signal::UnknownName;
    /// A pedestrian style's name (only those can be chosen on the command line).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        crate::signal::parse_named("pedestrian style", s, &Self::PEDESTRIAN, Self::name)
    }
}

impl Style {
    /// The pedestrian styles.
    pub const PEDESTRIAN: [Style; 5] =
        [Style::PedJp, Style::PedKr, Style::PedUk, Style::PedUsStacked, Style::PedUsOutline];

    /// The name used on the command line (`synth --heldout-styles`).
    pub fn name(self) -> &'static str {
        match self {
            Style::PedJp => "jp",
            Style::PedKr => "kr",
            Style::PedUk => "uk",
            Style::PedUsStacked => "us-stacked",
            Style::PedUsOutline => "us-outline",
            Style::VehicleVertical => "vehicle-vertical",
            Style::VehicleHorizontal => "vehicle-horizontal",
        }
    }

    /// Whether this is a pedestrian head.
    pub fn is_pedestrian(self) -> bool {
        !matches!(self, Style::VehicleVertical | Style::VehicleHorizontal)
    }

    /// Whether the changing phase flashes the stop figure (North America) rather than
    /// the walk figure.
    pub fn flashes_hand(self) -> bool {
        matches!(self, Style::PedUsStacked | Style::PedUsOutline)
    }
}

/// How lit parts emit light.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Lamp {
    /// LED dots `pitch` head units apart (training uses 0.05 only); `hex` staggers rows.
    Led {
        /// Dot pitch, head units.
        pitch: f32,
        /// Staggered rows.
        hex: bool,
    },
    /// A bulb behind a mask: warm, brighter in the middle; the unlit figure shows.
    Incandescent,
    /// A frosted diffuser: even light.
    Frosted,
}

/// How one held-out head looks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Look {
    /// Style.
    pub style: Style,
    /// What is lit.
    pub aspect: Aspect,
    /// Countdown display.
    pub countdown: Countdown,
    /// Remaining-time bar graph: `None` when the head has none, else the lit share, 0-1.
    pub bar: Option<f32>,
    /// Colour of the lit bar segments.
    pub bar_color: Rgb,
    /// Lamp kind.
    pub lamp: Lamp,
    /// Figures drawn as outlines.
    pub outline: bool,
    /// Walking figures face left.
    pub mirror: bool,
    /// Round lenses (else square).
    pub round_lens: bool,
    /// Housing paint.
    pub housing: Rgb,
    /// Backing border paint, when the head has one.
    pub border: Option<Rgb>,
    /// Visor depth, 0 (none) to 1 (deep tunnel visor).
    pub visor: f32,
    /// Colour multipliers on the lit lamps.
    pub lamp_tint: Rgb,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Content {
    Figure(Figure, Rgb, bool),
    /// Hand and walking person in one lens.
    Overlay {
        hand_lit: bool,
        walk_lit: bool,
    },
    Lamp(Rgb, bool),
    Digits(Countdown, Rgb),
    /// Bar graph of `n` segments, `vertical` or not; lit share and colour.
    Bar {
        n: u8,
        vertical: bool,
        share: Option<f32>,
        color: Rgb,
    },
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Cell {
    x0: f32,
    y0: f32,
    w: f32,
    h: f32,
    content: Content,
}

struct Layout {
    w: f32,
    h: f32,
    cells: Vec<Cell>,
}

const MARGIN: f32 = 0.11;
const GAP: f32 = 0.08;
const LENS_R: f32 = 0.43;

const RED: Rgb = [1.0, 0.16, 0.1];
const JP_BLUE_GREEN: Rgb = [0.05, 0.9, 0.85];
const KR_GREEN: Rgb = [0.25, 1.0, 0.4];
const UK_GREEN: Rgb = [0.35, 1.0, 0.35];
const US_ORANGE: Rgb = [1.0, 0.55, 0.15];
const US_WHITE: Rgb = [1.0, 0.97, 0.88];
const VEH_RED: Rgb = [1.0, 0.1, 0.12];
const VEH_YELLOW: Rgb = [1.0, 0.62, 0.05];
const VEH_GREEN: Rgb = [0.05, 0.95, 0.75];

/// Housing paints the training family never uses: silver, cream, navy, maroon, white.
const HOUSINGS: [Rgb; 6] = [
    [0.55, 0.56, 0.55],
    [0.74, 0.7, 0.58],
    [0.08, 0.11, 0.28],
    [0.3, 0.08, 0.07],
    [0.82, 0.82, 0.8],
    [0.35, 0.3, 0.26],
];

impl Look {
    /// A random look of `style`, unlit; the caller sets the aspect, countdown and bar.
    pub fn random(rng: &mut Rng, style: Style) -> Self {
        let pedestrian = style.is_pedestrian();
        let lamp = match rng.below(3) {
            0 => Lamp::Incandescent,
            1 if pedestrian => Lamp::Frosted,
            _ => {
                // Well away from the training pitch of 0.05.
                let pitch = if rng.chance(0.5) { rng.range(0.028, 0.038) } else { rng.range(0.065, 0.09) };
                Lamp::Led { pitch, hex: rng.chance(0.5) }
            }
        };
        let housing = HOUSINGS[rng.below(HOUSINGS.len())];
        let border = match style {
            Style::PedUk => Some(if rng.chance(0.5) { [0.9, 0.9, 0.86] } else { [0.95, 0.8, 0.1] }),
            _ if rng.chance(0.15) => Some([0.9, 0.9, 0.86]),
            _ => None,
        };
        let bar = match style {
            Style::PedJp => rng.chance(0.7).then_some(0.0),
            Style::PedKr => rng.chance(0.8).then_some(0.0),
            _ => None,
        };
        Self {
            style,
            aspect: Aspect::Dark,
            countdown: Countdown::Absent,
            bar,
            bar_color: RED,
            lamp,
            outline: style == Style::PedUsOutline || (pedestrian && rng.chance(0.15)),
            mirror: pedestrian && rng.chance(0.3),
            round_lens: match style {
                Style::VehicleVertical | Style::VehicleHorizontal => true,
                Style::PedUk | Style::PedKr => rng.chance(0.3),
                _ => false,
            },
            housing,
            border,
            visor: if rng.chance(0.6) { rng.range(0.3, 1.0) } else { 0.0 },
            lamp_tint: [rng.range(0.9, 1.06), rng.range(0.9, 1.06), rng.range(0.9, 1.06)],
        }
    }

    /// The walk colour of this style (also the bar's colour during walk).
    pub fn walk_color(&self) -> Rgb {
        match self.style {
            Style::PedJp => JP_BLUE_GREEN,
            Style::PedKr => KR_GREEN,
            Style::PedUsStacked | Style::PedUsOutline => US_WHITE,
            _ => UK_GREEN,
        }
    }

    /// The stop colour of this style (also the bar's colour during don't walk).
    pub fn stop_color(&self) -> Rgb {
        if self.style.flashes_hand() { US_ORANGE } else { RED }
    }

    fn layout(&self) -> Layout {
        let stop = self.aspect == Aspect::PedStop;
        let walk = self.aspect == Aspect::PedWalk;
        let m = MARGIN;
        let cell = |x0: f32, y0: f32, content| Cell { x0: m + x0, y0: m + y0, w: 1.0, h: 1.0, content };
        let walker = |f| Content::Figure(f, self.walk_color(), walk);
        let mut cells = Vec::with_capacity(4);
        match self.style {
            Style::PedJp => {
                cells.push(cell(0.0, 0.0, Content::Figure(Figure::StandingEa, RED, stop)));
                cells.push(cell(0.0, 1.0 + GAP, walker(Figure::WalkingEa)));
                if self.bar.is_some() {
                    cells.push(Cell {
                        x0: m + 1.0 + GAP,
                        y0: m + 0.1,
                        w: 0.26,
                        h: 1.8 + GAP,
                        content: Content::Bar { n: 8, vertical: true, share: self.bar, color: self.bar_color },
                    });
                }
            }
            Style::PedKr => {
                cells.push(cell(0.0, 0.0, Content::Figure(Figure::StandingEa, RED, stop)));
                cells.push(cell(0.0, 1.0 + GAP, walker(Figure::WalkingEa)));
                let mut below = 2.0 + 2.0 * GAP;
                if self.bar.is_some() {
                    cells.push(Cell {
                        x0: m + 0.08,
                        y0: m + below,
                        w: 0.84,
                        h: 0.2,
                        content: Content::Bar { n: 6, vertical: false, share: self.bar, color: self.bar_color },
                    });
                    below += 0.2 + GAP;
                }
                let _ = below;
                if self.countdown != Countdown::Absent {
                    let c = if walk { self.walk_color() } else { RED };
                    cells.push(cell(1.0 + GAP, 1.0 + GAP, Content::Digits(self.countdown, c)));
                }
            }
            Style::PedUk => {
                cells.push(cell(0.0, 0.0, Content::Figure(Figure::StandingUk, RED, stop)));
                cells.push(cell(0.0, 1.0 + GAP, walker(Figure::WalkingUk)));
            }
            Style::PedUsStacked => {
                cells.push(cell(0.0, 0.0, Content::Figure(Figure::Hand, US_ORANGE, stop)));
                cells.push(cell(0.0, 1.0 + GAP, walker(Figure::WalkingUs)));
                if self.countdown != Countdown::Absent {
                    cells.push(cell(0.0, 2.0 + 2.0 * GAP, Content::Digits(self.countdown, US_ORANGE)));
                }
            }
            Style::PedUsOutline => {
                if self.countdown != Countdown::Absent {
                    cells.push(cell(0.0, 0.0, Content::Digits(self.countdown, US_ORANGE)));
                    cells.push(cell(1.0 + GAP, 0.0, Content::Overlay { hand_lit: stop, walk_lit: walk }));
                } else {
                    cells.push(cell(0.0, 0.0, Content::Overlay { hand_lit: stop, walk_lit: walk }));
                }
            }
            Style::VehicleVertical | Style::VehicleHorizontal => {
                let vertical = self.style == Style::VehicleVertical;
                for (i, (c, a)) in
                    [(VEH_RED, Aspect::VehRed), (VEH_YELLOW, Aspect::VehYellow), (VEH_GREEN, Aspect::VehGreen)]
                        .into_iter()
                        .enumerate()
                {
                    let off = i as f32 * (1.0 + GAP);
                    let (x0, y0) = if vertical { (0.0, off) } else { (off, 0.0) };
                    cells.push(cell(x0, y0, Content::Lamp(c, self.aspect == a)));
                }
            }
        }
        let w = cells.iter().map(|c| c.x0 + c.w).fold(0.0, f32::max) + m;
        let h = cells.iter().map(|c| c.y0 + c.h).fold(0.0, f32::max) + m;
        Layout { w, h, cells }
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

    /// Whether the lamps are LEDs (which flicker on a rolling shutter).
    pub fn is_led(&self) -> bool {
        matches!(self.lamp, Lamp::Led { .. })
    }
}

fn tint(c: Rgb, t: Rgb) -> Rgb {
    [c[0] * t[0], c[1] * t[1], c[2] * t[2]]
}

fn scale3(c: Rgb, k: f32) -> Rgb {
    [c[0] * k, c[1] * k, c[2] * k]
}

fn mix(a: Rgb, b: Rgb, t: f32) -> Rgb {
    [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t]
}

/// Brightness factor of the lamp kind at cell point `(x, y)` when lit.
fn lamp_factor(lamp: Lamp, x: f32, y: f32) -> f32 {
    match lamp {
        Lamp::Led { pitch, hex } => {
            let row = (y / pitch).floor();
            let shift = if hex && row.rem_euclid(2.0) >= 1.0 { 0.5 } else { 0.0 };
            let gx = (x / pitch + shift).rem_euclid(1.0) - 0.5;
            let gy = (y / pitch).rem_euclid(1.0) - 0.5;
            if gx * gx + gy * gy < 0.1 { 1.6 } else { 0.4 }
        }
        Lamp::Incandescent => 1.3 - 0.7 * (x * x + y * y) / (LENS_R * LENS_R),
        Lamp::Frosted => 1.0,
    }
}

/// Shades one sample at head units `(u, v)`; `None` outside the housing.
fn shade(look: &Look, layout: &Layout, light: &Lighting, squeeze: f32, u: f32, v: f32) -> Option<Rgb> {
    let edge = round_box(u, v, layout.w / 2.0, layout.h / 2.0, layout.w / 2.0, layout.h / 2.0, 0.14);
    if edge > 0.0 {
        return None;
    }
    let amb = light.ambient;
    if let Some(b) = look.border
        && edge > -0.07
    {
        return Some(scale3(b, amb * 0.95));
    }
    let housing = scale3(look.housing, amb * (0.85 + 0.2 * (1.0 - v / layout.h)));
    let warm = matches!(look.lamp, Lamp::Incandescent);
    let emissive = |c: Rgb, x: f32, y: f32| {
        let c = if warm { mix(c, [1.0, 0.82, 0.55], 0.22) } else { c };
        scale3(tint(c, look.lamp_tint), light.lamp_gain * lamp_factor(look.lamp, x, y))
    };
    // Unlit parts: incandescent masks show a clear phantom of the figure; LEDs barely.
    let unlit = |c: Rgb| {
        let k = if warm { 0.22 } else { 0.06 };
        [0.02 + c[0] * k * amb, 0.02 + c[1] * k * amb, 0.025 + c[2] * k * amb]
    };
    for cell in &layout.cells {
        let (x, y) = (u - cell.x0 - cell.w / 2.0, v - cell.y0 - cell.h / 2.0);
        if x.abs() > cell.w / 2.0 || y.abs() > cell.h / 2.0 {
            continue;
        }
        if let Content::Bar { n, vertical, share, color } = cell.content {
            let (along, across, len) = if vertical { (-y, x, cell.h) } else { (x, y, cell.w) };
            let seg = len / f32::from(n);
            let i = ((along + len / 2.0) / seg).floor();
            let local = (along + len / 2.0) - (i + 0.5) * seg;
            let thick = if vertical { cell.w } else { cell.h } * 0.38;
            if local.abs() > seg * 0.36 || across.abs() > thick {
                return Some(scale3(housing, 0.4));
            }
            let lit = share.is_some_and(|s| i < (s * f32::from(n)).ceil());
            return Some(if lit { emissive(color, x * 0.3, y * 0.3) } else { unlit(color) });
        }
        let round = look.round_lens || matches!(cell.content, Content::Lamp(..));
        let lens_d =
            if round { circle(x, y, 0.0, 0.0, LENS_R) } else { round_box(x, y, 0.0, 0.0, LENS_R, LENS_R, 0.04) };
        if lens_d > 0.0 {
            return Some(housing);
        }
        // A visor shades the top of the lens and, seen at an angle, hides its far side.
        if look.visor > 0.0 {
            let hidden = LENS_R - look.visor * (1.0 - squeeze) * 1.4;
            if x > hidden {
                return Some(scale3(look.housing, amb * 0.35));
            }
        }
        let shadow = 1.0 - look.visor * 0.6 * ((0.1 - y) / 0.55).clamp(0.0, 1.0);
        let lens = scale3([0.03 + 0.04 * amb * (0.5 - y), 0.03 + 0.04 * amb * (0.5 - y), 0.035 + 0.05 * amb], shadow);
        let fx = |x: f32| if look.mirror { -x } else { x };
        let inside = |f: Figure, x: f32, y: f32| {
            let d = figure_sdf(f, x, y);
            if look.outline { d < 0.0 && d > -0.035 } else { d < 0.0 }
        };
        let color = match cell.content {
            Content::Figure(f, c, lit) => {
                let x = if matches!(f, Figure::WalkingEa | Figure::WalkingUk | Figure::WalkingUs) { fx(x) } else { x };
                if inside(f, x, y) {
                    if lit { emissive(c, x, y) } else { scale3(unlit(c), shadow) }
                } else if lit && warm {
                    // Light leaking through an incandescent mask.
                    mix(lens, scale3(c, light.lamp_gain), 0.06)
                } else {
                    lens
                }
            }
            Content::Overlay { hand_lit, walk_lit } => {
                // Hand on the left half, person on the right, as on many outline heads.
                let hand = inside(Figure::Hand, (x + 0.2) * 1.7, y * 1.1);
                let walker = inside(Figure::WalkingUs, fx((x - 0.2) * 1.7), y * 1.1);
                if hand && hand_lit {
                    emissive(US_ORANGE, x, y)
                } else if walker && walk_lit {
                    emissive(US_WHITE, x, y)
                } else if hand || walker {
                    scale3(unlit(if hand { US_ORANGE } else { US_WHITE }), shadow)
                } else {
                    lens
                }
            }
            Content::Lamp(c, lit) => {
                if lit {
                    emissive(c, x, y)
                } else {
                    scale3(unlit(c), shadow * 1.5)
                }
            }
            Content::Digits(cd, c) => {
                let value = match cd {
                    Countdown::Value(n) => Some(n),
                    _ => None,
                };
                match dot_digit(value, x, y) {
                    Some(true) => scale3(tint(c, look.lamp_tint), light.lamp_gain * 1.3),
                    Some(false) => unlit(c),
                    None => lens,
                }
            }
            Content::Bar { .. } => lens,
        };
        return Some(color);
    }
    Some(housing)
}

/// Paints `look` at `at` under `light` and returns the housing's box in frame px, and
/// the centres (frame px), radii (px) and colours of its lit lamps, for flare.
pub fn render(canvas: &mut Canvas, look: &Look, at: &Placement, light: &Lighting) -> (BBox, Vec<(f32, f32, f32, Rgb)>) {
    let layout = look.layout();
    let bbox = look.bbox(at);
    let scale = at.height_px / layout.h;
    let sx = scale * at.squeeze.max(0.05);
    let (sin, cos) = at.roll.sin_cos();
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
                    let rx = fx * cos + fy * sin;
                    let ry = -fx * sin + fy * cos;
                    let u = rx / sx + layout.w / 2.0;
                    let v = ry / scale + layout.h / 2.0;
                    if let Some(c) = shade(look, &layout, light, at.squeeze, u, v) {
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
    let mut lit = Vec::new();
    for cell in &layout.cells {
        let color = match cell.content {
            Content::Figure(_, c, true) | Content::Lamp(c, true) => c,
            Content::Overlay { hand_lit: true, .. } => US_ORANGE,
            Content::Overlay { walk_lit: true, .. } => US_WHITE,
            _ => continue,
        };
        let (u, v) = (cell.x0 + cell.w / 2.0 - layout.w / 2.0, cell.y0 + cell.h / 2.0 - layout.h / 2.0);
        let (fx, fy) = (u * sx, v * scale);
        let cx = at.cx + fx * cos - fy * sin;
        let cy = at.cy + fx * sin + fy * cos;
        let r = LENS_R * scale;
        if light.glow > 0.0 {
            let sigma = (r * light.glow_spread).max(0.6);
            canvas.add_glow(cx, cy, sigma, tint(color, look.lamp_tint), light.glow * 0.3 * light.lamp_gain);
        }
        lit.push((cx, cy, r, color));
    }
    (bbox, lit)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn lighting() -> Lighting {
        Lighting { ambient: 0.8, lamp_gain: 1.0, glow: 0.0, glow_spread: 1.0 }
    }

    fn mean_in(c: &Canvas, b: BBox) -> Rgb {
        let mut acc = [0.0; 3];
        let mut n = 0.0;
        for y in b.y1.max(0.0) as i32..b.y2 as i32 {
            for x in b.x1.max(0.0) as i32..b.x2 as i32 {
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
    fn every_pedestrian_style_lights_its_walk_figure_in_its_walk_colour() {
        let at = Placement { cx: 60.0, cy: 80.0, height_px: 120.0, squeeze: 1.0, roll: 0.0 };
        for (k, style) in Style::PEDESTRIAN.into_iter().enumerate() {
            for seed in 0..6 {
                let mut look = Look::random(&mut Rng::new(seed * 31 + k as u64), style);
                look.aspect = Aspect::PedWalk;
                let mut walk = Canvas::new(160, 160);
                let b = render(&mut walk, &look, &at, &lighting()).0;
                look.aspect = Aspect::PedStop;
                let mut stop = Canvas::new(160, 160);
                render(&mut stop, &look, &at, &lighting());
                let (w, s) = (mean_in(&walk, b), mean_in(&stop, b));
                // What lighting the walk figure instead of the stop figure adds to the head.
                let d = [w[0] - s[0], w[1] - s[1], w[2] - s[2]];
                if look.walk_color()[0] < 0.5 {
                    // Green or blue-green walk, red stop.
                    assert!(d[1] > 0.01 && d[0] < -0.01, "{style:?} seed {seed}: walk {w:?} stop {s:?}");
                } else {
                    // White walking person against an orange hand: blue tells them apart.
                    assert!(d[2] > 0.01, "{style:?} seed {seed}: walk {w:?} stop {s:?}");
                }
            }
        }
    }

    #[test]
    fn japanese_walk_is_blue_green_not_the_training_green() {
        let at = Placement { cx: 60.0, cy: 80.0, height_px: 120.0, squeeze: 1.0, roll: 0.0 };
        let mut look = Look::random(&mut Rng::new(2), Style::PedJp);
        look.aspect = Aspect::PedWalk;
        look.lamp = Lamp::Frosted;
        look.outline = false;
        let mut c = Canvas::new(160, 160);
        let b = render(&mut c, &look, &at, &lighting()).0;
        look.aspect = Aspect::PedStop;
        let mut stop = Canvas::new(160, 160);
        render(&mut stop, &look, &at, &lighting());
        let lower = BBox::new(b.x1, (b.y1 + b.y2) / 2.0, b.x1 + b.width() * 0.5, b.y2);
        let (w, s) = (mean_in(&c, lower), mean_in(&stop, lower));
        let d = [w[0] - s[0], w[1] - s[1], w[2] - s[2]];
        // Blue-green: blue rises with green, red barely.
        assert!(d[1] > 0.05 && d[2] > 0.8 * d[1] && d[0] < 0.2 * d[1], "{d:?}");
    }

    #[test]
    fn dot_matrix_digits_light_the_right_dots() {
        // The top-left dot of the ones digit is lit for a 7, not for a 1 nor a blank display.
        let pitch = 0.07;
        let (x, y) = ((6.0 + 0.5) * pitch - 5.5 * pitch, 0.5 * pitch - 3.5 * pitch);
        assert_eq!(dot_digit(Some(7), x, y), Some(true));
        assert_eq!(dot_digit(Some(21), x, y), Some(false));
        assert_eq!(dot_digit(None, x, y), Some(false));
        assert_eq!(dot_digit(Some(1), 0.0, 0.0), None, "the blank column between digits");
    }

    #[test]
    fn box_holds_the_painted_pixels() {
        let light = Lighting { ambient: 0.6, lamp_gain: 1.4, glow: 0.0, glow_spread: 1.0 };
        for (k, style) in Style::PEDESTRIAN.into_iter().chain([Style::VehicleHorizontal]).enumerate() {
            let mut look = Look::random(&mut Rng::new(k as u64), style);
            look.aspect = if style.is_pedestrian() { Aspect::PedStop } else { Aspect::VehRed };
            look.countdown = Countdown::Value(17);
            let at = Placement { cx: 50.0, cy: 50.0, height_px: 40.0, squeeze: 0.7, roll: 0.1 };
            let mut c = Canvas::new(100, 100);
            let b = render(&mut c, &look, &at, &light).0;
            for y in 0..100 {
                for x in 0..100 {
                    let p = c.get(x, y);
                    if p != [0.0; 3] {
                        let (fx, fy) = (x as f32 + 0.5, y as f32 + 0.5);
                        assert!(fx > b.x1 - 1.0 && fx < b.x2 + 1.0 && fy > b.y1 - 1.0 && fy < b.y2 + 1.0, "{style:?}");
                    }
                }
            }
        }
    }
}
