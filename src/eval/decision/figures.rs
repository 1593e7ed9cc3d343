//! What decision evaluation reports, per clip and overall: the figures the module docs
//! define, as serialized into `eval --json`.

use super::HeadCounts;
use crate::eval::Stats;
use crate::signal::SignalState;
use crate::truth::TruthSignal;
use serde::Serialize;

/// [`HeadCounts`] with its ratios, as reported.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct HeadFigures {
    /// The counts.
    #[serde(flatten)]
    pub counts: HeadCounts,
    /// `right_state_frames / visible_frames`: stop and walk told apart in this share of
    /// the frames where the head is visible (a missed head counts as not told apart);
    /// `null` without such frames.
    pub told_apart: Option<f64>,
    /// `right_state_frames / detected_frames`: the state is right in this share of the
    /// frames where the head was found.
    pub state_accuracy: Option<f64>,
}

impl From<HeadCounts> for HeadFigures {
    fn from(counts: HeadCounts) -> Self {
        let ratio = |n: u64, d: u64| (d > 0).then(|| n as f64 / d as f64);
        Self {
            counts,
            told_apart: ratio(counts.right_state_frames, counts.visible_frames),
            state_accuracy: ratio(counts.right_state_frames, counts.detected_frames),
        }
    }
}

/// Seconds of decision unknown, by the truth at the time.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct UnknownByTruth {
    /// Truth walk.
    pub walk_s: f64,
    /// Truth don't walk.
    pub dont_walk_s: f64,
    /// Truth changing.
    pub changing_s: f64,
    /// No relevant signal visible.
    pub none_s: f64,
}

/// The figures of one clip or of all clips together.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct DecisionFigures {
    /// Evaluated time, seconds.
    pub duration_s: f64,
    /// Frames in the clips.
    pub frames: u64,
    /// Frames processed (the rest were dropped by pacing).
    pub frames_processed: u64,
    /// Decision walk while the truth is don't walk, seconds. Must be 0.
    pub false_go_s: f64,
    /// Separate stretches of false go.
    pub false_go_events: usize,
    /// Of `false_go_s`: walk on a street with no pedestrian signal while the vehicle light
    /// beside the crossing showed red, seconds.
    pub false_go_vehicle_s: f64,
    /// Decision walk while the truth is changing, seconds.
    pub go_during_changing_s: f64,
    /// Decision walk while no relevant signal is visible, seconds.
    pub go_without_signal_s: f64,
    /// Truth walk, seconds.
    pub walk_s: f64,
    /// Truth walk while the decision is not walk, seconds.
    pub missed_walk_s: f64,
    /// `missed_walk_s / walk_s`; `null` without walk time.
    pub missed_walk_fraction: Option<f64>,
    /// Delay from each true change to the first matching decision, seconds (`mean_s`,
    /// `p95_s`, `max_s`).
    #[serde(rename = "announce_latency_s")]
    pub announce_latency: Stats,
    /// True changes (excluding the clip start).
    pub true_changes: usize,
    /// True changes the decision never matched before the truth changed again.
    pub missed_changes: usize,
    /// Delay from the clip start to the first matching decision (warm-up included).
    pub first_match: Stats,
    /// Decision changes no true change explains.
    pub flaps: usize,
    /// `flaps` per minute of clip.
    pub flaps_per_min: f64,
    /// Decision unknown, seconds.
    pub unknown_s: f64,
    /// The truth during the unknown seconds.
    pub unknown_by_truth: UnknownByTruth,
    /// Cues announced.
    pub announcements: usize,
    /// The longest walk inside one changing phase, s.
    pub go_during_changing_max_s: f64,
    /// Messages spoken.
    pub spoken: usize,
    /// `spoken` per minute.
    pub spoken_per_min: f64,
    /// Messages spoken more than `STEADY_AFTER_S` after a true change.
    pub spoken_steady: usize,
    /// Time more than `STEADY_AFTER_S` after a true change, s.
    pub steady_s: f64,
    /// `spoken_steady` per minute of `steady_s`.
    pub spoken_per_min_steady: f64,
    /// The highest steady rate of one stretch of constant truth lasting at least
    /// `STEADY_MIN_S`, per minute.
    pub spoken_per_min_steady_max: f64,
    /// The detector on the relevant pedestrian head, frame by frame.
    pub ped_heads: HeadFigures,
}

/// What a clip looked like over time, for the timeline picture.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ClipBands {
    /// `(start_s, end_s, truth)`, consecutive, equal neighbours merged.
    pub truth: Vec<(f64, f64, TruthSignal)>,
    /// `(start_s, end_s, decision)`, consecutive, equal neighbours merged.
    pub decision: Vec<(f64, f64, SignalState)>,
    /// `(t_s, state)` of each announced cue.
    pub announcements: Vec<(f64, SignalState)>,
    /// `(start_s, end_s)` of each false-go stretch.
    pub false_go: Vec<(f64, f64)>,
}

/// One clip's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClipReport {
    /// Clip name.
    pub clip: String,
    /// Its figures.
    #[serde(flatten)]
    pub figures: DecisionFigures,
    /// Bands for the picture (not in JSON).
    #[serde(skip)]
    pub bands: ClipBands,
    /// Each latency, seconds (pooled into the overall statistics; not in JSON).
    #[serde(skip)]
    pub latencies_s: Vec<f64>,
    /// Delay to the first matching decision, if any (not in JSON; see `first_match`).
    #[serde(skip)]
    pub first_match_s: Option<f64>,
}

/// Every clip and the overall figures. Serializes to the `--json` output.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DecisionReport {
    /// All clips together.
    pub overall: DecisionFigures,
    /// Per clip, in the order added.
    pub clips: Vec<ClipReport>,
}
