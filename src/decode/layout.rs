//! Output layouts as data, the choice among them, and the class-name map.

use super::Candidate;
use crate::geom::BBox;
use crate::signal::SignalMeaning;
use std::collections::BTreeMap;

/// How boxes and scores are laid out in a `[1, rows, cols]` output tensor. Boxes are
/// always in model-input px.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputLayout {
    /// ultralytics YOLOv8 / YOLO11: `[1, 4 + nc, anchors]`, rows `cx, cy, w, h`, then
    /// one sigmoid score per class; no objectness.
    YoloV8 {
        /// Number of classes.
        classes: usize,
        /// Number of anchor points.
        anchors: usize,
    },
    /// YOLOv5 / YOLOv7 style: `[1, anchors, 5 + nc]`, columns `cx, cy, w, h,
    /// objectness`, then class probabilities; score = objectness x class.
    YoloV5 {
        /// Number of classes.
        classes: usize,
        /// Number of anchor boxes.
        anchors: usize,
    },
    /// NMS-free end-to-end exports (YOLOv10, YOLO26, `nms=True`): `[1, max_det, 6]`,
    /// columns `x1, y1, x2, y2, score, class`.
    EndToEnd {
        /// Rows per image.
        max_detections: usize,
    },
}

/// Why an output tensor cannot be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LayoutError {
    /// No supported layout has this shape.
    #[error(
        "output shape {shape:?} matches no supported layout ([1, 4+nc, N] YOLOv8, [1, N, 5+nc] YOLOv5, [1, N, 6] end-to-end){hint}"
    )]
    UnknownShape {
        /// The shape.
        shape: Vec<usize>,
        /// Extra explanation, e.g. the class count that was expected.
        hint: String,
    },
    /// One row per grid cell with an objectness column: a YOLOX-style head, which the
    /// YOLOv5 decode would run wrong.
    #[error(
        "output shape {shape:?} has one row per grid cell of the {width}x{height} input at strides 8, 16 and 32 \
         (YOLOv5 has three per cell): a YOLOX-style head, whose boxes are grid offsets and whose input is BGR \
         0-255; safecross does not decode it. Export the model in the YOLOv8 layout ([1, 4+nc, N]) instead"
    )]
    GridPerCell {
        /// The output shape.
        shape: Vec<usize>,
        /// Model input width, px.
        width: u32,
        /// Model input height, px.
        height: u32,
    },
    /// The number of class names disagrees with the number of classes in the output.
    #[error("the model outputs {output_classes} classes but {names} class names were given")]
    ClassCountMismatch {
        /// Classes in the output tensor.
        output_classes: usize,
        /// Names given (metadata or --class-names).
        names: usize,
    },
}

impl OutputLayout {
    /// Picks the layout from the output shape, the number of class names (when known)
    /// and the model's `end2end` metadata flag.
    ///
    /// # Errors
    /// [`LayoutError`] when no layout fits or the names disagree with the shape.
    pub fn detect(shape: &[usize], class_names: Option<usize>, end2end: bool) -> Result<Self, LayoutError> {
        let &[1, rows, cols] = shape else {
            return Err(LayoutError::UnknownShape { shape: shape.to_vec(), hint: String::new() });
        };
        // End-to-end rows carry a class index, not per-class scores, so any name count fits.
        if cols == 6 && (end2end || class_names != Some(1)) {
            return Ok(OutputLayout::EndToEnd { max_detections: rows });
        }
        match class_names {
            // A shape can fit both only when it is tiny; anchors outnumber rows in real models.
            Some(nc) if rows == 4 + nc && (cols != 5 + nc || cols > rows) => {
                Ok(OutputLayout::YoloV8 { classes: nc, anchors: cols })
            }
            Some(nc) if cols == 5 + nc => Ok(OutputLayout::YoloV5 { classes: nc, anchors: rows }),
            Some(nc) => {
                let (guess_v8, guess_v5) = (rows.checked_sub(4), cols.checked_sub(5));
                let output_classes = if cols > rows { guess_v8 } else { guess_v5 };
                match output_classes {
                    Some(oc) if oc > 0 => Err(LayoutError::ClassCountMismatch { output_classes: oc, names: nc }),
                    _ => Err(LayoutError::UnknownShape { shape: shape.to_vec(), hint: format!(" for {nc} classes") }),
                }
            }
            None if cols > rows && rows > 4 => Ok(OutputLayout::YoloV8 { classes: rows - 4, anchors: cols }),
            None if rows > cols && cols > 5 => Ok(OutputLayout::YoloV5 { classes: cols - 5, anchors: rows }),
            None => Err(LayoutError::UnknownShape { shape: shape.to_vec(), hint: String::new() }),
        }
    }

