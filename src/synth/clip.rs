//! Crossing clips: a camera carried by a pedestrian walks up to the kerb while the
//! signals run their cycle; every frame is rendered, encoded, and its ground truth
//! recorded.
//!
//! The world is a flat street seen through a pinhole camera (about 65 degrees wide,
//! chest or eye height, tilted up a little). Signal heads stand on poles across the
//! road at real sizes (a lamp section is 0.3 m), so a head is a few pixels tall at 30 m
//! and grows as the walker nears the kerb. The street behind is painted once, larger
//! than the frame, and zoomed and shifted each frame with the walk and the hand shake.
//!
//! Ground truth comes from the same state that paints the frame: the relevant head's
//! phase gives `walk`/`dont_walk`/`changing`, and a frame where that head is out of
//! view, hidden by a passing bus, or too small to see is `none`. Runs of equal frames
//! become segments whose edges fall on frame times.

mod scenario;

use super::Designs;
use super::SynthError;
use super::canvas::{Canvas, Rgb};
use super::design::HeadDesign;
use super::head::{Aspect, Placement};
use super::heldout;
use super::rng::Rng;
use super::scene::paint_street_at;
use super::sdf::round_box;
use super::stills::Backgrounds;
use crate::geom::BBox;
use crate::truth::{ClipSource, FrameBoxes, Segment, TIMELINE_FORMAT_VERSION, Timeline, TruthBox, TruthSignal};
use scenario::{Role, Scenario};

/// A named kind of scene.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// Daytime Chinese crossing with a countdown display.
    CnDayCountdown,
    /// US crossing: hand / walking person with countdown.
    Us,
    /// European crossing: red and green figures, flashing green before red.
    Eu,
    /// Night scene with glare, noise and LED flicker.
    Night,
    /// A vehicle signal facing the walker shows a different state than the pedestrian signal.
    VehicleConflict,
    /// A bus passes and hides the signal for a few seconds.
    Occlusion,
    /// Everything drawn at random from the seed.
    Random,
    /// No pedestrian signal at all: only vehicle lights, the parallel one far down the
    /// road and small, so that a detector sees it in some frames and not in others.
    VehicleOnly,
}

impl Preset {
    /// All presets.
    pub const ALL: [Preset; 8] = [
        Preset::CnDayCountdown,
        Preset::Us,
        Preset::Eu,
        Preset::Night,
        Preset::VehicleConflict,
        Preset::Occlusion,
        Preset::Random,
        Preset::VehicleOnly,
    ];

    /// The name used on the command line and in the timeline.
    pub fn name(self) -> &'static str {
        match self {
            Preset::CnDayCountdown => "cn-day-countdown",
            Preset::Us => "us",
            Preset::Eu => "eu",
            Preset::Night => "night",
            Preset::VehicleConflict => "vehicle-conflict",
            Preset::Occlusion => "occlusion",
            Preset::Random => "random",
            Preset::VehicleOnly => "vehicle-only",
        }
    }
}

impl std::str::FromStr for Preset {
    type Err = crate::signal::UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        crate::signal::parse_named("preset", s, &Self::ALL, Self::name)
    }
}

/// Settings of `safecross synth clip`.
#[derive(Debug, Clone, PartialEq)]
pub struct ClipConfig {
    /// Scene preset; default `cn-day-countdown`.
    pub preset: Preset,
    /// Seed; default 1.
    pub seed: u64,
    /// Length, s; default 20, range 1-600.
    pub seconds: f64,
    /// Frame width, px, even; default 960.
    pub width: u32,
    /// Frame height, px, even; default 540.
    pub height: u32,
    /// Frames per second; default 15.
    pub fps: f64,
    /// Target H.264 bit rate, bits/s; default 400 000 (about 1 MB per 20 s).
    pub bitrate_bps: u32,
    /// Keyframe interval, s; default 2.
    pub keyframe_interval_s: f64,
    /// Design family of heads, streets and camera; default [`Designs::Train`]. With
    /// [`Designs::Heldout`] the preset keeps its scene (country, night, bus, conflict)
    /// but every head, the street and the camera come from the held-out family, and the
    /// timeline's preset reads `<preset>+heldout`.
    pub designs: Designs,
    /// With [`Designs::Heldout`], the pedestrian styles to draw from; default empty: all.
    /// Splits the family by style, some for training and the rest held out.
    pub heldout_styles: Vec<heldout::head::Style>,
    /// Folders of real photos (YOLO datasets) to use as the street behind the heads
    /// instead of a drawn one; default empty: drawn. Only labelled photos that show no
    /// pedestrian head are used, since the clip's truth follows the drawn head. The
    /// photos' own vehicle lights stay in view, unlabelled.
    pub backgrounds: Vec<std::path::PathBuf>,
}

