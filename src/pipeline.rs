//! The pipeline: the only place that knows the order of the stages and owns every
//! per-frame buffer.
//!
//! [`Detector`] runs preprocess -> infer -> decode on one frame (what `detect` and
//! detection evaluation need). [`Pipeline`] adds signal selection and the smoother,
//! turning a stream of frames into decisions. Both allocate in `new` and reuse their
//! buffers afterwards.

use crate::config::Config;
use crate::decide::{Decision, Observation, Selector, Smoother};
use crate::decode::{ClassMap, DecodeConfig, DecodeError, Decoder, OutputLayout};
use crate::frame::Frame;
use crate::geom::Letterbox;
use crate::infer::{Backend, Engine, InferConfig, InferError, ModelIo};
use crate::preprocess::{Kernels, PreprocessError, Preprocessor};
use crate::signal::{Detection, SignalMeaning};
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
                tracing::warn!("{} has no class names; pass --classes, or every box will mean `other`", path.display());
                ClassMap::unnamed(count)
            }
        };
        let decoder = Decoder::new(layout, classes, decode.clone()).map_err(decode_err)?;
        let preprocessor = Preprocessor::new(io.input_width, io.input_height, Kernels::Best);
        let tensor = preprocessor.new_tensor();
        Ok(Self {
            engine,
            preprocessor,
            tensor,
            decoder,
            detections: Vec::with_capacity(decode.max_detections),
            letterbox: None,
            times: StageTimes::default(),
            model_path: path,
        })
    }

    /// Detects lights in one frame. The result lives until the next call.
    ///
    /// # Errors
    /// [`PipelineError`] when the frame is malformed or the engine fails.
    pub fn detect(&mut self, frame: &Frame) -> Result<&[Detection], PipelineError> {
        let t0 = Instant::now();
        let lb = self.preprocessor.run(frame, &mut self.tensor)?;
        let t1 = Instant::now();
        let output = self.engine.run(&self.tensor)?;
        let t2 = Instant::now();
        self.decoder.decode(output, &lb, &mut self.detections);
        let t3 = Instant::now();
        self.letterbox = Some(lb);
        self.times = StageTimes { preprocess: t1 - t0, infer: t2 - t1, decode: t3 - t2, decide: Duration::ZERO };
        Ok(&self.detections)
    }

    /// Detections of the last frame.
    pub fn detections(&self) -> &[Detection] {
        &self.detections
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
    /// Time spent in each stage on this frame.
    pub times: StageTimes,
}

/// The whole per-frame path: detect, choose the user's signal, smooth into a decision.
/// Sound is not part of it: the caller passes the decision to a
/// [`CuePlayer`](crate::cue::CuePlayer), so decisions can be evaluated without audio.
pub struct Pipeline {
    detector: Detector,
    selector: Selector,
    smoother: Smoother,
    dark_mean_luma: f32,
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
            dark_mean_luma: config.dark_mean_luma,
            last: None,
        })
    }

    /// Processes one frame: detections (see [`Pipeline::detections`]) and a decision.
    ///
    /// # Errors
    /// [`PipelineError`] when the frame is malformed or the engine fails; the caller
    /// should then [`Pipeline::tick`] so the decision falls to unknown, never holds walk.
    pub fn process(&mut self, frame: &Frame) -> Result<FrameDecision, PipelineError> {
        let t_s = frame.t_s();
        self.detector.detect(frame)?;
        let decide_start = Instant::now();
        let mut observation = self.selector.select(t_s, self.detector.detections(), frame.width, frame.height);
        let mean_luma = mean_luma(frame);
        if mean_luma < self.dark_mean_luma {
            observation.dark = true;
        }
        let decision = self.smoother.update(t_s, &observation);
        let times = StageTimes { decide: decide_start.elapsed(), ..self.detector.times() };
        let out = FrameDecision { observation, decision, mean_luma, times };
        self.last = Some(out);
        Ok(out)
    }

    /// Advances time with no new frame (a stalled camera or model): after the stall
    /// timeout the decision becomes unknown.
    pub fn tick(&mut self, t_s: f64) -> Decision {
        self.smoother.tick(t_s)
    }

    /// Forgets every track and all smoother history, keeping the loaded model, so the
    /// next frame (of a new source, whose time may restart at 0) starts from unknown.
    pub fn reset(&mut self) {
        self.selector.reset();
        self.smoother = Smoother::new(self.smoother.config().clone());
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

    #[test]
    fn mean_luma_tells_black_from_grey() {
        let mut f = Frame::new(64, 48);
        assert_eq!(mean_luma(&f), 0.0);
        f.rgb.fill(100);
        assert!((mean_luma(&f) - 100.0).abs() < 1e-3);
    }
}