    /// Refuses a layout that fits the output's shape but not what the rows must then be
    /// for a `width` x `height` input: a `[1, N, 5+nc]` output with exactly one row per
    /// cell of the stride 8, 16 and 32 grids is a YOLOX-style head (raw grid offsets,
    /// BGR 0-255 input), not YOLOv5's three anchors per cell. Run as YOLOv5 it finds
    /// nothing, or worse, boxes in the wrong place, so it is refused.
    ///
    /// # Errors
    /// [`LayoutError::GridPerCell`].
    pub fn check_input(&self, width: u32, height: u32) -> Result<(), LayoutError> {
        let cells = |s: u32| (width / s) as usize * (height / s) as usize;
        match *self {
            OutputLayout::YoloV5 { classes, anchors } if anchors > 0 && anchors == cells(8) + cells(16) + cells(32) => {
                Err(LayoutError::GridPerCell { shape: vec![1, anchors, 5 + classes], width, height })
            }
            _ => Ok(()),
        }
    }

    /// Number of classes the output scores, when the layout says (end-to-end does not).
    pub fn class_count(&self) -> Option<usize> {
        match self {
            OutputLayout::YoloV8 { classes, .. } | OutputLayout::YoloV5 { classes, .. } => Some(*classes),
            OutputLayout::EndToEnd { .. } => None,
        }
    }

    /// Short name for logs and `safecross info`.
    pub fn name(&self) -> &'static str {
        match self {
            OutputLayout::YoloV8 { .. } => "yolov8",
            OutputLayout::YoloV5 { .. } => "yolov5",
            OutputLayout::EndToEnd { .. } => "end-to-end",
        }
    }

    /// Appends every box scoring at least `threshold` to `out`, in model px. A box whose
    /// second-best class also reaches `threshold` carries it as its rival: one anchor
    /// that reads a head both ways is as much a conflict as two anchors that do.
    pub(super) fn collect(&self, output: &[f32], threshold: f32, out: &mut Vec<Candidate>) {
        match *self {
            OutputLayout::YoloV8 { classes, anchors } => {
                if output.len() < (4 + classes) * anchors {
                    return;
                }
                for a in 0..anchors {
                    let ((best, best_class), (second, second_class)) =
                        top_two((0..classes).map(|c| output[(4 + c) * anchors + a]));
                    if best >= threshold {
                        let at = |row: usize| output[row * anchors + a];
                        out.push(Candidate {
                            class_id: best_class as u16,
                            score: best,
                            bbox: BBox::from_center(at(0), at(1), at(2), at(3)),
                            rival: (second >= threshold).then_some((second_class as u16, second)),
                        });
                    }
                }
            }
            OutputLayout::YoloV5 { classes, anchors } => {
                let stride = 5 + classes;
                for row in output.chunks_exact(stride).take(anchors) {
                    let objectness = row[4];
                    if objectness < threshold {
                        continue;
                    }
                    let ((best, best_class), (second, second_class)) = top_two(row[5..].iter().copied());
                    let score = objectness * best;
                    if score >= threshold {
                        let rival_score = objectness * second;
                        out.push(Candidate {
                            class_id: best_class as u16,
                            score,
                            bbox: BBox::from_center(row[0], row[1], row[2], row[3]),
                            rival: (rival_score >= threshold).then_some((second_class as u16, rival_score)),
                        });
                    }
                }
            }
            OutputLayout::EndToEnd { max_detections } => {
                for row in output.chunks_exact(6).take(max_detections) {
                    let score = row[4];
                    if score >= threshold && row[5] >= 0.0 {
                        out.push(Candidate {
                            class_id: row[5].round() as u16,
                            score,
                            bbox: BBox::new(row[0], row[1], row[2], row[3]),
                            rival: None,
                        });
                    }
                }
            }
        }
    }
}