impl Default for ClipConfig {
    fn default() -> Self {
        Self {
            preset: Preset::CnDayCountdown,
            seed: 1,
            seconds: 20.0,
            width: 960,
            height: 540,
            fps: 15.0,
            bitrate_bps: 400_000,
            keyframe_interval_s: 2.0,
            designs: Designs::Train,
            heldout_styles: Vec::new(),
            backgrounds: Vec::new(),
        }
    }
}

impl ClipConfig {
    /// Checks ranges.
    ///
    /// # Errors
    /// [`SynthError::Config`] naming the field.
    pub fn validate(&self) -> Result<(), SynthError> {
        let bad = |field, message: String| Err(SynthError::Config { field, message });
        if !(self.seconds.is_finite() && (0.2..=600.0).contains(&self.seconds)) {
            return bad("seconds", format!("must be 0.2-600, got {}", self.seconds));
        }
        if !self.width.is_multiple_of(2)
            || !self.height.is_multiple_of(2)
            || !(32..=3840).contains(&self.width)
            || !(32..=2160).contains(&self.height)
        {
            return bad("size", format!("must be even, 32-3840 x 32-2160, got {}x{}", self.width, self.height));
        }
        if !(self.fps.is_finite() && (1.0..=60.0).contains(&self.fps)) {
            return bad("fps", format!("must be 1-60, got {}", self.fps));
        }
        if self.bitrate_bps < 10_000 {
            return bad("bitrate_bps", format!("must be at least 10000, got {}", self.bitrate_bps));
        }
        heldout::check_styles(self.designs, &self.heldout_styles)
    }

    /// Number of frames.
    pub fn frame_count(&self) -> u64 {
        (self.seconds * self.fps).round().max(1.0) as u64
    }
}

/// Pinhole camera of one frame.
struct Camera {
    w: f32,
    h: f32,
    f: f32,
    /// Row of the horizon before shake, px.
    horizon: f32,
    cam_h: f32,
    walked: f32,
    dx: f32,
    dy: f32,
    roll: f32,
}

impl Camera {
    /// Projects world `(x, y, z)` (z from the start line) to frame px; `None` behind the camera.
    fn project(&self, x: f32, y: f32, z: f32) -> Option<(f32, f32, f32)> {
        let zr = z - self.walked;
        if zr < 0.5 {
            return None;
        }
        let u = self.f * x / zr;
        let v = self.horizon - self.h / 2.0 - self.f * (y - self.cam_h) / zr;
        let (s, c) = self.roll.sin_cos();
        let (ru, rv) = (u * c - v * s, u * s + v * c);
        Some((self.w / 2.0 + ru + self.dx, self.h / 2.0 + rv + self.dy, zr))
    }
}

fn visible_fraction(b: &BBox, w: f32, h: f32) -> f32 {
    let c = b.clamp_to(w, h);
    if b.area() <= 0.0 { 0.0 } else { c.area() / b.area() }
}

fn overlap_fraction(b: &BBox, o: &BBox) -> f32 {
    let ix = (b.x2.min(o.x2) - b.x1.max(o.x1)).max(0.0);
    let iy = (b.y2.min(o.y2) - b.y1.max(o.y1)).max(0.0);
    if b.area() <= 0.0 { 0.0 } else { ix * iy / b.area() }
}

