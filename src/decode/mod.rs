//! Decoding: turns the raw output tensor of a YOLO-style model into [`Detection`]s in
//! frame px, with confidence filtering and non-maximum suppression.
//!
//! The output layout is described as data ([`OutputLayout`]) and chosen once, at load
//! time, from the output shape and the class names, so one decoder serves the three
//! layouts people export: ultralytics YOLOv8/YOLO11 (`[1, 4+nc, N]`), YOLOv5-style
//! (`[1, N, 5+nc]`) and NMS-free end-to-end exports (`[1, N, 6]`).
//!
//! Every output is checked before it is read: a frame whose scores are not
//! probabilities, or whose numbers are not finite, yields no detections and a
//! [`BadOutput`], so a broken model is heard as unknown, never as evidence.
//!
//! Imports: `geom`, `signal`.

mod check;
mod layout;
mod nms;

pub use check::{BadOutput, SCORE_TOLERANCE};
pub use layout::{ClassMap, LayoutError, OutputLayout};

use crate::geom::{BBox, Letterbox};
use crate::signal::{Detection, Rival};
use serde::Deserialize;

/// Settings of the decoding stage.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DecodeConfig {
    /// Minimum class score to keep a box, in `[0, 1]`; default 0.25 (the usual YOLO
    /// value; the smoother, not this threshold, protects against single-frame noise).
    pub conf_threshold: f32,
    /// IoU above which a lower-scoring box of the same class is suppressed; default 0.45.
    pub nms_iou: f32,
    /// Suppress overlapping boxes across classes too, so each head has one state;
    /// default true. The strongest suppressed reading of another class stays on the kept
    /// box as its [`Rival`], so the selector still sees a head read both as walk and as
    /// stop. With false, every class keeps its own box.
    pub class_agnostic_nms: bool,
    /// Most detections kept per frame; default 100.
    pub max_detections: usize,
}

impl Default for DecodeConfig {
    fn default() -> Self {
        Self { conf_threshold: 0.25, nms_iou: 0.45, class_agnostic_nms: true, max_detections: 100 }
    }
}

/// Why the decoder cannot be built or configured.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The output shape does not fit any supported layout, or disagrees with the names.
    #[error(transparent)]
    Layout(#[from] LayoutError),
    /// A config value is out of range.
    #[error("decode config: {field} = {value} is out of range {range}")]
    Config {
        /// Field name.
        field: &'static str,
        /// Given value.
        value: f32,
        /// Allowed range.
        range: &'static str,
    },
}

impl DecodeConfig {
    /// Checks ranges once, at start-up.
    ///
    /// # Errors
    /// [`DecodeError::Config`] naming the bad field.
    pub fn validate(&self) -> Result<(), DecodeError> {
        if !(0.0..=1.0).contains(&self.conf_threshold) {
            return Err(DecodeError::Config { field: "conf_threshold", value: self.conf_threshold, range: "[0, 1]" });
        }
        if !(0.0..=1.0).contains(&self.nms_iou) {
            return Err(DecodeError::Config { field: "nms_iou", value: self.nms_iou, range: "[0, 1]" });
        }
        // None kept would mean no signal is ever seen: unknown forever, however clear the
        // street. More than 10000 is not a setting but a typo.
        if !(1..=10_000).contains(&self.max_detections) {
            return Err(DecodeError::Config {
                field: "max_detections",
                value: self.max_detections as f32,
                range: "[1, 10000]",
            });
        }
        Ok(())
    }
}

/// A candidate before NMS, in model px.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Candidate {
    class_id: u16,
    score: f32,
    bbox: BBox,
    /// With class-agnostic NMS: the strongest suppressed reading of another class.
    rival: Option<(u16, f32)>,
}

/// Decodes one model's output, frame after frame, reusing its buffers.
#[derive(Debug, Clone)]
pub struct Decoder {
    layout: OutputLayout,
    classes: ClassMap,
    config: DecodeConfig,
    candidates: Vec<Candidate>,
    kept: Vec<Candidate>,
}

