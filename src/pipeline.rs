//! The pipeline: the only place that knows the order of the stages and owns every
//! per-frame buffer.
//!
//! [`Detector`] runs preprocess -> infer -> decode on one frame (what `detect` and
//! detection evaluation need). [`Pipeline`] adds signal selection and the smoother,
//! turning a stream of frames into decisions. Both allocate in `new` and reuse their
//! buffers afterwards.

use crate::config::Config;
use crate::decide::{Decision, Observation, Selector, Smoother};
use crate::decode::{BadOutput, ClassMap, DecodeConfig, DecodeError, Decoder, OutputLayout};
use crate::frame::Frame;
use crate::geom::{BBox, Letterbox};
use crate::infer::{Backend, Engine, InferConfig, InferError, ModelIo};
use crate::preprocess::{Kernels, PreprocessError, Preprocessor};
use crate::signal::{Detection, Rival, SignalMeaning};
use crate::source::freeze::FreezeDetector;
use crate::tensor::InputTensor;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Where the model comes from and how its classes are named.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelConfig {
    /// Path to the ONNX file; default `models/safecross-tl.onnx` (looked up in the
    /// working directory, then beside the executable's repository).
    pub path: PathBuf,
    /// Class names in output order, replacing the model's `names` metadata; default none.
    pub classes: Option<Vec<String>>,
    /// Meaning per class name, overriding what is derived from the name, e.g.
    /// `{ "left" = "other", "walking_man" = "ped_walk" }`; default empty.
    pub class_meanings: BTreeMap<String, SignalMeaning>,
}

/// Default model, relative to the repository root.
pub const DEFAULT_MODEL: &str = "models/safecross-tl.onnx";

impl Default for ModelConfig {
    fn default() -> Self {
        Self { path: PathBuf::from(DEFAULT_MODEL), classes: None, class_meanings: BTreeMap::new() }
    }
}

impl ModelConfig {
    /// The model path, resolved: as given when it exists, else, for a relative path,
    /// beside the repository the executable was built in (so `target/release/safecross`
    /// finds `models/` from any directory).
    pub fn resolved_path(&self) -> PathBuf {
        crate::config::bundled_file(&self.path)
    }
}

/// The second look: when the head the selector follows is small and this frame's
/// full view did not find it confidently, the model runs again on a window of the frame
/// around it at (nearly) the camera's own resolution.
///
/// Why: the full view shrinks the frame into the model input (1080p to a third, 720p to
/// half), and a pedestrian head across the street is then a few model px tall. On the
/// held-out clips the second look raised the share of frames where stop and walk are
/// told apart from 0.93 to 0.97 (a far US head: 0.65 to 0.94). It costs one more model
/// run, but only on frames where the followed head went missing or unsure, so a steady,
/// well-seen head costs nothing extra (measured in BENCHMARKS.md).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ZoomConfig {
    /// Take second looks at all; default true.
    pub enabled: bool,
    /// Model px per frame px in the window; default 1.0 (the camera's own pixels, so the
    /// window is the model input's size in frame px and nothing is upsampled).
    pub scale: f32,
    /// Look closer only when that magnifies at least this much over the full view;
    /// default 1.5 (a 640x480 camera, 0.8 in the full view, gets no second look).
    pub min_gain: f32,
    /// A head found in the full view at this confidence or more needs no second look;
    /// default 0.5.
    pub confident: f32,
    /// Heads whose longer side is more than this many model px in the full view are big
    /// enough to see there, and a miss is more likely an occlusion that a closer look
    /// does not mend; default 48 (a limit of 32 left out held-out US heads of 30-33
    /// model px that the full view misread and the closer look read right).
    pub max_head_px: f32,
}

impl Default for ZoomConfig {
    fn default() -> Self {
        Self { enabled: true, scale: 1.0, min_gain: 1.5, confident: 0.5, max_head_px: 48.0 }
    }
}

