//! Signed distance functions for the shapes signal heads are made of. Distances are
//! negative inside, in whatever units the caller's coordinates use. Only `sqrt`,
//! `abs`, `min` and `max` are used, which IEEE 754 makes exact on every platform.

/// Distance to a circle of radius `r` centred at `(cx, cy)`.
pub fn circle(x: f32, y: f32, cx: f32, cy: f32, r: f32) -> f32 {
    ((x - cx) * (x - cx) + (y - cy) * (y - cy)).sqrt() - r
}

/// Distance to a box centred at `(cx, cy)` with half sizes `(hx, hy)` and corner radius `r`.
pub fn round_box(x: f32, y: f32, cx: f32, cy: f32, hx: f32, hy: f32, r: f32) -> f32 {
    let qx = (x - cx).abs() - (hx - r);
    let qy = (y - cy).abs() - (hy - r);
    let ox = qx.max(0.0);
    let oy = qy.max(0.0);
    (ox * ox + oy * oy).sqrt() + qx.max(qy).min(0.0) - r
}

/// Distance to a capsule (a segment from `a` to `b` thickened by `r`): limbs, digit segments.
pub fn capsule(x: f32, y: f32, a: (f32, f32), b: (f32, f32), r: f32) -> f32 {
    let (pax, pay) = (x - a.0, y - a.1);
    let (bax, bay) = (b.0 - a.0, b.1 - a.1);
    let len2 = bax * bax + bay * bay;
    let h = if len2 > 0.0 { ((pax * bax + pay * bay) / len2).clamp(0.0, 1.0) } else { 0.0 };
    let (dx, dy) = (pax - bax * h, pay - bay * h);
    (dx * dx + dy * dy).sqrt() - r
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn signs_inside_and_outside() {
        assert!(circle(0.0, 0.0, 0.0, 0.0, 1.0) < 0.0);
        assert!((circle(2.0, 0.0, 0.0, 0.0, 1.0) - 1.0).abs() < 1e-6);
        assert!(round_box(0.0, 0.0, 0.0, 0.0, 1.0, 2.0, 0.2) < 0.0);
        assert!((round_box(2.0, 0.0, 0.0, 0.0, 1.0, 2.0, 0.2) - 1.0).abs() < 1e-6);
        assert!(capsule(0.5, 0.0, (0.0, 0.0), (1.0, 0.0), 0.1) < 0.0);
        assert!((capsule(0.5, 1.0, (0.0, 0.0), (1.0, 0.0), 0.1) - 0.9).abs() < 1e-6);
    }
}