/// Class names in output order, with the signal meaning of each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassMap {
    names: Vec<String>,
    meanings: Vec<SignalMeaning>,
    /// Per class: `Other`, but a signal head without a state (COCO's `traffic light`).
    stateless_signal: Vec<bool>,
}

impl ClassMap {
    /// Derives each meaning from its name, in the context of the whole list
    /// ([`SignalMeaning::for_class_names`]), then applies `overrides` (class name ->
    /// meaning) from the config file.
    pub fn new(names: Vec<String>, overrides: &BTreeMap<String, SignalMeaning>) -> Self {
        let meanings: Vec<SignalMeaning> = names
            .iter()
            .zip(SignalMeaning::for_class_names(&names))
            .map(|(n, derived)| overrides.get(n).copied().unwrap_or(derived))
            .collect();
        let stateless_signal = names
            .iter()
            .zip(&meanings)
            .map(|(n, m)| *m == SignalMeaning::Other && SignalMeaning::names_a_stateless_signal(n))
            .collect();
        Self { names, meanings, stateless_signal }
    }

    /// Placeholder names `class0..` for a model without names; every meaning is
    /// `Other`, so such a model can show boxes but never drives a decision.
    pub fn unnamed(count: usize) -> Self {
        Self::new((0..count).map(|i| format!("class{i}")).collect(), &BTreeMap::new())
    }

    /// Number of classes.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether there are no classes.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Name of class `id`, or `?` for an id the model should not emit.
    pub fn name(&self, id: u16) -> &str {
        self.names.get(id as usize).map_or("?", String::as_str)
    }

    /// Meaning of class `id`; `Other` for an out-of-range id.
    pub fn meaning(&self, id: u16) -> SignalMeaning {
        self.meanings.get(id as usize).copied().unwrap_or(SignalMeaning::Other)
    }

    /// Whether class `id` is a signal head without a state (COCO's `traffic light`):
    /// never followed, but a head in view.
    pub fn is_stateless_signal(&self, id: u16) -> bool {
        self.stateless_signal.get(id as usize).copied().unwrap_or(false)
    }

    /// Whether any class says a signal state (walk, stop, red, yellow, green). A model
    /// whose classes do not (a COCO detector's `traffic light`) can only ever give
    /// unknown, however well it finds lights.
    pub fn tells_state(&self) -> bool {
        self.meanings.iter().any(|m| {
            matches!(
                m,
                SignalMeaning::PedWalk
                    | SignalMeaning::PedStop
                    | SignalMeaning::VehicleRed
                    | SignalMeaning::VehicleYellow
                    | SignalMeaning::VehicleGreen
            )
        })
    }

    /// Names of the classes that mean nothing to the decision (`Other`).
    pub fn unmapped(&self) -> impl Iterator<Item = &str> {
        self.iter().filter(|(_, m)| *m == SignalMeaning::Other).map(|(n, _)| n)
    }

    /// `(name, meaning)` pairs in class order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, SignalMeaning)> {
        self.names.iter().map(String::as_str).zip(self.meanings.iter().copied())
    }

    /// Names of the classes that are signal heads without a state.
    pub fn stateless_signals(&self) -> impl Iterator<Item = &str> {
        self.names.iter().zip(&self.stateless_signal).filter(|(_, s)| **s).map(|(n, _)| n.as_str())
    }
}