fn round1(v: f32) -> f32 {
    (v * 10.0).round() / 10.0
}

/// Samples the backdrop into the frame with zoom `k` about the vanishing point.
fn sample_backdrop(frame: &mut Canvas, backdrop: &Canvas, cam: &Camera, k: f32) {
    let (w, h) = (frame.width, frame.height);
    let (bw, bh) = (backdrop.width as f32, backdrop.height as f32);
    let (s, c) = cam.roll.sin_cos();
    let vy = cam.horizon - cam.h / 2.0;
    for y in 0..h {
        for x in 0..w {
            let qx0 = x as f32 + 0.5 - cam.w / 2.0 - cam.dx;
            let qy0 = y as f32 + 0.5 - cam.h / 2.0 - cam.dy;
            let qx = qx0 * c + qy0 * s;
            let qy = -qx0 * s + qy0 * c;
            let bx = bw / 2.0 + qx / k - 0.5;
            let by = bh / 2.0 + vy + (qy - vy) / k - 0.5;
            let x0 = bx.floor();
            let y0 = by.floor();
            let (fx, fy) = (bx - x0, by - y0);
            let (xi, yi) = (x0 as i32, y0 as i32);
            let p00 = backdrop.get(xi.clamp(0, bw as i32 - 1), yi.clamp(0, bh as i32 - 1));
            let p10 = backdrop.get((xi + 1).clamp(0, bw as i32 - 1), yi.clamp(0, bh as i32 - 1));
            let p01 = backdrop.get(xi.clamp(0, bw as i32 - 1), (yi + 1).clamp(0, bh as i32 - 1));
            let p11 = backdrop.get((xi + 1).clamp(0, bw as i32 - 1), (yi + 1).clamp(0, bh as i32 - 1));
            let mut out = [0.0; 3];
            for ch in 0..3 {
                let top = p00[ch] + (p10[ch] - p00[ch]) * fx;
                let bot = p01[ch] + (p11[ch] - p01[ch]) * fx;
                out[ch] = top + (bot - top) * fy;
            }
            frame.px[y * w + x] = out;
        }
    }
}

fn paint_bus(canvas: &mut Canvas, b: &BBox, color: Rgb, ambient: f32, night: bool) {
    let body = [color[0] * ambient, color[1] * ambient, color[2] * ambient];
    let (cx, cy) = b.center();
    let (hx, hy) = (b.width() / 2.0, b.height() / 2.0);
    let r = (b.height() * 0.06).max(1.0);
    canvas.fill_sdf([b.x1 - 1.0, b.y1 - 1.0, b.x2 + 1.0, b.y2 + 1.0], body, 1.0, |x, y| {
        round_box(x, y, cx, cy, hx, hy, r)
    });
    // Window band with pillars.
    let glass = if night { [0.25, 0.22, 0.15] } else { [0.12 * ambient, 0.15 * ambient, 0.2 * ambient] };
    let (wy1, wy2) = (b.y1 + b.height() * 0.12, b.y1 + b.height() * 0.45);
    let n = 6;
    let pane = b.width() / n as f32;
    for i in 0..n {
        let x1 = b.x1 + i as f32 * pane + pane * 0.08;
        canvas.fill_rect(x1, wy1, x1 + pane * 0.84, wy2, glass, 1.0);
    }
    let tyre = [0.03, 0.03, 0.03];
    for fx in [0.18, 0.82] {
        let x = b.x1 + b.width() * fx;
        canvas.fill_rect(
            x - b.height() * 0.12,
            b.y2 - b.height() * 0.12,
            x + b.height() * 0.12,
            b.y2 + b.height() * 0.04,
            tyre,
            1.0,
        );
    }
}

