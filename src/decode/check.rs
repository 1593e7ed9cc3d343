//! The per-frame sanity check of a model's output: scores must be probabilities and
//! boxes finite numbers, or the frame is not evidence of anything.
//!
//! A NaN never passes a threshold comparison, so a NaN stop score simply vanishes
//! beside a walk score of 0.95, and a score of 57 passes every threshold and is clamped
//! to a confidence of 1.0: either way a broken model (a bad export, a bad quantisation,
//! a faulty accelerator) would speak with full confidence. The check reads every value
//! once, branch-free so that it vectorises (about 50 000 values, a few microseconds, for
//! the bundled model), and allocates nothing.

use super::OutputLayout;

/// How far a score may stray outside `[0, 1]` and still count as a probability: the
/// rounding of a half-precision or int8-quantised export, nothing more.
pub const SCORE_TOLERANCE: f32 = 1e-3;

/// A model output that is not a valid detection: the frame counts as unknown.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[error("model output value {value} at index {index} is not {expected}")]
pub struct BadOutput {
    /// Flat index into the output tensor of the first bad value.
    pub index: usize,
    /// The value found there.
    pub value: f32,
    /// What the value should have been.
    pub expected: &'static str,
}

const FINITE: &str = "a finite number";
const SCORE: &str = "a score in [0, 1]";

/// Checks the part of `output` that `layout` reads: every value finite, every score
/// within [`SCORE_TOLERANCE`] of `[0, 1]`.
///
/// # Errors
/// [`BadOutput`] naming the first value out of place.
pub(super) fn check(layout: &OutputLayout, output: &[f32]) -> Result<(), BadOutput> {
    let (lo, hi) = (-SCORE_TOLERANCE, 1.0 + SCORE_TOLERANCE);
    match *layout {
        OutputLayout::YoloV8 { classes, anchors } => {
            // Rows 0-3 are the box, the rest one score row per class.
            let boxes = output.get(..4 * anchors).unwrap_or(&[]);
            let scores = output.get(4 * anchors..(4 + classes) * anchors).unwrap_or(&[]);
            all_finite(boxes, 0)?;
            all_within(scores, 4 * anchors, lo, hi)
        }
        OutputLayout::YoloV5 { classes, anchors } => {
            // Per row: cx, cy, w, h, then objectness and class probabilities.
            let stride = 5 + classes;
            for (r, row) in output.chunks_exact(stride).take(anchors).enumerate() {
                all_finite(&row[..4], r * stride)?;
                all_within(&row[4..], r * stride + 4, lo, hi)?;
            }
            Ok(())
        }
        OutputLayout::EndToEnd { max_detections } => {
            // Per row: x1, y1, x2, y2, score, class index.
            for (r, row) in output.chunks_exact(6).take(max_detections).enumerate() {
                all_finite(row, r * 6)?;
                all_within(&row[4..5], r * 6 + 4, lo, hi)?;
            }
            Ok(())
        }
    }
}

/// Whether every value is finite; `offset` is the index of `values[0]` in the output.
fn all_finite(values: &[f32], offset: usize) -> Result<(), BadOutput> {
    // `&` rather than `&&`: no branch per value, so the loop vectorises.
    if values.iter().fold(true, |ok, v| ok & v.is_finite()) {
        return Ok(());
    }
    let i = values.iter().position(|v| !v.is_finite()).unwrap_or(0);
    Err(BadOutput { index: offset + i, value: values.get(i).copied().unwrap_or(f32::NAN), expected: FINITE })
}

/// Whether every value lies in `[lo, hi]` (a NaN does not).
fn all_within(values: &[f32], offset: usize, lo: f32, hi: f32) -> Result<(), BadOutput> {
    let inside = |v: f32| (v >= lo) & (v <= hi);
    if values.iter().fold(true, |ok, &v| ok & inside(v)) {
        return Ok(());
    }
    let i = values.iter().position(|&v| !inside(v)).unwrap_or(0);
    Err(BadOutput { index: offset + i, value: values.get(i).copied().unwrap_or(f32::NAN), expected: SCORE })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A YOLOv8 output of 3 anchors, 2 classes: anchor 1 is class 1 at 0.95, class 0 `other`.
    fn yolov8(other: f32) -> (OutputLayout, Vec<f32>) {
        let anchors = 3;
        let mut out = vec![0.0f32; 6 * anchors];
        for (row, v) in [(0, 50.0), (1, -40.0), (2, 700.0), (3, 20.0), (4, other), (5, 0.95)] {
            out[row * anchors + 1] = v;
        }
        (OutputLayout::YoloV8 { classes: 2, anchors }, out)
    }

    #[test]
    fn probabilities_and_boxes_anywhere_pass() {
        // Boxes may reach past the input (negative, or wider than it); scores may touch
        // 0 and 1 and stray by rounding.
        for other in [0.0, 0.3, 1.0, 1.0 + 1e-4, -1e-4] {
            let (layout, out) = yolov8(other);
            assert_eq!(check(&layout, &out), Ok(()), "score {other}");
        }
    }

    #[test]
    fn scores_that_are_not_probabilities_are_rejected() {
        for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 57.0, -0.1, 1.01] {
            let (layout, out) = yolov8(bad);
            let err = check(&layout, &out).unwrap_err();
            assert_eq!(err.index, 4 * 3 + 1, "score {bad}");
            assert!(err.value.to_bits() == bad.to_bits(), "{err:?}");
            assert_eq!(err.expected, SCORE);
            assert!(err.to_string().contains("is not a score in [0, 1]"), "{err}");
        }
    }

    #[test]
    fn a_box_that_is_not_a_number_is_rejected() {
        for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
            let (layout, mut out) = yolov8(0.1);
            out[2 * 3 + 1] = bad;
            let err = check(&layout, &out).unwrap_err();
            assert_eq!((err.index, err.expected), (2 * 3 + 1, FINITE), "box {bad}");
        }
    }

    #[test]
    fn yolov5_checks_objectness_and_class_columns() {
        let layout = OutputLayout::YoloV5 { classes: 2, anchors: 2 };
        let good = [10.0, 10.0, 4.0, 8.0, 0.9, 0.1, 0.8, -5.0, 600.0, 4.0, 8.0, 0.0, 1.0, 0.0];
        assert_eq!(check(&layout, &good), Ok(()));
        for (at, bad) in [(4, 57.0), (6, f32::NAN), (11, -0.1), (12, f32::INFINITY), (8, f32::NAN)] {
            let mut out = good;
            out[at] = bad;
            assert_eq!(check(&layout, &out).map_err(|e| e.index), Err(at), "value {bad} at {at}");
        }
    }

    #[test]
    fn end_to_end_checks_the_score_and_that_everything_is_finite() {
        let layout = OutputLayout::EndToEnd { max_detections: 2 };
        let good = [1.0, 2.0, 30.0, 40.0, 0.95, 4.0, 0.0, 0.0, 0.0, 0.0, 0.0, -1.0];
        assert_eq!(check(&layout, &good), Ok(()));
        for (at, bad) in [(4, 57.0), (10, -0.1), (5, f32::NAN), (0, f32::NEG_INFINITY)] {
            let mut out = good;
            out[at] = bad;
            assert_eq!(check(&layout, &out).map_err(|e| e.index), Err(at), "value {bad} at {at}");
        }
    }
}