/// The highest and second-highest of `scores` with their indices (the first index wins
/// a tie; `NEG_INFINITY` and index 0 when there are fewer than two).
fn top_two(scores: impl Iterator<Item = f32>) -> ((f32, usize), (f32, usize)) {
    let (mut best, mut second) = ((f32::NEG_INFINITY, 0), (f32::NEG_INFINITY, 0));
    for (c, s) in scores.enumerate() {
        if s > best.0 {
            second = best;
            best = (s, c);
        } else if s > second.0 {
            second = (s, c);
        }
    }
    (best, second)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_yolox_head_is_refused_and_yolov5_is_not() {
        // YOLOX-Nano at 416x416: 52x52 + 26x26 + 13x13 = 3549 rows of 85.
        let yolox = OutputLayout::detect(&[1, 3549, 85], None, false).unwrap();
        let err = yolox.check_input(416, 416).unwrap_err();
        assert!(matches!(err, LayoutError::GridPerCell { width: 416, height: 416, .. }), "{err}");
        assert!(err.to_string().contains("YOLOX"), "{err}");
        // YOLOv5 at 416x416 (three anchors per cell) and at 640x640 pass.
        assert_eq!(OutputLayout::detect(&[1, 10647, 85], None, false).unwrap().check_input(416, 416), Ok(()));
        assert_eq!(OutputLayout::detect(&[1, 25200, 85], None, false).unwrap().check_input(640, 640), Ok(()));
        // The same row count is fine for the YOLOv8 layout, whose rows are the classes.
        let v8 = OutputLayout::detect(&[1, 84, 3549], None, false).unwrap();
        assert_eq!(v8.check_input(416, 416), Ok(()));
    }

    #[test]
    fn layouts_from_shapes() {
        assert_eq!(
            OutputLayout::detect(&[1, 10, 3549], Some(6), false),
            Ok(OutputLayout::YoloV8 { classes: 6, anchors: 3549 })
        );
        assert_eq!(
            OutputLayout::detect(&[1, 25200, 8], Some(3), false),
            Ok(OutputLayout::YoloV5 { classes: 3, anchors: 25200 })
        );
        assert_eq!(
            OutputLayout::detect(&[1, 300, 6], Some(4), false),
            Ok(OutputLayout::EndToEnd { max_detections: 300 })
        );
        assert_eq!(
            OutputLayout::detect(&[1, 300, 6], Some(1), true),
            Ok(OutputLayout::EndToEnd { max_detections: 300 })
        );
        assert_eq!(
            OutputLayout::detect(&[1, 300, 6], Some(1), false),
            Ok(OutputLayout::YoloV5 { classes: 1, anchors: 300 })
        );
        assert_eq!(
            OutputLayout::detect(&[1, 84, 8400], None, false),
            Ok(OutputLayout::YoloV8 { classes: 80, anchors: 8400 })
        );
        assert_eq!(
            OutputLayout::detect(&[1, 10, 3549], Some(3), false),
            Err(LayoutError::ClassCountMismatch { output_classes: 6, names: 3 })
        );
        assert!(OutputLayout::detect(&[1, 3, 4], None, false).is_err());
        assert!(OutputLayout::detect(&[2, 10, 3549], None, false).is_err());
    }

    #[test]
    fn yolov8_collect_reads_columns() {
        // Two anchors, two classes: anchor 1 is class 1 at 0.9.
        let anchors = 2;
        let mut out = vec![0.0f32; 6 * anchors];
        let set = |o: &mut Vec<f32>, row: usize, a: usize, v: f32| o[row * anchors + a] = v;
        for (row, v) in [(0, 50.0), (1, 60.0), (2, 10.0), (3, 20.0), (4, 0.1), (5, 0.9)] {
            set(&mut out, row, 1, v);
        }
        let mut cands = Vec::new();
        OutputLayout::YoloV8 { classes: 2, anchors }.collect(&out, 0.25, &mut cands);
        assert_eq!(cands.len(), 1);
        assert_eq!(cands[0].class_id, 1);
        assert_eq!(cands[0].bbox, BBox::new(45.0, 50.0, 55.0, 70.0));
        assert_eq!(cands[0].rival, None, "class 0 at 0.1 is below the threshold");

        // The same anchor also reads class 0 at 0.4: that second reading is its rival.
        set(&mut out, 4, 1, 0.4);
        cands.clear();
        OutputLayout::YoloV8 { classes: 2, anchors }.collect(&out, 0.25, &mut cands);
        assert_eq!(cands.len(), 1);
        assert_eq!((cands[0].class_id, cands[0].rival), (1, Some((0, 0.4))));
    }
}
