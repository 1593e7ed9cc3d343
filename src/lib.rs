//! # safecross
//!
//! Helps blind and low-vision pedestrians cross the street: camera frames go through a
//! small YOLO-style detector, a smoother turns noisy per-frame detections into a steady
//! decision, and audio cues say whether the signal shows walk, don't walk, or is about
//! to change. When unsure it says so; it never guesses "walk".
//!
//! ## How data moves
//! ```text
//! source -> preprocess -> infer -> decode -> (look) -> decide -> cue
//! Frame     InputTensor   &[f32]   Detection             SignalState  sound
//! ```
//! Each stage is a module with one main type, its own config and its own error type.
//! [`look`] is the second look at a far head: where to look, and how the two readings
//! merge. Stages only import the vocabulary modules ([`frame`], [`tensor`], [`geom`],
//! [`signal`], [`truth`], [`bundled`]); [`config`] gathers the stages' settings;
//! [`pipeline`] is the only place that wires the stages together, and [`runner`] runs
//! the loop around it: source, pipeline and cues, on time. `tests/it/layering.rs`
//! holds these rules.
//!
//! Tools, not on the device: `synth` makes test scenes and training stills, `eval`
//! measures quality, `bench` measures speed.
//!
//! Features: `onnxruntime` (the in-process engine, the run loop and the benchmark),
//! `video`, `audio`, `camera`, `tools` (`synth`, `eval`, `bench` and the binary's
//! commands that use them); all on by default. The browser build (`web/`) uses none of
//! them: its page brings the camera, the model's run and the speaker.
#![deny(missing_docs)]
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::todo, clippy::unimplemented)]
// Unit tests may unwrap: a panic there is a failed test, not a crash in the field.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod bundled;
pub mod frame;
pub mod geom;
pub mod paint;
pub mod signal;
pub mod tensor;
pub mod truth;

pub mod cue;
pub mod decide;
pub mod decode;
// Measures on files and draws its charts into PNG files.
#[cfg(feature = "tools")]
pub mod eval;
pub mod infer;
pub mod look;
pub mod preprocess;
pub mod source;
#[cfg(feature = "tools")]
pub mod synth;
// YOLO datasets, read for `eval` and for the training stills.
#[cfg(feature = "tools")]
pub mod yolo;

// The benchmark and the run loop drive the in-process engine.
#[cfg(all(feature = "onnxruntime", feature = "tools"))]
pub mod bench;
pub mod config;
pub mod pipeline;
#[cfg(feature = "onnxruntime")]
pub mod runner;

// What a front end needs to run a crossing, by its short name; everything else is
// reached through its module.
pub use config::Config;
pub use cue::{Announcement, CueConfig, CuePlayer, Lang};
pub use decide::Decision;
pub use frame::Frame;
#[cfg(feature = "onnxruntime")]
pub use pipeline::{Detector, Pipeline};
pub use pipeline::{FrameDecision, FrameSteps, Step};
#[cfg(feature = "onnxruntime")]
pub use runner::{Event, Pace, RunError, Runner};
pub use signal::{Basis, Detection, SignalMeaning, SignalState};
pub use source::{SourceConfig, SourceSpec};

/// An error and its causes on one line, outermost first, as `a: b: c`. Errors display
/// only their own message and expose the cause through `source()`, so a message that
/// names what failed ("frame 12 (clip.mp4) cannot be read") is followed by why.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut line = error.to_string();
    let mut cause = error.source();
    while let Some(c) = cause {
        line.push_str(": ");
        line.push_str(&c.to_string());
        cause = c.source();
    }
    line.replace('\n', " ")
}
