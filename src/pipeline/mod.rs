//! The pipeline: the only place that knows the order of the stages and owns every
//! per-frame buffer.
//!
//! - [`Looks`]: preprocess and decode of the full view and of the second look at a far
//!   head, without the model's run.
//! - [`FrameSteps`]: the whole per-frame path (looks, signal selection, the smoother),
//!   driven step by step, so that the model can run anywhere: [`Step::Infer`] hands out
//!   an input, [`FrameSteps::resume`] takes the output. The browser build (`web/`)
//!   drives it with onnxruntime-web.
//! - With the `onnxruntime` feature, the in-process wiring: `Detector` runs preprocess ->
//!   infer -> decode on one frame (what `detect` and detection evaluation need), and
//!   `Pipeline` runs [`FrameSteps`] with the engine, turning a stream of frames into
//!   decisions.
//!
//! All of them allocate in `new` and reuse their buffers afterwards.

mod looks;
#[cfg(feature = "onnxruntime")]
mod native;
mod steps;

pub use looks::Looks;
#[cfg(feature = "onnxruntime")]
pub use native::{Detector, Pipeline};
pub use steps::{FrameSteps, Step};

use crate::decide::{Decision, Observation};
use crate::decode::{BadOutput, DecodeError};
use crate::infer::InferError;
use crate::preprocess::PreprocessError;
use std::path::PathBuf;
use std::time::Duration;

/// Why the detector could not be built or run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PipelineError {
    /// The model could not be loaded or run.
    #[error(transparent)]
    Infer(#[from] InferError),
    /// The output cannot be decoded with these class names.
    #[error("{path}")]
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
    /// number that is not finite; the frame has no detections. [`FrameSteps::resume`]
    /// turns this into an unknown observation and goes on.
    #[error(transparent)]
    BadOutput(#[from] BadOutput),
    /// A step came out of order, such as a model output with no frame begun.
    #[error("pipeline steps out of order: {0}")]
    OutOfOrder(&'static str),
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
    /// Signal selection and smoothing (zero for detection alone).
    pub decide: Duration,
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
    /// [`FreezeDetector`](crate::source::freeze::FreezeDetector)): this frame is no evidence.
    pub frozen: bool,
    /// The model's output for this frame was not valid: no detections, no evidence.
    pub bad_output: Option<BadOutput>,
    /// The model took a second, closer look at the followed head (see [`look`](crate::look)).
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
