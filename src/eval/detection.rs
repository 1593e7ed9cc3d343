//! Detection quality: predicted boxes against labelled boxes, matched by meaning.
//!
//! Feed [`DetectionEvaluator::add_image`] the labelled boxes and *all* detections of
//! each image down to a low confidence (0.001 is what COCO tools use): average precision
//! integrates over every confidence, so boxes cut by the pipeline's threshold would bias
//! it low. Precision, recall, the confusion matrix and the other operating-point figures
//! use only detections at or above [`DetectionEvalConfig::conf_threshold`], the threshold
//! the pipeline really runs with.
//!
//! Definitions (the reference script `tests/reference/det_metrics.py` implements the
//! same ones independently):
//!
//! - **Matching** (COCO): per image and meaning, detections in descending score order
//!   (stable, at most `max_detections_per_image`) each take the not yet matched
//!   labelled box with the highest IoU at or above the threshold (ties go to the later
//!   box, as in pycocotools).
//! - **AP**: detections of all images merged in descending score order (stable),
//!   precision made monotone from the right, sampled at the 101 recalls 0, 0.01, ..., 1
//!   (0 where that recall is never reached), averaged. `ap50` at IoU 0.5, `ap50_95`
//!   the mean over IoU 0.50, 0.55, ..., 0.95. `map50` and `map50_95` average over the
//!   meanings that have at least one labelled box; detections of other meanings do not
//!   enter AP (they appear in the confusion matrix).
//! - **precision / recall** of a meaning: matches at IoU 0.5 among its detections at or
//!   above the threshold, over those detections / over its labelled boxes (precision 0
//!   when it has no detections). The overall figures are means over signal meanings.
//! - **recall_any**: class-agnostic matching (same greedy rule) at IoU
//!   `any_iou` (0.3) of signal detections to signal labels: the fraction of lights
//!   found at all, whatever the colour.
//! - **state_accuracy**: each signal detection at or above the threshold whose best IoU
//!   with any signal label is at least 0.5 counts; it is right when its meaning equals
//!   that label's. `null` when no detection overlaps a label.
//! - **Labels that are not signals** (`crosswalk`, and `other`: arrows, unknown names)
//!   are left out of every headline figure (`labels`, `map50`, `map50_95`, `precision`,
//!   `recall`, `recall_any`, `state_accuracy`, `by_size`, `missed`), so that a dataset
//!   with zebra crossings does not make its lights look half found; `non_signal_labels`
//!   counts them, and `classes`, the confusion matrix and `crosswalk` report them apart.
//! - **confusion**: class-agnostic matching at IoU 0.5; a match adds one to
//!   (true meaning, predicted meaning), an unmatched label to (meaning, background), an
//!   unmatched detection to (background, meaning). Rows are truth, columns prediction.
//! - **pedestrian** (heads labelled `ped_stop` or `ped_walk`): `recall_any` is the
//!   class-agnostic recall at `any_iou` with detections of signal meanings only;
//!   `state_accuracy` is, among the found heads, the fraction whose matching detection
//!   has the head's meaning; `stop_read_as_walk` counts stop heads that any walk
//!   detection overlaps at `any_iou`; `false_walk_per_image` counts walk detections that
//!   overlap no pedestrian head at `any_iou`, per image. All at the operating point.
//! - **crosswalk**: zebra-crossing labels are not signals; their AP is reported apart
//!   here as well as in `classes`.
//! - **by_size**: labels bucketed by width in source px: small `< small_max_px` (16),
//!   medium up to `large_min_px` (48), large from there on; recall and recall_any in
//!   each. Width, because lights are tall and narrow: the width is what vanishes first
//!   when the model input is downscaled.

mod scoring;

use super::dataset::GtBox;
use crate::geom::BBox;
use crate::signal::{Detection, SignalMeaning};
use scoring::{PedCounts, average_precision, confusion_matrix, greedy_match, iou_f64};
use serde::Serialize;

