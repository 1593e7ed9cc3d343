//! The smoother: a state machine over media time, in seconds, that turns what the
//! chosen head shows frame by frame into the state the user hears.
//!
//! # What the user hears when the system is unsure
//!
//! - **Walk is only announced when the walk lamp has been seen clearly and steadily**
//!   for a while (default 0.8 s, at least 3 frames, each at least 50 % confident), and
//!   no stop lamp has been seen for at least 1 s. Until then the user keeps hearing
//!   what they heard before: the slow "wait" tick, or the quiet searching sound.
//! - **Walk stops at once** when the stop lamp, a yellow vehicle light, a flashing or
//!   dark walk lamp, or two signals that disagree are seen. The user then hears "wait",
//!   "changing, do not start", or "no signal found". A walk lamp that is simply not
//!   detected for a moment keeps the walk tick for at most 0.3 s; one whose pixels show
//!   it gone dark, whatever the model read there, arrives here as dark (the decide
//!   stage's glow check, `glow.rs`).
//! - **Flashing** (a lamp that goes dark and comes back within about 1 s) means the
//!   phase is ending: the user hears the "changing, do not start" pattern for as long
//!   as the flashing goes on (and 1.2 s after the last blink).
//! - **No signal, a dark signal, a dark scene, signals that disagree, or a camera or
//!   model that stops delivering frames for more than 1 s**: the user hears "no signal
//!   found" and then the quiet searching sound. The smoother never keeps saying walk
//!   through any of these.
//! - "Wait" and "changing" are held through short gaps in detection (0.8 s) so the
//!   user is not told "no signal" at every missed frame.
//!
//! # Rules, in terms of the config ([`SmootherConfig`])
//!
//! Evidence per frame: *go* (ped walk, vehicle green, confidence at least
//! `walk_min_confidence`, or `proven_walk_min_confidence` on a proven head), *stop* (ped
//! stop, vehicle red, or vehicle yellow right after red: Apollo's "yellow after red stays
//! red"), *amber* (vehicle yellow otherwise),
//! *dark* (the head is seen unlit), *missing* (nothing seen, a weak go, a dark scene),
//! *conflict*.
//!
//! - conflict → unknown at once (changing while flashing: both say do not start); counts
//!   as stop evidence for the walk timer. A conflicting frame whose own reading is a lit
//!   lamp still counts as lit for the blink.
//! - Entering walk: go now, a run of go frames lasting `walk_enter_s` with at least
//!   `walk_min_frames` frames, not interrupted by stop/amber/dark/conflict or by a gap
//!   longer than `walk_hold_s`, and the last stop evidence `walk_after_stop_s` ago. When
//!   every frame of the run is at least `walk_strong_confidence` sure, the shorter
//!   `walk_enter_strong_s` and `walk_after_stop_strong_s` apply: a clear, near head is
//!   trusted sooner than a far one near the threshold. Only at the start of a walk
//!   phase, though: once walk has been left, the full times apply again until dont_walk
//!   has held for [`FAST_ENTRY_AFTER_DONT_WALK_S`]; and a run that began a blink's gap
//!   (`blink_min_gap_s..=blink_max_gap_s`) after the last lit go frame, whatever was
//!   read in between, is a lamp lighting up again, not a phase beginning, and takes the
//!   full times too. A vehicle green needs
//!   `walk_enter_vehicle_s` (3 s) of it, whatever its confidence, so that a pedestrian
//!   head not yet found can take over first.
//! - Leaving walk: stop → dont_walk, amber or dark → changing, both at once; missing for
//!   more than `walk_hold_s` → unknown.
//! - Entering dont_walk from unknown or changing needs `stop_enter_s` and
//!   `stop_min_frames` of stop evidence (hysteresis; it is not urgent, only chatter).
//! - Blink (after Apollo): lit, then dark or missing, then the same lamp lit again,
//!   with `blink_min_gap_s..=blink_max_gap_s` between the two lit frames, or at least
//!   `blink_min_missing_gap_s` when the head was only missed, never seen dark. While
//!   flashing (until `flash_hold_s` after the last blink) the state is changing, and only
//!   a different lamp lighting up (red ↔ green, after Autoware) ends the flashing early,
//!   or a flashing stop lamp that stays lit for `flash_steady_s`: it has gone steady, and
//!   dont_walk follows at once.
//! - Hold: dont_walk and changing survive dark or missing frames for `hold_s` after the
//!   last lit frame, then unknown.
//! - Stall: no frame for more than `stall_timeout_s` → unknown, and the history is
//!   forgotten. [`Smoother::tick`] applies this between frames.
//!
//! Every threshold compares media times, so the result does not depend on the frame
//! rate beyond about one frame period.

use super::{DecideError, Observation, check_range};
use crate::signal::{Basis, SignalMeaning, SignalState};
use serde::Deserialize;

