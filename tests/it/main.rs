//! Integration tests: one binary, one module per topic.

mod util;
mod onnx;
mod layouts;
mod bad_input;
mod backends;
mod real_photos;
mod video;
mod model_gates;
mod cross;
mod cues;
mod decide;
mod eval;
mod synth;
mod training;
