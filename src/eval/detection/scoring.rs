//! Matching detections to labels, COCO's way, and the counts built on the matches:
//! average precision, the confusion of states, the pedestrian-head figures.

use super::{Confusion, PedestrianFigures};
use crate::eval::dataset::GtBox;
use crate::geom::BBox;
use crate::signal::{Detection, SignalMeaning};

/// Running counts behind [`PedestrianFigures`].
#[derive(Debug, Default)]
pub(super) struct PedCounts {
    labels: usize,
    found: usize,
    right: usize,
    stop_as_walk: usize,
    false_walk: usize,
}

impl PedCounts {
    /// One image: its labels and its detections at the operating point.
    pub(super) fn add(&mut self, labels: &[GtBox], dets: &[&Detection], any_iou: f64) {
        let heads: Vec<&GtBox> = labels.iter().filter(|g| g.meaning.is_pedestrian()).collect();
        let signals: Vec<&&Detection> = dets.iter().filter(|d| d.meaning.is_signal()).collect();
        let head_boxes: Vec<BBox> = heads.iter().map(|g| g.bbox).collect();
        let signal_boxes: Vec<BBox> = signals.iter().map(|d| d.bbox).collect();
        self.labels += heads.len();
        for (d, m) in signals.iter().zip(greedy_match(&signal_boxes, &head_boxes, any_iou)) {
            if let Some(g) = m {
                self.found += 1;
                self.right += usize::from(d.meaning == heads[g].meaning);
            }
        }
        let walks = || dets.iter().filter(|d| d.meaning == SignalMeaning::PedWalk);
        self.stop_as_walk += heads
            .iter()
            .filter(|g| g.meaning == SignalMeaning::PedStop && walks().any(|d| iou_f64(&d.bbox, &g.bbox) >= any_iou))
            .count();
        self.false_walk += walks().filter(|d| heads.iter().all(|g| iou_f64(&d.bbox, &g.bbox) < any_iou)).count();
    }

    pub(super) fn figures(&self, images: usize) -> PedestrianFigures {
        let ratio = |num: usize, den: usize| (den > 0).then(|| num as f64 / den as f64);
        PedestrianFigures {
            labels: self.labels,
            recall_any: ratio(self.found, self.labels),
            state_accuracy: ratio(self.right, self.found),
            stop_read_as_walk: self.stop_as_walk,
            false_walk: self.false_walk,
            false_walk_per_image: self.false_walk as f64 / images.max(1) as f64,
        }
    }
}

/// IoU in f64, so the threshold comparisons agree with the numpy reference.
pub(super) fn iou_f64(a: &BBox, b: &BBox) -> f64 {
    let [ax1, ay1, ax2, ay2] = a.to_array().map(f64::from);
    let [bx1, by1, bx2, by2] = b.to_array().map(f64::from);
    let iw = (ax2.min(bx2) - ax1.max(bx1)).max(0.0);
    let ih = (ay2.min(by2) - ay1.max(by1)).max(0.0);
    let inter = iw * ih;
    let union = (ax2 - ax1).max(0.0) * (ay2 - ay1).max(0.0) + (bx2 - bx1).max(0.0) * (by2 - by1).max(0.0) - inter;
    if union <= 0.0 { 0.0 } else { inter / union }
}

/// COCO's greedy matching: detections (already in descending score order) each take the
/// free label with the highest IoU `>= iou_t` (ties to the later label). Returns the
/// label index per detection.
pub(super) fn greedy_match(dets: &[BBox], gts: &[BBox], iou_t: f64) -> Vec<Option<usize>> {
    let mut taken = vec![false; gts.len()];
    dets.iter()
        .map(|d| {
            let mut best = iou_t.min(1.0 - 1e-10);
            let mut m = None;
            for (g, gb) in gts.iter().enumerate() {
                if taken[g] {
                    continue;
                }
                let iou = iou_f64(d, gb);
                if iou < best {
                    continue;
                }
                best = iou;
                m = Some(g);
            }
            if let Some(g) = m {
                taken[g] = true;
            }
            m
        })
        .collect()
}

/// 101-point interpolated AP of `(score, is_true_positive)` pairs against `labels`
/// labelled boxes. Returns AP and the interpolated precision at recall 0, 0.01, ..., 1.
pub(super) fn average_precision(scored: &mut [(f32, bool)], labels: usize) -> (f64, Vec<f64>) {
    let mut q = vec![0.0; 101];
    if labels == 0 {
        return (0.0, q);
    }
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut recall = Vec::with_capacity(scored.len());
    let mut precision = Vec::with_capacity(scored.len());
    let (mut tp, mut fp) = (0usize, 0usize);
    for &(_, hit) in scored.iter() {
        if hit {
            tp += 1
        } else {
            fp += 1
        }
        recall.push(tp as f64 / labels as f64);
        precision.push(tp as f64 / (tp + fp) as f64);
    }
    for i in (1..precision.len()).rev() {
        if precision[i] > precision[i - 1] {
            precision[i - 1] = precision[i];
        }
    }
    for (k, qk) in q.iter_mut().enumerate() {
        let r = k as f64 * 0.01;
        let idx = recall.partition_point(|&x| x < r);
        if let Some(p) = precision.get(idx) {
            *qk = *p;
        }
    }
    (q.iter().sum::<f64>() / q.len() as f64, q)
}

pub(super) fn confusion_matrix(pairs: &[(Option<SignalMeaning>, Option<SignalMeaning>)]) -> Confusion {
    let present: Vec<SignalMeaning> = SignalMeaning::ALL
        .into_iter()
        .filter(|m| pairs.iter().any(|(t, p)| *t == Some(*m) || *p == Some(*m)))
        .collect();
    let n = present.len() + 1;
    let index = |m: Option<SignalMeaning>| m.and_then(|m| present.iter().position(|p| *p == m)).unwrap_or(n - 1);
    let mut counts = vec![vec![0; n]; n];
    for &(t, p) in pairs {
        counts[index(t)][index(p)] += 1;
    }
    let mut labels: Vec<String> = present.iter().map(|m| m.as_str().to_string()).collect();
    labels.push("background".into());
    Confusion { labels, counts }
}