/// Operating point and size buckets of a detection evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct DetectionEvalConfig {
    /// Confidence threshold of the operating point (precision, recall, confusion), in
    /// `[0, 1]`; default the decode stage's own default (`[decode] conf_threshold`, 0.25).
    /// Set it to the pipeline's decode threshold.
    pub conf_threshold: f32,
    /// IoU for class-agnostic `recall_any`; default 0.3 (a light found at all, even if
    /// its box is loose).
    pub any_iou: f64,
    /// Labels narrower than this (source px) are `small`; default 16.
    pub small_max_px: f32,
    /// Labels at least this wide (source px) are `large`; default 48.
    pub large_min_px: f32,
    /// Detections per image and meaning that enter AP (COCO's `maxDets`); default 100,
    /// as COCO's (not the decode stage's `max_detections`, though both are 100).
    pub max_detections_per_image: usize,
}

impl Default for DetectionEvalConfig {
    fn default() -> Self {
        Self {
            conf_threshold: crate::decode::DecodeConfig::default().conf_threshold,
            any_iou: 0.3,
            small_max_px: 16.0,
            large_min_px: 48.0,
            max_detections_per_image: 100,
        }
    }
}

/// IoU at which precision, recall, state accuracy and confusion count a match.
const MATCH_IOU: f64 = 0.5;

/// The ten IoU thresholds 0.50:0.05:0.95, computed as numpy's `linspace` does so the
/// reference agrees bit for bit at the boundaries.
fn iou_thresholds() -> [f64; 10] {
    let step = (0.95 - 0.5) / 9.0;
    std::array::from_fn(|k| 0.5 + k as f64 * step)
}

/// Figures of one meaning.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassMetrics {
    /// The meaning.
    pub meaning: SignalMeaning,
    /// Labelled boxes.
    pub labels: usize,
    /// Detections at or above the threshold.
    pub detections: usize,
    /// Of those, matched at IoU 0.5.
    pub true_positives: usize,
    /// `true_positives / detections` (0 when there are none).
    pub precision: f64,
    /// `true_positives / labels`.
    pub recall: f64,
    /// AP at IoU 0.5.
    pub ap50: f64,
    /// AP averaged over IoU 0.50:0.05:0.95.
    pub ap50_95: f64,
}

/// Confusion matrix of meanings, with `background` as the last row and column.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Confusion {
    /// Row and column names: meanings present in labels or detections, then `background`.
    pub labels: Vec<String>,
    /// `counts[truth][predicted]`.
    pub counts: Vec<Vec<usize>>,
}

/// Recall of labels in one width bucket.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SizeRecall {
    /// `small`, `medium` or `large`.
    pub name: &'static str,
    /// Smallest width in the bucket, source px (inclusive).
    pub min_width_px: f32,
    /// Width where the bucket ends, source px (exclusive); `null` for unbounded.
    pub max_width_px: Option<f32>,
    /// Labels in the bucket.
    pub labels: usize,
    /// Class-aware recall at IoU 0.5; `null` when the bucket is empty.
    pub recall: Option<f64>,
    /// Class-agnostic recall at `any_iou`; `null` when the bucket is empty.
    pub recall_any: Option<f64>,
}

/// Interpolated precision-recall curve of one meaning at IoU 0.5.
#[derive(Debug, Clone, PartialEq)]
pub struct PrCurve {
    /// The meaning.
    pub meaning: SignalMeaning,
    /// Precision at recall 0, 0.01, ..., 1.
    pub precision: Vec<f64>,
    /// Operating point `(recall, precision)` at the confidence threshold.
    pub operating_point: (f64, f64),
}

/// Figures of the pedestrian heads, what the decide stage rests walk on (see the module docs).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PedestrianFigures {
    /// Labelled pedestrian heads (stop or walk).
    pub labels: usize,
    /// Heads found at all; `null` without pedestrian labels.
    pub recall_any: Option<f64>,
    /// Of the found heads, read with the right meaning; `null` when none was found.
    pub state_accuracy: Option<f64>,
    /// Stop heads that a walk detection overlaps: the dangerous confusion.
    pub stop_read_as_walk: usize,
    /// Walk detections on no pedestrian head.
    pub false_walk: usize,
    /// `false_walk` per image (the images of the whole evaluation, with or without heads).
    pub false_walk_per_image: f64,
}