/// Settings of the [`Smoother`]. All times are media time in seconds.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmootherConfig {
    /// Time the walk lamp must be seen steadily before walk is announced, s; default
    /// 0.8 (long enough that detector glitches cannot add up to it, short compared with
    /// a walk phase of 4-7 s).
    pub walk_enter_s: f64,
    /// Frames of steady walk lamp needed as well, so a slow camera cannot announce walk
    /// from a single frame; default 3.
    pub walk_min_frames: u32,
    /// Detector confidence below which a walk lamp does not count as evidence at all,
    /// in `[0, 1]`; default 0.5. Stop lamps count at any confidence (asymmetry).
    pub walk_min_confidence: f32,
    /// The same for a head that has behaved like a pedestrian signal and is large enough
    /// to be told from a lamp ([`Observation::proven`]), in `[0, 1]`; default 0.4. The
    /// lower of the two applies to such a head.
    pub proven_walk_min_confidence: f32,
    /// Walk is never announced sooner than this after the last stop, yellow or conflict
    /// evidence, s; default 1.0.
    pub walk_after_stop_s: f64,
    /// Confidence at which walk evidence is strong: a run of go frames each at least
    /// this sure enters walk after `walk_enter_strong_s` and `walk_after_stop_strong_s`
    /// instead of the full times, unless walk was lost since dont_walk last held 2 s;
    /// default 0.6 (a large, well-lit head reads 0.6-0.9, a far or unfamiliar one under
    /// 0.6; at 0.75 the sample heads, read at 0.6-0.72, never took the fast entry).
    /// 1 or more turns the fast entry off.
    pub walk_strong_confidence: f32,
    /// `walk_enter_s` for strong evidence, s; default 0.45 (at least
    /// `walk_min_frames` frames still).
    pub walk_enter_strong_s: f64,
    /// `walk_after_stop_s` for strong evidence, s; default 0.6.
    pub walk_after_stop_strong_s: f64,
    /// Time a vehicle green must be seen steadily before it gives walk, s; default 3.0,
    /// whatever its confidence. A vehicle green says that traffic may go, and it is the
    /// walker's to follow only where no pedestrian head is in view. A far pedestrian
    /// head is often found only after a second or two; found, it takes over at once.
    /// On a held-out clip (real photo street, `vehicle-conflict` preset) the 0.8 s of the
    /// pedestrian rule gave 0.67 s of walk on the green of a vehicle head above a
    /// pedestrian head that showed stop and was found only 2.0 s into the clip.
    pub walk_enter_vehicle_s: f64,
    /// Time of stop evidence needed to go from unknown or changing to dont_walk, s;
    /// default 0.2. (From walk, one stop frame is enough.)
    pub stop_enter_s: f64,
    /// Frames of stop evidence needed as well; default 2.
    pub stop_min_frames: u32,
    /// How long walk survives frames in which the walk lamp is not detected, s;
    /// default 0.3. Should exceed the frame period.
    pub walk_hold_s: f64,
    /// How long dont_walk and changing survive frames with a dark head or no detection,
    /// s; default 0.8 (longer than the dark phase of a 1 Hz flash seen at 5 frames/s).
    pub hold_s: f64,
    /// Shortest time between two lit frames around a dark gap that counts as a blink,
    /// s; default 0.15 (shorter gaps are missed detections at high frame rates).
    pub blink_min_gap_s: f64,
    /// When nothing at all was detected between the two lit frames (no dark head seen,
    /// only missed frames), the shortest time that counts as a blink, s; default 0.35.
    /// A small detector misses a far head for a frame or two now and then; that must
    /// not make a steady lamp look flashing. A real flash (about 1 Hz) is dark for
    /// about 0.5 s, well above this, so flashing is still found by a detector that
    /// never sees the dark head.
    pub blink_min_missing_gap_s: f64,
    /// Longest such time that counts as a blink, s; default 1.0 (Apollo's 0.55 s of
    /// dark plus up to two frame periods at 5 frames/s; a longer gap taken for a
    /// blink only errs towards "changing").
    pub blink_max_gap_s: f64,
    /// How long the state stays changing after the last blink, s; default 1.2 (covers
    /// one more cycle of a 1 Hz flash, like Autoware's ~1 s window).
    pub flash_hold_s: f64,
    /// A flashing stop lamp seen lit without a break (missed frames up to `walk_hold_s`
    /// aside) for this long has stopped flashing: changing ends at once, and dont_walk
    /// follows, instead of `flash_hold_s` after the last blink, s; default 0.8 (a 1 Hz
    /// flash is lit about 0.5 s). Both say "do not start"; the change only comes sooner
    /// (on held-out clips a flashing phase read as a flashing stop figure kept changing
    /// 1.27 s into the steady don't walk that followed). A flashing walk lamp never ends
    /// this way: leaving changing for walk always takes the full evidence.
    pub flash_steady_s: f64,
    /// No frame for longer than this means the camera or model stalled: unknown, s;
    /// default 1.0.
    pub stall_timeout_s: f64,
}

impl Default for SmootherConfig {
    fn default() -> Self {
        Self {
            walk_enter_s: 0.8,
            walk_min_frames: 3,
            walk_min_confidence: 0.5,
            proven_walk_min_confidence: 0.4,
            walk_after_stop_s: 1.0,
            walk_strong_confidence: 0.6,
            walk_enter_strong_s: 0.45,
            walk_after_stop_strong_s: 0.6,
            walk_enter_vehicle_s: 3.0,
            stop_enter_s: 0.2,
            stop_min_frames: 2,
            walk_hold_s: 0.3,
            hold_s: 0.8,
            blink_min_gap_s: 0.15,
            blink_min_missing_gap_s: 0.35,
            blink_max_gap_s: 1.0,
            flash_hold_s: 1.2,
            flash_steady_s: 0.8,
            stall_timeout_s: 1.0,
        }
    }
}

impl SmootherConfig {
    /// Checks ranges once, at start-up.
    ///
    /// # Errors
    /// [`DecideError::Config`] naming the bad field.
    pub fn validate(&self) -> Result<(), DecideError> {
        check_range("walk_enter_s", self.walk_enter_s, 0.0, 30.0, "[0, 30]")?;
        check_range("walk_min_frames", self.walk_min_frames.into(), 2.0, 1000.0, "[2, 1000]")?;
        check_range("walk_min_confidence", self.walk_min_confidence.into(), 0.0, 1.0, "[0, 1]")?;
        check_range("proven_walk_min_confidence", self.proven_walk_min_confidence.into(), 0.0, 1.0, "[0, 1]")?;
        check_range("walk_after_stop_s", self.walk_after_stop_s, 0.0, 30.0, "[0, 30]")?;
        check_range("walk_strong_confidence", self.walk_strong_confidence.into(), 0.0, 1.0, "[0, 1]")?;
        check_range("walk_enter_strong_s", self.walk_enter_strong_s, 0.0, self.walk_enter_s, "[0, walk_enter_s]")?;
        check_range(
            "walk_after_stop_strong_s",
            self.walk_after_stop_strong_s,
            0.0,
            self.walk_after_stop_s,
            "[0, walk_after_stop_s]",
        )?;
        check_range("walk_enter_vehicle_s", self.walk_enter_vehicle_s, 0.0, 30.0, "[0, 30]")?;
        check_range("stop_enter_s", self.stop_enter_s, 0.0, 10.0, "[0, 10]")?;
        check_range("stop_min_frames", self.stop_min_frames.into(), 1.0, 1000.0, "[1, 1000]")?;
        check_range("walk_hold_s", self.walk_hold_s, 0.0, 5.0, "[0, 5]")?;
        check_range("hold_s", self.hold_s, 0.0, 10.0, "[0, 10]")?;
        check_range("blink_min_gap_s", self.blink_min_gap_s, 0.0, 5.0, "[0, 5]")?;
        check_range("blink_max_gap_s", self.blink_max_gap_s, self.blink_min_gap_s, 5.0, "[blink_min_gap_s, 5]")?;
        check_range(
            "blink_min_missing_gap_s",
            self.blink_min_missing_gap_s,
            0.0,
            self.blink_max_gap_s,
            "[0, blink_max_gap_s]",
        )?;
        check_range("flash_hold_s", self.flash_hold_s, 0.0, 10.0, "[0, 10]")?;
        check_range("flash_steady_s", self.flash_steady_s, 0.2, 10.0, "[0.2, 10]")?;
        check_range("stall_timeout_s", self.stall_timeout_s, 0.01, 60.0, "[0.01, 60]")?;
        Ok(())
    }
}

/// The steady decision after a frame (or a tick).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Decision {
    /// What the user should do.
    pub state: SignalState,
    /// Which kind of signal the state rests on; [`Basis::None`] when unknown.
    pub basis: Basis,
    /// Smoothed detector confidence of the evidence behind the state, in `[0, 1]`;
    /// 0 when unknown.
    pub confidence: f32,
    /// The state or the basis differs from the previous decision.
    pub changed: bool,
}

/// A lit lamp, as the smoother reasons about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lamp {
    Go,
    Stop,
    Amber,
}

/// One frame's evidence.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Evidence {
    Lit(Lamp, f32),
    Dark,
    Missing,
    /// The head is read two ways (or its kind is in doubt); the lamp its own reading
    /// shows lit, if any, still counts for the blink.
    Conflict(Option<Lamp>),
}

/// A run of consecutive frames with the same evidence.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Run {
    start_s: f64,
    frames: u32,
    /// The lowest confidence of its frames.
    min_confidence: f32,
}