impl ZoomConfig {
    /// Checks value ranges.
    ///
    /// # Errors
    /// A message naming the field out of range.
    pub fn validate(&self) -> Result<(), String> {
        let check = |field: &str, value: f32, ok: bool, range: &str| {
            if value.is_finite() && ok {
                Ok(())
            } else {
                Err(format!("zoom.{field} = {value} is out of range {range}"))
            }
        };
        check("scale", self.scale, self.scale > 0.0 && self.scale <= 4.0, "(0, 4]")?;
        check("min_gain", self.min_gain, self.min_gain >= 1.0, "[1, inf)")?;
        check("confident", self.confident, (0.0..=1.0).contains(&self.confident), "[0, 1]")?;
        check("max_head_px", self.max_head_px, self.max_head_px > 0.0, "(0, inf)")
    }
}

/// Overlap at which a detection counts as the followed head, or as the same light seen
/// twice (heads are a few px wide, so a 1-px offset already costs a third of the IoU).
const CLOSER_MIN_IOU: f32 = 0.3;

/// Why the detector could not be built or run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PipelineError {
    /// The model could not be loaded or run.
    #[error(transparent)]
    Infer(#[from] InferError),
    /// The output cannot be decoded with these class names.
    #[error("{path}: {source}")]
    Decode {
        /// Model path.
        path: PathBuf,
        /// What disagrees.
        source: DecodeError,
    },
    /// The frame could not be preprocessed.
    #[error(transparent)]
    Preprocess(#[from] PreprocessError),
    /// The model's output for this frame holds a score that is not a probability or a
    /// number that is not finite; the frame has no detections. [`Pipeline::process`]
    /// turns this into an unknown observation and goes on.
    #[error(transparent)]
    BadOutput(#[from] BadOutput),
}

/// Time spent in each stage for the last frame.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct StageTimes {
    /// Letterbox and resize.
    pub preprocess: Duration,
    /// Model.
    pub infer: Duration,
    /// Output decoding and NMS.
    pub decode: Duration,
    /// Signal selection and smoothing (zero for [`Detector`] alone).
    pub decide: Duration,
}

/// preprocess -> infer -> decode for one model.
pub struct Detector {
    engine: Engine,
    preprocessor: Preprocessor,
    tensor: InputTensor,
    decoder: Decoder,
    detections: Vec<Detection>,
    letterbox: Option<Letterbox>,
    times: StageTimes,
    model_path: PathBuf,
    closer: CloserLook,
}

/// Buffers of the second look, kept apart from the full view's so that neither
/// repaints the other's letterbox border.
struct CloserLook {
    preprocessor: Preprocessor,
    tensor: InputTensor,
    window: Frame,
    found: Vec<Detection>,
    full: Vec<Detection>,
}

/// Whether two boxes, one from each look, are the same light.
fn same_light(a: &BBox, b: &BBox) -> bool {
    let (cx, cy) = b.center();
    a.iou(b) >= CLOSER_MIN_IOU || a.contains(cx, cy)
}

/// Two readings of one light, one per look, as one detection: the more confident
/// reading, carrying the other as its rival when they disagree and the other beats its
/// own runner-up, so that a walk reading beside a stop reading still reaches the
/// selector as a conflict. A lit reading wins over an unlit one whatever the scores:
/// magnified past what it was trained on, the model reads some dim lit heads (the US
/// hand) as unlit, and the closer look only runs where the full view was unsure.
fn one_light(a: Detection, b: Detection) -> Detection {
    let lit = |d: &Detection| d.meaning != SignalMeaning::Off;
    let a_wins = if lit(&a) == lit(&b) { a.score >= b.score } else { lit(&a) };
    let (mut winner, loser) = if a_wins { (a, b) } else { (b, a) };
    if loser.meaning != winner.meaning && winner.rival.is_none_or(|r| r.score < loser.score) {
        winner.rival = Some(Rival { class_id: loser.class_id, meaning: loser.meaning, score: loser.score });
    }
    winner
}

impl std::fmt::Debug for Detector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Detector")
            .field("model", &self.model_path)
            .field("engine", &self.engine)
            .finish_non_exhaustive()
    }
}

