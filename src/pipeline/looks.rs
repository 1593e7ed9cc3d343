//! The two looks at a frame, without the model's run: the full view, and the second
//! look at a far head (the [`look`](crate::look) stage says where, and merges what it
//! saw). Each look is preprocess -> (the caller runs the model) -> decode; the caller
//! may be the in-process engine or a browser page.

use super::{PipelineError, StageTimes};
use crate::decode::{ClassMap, DecodeConfig, DecodeError, Decoder, OutputLayout};
use crate::frame::Frame;
use crate::geom::{BBox, Letterbox};
use crate::infer::{ModelConfig, ModelIo};
use crate::look::{self, Window, ZoomConfig};
use crate::preprocess::{Kernels, Preprocessor};
use crate::signal::Detection;
use crate::tensor::InputTensor;
use std::path::Path;
use std::time::Duration;
use web_time::Instant;

/// Preprocessing and decoding of both looks, with every per-frame buffer.
pub struct Looks {
    preprocessor: Preprocessor,
    tensor: InputTensor,
    decoder: Decoder,
    detections: Vec<Detection>,
    letterbox: Option<Letterbox>,
    times: StageTimes,
    closer: CloserLook,
}

/// Buffers of the second look, kept apart from the full view's so that neither
/// repaints the other's letterbox border.
struct CloserLook {
    preprocessor: Preprocessor,
    tensor: InputTensor,
    window: Frame,
    /// Where the window lies in the frame, and its letterbox, while its output is awaited.
    pending: Option<(Window, Letterbox)>,
    found: Vec<Detection>,
    scratch: Vec<Detection>,
}

impl std::fmt::Debug for Looks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Looks").field("layout", self.decoder.layout()).finish_non_exhaustive()
    }
}

impl Looks {
    /// Checks the model's output against the class names and allocates every buffer;
    /// `path` only names the model in messages.
    ///
    /// # Errors
    /// [`PipelineError::Decode`] when the output cannot be decoded with these names.
    pub fn new(io: &ModelIo, model: &ModelConfig, decode: &DecodeConfig, path: &Path) -> Result<Self, PipelineError> {
        let names = model.classes.clone().or_else(|| io.class_names());
        let decode_err = |source: DecodeError| PipelineError::Decode { path: path.to_path_buf(), source };
        let layout = OutputLayout::detect(&io.output_shape, names.as_ref().map(Vec::len), io.end2end)
            .and_then(|layout| layout.check_input(io.input_width, io.input_height).map(|()| layout))
            .map_err(|e| decode_err(e.into()))?;
        let classes = match names {
            Some(names) => ClassMap::new(names, &model.class_meanings),
            None => {
                let count = layout.class_count().unwrap_or(0);
                tracing::warn!(
                    "{} has no class names; set `[model] classes`, or every box will mean `other`",
                    path.display()
                );
                ClassMap::unnamed(count)
            }
        };
        if !classes.is_empty() && !classes.tells_state() {
            tracing::warn!(
                "{}: none of its classes says a signal state (walk, stop, red, yellow, green), so every decision will be \
                 unknown (said as \"Signal seen, state unknown\" while it sees a head); `[model] class_meanings` can map \
                 them to states",
                path.display()
            );
        }
        let decoder = Decoder::new(layout, classes, decode.clone()).map_err(decode_err)?;
        let preprocessor = Preprocessor::new(io.input_width, io.input_height, Kernels::Best);
        let closer_preprocessor = Preprocessor::new(io.input_width, io.input_height, Kernels::Best);
        Ok(Self {
            tensor: preprocessor.new_tensor(),
            preprocessor,
            decoder,
            // Room for a second look's detections beside the full view's.
            detections: Vec::with_capacity(2 * decode.max_detections),
            letterbox: None,
            times: StageTimes::default(),
            closer: CloserLook {
                tensor: closer_preprocessor.new_tensor(),
                preprocessor: closer_preprocessor,
                window: Frame::default(),
                pending: None,
                found: Vec::with_capacity(decode.max_detections),
                scratch: Vec::with_capacity(2 * decode.max_detections),
            },
        })
    }

