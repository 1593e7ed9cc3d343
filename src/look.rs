//! The second look: when the head the selector follows is small and this frame's full
//! view did not find it confidently, the model runs again on a window of the frame
//! around it at (nearly) the camera's own resolution.
//!
//! Why: the full view shrinks the frame into the model input (1080p to a third, 720p to
//! half), and a pedestrian head across the street is then a few model px tall. On the
//! held-out clips the second look raised the share of frames where stop and walk are
//! told apart from 0.93 to 0.97 (a far US head: 0.65 to 0.94). It costs one more model
//! run, but only on frames where the followed head went missing or unsure, so a steady,
//! well-seen head costs nothing extra (measured in BENCHMARKS.md).
//!
//! This stage decides whether and where to look ([`plan`]) and merges what the two looks
//! saw ([`merge`]); the pipeline runs preprocess, the model and decode for each look.
//! Nothing is kept between calls. Imports: the vocabulary only.

use crate::geom::{BBox, Letterbox};
use crate::signal::{Detection, Rival, SignalMeaning};
use serde::Deserialize;

/// Overlap at which a detection counts as the followed head, or as the same light seen
/// twice (heads are a few px wide, so a 1-px offset already costs a third of the IoU).
const SAME_LIGHT_MIN_IOU: f32 = 0.3;

/// When and how closely to look again (see the module docs).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ZoomConfig {
    /// Take second looks at all; default true.
    pub enabled: bool,
    /// Model px per frame px in the window; default 1.0 (the camera's own pixels, so the
    /// window is the model input's size in frame px and nothing is upsampled).
    pub scale: f32,
    /// Look closer only when that magnifies at least this much over the full view;
    /// default 1.5 (a 640x480 camera, 0.8 in the full view, gets no second look).
    pub min_gain: f32,
    /// A head found in the full view at this confidence or more needs no second look;
    /// default 0.5.
    pub confident: f32,
    /// Heads whose longer side is more than this many model px in the full view are big
    /// enough to see there, and a miss is more likely an occlusion that a closer look
    /// does not mend; default 48 (a limit of 32 left out held-out US heads of 30-33
    /// model px that the full view misread and the closer look read right).
    pub max_head_px: f32,
}

impl Default for ZoomConfig {
    fn default() -> Self {
        Self { enabled: true, scale: 1.0, min_gain: 1.5, confident: 0.5, max_head_px: 48.0 }
    }
}

/// A `[zoom]` setting out of its range.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("zoom.{field} = {value} is out of range {range}")]
pub struct ZoomConfigError {
    /// The key under `[zoom]`.
    pub field: &'static str,
    /// The value given.
    pub value: f32,
    /// The range it must lie in.
    pub range: &'static str,
}

impl ZoomConfig {
    /// Checks value ranges.
    ///
    /// # Errors
    /// [`ZoomConfigError`] naming the first key out of range.
    pub fn validate(&self) -> Result<(), ZoomConfigError> {
        let check = |field: &'static str, value: f32, ok: bool, range: &'static str| {
            if value.is_finite() && ok { Ok(()) } else { Err(ZoomConfigError { field, value, range }) }
        };
        check("scale", self.scale, self.scale > 0.0 && self.scale <= 4.0, "(0, 4]")?;
        check("min_gain", self.min_gain, self.min_gain >= 1.0, "[1, inf)")?;
        check("confident", self.confident, (0.0..=1.0).contains(&self.confident), "[0, 1]")?;
        check("max_head_px", self.max_head_px, self.max_head_px > 0.0, "(0, inf)")
    }
}

/// A window of the frame, whole frame px, lying inside the frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Left edge.
    pub x: u32,
    /// Top edge.
    pub y: u32,
    /// Width, at least 1.
    pub width: u32,
    /// Height, at least 1.
    pub height: u32,
}

