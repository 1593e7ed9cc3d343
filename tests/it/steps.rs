//! The pipeline driven step by step (as the browser build drives it, with the model run
//! outside) decides exactly as the in-process pipeline does, second looks included.

use crate::util::repo_root;
use safecross::config::Config;
use safecross::frame::Frame;
use safecross::infer::Engine;
use safecross::pipeline::{FrameSteps, Pipeline, PipelineError, Step};
use safecross::source::{self, SourceConfig, SourceSpec};
use std::time::Duration;

#[test]
fn steps_with_an_outside_engine_decide_as_the_pipeline_does() {
    let config = Config::default();
    let mut pipeline = Pipeline::new(&config).unwrap();
    let model = config.model.resolved_path();
    let mut engine = Engine::load(&model, &config.infer).unwrap();
    let mut steps = FrameSteps::new(&config, engine.io(), &model).unwrap();
    // The far US head is the one the second look exists for.
    let clip = repo_root().join("samples/us.mp4");
    let mut src = source::open(&SourceSpec::Path(clip), &SourceConfig::default()).unwrap();
    let mut frame = Frame::default();
    let (mut frames, mut second_looks) = (0, 0);
    while frames < 150 && src.next_frame(&mut frame).unwrap() {
        let expected = pipeline.process(&frame).unwrap();
        let mut input = steps.begin(&frame).unwrap();
        let mut runs = 0;
        let got = loop {
            runs += 1;
            let output = engine.run(input).unwrap();
            match steps.resume(&frame, output, Duration::ZERO).unwrap() {
                Step::Infer(next) => input = next,
                Step::Decided(decision) => break decision,
            }
        };
        assert_eq!(runs, 1 + usize::from(expected.looked_closer), "at {:.2} s", frame.t_s());
        assert_eq!(got.decision, expected.decision, "at {:.2} s", frame.t_s());
        assert_eq!(got.observation, expected.observation, "at {:.2} s", frame.t_s());
        assert_eq!(steps.detections(), pipeline.detections(), "at {:.2} s", frame.t_s());
        frames += 1;
        second_looks += usize::from(got.looked_closer);
    }
    assert_eq!(frames, 150);
    assert!(second_looks > 0, "no frame of the US clip took a second look, so that path went untested");
}

#[test]
fn an_output_out_of_order_is_an_error_not_a_panic() {
    let config = Config::default();
    let model = config.model.resolved_path();
    let engine = Engine::load(&model, &config.infer).unwrap();
    let mut steps = FrameSteps::new(&config, engine.io(), &model).unwrap();
    let frame = Frame::new(64, 48);
    let output = vec![0.0; engine.io().output_shape.iter().product()];
    let err = steps.resume(&frame, &output, Duration::ZERO).unwrap_err();
    assert!(matches!(err, PipelineError::OutOfOrder(_)), "{err}");
    // Begun, then one output taken: a second output for the same look is out of order too.
    steps.begin(&frame).unwrap();
    assert!(matches!(steps.resume(&frame, &output, Duration::ZERO).unwrap(), Step::Decided(_)));
    assert!(matches!(steps.resume(&frame, &output, Duration::ZERO), Err(PipelineError::OutOfOrder(_))));
}
