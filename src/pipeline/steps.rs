//! The whole per-frame path except the model's run, driven step by step: the caller
//! runs the model between steps. The in-process [`Pipeline`](super::Pipeline) runs it
//! with its engine; the browser build (`web/`) with onnxruntime-web, whose runs
//! return to the page's event loop.

use super::looks::Looks;
use super::{FrameDecision, IN_VIEW_MIN_SCORE, PipelineError};
use crate::config::Config;
use crate::decide::{DarkCheck, Decision, GlowCheck, Observation, Selector, Smoother};
use crate::decode::BadOutput;
use crate::frame::Frame;
use crate::infer::ModelIo;
use crate::look::ZoomConfig;
use crate::signal::Detection;
use crate::source::freeze::FreezeDetector;
use crate::tensor::InputTensor;
use std::path::Path;
use std::time::Duration;
use web_time::Instant;

/// What the pipeline needs next for the frame in hand.
#[derive(Debug)]
pub enum Step<'a> {
    /// Run the model on this input, and hand its output to [`FrameSteps::resume`].
    Infer(&'a InputTensor),
    /// The frame is decided.
    Decided(FrameDecision),
}

/// Which look's output [`FrameSteps::resume`] expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Awaiting {
    Nothing,
    FullView,
    CloserLook,
}

/// Detect, choose the user's signal, smooth into a decision, with the model run by the
/// caller: [`FrameSteps::begin`] gives the first input, [`FrameSteps::resume`] takes
/// each output and asks for a second look or gives the decision.
pub struct FrameSteps {
    looks: Looks,
    selector: Selector,
    glow: GlowCheck,
    smoother: Smoother,
    zoom: ZoomConfig,
    dark: DarkCheck,
    freeze: FreezeDetector,
    /// Whether a bad model output was already logged as a warning (then only at debug).
    warned_bad_output: bool,
    last: Option<FrameDecision>,
    awaiting: Awaiting,
}

impl std::fmt::Debug for FrameSteps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrameSteps").field("looks", &self.looks).finish_non_exhaustive()
    }
}

impl FrameSteps {
    /// Builds every stage but the engine, for a model with this I/O; `model_path` only
    /// names it in messages.
    ///
    /// # Errors
    /// As [`Looks::new`].
    pub fn new(config: &Config, io: &ModelIo, model_path: &Path) -> Result<Self, PipelineError> {
        Ok(Self::with_looks(config, Looks::new(io, &config.model, &config.decode, model_path)?))
    }

    pub(super) fn with_looks(config: &Config, looks: Looks) -> Self {
        Self {
            looks,
            selector: Selector::new(config.select.clone()),
            glow: GlowCheck::new(config.glow.clone()),
            smoother: Smoother::new(config.smoother.clone()),
            zoom: config.zoom.clone(),
            dark: DarkCheck { dark_mean_luma: config.dark_mean_luma },
            freeze: FreezeDetector::new(config.source.freeze_after_s, config.source.freeze_max_mean_diff),
            warned_bad_output: false,
            last: None,
            awaiting: Awaiting::Nothing,
        }
    }

    /// Starts on `frame`: the model's input for its full view. A frame begun while an
    /// earlier one waits for an output replaces it.
    ///
    /// # Errors
    /// [`PipelineError::Preprocess`] for a malformed frame.
    pub fn begin(&mut self, frame: &Frame) -> Result<&InputTensor, PipelineError> {
        self.awaiting = Awaiting::Nothing;
        let input = self.looks.full_view(frame)?;
        self.awaiting = Awaiting::FullView;
        Ok(input)
    }

