//! Decision quality: the pipeline's per-frame decisions against a clip's true timeline.
//!
//! The input is one [`DecisionSample`] per *processed* frame. A decision holds from its
//! frame until the next processed frame (and the last one until the end of the clip);
//! before the first frame the user has heard nothing, which counts as unknown. So when
//! real-time pacing drops frames, the stale decision is what the user lives with, and
//! every figure is weighted by time, not by frame count.
//!
//! Figures, per clip and overall:
//!
//! - `false_go_s`: seconds of decision walk while the truth is don't walk: the safety
//!   number, which must be 0. `false_go_events`: separate stretches of it. On a street
//!   with no pedestrian signal at all (no frame of the timeline lists a relevant head),
//!   the light a pedestrian follows is the vehicle light beside the crossing (boxes marked
//!   `parallel`): walk while it shows red counts as false go too, and on its own as
//!   `false_go_vehicle_s`.
//! - `go_during_changing_s`: decision walk while the truth is changing (flashing walk or
//!   countdown). `go_without_signal_s`: decision walk while no relevant signal is
//!   visible.
//! - `missed_walk_s`: truth walk, decision anything else; `missed_walk_fraction` divides
//!   by the walk time.
//! - `announce_latency`: for each change of the true signal, the delay until the decision
//!   first shows a matching state, before the truth changes again (otherwise the change
//!   counts in `missed_changes`). Matching: walk ↔ walk, don't walk ↔ don't walk, no
//!   signal ↔ unknown, and changing ↔ changing *or* don't walk (both tell the user not to
//!   start crossing). A decision that already matches when the truth changes has latency
//!   0. The clip start is not a change; the delay to the first matching decision there is
//!   `first_match_s` (it includes the smoother's warm-up).
//! - `flaps`: decision changes that no true change explains (every change except the one
//!   that first matched each true change and the clip start); `flaps_per_min` over the
//!   clip length.
//! - `unknown_s`: seconds of decision unknown, split by the truth during those seconds.
//! - `go_during_changing_max_s`: the longest walk inside one changing phase (the target
//!   is 0.6 s per phase).
//! - `spoken`: messages spoken, as the cue stage's
//!   [`SpeechPolicy`](crate::cue::SpeechPolicy) decides them; `spoken_per_min` over the
//!   clip. `spoken_per_min_steady`: messages spoken more than [`STEADY_AFTER_S`] after the
//!   last true change (or the clip start), per minute of such steady time (what the user hears on a street
//!   whose signal is not changing); `spoken_per_min_steady_max`: the same on the worst
//!   single stretch of constant truth lasting at least [`STEADY_MIN_S`].

mod figures;

pub use figures::{ClipBands, ClipReport, DecisionFigures, DecisionReport, HeadFigures, UnknownByTruth};

use super::{EvalError, Stats};
use crate::signal::{Detection, SignalMeaning, SignalState};
use crate::truth::{Timeline, TruthBox, TruthSignal};
use serde::Serialize;

/// A message within this long after a true change belongs to the change, s.
pub const STEADY_AFTER_S: f64 = 3.0;
/// Stretches of constant truth shorter than this have no steady rate of their own, s.
pub const STEADY_MIN_S: f64 = 15.0;

/// The decision after one processed frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DecisionSample {
    /// Media time of the frame, seconds from the start of the clip.
    pub t_s: f64,
    /// The smoother's decision after this frame.
    pub state: SignalState,
    /// Whether a cue was announced at this frame (the decision changed).
    pub announced: bool,
    /// Whether a spoken message started at this frame.
    pub spoken: bool,
}

/// One clip's decisions as the pipeline produced them.
#[derive(Debug, Clone, PartialEq)]
pub struct ClipDecisions {
    /// Clip name, for reports.
    pub name: String,
    /// Length of the clip as decoded, seconds (checked against the timeline).
    pub duration_s: f64,
    /// The clip's frame rate, frames per second, 0 when unknown (checked against the
    /// timeline, whose per-frame boxes are numbered by frame).
    pub fps: f64,
    /// Frames in the clip, including frames dropped by pacing.
    pub frames: u64,
    /// One sample per processed frame, in time order.
    pub samples: Vec<DecisionSample>,
    /// The detector on the relevant pedestrian head, frame by frame (only when the
    /// timeline has per-frame boxes).
    pub heads: HeadCounts,
}

