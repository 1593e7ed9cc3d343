//! Whether the followed walk lamp is still lit, from its own pixels.
//!
//! A flashing walk figure is dark half of each second, but the model, which learnt
//! figures and not lamps, often reads the unlit figure as walk at 0.45-0.65: on a
//! held-out photo street (`vehicle-conflict-8010`) walk then went on for 4.7 s into the
//! flashing phase. What the camera sees does not depend on which figure the model
//! learnt: an unlit lamp loses most of its colour and some of its brightness. So each
//! frame in which the followed pedestrian head reads walk, the head's box is compared
//! with the same head's recent lit frames; a box that has lost colour and brightness
//! together for [`GlowConfig::dark_frames`] frames is handed on as seen unlit
//! ([`SignalMeaning::Off`]), which the smoother already treats as the dark phase of a
//! blink: walk ends at once, to changing. Frames in which the model lost that head
//! shortly after it read walk are looked at in the same way, at its last box. The check
//! only ever turns a walk reading or a miss into a dark head: it can delay walk, never
//! give it.
//!
//! Measured on the walk readings of the shipped model in the sample and held-out clips
//! (4,544 on lit figures, 158 on unlit ones), each against the same head's upper quartile
//! over the 1.5 s before: an unlit figure keeps 0.52 of the lit colour (median), a lit
//! one 0.96; 73 % of the unlit readings and 0.5 % of the lit ones fall below both
//! thresholds, and two frames in a row are asked for. Colour and brightness must both
//! fall: a box that slides onto bright sky loses colour but gains brightness, and a
//! white walking figure has little colour to lose but does lose brightness.
//!
//! Measured and not kept: the same check the other way round, an "unlit" reading on a
//! head followed as a stop lamp whose box looks as lit as its last stop frames taken as
//! a missed frame. It removed a false "Signal changing" on the `us` sample, where one
//! such misread looked like the dark half of a flashing hand, but added one on
//! `cn-day-countdown`, where the model also reads the dark hand as a stop figure and so
//! makes the lit reference dark too.

use super::{DecideError, Observation, check_range};
use crate::frame::Frame;
use crate::geom::BBox;
use crate::signal::{Basis, SignalMeaning};
use serde::Deserialize;

/// Lit frames remembered per head; at 30 frames/s this covers 1 s, and the reference
/// needs far fewer.
const MEMORY: usize = 32;

/// Settings of the [`GlowCheck`].
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GlowConfig {
    /// Check the followed walk lamp's pixels at all; default true.
    pub enabled: bool,
    /// A box whose mean colour (max - min channel) falls below this share of the head's
    /// lit reference may be unlit, in `[0, 1]`; default 0.6 (unlit figures: median 0.52;
    /// lit ones: 0.6 % below).
    pub dark_colour_ratio: f32,
    /// ... and whose mean brightness (max channel) falls below this share as well, in
    /// `[0, 1]`; default 0.85.
    pub dark_brightness_ratio: f32,
    /// Frames in a row that must look unlit before the head counts as dark; default 2
    /// (0.13 s at 15 frames/s: a flash's dark half lasts 0.5 s, a single odd frame is
    /// blur or a box that slipped).
    pub dark_frames: u32,
    /// The reference is the upper quartile of the head's lit frames of the last this
    /// many seconds; default 1.5.
    pub reference_s: f64,
    /// Lit frames needed in that time before any frame can count as unlit; default 5.
    pub reference_min_frames: u32,
    /// A walk reading counts as lit, for the reference, from this confidence; default
    /// 0.5 (the smoother's `walk_min_confidence`: the reference is built from readings
    /// that are walk evidence on any head, not only on a proven one).
    pub reference_min_score: f32,
    /// Frames in which the head is not detected are checked at its last box for this
    /// long after its last walk reading, s; default 0.5 (the dark half of a 1 Hz flash).
    /// 0 checks only frames that read walk.
    pub missed_s: f64,
}

impl Default for GlowConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            dark_colour_ratio: 0.6,
            dark_brightness_ratio: 0.85,
            dark_frames: 2,
            reference_s: 1.5,
            reference_min_frames: 5,
            reference_min_score: 0.5,
            missed_s: 0.5,
        }
    }
}