impl Detector {
    /// Loads the model, checks its output against the class names, and allocates every
    /// buffer.
    ///
    /// # Errors
    /// [`PipelineError`] for a missing or wrong model, a backend problem, or class names
    /// that disagree with the output shape.
    pub fn new(model: &ModelConfig, infer: &InferConfig, decode: &DecodeConfig) -> Result<Self, PipelineError> {
        let path = model.resolved_path();
        let engine = Engine::load(&path, infer)?;
        let io = engine.io().clone();
        let names = model.classes.clone().or_else(|| io.class_names());
        let end2end = io.metadata.get("end2end").is_some_and(|v| v.eq_ignore_ascii_case("true"));
        let decode_err = |source: DecodeError| PipelineError::Decode { path: path.clone(), source };
        let layout = OutputLayout::detect(&io.output_shape, names.as_ref().map(Vec::len), end2end)
            .map_err(|e| decode_err(e.into()))?;
        let classes = match names {
            Some(names) => ClassMap::new(names, &model.class_meanings),
            None => {
                let count = layout.class_count().unwrap_or(0);
                tracing::warn!(
                    "{} has no class names; pass --class-names, or every box will mean `other`",
                    path.display()
                );
                ClassMap::unnamed(count)
            }
        };
        if !classes.is_empty() && !classes.tells_state() {
            tracing::warn!(
                "{}: none of its classes says a signal state (walk, stop, red, yellow, green), so every decision will be \
                 unknown; `safecross info` lists them, and [model.class_meanings] in a --config file can map them",
                path.display()
            );
        }
        let decoder = Decoder::new(layout, classes, decode.clone()).map_err(decode_err)?;
        let preprocessor = Preprocessor::new(io.input_width, io.input_height, Kernels::Best);
        let tensor = preprocessor.new_tensor();
        let closer_preprocessor = Preprocessor::new(io.input_width, io.input_height, Kernels::Best);
        let closer = CloserLook {
            tensor: closer_preprocessor.new_tensor(),
            preprocessor: closer_preprocessor,
            window: Frame::default(),
            found: Vec::with_capacity(decode.max_detections),
            full: Vec::with_capacity(2 * decode.max_detections),
        };
        Ok(Self {
            engine,
            preprocessor,
            tensor,
            decoder,
            // Room for a second look's detections beside the full view's.
            detections: Vec::with_capacity(2 * decode.max_detections),
            letterbox: None,
            times: StageTimes::default(),
            model_path: path,
            closer,
        })
    }

    /// Detects lights in one frame. The result lives until the next call.
    ///
    /// # Errors
    /// [`PipelineError`] when the frame is malformed or the engine fails, and
    /// [`PipelineError::BadOutput`] when the model's output is not valid (the detections
    /// are then empty).
    pub fn detect(&mut self, frame: &Frame) -> Result<&[Detection], PipelineError> {
        let t0 = Instant::now();
        let lb = self.preprocessor.run(frame, &mut self.tensor)?;
        let t1 = Instant::now();
        let output = self.engine.run(&self.tensor)?;
        let t2 = Instant::now();
        let decoded = self.decoder.decode(output, &lb, &mut self.detections);
        let t3 = Instant::now();
        self.letterbox = Some(lb);
        self.times = StageTimes { preprocess: t1 - t0, infer: t2 - t1, decode: t3 - t2, decide: Duration::ZERO };
        decoded?;
        Ok(&self.detections)
    }

    /// Detections of the last frame.
    pub fn detections(&self) -> &[Detection] {
        &self.detections
    }

    /// Whether the last [`Detector::detect`] found a signal overlapping `head` with at
    /// least `confidence`.
    pub fn found_near(&self, head: &BBox, confidence: f32) -> bool {
        self.detections
            .iter()
            .any(|d| d.score >= confidence && d.meaning.is_signal() && d.bbox.iou(head) >= CLOSER_MIN_IOU)
    }