/// Zebra crossings, reported apart: they are not signals.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CrosswalkFigures {
    /// Labelled crossings.
    pub labels: usize,
    /// AP at IoU 0.5.
    pub ap50: f64,
    /// Recall at IoU 0.5 at the operating point.
    pub recall: f64,
}

/// A labelled light that no detection of its meaning found at the operating point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Miss {
    /// Index of the image in the order of `add_image` calls.
    pub image: usize,
    /// The label.
    pub label: GtBox,
    /// The detection at or above the threshold overlapping it most (IoU >= `any_iou`),
    /// if any: meaning and score. `None`: nothing was detected there.
    pub seen_as: Option<(SignalMeaning, f32)>,
}

/// Everything a detection evaluation measured. Serializes to the `--json` output.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DetectionReport {
    /// Images evaluated.
    pub images: usize,
    /// Images that had no label file (counted as images with no lights); set by the
    /// caller that loaded the dataset.
    pub images_without_labels: usize,
    /// Their file names; set by the caller that loaded the dataset.
    pub images_without_label_files: Vec<String>,
    /// Labelled signal heads and lamps: the labels the headline figures are over.
    pub labels: usize,
    /// Labels of meanings that are not signals (`crosswalk`, `other`), left out of the
    /// headline figures; `classes` and `crosswalk` report them apart.
    pub non_signal_labels: usize,
    /// Detections at or above the threshold.
    pub detections: usize,
    /// The operating-point threshold.
    pub conf_threshold: f32,
    /// Mean AP at IoU 0.5 over signal meanings with labels (0 when there are none).
    pub map50: f64,
    /// Mean AP over IoU 0.50:0.05:0.95 and signal meanings with labels.
    pub map50_95: f64,
    /// Mean precision over signal meanings with labels.
    pub precision: f64,
    /// Mean recall over signal meanings with labels.
    pub recall: f64,
    /// Class-agnostic recall of signal labels at `any_iou`; `null` without them.
    pub recall_any: Option<f64>,
    /// Fraction of overlapping detections with the right meaning; `null` when none overlap.
    pub state_accuracy: Option<f64>,
    /// How many detections overlapped a label (the denominator of `state_accuracy`).
    pub state_accuracy_detections: usize,
    /// Per meaning, in [`SignalMeaning::ALL`] order.
    pub classes: Vec<ClassMetrics>,
    /// Confusion matrix of meanings.
    pub confusion: Confusion,
    /// Pedestrian heads.
    pub pedestrian: PedestrianFigures,
    /// Zebra crossings; `null` when none is labelled.
    pub crosswalk: Option<CrosswalkFigures>,
    /// Recall by label width.
    pub by_size: Vec<SizeRecall>,
    /// Signal labels missed at the operating point.
    pub missed: usize,
    /// Precision-recall curves (for the report PNG, not in JSON).
    #[serde(skip)]
    pub pr_curves: Vec<PrCurve>,
    /// Missed labels, worst (widest) first (for the report PNG, not in JSON).
    #[serde(skip)]
    pub misses: Vec<Miss>,
}

/// One image's labels and detections, as stored by the evaluator.
#[derive(Debug, Clone, PartialEq)]
struct ImageRecord {
    labels: Vec<GtBox>,
    /// All detections, descending score (stable).
    detections: Vec<Detection>,
}

/// Collects labels and detections image by image, then computes a [`DetectionReport`].
#[derive(Debug, Clone)]
pub struct DetectionEvaluator {
    config: DetectionEvalConfig,
    images: Vec<ImageRecord>,
}

impl DetectionEvaluator {
    /// An evaluator with no images yet.
    pub fn new(config: DetectionEvalConfig) -> Self {
        Self { config, images: Vec::new() }
    }

