//! # safecross
//!
//! Helps blind and low-vision pedestrians cross the street: camera frames go through a
//! small YOLO-style detector, a smoother turns noisy per-frame detections into a steady
//! decision, and audio cues say whether the signal shows walk, don't walk, or is about
//! to change. When unsure it says so; it never guesses "walk".
//!
//! ## How data moves
//! ```text
//! source -> preprocess -> infer -> decode -> decide -> cue
//! Frame     InputTensor   &[f32]   Detection  SignalState  sound
//! ```
//! Each stage is a module with one main type, its own config and its own error type.
//! Stages only import the vocabulary modules ([`frame`], [`tensor`], [`geom`],
//! [`signal`], [`truth`]); [`pipeline`] is the only place that wires them together,
//! and [`runner`] runs the loop around it: source, pipeline and cues, on time.
//! [`synth`] makes test scenes and training stills; [`eval`] measures quality.
#![deny(missing_docs)]
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::todo, clippy::unimplemented)]

pub mod frame;
pub mod geom;
pub mod signal;
pub mod tensor;
pub mod truth;

pub mod cue;
pub mod decide;
pub mod decode;
pub mod eval;
pub mod infer;
pub mod preprocess;
pub mod source;
pub mod synth;

pub mod bench;
pub mod config;
pub mod pipeline;
pub mod runner;