impl Window {
    /// The window as a box in frame px.
    pub fn bbox(&self) -> BBox {
        BBox::new(self.x as f32, self.y as f32, (self.x + self.width) as f32, (self.y + self.height) as f32)
    }

    /// A box in the window's px, moved into frame px.
    pub fn to_frame(&self, window_px: &BBox) -> BBox {
        window_px.translated(self.x as f32, self.y as f32)
    }
}

/// Whether the full view found a signal overlapping `head` with at least `confidence`.
pub fn found_near(detections: &[Detection], head: &BBox, confidence: f32) -> bool {
    detections.iter().any(|d| d.score >= confidence && d.meaning.is_signal() && d.bbox.iou(head) >= SAME_LIGHT_MIN_IOU)
}

/// Where to look closer at `head` (frame px) in a `frame_w x frame_h` frame whose full
/// view was `full_view`: a window the model input's size at `zoom.scale`, centred on the
/// head and kept inside the frame. `None` when that would not magnify at least
/// `zoom.min_gain` or the head is already big in the full view.
pub fn plan(zoom: &ZoomConfig, head: &BBox, full_view: &Letterbox, frame_w: u32, frame_h: u32) -> Option<Window> {
    let head_px = head.width().max(head.height()) * full_view.scale;
    // The epsilon keeps an exact 1.5 (0.75 over 0.5) from failing on rounding.
    if zoom.scale / full_view.scale + 1e-4 < zoom.min_gain || head_px > zoom.max_head_px || frame_w == 0 || frame_h == 0
    {
        return None;
    }
    let width = ((full_view.dst_w as f32 / zoom.scale).round() as u32).clamp(1, frame_w);
    let height = ((full_view.dst_h as f32 / zoom.scale).round() as u32).clamp(1, frame_h);
    let (cx, cy) = head.center();
    let x = (cx - width as f32 / 2.0).round().clamp(0.0, (frame_w - width) as f32) as u32;
    let y = (cy - height as f32 / 2.0).round().clamp(0.0, (frame_h - height) as f32) as u32;
    Some(Window { x, y, width, height })
}

/// Merges what the second look at `window` found (`closer`, boxes in window px, emptied)
/// into the full view's `detections` (frame px), sorted by score afterwards:
/// - a light cut by the window's edge is half a light and is left to the full view,
///   unless that edge is the frame's own;
/// - a light both looks saw becomes one detection: the surer reading, with the other
///   as its rival when they disagree (a lit reading beats an unlit one);
/// - a light only the full view saw stays as it was.
///
/// `scratch` is reused; nothing is allocated once the vectors have their capacity.
pub fn merge(
    window: Window,
    frame_w: u32,
    frame_h: u32,
    closer: &mut Vec<Detection>,
    detections: &mut Vec<Detection>,
    scratch: &mut Vec<Detection>,
) {
    let w = window.bbox();
    let (frame_w, frame_h) = (frame_w as f32, frame_h as f32);
    let cut = |b: &BBox| {
        (b.x1 <= w.x1 + 1.0 && w.x1 > 0.0)
            || (b.y1 <= w.y1 + 1.0 && w.y1 > 0.0)
            || (b.x2 >= w.x2 - 1.0 && w.x2 < frame_w)
            || (b.y2 >= w.y2 - 1.0 && w.y2 < frame_h)
    };
    closer.retain_mut(|d| {
        d.bbox = window.to_frame(&d.bbox);
        !cut(&d.bbox)
    });
    scratch.clear();
    scratch.extend_from_slice(detections);
    detections.clear();
    for d in scratch.iter() {
        match closer.iter_mut().find(|z| same_light(&z.bbox, &d.bbox)) {
            Some(z) => *z = one_light(*z, *d),
            None => detections.push(*d),
        }
    }
    detections.append(closer);
    // Unstable: the stable sort allocates, and scores rarely tie.
    detections.sort_unstable_by(|a, b| b.score.total_cmp(&a.score));
}

