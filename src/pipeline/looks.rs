//! The two looks at a frame, without the model's run: the full view, and the second
//! look at a far head (see [`ZoomConfig`]). Each look is preprocess -> (the caller runs
//! the model) -> decode; the caller may be the in-process engine or a browser page.

use super::{ModelConfig, PipelineError, StageTimes, ZoomConfig};
use crate::decode::{ClassMap, DecodeConfig, DecodeError, Decoder, OutputLayout};
use crate::frame::Frame;
use crate::geom::{BBox, Letterbox};
use crate::infer::ModelIo;
use crate::preprocess::{Kernels, Preprocessor};
use crate::signal::{Detection, Rival, SignalMeaning};
use crate::tensor::InputTensor;
use std::path::Path;
use std::time::Duration;
use web_time::Instant;

/// Overlap at which a detection counts as the followed head, or as the same light seen
/// twice (heads are a few px wide, so a 1-px offset already costs a third of the IoU).
const CLOSER_MIN_IOU: f32 = 0.3;

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
    pending: Option<(BBox, Letterbox)>,
    found: Vec<Detection>,
    full: Vec<Detection>,
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
                    "{} has no class names; pass --class-names, or every box will mean `other`",
                    path.display()
                );
                ClassMap::unnamed(count)
            }
        };
        if !classes.is_empty() && !classes.tells_state() {
            tracing::warn!(
                "{}: none of its classes says a signal state (walk, stop, red, yellow, green), so every decision will be \
                 unknown (said as \"Signal seen, state unknown\" while it sees a head); `safecross info` lists them, and \
                 [model.class_meanings] in a --config file can map them",
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
                full: Vec::with_capacity(2 * decode.max_detections),
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
        self.detections
            .iter()
            .any(|d| d.score >= confidence && d.meaning.is_signal() && d.bbox.iou(head) >= CLOSER_MIN_IOU)
    }

    /// Prepares the second look (see [`ZoomConfig`]) at a window of `frame` around
    /// `head` at `zoom.scale`: the model's input for it, or `None` when the window would
    /// not magnify at least `zoom.min_gain` or the head is already big in the full view.
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
        let head_px = head.width().max(head.height()) * full.scale;
        // The epsilon keeps an exact 1.5 (0.75 over 0.5) from failing on rounding.
        if zoom.scale / full.scale + 1e-4 < zoom.min_gain || head_px > zoom.max_head_px {
            return Ok(None);
        }
        let t0 = Instant::now();
        let window_w = ((full.dst_w as f32 / zoom.scale).round() as u32).clamp(1, frame.width);
        let window_h = ((full.dst_h as f32 / zoom.scale).round() as u32).clamp(1, frame.height);
        let (cx, cy) = head.center();
        let x0 = (cx - window_w as f32 / 2.0).round().clamp(0.0, (frame.width - window_w) as f32) as u32;
        let y0 = (cy - window_h as f32 / 2.0).round().clamp(0.0, (frame.height - window_h) as f32) as u32;
        let closer = &mut self.closer;
        frame.copy_region(x0, y0, window_w, window_h, &mut closer.window);
        let lb = closer.preprocessor.run(&closer.window, &mut closer.tensor)?;
        let window = BBox::new(x0 as f32, y0 as f32, (x0 + window_w) as f32, (y0 + window_h) as f32);
        closer.pending = Some((window, lb));
        self.times.preprocess += t0.elapsed();
        Ok(Some(&closer.tensor))
    }

    /// Decodes the model's `output` for the second look and merges what it found into
    /// the full view's detections: a light both looks saw becomes one detection
    /// (`one_light`), a light only the full view saw stays. Returns the window in frame
    /// px. `frame_size` is the frame's width and height.
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
        let (frame_w, frame_h) = (frame_size.0 as f32, frame_size.1 as f32);
        // A light cut by the window's edge is half a light: leave it to the full view,
        // unless that edge is the frame's own.
        let cut = |b: &BBox| {
            (b.x1 <= window.x1 + 1.0 && window.x1 > 0.0)
                || (b.y1 <= window.y1 + 1.0 && window.y1 > 0.0)
                || (b.x2 >= window.x2 - 1.0 && window.x2 < frame_w)
                || (b.y2 >= window.y2 - 1.0 && window.y2 < frame_h)
        };
        closer.found.retain_mut(|d| {
            d.bbox =
                BBox::new(d.bbox.x1 + window.x1, d.bbox.y1 + window.y1, d.bbox.x2 + window.x1, d.bbox.y2 + window.y1);
            !cut(&d.bbox)
        });
        // Each light seen by both looks becomes one detection (see `one_light`); lights
        // only the full view saw are kept as they were.
        closer.full.clear();
        closer.full.extend_from_slice(&self.detections);
        self.detections.clear();
        for d in &closer.full {
            match closer.found.iter_mut().find(|z| same_light(&z.bbox, &d.bbox)) {
                Some(z) => *z = one_light(*z, *d),
                None => self.detections.push(*d),
            }
        }
        self.detections.extend_from_slice(&closer.found);
        // Unstable: the stable sort allocates, and scores rarely tie.
        self.detections.sort_unstable_by(|a, b| b.score.total_cmp(&a.score));
        self.times.decode += t0.elapsed();
        Ok(window)
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