impl Decoder {
    /// A decoder for a checked layout and class map.
    ///
    /// # Errors
    /// [`DecodeError`] when the config is out of range or the class map does not match
    /// the layout's class count.
    pub fn new(layout: OutputLayout, classes: ClassMap, config: DecodeConfig) -> Result<Self, DecodeError> {
        config.validate()?;
        if let Some(nc) = layout.class_count()
            && nc != classes.len()
        {
            return Err(LayoutError::ClassCountMismatch { output_classes: nc, names: classes.len() }.into());
        }
        Ok(Self { layout, classes, config, candidates: Vec::new(), kept: Vec::new() })
    }

    /// The layout in use.
    pub fn layout(&self) -> &OutputLayout {
        &self.layout
    }

    /// The class names and meanings in use.
    pub fn classes(&self) -> &ClassMap {
        &self.classes
    }

    /// The config in use.
    pub fn config(&self) -> &DecodeConfig {
        &self.config
    }

    /// Decodes `output` (flattened, with the shape the layout was built for), maps the
    /// boxes through `letterbox` into frame px, and replaces `out` with the kept
    /// detections, highest score first.
    ///
    /// # Errors
    /// [`BadOutput`] when a score is not a probability or a number is not finite; `out`
    /// is then empty, so nothing of that frame can count as evidence.
    pub fn decode(&mut self, output: &[f32], letterbox: &Letterbox, out: &mut Vec<Detection>) -> Result<(), BadOutput> {
        out.clear();
        check::check(&self.layout, output)?;
        self.candidates.clear();
        self.layout.collect(output, self.config.conf_threshold, &mut self.candidates);
        nms::suppress(
            &mut self.candidates,
            &mut self.kept,
            self.config.nms_iou,
            self.config.class_agnostic_nms,
            self.config.max_detections,
        );
        out.clear();
        for c in &self.kept {
            let bbox = letterbox.to_frame(&c.bbox);
            if bbox.area() <= 0.0 {
                continue;
            }
            let rival =
                c.rival.map(|(class_id, score)| Rival { class_id, meaning: self.classes.meaning(class_id), score });
            out.push(Detection {
                class_id: c.class_id,
                meaning: self.classes.meaning(c.class_id),
                score: c.score,
                bbox,
                rival,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signal::SignalMeaning;
    use std::collections::BTreeMap;

    /// A YOLOv8 decoder for `ped_stop, ped_walk` over `anchors` anchors, on a 64x64 input.
    fn decoder(anchors: usize) -> Decoder {
        let classes = ClassMap::new(vec!["ped_stop".into(), "ped_walk".into()], &BTreeMap::new());
        Decoder::new(OutputLayout::YoloV8 { classes: 2, anchors }, classes, DecodeConfig::default()).unwrap()
    }

    /// One anchor of a head at (32, 32), scoring `stop` and `walk`.
    fn output(stop: f32, walk: f32) -> Vec<f32> {
        vec![32.0, 32.0, 6.0, 12.0, stop, walk]
    }

    #[test]
    fn a_walk_beside_a_score_that_is_not_a_probability_is_no_detection() {
        let lb = Letterbox::fit(64, 64, 64, 64);
        let mut dec = decoder(1);
        let mut out = Vec::new();
        dec.decode(&output(0.01, 0.95), &lb, &mut out).unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!((out[0].meaning, out[0].score), (SignalMeaning::PedWalk, 0.95));
        // The walk reading of the last frame must not survive into a bad one either.
        for (stop, walk) in [(f32::NAN, 0.95), (0.01, 57.0), (f32::INFINITY, 0.95), (-0.1, 0.95)] {
            let err = dec.decode(&output(stop, walk), &lb, &mut out).unwrap_err();
            assert!(out.is_empty(), "stop {stop}, walk {walk}: {out:?}");
            assert_eq!(err.index, if walk > 1.0 { 5 } else { 4 });
        }
    }
}