/// Whether two boxes, one from each look, are the same light.
fn same_light(a: &BBox, b: &BBox) -> bool {
    let (cx, cy) = b.center();
    a.iou(b) >= SAME_LIGHT_MIN_IOU || a.contains(cx, cy)
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

    fn at(meaning: SignalMeaning, score: f32, bbox: BBox) -> Detection {
        Detection { bbox, ..reading(meaning, score) }
    }

    #[test]
    fn zoom_settings_out_of_range_are_named() {
        for (zoom, field) in [
            (ZoomConfig { scale: 0.0, ..ZoomConfig::default() }, "zoom.scale"),
            (ZoomConfig { min_gain: 0.5, ..ZoomConfig::default() }, "zoom.min_gain"),
            (ZoomConfig { confident: 1.5, ..ZoomConfig::default() }, "zoom.confident"),
            (ZoomConfig { max_head_px: f32::NAN, ..ZoomConfig::default() }, "zoom.max_head_px"),
        ] {
            assert!(zoom.validate().unwrap_err().to_string().contains(field), "{field}");
        }
        assert!(ZoomConfig::default().validate().is_ok());
    }

    #[test]
    fn the_window_is_the_input_size_in_frame_px_centred_on_the_head_and_inside_the_frame() {
        let zoom = ZoomConfig::default();
        // 1920x1080 into 640x384: a third; the window at scale 1 is 640x384 frame px.
        let full = Letterbox::fit(1920, 1080, 640, 384);
        let head = BBox::from_center(1000.0, 500.0, 20.0, 36.0);
        let w = plan(&zoom, &head, &full, 1920, 1080).unwrap();
        assert_eq!((w.x, w.y, w.width, w.height), (680, 308, 640, 384));
        // Near a corner the window slides to stay inside.
        let corner = BBox::from_center(5.0, 1075.0, 6.0, 8.0);
        let w = plan(&zoom, &corner, &full, 1920, 1080).unwrap();
        assert_eq!((w.x, w.y), (0, 1080 - 384));
        // A 640x480 camera gains only 1.25x (< 1.5): no second look.
        assert_eq!(plan(&zoom, &head, &Letterbox::fit(640, 480, 640, 384), 640, 480), None);
        // A head 150 frame px tall is 50 model px in the full view: big enough there.
        assert_eq!(plan(&zoom, &BBox::from_center(900.0, 500.0, 60.0, 150.0), &full, 1920, 1080), None);
    }

    #[test]
    fn merging_moves_boxes_into_the_frame_drops_cut_lights_and_joins_twins() {
        let window = Window { x: 100, y: 50, width: 640, height: 384 };
        // Window px: a stop head fully inside, and a light cut by the window's left edge.
        let mut closer = vec![
            at(SignalMeaning::PedStop, 0.8, BBox::new(300.0, 100.0, 310.0, 118.0)),
            at(SignalMeaning::PedWalk, 0.9, BBox::new(0.0, 200.0, 8.0, 214.0)),
        ];
        // Frame px: the full view's weak walk reading of the same head, and a far light.
        let mut full = vec![
            at(SignalMeaning::PedWalk, 0.4, BBox::new(401.0, 151.0, 411.0, 169.0)),
            at(SignalMeaning::VehicleGreen, 0.6, BBox::new(1500.0, 40.0, 1510.0, 70.0)),
        ];
        let mut scratch = Vec::new();
        merge(window, 1920, 1080, &mut closer, &mut full, &mut scratch);
        assert!(closer.is_empty());
        assert_eq!(full.len(), 2, "{full:?}");
        assert_eq!(full[0].meaning, SignalMeaning::PedStop);
        assert_eq!(full[0].bbox, BBox::new(400.0, 150.0, 410.0, 168.0));
        assert_eq!(full[0].rival.map(|r| r.meaning), Some(SignalMeaning::PedWalk));
        assert_eq!(full[1].meaning, SignalMeaning::VehicleGreen);
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
