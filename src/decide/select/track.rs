//! One signal head followed over time by the [`Selector`](super::Selector), and what it
//! has shown: the kind it was read as, and whether it was read two ways in a frame.

use crate::geom::BBox;
use crate::signal::{Detection, Rival, SignalMeaning};

/// Whether a head is a pedestrian or a vehicle signal, learned from what it showed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Pedestrian,
    Vehicle,
    /// Only ever seen unlit.
    Unknown,
}

/// Go or stop, for finding contradictions between heads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Aspect {
    Go,
    Stop,
}

/// Whether a reading says go, stop, or neither (unlit, not a signal).
pub(super) fn aspect(m: SignalMeaning) -> Option<Aspect> {
    match m {
        SignalMeaning::PedWalk | SignalMeaning::VehicleGreen => Some(Aspect::Go),
        SignalMeaning::PedStop | SignalMeaning::VehicleRed | SignalMeaning::VehicleYellow => Some(Aspect::Stop),
        SignalMeaning::Off | SignalMeaning::Crosswalk | SignalMeaning::Other => None,
    }
}

/// Whether a head read as `stronger` and also as `weaker` must count as a conflict:
/// only a go reading with a stop reading beside it. A stop reading stays stop whatever
/// weaker go reading comes with it, since stopping is what both readings allow.
fn go_beside_stop(stronger: SignalMeaning, weaker: SignalMeaning) -> bool {
    aspect(stronger) == Some(Aspect::Go) && aspect(weaker) == Some(Aspect::Stop)
}

/// One signal head followed over time.
#[derive(Debug, Clone)]
pub(super) struct Track {
    pub(super) id: u32,
    pub(super) bbox: BBox,
    pub(super) first_seen_s: f64,
    pub(super) last_seen_s: f64,
    pub(super) hits: u32,
    ped_hits: u32,
    vehicle_hits: u32,
    /// Fraction of recent time the head was detected, in `[0, 1]` (time-based EMA).
    pub(super) seen_rate: f32,
    /// Smoothed detector score.
    pub(super) score_ema: f32,
    /// What it shows in the current frame, with its score.
    pub(super) now: Option<(SignalMeaning, f32)>,
    /// Detected as both go and stop in the current frame.
    pub(super) self_conflict: bool,
    /// Last time the head was read as a vehicle lamp (as a box's class, with no pedestrian
    /// rival; rivals alone do not count).
    pub(super) last_vehicle_reading_s: Option<f64>,
    /// Whether the head was ever read as a pedestrian stop figure (as a box's class).
    pub(super) stop_seen: bool,
}

impl Track {
    /// A new track for a box that continues none. `doubt_min_score`: see
    /// [`Track::record`].
    pub(super) fn start(id: u32, t_s: f64, d: &Detection, doubt_min_score: f32) -> Self {
        let mut tr = Self {
            id,
            bbox: d.bbox,
            first_seen_s: t_s,
            last_seen_s: t_s,
            hits: 1,
            ped_hits: 0,
            vehicle_hits: 0,
            seen_rate: 0.5,
            score_ema: d.score,
            now: Some((d.meaning, d.score)),
            self_conflict: false,
            last_vehicle_reading_s: None,
            stop_seen: false,
        };
        tr.stop_seen = d.meaning == SignalMeaning::PedStop;
        tr.record(t_s, d, doubt_min_score);
        tr
    }

    /// The head's box in this frame: it moves there and shows what the box reads. A
    /// walk or green reading with a stop rival of at least `min_score` is the head read
    /// two ways.
    pub(super) fn continue_with(&mut self, t_s: f64, d: &Detection, min_score: f32, doubt_min_score: f32) {
        self.stop_seen |= d.meaning == SignalMeaning::PedStop;
        self.bbox = d.bbox;
        self.last_seen_s = t_s;
        self.hits = self.hits.saturating_add(1);
        self.score_ema = 0.7 * self.score_ema + 0.3 * d.score;
        self.now = Some((d.meaning, d.score));
        if d.rival.is_some_and(|r: Rival| r.score >= min_score && go_beside_stop(d.meaning, r.meaning)) {
            self.self_conflict = true;
        }
        self.record(t_s, d, doubt_min_score);
    }

    /// A weaker second box on the head in this frame (after [`Track::continue_with`]):
    /// the same head read two ways.
    pub(super) fn add_second_reading(&mut self, t_s: f64, d: &Detection, doubt_min_score: f32) {
        if self.now.is_some_and(|(first, _)| go_beside_stop(first, d.meaning)) {
            self.self_conflict = true;
        }
        self.record(t_s, d, doubt_min_score);
    }

    pub(super) fn kind(&self) -> Kind {
        if self.ped_hits == 0 && self.vehicle_hits == 0 {
            Kind::Unknown
        } else if self.ped_hits >= self.vehicle_hits {
            Kind::Pedestrian
        } else {
            Kind::Vehicle
        }
    }

    /// The share of the head's readings that were vehicle lamps (as a box's class), in
    /// `[0, 1]`; 0 for a head only ever seen unlit.
    pub(super) fn vehicle_share(&self) -> f32 {
        let readings = self.ped_hits.saturating_add(self.vehicle_hits);
        if readings == 0 { 0.0 } else { self.vehicle_hits as f32 / readings as f32 }
    }

    /// Counts the reading towards the head's kind; a plain vehicle reading of at least
    /// `doubt_min_score` also puts the head's kind in doubt.
    fn record(&mut self, t_s: f64, d: &Detection, doubt_min_score: f32) {
        if d.meaning.is_pedestrian() {
            self.ped_hits = self.ped_hits.saturating_add(1);
        } else if d.meaning.is_vehicle() {
            self.vehicle_hits = self.vehicle_hits.saturating_add(1);
            // A vehicle reading whose runner-up is a pedestrian figure is the model unsure
            // of the kind, which lit walking figures often cause; only a plain vehicle
            // reading says the head may be a lamp, and only one the model is fairly sure of.
            if d.score >= doubt_min_score && d.rival.is_none_or(|r| !r.meaning.is_pedestrian()) {
                self.last_vehicle_reading_s = Some(t_s);
            }
        }
    }
}