impl GlowConfig {
    /// Checks ranges once, at start-up.
    ///
    /// # Errors
    /// [`DecideError::Config`] naming the bad field.
    pub fn validate(&self) -> Result<(), DecideError> {
        check_range("glow.dark_colour_ratio", self.dark_colour_ratio.into(), 0.0, 1.0, "[0, 1]")?;
        check_range("glow.dark_brightness_ratio", self.dark_brightness_ratio.into(), 0.0, 1.0, "[0, 1]")?;
        check_range("glow.dark_frames", self.dark_frames.into(), 1.0, 100.0, "[1, 100]")?;
        check_range("glow.reference_s", self.reference_s, 0.1, 10.0, "[0.1, 10]")?;
        check_range("glow.reference_min_frames", self.reference_min_frames.into(), 1.0, MEMORY as f64, "[1, 32]")?;
        check_range("glow.reference_min_score", self.reference_min_score.into(), 0.0, 1.0, "[0, 1]")?;
        check_range("glow.missed_s", self.missed_s, 0.0, 5.0, "[0, 5]")
    }
}

/// How lit a box looks: the means, over its pixels, of colour and brightness (0-255).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Glow {
    /// Mean of max - min channel.
    pub colour: f32,
    /// Mean of the max channel.
    pub brightness: f32,
}

impl Glow {
    /// The glow of `bbox` (frame px) in `frame`, or `None` when less than 2 x 2 px of it
    /// lie inside the frame.
    pub fn measure(frame: &Frame, bbox: &BBox) -> Option<Self> {
        let clamp = |v: f32, hi: u32| v.max(0.0).min(hi as f32) as usize;
        let (x1, x2) = (clamp(bbox.x1.round(), frame.width), clamp(bbox.x2.round(), frame.width));
        let (y1, y2) = (clamp(bbox.y1.round(), frame.height), clamp(bbox.y2.round(), frame.height));
        if x2 < x1 + 2 || y2 < y1 + 2 {
            return None;
        }
        let stride = frame.width as usize * 3;
        let (mut colour, mut brightness) = (0u64, 0u64);
        for y in y1..y2 {
            for px in frame.rgb[y * stride + x1 * 3..y * stride + x2 * 3].chunks_exact(3) {
                let (hi, lo) = (px[0].max(px[1]).max(px[2]), px[0].min(px[1]).min(px[2]));
                colour += u64::from(hi - lo);
                brightness += u64::from(hi);
            }
        }
        let n = ((x2 - x1) * (y2 - y1)) as f32;
        Some(Self { colour: colour as f32 / n, brightness: brightness as f32 / n })
    }
}

/// The lit check of the followed walk lamp (see the module docs): one per pipeline,
/// fed every frame after the selector.
#[derive(Debug, Clone)]
pub struct GlowCheck {
    config: GlowConfig,
    /// The head whose lit frames `lit` holds.
    track_id: Option<u32>,
    /// Lit frames of that head, `(t_s, glow)`, oldest overwritten first.
    lit: [(f64, Glow); MEMORY],
    lit_len: usize,
    lit_next: usize,
    /// Frames in a row that looked unlit.
    dark_run: u32,
    /// When the head last read walk.
    last_walk_s: Option<f64>,
}

impl GlowCheck {
    /// A check with no history.
    pub fn new(config: GlowConfig) -> Self {
        Self {
            config,
            track_id: None,
            lit: [(0.0, Glow::default()); MEMORY],
            lit_len: 0,
            lit_next: 0,
            dark_run: 0,
            last_walk_s: None,
        }
    }

    /// Looks at the followed head in `frame`: when it reads walk, or is missed shortly
    /// after it did, but its box has looked unlit for `dark_frames` frames,
    /// `observation.shows` becomes [`SignalMeaning::Off`]. Returns whether it did.
    pub fn update(&mut self, t_s: f64, frame: &Frame, observation: &mut Observation) -> bool {
        if observation.track_id != self.track_id {
            self.forget();
            self.track_id = observation.track_id;
        }
        let walk_now = observation.basis == Basis::Pedestrian && observation.shows == Some(SignalMeaning::PedWalk);
        // A frame in which the model lost the head that just read walk is looked at too,
        // at its last box: at night an unlit figure is often not found at all, and
        // without this walk lasted the smoother's hold for missed frames (0.3 s) longer.
        let missed_walk = observation.basis == Basis::Pedestrian
            && observation.shows.is_none()
            && self.last_walk_s.is_some_and(|w| t_s - w <= self.config.missed_s);
        if walk_now {
            self.last_walk_s = Some(t_s);
        }
        let walk = walk_now || missed_walk;
        let glow = observation.bbox.filter(|_| walk && self.config.enabled && !observation.dark);
        let Some(glow) = glow.and_then(|b| Glow::measure(frame, &b)) else {
            self.dark_run = 0;
            return false;
        };
        if self.looks_unlit(t_s, glow) {
            self.dark_run += 1;
            if self.dark_run >= self.config.dark_frames {
                tracing::trace!(t_s, track = observation.track_id, ?glow, "the walk lamp looks unlit: seen dark");
                observation.shows = Some(SignalMeaning::Off);
                return true;
            }
            return false;
        }
        self.dark_run = 0;
        if walk_now && observation.confidence >= self.config.reference_min_score {
            self.lit[self.lit_next] = (t_s, glow);
            self.lit_next = (self.lit_next + 1) % MEMORY;
            self.lit_len = (self.lit_len + 1).min(MEMORY);
        }
        false
    }

