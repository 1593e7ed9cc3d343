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
use crate::signal::SignalMeaning;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