    /// The second look (see [`ZoomConfig`]): runs the model again on a window of `frame`
    /// around `head` at `zoom.scale`, and merges what it finds into the detections of the
    /// last [`Detector::detect`] on the same frame: a light both looks saw becomes one
    /// detection (`one_light`), a light only the full view saw stays. Returns the window in frame
    /// px, or `None` when the window would not magnify at least `zoom.min_gain` or the
    /// head is already big in the full view.
    ///
    /// # Errors
    /// [`PipelineError`] when the engine fails, and [`PipelineError::BadOutput`] when
    /// the model's output for the window is not valid: the whole frame is then bad, and
    /// its detections are dropped.
    pub fn look_closer(
        &mut self,
        frame: &Frame,
        head: &BBox,
        zoom: &ZoomConfig,
    ) -> Result<Option<BBox>, PipelineError> {
        let Some(full) = self.letterbox else { return Ok(None) };
        let head_px = head.width().max(head.height()) * full.scale;
        // The epsilon keeps an exact 1.5 (0.75 over 0.5) from failing on rounding.
        if zoom.scale / full.scale + 1e-4 < zoom.min_gain || head_px > zoom.max_head_px {
            return Ok(None);
        }
        let t0 = Instant::now();
        let window_w = ((full.dst_w as f32 / zoom.scale).round() as u32).clamp(1, frame.width);
        let window_h = ((full.dst_h as f32 / zoom.scale).round() as u32).clamp(1, frame.height);
        let (cx, cy) = head.center();
        let x0 = (cx - window_w as f32 / 2.0).round().clamp(0.0, (frame.width - window_w) as f32) as u32;
        let y0 = (cy - window_h as f32 / 2.0).round().clamp(0.0, (frame.height - window_h) as f32) as u32;
        let closer = &mut self.closer;
        frame.copy_region(x0, y0, window_w, window_h, &mut closer.window);
        let lb = closer.preprocessor.run(&closer.window, &mut closer.tensor)?;
        let t1 = Instant::now();
        let output = self.engine.run(&closer.tensor)?;
        let t2 = Instant::now();
        if let Err(bad) = self.decoder.decode(output, &lb, &mut closer.found) {
            self.detections.clear();
            return Err(bad.into());
        }
        let window = BBox::new(x0 as f32, y0 as f32, (x0 + window_w) as f32, (y0 + window_h) as f32);
        // A light cut by the window's edge is half a light: leave it to the full view,
        // unless that edge is the frame's own.
        let cut = |b: &BBox| {
            (b.x1 <= window.x1 + 1.0 && x0 > 0)
                || (b.y1 <= window.y1 + 1.0 && y0 > 0)
                || (b.x2 >= window.x2 - 1.0 && x0 + window_w < frame.width)
                || (b.y2 >= window.y2 - 1.0 && y0 + window_h < frame.height)
        };
        closer.found.retain_mut(|d| {
            d.bbox =
                BBox::new(d.bbox.x1 + window.x1, d.bbox.y1 + window.y1, d.bbox.x2 + window.x1, d.bbox.y2 + window.y1);
            !cut(&d.bbox)
        });
        // Each light seen by both looks becomes one detection (see `one_light`); lights
        // only the full view saw are kept as they were.
        closer.full.clear();
        closer.full.extend_from_slice(&self.detections);
        self.detections.clear();
        for d in &closer.full {
            match closer.found.iter_mut().find(|z| same_light(&z.bbox, &d.bbox)) {
                Some(z) => *z = one_light(*z, *d),
                None => self.detections.push(*d),
            }
        }
        self.detections.extend_from_slice(&closer.found);
        // Unstable: the stable sort allocates, and scores rarely tie.
        self.detections.sort_unstable_by(|a, b| b.score.total_cmp(&a.score));
        let t3 = Instant::now();
        self.times.preprocess += t1 - t0;
        self.times.infer += t2 - t1;
        self.times.decode += t3 - t2;
        Ok(Some(window))
    }

    /// Runs only the model on the last preprocessed input (for benchmarks).
    ///
    /// # Errors
    /// [`PipelineError::Infer`] when the engine fails.
    pub fn infer_only(&mut self) -> Result<(), PipelineError> {
        self.engine.run(&self.tensor)?;
        Ok(())
    }