/// Renders a clip frame by frame, handing each packed RGB8 frame to `on_frame`, and
/// returns its ground truth.
///
/// # Errors
/// [`SynthError::Config`] for bad settings; whatever `on_frame` returns.
pub fn render_clip(
    config: &ClipConfig,
    mut on_frame: impl FnMut(u64, &[u8]) -> Result<(), SynthError>,
) -> Result<Timeline, SynthError> {
    config.validate()?;
    // The held-out family draws from a stream of its own.
    let family_salt = match config.designs {
        Designs::Train => 0,
        Designs::Heldout => 0x4E1D_0D00_0000_0000,
    };
    let mut rng = Rng::new(config.seed ^ 0x5AFE_C205_5000_0000 ^ family_salt);
    let mut scenario = Scenario::new(config, &mut rng);
    let effects = (config.designs == Designs::Heldout).then(|| {
        scenario.restyle_heldout(config.preset, &config.heldout_styles, &mut rng);
        heldout::camera::Effects::random(&mut rng, scenario.light.night)
    });
    let (w, h) = (config.width as usize, config.height as usize);
    let (wf, hf) = (w as f32, h as f32);
    let scale = wf / 960.0;
    let f = wf / 2.0 / (65.0f32.to_radians() / 2.0).tan();
    let horizon = hf / 2.0 + f * scenario.pitch_rad.tan();
    // The backdrop is larger than the frame so that shake and pans stay inside it.
    let (bw, bh) =
        ((wf * 1.4) as usize + 2 * (wf * 0.9) as usize * usize::from(scenario.pan.is_some()), (hf * 1.4) as usize);
    let mut backdrop = Canvas::new(bw, bh);
    let backdrop_horizon = bh as f32 / 2.0 + (horizon - hf / 2.0);
    // Drawn streets need no photos: nothing is listed or read for them.
    let photos = if config.backgrounds.is_empty() {
        Backgrounds::default()
    } else {
        let photos = Backgrounds::scan(&config.backgrounds)?.without_pedestrian_heads()?;
        if photos.is_empty() {
            let dirs = config.backgrounds.iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(", ");
            return Err(SynthError::NoBackgrounds { dirs });
        }
        photos
    };
    // The photo is drawn from a stream of its own, so a seed keeps its scene with or
    // without photos.
    let mut photo_rng = Rng::new(config.seed ^ 0xB4C6_D000_0000_0000);
    let photo_index = photo_rng.below(photos.len().max(1));
    if let Some(photo) = photos.load_cover(photo_index, bw as u32, bh as u32, &mut photo_rng)? {
        backdrop = photo;
        if scenario.light.night {
            // A day photo made night: darker, and bluer, as a camera's night exposure is.
            backdrop.grade(scenario.light.ambient * 0.8, 0.0, [0.85, 0.95, 1.15]);
        }
    } else {
        match config.designs {
            Designs::Train => {
                paint_street_at(&mut backdrop, &mut rng, scenario.light, backdrop_horizon);
            }
            Designs::Heldout => {
                heldout::scene::paint_scene_at(&mut backdrop, &mut rng, scenario.light, backdrop_horizon);
            }
        }
    }
    let mut frame = Canvas::new(w, h);
    let mut rgb = Vec::with_capacity(w * h * 3);
    let n = config.frame_count();
    let mut truth: Vec<TruthSignal> = Vec::with_capacity(n as usize);
    let mut all_boxes = Vec::with_capacity(n as usize);
    let start_dist = scenario.kerb_to_signal_m + scenario.walk_m;
    for i in 0..n {
        let t = (i as f64 / config.fps) as f32;
        let mut frng = Rng::for_item(config.seed ^ 0x0F4A_3E00, i);
        let walked = scenario.walked(t);
        let (dx, dy, roll) = scenario.shake(t, scale);
        let cam = Camera { w: wf, h: hf, f, horizon, cam_h: scenario.cam_h_m, walked, dx, dy, roll };
        // Things across the road get closer as the walker advances.
        let depth = start_dist + 8.0;
        let k = depth / (depth - walked);
        sample_backdrop(&mut frame, &backdrop, &cam, k);
        // Occluding bus, in the road between the kerb and the signals.
        let bus_box = scenario.bus.and_then(|bus| {
            let rel = scenario.heads.first()?;
            let z_bus = start_dist - scenario.kerb_to_signal_m + bus.depth_from_kerb_m;
            // The relevant head's line of sight crosses the bus's lane at this x.
            let z_rel_head = rel.z_m - scenario.walk_m;
            let z_rel_bus = z_bus - scenario.walk_m;
            let x_sight = rel.x_m * z_rel_bus / z_rel_head;
            let front = x_sight + bus.speed_mps * (t - bus.t_cover);
            let back = front - bus.length_m;
            let (u1, v1, _) = cam.project(back, 3.2, z_bus)?;
            let (u2, v2, _) = cam.project(front, 0.35, z_bus)?;
            Some((BBox::new(u1.min(u2), v1.min(v2), u1.max(u2), v1.max(v2)), bus.color))
        });
        let mut boxes = Vec::new();
        let mut relevant_truth = TruthSignal::None;
        let mut drawn = Vec::new();
        for head in &scenario.heads {
            let Some((cx, cy, zr)) = cam.project(head.x_m, head.y_m, head.z_m) else { continue };
            let mut look = head.look;
            let tt = f64::from(t);
            match head.role {
                Role::Relevant => {
                    let (aspect, countdown) = scenario.cycle.pedestrian(look.cycle_style(), head.countdown, tt);
                    match &mut look {
                        HeadDesign::Train(l) => {
                            l.aspect = aspect;
                            l.countdown = countdown;
                        }
                        HeadDesign::Heldout(l) => {
                            l.aspect = aspect;
                            l.countdown = countdown;
                            heldout::set_bar(l, &scenario.cycle, tt);
                        }
                    }
                }
                Role::OtherPed => look.set_aspect(scenario.cycle.pedestrian_crossing(tt)),
                Role::Parallel => look.set_aspect(scenario.cycle.vehicle_parallel(tt)),
                Role::Crossing => look.set_aspect(scenario.cycle.vehicle_crossing(tt)),
                Role::Leading => look.set_aspect(scenario.cycle.vehicle_leading(tt)),
            }
            let at = Placement { cx, cy, height_px: f * head.height_m / zr, squeeze: head.squeeze, roll };
            let pole_w = (f * 0.12 / zr).max(0.8);
            let ground = cam.project(head.x_m, 0.0, head.z_m).map_or(hf, |p| p.1);
            drawn.push((look, at, head.light, pole_w, ground, head.role));
        }
        let pole_grey = [0.22 * scenario.light.ambient, 0.23 * scenario.light.ambient, 0.22 * scenario.light.ambient];
        for (look, at, _, pole_w, ground, _) in &drawn {
            let b = look.bbox(at);
            frame.fill_rect(
                at.cx - pole_w / 2.0,
                b.y2 - b.height() * 0.3,
                at.cx + pole_w / 2.0,
                *ground,
                pole_grey,
                1.0,
            );
        }
        let mut lamps = Vec::new();
        for (look, at, light, _, _, role) in &drawn {
            let b = look.render(&mut frame, at, light, &mut lamps);
            if let Some((period, beat, depth)) = scenario.flicker
                && look.is_led()
                && look.aspect() != Aspect::Dark
            {
                frame.roll_flicker(b.to_array(), period * hf, (t * beat).fract(), depth);
            }
            let occluded = bus_box.is_some_and(|(bb, _)| overlap_fraction(&b, &bb) > 0.4);
            let visible = visible_fraction(&b, wf, hf) >= 0.6 && b.height() >= 4.0 && !occluded;
            if !visible {
                continue;
            }
            let c = b.clamp_to(wf, hf);
            let relevant = *role == Role::Relevant;
            if relevant {
                let (phase, _, _) = scenario.cycle.phase_at(f64::from(t));
                relevant_truth = phase.truth();
            }
            boxes.push(TruthBox {
                class: look.aspect().class_name().to_string(),
                bbox: [round1(c.x1), round1(c.y1), round1(c.x2), round1(c.y2)],
                relevant,
                parallel: *role == Role::Parallel,
            });
        }
        if let Some((bb, color)) = bus_box {
            paint_bus(&mut frame, &bb, color, scenario.light.ambient.max(0.3), scenario.light.night);
        }
        if let Some(fx) = &effects {
            fx.add_flare(&mut frame, &lamps);
        }
        // Camera: glare, rain, blur from shake, exposure, noise.
        if let Some((gx, gy, gr, gs)) = scenario.glare {
            frame.add_glare(gx * wf + dx, gy * hf + dy, gr * wf, gs);
        }
        if scenario.rain {
            let drops = (wf * hf / 600.0) as usize;
            frame.add_rain(&mut frng, drops, 0.1, 0.18);
        }
        frame.gaussian_blur(scenario.blur_sigma * scale);
        let (pdx, pdy, _) = scenario.shake((t - 1.0 / config.fps as f32).max(0.0), scale);
        // Exposure of about a third of the frame interval smears the shake.
        frame.motion_blur((dx - pdx) * 0.35, (dy - pdy) * 0.35);
        if let Some(fx) = &effects {
            fx.grade(&mut frame);
        }
        frame.add_noise(&mut frng, scenario.noise);
        if let Some(fx) = &effects {
            fx.compress(&mut frame);
        }
        frame.to_rgb8(&mut rgb);
        on_frame(i, &rgb)?;
        truth.push(relevant_truth);
        all_boxes.push(FrameBoxes { frame: i, boxes });
    }
    let fps = config.fps;
    let mut segments: Vec<Segment> = Vec::new();
    for (i, s) in truth.iter().enumerate() {
        let t0 = i as f64 / fps;
        let t1 = (i + 1) as f64 / fps;
        match segments.last_mut() {
            Some(last) if last.signal == *s => last.end_s = t1,
            _ => segments.push(Segment { start_s: t0, end_s: t1, signal: *s }),
        }
    }
    Ok(Timeline {
        version: TIMELINE_FORMAT_VERSION,
        fps,
        duration_s: n as f64 / fps,
        source: ClipSource::Synthetic {
            generator_version: env!("CARGO_PKG_VERSION").to_string(),
            seed: config.seed,
            preset: match config.designs {
                Designs::Train => config.preset.name().to_string(),
                Designs::Heldout => format!("{}+heldout", config.preset.name()),
            },
        },
        segments,
        boxes: all_boxes,
    })
}