/// How the detector saw the pedestrian head the user must obey, counted over the
/// processed frames whose timeline lists it lit (`ped_stop` or `ped_walk`, relevant).
/// This is the model's share of the decision: can it tell stop from walk at all, on
/// decoded video, before any smoothing?
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct HeadCounts {
    /// Frames in which the head is visible and lit.
    pub visible_frames: u64,
    /// ... and a pedestrian detection overlaps it (IoU at least [`HeadCounts::MIN_IOU`]).
    pub detected_frames: u64,
    /// ... and the best-overlapping pedestrian detection has the right state.
    pub right_state_frames: u64,
}

impl HeadCounts {
    /// Overlap that counts as "the same head". Heads in street video are a few pixels
    /// wide, where a 1-px offset already costs a third of the IoU, hence 0.3, as for
    /// the class-agnostic recall of the detection mode.
    pub const MIN_IOU: f32 = 0.3;

    /// Counts one processed frame: the timeline's boxes for it and the detections.
    pub fn add_frame(&mut self, truth: &[TruthBox], detections: &[Detection]) {
        for head in truth.iter().filter(|b| b.relevant) {
            let expected = match head.class.as_str() {
                "ped_stop" => SignalMeaning::PedStop,
                "ped_walk" => SignalMeaning::PedWalk,
                _ => continue,
            };
            self.visible_frames += 1;
            let truth_box = head.bbox();
            let best = detections
                .iter()
                .filter(|d| matches!(d.meaning, SignalMeaning::PedStop | SignalMeaning::PedWalk))
                .map(|d| (d.bbox.iou(&truth_box), d))
                .filter(|(iou, _)| *iou >= Self::MIN_IOU)
                .max_by(|a, b| a.0.total_cmp(&b.0));
            if let Some((_, d)) = best {
                self.detected_frames += 1;
                if d.meaning == expected {
                    self.right_state_frames += 1;
                }
            }
        }
    }

    fn plus(self, o: HeadCounts) -> HeadCounts {
        HeadCounts {
            visible_frames: self.visible_frames + o.visible_frames,
            detected_frames: self.detected_frames + o.detected_frames,
            right_state_frames: self.right_state_frames + o.right_state_frames,
        }
    }
}

/// Evaluates clips one by one, then sums them up.
#[derive(Debug, Clone, Default)]
pub struct DecisionEvaluator {
    clips: Vec<ClipReport>,
}

/// Index into per-truth arrays.
fn truth_index(t: TruthSignal) -> usize {
    match t {
        TruthSignal::Walk => 0,
        TruthSignal::DontWalk => 1,
        TruthSignal::Changing => 2,
        TruthSignal::None => 3,
    }
}

/// Whether the decision `d` tells the user what the truth `t` means.
fn matches(t: TruthSignal, d: SignalState) -> bool {
    match t {
        TruthSignal::Walk => d == SignalState::Walk,
        TruthSignal::DontWalk => d == SignalState::DontWalk,
        TruthSignal::Changing => matches!(d, SignalState::Changing | SignalState::DontWalk),
        TruthSignal::None => d == SignalState::Unknown,
    }
}