    /// Stage timings of the last frame.
    pub fn times(&self) -> StageTimes {
        self.times
    }

    /// The model's I/O description.
    pub fn model_io(&self) -> &ModelIo {
        self.engine.io()
    }

    /// The engine that runs.
    pub fn backend(&self) -> &Backend {
        self.engine.backend()
    }

    /// Class names and meanings.
    pub fn classes(&self) -> &ClassMap {
        self.decoder.classes()
    }

    /// Output layout in use.
    pub fn layout(&self) -> &OutputLayout {
        self.decoder.layout()
    }

    /// Path of the loaded model.
    pub fn model_path(&self) -> &Path {
        &self.model_path
    }
}

/// What the pipeline concluded from one frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FrameDecision {
    /// What the chosen signal showed in this frame.
    pub observation: Observation,
    /// The steady decision after this frame.
    pub decision: Decision,
    /// Mean brightness of the frame, 0-255.
    pub mean_luma: f32,
    /// The picture has not changed for longer than `source.freeze_after_s` (see
    /// [`FreezeDetector`]): this frame is no evidence.
    pub frozen: bool,
    /// The model's output for this frame was not valid: no detections, no evidence.
    pub bad_output: Option<BadOutput>,
    /// The model took a second, closer look at the followed head (see [`ZoomConfig`]).
    pub looked_closer: bool,
    /// A signal head is in view: the chosen head was detected, or any signal scored
    /// [`IN_VIEW_MIN_SCORE`] or more. While the decision is unknown this is what turns
    /// "no signal found" into "signal seen, checking" (the picture must be usable).
    pub signal_in_view: bool,
    /// Time spent in each stage on this frame (both looks, when there were two).
    pub times: StageTimes,
}

/// A signal detection this sure counts as a head in view even before the selector
/// follows it ([`FrameDecision::signal_in_view`]).
pub const IN_VIEW_MIN_SCORE: f32 = 0.5;

/// The whole per-frame path: detect, choose the user's signal, smooth into a decision.
/// Sound is not part of it: the caller passes the decision to a
/// [`CuePlayer`](crate::cue::CuePlayer), so decisions can be evaluated without audio.
pub struct Pipeline {
    detector: Detector,
    selector: Selector,
    smoother: Smoother,
    zoom: ZoomConfig,
    dark_mean_luma: f32,
    freeze: FreezeDetector,
    /// Whether a bad model output was already logged as a warning (then only at debug).
    warned_bad_output: bool,
    last: Option<FrameDecision>,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline").field("detector", &self.detector).finish_non_exhaustive()
    }
}

impl Pipeline {
    /// Builds every stage from the config.
    ///
    /// # Errors
    /// As [`Detector::new`].
    pub fn new(config: &Config) -> Result<Self, PipelineError> {
        Ok(Self {
            detector: Detector::new(&config.model, &config.infer, &config.decode)?,
            selector: Selector::new(config.select.clone()),
            smoother: Smoother::new(config.smoother.clone()),
            zoom: config.zoom.clone(),
            dark_mean_luma: config.dark_mean_luma,
            freeze: FreezeDetector::new(config.source.freeze_after_s, config.source.freeze_max_mean_diff),
            warned_bad_output: false,
            last: None,
        })
    }