    /// Forgets the followed head's lit frames (a new head, or a new source).
    pub fn forget(&mut self) {
        self.track_id = None;
        self.lit_len = 0;
        self.lit_next = 0;
        self.dark_run = 0;
        self.last_walk_s = None;
    }

    /// Whether `glow` has lost colour and brightness against the upper quartile of
    /// the head's recent lit frames; `false` while there are too few of them.
    fn looks_unlit(&self, t_s: f64, glow: Glow) -> bool {
        let mut colour = [0f32; MEMORY];
        let mut brightness = [0f32; MEMORY];
        let mut n = 0;
        for &(t, g) in &self.lit[..self.lit_len] {
            if t_s - t <= self.config.reference_s && t <= t_s {
                colour[n] = g.colour;
                brightness[n] = g.brightness;
                n += 1;
            }
        }
        if n < self.config.reference_min_frames as usize || n == 0 {
            return false;
        }
        let upper_quartile = |v: &mut [f32]| {
            v.sort_unstable_by(f32::total_cmp);
            v[(v.len() * 3) / 4]
        };
        let (ref_colour, ref_brightness) = (upper_quartile(&mut colour[..n]), upper_quartile(&mut brightness[..n]));
        glow.colour < self.config.dark_colour_ratio * ref_colour
            && glow.brightness < self.config.dark_brightness_ratio * ref_brightness
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 64 x 48 frame, black but for a 10 x 20 lamp at (20, 10) of the given colour.
    fn frame_with_lamp(rgb: [u8; 3]) -> Frame {
        let mut f = Frame::new(64, 48);
        for y in 10..30 {
            for x in 20..30 {
                let i = (y * 64 + x) * 3;
                f.rgb[i..i + 3].copy_from_slice(&rgb);
            }
        }
        f
    }

    fn walk_on(track: u32, score: f32) -> Observation {
        Observation {
            shows: Some(SignalMeaning::PedWalk),
            confidence: score,
            basis: Basis::Pedestrian,
            track_id: Some(track),
            bbox: Some(BBox { x1: 20.0, y1: 10.0, x2: 30.0, y2: 30.0 }),
            ..Observation::default()
        }
    }

    const LIT_GREEN: [u8; 3] = [40, 220, 170];
    const UNLIT_GREEN: [u8; 3] = [60, 90, 80];
    const LIT_WHITE: [u8; 3] = [235, 235, 230];
    const UNLIT_WHITE: [u8; 3] = [90, 90, 90];

    /// Feeds `lit` for 1 s at 15 frames/s, then `then` frame by frame; what each of
    /// those frames was handed on as.
    fn run(lit: [u8; 3], then: &[([u8; 3], u32, f32)]) -> Vec<Option<SignalMeaning>> {
        let mut check = GlowCheck::new(GlowConfig::default());
        let mut t = 0.0;
        for _ in 0..15 {
            let mut o = walk_on(1, 0.8);
            check.update(t, &frame_with_lamp(lit), &mut o);
            assert_eq!(o.shows, Some(SignalMeaning::PedWalk), "a steadily lit lamp stays walk");
            t += 1.0 / 15.0;
        }
        then.iter()
            .map(|&(rgb, track, score)| {
                let mut o = walk_on(track, score);
                check.update(t, &frame_with_lamp(rgb), &mut o);
                t += 1.0 / 15.0;
                o.shows
            })
            .collect()
    }

    const WALK: Option<SignalMeaning> = Some(SignalMeaning::PedWalk);
    const OFF: Option<SignalMeaning> = Some(SignalMeaning::Off);

    #[test]
    fn a_lamp_that_goes_dark_while_read_as_walk_is_seen_dark_from_its_second_frame() {
        let unlit = (UNLIT_GREEN, 1, 0.6);
        assert_eq!(run(LIT_GREEN, &[unlit, unlit, unlit]), [WALK, OFF, OFF]);
        // A white walking figure has little colour to lose, yet its colour and its
        // brightness both fall when it goes dark.
        let unlit = (UNLIT_WHITE, 1, 0.6);
        assert_eq!(run(LIT_WHITE, &[unlit, unlit]), [WALK, OFF]);
    }

    #[test]
    fn one_odd_frame_a_brighter_box_or_another_head_stay_walk() {
        let lit = (LIT_GREEN, 1, 0.8);
        // One unlit-looking frame between lit ones is blur or a slipped box.
        assert_eq!(run(LIT_GREEN, &[(UNLIT_GREEN, 1, 0.8), lit, (UNLIT_GREEN, 1, 0.8), lit]), [WALK; 4]);
        // Less colour but more light (the box slid onto the sky) is not a dark lamp.
        let sky = ([250, 250, 250], 1, 0.8);
        assert_eq!(run(LIT_GREEN, &[sky, sky, sky]), [WALK; 3]);
        // A new head has no lit frames to be compared with.
        let other = (UNLIT_GREEN, 2, 0.8);
        assert_eq!(run(LIT_GREEN, &[other, other, other]), [WALK; 3]);
    }

    #[test]
    fn weak_readings_do_not_set_the_reference_and_a_switched_off_check_changes_nothing() {
        let mut check = GlowCheck::new(GlowConfig::default());
        for i in 0..15 {
            let mut o = walk_on(1, 0.4);
            check.update(f64::from(i) / 15.0, &frame_with_lamp(LIT_GREEN), &mut o);
        }
        for i in 15..18 {
            let mut o = walk_on(1, 0.8);
            check.update(f64::from(i) / 15.0, &frame_with_lamp(UNLIT_GREEN), &mut o);
            assert_eq!(o.shows, WALK, "no lit reference from readings under 0.5");
        }
        let mut off = GlowCheck::new(GlowConfig { enabled: false, ..GlowConfig::default() });
        for i in 0..20 {
            let rgb = if i < 15 { LIT_GREEN } else { UNLIT_GREEN };
            let mut o = walk_on(1, 0.8);
            assert!(!off.update(f64::from(i) / 15.0, &frame_with_lamp(rgb), &mut o));
            assert_eq!(o.shows, WALK);
        }
    }

    #[test]
    fn a_walk_head_the_model_loses_is_looked_at_in_its_last_box() {
        let mut check = GlowCheck::new(GlowConfig::default());
        let mut t = 0.0;
        for _ in 0..15 {
            check.update(t, &frame_with_lamp(LIT_GREEN), &mut walk_on(1, 0.8));
            t += 1.0 / 15.0;
        }
        let missed = |check: &mut GlowCheck, t: f64, rgb| {
            let mut o = Observation { shows: None, confidence: 0.0, ..walk_on(1, 0.0) };
            check.update(t, &frame_with_lamp(rgb), &mut o);
            o.shows
        };
        // Lost while still lit: a missed detection, left to the smoother's hold.
        assert_eq!(missed(&mut check, t, LIT_GREEN), None);
        // Lost and dark: the dark half of a flash, from its second frame.
        assert_eq!(missed(&mut check, t + 0.07, UNLIT_GREEN), None);
        assert_eq!(missed(&mut check, t + 0.13, UNLIT_GREEN), OFF);
        // Long after the last walk reading, a miss is no longer this lamp's.
        assert_eq!(missed(&mut check, t + 0.7, UNLIT_GREEN), None);
        assert_eq!(missed(&mut check, t + 0.77, UNLIT_GREEN), None);
    }

    #[test]
    fn glow_is_measured_inside_the_frame_only() {
        let f = frame_with_lamp(LIT_GREEN);
        let g = Glow::measure(&f, &BBox { x1: 20.0, y1: 10.0, x2: 30.0, y2: 30.0 }).unwrap();
        assert!((g.colour - 180.0).abs() < 1e-3 && (g.brightness - 220.0).abs() < 1e-3, "{g:?}");
        assert_eq!(Glow::measure(&f, &BBox { x1: 70.0, y1: 10.0, x2: 90.0, y2: 30.0 }), None);
        assert!(Glow::measure(&f, &BBox { x1: -5.0, y1: -5.0, x2: 1000.0, y2: 1000.0 }).is_some());
    }
}
