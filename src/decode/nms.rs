//! Greedy non-maximum suppression over candidates sorted by score.

use super::Candidate;

/// Sorts `candidates` by score (highest first) and writes the survivors to `kept`.
/// Both buffers keep their capacity between frames.
pub(super) fn suppress(candidates: &mut [Candidate], kept: &mut Vec<Candidate>, iou: f32, agnostic: bool, max: usize) {
    // total_cmp keeps the order defined even if a broken model emits NaN scores.
    candidates.sort_unstable_by(|a, b| b.score.total_cmp(&a.score));
    kept.clear();
    for c in candidates.iter() {
        if kept.len() >= max {
            break;
        }
        let suppressor = kept.iter_mut().find(|k| (agnostic || k.class_id == c.class_id) && k.bbox.iou(&c.bbox) > iou);
        match suppressor {
            // Across classes, the strongest other reading of the same box is kept as the
            // box's rival, so the selector can still see that one head was read two ways.
            Some(k) if k.class_id != c.class_id => {
                if k.rival.is_none_or(|(_, s)| c.score > s) {
                    k.rival = Some((c.class_id, c.score));
                }
            }
            Some(_) => {}
            None => kept.push(*c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geom::BBox;
    use proptest::prelude::*;

    fn cand(class_id: u16, score: f32, x: f32, y: f32, s: f32) -> Candidate {
        Candidate { class_id, score, bbox: BBox::new(x, y, x + s, y + s), rival: None }
    }

    #[test]
    fn suppresses_same_class_overlaps_only() {
        let mut c = vec![cand(0, 0.9, 0.0, 0.0, 10.0), cand(0, 0.8, 1.0, 1.0, 10.0), cand(1, 0.7, 1.0, 1.0, 10.0)];
        let mut kept = Vec::new();
        suppress(&mut c, &mut kept, 0.45, false, 100);
        assert_eq!(kept.len(), 2);
        assert_eq!((kept[0].class_id, kept[1].class_id), (0, 1));
        suppress(&mut c, &mut kept, 0.45, true, 100);
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].rival, Some((1, 0.7)), "the other class's reading is kept as the rival");
    }

    #[test]
    fn the_rival_is_the_strongest_other_class_and_never_the_same_class() {
        let mut c = vec![
            cand(0, 0.9, 0.0, 0.0, 10.0),
            cand(0, 0.85, 0.5, 0.5, 10.0),
            cand(2, 0.4, 1.0, 1.0, 10.0),
            cand(1, 0.6, 1.0, 0.0, 10.0),
            cand(1, 0.5, 50.0, 50.0, 10.0),
        ];
        let mut kept = Vec::new();
        suppress(&mut c, &mut kept, 0.45, true, 100);
        assert_eq!(kept.len(), 2);
        assert_eq!(kept[0].rival, Some((1, 0.6)));
        assert_eq!(kept[1].rival, None, "a box far away has no rival");
        suppress(&mut c, &mut kept, 0.45, false, 100);
        assert!(kept.iter().all(|k| k.rival.is_none()), "per-class NMS keeps every reading as its own box");
        let mut own =
            vec![Candidate { rival: Some((3, 0.3)), ..cand(0, 0.9, 0.0, 0.0, 10.0) }, cand(1, 0.2, 0.0, 0.0, 10.0)];
        suppress(&mut own, &mut kept, 0.45, true, 100);
        assert_eq!(
            kept[0].rival,
            Some((3, 0.3)),
            "a weaker suppressed reading does not replace the anchor's own second class"
        );
    }

    proptest! {
        #[test]
        fn output_is_a_sorted_non_overlapping_subset(
            raw in proptest::collection::vec((0u16..3, 0.0f32..1.0, 0.0f32..100.0, 0.0f32..100.0, 1.0f32..30.0), 0..60),
            iou in 0.1f32..0.9,
            agnostic in any::<bool>(),
        ) {
            let mut c: Vec<Candidate> = raw.iter().map(|&(k, s, x, y, w)| cand(k, s, x, y, w)).collect();
            let original = c.clone();
            let mut kept = Vec::new();
            suppress(&mut c, &mut kept, iou, agnostic, 1000);
            for w in kept.windows(2) {
                prop_assert!(w[0].score >= w[1].score);
            }
            for k in &kept {
                prop_assert!(original.iter().any(|o| (o.class_id, o.score, o.bbox) == (k.class_id, k.score, k.bbox)));
                if let Some((rc, rs)) = k.rival {
                    prop_assert!(agnostic && rc != k.class_id && rs <= k.score);
                }
            }
            for (i, a) in kept.iter().enumerate() {
                for b in &kept[i + 1..] {
                    if agnostic || a.class_id == b.class_id {
                        prop_assert!(a.bbox.iou(&b.bbox) <= iou);
                    }
                }
            }
            // The best candidate always survives.
            if let Some(best) = original.iter().max_by(|a, b| a.score.total_cmp(&b.score)) {
                prop_assert_eq!(kept[0].score, best.score);
            }
        }
    }
}