impl DecisionEvaluator {
    /// An evaluator with no clips yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Evaluates one clip against its timeline. `timeline_path` only names the file in
    /// errors.
    ///
    /// # Errors
    /// [`EvalError::Timeline`] when the timeline does not cover the clip as decoded (on
    /// field `duration_s`), [`EvalError::Samples`] when samples are not finite or not in
    /// time order.
    pub fn add_clip(
        &mut self,
        timeline: &Timeline,
        timeline_path: &str,
        run: &ClipDecisions,
    ) -> Result<&ClipReport, EvalError> {
        timeline.validate(timeline_path)?;
        timeline.check_covers(timeline_path, run.duration_s, run.fps)?;
        let samples = &run.samples;
        let bad = |message: String| EvalError::Samples { clip: run.name.clone(), message };
        for (i, s) in samples.iter().enumerate() {
            if !s.t_s.is_finite() {
                return Err(bad(format!("sample {i} has time {}", s.t_s)));
            }
            if i > 0 && s.t_s < samples[i - 1].t_s {
                return Err(bad(format!(
                    "sample {i} at {} s comes before sample {} at {} s",
                    s.t_s,
                    i - 1,
                    samples[i - 1].t_s
                )));
            }
        }
        let end = timeline.duration_s;

        let truth = truth_bands(timeline);
        let decision = decision_bands(samples, end);
        let announcements: Vec<(f64, SignalState)> =
            samples.iter().filter(|s| s.announced && s.t_s < end).map(|s| (s.t_s, s.state)).collect();

        // Sweep the two band lists together; accumulate seconds per (truth, decision).
        let mut secs = [[0.0f64; 4]; 4];
        let mut false_go: Vec<(f64, f64)> = Vec::new();
        let (mut i, mut j) = (0, 0);
        while i < truth.len() && j < decision.len() {
            let (ta, tb, ts) = truth[i];
            let (da, db, ds) = decision[j];
            let (a, b) = (ta.max(da), tb.min(db));
            if b > a {
                secs[truth_index(ts)][state_index(ds)] += b - a;
                if ts == TruthSignal::DontWalk && ds == SignalState::Walk {
                    extend_bands(&mut false_go, a, b);
                }
            }
            if tb <= db { i += 1 } else { j += 1 }
        }
        let mut false_go_vehicle_s = 0.0;
        for (a, b) in overlaps(&vehicle_stop_bands(timeline), &decision, SignalState::Walk) {
            false_go_vehicle_s += b - a;
            false_go.push((a, b));
        }
        false_go.sort_by(|x, y| x.0.total_cmp(&y.0));

        // Latency: the first decision band matching each truth band.
        let mut explained = vec![false; decision.len()];
        let mut latencies = Vec::new();
        let mut missed_changes = 0;
        let mut first_match_s = None;
        for (k, &(ta, tb, ts)) in truth.iter().enumerate() {
            let hit = decision.iter().enumerate().find(|&(_, &(da, db, ds))| db > ta && da < tb && matches(ts, ds));
            match hit {
                Some((jj, &(da, _, _))) => {
                    let delay = (da - ta).max(0.0);
                    if da >= ta && jj > 0 {
                        explained[jj] = true;
                    }
                    if k == 0 { first_match_s = Some(delay) } else { latencies.push(delay) }
                }
                None if k > 0 => missed_changes += 1,
                None => {}
            }
        }
        let flaps = (1..decision.len()).filter(|&jj| !explained[jj]).count();

        // Walk inside each changing phase, and speech on stretches of constant truth.
        let mut go_during_changing_max_s = 0.0f64;
        for &(ta, tb, _) in truth.iter().filter(|b| b.2 == TruthSignal::Changing) {
            let walk: f64 = decision
                .iter()
                .filter(|d| d.2 == SignalState::Walk)
                .map(|&(da, db, _)| (db.min(tb) - da.max(ta)).max(0.0))
                .sum();
            go_during_changing_max_s = go_during_changing_max_s.max(walk);
        }
        let spoken_at: Vec<f64> = samples.iter().filter(|s| s.spoken && s.t_s < end).map(|s| s.t_s).collect();
        let (mut spoken_steady, mut steady_s, mut spoken_per_min_steady_max) = (0usize, 0.0f64, 0.0f64);
        for &(ta, tb, _) in &truth {
            // The clip start counts as a change: its messages (looking, the first
            // decision) belong to it.
            let from = ta + STEADY_AFTER_S;
            if tb <= from {
                continue;
            }
            let n = spoken_at.iter().filter(|&&t| t >= from && t < tb).count();
            spoken_steady += n;
            steady_s += tb - from;
            if tb - ta >= STEADY_MIN_S {
                spoken_per_min_steady_max = spoken_per_min_steady_max.max(n as f64 / ((tb - from) / 60.0));
            }
        }

        let walk_s: f64 = secs[0].iter().sum();
        let missed_walk_s = walk_s - secs[0][state_index(SignalState::Walk)];
        let unknown = state_index(SignalState::Unknown);
        let figures = DecisionFigures {
            duration_s: end,
            frames: run.frames,
            frames_processed: samples.len() as u64,
            false_go_s: secs[1][0] + false_go_vehicle_s,
            false_go_events: false_go.len(),
            false_go_vehicle_s,
            go_during_changing_s: secs[2][0],
            go_without_signal_s: secs[3][0],
            walk_s,
            missed_walk_s,
            missed_walk_fraction: (walk_s > 0.0).then(|| missed_walk_s / walk_s),
            announce_latency: Stats::of(&latencies),
            true_changes: truth.len().saturating_sub(1),
            missed_changes,
            first_match: Stats::of(first_match_s.as_slice()),
            flaps,
            flaps_per_min: flaps as f64 / (end / 60.0),
            unknown_s: (0..4).map(|t| secs[t][unknown]).sum(),
            unknown_by_truth: UnknownByTruth {
                walk_s: secs[0][unknown],
                dont_walk_s: secs[1][unknown],
                changing_s: secs[2][unknown],
                none_s: secs[3][unknown],
            },
            announcements: announcements.len(),
            go_during_changing_max_s,
            spoken: spoken_at.len(),
            spoken_per_min: spoken_at.len() as f64 / (end / 60.0),
            spoken_steady,
            steady_s,
            spoken_per_min_steady: per_min(spoken_steady, steady_s),
            spoken_per_min_steady_max,
            ped_heads: run.heads.into(),
        };
        self.clips.push(ClipReport {
            clip: run.name.clone(),
            figures,
            bands: ClipBands { truth, decision, announcements, false_go },
            latencies_s: latencies,
            first_match_s,
        });
        let last = self.clips.len() - 1;
        Ok(&self.clips[last])
    }