impl Run {
    fn extend(run: Option<Run>, t_s: f64, confidence: f32) -> Option<Run> {
        Some(match run {
            Some(r) => Run {
                start_s: r.start_s,
                frames: r.frames.saturating_add(1),
                min_confidence: r.min_confidence.min(confidence),
            },
            None => Run { start_s: t_s, frames: 1, min_confidence: confidence },
        })
    }

    fn lasted(&self, t_s: f64, min_s: f64, min_frames: u32) -> bool {
        t_s - self.start_s >= min_s && self.frames >= min_frames
    }
}

/// Turns observations into steady decisions. See the module docs for the rules and
/// for what the user hears.
#[derive(Debug, Clone)]
pub struct Smoother {
    config: SmootherConfig,
    state: SignalState,
    basis: Basis,
    confidence: f32,
    /// Latest time seen (update or tick); time never runs backwards inside.
    now_s: Option<f64>,
    last_frame_s: Option<f64>,
    track: Option<u32>,
    /// The last lit lamp (raw, before "yellow after red") and when it was seen.
    lit: Option<(Lamp, f64)>,
    /// What came after the last lit frame.
    gap: GapSinceLit,
    go_run: Option<Run>,
    stop_run: Option<Run>,
    last_stop_s: Option<f64>,
    /// Flashing lamp and the time until which the flashing is held.
    flash: Option<(Lamp, f64)>,
    /// Walk may be entered on strong evidence's shorter times: not after a walk was
    /// lost, until don't walk has been held for [`FAST_ENTRY_AFTER_DONT_WALK_S`].
    fast_entry: bool,
    /// Since when the state has been dont_walk without a break.
    dont_walk_since: Option<f64>,
    /// When a go lamp was last seen lit (in doubt or not).
    last_go_lit_s: Option<f64>,
    /// The current go run began a blink's gap after an earlier lit go frame: the lamp
    /// lit up again rather than a walk phase beginning ([`Smoother::relit`]).
    go_run_relit: bool,
}

/// Don't walk held this long re-arms the fast walk entry after a walk was lost, s. A
/// new walk phase follows a stop phase of many seconds; a head that wavers between walk
/// and stop readings (a countdown read both ways: the `cn-day-countdown` sample with the
/// wide model gave "Walk sign is on" for one frame twice in its changing phase) gives
/// only blinks of dont_walk.
pub const FAST_ENTRY_AFTER_DONT_WALK_S: f64 = 2.0;

/// What the frames since the last lit frame of the head showed: the kind of gap
/// decides how short a lit-gap-lit pattern may be and still count as a blink.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GapSinceLit {
    /// No gap yet: the last frame was lit (or nothing was lit so far).
    None,
    /// Only frames in which the head was not detected at all.
    Missed,
    /// At least one frame that showed the head dark.
    Dark,
}

impl Smoother {
    /// A smoother in the unknown state. Call [`SmootherConfig::validate`] first;
    /// out-of-range values are not rejected here.
    pub fn new(config: SmootherConfig) -> Self {
        Self {
            config,
            state: SignalState::Unknown,
            basis: Basis::None,
            confidence: 0.0,
            now_s: None,
            last_frame_s: None,
            track: None,
            lit: None,
            gap: GapSinceLit::None,
            go_run: None,
            stop_run: None,
            last_stop_s: None,
            flash: None,
            fast_entry: true,
            dont_walk_since: None,
            last_go_lit_s: None,
            go_run_relit: false,
        }
    }

    /// The config in use.
    pub fn config(&self) -> &SmootherConfig {
        &self.config
    }

    /// The current state without advancing time.
    pub fn state(&self) -> SignalState {
        self.state
    }

    /// Feeds the observation of the frame taken at media time `t_s` (seconds; a time
    /// earlier than one already seen is treated as that time).
    pub fn update(&mut self, t_s: f64, obs: &Observation) -> Decision {
        let t = self.advance_clock(t_s);
        let (prev_state, prev_basis) = (self.state, self.basis);
        if self.last_frame_s.is_some_and(|lf| t - lf > self.config.stall_timeout_s) {
            self.forget();
        }
        self.last_frame_s = Some(t);
        if obs.track_id.is_some() && obs.track_id != self.track {
            // A different head: its blink and run history starts afresh.
            self.track = obs.track_id;
            self.lit = None;
            self.gap = GapSinceLit::None;
            self.go_run = None;
            self.stop_run = None;
            self.flash = None;
        }
        if obs.basis != Basis::None {
            self.basis = obs.basis;
        }

        let ev = self.classify(obs);
        let effective = self.remember(t, ev);
        let (state, support) = self.next_state(t, effective);
        self.track_walk_phase(t, state);
        self.set_state(state, support);
        self.decision(prev_state, prev_basis)
    }

    /// Advances media time to `t_s` without a frame. If no frame has arrived for longer
    /// than `stall_timeout_s`, the state becomes unknown.
    pub fn tick(&mut self, t_s: f64) -> Decision {
        let t = self.advance_clock(t_s);
        let (prev_state, prev_basis) = (self.state, self.basis);
        let stalled = self.last_frame_s.is_none_or(|lf| t - lf > self.config.stall_timeout_s);
        if stalled && self.state != SignalState::Unknown {
            self.forget();
        }
        self.decision(prev_state, prev_basis)
    }

    /// The source or the model failed at media time `t_s`: unknown at once, and
    /// everything seen before is forgotten, as after a stall.
    pub fn fault(&mut self, t_s: f64) -> Decision {
        self.advance_clock(t_s);
        let (prev_state, prev_basis) = (self.state, self.basis);
        self.forget();
        self.decision(prev_state, prev_basis)
    }

    fn advance_clock(&mut self, t_s: f64) -> f64 {
        // Time never runs backwards, and a NaN time counts as "no time passed".
        let t = match self.now_s {
            Some(now) if t_s.is_nan() || t_s < now => now,
            None if t_s.is_nan() => 0.0,
            _ => t_s,
        };
        self.now_s = Some(t);
        t
    }

    /// Drops all history: the next walk needs full evidence again.
    fn forget(&mut self) {
        // A walk cut short by a stall or a fault is lost like any other.
        self.fast_entry &= self.state != SignalState::Walk;
        self.dont_walk_since = None;
        self.state = SignalState::Unknown;
        self.confidence = 0.0;
        self.lit = None;
        self.gap = GapSinceLit::None;
        self.go_run = None;
        self.stop_run = None;
        self.flash = None;
        self.last_go_lit_s = None;
        self.go_run_relit = false;
    }

    fn classify(&self, obs: &Observation) -> Evidence {
        if obs.dark {
            return if obs.conflict { Evidence::Conflict(None) } else { Evidence::Missing };
        }
        let conf = obs.confidence.clamp(0.0, 1.0);
        let walk_min_confidence = if obs.proven {
            self.config.proven_walk_min_confidence.min(self.config.walk_min_confidence)
        } else {
            self.config.walk_min_confidence
        };
        let seen = match obs.shows {
            Some(SignalMeaning::PedWalk | SignalMeaning::VehicleGreen) => {
                if conf >= walk_min_confidence {
                    Evidence::Lit(Lamp::Go, conf)
                } else {
                    Evidence::Missing
                }
            }
            Some(SignalMeaning::PedStop | SignalMeaning::VehicleRed) => Evidence::Lit(Lamp::Stop, conf),
            Some(SignalMeaning::VehicleYellow) => Evidence::Lit(Lamp::Amber, conf),
            Some(SignalMeaning::Off) => Evidence::Dark,
            Some(SignalMeaning::Other | SignalMeaning::Crosswalk) | None => Evidence::Missing,
        };
        match seen {
            Evidence::Lit(lamp, _) if obs.conflict => Evidence::Conflict(Some(lamp)),
            _ if obs.conflict => Evidence::Conflict(None),
            _ => seen,
        }
    }