/// Writes `mp4_path` (H.264) and the timeline next to it (same stem, `.json`); returns
/// the timeline.
///
/// # Errors
/// [`SynthError`] for bad settings, encoder failures or unwritable files.
#[cfg(feature = "video")]
pub fn write_clip(config: &ClipConfig, mp4_path: &std::path::Path) -> Result<Timeline, SynthError> {
    config.validate()?;
    if let Some(dir) = mp4_path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| SynthError::Write { path: dir.to_path_buf(), source })?;
    }
    let gop = (config.keyframe_interval_s * config.fps).round().max(1.0) as u32;
    let mut writer = super::video::Mp4VideoWriter::create(
        mp4_path,
        config.width,
        config.height,
        config.fps,
        config.bitrate_bps,
        gop,
    )?;
    let timeline = render_clip(config, |_, rgb| writer.write_frame(rgb))?;
    writer.finish()?;
    let json_path = mp4_path.with_extension("json");
    std::fs::write(&json_path, timeline.to_json_lines())
        .map_err(|source| SynthError::Write { path: json_path.clone(), source })?;
    Ok(timeline)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn small(preset: Preset) -> ClipConfig {
        ClipConfig { preset, seed: 5, seconds: 3.0, width: 192, height: 108, fps: 10.0, ..ClipConfig::default() }
    }

    #[test]
    fn preset_names_round_trip() {
        for p in Preset::ALL {
            assert_eq!(p.name().parse::<Preset>(), Ok(p));
        }
        assert!("mars".parse::<Preset>().unwrap_err().to_string().contains("unknown preset \"mars\"; expected one of"));
    }

    #[test]
    fn timeline_is_valid_and_covers_every_frame() {
        let config = small(Preset::CnDayCountdown);
        let mut frames = 0;
        let t = render_clip(&config, |_, rgb| {
            assert_eq!(rgb.len(), 192 * 108 * 3);
            frames += 1;
            Ok(())
        })
        .unwrap();
        assert_eq!(frames, 30);
        t.validate("clip.json").unwrap();
        assert_eq!(t.boxes.len(), 30);
        assert!((t.duration_s - 3.0).abs() < 1e-9);
    }

    /// The truth at clip time 0 of a one-second `preset` clip for each seed. At 640x360
    /// the relevant head, 11-16 m away in so short a clip, is tall enough to count as
    /// visible (at 192x108 it often is not, and the truth is `none`); two frames keep it quick.
    fn opening_signals(preset: Preset, seeds: std::ops::Range<u64>) -> Vec<TruthSignal> {
        seeds
            .map(|seed| {
                let config = ClipConfig { seed, seconds: 1.0, fps: 2.0, width: 640, height: 360, ..small(preset) };
                render_clip(&config, |_, _| Ok(())).unwrap().segments[0].signal
            })
            .collect()
    }

    #[test]
    fn random_clips_may_start_mid_phase_and_fixed_presets_before_walk() {
        let random = opening_signals(Preset::Random, 0..16);
        for phase in [TruthSignal::Walk, TruthSignal::Changing, TruthSignal::DontWalk] {
            assert!(random.contains(&phase), "no random clip opens in {phase:?}: {random:?}");
        }
        for preset in [Preset::CnDayCountdown, Preset::Us, Preset::Eu] {
            let fixed = opening_signals(preset, 0..4);
            assert!(fixed.iter().all(|s| *s == TruthSignal::DontWalk), "{} clips open in {fixed:?}", preset.name());
        }
    }

    #[test]
    fn rendering_is_deterministic() {
        let config = small(Preset::Random);
        let mut a = Vec::new();
        let ta = render_clip(&config, |_, rgb| {
            a.extend_from_slice(rgb);
            Ok(())
        })
        .unwrap();
        let mut b = Vec::new();
        let tb = render_clip(&config, |_, rgb| {
            b.extend_from_slice(rgb);
            Ok(())
        })
        .unwrap();
        assert_eq!(ta, tb);
        assert!(a == b);
    }

    #[test]
    fn heldout_clips_are_deterministic_valid_and_boxed_inside_the_frame() {
        for (k, preset) in [Preset::CnDayCountdown, Preset::Us, Preset::Eu, Preset::Night].into_iter().enumerate() {
            let config =
                ClipConfig { seed: 40 + k as u64, width: 320, height: 180, designs: Designs::Heldout, ..small(preset) };
            let mut a = Vec::new();
            let ta = render_clip(&config, |_, rgb| {
                a.extend_from_slice(rgb);
                Ok(())
            })
            .unwrap();
            let mut b = Vec::new();
            let tb = render_clip(&config, |_, rgb| {
                b.extend_from_slice(rgb);
                Ok(())
            })
            .unwrap();
            assert_eq!(ta, tb);
            assert!(a == b, "{} held-out clip is not reproducible", preset.name());
            ta.validate("clip.json").unwrap();
            let ClipSource::Synthetic { preset: name, .. } = &ta.source else { panic!("not synthetic") };
            assert_eq!(name, &format!("{}+heldout", preset.name()));
            for fb in &ta.boxes {
                for tb in &fb.boxes {
                    let [x1, y1, x2, y2] = tb.bbox;
                    assert!(x1 >= 0.0 && y1 >= 0.0 && x2 <= 320.0 && y2 <= 180.0 && x1 < x2 && y1 < y2, "{tb:?}");
                    assert!(crate::signal::SHIPPED_CLASSES.contains(&tb.class.as_str()));
                }
            }
            // The same seed in the training family gives another clip.
            let mut t = Vec::new();
            render_clip(&ClipConfig { designs: Designs::Train, ..config }, |_, rgb| {
                t.extend_from_slice(rgb);
                Ok(())
            })
            .unwrap();
            assert!(t != a);
        }
    }
}
