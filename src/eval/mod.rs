//! Evaluation: how good detection and decisions are, measured against ground truth.
//!
//! Two modes, each one type with `new(config)` and a verb:
//!
//! ```text
//! YOLO dataset --Dataset::load--> GtBox per image ┐
//! Detector (low conf threshold) --> &[Detection] ─┴─DetectionEvaluator::add_image--> DetectionReport
//!
//! clip.mp4 + clip.json --Pipeline--> DecisionSample per processed frame
//!                      --DecisionEvaluator::add_clip(timeline, samples)--> DecisionReport
//! ```
//!
//! - [`dataset`] reads a YOLO-format folder (`images/`, `labels/`, `data.yaml` here or in a
//!   parent), boxes or polygons, into boxes in source px with their [`SignalMeaning`].
//! - [`detection`] computes COCO-style mAP (101-point interpolation, IoU 0.50:0.05:0.95),
//!   per-meaning precision/recall at the pipeline's confidence threshold, class-agnostic
//!   recall, state accuracy, a confusion matrix and recall by object size. Classes are
//!   matched by *meaning*, so a dataset with other names or class order is compared with
//!   any model. `tests/reference/det_metrics.py` is an independent numpy implementation
//!   that the integration tests compare against.
//! - [`decision`] compares a per-frame decision stream with a [`Timeline`]: false go
//!   (walk while the truth is don't walk, the safety number), missed walk, announcement
//!   latency, flaps and unknown time. Decisions hold between processed frames, so
//!   dropped frames (real-time pacing on a slow board) are weighted correctly.
//! - [`report`] renders a terminal table and PNGs (timelines, PR curves, worst misses);
//!   the report structs serialize to the `--json` output.
//! - `clips` (with the `onnxruntime` feature) finds clips and plays each through the
//!   pipeline into decision samples, the way `run` would.
//!
//! Imports: the vocabulary modules (`geom`, `signal`, `truth`); `clips` also the
//! pipeline, the source and the cue policy. Nothing on the device imports this module.
//!
//! [`SignalMeaning`]: crate::signal::SignalMeaning
//! [`Timeline`]: crate::truth::Timeline

#[cfg(feature = "onnxruntime")]
pub mod clips;
pub mod dataset;
pub mod decision;
pub mod detection;
pub mod report;

pub use dataset::{Dataset, DatasetImage, GtBox};
pub use decision::{
    ClipDecisions, ClipReport, DecisionEvaluator, DecisionReport, DecisionSample, HeadCounts, HeadFigures,
};
pub use detection::{DetectionEvalConfig, DetectionEvaluator, DetectionReport};

use std::path::PathBuf;

/// Why an evaluation could not run. Each variant names the file and, where there is one,
/// the line or field at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EvalError {
    /// A file or folder could not be read or written.
    #[error("cannot access {path}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// Underlying error.
        source: std::io::Error,
    },
    /// The folder is not a YOLO dataset.
    #[error("{path}: not a YOLO dataset: {message}")]
    NotADataset {
        /// The folder.
        path: PathBuf,
        /// What is missing.
        message: String,
    },
    /// No `data.yaml` in the dataset folder or any parent.
    #[error("{path}: no data.yaml in this folder or any parent; it must list the class names (`names: [red, green]`)")]
    MissingDataYaml {
        /// The dataset folder.
        path: PathBuf,
    },
    /// `data.yaml` has no usable `names`.
    #[error("{path}:{line}: {message}")]
    DataYaml {
        /// The data.yaml file.
        path: PathBuf,
        /// 1-based line number (0 when the whole file is at fault).
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A label line is malformed.
    #[error("{path}:{line}: {message}")]
    Label {
        /// The label file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong, with the field.
        message: String,
    },
    /// An image header could not be read.
    #[error("{path}: cannot read image size: {message}")]
    Image {
        /// The image file.
        path: PathBuf,
        /// Decoder message.
        message: String,
    },
    /// A timeline is invalid or does not cover the clip.
    #[error(transparent)]
    Timeline(#[from] crate::truth::TimelineError),
    /// Decision samples are unusable (not in time order, not finite).
    #[error("clip {clip}: {message}")]
    Samples {
        /// The clip name.
        clip: String,
        /// What is wrong.
        message: String,
    },
    /// A clip or its timeline is missing, or the clip has no frames.
    #[error("{path}: {message}")]
    Clips {
        /// The clip, its timeline or the folder.
        path: PathBuf,
        /// What is missing.
        message: String,
    },
    /// A clip could not be read.
    #[cfg(feature = "onnxruntime")]
    #[error(transparent)]
    Source(#[from] crate::source::SourceError),
    /// The pipeline failed on a frame of a clip.
    #[cfg(feature = "onnxruntime")]
    #[error("{} at {t_s:.2} s", video.display())]
    Pipeline {
        /// The clip.
        video: PathBuf,
        /// The frame's time, s.
        t_s: f64,
        /// What failed.
        source: crate::pipeline::PipelineError,
    },
    /// A report picture could not be drawn.
    #[error("cannot draw {path}: {message}")]
    Plot {
        /// The PNG being drawn.
        path: PathBuf,
        /// Backend message.
        message: String,
    },
}

/// Summary statistics of a list of durations, seconds.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize)]
pub struct Stats {
    /// How many values.
    pub count: usize,
    /// Mean; `null` in JSON when there are none.
    pub mean_s: Option<f64>,
    /// 95th percentile (nearest rank); `null` when there are none.
    pub p95_s: Option<f64>,
    /// Largest value; `null` when there are none.
    pub max_s: Option<f64>,
}

impl Stats {
    /// Statistics of `values` (order does not matter; NaNs are ignored).
    pub fn of(values: &[f64]) -> Self {
        let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
        if v.is_empty() {
            return Self::default();
        }
        v.sort_by(f64::total_cmp);
        let n = v.len();
        // Nearest rank: the smallest value with at least 95 % of the values at or below it.
        let rank = ((0.95 * n as f64).ceil() as usize).clamp(1, n);
        Self {
            count: n,
            mean_s: Some(v.iter().sum::<f64>() / n as f64),
            p95_s: Some(v[rank - 1]),
            max_s: v.last().copied(),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn stats_use_nearest_rank_percentile() {
        let v: Vec<f64> = (1..=20).map(f64::from).collect();
        let s = Stats::of(&v);
        assert_eq!(s.count, 20);
        assert_eq!(s.p95_s, Some(19.0));
        assert_eq!(s.max_s, Some(20.0));
        assert_eq!(s.mean_s, Some(10.5));
        assert_eq!(Stats::of(&[]).mean_s, None);
        assert_eq!(Stats::of(&[0.3]).p95_s, Some(0.3));
    }
}