    /// Processes one frame: detections (see [`Pipeline::detections`]) and a decision.
    ///
    /// A frozen picture (see [`FreezeDetector`]) or a model output that is not valid
    /// (see [`BadOutput`]) is no error: the frame counts as unknown, like a dark one, and
    /// processing goes on.
    ///
    /// # Errors
    /// [`PipelineError`] when the frame is malformed or the engine fails; the caller
    /// should then [`Pipeline::tick`] so the decision falls to unknown, never holds walk.
    pub fn process(&mut self, frame: &Frame) -> Result<FrameDecision, PipelineError> {
        let t_s = frame.t_s();
        let (looked_closer, bad_output) = match self.detect(frame) {
            Ok(looked_closer) => (looked_closer, None),
            Err(PipelineError::BadOutput(bad)) => {
                if std::mem::replace(&mut self.warned_bad_output, true) {
                    tracing::debug!(t_s, "{bad}");
                } else {
                    tracing::warn!(
                        "at {t_s:.2} s: {bad}; the frame counts as unknown (further bad frames are logged at debug level)"
                    );
                }
                (false, Some(bad))
            }
            Err(e) => return Err(e),
        };
        let frozen = self.freeze.update(frame);
        let decide_start = Instant::now();
        let mut observation = self.selector.select(t_s, self.detector.detections(), frame.width, frame.height);
        let mean_luma = mean_luma(frame);
        // The smoother's one "cannot see" flag: a frozen picture shows the street as
        // little as a black one, and a bad model output has already left no detections.
        if mean_luma < self.dark_mean_luma || frozen || bad_output.is_some() {
            observation.dark = true;
        }
        let decision = self.smoother.update(t_s, &observation);
        let signal_in_view = !observation.dark
            && (observation.shows.is_some()
                || self.detector.detections().iter().any(|d| d.meaning.is_signal() && d.score >= IN_VIEW_MIN_SCORE));
        let times = StageTimes { decide: decide_start.elapsed(), ..self.detector.times() };
        let out = FrameDecision {
            observation,
            decision,
            mean_luma,
            frozen,
            bad_output,
            looked_closer,
            signal_in_view,
            times,
        };
        self.last = Some(out);
        Ok(out)
    }

    /// The full view, and a second look when the followed head needs one; returns
    /// whether there was a second look.
    fn detect(&mut self, frame: &Frame) -> Result<bool, PipelineError> {
        self.detector.detect(frame)?;
        let followed = self.last.and_then(|last| last.observation.bbox).filter(|_| self.zoom.enabled);
        if let Some(head) = followed.filter(|head| !self.detector.found_near(head, self.zoom.confident))
            && let Some(window) = self.detector.look_closer(frame, &head, &self.zoom)?
        {
            tracing::trace!(t_s = frame.t_s(), window = ?window.to_array(), "second look at the followed head");
            return Ok(true);
        }
        Ok(false)
    }

    /// Advances time with no new frame (a stalled camera or model): after the stall
    /// timeout the decision becomes unknown.
    pub fn tick(&mut self, t_s: f64) -> Decision {
        self.smoother.tick(t_s)
    }

    /// A frame at media time `t_s` was lost (unreadable): it counts as a frame in which
    /// nothing could be seen, like a dark one.
    pub fn unseen(&mut self, t_s: f64) -> Decision {
        self.smoother.update(t_s, &Observation { dark: true, ..Observation::default() })
    }

    /// The source or the model failed at media time `t_s`: the decision falls to
    /// unknown at once (see [`Smoother::fault`]).
    pub fn fault(&mut self, t_s: f64) -> Decision {
        self.smoother.fault(t_s)
    }

    /// Forgets every track and all smoother history, keeping the loaded model, so the
    /// next frame (of a new source, whose time may restart at 0) starts from unknown.
    pub fn reset(&mut self) {
        self.selector.reset();
        self.smoother = Smoother::new(self.smoother.config().clone());
        self.freeze.reset();
        self.last = None;
    }

    /// Detections of the last processed frame.
    pub fn detections(&self) -> &[Detection] {
        self.detector.detections()
    }

    /// The detector (model, classes, backend, stage timings).
    pub fn detector(&self) -> &Detector {
        &self.detector
    }
}