    /// The config in use.
    pub fn config(&self) -> &DetectionEvalConfig {
        &self.config
    }

    /// Adds one image: its labels (source px) and all its detections (source px, down to
    /// a low confidence). Non-finite scores are dropped. Returns the image's index.
    pub fn add_image(&mut self, labels: &[GtBox], detections: &[Detection]) -> usize {
        let mut detections: Vec<Detection> = detections.iter().copied().filter(|d| d.score.is_finite()).collect();
        detections.sort_by(|a, b| b.score.total_cmp(&a.score));
        self.images.push(ImageRecord { labels: labels.to_vec(), detections });
        self.images.len() - 1
    }

    /// Number of images added.
    pub fn image_count(&self) -> usize {
        self.images.len()
    }

    /// The labels and detections as JSON, the input format of
    /// `tests/reference/det_metrics.py`: `{"conf_threshold", "any_iou", "small_max_px",
    /// "large_min_px", "max_dets", "images": [{"gt": [{"meaning", "box"}], "pred":
    /// [{"meaning", "score", "box"}]}]}`.
    pub fn to_reference_json(&self) -> serde_json::Value {
        let images: Vec<serde_json::Value> = self
            .images
            .iter()
            .map(|im| {
                serde_json::json!({
                    "gt": im.labels.iter().map(|g| serde_json::json!({"meaning": g.meaning, "box": g.bbox.to_array()})).collect::<Vec<_>>(),
                    "pred": im.detections.iter().map(|d| serde_json::json!({"meaning": d.meaning, "score": d.score, "box": d.bbox.to_array()})).collect::<Vec<_>>(),
                })
            })
            .collect();
        serde_json::json!({
            "conf_threshold": self.config.conf_threshold,
            "any_iou": self.config.any_iou,
            "small_max_px": self.config.small_max_px,
            "large_min_px": self.config.large_min_px,
            "max_dets": self.config.max_detections_per_image,
            "images": images,
        })
    }