    /// Takes the model's `output` for the last input it gave, which took `infer` to
    /// compute. Asks for a second look when the followed head needs one (see
    /// [`look`](crate::look)), else decides the frame.
    ///
    /// A model output that is not valid (see [`BadOutput`]) or a frozen picture (see
    /// [`FreezeDetector`]) is no error: the frame counts as unknown, like a dark one.
    ///
    /// # Errors
    /// [`PipelineError::OutOfOrder`] when no output is awaited; the caller should then
    /// [`FrameSteps::tick`] so the decision falls to unknown, never holds walk.
    pub fn resume(&mut self, frame: &Frame, output: &[f32], infer: Duration) -> Result<Step<'_>, PipelineError> {
        let t_s = frame.t_s();
        let awaiting = std::mem::replace(&mut self.awaiting, Awaiting::Nothing);
        // A bad output decides the frame at once (as unknown): no second look follows it.
        let (looked_closer, bad_output) = match awaiting {
            Awaiting::Nothing => return Err(PipelineError::OutOfOrder("a model output came with no frame begun")),
            Awaiting::FullView => match self.looks.take_full_view(output, infer) {
                Ok(_) => {
                    let followed = self.last.and_then(|last| last.observation.bbox).filter(|_| self.zoom.enabled);
                    let needs_look = followed.filter(|head| !self.looks.found_near(head, self.zoom.confident));
                    if let Some(head) = needs_look
                        && self.looks.closer_look(frame, &head, &self.zoom)?.is_some()
                    {
                        self.awaiting = Awaiting::CloserLook;
                        return Ok(Step::Infer(self.looks.closer_input()));
                    }
                    (false, None)
                }
                Err(PipelineError::BadOutput(bad)) => (false, Some(bad)),
                Err(e) => return Err(e),
            },
            Awaiting::CloserLook => match self.looks.take_closer_look(output, infer, (frame.width, frame.height)) {
                Ok(window) => {
                    tracing::trace!(t_s, window = ?window.to_array(), "second look at the followed head");
                    (true, None)
                }
                Err(PipelineError::BadOutput(bad)) => (false, Some(bad)),
                Err(e) => return Err(e),
            },
        };
        Ok(Step::Decided(self.decide(frame, looked_closer, bad_output)))
    }

    /// The decide stages on the frame's detections.
    fn decide(&mut self, frame: &Frame, looked_closer: bool, bad_output: Option<BadOutput>) -> FrameDecision {
        let t_s = frame.t_s();
        if let Some(bad) = &bad_output {
            if std::mem::replace(&mut self.warned_bad_output, true) {
                tracing::debug!(t_s, "{bad}");
            } else {
                tracing::warn!(
                    "at {t_s:.2} s: {bad}; the frame counts as unknown (further bad frames are logged at debug level)"
                );
            }
        }
        let frozen = self.freeze.update(frame);
        let decide_start = Instant::now();
        let detections = self.looks.detections();
        let mut observation = self.selector.select(t_s, detections, frame.width, frame.height);
        let (mean_luma, dark) = self.dark.check(frame);
        // The smoother's one "cannot see" flag: a frozen picture shows the street as
        // little as a black one, and a bad model output has already left no detections.
        if dark || frozen || bad_output.is_some() {
            observation.dark = true;
        }
        self.glow.update(t_s, frame, &mut observation);
        let decision = self.smoother.update(t_s, &observation);
        let classes = self.looks.classes();
        let signal_in_view = !observation.dark
            && (observation.shows.is_some()
                || detections.iter().any(|d| {
                    (d.meaning.is_signal() || classes.is_stateless_signal(d.class_id)) && d.score >= IN_VIEW_MIN_SCORE
                }));
        let times = super::StageTimes { decide: decide_start.elapsed(), ..self.looks.times() };
        let out = FrameDecision {
            observation,
            decision,
            mean_luma,
            frozen,
            bad_output,
            looked_closer,
            signal_in_view,
            times,
        };
        self.last = Some(out);
        out
    }

    /// Advances time with no new frame (a stalled camera or model): after the stall
    /// timeout the decision becomes unknown.
    pub fn tick(&mut self, t_s: f64) -> Decision {
        self.smoother.tick(t_s)
    }

    /// A frame at media time `t_s` was lost (unreadable): it counts as a frame in which
    /// nothing could be seen, like a dark one.
    pub fn unseen(&mut self, t_s: f64) -> Decision {
        self.smoother.update(t_s, &Observation { dark: true, ..Observation::default() })
    }

    /// The source or the model failed at media time `t_s`: the decision falls to
    /// unknown at once (see [`Smoother::fault`]).
    pub fn fault(&mut self, t_s: f64) -> Decision {
        self.awaiting = Awaiting::Nothing;
        self.smoother.fault(t_s)
    }

    /// Forgets every track and all smoother history, keeping the model's buffers, so the
    /// next frame (of a new source, whose time may restart at 0) starts from unknown.
    pub fn reset(&mut self) {
        self.selector.reset();
        self.glow.forget();
        self.smoother = Smoother::new(self.smoother.config().clone());
        self.freeze.reset();
        self.last = None;
        self.awaiting = Awaiting::Nothing;
    }

    /// Detections of the last processed frame.
    pub fn detections(&self) -> &[Detection] {
        self.looks.detections()
    }

    /// Preprocessing and decoding (classes, layout, stage timings).
    pub fn looks(&self) -> &Looks {
        &self.looks
    }
}