    /// Updates the memory (runs, blink, last stop) and returns the evidence as it
    /// counts for the state ("yellow after red" already turned into stop).
    fn remember(&mut self, t: f64, ev: Evidence) -> Evidence {
        match ev {
            Evidence::Conflict(lamp) => {
                self.last_stop_s = Some(t);
                self.go_run = None;
                self.stop_run = None;
                // Doubt about what the head is does not hide that it is lit: a flashing
                // walk figure whose lit half was read in doubt (held out, random-8109: a
                // vehicle-green box on it for 0.5 s) must still make the next lit half
                // a blink, or walk can be entered inside the flashing phase.
                if let Some(lamp) = lamp {
                    self.note_lit(t, lamp);
                }
                ev
            }
            Evidence::Lit(lamp, conf) => {
                let after_red = self.lit.is_some_and(|(l, _)| l == Lamp::Stop) || self.state == SignalState::DontWalk;
                let eff = if lamp == Lamp::Amber && after_red { Lamp::Stop } else { lamp };
                let relit = self.relit(t);
                self.note_lit(t, lamp);
                // While flashing, only another lamp lighting up ends it early.
                if self.flash.is_some_and(|(fl, _)| fl != lamp) {
                    self.flash = None;
                }
                match eff {
                    Lamp::Go => {
                        self.stop_run = None;
                        if self.go_run.is_none() {
                            self.go_run_relit = relit;
                        }
                        self.go_run = Run::extend(self.go_run, t, conf);
                    }
                    Lamp::Stop | Lamp::Amber => {
                        self.go_run = None;
                        self.last_stop_s = Some(t);
                        self.stop_run = Run::extend(self.stop_run, t, conf);
                    }
                }
                // A flashing stop lamp lit for longer than a flash lights it has gone steady.
                let steady_stop = lamp == Lamp::Stop
                    && self
                        .stop_run
                        .is_some_and(|r| r.lasted(t, self.config.flash_steady_s, self.config.stop_min_frames));
                if steady_stop && self.flash.is_some_and(|(fl, _)| fl == Lamp::Stop) {
                    self.flash = None;
                }
                Evidence::Lit(eff, conf)
            }
            Evidence::Dark => {
                self.gap = if self.lit.is_some() { GapSinceLit::Dark } else { GapSinceLit::None };
                self.go_run = None;
                self.stop_run = None;
                ev
            }
            Evidence::Missing => {
                self.gap = match (self.lit, self.gap) {
                    (None, _) => GapSinceLit::None,
                    (Some(_), GapSinceLit::Dark) => GapSinceLit::Dark,
                    (Some(_), _) => GapSinceLit::Missed,
                };
                let since_lit = self.lit.map_or(f64::INFINITY, |(_, lt)| t - lt);
                if since_lit > self.config.walk_hold_s {
                    self.go_run = None;
                    self.stop_run = None;
                }
                ev
            }
        }
    }

    /// A go lamp lit at `t` lights up again: it was last lit as long before as a blink's
    /// gap lasts (`blink_min_gap_s..=blink_max_gap_s`), whatever was read in between.
    /// On a flashing walk figure whose dark half the model reads as a stop figure (held
    /// out by seed, random-6007: walk lit 0.5 s, read red and dark 0.5 s, lit again) no
    /// blink is found, as another lamp lit between, and the 0.47 s lit half was enough
    /// for the fast entry: "Walk sign is on" for one frame inside the flashing phase. A
    /// shorter gap is a lamp lit throughout, read in doubt or misread for a frame.
    fn relit(&self, t: f64) -> bool {
        let cfg = &self.config;
        self.last_go_lit_s.is_some_and(|g| (cfg.blink_min_gap_s..=cfg.blink_max_gap_s).contains(&(t - g)))
    }

    /// `lamp` is lit at `t`: if the same lamp was lit before, with a gap a blink can
    /// have, the head is flashing. It becomes the last lit lamp, with no gap after it.
    fn note_lit(&mut self, t: f64, lamp: Lamp) {
        if lamp == Lamp::Go {
            self.last_go_lit_s = Some(t);
        }
        if let Some((prev, prev_t)) = self.lit {
            let gap = t - prev_t;
            let min_gap = match self.gap {
                GapSinceLit::None => f64::INFINITY,
                GapSinceLit::Missed => self.config.blink_min_missing_gap_s,
                GapSinceLit::Dark => self.config.blink_min_gap_s,
            };
            if prev == lamp && gap >= min_gap && gap <= self.config.blink_max_gap_s {
                self.flash = Some((lamp, t + self.config.flash_hold_s));
            }
        }
        self.lit = Some((lamp, t));
        self.gap = GapSinceLit::None;
    }

    /// The next state and the confidence that supports it (None: keep smoothing).
    fn next_state(&self, t: f64, ev: Evidence) -> (SignalState, Option<f32>) {
        use SignalState::*;
        // A flashing head says "do not start" whatever else is read on it: a lit half
        // in doubt stays changing rather than flapping to unknown and back.
        if self.flash.is_some_and(|(_, until)| t <= until) {
            let conf = if let Evidence::Lit(_, c) = ev { Some(c) } else { None };
            return (Changing, conf);
        }
        if let Evidence::Conflict(_) = ev {
            return (Unknown, None);
        }
        match ev {
            Evidence::Lit(Lamp::Go, c) => {
                // Strong evidence (every frame of the run sure) may enter sooner; the
                // frame count and the pause after stop evidence still hold, shorter.
                let cfg = &self.config;
                let strong = self.fast_entry
                    && !self.go_run_relit
                    && self.go_run.is_some_and(|r| r.min_confidence >= cfg.walk_strong_confidence);
                let (enter_s, after_stop_s) = if strong {
                    (cfg.walk_enter_strong_s, cfg.walk_after_stop_strong_s)
                } else {
                    (cfg.walk_enter_s, cfg.walk_after_stop_s)
                };
                let enter_s =
                    if self.basis == Basis::Vehicle { enter_s.max(cfg.walk_enter_vehicle_s) } else { enter_s };
                let enough = self.go_run.is_some_and(|r| r.lasted(t, enter_s, cfg.walk_min_frames));
                let stop_long_ago = self.last_stop_s.is_none_or(|s| t - s >= after_stop_s);
                if self.state == Walk || (enough && stop_long_ago) {
                    (Walk, Some(c))
                } else {
                    // Not sure yet: keep saying what was said before.
                    (self.state, None)
                }
            }
            Evidence::Lit(Lamp::Stop, c) => {
                let enough =
                    self.stop_run.is_some_and(|r| r.lasted(t, self.config.stop_enter_s, self.config.stop_min_frames));
                if matches!(self.state, Walk | DontWalk) || enough { (DontWalk, Some(c)) } else { (self.state, None) }
            }
            Evidence::Lit(Lamp::Amber, c) => (Changing, Some(c)),
            Evidence::Dark | Evidence::Missing => {
                let since_lit = self.lit.map_or(f64::INFINITY, |(_, lt)| t - lt);
                match self.state {
                    Walk if ev == Evidence::Dark => (Changing, None),
                    Walk if since_lit <= self.config.walk_hold_s => (Walk, None),
                    DontWalk | Changing if since_lit <= self.config.hold_s => (self.state, None),
                    _ => (Unknown, None),
                }
            }
            Evidence::Conflict(_) => (Unknown, None),
        }
    }