    /// Computes every figure over the images added so far.
    pub fn finish(&self) -> DetectionReport {
        let cfg = &self.config;
        let conf = cfg.conf_threshold;
        let classes_present: Vec<SignalMeaning> = SignalMeaning::ALL
            .into_iter()
            .filter(|m| self.images.iter().any(|im| im.labels.iter().any(|g| g.meaning == *m)))
            .collect();

        // Class-aware matching at IoU 0.5, per image: score of the detection matched to
        // each label (for recall and misses at the operating point).
        let mut label_match_score: Vec<Vec<Option<f32>>> =
            self.images.iter().map(|im| vec![None; im.labels.len()]).collect();
        let mut classes = Vec::with_capacity(classes_present.len());
        let mut pr_curves = Vec::with_capacity(classes_present.len());
        for &meaning in &classes_present {
            let mut aps = [0.0; 10];
            let mut curve50 = Vec::new();
            let mut tp_at_conf = 0;
            let mut det_at_conf = 0;
            let mut labels = 0;
            for (t_idx, &iou_t) in iou_thresholds().iter().enumerate() {
                let mut scored: Vec<(f32, bool)> = Vec::new();
                labels = 0;
                for (i, im) in self.images.iter().enumerate() {
                    let gt_idx: Vec<usize> =
                        (0..im.labels.len()).filter(|&g| im.labels[g].meaning == meaning).collect();
                    let gts: Vec<BBox> = gt_idx.iter().map(|&g| im.labels[g].bbox).collect();
                    let dets: Vec<&Detection> = im
                        .detections
                        .iter()
                        .filter(|d| d.meaning == meaning)
                        .take(cfg.max_detections_per_image)
                        .collect();
                    let boxes: Vec<BBox> = dets.iter().map(|d| d.bbox).collect();
                    let matched = greedy_match(&boxes, &gts, iou_t);
                    labels += gts.len();
                    for (d, m) in dets.iter().zip(&matched) {
                        scored.push((d.score, m.is_some()));
                        if t_idx == 0 && d.score >= conf {
                            det_at_conf += 1;
                            if let Some(g) = m {
                                tp_at_conf += 1;
                                label_match_score[i][gt_idx[*g]] = Some(d.score);
                            }
                        }
                    }
                }
                let (ap, curve) = average_precision(&mut scored, labels);
                aps[t_idx] = ap;
                if t_idx == 0 {
                    curve50 = curve;
                }
            }
            let precision = if det_at_conf > 0 { tp_at_conf as f64 / det_at_conf as f64 } else { 0.0 };
            let recall = tp_at_conf as f64 / labels.max(1) as f64;
            classes.push(ClassMetrics {
                meaning,
                labels,
                detections: det_at_conf,
                true_positives: tp_at_conf,
                precision,
                recall,
                ap50: aps[0],
                ap50_95: aps.iter().sum::<f64>() / aps.len() as f64,
            });
            pr_curves.push(PrCurve { meaning, precision: curve50, operating_point: (recall, precision) });
        }
        let signal_classes: Vec<&ClassMetrics> = classes.iter().filter(|c| c.meaning.is_signal()).collect();
        let mean = |f: fn(&ClassMetrics) -> f64| {
            if signal_classes.is_empty() {
                0.0
            } else {
                signal_classes.iter().map(|c| f(c)).sum::<f64>() / signal_classes.len() as f64
            }
        };

        // Class-agnostic figures at the operating point.
        let mut found_any: Vec<Vec<bool>> = Vec::with_capacity(self.images.len());
        let mut state_total = 0usize;
        let mut state_right = 0usize;
        let mut confusion_pairs: Vec<(Option<SignalMeaning>, Option<SignalMeaning>)> = Vec::new();
        let mut misses = Vec::new();
        let mut detections_at_conf = 0;
        let mut ped = PedCounts::default();
        for (i, im) in self.images.iter().enumerate() {
            let dets: Vec<&Detection> = im.detections.iter().filter(|d| d.score >= conf).collect();
            detections_at_conf += dets.len();
            let boxes: Vec<BBox> = dets.iter().map(|d| d.bbox).collect();
            let gts: Vec<BBox> = im.labels.iter().map(|g| g.bbox).collect();

            // Found at all: signal detections against signal labels only.
            let signal_dets: Vec<usize> = (0..dets.len()).filter(|&d| dets[d].meaning.is_signal()).collect();
            let signal_gts: Vec<usize> = (0..gts.len()).filter(|&g| im.labels[g].meaning.is_signal()).collect();
            let any = greedy_match(
                &signal_dets.iter().map(|&d| boxes[d]).collect::<Vec<_>>(),
                &signal_gts.iter().map(|&g| gts[g]).collect::<Vec<_>>(),
                cfg.any_iou,
            );
            let mut found = vec![false; gts.len()];
            for g in any.iter().flatten() {
                found[signal_gts[*g]] = true;
            }
            found_any.push(found);
            ped.add(&im.labels, &dets, cfg.any_iou);

            for &di in &signal_dets {
                let d = dets[di];
                let mut best: Option<(usize, f64)> = None;
                for &g in &signal_gts {
                    let iou = iou_f64(&d.bbox, &gts[g]);
                    if best.is_none_or(|(_, b)| iou > b) {
                        best = Some((g, iou));
                    }
                }
                if let Some((g, iou)) = best
                    && iou >= MATCH_IOU
                {
                    state_total += 1;
                    if im.labels[g].meaning == d.meaning {
                        state_right += 1;
                    }
                }
            }

            let m = greedy_match(&boxes, &gts, MATCH_IOU);
            let mut gt_taken = vec![false; gts.len()];
            for (d, g) in dets.iter().zip(&m) {
                match g {
                    Some(g) => {
                        gt_taken[*g] = true;
                        confusion_pairs.push((Some(im.labels[*g].meaning), Some(d.meaning)));
                    }
                    None => confusion_pairs.push((None, Some(d.meaning))),
                }
            }
            for (g, taken) in gt_taken.iter().enumerate() {
                if !taken {
                    confusion_pairs.push((Some(im.labels[g].meaning), None));
                }
            }

            for (g, label) in im.labels.iter().enumerate() {
                if label_match_score[i][g].is_some() || !label.meaning.is_signal() {
                    continue;
                }
                let seen_as = dets
                    .iter()
                    .map(|d| (d, iou_f64(&d.bbox, &label.bbox)))
                    .filter(|(_, iou)| *iou >= cfg.any_iou)
                    .max_by(|a, b| a.1.total_cmp(&b.1))
                    .map(|(d, _)| (d.meaning, d.score));
                misses.push(Miss { image: i, label: *label, seen_as });
            }
        }
        misses.sort_by(|a, b| b.label.bbox.width().total_cmp(&a.label.bbox.width()));

        let total_labels: usize =
            self.images.iter().map(|im| im.labels.iter().filter(|g| g.meaning.is_signal()).count()).sum();
        let all_labels: usize = self.images.iter().map(|im| im.labels.len()).sum();
        let found_total: usize = found_any.iter().map(|f| f.iter().filter(|x| **x).count()).sum();
        let ratio = |num: usize, den: usize| (den > 0).then(|| num as f64 / den as f64);

        let buckets: [(&'static str, f32, Option<f32>); 3] = [
            ("small", 0.0, Some(cfg.small_max_px)),
            ("medium", cfg.small_max_px, Some(cfg.large_min_px)),
            ("large", cfg.large_min_px, None),
        ];
        let by_size = buckets
            .iter()
            .map(|&(name, lo, hi)| {
                let (mut n, mut hit, mut hit_any) = (0, 0, 0);
                for (i, im) in self.images.iter().enumerate() {
                    for (g, label) in im.labels.iter().enumerate() {
                        let w = label.bbox.width();
                        if label.meaning.is_signal() && w >= lo && hi.is_none_or(|h| w < h) {
                            n += 1;
                            hit += usize::from(label_match_score[i][g].is_some());
                            hit_any += usize::from(found_any[i][g]);
                        }
                    }
                }
                SizeRecall {
                    name,
                    min_width_px: lo,
                    max_width_px: hi,
                    labels: n,
                    recall: ratio(hit, n),
                    recall_any: ratio(hit_any, n),
                }
            })
            .collect();

        let crosswalk = classes.iter().find(|c| c.meaning == SignalMeaning::Crosswalk).map(|c| CrosswalkFigures {
            labels: c.labels,
            ap50: c.ap50,
            recall: c.recall,
        });
        DetectionReport {
            images: self.images.len(),
            images_without_labels: 0,
            images_without_label_files: Vec::new(),
            labels: total_labels,
            non_signal_labels: all_labels - total_labels,
            detections: detections_at_conf,
            conf_threshold: conf,
            map50: mean(|c| c.ap50),
            map50_95: mean(|c| c.ap50_95),
            precision: mean(|c| c.precision),
            recall: mean(|c| c.recall),
            recall_any: ratio(found_total, total_labels),
            state_accuracy: ratio(state_right, state_total),
            state_accuracy_detections: state_total,
            classes,
            confusion: confusion_matrix(&confusion_pairs),
            pedestrian: ped.figures(self.images.len()),
            crosswalk,
            by_size,
            missed: misses.len(),
            pr_curves,
            misses,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn gt(m: SignalMeaning, b: [f32; 4]) -> GtBox {
        GtBox { class_id: 0, meaning: m, bbox: BBox::new(b[0], b[1], b[2], b[3]) }
    }

    fn det(m: SignalMeaning, score: f32, b: [f32; 4]) -> Detection {
        Detection { class_id: 0, meaning: m, score, bbox: BBox::new(b[0], b[1], b[2], b[3]), rival: None }
    }

    use SignalMeaning::{VehicleGreen as G, VehicleRed as R};

    #[test]
    fn perfect_detections_score_one() {
        let mut ev = DetectionEvaluator::new(DetectionEvalConfig::default());
        ev.add_image(
            &[gt(R, [10.0, 10.0, 20.0, 40.0]), gt(G, [50.0, 10.0, 70.0, 60.0])],
            &[det(R, 0.9, [10.0, 10.0, 20.0, 40.0]), det(G, 0.8, [50.0, 10.0, 70.0, 60.0])],
        );
        let r = ev.finish();
        assert_eq!(r.map50, 1.0);
        assert_eq!(r.map50_95, 1.0);
        assert_eq!((r.precision, r.recall), (1.0, 1.0));
        assert_eq!(r.recall_any, Some(1.0));
        assert_eq!(r.state_accuracy, Some(1.0));
        assert_eq!(r.missed, 0);
        assert_eq!(r.confusion.labels, ["vehicle_red", "vehicle_green", "background"]);
        assert_eq!(r.confusion.counts, vec![vec![1, 0, 0], vec![0, 1, 0], vec![0, 0, 0]]);
        assert_eq!(r.by_size[0].labels, 1); // 10 px wide
        assert_eq!(r.by_size[1].labels, 1); // 20 px wide
    }

    #[test]
    fn a_wrong_colour_counts_against_state_accuracy_but_not_recall_any() {
        let mut ev = DetectionEvaluator::new(DetectionEvalConfig::default());
        ev.add_image(&[gt(R, [10.0, 10.0, 20.0, 40.0])], &[det(G, 0.9, [10.0, 10.0, 20.0, 40.0])]);
        let r = ev.finish();
        assert_eq!(r.map50, 0.0);
        assert_eq!(r.recall_any, Some(1.0));
        assert_eq!(r.state_accuracy, Some(0.0));
        assert_eq!(r.confusion.counts[0], vec![0, 1, 0]); // red seen as green
        assert_eq!(r.misses[0].seen_as, Some((G, 0.9)));
    }

    #[test]
    fn pedestrian_figures_count_found_heads_and_the_dangerous_confusion() {
        use SignalMeaning::{Crosswalk, PedStop, PedWalk};
        let mut ev = DetectionEvaluator::new(DetectionEvalConfig::default());
        // A stop head read as walk, a walk head read right, a zebra crossing found.
        ev.add_image(
            &[
                gt(PedStop, [10.0, 10.0, 20.0, 30.0]),
                gt(PedWalk, [50.0, 10.0, 60.0, 30.0]),
                gt(Crosswalk, [0.0, 80.0, 200.0, 120.0]),
            ],
            &[
                det(PedWalk, 0.8, [10.0, 10.0, 20.0, 30.0]),
                det(PedWalk, 0.7, [50.0, 10.0, 60.0, 30.0]),
                det(Crosswalk, 0.9, [0.0, 80.0, 200.0, 120.0]),
            ],
        );
        // A street with no pedestrian head: a window read as walk, a red lamp read right.
        ev.add_image(
            &[gt(R, [10.0, 10.0, 20.0, 30.0])],
            &[det(R, 0.9, [10.0, 10.0, 20.0, 30.0]), det(PedWalk, 0.5, [100.0, 10.0, 110.0, 30.0])],
        );
        let r = ev.finish();
        let p = &r.pedestrian;
        assert_eq!(p.labels, 2);
        assert_eq!(p.recall_any, Some(1.0));
        assert_eq!(p.state_accuracy, Some(0.5));
        assert_eq!(p.stop_read_as_walk, 1);
        assert_eq!(p.false_walk, 1);
        assert_eq!(p.false_walk_per_image, 0.5);
        let c = r.crosswalk.expect("crosswalk figures");
        assert_eq!((c.labels, c.ap50, c.recall), (1, 1.0, 1.0));
    }

    #[test]
    fn labels_that_are_not_signals_stay_out_of_the_headline_figures() {
        use SignalMeaning::{Crosswalk, Other};
        let mut ev = DetectionEvaluator::new(DetectionEvalConfig::default());
        // A red lamp found; a zebra crossing and an arrow (other) missed; a crosswalk
        // detection on the lamp must not count as finding it or as a state reading.
        ev.add_image(
            &[
                gt(R, [10.0, 10.0, 20.0, 40.0]),
                gt(Crosswalk, [0.0, 80.0, 200.0, 120.0]),
                gt(Other, [40.0, 10.0, 50.0, 40.0]),
            ],
            &[det(R, 0.9, [10.0, 10.0, 20.0, 40.0]), det(Crosswalk, 0.8, [10.0, 10.0, 20.0, 40.0])],
        );
        let r = ev.finish();
        assert_eq!((r.labels, r.non_signal_labels), (1, 2));
        assert_eq!((r.map50, r.recall, r.precision), (1.0, 1.0, 1.0));
        assert_eq!(r.recall_any, Some(1.0));
        assert_eq!(r.state_accuracy, Some(1.0));
        assert_eq!(r.state_accuracy_detections, 1);
        assert_eq!(r.missed, 0);
        assert_eq!(r.by_size.iter().map(|b| b.labels).sum::<usize>(), 1);
        // ... but the classes and the crosswalk figures still report them.
        assert!(r.classes.iter().any(|c| c.meaning == Crosswalk && c.labels == 1 && c.ap50 == 0.0));
        assert!(r.classes.iter().any(|c| c.meaning == Other && c.labels == 1));
        assert_eq!(r.crosswalk.map(|c| c.labels), Some(1));
    }

    #[test]
    fn a_crosswalk_detection_does_not_find_a_pedestrian_head() {
        use SignalMeaning::{Crosswalk, PedWalk};
        let mut ev = DetectionEvaluator::new(DetectionEvalConfig::default());
        ev.add_image(&[gt(PedWalk, [10.0, 10.0, 20.0, 30.0])], &[det(Crosswalk, 0.9, [10.0, 10.0, 20.0, 30.0])]);
        let r = ev.finish();
        assert_eq!(r.pedestrian.recall_any, Some(0.0));
        assert_eq!(r.pedestrian.state_accuracy, None);
        assert!(r.crosswalk.is_none());
    }

    #[test]
    fn ap_follows_the_coco_101_point_rule() {
        // Two labels; detections: TP (0.9), FP (0.8), TP (0.7): precision 1, 0.5, 0.67.
        // Envelope: 1 up to recall 0.5, 0.67 up to 1. AP = (51*1 + 50*2/3) / 101.
        let mut ev = DetectionEvaluator::new(DetectionEvalConfig { conf_threshold: 0.75, ..Default::default() });
        ev.add_image(
            &[gt(R, [0.0, 0.0, 10.0, 10.0]), gt(R, [100.0, 0.0, 110.0, 10.0])],
            &[
                det(R, 0.9, [0.0, 0.0, 10.0, 10.0]),
                det(R, 0.8, [50.0, 0.0, 60.0, 10.0]),
                det(R, 0.7, [100.0, 0.0, 110.0, 10.0]),
            ],
        );
        let r = ev.finish();
        let want = (51.0 + 50.0 * 2.0 / 3.0) / 101.0;
        assert!((r.map50 - want).abs() < 1e-12, "{} vs {want}", r.map50);
        // At conf 0.75: two detections, one right.
        assert_eq!((r.classes[0].precision, r.classes[0].recall), (0.5, 0.5));
        assert_eq!(r.missed, 1);
    }

    #[test]
    fn loose_boxes_lose_ap_at_high_iou_only() {
        let mut ev = DetectionEvaluator::new(DetectionEvalConfig::default());
        // IoU 0.77: matched at thresholds 0.50..0.75 (6 of 10).
        ev.add_image(&[gt(R, [0.0, 0.0, 10.0, 10.0])], &[det(R, 0.9, [0.0, 0.0, 10.0, 7.7])]);
        let r = ev.finish();
        assert_eq!(r.map50, 1.0);
        assert!((r.map50_95 - 0.6).abs() < 1e-12, "{}", r.map50_95);
    }
}
