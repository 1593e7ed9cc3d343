//! Integration tests: one binary, one module per topic.

mod backends;
mod bad_input;
mod cross;
mod cues;
mod decide;
mod detect;
mod eval;
mod faults;
mod hostile_mp4;
mod layering;
mod layouts;
mod model_gates;
mod onnx;
mod quickstart;
mod real_photos;
mod run_loop;
mod save;
mod steps;
mod stream;
mod synth;
mod training;
mod util;
mod video;
mod web;