    /// The clips evaluated so far and their overall figures.
    pub fn finish(self) -> DecisionReport {
        let mut o = DecisionFigures::default();
        let mut latencies = Vec::new();
        let mut firsts = Vec::new();
        for c in &self.clips {
            let f = &c.figures;
            o.duration_s += f.duration_s;
            o.frames += f.frames;
            o.frames_processed += f.frames_processed;
            o.false_go_s += f.false_go_s;
            o.false_go_events += f.false_go_events;
            o.false_go_vehicle_s += f.false_go_vehicle_s;
            o.go_during_changing_s += f.go_during_changing_s;
            o.go_without_signal_s += f.go_without_signal_s;
            o.walk_s += f.walk_s;
            o.missed_walk_s += f.missed_walk_s;
            o.true_changes += f.true_changes;
            o.missed_changes += f.missed_changes;
            o.flaps += f.flaps;
            o.unknown_s += f.unknown_s;
            o.unknown_by_truth.walk_s += f.unknown_by_truth.walk_s;
            o.unknown_by_truth.dont_walk_s += f.unknown_by_truth.dont_walk_s;
            o.unknown_by_truth.changing_s += f.unknown_by_truth.changing_s;
            o.unknown_by_truth.none_s += f.unknown_by_truth.none_s;
            o.announcements += f.announcements;
            o.go_during_changing_max_s = o.go_during_changing_max_s.max(f.go_during_changing_max_s);
            o.spoken += f.spoken;
            o.spoken_steady += f.spoken_steady;
            o.steady_s += f.steady_s;
            o.spoken_per_min_steady_max = o.spoken_per_min_steady_max.max(f.spoken_per_min_steady_max);
            o.ped_heads = o.ped_heads.counts.plus(f.ped_heads.counts).into();
            latencies.extend_from_slice(&c.latencies_s);
            firsts.extend(c.first_match_s);
        }
        o.missed_walk_fraction = (o.walk_s > 0.0).then(|| o.missed_walk_s / o.walk_s);
        o.announce_latency = Stats::of(&latencies);
        o.first_match = Stats::of(&firsts);
        o.flaps_per_min = per_min(o.flaps, o.duration_s);
        o.spoken_per_min = per_min(o.spoken, o.duration_s);
        o.spoken_per_min_steady = per_min(o.spoken_steady, o.steady_s);
        DecisionReport { overall: o, clips: self.clips }
    }
}