/// Whether two boxes, one from each look, are the same light.
fn same_light(a: &BBox, b: &BBox) -> bool {
    let (cx, cy) = b.center();
    a.iou(b) >= CLOSER_MIN_IOU || a.contains(cx, cy)
}

/// Two readings of one light, one per look, as one detection: the more confident
/// reading, carrying the other as its rival when they disagree and the other beats its
/// own runner-up, so that a walk reading beside a stop reading still reaches the
/// selector as a conflict. A lit reading wins over an unlit one whatever the scores:
/// magnified past what it was trained on, the model reads some dim lit heads (the US
/// hand) as unlit, and the closer look only runs where the full view was unsure.
fn one_light(a: Detection, b: Detection) -> Detection {
    let lit = |d: &Detection| d.meaning != SignalMeaning::Off;
    let a_wins = if lit(&a) == lit(&b) { a.score >= b.score } else { lit(&a) };
    let (mut winner, loser) = if a_wins { (a, b) } else { (b, a) };
    if loser.meaning != winner.meaning && winner.rival.is_none_or(|r| r.score < loser.score) {
        winner.rival = Some(Rival { class_id: loser.class_id, meaning: loser.meaning, score: loser.score });
    }
    winner
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(meaning: SignalMeaning, score: f32) -> Detection {
        Detection { class_id: meaning as u16, meaning, score, bbox: BBox::new(10.0, 10.0, 20.0, 16.0), rival: None }
    }

    #[test]
    fn two_looks_at_one_light_keep_the_surer_reading_and_the_other_as_rival() {
        let stop = reading(SignalMeaning::PedStop, 0.7);
        let walk = reading(SignalMeaning::PedWalk, 0.45);
        for (a, b) in [(stop, walk), (walk, stop)] {
            let one = one_light(a, b);
            assert_eq!(one.meaning, SignalMeaning::PedStop);
            let rival = one.rival.expect("the walk reading stays as the rival");
            assert_eq!((rival.meaning, rival.score), (SignalMeaning::PedWalk, 0.45));
        }
        // A walk that wins keeps the stop beside it, so the selector sees a conflict.
        let sure_walk = reading(SignalMeaning::PedWalk, 0.8);
        let one = one_light(sure_walk, reading(SignalMeaning::PedStop, 0.4));
        assert_eq!(one.meaning, SignalMeaning::PedWalk);
        assert_eq!(one.rival.map(|r| r.meaning), Some(SignalMeaning::PedStop));
        // A stronger runner-up of its own is kept; agreeing readings add no rival.
        let mut with_own = sure_walk;
        with_own.rival = Some(Rival { class_id: 0, meaning: SignalMeaning::PedStop, score: 0.5 });
        assert_eq!(one_light(with_own, reading(SignalMeaning::PedStop, 0.3)).rival.unwrap().score, 0.5);
        assert_eq!(one_light(sure_walk, reading(SignalMeaning::PedWalk, 0.5)).rival, None);
    }

    #[test]
    fn a_lit_reading_wins_over_an_unlit_one_whatever_the_scores() {
        let off = reading(SignalMeaning::Off, 0.6);
        let stop = reading(SignalMeaning::PedStop, 0.35);
        for (a, b) in [(off, stop), (stop, off)] {
            let one = one_light(a, b);
            assert_eq!(one.meaning, SignalMeaning::PedStop);
            assert_eq!(one.rival.map(|r| r.meaning), Some(SignalMeaning::Off));
        }
    }

    #[test]
    fn same_light_is_overlap_or_a_centre_inside() {
        let head = BBox::new(100.0, 100.0, 120.0, 112.0);
        assert!(same_light(&head, &BBox::new(101.0, 101.0, 121.0, 113.0)));
        // A loose box around a tight one: low IoU, but the centre lies inside.
        assert!(same_light(&BBox::new(90.0, 90.0, 130.0, 122.0), &head));
        assert!(!same_light(&head, &BBox::new(121.0, 100.0, 141.0, 112.0)));
    }
}
