//! Integration tests: one binary, one module per topic.

mod backends;
mod bad_input;
mod cross;
mod cues;
mod decide;
mod eval;
mod faults;
mod layouts;
mod model_gates;
mod onnx;
mod real_photos;
mod synth;
mod training;
mod util;
mod video;