    /// Arms and disarms the fast walk entry as the state goes to `next` at `t`.
    fn track_walk_phase(&mut self, t: f64, next: SignalState) {
        if self.state == SignalState::Walk && next != SignalState::Walk {
            self.fast_entry = false;
        }
        if next == SignalState::DontWalk {
            let since = *self.dont_walk_since.get_or_insert(t);
            if t - since >= FAST_ENTRY_AFTER_DONT_WALK_S {
                self.fast_entry = true;
            }
        } else {
            self.dont_walk_since = None;
        }
    }

    fn set_state(&mut self, state: SignalState, support: Option<f32>) {
        if state == SignalState::Unknown {
            self.confidence = 0.0;
        } else if state != self.state {
            self.confidence = support.unwrap_or(self.confidence);
        } else if let Some(c) = support {
            self.confidence += 0.3 * (c - self.confidence);
        }
        self.state = state;
    }

    fn decision(&self, prev_state: SignalState, prev_basis: Basis) -> Decision {
        let basis = if self.state == SignalState::Unknown { Basis::None } else { self.basis };
        let prev_basis = if prev_state == SignalState::Unknown { Basis::None } else { prev_basis };
        Decision {
            state: self.state,
            basis,
            confidence: self.confidence,
            changed: self.state != prev_state || basis != prev_basis,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use SignalState::*;

    fn obs(shows: Option<SignalMeaning>, confidence: f32) -> Observation {
        let basis = match shows {
            Some(m) if m.is_vehicle() => Basis::Vehicle,
            Some(_) => Basis::Pedestrian,
            None => Basis::None,
        };
        Observation { shows, confidence, basis, track_id: Some(1), ..Observation::default() }
    }

    const WALK: Option<SignalMeaning> = Some(SignalMeaning::PedWalk);
    const STOP: Option<SignalMeaning> = Some(SignalMeaning::PedStop);
    const OFF: Option<SignalMeaning> = Some(SignalMeaning::Off);

    /// Feeds `(from_s, to_s, observation)` spans at `fps` and returns the state after
    /// each frame, with its time.
    fn feed(sm: &mut Smoother, fps: f64, spans: &[(f64, f64, Observation)]) -> Vec<(f64, SignalState)> {
        let mut out = Vec::new();
        for (from, to, o) in spans {
            let mut k = (from * fps).ceil() as i64;
            while (k as f64) / fps < *to - 1e-9 {
                let t = k as f64 / fps;
                out.push((t, sm.update(t, o).state));
                k += 1;
            }
        }
        out
    }

    /// `cycles` seconds of a 1 Hz flash from `from`: half a second `dark`, then half lit.
    fn flashing(from: f64, cycles: usize, dark: Observation, lit: Observation) -> Vec<(f64, f64, Observation)> {
        (0..cycles).map(|k| from + k as f64).flat_map(|s| [(s, s + 0.5, dark), (s + 0.5, s + 1.0, lit)]).collect()
    }

    fn state_at(trace: &[(f64, SignalState)], t: f64) -> SignalState {
        trace.iter().take_while(|(ft, _)| *ft <= t + 1e-9).last().map_or(Unknown, |(_, s)| *s)
    }

    /// Asserts the state at each `(t, want)`.
    fn assert_states(trace: &[(f64, SignalState)], cases: &[(f64, SignalState)]) {
        for &(t, want) in cases {
            assert_eq!(state_at(trace, t), want, "t = {t}");
        }
    }

    #[test]
    fn table_a_weak_walk_reading_counts_only_on_a_proven_head() {
        // Walk read at 0.45, under walk_min_confidence, over proven_walk_min_confidence.
        let weak = obs(WALK, 0.45);
        let proven = |o: Observation| Observation { proven: true, ..o };
        let mut sm = Smoother::new(SmootherConfig::default());
        let tr = feed(&mut sm, 10.0, &[(0.0, 3.0, proven(obs(STOP, 0.8))), (3.0, 6.0, proven(weak))]);
        // The full path: 0.8 s of go and 1 s after the last stop frame (2.9 s).
        assert_states(&tr, &[(3.0, DontWalk), (3.8, DontWalk), (3.9, Walk), (5.9, Walk)]);
        // The same reading from a head not proven is no walk evidence at all.
        let mut sm = Smoother::new(SmootherConfig::default());
        let tr = feed(&mut sm, 10.0, &[(0.0, 3.0, obs(STOP, 0.8)), (3.0, 6.0, weak)]);
        assert!(tr.iter().all(|&(_, s)| s != Walk), "{tr:?}");
        // Nor is a proven head's reading under proven_walk_min_confidence.
        let mut sm = Smoother::new(SmootherConfig::default());
        let tr = feed(&mut sm, 10.0, &[(0.0, 3.0, proven(obs(STOP, 0.8))), (3.0, 6.0, proven(obs(WALK, 0.38)))]);
        assert!(tr.iter().all(|&(_, s)| s != Walk), "{tr:?}");
        // The lower of the two applies: a config that trusts every head more trusts
        // proven heads as much.
        let trusting =
            SmootherConfig { walk_min_confidence: 0.3, proven_walk_min_confidence: 0.4, ..Default::default() };
        let mut sm = Smoother::new(trusting);
        let tr = feed(&mut sm, 10.0, &[(0.0, 3.0, proven(obs(STOP, 0.8))), (3.0, 6.0, proven(obs(WALK, 0.35)))]);
        assert_states(&tr, &[(3.9, Walk)]);
    }

    #[test]
    fn table_strong_walk_enters_sooner_but_never_right_after_stop() {
        // Every walk frame at 0.9 (>= walk_strong_confidence): 0.45 s of go and 0.6 s
        // after the last stop frame (2.9 s) instead of 0.8 s and 1 s.
        let mut sm = Smoother::new(SmootherConfig::default());
        let tr = feed(&mut sm, 10.0, &[(0.0, 3.0, obs(STOP, 0.8)), (3.0, 6.0, obs(WALK, 0.9))]);
        assert_states(&tr, &[(3.0, DontWalk), (3.4, DontWalk), (3.5, Walk), (5.9, Walk)]);
        // One frame under the strong confidence makes the whole run ordinary.
        let mut sm = Smoother::new(SmootherConfig::default());
        let tr =
            feed(&mut sm, 10.0, &[(0.0, 3.0, obs(STOP, 0.8)), (3.0, 3.1, obs(WALK, 0.55)), (3.1, 6.0, obs(WALK, 0.9))]);
        assert_states(&tr, &[(3.5, DontWalk), (3.8, DontWalk), (3.9, Walk)]);
    }

    #[test]
    fn table_a_lost_walk_is_not_re_entered_on_the_fast_path() {
        // Strong walk after don't walk enters at 3.5 s (0.6 s after the last stop frame).
        let spans = [
            (0.0, 3.0, obs(STOP, 0.8)),
            (3.0, 5.0, obs(WALK, 0.9)),
            (5.0, 6.2, obs(None, 0.0)),
            (6.2, 8.0, obs(WALK, 0.9)),
            (8.0, 8.5, obs(STOP, 0.8)),
            (8.5, 10.0, obs(WALK, 0.9)),
            (10.0, 12.5, obs(STOP, 0.8)),
            (12.5, 14.0, obs(WALK, 0.9)),
        ];
        let mut sm = Smoother::new(SmootherConfig::default());
        let tr = feed(&mut sm, 10.0, &spans);
        let cases = [
            (3.4, DontWalk),
            (3.5, Walk),
            (5.1, Walk),
            (5.3, Unknown), // missed for longer than walk_hold_s: walk is lost
            // The same strong lamp again, after too long a gap for a blink: the full
            // 0.8 s, not 0.45 s, as a head that wavers in and out of walk is what a
            // phase about to end looks like.
            (6.9, Unknown),
            (7.1, Walk),
            // Half a second of don't walk does not re-arm the fast entry: walk 1 s after
            // the last stop frame (8.4 s), not 0.6 s.
            (8.0, DontWalk),
            (9.3, DontWalk),
            (9.5, Walk),
            // Don't walk held 2.5 s: a new walk phase may be entered fast again, 0.6 s
            // after the last stop frame (12.4 s); the full path would take until 13.4 s.
            (12.9, DontWalk),
            (13.1, Walk),
        ];
        assert_states(&tr, &cases);
    }

    #[test]
    fn table_a_walk_lamp_that_lights_up_again_takes_the_full_entry() {
        // A flashing walk figure whose dark half is read as a stop figure, then dark:
        // no blink (another lamp lit between), and each lit half of 0.5 s at 0.9 would
        // pass the fast entry's 0.45 s. Lit again a blink's gap after the last lit walk
        // frame, it needs the full 0.8 s, which no lit half lasts.
        let mut spans = vec![(0.0, 3.0, obs(STOP, 0.8))];
        for k in 0..4 {
            let t = 3.0 + f64::from(k);
            spans.extend([
                (t, t + 0.5, obs(WALK, 0.9)),
                (t + 0.5, t + 0.7, obs(STOP, 0.5)),
                (t + 0.7, t + 1.0, obs(OFF, 0.8)),
            ]);
        }
        let mut sm = Smoother::new(SmootherConfig::default());
        let tr = feed(&mut sm, 15.0, &spans);
        assert!(tr.iter().all(|&(_, s)| s != Walk), "{tr:?}");
        // The fast entry itself was armed: with the guard's window at 0 (blinks off),
        // the second lit half enters walk.
        let no_blinks = SmootherConfig { blink_max_gap_s: 0.0, blink_min_gap_s: 0.0, ..Default::default() };
        let mut sm = Smoother::new(no_blinks);
        let tr = feed(&mut sm, 15.0, &spans);
        assert!(tr.iter().any(|&(t, s)| s == Walk && (4.0..4.5).contains(&t)), "{tr:?}");

        // A walk frame misread inside don't walk, then the walk phase from 4.3 s.
        let walk_phase_after_misread_at = |misread_s: f64| {
            let spans = [
                (0.0, misread_s, obs(STOP, 0.8)),
                (misread_s, misread_s + 0.1, obs(WALK, 0.9)),
                (misread_s + 0.1, 4.3, obs(STOP, 0.8)),
                (4.3, 7.0, obs(WALK, 0.9)),
            ];
            feed(&mut Smoother::new(SmootherConfig::default()), 10.0, &spans)
        };
        // 1.2 s before, it is no lighting up again: the fast path, 0.6 s after the last
        // stop frame (4.2 s; at 4.8 s the float sum falls a hair short of it).
        assert_states(&walk_phase_after_misread_at(3.0), &[(4.7, DontWalk), (4.9, Walk)]);
        // 0.8 s before, it is: the full path, 1 s after the last stop frame.
        assert_states(&walk_phase_after_misread_at(3.5), &[(5.1, DontWalk), (5.2, Walk)]);
        // A walk lamp lit throughout but read in doubt for a frame has no gap: the fast
        // path, 0.6 s after the doubt (3.3 s), where the full one would wait until 4.3 s.
        let doubted_walk = Observation { conflict: true, ..obs(WALK, 0.9) };
        let spans = [
            (0.0, 3.0, obs(STOP, 0.8)),
            (3.0, 3.3, obs(WALK, 0.9)),
            (3.3, 3.4, doubted_walk),
            (3.4, 6.0, obs(WALK, 0.9)),
        ];
        let mut sm = Smoother::new(SmootherConfig::default());
        let tr = feed(&mut sm, 10.0, &spans);
        assert_states(&tr, &[(3.8, Unknown), (4.0, Walk)]);
    }

    #[test]
    fn table_a_lit_half_read_in_doubt_still_counts_for_the_blink() {
        let doubted_walk = Observation { conflict: true, ..obs(WALK, 0.9) };
        // Walk, then a flash whose first lit half is read in doubt (a vehicle-green box
        // on the walking figure), dark, lit again: that is a blink, so changing, where
        // walk would otherwise come back 0.8 s into the second lit half.
        let spans = [
            (0.0, 2.0, obs(WALK, 0.9)),
            (2.0, 2.5, doubted_walk),
            (2.5, 3.0, obs(OFF, 0.8)),
            (3.0, 4.5, obs(WALK, 0.9)),
        ];
        let mut sm = Smoother::new(SmootherConfig::default());
        let tr = feed(&mut sm, 15.0, &spans);
        assert_eq!(state_at(&tr, 1.9), Walk);
        assert_eq!(state_at(&tr, 2.0), Unknown);
        assert!(tr.iter().filter(|(t, _)| (3.0..4.2).contains(t)).all(|(_, s)| *s == Changing), "{tr:?}");
        // A single doubted frame inside a steady walk lamp is no blink: no dark between.
        let spans = [(0.0, 2.0, obs(WALK, 0.9)), (2.0, 2.05, doubted_walk), (2.05, 5.0, obs(WALK, 0.9))];
        let mut sm = Smoother::new(SmootherConfig::default());
        let tr = feed(&mut sm, 15.0, &spans);
        assert!(tr.iter().all(|(_, s)| *s != Changing), "{tr:?}");
        assert_eq!(state_at(&tr, 2.0), Unknown);
        assert_eq!(state_at(&tr, 4.9), Walk);
    }

    #[test]
    fn table_steady_walk_after_stop() {
        // Walk at 0.55: sure enough to count, not strong.
        let mut sm = Smoother::new(SmootherConfig::default());
        let tr = feed(&mut sm, 10.0, &[(0.0, 3.0, obs(STOP, 0.8)), (3.0, 6.0, obs(WALK, 0.55))]);
        let cases = [
            (0.0, Unknown), // one stop frame is not yet enough
            (0.1, Unknown),
            (0.2, DontWalk), // stop_enter_s
            (2.9, DontWalk),
            (3.0, DontWalk), // walk lamp seen, not yet trusted
            (3.7, DontWalk), // 0.8 s of go, but the last stop frame was only 0.8 s ago
            (4.0, Walk),
            (5.9, Walk),
        ];
        assert_states(&tr, &cases);
    }

    #[test]
    fn table_stop_drops_walk_at_once() {
        let mut sm = Smoother::new(SmootherConfig::default());
        let tr = feed(&mut sm, 30.0, &[(0.0, 2.0, obs(WALK, 0.9)), (2.0, 2.04, obs(STOP, 0.4))]);
        assert_eq!(state_at(&tr, 1.9), Walk);
        assert_eq!(state_at(&tr, 2.0), DontWalk);
    }

    #[test]
    fn table_flashing_walk_is_changing() {
        let mut sm = Smoother::new(SmootherConfig::default());
        let mut spans = vec![(0.0, 2.0, obs(WALK, 0.9))];
        spans.extend(flashing(2.0, 4, obs(OFF, 0.8), obs(WALK, 0.9)));
        let tr = feed(&mut sm, 15.0, &spans);
        assert_eq!(state_at(&tr, 1.9), Walk);
        for t in [2.0, 2.3, 2.6, 3.2, 3.7, 4.4, 5.9] {
            assert_eq!(state_at(&tr, t), Changing, "t = {t}");
        }
    }

    #[test]
    fn table_flashing_dont_walk_is_changing() {
        let mut sm = Smoother::new(SmootherConfig::default());
        let mut spans = vec![(0.0, 2.0, obs(STOP, 0.9))];
        spans.extend(flashing(2.0, 4, obs(None, 0.0), obs(STOP, 0.9)));
        let tr = feed(&mut sm, 10.0, &spans);
        assert_eq!(state_at(&tr, 2.4), DontWalk, "held through the first dark phase");
        assert_eq!(state_at(&tr, 2.5), Changing, "first blink seen");
        assert_eq!(state_at(&tr, 5.9), Changing);
    }

    #[test]
    fn table_a_flashing_stop_that_goes_steady_is_dont_walk_after_flash_steady_s() {
        // Four 1 Hz flashes of the stop lamp (the last blink at 5.5 s), then steady stop.
        for fps in [5.0, 10.0, 30.0] {
            let mut spans = vec![(0.0, 2.0, obs(STOP, 0.9))];
            spans.extend(flashing(2.0, 4, obs(None, 0.0), obs(STOP, 0.9)));
            spans.push((6.0, 9.0, obs(STOP, 0.9)));
            let mut sm = Smoother::new(SmootherConfig::default());
            let tr = feed(&mut sm, fps, &spans);
            // Lit since 5.5 s: 0.8 s of it ends the flashing at 6.3 s, where the hold
            // alone (1.2 s after the blink) would have kept changing until 6.7 s.
            assert_eq!(state_at(&tr, 6.2), Changing, "{fps} fps");
            assert_eq!(state_at(&tr, 6.3 + 1.0 / fps), DontWalk, "{fps} fps");
        }
    }

    #[test]
    fn table_a_slow_flash_stays_changing_and_a_walk_lamp_gone_steady_waits_the_full_hold() {
        // Lit 0.7 s, dark 0.6 s: each lit phase is shorter than flash_steady_s.
        let mut spans = vec![(0.0, 2.0, obs(STOP, 0.9))];
        spans.extend(
            (0..4)
                .map(|k| 2.0 + 1.3 * f64::from(k))
                .flat_map(|s| [(s, s + 0.6, obs(None, 0.0)), (s + 0.6, s + 1.3, obs(STOP, 0.9))]),
        );
        let mut sm = Smoother::new(SmootherConfig::default());
        let tr = feed(&mut sm, 10.0, &spans);
        assert!(tr.iter().filter(|(t, _)| (2.6..7.2).contains(t)).all(|(_, s)| *s == Changing), "{tr:?}");
        // A flashing walk figure that goes steady: changing holds for flash_hold_s after
        // the last blink (5.5 s), and walk then needs its full evidence.
        let mut spans = vec![(0.0, 2.0, obs(WALK, 0.9))];
        spans.extend(flashing(2.0, 4, obs(OFF, 0.8), obs(WALK, 0.9)));
        spans.push((6.0, 9.0, obs(WALK, 0.9)));
        let mut sm = Smoother::new(SmootherConfig::default());
        let tr = feed(&mut sm, 10.0, &spans);
        assert!(tr.iter().filter(|(t, _)| (2.5..=6.7).contains(t)).all(|(_, s)| *s == Changing), "{tr:?}");
        assert_eq!(state_at(&tr, 8.9), Walk);
    }

    #[test]
    fn flashing_is_changing_at_any_frame_rate_and_phase() {
        for fps in [5.0, 10.0, 30.0] {
            for phase in [0.0, 0.35, 0.7] {
                for (lit, dark, steady) in
                    [(WALK, OFF, Walk), (WALK, None, Walk), (STOP, None, DontWalk), (STOP, OFF, DontWalk)]
                {
                    let mut spans = vec![(0.0, 3.0, obs(lit, 0.9))];
                    spans.extend(flashing(3.0, 5, obs(dark, 0.8), obs(lit, 0.9)));
                    let spans: Vec<_> =
                        spans.into_iter().map(|(a, b, o)| (a + phase / fps, b + phase / fps, o)).collect();
                    let mut sm = Smoother::new(SmootherConfig::default());
                    let tr = feed(&mut sm, fps, &spans);
                    assert_eq!(state_at(&tr, 2.9), steady, "{fps} fps, {lit:?}");
                    // From the first full cycle on, only "changing" is heard.
                    for (t, s) in tr.iter().filter(|(t, _)| *t >= 4.0 && *t < 8.0) {
                        assert_eq!(*s, Changing, "{fps} fps, phase {phase}, {lit:?}/{dark:?} at {t}");
                    }
                    // Never walk once the lamp has started to flash.
                    assert!(tr.iter().filter(|(t, _)| *t >= 3.0 + 0.4).all(|(_, s)| *s != Walk));
                }
            }
        }
    }

    #[test]
    fn table_yellow_after_red_stays_red_and_yellow_after_green_is_changing() {
        let yellow = Some(SignalMeaning::VehicleYellow);
        let red = Some(SignalMeaning::VehicleRed);
        let green = Some(SignalMeaning::VehicleGreen);
        let mut sm = Smoother::new(SmootherConfig::default());
        let tr = feed(&mut sm, 10.0, &[(0.0, 1.0, obs(red, 0.9)), (1.0, 2.0, obs(yellow, 0.9))]);
        assert_eq!(state_at(&tr, 1.9), DontWalk);
        let mut sm = Smoother::new(SmootherConfig::default());
        let tr = feed(&mut sm, 10.0, &[(0.0, 3.5, obs(green, 0.9)), (3.5, 4.0, obs(yellow, 0.9))]);
        assert_eq!(state_at(&tr, 3.4), Walk);
        assert_eq!(state_at(&tr, 3.5), Changing);
    }

    #[test]
    fn table_dark_and_lost_signals_end_in_unknown() {
        let mut sm = Smoother::new(SmootherConfig::default());
        let tr = feed(&mut sm, 10.0, &[(0.0, 2.0, obs(WALK, 0.9)), (2.0, 4.0, obs(OFF, 0.9))]);
        assert_eq!(state_at(&tr, 2.0), Changing, "a dark walk lamp drops walk at once");
        assert_eq!(state_at(&tr, 2.6), Changing);
        assert_eq!(state_at(&tr, 2.8), Unknown);

        let mut sm = Smoother::new(SmootherConfig::default());
        let tr = feed(&mut sm, 10.0, &[(0.0, 2.0, obs(WALK, 0.9)), (2.0, 4.0, obs(None, 0.0))]);
        assert_eq!(state_at(&tr, 2.1), Walk, "one missed detection keeps walk briefly");
        assert_eq!(state_at(&tr, 2.3), Unknown);
    }

    #[test]
    fn table_conflict_and_low_confidence_never_walk() {
        let mut sm = Smoother::new(SmootherConfig::default());
        let conflict = Observation { conflict: true, ..obs(WALK, 0.9) };
        let tr = feed(&mut sm, 10.0, &[(0.0, 2.0, obs(WALK, 0.9)), (2.0, 2.1, conflict)]);
        assert_eq!(state_at(&tr, 2.0), Unknown);
        let mut sm = Smoother::new(SmootherConfig::default());
        let tr = feed(&mut sm, 10.0, &[(0.0, 5.0, obs(WALK, 0.45))]);
        assert!(tr.iter().all(|(_, s)| *s == Unknown));
    }

    #[test]
    fn a_fault_is_unknown_at_once_and_walk_needs_full_evidence_again() {
        let mut sm = Smoother::new(SmootherConfig::default());
        let walk = obs(Some(SignalMeaning::PedWalk), 0.9);
        let mut t = 0.0;
        while sm.state() != Walk {
            sm.update(t, &walk);
            t += 0.1;
            assert!(t < 5.0, "steady walk evidence never became walk");
        }
        let d = sm.fault(t);
        assert_eq!((d.state, d.basis, d.changed), (Unknown, Basis::None, true));
        assert_eq!(sm.update(t + 0.1, &walk).state, Unknown, "one frame after a fault is not enough for walk");
    }

    #[test]
    fn stalled_input_reaches_unknown_by_tick() {
        let mut sm = Smoother::new(SmootherConfig::default());
        feed(&mut sm, 10.0, &[(0.0, 2.0, obs(WALK, 0.9))]);
        assert_eq!(sm.tick(2.5).state, Walk);
        let d = sm.tick(2.9 + 1.0 + 1e-6);
        assert_eq!(d.state, Unknown);
        assert!(d.changed);
        assert_eq!(d.basis, Basis::None);
        // After a stall the evidence starts again from zero.
        assert_eq!(sm.update(4.0, &obs(WALK, 0.9)).state, Unknown);
    }

    #[test]
    fn table_vehicle_green_needs_three_seconds_whatever_its_confidence() {
        // A sure vehicle green from the start: not walk before 3 s of it.
        let green = obs(Some(SignalMeaning::VehicleGreen), 0.95);
        let mut sm = Smoother::new(SmootherConfig::default());
        let tr = feed(&mut sm, 10.0, &[(0.0, 5.0, green)]);
        for (t, want) in [(0.5, Unknown), (1.0, Unknown), (2.9, Unknown), (3.0, Walk), (4.9, Walk)] {
            assert_eq!(state_at(&tr, t), want, "vehicle green, t = {t}");
        }
        // The same confidence on a pedestrian walk figure: the strong entry, 0.45 s.
        let mut sm = Smoother::new(SmootherConfig::default());
        let tr = feed(&mut sm, 10.0, &[(0.0, 2.0, obs(WALK, 0.95))]);
        assert_eq!(state_at(&tr, 0.4), Unknown);
        assert_eq!(state_at(&tr, 0.5), Walk);
        // A pedestrian stop found before the 3 s are over: never walk.
        let mut sm = Smoother::new(SmootherConfig::default());
        let stop = Observation { track_id: Some(2), ..obs(STOP, 0.6) };
        let tr = feed(&mut sm, 10.0, &[(0.0, 2.0, green), (2.0, 5.0, stop)]);
        assert!(tr.iter().all(|(_, s)| *s != Walk), "{tr:?}");
        // With the rule off, the vehicle green follows the pedestrian timing.
        let cfg = SmootherConfig { walk_enter_vehicle_s: 0.0, ..SmootherConfig::default() };
        let tr = feed(&mut Smoother::new(cfg), 10.0, &[(0.0, 2.0, green)]);
        assert_eq!(state_at(&tr, 0.5), Walk);
    }

    #[test]
    fn vehicle_basis_is_reported() {
        let mut sm = Smoother::new(SmootherConfig::default());
        let tr = feed(&mut sm, 10.0, &[(0.0, 1.0, obs(Some(SignalMeaning::VehicleRed), 0.9))]);
        assert_eq!(state_at(&tr, 0.9), DontWalk);
        assert_eq!(sm.update(1.0, &obs(Some(SignalMeaning::VehicleRed), 0.9)).basis, Basis::Vehicle);
    }

    #[test]
    fn default_config_is_valid() {
        assert!(SmootherConfig::default().validate().is_ok());
        assert!(SmootherConfig { walk_min_frames: 1, ..SmootherConfig::default() }.validate().is_err());
    }

    #[test]
    fn flashing_walk_seen_only_as_missed_frames_is_changing_never_walk() {
        for fps in [5.0, 10.0, 15.0, 30.0] {
            let mut s = Smoother::new(SmootherConfig::default());
            let dt = 1.0 / fps;
            let mut t = 0.0;
            while t < 3.0 {
                s.update(t, &obs(WALK, 0.9));
                t += dt;
            }
            assert_eq!(s.state(), Walk, "fps {fps}");
            let flash_start = t;
            let mut saw_changing = false;
            while t < flash_start + 6.0 {
                // 1 Hz flash; the detector never reports the dark head, it just misses it.
                let lit = (t - flash_start).rem_euclid(1.0) < 0.5;
                let d = s.update(t, &if lit { obs(WALK, 0.9) } else { obs(None, 0.0) });
                if t - flash_start > 1.1 {
                    assert_ne!(d.state, Walk, "fps {fps}, {:.2} s into the flashing", t - flash_start);
                }
                saw_changing |= d.state == Changing;
                t += dt;
            }
            assert!(saw_changing, "fps {fps}: the flashing was never recognised");
        }
    }

    #[test]
    fn a_steady_stop_missed_for_two_frames_now_and_then_stays_dont_walk() {
        let mut s = Smoother::new(SmootherConfig::default());
        let dt = 1.0 / 15.0;
        for k in 0..150 {
            let t = f64::from(k) * dt;
            // Every fifth and sixth frame of seven is missed: gaps of 0.2 s.
            let missed = k % 7 >= 5;
            let d = s.update(t, &if missed { obs(None, 0.0) } else { obs(STOP, 0.4) });
            if t > 0.5 {
                assert_eq!(d.state, DontWalk, "at {t:.2} s");
            }
        }
    }
}