/// Mean of (R + 2G + B) / 4 over every 8th pixel of every 8th row: enough to tell a
/// covered lens from a night street, at a cost of microseconds.
fn mean_luma(frame: &Frame) -> f32 {
    let (w, h) = (frame.width as usize, frame.height as usize);
    let (mut sum, mut n) = (0u64, 0u64);
    for y in (0..h).step_by(8) {
        let row = &frame.rgb[y * w * 3..(y + 1) * w * 3];
        for px in row.chunks_exact(3).step_by(8) {
            sum += u64::from(px[0]) + 2 * u64::from(px[1]) + u64::from(px[2]);
            n += 4;
        }
    }
    if n == 0 { 0.0 } else { sum as f32 / n as f32 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(meaning: SignalMeaning, score: f32) -> Detection {
        Detection { class_id: meaning as u16, meaning, score, bbox: BBox::new(10.0, 10.0, 20.0, 16.0), rival: None }
    }

    #[test]
    fn two_looks_at_one_light_keep_the_surer_reading_and_the_other_as_rival() {
        let stop = reading(SignalMeaning::PedStop, 0.7);
        let walk = reading(SignalMeaning::PedWalk, 0.45);
        for (a, b) in [(stop, walk), (walk, stop)] {
            let one = one_light(a, b);
            assert_eq!(one.meaning, SignalMeaning::PedStop);
            let rival = one.rival.expect("the walk reading stays as the rival");
            assert_eq!((rival.meaning, rival.score), (SignalMeaning::PedWalk, 0.45));
        }
        // A walk that wins keeps the stop beside it, so the selector sees a conflict.
        let sure_walk = reading(SignalMeaning::PedWalk, 0.8);
        let one = one_light(sure_walk, reading(SignalMeaning::PedStop, 0.4));
        assert_eq!(one.meaning, SignalMeaning::PedWalk);
        assert_eq!(one.rival.map(|r| r.meaning), Some(SignalMeaning::PedStop));
        // A stronger runner-up of its own is kept; agreeing readings add no rival.
        let mut with_own = sure_walk;
        with_own.rival = Some(Rival { class_id: 0, meaning: SignalMeaning::PedStop, score: 0.5 });
        assert_eq!(one_light(with_own, reading(SignalMeaning::PedStop, 0.3)).rival.unwrap().score, 0.5);
        assert_eq!(one_light(sure_walk, reading(SignalMeaning::PedWalk, 0.5)).rival, None);
    }

    #[test]
    fn a_lit_reading_wins_over_an_unlit_one_whatever_the_scores() {
        let off = reading(SignalMeaning::Off, 0.6);
        let stop = reading(SignalMeaning::PedStop, 0.35);
        for (a, b) in [(off, stop), (stop, off)] {
            let one = one_light(a, b);
            assert_eq!(one.meaning, SignalMeaning::PedStop);
            assert_eq!(one.rival.map(|r| r.meaning), Some(SignalMeaning::Off));
        }
    }

    #[test]
    fn same_light_is_overlap_or_a_centre_inside() {
        let head = BBox::new(100.0, 100.0, 120.0, 112.0);
        assert!(same_light(&head, &BBox::new(101.0, 101.0, 121.0, 113.0)));
        // A loose box around a tight one: low IoU, but the centre lies inside.
        assert!(same_light(&BBox::new(90.0, 90.0, 130.0, 122.0), &head));
        assert!(!same_light(&head, &BBox::new(121.0, 100.0, 141.0, 112.0)));
    }

    #[test]
    fn zoom_settings_out_of_range_are_named() {
        for (zoom, field) in [
            (ZoomConfig { scale: 0.0, ..ZoomConfig::default() }, "zoom.scale"),
            (ZoomConfig { min_gain: 0.5, ..ZoomConfig::default() }, "zoom.min_gain"),
            (ZoomConfig { confident: 1.5, ..ZoomConfig::default() }, "zoom.confident"),
            (ZoomConfig { max_head_px: f32::NAN, ..ZoomConfig::default() }, "zoom.max_head_px"),
        ] {
            assert!(zoom.validate().unwrap_err().contains(field), "{field}");
        }
        assert!(ZoomConfig::default().validate().is_ok());
    }

    #[test]
    fn mean_luma_tells_black_from_grey() {
        let mut f = Frame::new(64, 48);
        assert_eq!(mean_luma(&f), 0.0);
        f.rgb.fill(100);
        assert!((mean_luma(&f) - 100.0).abs() < 1e-3);
    }
}