/// Appends the stretch `[a, b)` to time-ordered `bands`, extending the last one when the
/// new stretch starts where it ends.
fn extend_bands(bands: &mut Vec<(f64, f64)>, a: f64, b: f64) {
    match bands.last_mut() {
        Some(last) if last.1 == a => last.1 = b,
        _ => bands.push((a, b)),
    }
}

/// Stretches, s, in which a street with no pedestrian signal shows its parallel vehicle
/// light red (see `false_go_s` in the module docs): empty when any frame lists a relevant
/// head or any segment is other than `none` (the pedestrian truth judges walk there), or
/// no box is marked `parallel`. Frame `k` lasts from `k / fps` to `(k + 1) / fps`; a frame
/// where that light is out of sight does not count.
fn vehicle_stop_bands(timeline: &Timeline) -> Vec<(f64, f64)> {
    let pedestrian_signal = timeline.boxes.iter().flat_map(|f| &f.boxes).any(|b| b.relevant)
        || timeline.segments.iter().any(|s| s.signal != TruthSignal::None);
    if pedestrian_signal || timeline.fps <= 0.0 {
        return Vec::new();
    }
    let mut bands = Vec::new();
    for f in timeline.boxes.iter().filter(|f| f.boxes.iter().any(|b| b.parallel && b.class == "red")) {
        extend_bands(&mut bands, f.frame as f64 / timeline.fps, (f.frame + 1) as f64 / timeline.fps);
    }
    bands
}

/// The parts of `bands` (sorted, disjoint) during which `decision` shows `state`.
fn overlaps(bands: &[(f64, f64)], decision: &[(f64, f64, SignalState)], state: SignalState) -> Vec<(f64, f64)> {
    let mut out = Vec::new();
    for &(a, b) in bands {
        for &(da, db, _) in decision.iter().filter(|d| d.2 == state) {
            let (x, y) = (a.max(da), b.min(db));
            if y > x {
                extend_bands(&mut out, x, y);
            }
        }
    }
    out
}

/// `n` per minute of `seconds` (0 for no time).
fn per_min(n: usize, seconds: f64) -> f64 {
    if seconds > 0.0 { n as f64 / (seconds / 60.0) } else { 0.0 }
}

fn state_index(s: SignalState) -> usize {
    match s {
        SignalState::Walk => 0,
        SignalState::DontWalk => 1,
        SignalState::Changing => 2,
        SignalState::Unknown => 3,
    }
}

/// Truth as consecutive bands over `[0, duration_s)`: each segment runs to the next
/// one's start (the timeline is validated, so gaps are within half a frame).
fn truth_bands(timeline: &Timeline) -> Vec<(f64, f64, TruthSignal)> {
    let end = timeline.duration_s;
    let mut bands: Vec<(f64, f64, TruthSignal)> = Vec::with_capacity(timeline.segments.len());
    for (k, seg) in timeline.segments.iter().enumerate() {
        let a = if k == 0 { 0.0 } else { seg.start_s.clamp(0.0, end) };
        let b = timeline.segments.get(k + 1).map_or(end, |n| n.start_s.clamp(0.0, end));
        if b <= a {
            continue;
        }
        match bands.last_mut() {
            Some(last) if last.2 == seg.signal => last.1 = b,
            _ => bands.push((a, b, seg.signal)),
        }
    }
    bands
}