    /// Preprocesses the full view of `frame`: the model's input for it.
    ///
    /// # Errors
    /// [`PipelineError::Preprocess`] for a malformed frame.
    pub fn full_view(&mut self, frame: &Frame) -> Result<&InputTensor, PipelineError> {
        let t0 = Instant::now();
        self.closer.pending = None;
        self.letterbox = Some(self.preprocessor.run(frame, &mut self.tensor)?);
        self.times = StageTimes { preprocess: t0.elapsed(), ..StageTimes::default() };
        Ok(&self.tensor)
    }

    /// Decodes the model's `output` for the full view; `infer` is how long the model
    /// took. The detections (see [`Looks::detections`]) live until the next frame.
    ///
    /// # Errors
    /// [`PipelineError::BadOutput`] when the output is not valid (the detections are
    /// then empty); [`PipelineError::OutOfOrder`] without a full view prepared.
    pub fn take_full_view(&mut self, output: &[f32], infer: Duration) -> Result<&[Detection], PipelineError> {
        let lb = self.letterbox.ok_or(PipelineError::OutOfOrder("a model output came before its frame"))?;
        let t0 = Instant::now();
        let decoded = self.decoder.decode(output, &lb, &mut self.detections);
        self.times.infer += infer;
        self.times.decode += t0.elapsed();
        decoded?;
        Ok(&self.detections)
    }

    /// Whether the full view found a signal overlapping `head` with at least
    /// `confidence`.
    pub fn found_near(&self, head: &BBox, confidence: f32) -> bool {
        look::found_near(&self.detections, head, confidence)
    }

    /// Prepares the second look (see [`look::plan`]) at a window of `frame` around
    /// `head`: the model's input for it, or `None` when there is nothing to gain.
    ///
    /// # Errors
    /// [`PipelineError::Preprocess`] for a malformed frame.
    pub fn closer_look(
        &mut self,
        frame: &Frame,
        head: &BBox,
        zoom: &ZoomConfig,
    ) -> Result<Option<&InputTensor>, PipelineError> {
        let Some(full) = self.letterbox else { return Ok(None) };
        let Some(window) = look::plan(zoom, head, &full, frame.width, frame.height) else { return Ok(None) };
        let t0 = Instant::now();
        let closer = &mut self.closer;
        frame.copy_region(window.x, window.y, window.width, window.height, &mut closer.window);
        let lb = closer.preprocessor.run(&closer.window, &mut closer.tensor)?;
        closer.pending = Some((window, lb));
        self.times.preprocess += t0.elapsed();
        Ok(Some(&closer.tensor))
    }

    /// Decodes the model's `output` for the second look and merges what it found into
    /// the full view's detections ([`look::merge`]). Returns the window in frame px.
    /// `frame_size` is the frame's width and height.
    ///
    /// # Errors
    /// [`PipelineError::BadOutput`] when the output is not valid: the whole frame is
    /// then bad, and its detections are dropped; [`PipelineError::OutOfOrder`] without
    /// a second look prepared.
    pub fn take_closer_look(
        &mut self,
        output: &[f32],
        infer: Duration,
        frame_size: (u32, u32),
    ) -> Result<BBox, PipelineError> {
        let closer = &mut self.closer;
        let (window, lb) =
            closer.pending.take().ok_or(PipelineError::OutOfOrder("a second look's output came before its window"))?;
        let t0 = Instant::now();
        self.times.infer += infer;
        if let Err(bad) = self.decoder.decode(output, &lb, &mut closer.found) {
            self.detections.clear();
            return Err(bad.into());
        }
        look::merge(window, frame_size.0, frame_size.1, &mut closer.found, &mut self.detections, &mut closer.scratch);
        self.times.decode += t0.elapsed();
        Ok(window.bbox())
    }

    /// The second look's input as last prepared.
    pub(super) fn closer_input(&self) -> &InputTensor {
        &self.closer.tensor
    }

    /// Detections of the last frame.
    pub fn detections(&self) -> &[Detection] {
        &self.detections
    }

    /// The full view's input as last prepared (for benchmarks of the model alone).
    pub fn input(&self) -> &InputTensor {
        &self.tensor
    }

    /// Stage timings of the last frame, both looks together.
    pub fn times(&self) -> StageTimes {
        self.times
    }

    /// Class names and meanings.
    pub fn classes(&self) -> &ClassMap {
        self.decoder.classes()
    }

    /// Output layout in use.
    pub fn layout(&self) -> &OutputLayout {
        self.decoder.layout()
    }
}
