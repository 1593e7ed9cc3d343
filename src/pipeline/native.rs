//! The pipeline with its model run in-process by the [`Engine`].

use super::looks::Looks;
use super::steps::{FrameSteps, Step};
use super::{FrameDecision, PipelineError, StageTimes};
use crate::config::Config;
use crate::decide::Decision;
use crate::decode::{ClassMap, DecodeConfig, OutputLayout};
use crate::frame::Frame;
use crate::geom::BBox;
use crate::infer::{Backend, Engine, InferConfig, ModelConfig, ModelIo};
use crate::look::ZoomConfig;
use crate::signal::Detection;
use std::path::{Path, PathBuf};
use web_time::Instant;

/// preprocess -> infer -> decode for one model.
pub struct Detector {
    engine: Engine,
    looks: Looks,
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

/// Loads the model named by `model`: the engine, and the looks that feed it.
fn load(
    model: &ModelConfig,
    infer: &InferConfig,
    decode: &DecodeConfig,
) -> Result<(Engine, Looks, PathBuf), PipelineError> {
    let path = model.resolved_path();
    let engine = Engine::load(&path, infer)?;
    let looks = Looks::new(engine.io(), model, decode, &path)?;
    Ok((engine, looks, path))
}

impl Detector {
    /// Loads the model, checks its output against the class names, and allocates every
    /// buffer.
    ///
    /// # Errors
    /// [`PipelineError`] for a missing or wrong model, a backend problem, or class names
    /// that disagree with the output shape.
    pub fn new(model: &ModelConfig, infer: &InferConfig, decode: &DecodeConfig) -> Result<Self, PipelineError> {
        let (engine, looks, model_path) = load(model, infer, decode)?;
        Ok(Self { engine, looks, model_path })
    }

    /// Detects lights in one frame. The result lives until the next call.
    ///
    /// # Errors
    /// [`PipelineError`] when the frame is malformed or the engine fails, and
    /// [`PipelineError::BadOutput`] when the model's output is not valid (the detections
    /// are then empty).
    pub fn detect(&mut self, frame: &Frame) -> Result<&[Detection], PipelineError> {
        let input = self.looks.full_view(frame)?;
        let t0 = Instant::now();
        let output = self.engine.run(input)?;
        self.looks.take_full_view(output, t0.elapsed())
    }

    /// The second look (see [`look`](crate::look)) at `head` after a [`Detector::detect`] of the
    /// same frame, merged into its detections. Returns the window in frame px, or `None`
    /// when the window would not magnify at least `zoom.min_gain` or the head is already
    /// big in the full view.
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
        let Some(input) = self.looks.closer_look(frame, head, zoom)? else { return Ok(None) };
        let t0 = Instant::now();
        let output = self.engine.run(input)?;
        self.looks.take_closer_look(output, t0.elapsed(), (frame.width, frame.height)).map(Some)
    }

    /// Whether the last [`Detector::detect`] found a signal overlapping `head` with at
    /// least `confidence`.
    pub fn found_near(&self, head: &BBox, confidence: f32) -> bool {
        self.looks.found_near(head, confidence)
    }

    /// Detections of the last frame.
    pub fn detections(&self) -> &[Detection] {
        self.looks.detections()
    }

    /// Runs only the model on the last preprocessed input (for benchmarks).
    ///
    /// # Errors
    /// [`PipelineError::Infer`] when the engine fails.
    pub fn infer_only(&mut self) -> Result<(), PipelineError> {
        self.engine.run(self.looks.input())?;
        Ok(())
    }

    /// Stage timings of the last frame.
    pub fn times(&self) -> StageTimes {
        self.looks.times()
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
        self.looks.classes()
    }

    /// Output layout in use.
    pub fn layout(&self) -> &OutputLayout {
        self.looks.layout()
    }

    /// Path of the loaded model.
    pub fn model_path(&self) -> &Path {
        &self.model_path
    }
}

/// The whole per-frame path: detect, choose the user's signal, smooth into a decision,
/// with the model run in-process. Sound is not part of it: the caller passes the
/// decision to a [`CuePlayer`](crate::cue::CuePlayer), so decisions can be evaluated
/// without audio.
pub struct Pipeline {
    engine: Engine,
    steps: FrameSteps,
    model_path: PathBuf,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("model", &self.model_path)
            .field("engine", &self.engine)
            .finish_non_exhaustive()
    }
}

impl Pipeline {
    /// Builds every stage from the config.
    ///
    /// # Errors
    /// As [`Detector::new`].
    pub fn new(config: &Config) -> Result<Self, PipelineError> {
        let (engine, looks, model_path) = load(&config.model, &config.infer, &config.decode)?;
        Ok(Self { engine, steps: FrameSteps::with_looks(config, looks), model_path })
    }

    /// Processes one frame: detections (see [`Pipeline::detections`]) and a decision.
    /// The model runs once, or twice with a second look (see [`FrameSteps::resume`]).
    ///
    /// # Errors
    /// [`PipelineError`] when the frame is malformed or the engine fails; the caller
    /// should then [`Pipeline::tick`] so the decision falls to unknown, never holds walk.
    pub fn process(&mut self, frame: &Frame) -> Result<FrameDecision, PipelineError> {
        let mut input = self.steps.begin(frame)?;
        loop {
            let t0 = Instant::now();
            let output = self.engine.run(input)?;
            match self.steps.resume(frame, output, t0.elapsed())? {
                Step::Infer(next) => input = next,
                Step::Decided(decision) => return Ok(decision),
            }
        }
    }

    /// Advances time with no new frame (a stalled camera or model): after the stall
    /// timeout the decision becomes unknown.
    pub fn tick(&mut self, t_s: f64) -> Decision {
        self.steps.tick(t_s)
    }

    /// A frame at media time `t_s` was lost (unreadable): it counts as a frame in which
    /// nothing could be seen, like a dark one.
    pub fn unseen(&mut self, t_s: f64) -> Decision {
        self.steps.unseen(t_s)
    }

    /// The source or the model failed at media time `t_s`: the decision falls to
    /// unknown at once.
    pub fn fault(&mut self, t_s: f64) -> Decision {
        self.steps.fault(t_s)
    }

    /// Forgets every track and all smoother history, keeping the loaded model, so the
    /// next frame (of a new source, whose time may restart at 0) starts from unknown.
    pub fn reset(&mut self) {
        self.steps.reset();
    }

    /// Detections of the last processed frame.
    pub fn detections(&self) -> &[Detection] {
        self.steps.detections()
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
        self.steps.looks().classes()
    }

    /// Path of the loaded model.
    pub fn model_path(&self) -> &Path {
        &self.model_path
    }
}