/// Decisions as consecutive bands over `[0, end_s)`: unknown before the first sample,
/// each sample's state until the next sample.
fn decision_bands(samples: &[DecisionSample], end_s: f64) -> Vec<(f64, f64, SignalState)> {
    let mut bands: Vec<(f64, f64, SignalState)> = vec![(0.0, end_s, SignalState::Unknown)];
    for s in samples {
        let t = s.t_s.clamp(0.0, end_s);
        if t >= end_s {
            break;
        }
        let Some(last) = bands.last_mut() else { break };
        if last.2 == s.state {
            continue;
        }
        if t <= last.0 {
            // Several samples at the band start: the latest one wins.
            last.2 = s.state;
            let merged = bands.len() >= 2 && bands[bands.len() - 2].2 == s.state;
            if merged {
                bands.pop();
                if let Some(prev) = bands.last_mut() {
                    prev.1 = end_s;
                }
            }
            continue;
        }
        last.1 = t;
        bands.push((t, end_s, s.state));
    }
    bands
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::truth::{ClipSource, FrameBoxes, Segment};
    use SignalState::{Changing as C, DontWalk as D, Unknown as U, Walk as W};

    fn timeline(segs: &[(f64, f64, TruthSignal)]) -> Timeline {
        Timeline {
            version: 1,
            fps: 10.0,
            duration_s: segs.last().map_or(0.0, |s| s.1),
            source: ClipSource::Recorded { description: String::new() },
            segments: segs.iter().map(|&(start_s, end_s, signal)| Segment { start_s, end_s, signal }).collect(),
            boxes: Vec::new(),
        }
    }

    /// Samples every 0.1 s from a list of (until_s, state).
    fn samples(plan: &[(f64, SignalState)], step: f64) -> Vec<DecisionSample> {
        let mut out = Vec::new();
        let mut prev = U;
        let mut k = 0u32;
        for &(until, state) in plan {
            loop {
                let t = f64::from(k) * step;
                if t >= until - 1e-9 {
                    break;
                }
                out.push(DecisionSample { t_s: t, state, announced: state != prev, spoken: state != prev });
                prev = state;
                k += 1;
            }
        }
        out
    }

    fn run(samples: Vec<DecisionSample>, duration_s: f64) -> ClipDecisions {
        ClipDecisions {
            fps: 10.0,
            name: "c".into(),
            duration_s,
            frames: (duration_s * 10.0).round() as u64,
            samples,
            heads: HeadCounts::default(),
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn walk_per_changing_phase_and_speech_on_steady_stretches_are_measured() {
        // Truth: dont_walk 0-20, changing 20-22, dont_walk 22-40. Walk laps 0.4 s into the
        // changing phase; speech: the first message, a flicker of six messages while the
        // truth holds (10-16 s), and one message 1 s after the change (belongs to it).
        let tl = timeline(&[
            (0.0, 20.0, TruthSignal::DontWalk),
            (20.0, 22.0, TruthSignal::Changing),
            (22.0, 40.0, TruthSignal::DontWalk),
        ]);
        let mut s = samples(&[(19.0, D), (20.4, W), (40.0, C)], 0.1);
        for x in &mut s {
            let t = x.t_s;
            x.spoken = t == 0.0 || (10.0..16.0).contains(&t) && (t - t.floor()) < 0.05 || (t - 23.0).abs() < 0.05;
        }
        let mut ev = DecisionEvaluator::new();
        let f = ev.add_clip(&tl, "t.json", &run(s, 40.0)).unwrap().figures.clone();
        assert!(close(f.go_during_changing_max_s, 0.4), "{}", f.go_during_changing_max_s);
        assert_eq!(f.spoken, 8);
        assert!(close(f.spoken_per_min, 12.0), "{}", f.spoken_per_min);
        // Steady time: 3-20 and 25-40 (the clip start counts as a change); the messages
        // at 0 and 23 s belong to changes. On the first stretch six in 17 s.
        assert_eq!(f.spoken_steady, 6);
        assert!(close(f.steady_s, 32.0), "{}", f.steady_s);
        assert!(close(f.spoken_per_min_steady_max, 6.0 / (17.0 / 60.0)), "{}", f.spoken_per_min_steady_max);
    }

    #[test]
    fn a_perfect_late_decision_has_latency_and_no_false_go() {
        // Truth: dont_walk 0-4, walk 4-8, changing 8-10. Decision lags 0.5 s each change.
        let tl = timeline(&[
            (0.0, 4.0, TruthSignal::DontWalk),
            (4.0, 8.0, TruthSignal::Walk),
            (8.0, 10.0, TruthSignal::Changing),
        ]);
        let s = samples(&[(0.5, U), (4.5, D), (8.5, W), (10.0, C)], 0.1);
        let mut ev = DecisionEvaluator::new();
        let f = ev.add_clip(&tl, "t.json", &run(s, 10.0)).unwrap().figures.clone();
        assert_eq!(f.false_go_s, 0.0);
        assert!(close(f.go_during_changing_s, 0.5), "{}", f.go_during_changing_s);
        assert!(close(f.missed_walk_s, 0.5));
        assert_eq!(f.missed_walk_fraction.map(|x| (x * 1000.0).round()), Some(125.0));
        assert_eq!(f.announce_latency.count, 2);
        assert!(close(f.announce_latency.max_s.unwrap(), 0.5));
        assert!(close(f.first_match.mean_s.unwrap(), 0.5));
        assert_eq!(f.flaps, 0);
        assert!(close(f.unknown_s, 0.5));
        assert!(close(f.unknown_by_truth.dont_walk_s, 0.5));
        assert_eq!(f.announcements, 3);
    }

    #[test]
    fn walk_during_dont_walk_is_a_false_go_event_and_a_flap() {
        let tl = timeline(&[(0.0, 10.0, TruthSignal::DontWalk)]);
        let s = samples(&[(1.0, D), (2.0, W), (3.0, D), (3.5, W), (10.0, D)], 0.1);
        let mut ev = DecisionEvaluator::new();
        let f = ev.add_clip(&tl, "t.json", &run(s, 10.0)).unwrap().figures.clone();
        assert!(close(f.false_go_s, 1.5), "{}", f.false_go_s);
        assert_eq!(f.false_go_events, 2);
        assert_eq!(f.flaps, 4);
        assert!(close(f.flaps_per_min, 24.0));
        let report = ev.finish();
        assert!(close(report.overall.false_go_s, 1.5));
    }

    #[test]
    fn dropped_frames_hold_the_last_decision() {
        // Truth turns dont_walk at 5 s; only frames at 0, 3 and 6 s are processed, so the
        // walk decided at 3 s holds until 6 s: 1 s of false go, latency 1 s.
        let tl = timeline(&[(0.0, 5.0, TruthSignal::Walk), (5.0, 10.0, TruthSignal::DontWalk)]);
        let s = vec![
            DecisionSample { t_s: 0.0, state: U, announced: false, spoken: false },
            DecisionSample { t_s: 3.0, state: W, announced: true, spoken: true },
            DecisionSample { t_s: 6.0, state: D, announced: true, spoken: true },
        ];
        let mut ev = DecisionEvaluator::new();
        let f = ev.add_clip(&tl, "t.json", &run(s, 10.0)).unwrap().figures.clone();
        assert!(close(f.false_go_s, 1.0));
        assert_eq!(f.announce_latency.max_s, Some(1.0));
        assert!(close(f.missed_walk_s, 3.0));
        assert_eq!(f.frames_processed, 3);
    }

    #[test]
    fn a_change_never_matched_counts_as_missed() {
        let tl = timeline(&[
            (0.0, 4.0, TruthSignal::DontWalk),
            (4.0, 5.0, TruthSignal::Walk),
            (5.0, 10.0, TruthSignal::DontWalk),
        ]);
        let s = samples(&[(10.0, D)], 0.1);
        let mut ev = DecisionEvaluator::new();
        let f = ev.add_clip(&tl, "t.json", &run(s, 10.0)).unwrap().figures.clone();
        assert_eq!(f.true_changes, 2);
        assert_eq!(f.missed_changes, 1);
        assert_eq!(f.announce_latency.count, 1);
        assert_eq!(f.announce_latency.max_s, Some(0.0));
        assert_eq!(f.flaps, 0);
    }

    #[test]
    fn a_timeline_shorter_than_the_clip_is_rejected_naming_the_field() {
        let tl = timeline(&[(0.0, 8.0, TruthSignal::DontWalk)]);
        let err =
            DecisionEvaluator::new().add_clip(&tl, "short.json", &run(samples(&[(10.0, D)], 0.1), 10.0)).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("short.json") && msg.contains("duration_s"), "{msg}");
    }

    #[test]
    fn samples_out_of_order_are_rejected() {
        let tl = timeline(&[(0.0, 10.0, TruthSignal::DontWalk)]);
        let s = vec![
            DecisionSample { t_s: 2.0, state: D, announced: false, spoken: false },
            DecisionSample { t_s: 1.0, state: D, announced: false, spoken: false },
        ];
        assert!(DecisionEvaluator::new().add_clip(&tl, "t.json", &run(s, 10.0)).is_err());
    }

    #[test]
    fn walk_against_the_parallel_vehicle_red_is_false_go_only_where_no_pedestrian_signal_stands() {
        // A street with no pedestrian signal, 10 s at 10 fps: the parallel vehicle light is
        // red for frames 0-49 and green for 50-99; a cross-street light is green, then red.
        let lamp = |class: &str, parallel, relevant| TruthBox {
            class: class.into(),
            bbox: [100.0, 100.0, 104.0, 112.0],
            relevant,
            parallel,
        };
        let street = |extra: Option<TruthBox>| {
            let mut tl = timeline(&[(0.0, 10.0, TruthSignal::None)]);
            tl.boxes = (0..100u64)
                .map(|k| {
                    let (ours, cross) = if k < 50 { ("red", "green") } else { ("green", "red") };
                    let mut boxes = vec![lamp(ours, true, false), lamp(cross, false, false)];
                    boxes.extend(extra.clone().filter(|_| k == 99));
                    FrameBoxes { frame: k, boxes }
                })
                .collect();
            tl
        };
        // Walk from 3 to 4 s (parallel red) and from 6 to 8 s (parallel green).
        let decided = run(samples(&[(3.0, U), (4.0, W), (6.0, U), (8.0, W), (10.0, U)], 0.1), 10.0);
        let mut ev = DecisionEvaluator::new();
        let f = &ev.add_clip(&street(None), "street.json", &decided).unwrap().figures;
        assert!(close(f.false_go_vehicle_s, 1.0), "{}", f.false_go_vehicle_s);
        assert!(close(f.false_go_s, 1.0), "{}", f.false_go_s);
        assert_eq!(f.false_go_events, 1);
        assert!(close(f.go_without_signal_s, 3.0), "{}", f.go_without_signal_s);
        // A relevant pedestrian head anywhere in the clip: its truth alone judges walk.
        let with_head = street(Some(lamp("ped_walk", false, true)));
        let f = &ev.add_clip(&with_head, "crossing.json", &decided).unwrap().figures;
        assert_eq!((f.false_go_s, f.false_go_vehicle_s, f.false_go_events), (0.0, 0.0, 0));
        // Walk only while the parallel light is green: no false go.
        let green_only = run(samples(&[(6.0, U), (8.0, W), (10.0, U)], 0.1), 10.0);
        let f = &ev.add_clip(&street(None), "street.json", &green_only).unwrap().figures;
        assert_eq!((f.false_go_s, f.false_go_events), (0.0, 0));
        let overall = ev.finish().overall;
        assert!(close(overall.false_go_vehicle_s, 1.0) && close(overall.false_go_s, 1.0));
    }

    #[test]
    fn head_counts_tell_found_from_right() {
        use crate::geom::BBox;
        let head = |class: &str, relevant| TruthBox {
            class: class.into(),
            bbox: [100.0, 100.0, 110.0, 120.0],
            relevant,
            parallel: false,
        };
        let det = |meaning, x: f32| Detection {
            class_id: 0,
            meaning,
            score: 0.6,
            bbox: BBox::new(x, 100.0, x + 10.0, 120.0),
            rival: None,
        };
        let mut c = HeadCounts::default();
        // Right state; a vehicle light on the same spot does not count as the head.
        c.add_frame(
            &[head("ped_walk", true)],
            &[det(SignalMeaning::VehicleRed, 100.0), det(SignalMeaning::PedWalk, 101.0)],
        );
        // Found with the wrong state.
        c.add_frame(&[head("ped_stop", true)], &[det(SignalMeaning::PedWalk, 100.0)]);
        // Missed: the only detection is elsewhere.
        c.add_frame(&[head("ped_stop", true)], &[det(SignalMeaning::PedStop, 300.0)]);
        // Not counted: not the relevant head, or not lit.
        c.add_frame(&[head("ped_walk", false), head("off", true)], &[det(SignalMeaning::PedWalk, 100.0)]);
        assert_eq!(c, HeadCounts { visible_frames: 3, detected_frames: 2, right_state_frames: 1 });
        let f = HeadFigures::from(c);
        assert_eq!(f.told_apart, Some(1.0 / 3.0));
        assert_eq!(f.state_accuracy, Some(0.5));
    }
}
