//! Geometry vocabulary: axis-aligned boxes and the letterbox that maps between
//! source-frame pixels and model-input pixels.
//!
//! Boxes carry no tag for their space; functions that take or return them say
//! `frame_px` or `model_px` in their names or docs, and the only conversion between
//! the two is [`Letterbox`]. Imports: std only.

use serde::{Deserialize, Serialize};

/// An axis-aligned box, corners inclusive-exclusive, in pixels of some image.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct BBox {
    /// Left edge.
    pub x1: f32,
    /// Top edge.
    pub y1: f32,
    /// Right edge.
    pub x2: f32,
    /// Bottom edge.
    pub y2: f32,
}

impl BBox {
    /// A box from its corners.
    pub const fn new(x1: f32, y1: f32, x2: f32, y2: f32) -> Self {
        Self { x1, y1, x2, y2 }
    }

    /// A box from its centre and size.
    pub fn from_center(cx: f32, cy: f32, w: f32, h: f32) -> Self {
        Self::new(cx - w / 2.0, cy - h / 2.0, cx + w / 2.0, cy + h / 2.0)
    }

    /// Width, never negative.
    pub fn width(&self) -> f32 {
        (self.x2 - self.x1).max(0.0)
    }

    /// Height, never negative.
    pub fn height(&self) -> f32 {
        (self.y2 - self.y1).max(0.0)
    }

    /// Area, zero for degenerate boxes.
    pub fn area(&self) -> f32 {
        self.width() * self.height()
    }

    /// Centre point `(x, y)`.
    pub fn center(&self) -> (f32, f32) {
        ((self.x1 + self.x2) / 2.0, (self.y1 + self.y2) / 2.0)
    }

    /// Whether the point `(x, y)` lies inside the box (edges included).
    pub fn contains(&self, x: f32, y: f32) -> bool {
        (self.x1..=self.x2).contains(&x) && (self.y1..=self.y2).contains(&y)
    }

    /// Intersection over union; 0 when either box is empty.
    pub fn iou(&self, other: &BBox) -> f32 {
        let ix = (self.x2.min(other.x2) - self.x1.max(other.x1)).max(0.0);
        let iy = (self.y2.min(other.y2) - self.y1.max(other.y1)).max(0.0);
        let inter = ix * iy;
        let union = self.area() + other.area() - inter;
        if union <= 0.0 { 0.0 } else { inter / union }
    }

    /// The box moved by `(dx, dy)`: from a window's px into those of the image the
    /// window lies in, when `(dx, dy)` is the window's top-left corner.
    pub fn translated(&self, dx: f32, dy: f32) -> BBox {
        BBox::new(self.x1 + dx, self.y1 + dy, self.x2 + dx, self.y2 + dy)
    }

    /// The box clipped to `[0, width] x [0, height]`.
    pub fn clamp_to(&self, width: f32, height: f32) -> BBox {
        BBox::new(
            self.x1.clamp(0.0, width),
            self.y1.clamp(0.0, height),
            self.x2.clamp(0.0, width),
            self.y2.clamp(0.0, height),
        )
    }

    /// Corners as `[x1, y1, x2, y2]`, the order used in JSON output.
    pub fn to_array(&self) -> [f32; 4] {
        [self.x1, self.y1, self.x2, self.y2]
    }
}

/// How a source frame was fitted into the square-ish model input: scaled by one factor
/// to keep the aspect ratio, then padded (centred) to the model size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Letterbox {
    /// Source frame width, px.
    pub src_w: u32,
    /// Source frame height, px.
    pub src_h: u32,
    /// Model input width, px.
    pub dst_w: u32,
    /// Model input height, px.
    pub dst_h: u32,
    /// Model px per source px.
    pub scale: f32,
    /// Left padding in model px.
    pub pad_x: f32,
    /// Top padding in model px.
    pub pad_y: f32,
}

impl Letterbox {
    /// The letterbox that fits `src` into `dst`, centred.
    pub fn fit(src_w: u32, src_h: u32, dst_w: u32, dst_h: u32) -> Self {
        let scale = (dst_w as f32 / src_w.max(1) as f32).min(dst_h as f32 / src_h.max(1) as f32);
        let scaled_w = (src_w as f32 * scale).round();
        let scaled_h = (src_h as f32 * scale).round();
        Self {
            src_w,
            src_h,
            dst_w,
            dst_h,
            scale,
            pad_x: ((dst_w as f32 - scaled_w) / 2.0).floor(),
            pad_y: ((dst_h as f32 - scaled_h) / 2.0).floor(),
        }
    }

    /// Size of the scaled image inside the padding, model px.
    pub fn scaled_size(&self) -> (u32, u32) {
        (
            ((self.src_w as f32 * self.scale).round() as u32).clamp(1, self.dst_w),
            ((self.src_h as f32 * self.scale).round() as u32).clamp(1, self.dst_h),
        )
    }

    /// Maps a box from model px to frame px, clipped to the frame.
    pub fn to_frame(&self, b: &BBox) -> BBox {
        BBox::new(
            (b.x1 - self.pad_x) / self.scale,
            (b.y1 - self.pad_y) / self.scale,
            (b.x2 - self.pad_x) / self.scale,
            (b.y2 - self.pad_y) / self.scale,
        )
        .clamp_to(self.src_w as f32, self.src_h as f32)
    }

    /// Maps a box from frame px to model px.
    pub fn to_model(&self, b: &BBox) -> BBox {
        BBox::new(
            b.x1 * self.scale + self.pad_x,
            b.y1 * self.scale + self.pad_y,
            b.x2 * self.scale + self.pad_x,
            b.y2 * self.scale + self.pad_y,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn iou_of_identical_and_disjoint_boxes() {
        let a = BBox::new(0.0, 0.0, 10.0, 10.0);
        assert!((a.iou(&a) - 1.0).abs() < 1e-6);
        assert_eq!(a.iou(&BBox::new(20.0, 20.0, 30.0, 30.0)), 0.0);
        let half = BBox::new(5.0, 0.0, 15.0, 10.0);
        assert!((a.iou(&half) - 50.0 / 150.0).abs() < 1e-6);
    }

    #[test]
    fn letterbox_pads_the_short_side() {
        let lb = Letterbox::fit(1280, 720, 320, 320);
        assert_eq!(lb.scaled_size(), (320, 180));
        assert_eq!(lb.pad_x, 0.0);
        assert_eq!(lb.pad_y, 70.0);
    }

    proptest! {
        #[test]
        fn letterbox_inverse_of_forward_is_identity(
            src_w in 16u32..4000, src_h in 16u32..4000, dst in 64u32..1024,
            fx in 0.0f32..1.0, fy in 0.0f32..1.0, fw in 0.0f32..1.0, fh in 0.0f32..1.0,
        ) {
            let lb = Letterbox::fit(src_w, src_h, dst, dst);
            let x1 = fx * src_w as f32;
            let y1 = fy * src_h as f32;
            let b = BBox::new(x1, y1, x1 + fw * (src_w as f32 - x1), y1 + fh * (src_h as f32 - y1));
            let back = lb.to_frame(&lb.to_model(&b));
            let tol = 1e-3 * src_w.max(src_h) as f32;
            prop_assert!((back.x1 - b.x1).abs() <= tol && (back.y1 - b.y1).abs() <= tol);
            prop_assert!((back.x2 - b.x2).abs() <= tol && (back.y2 - b.y2).abs() <= tol);
        }
    }
}
