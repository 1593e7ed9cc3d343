//! The figures and digits that held-out heads show: figures as signed distance fields in
//! the unit of a lamp cell, countdown digits as a 5 x 7 dot matrix.

use crate::synth::sdf::{capsule, circle, round_box};

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Figure {
    /// Japanese / Korean standing figure: large head, legs apart.
    StandingEa,
    /// Japanese / Korean walking figure: long straight stride, wide arm swing.
    WalkingEa,
    /// British standing figure: stocky, arms at the sides, feet together.
    StandingUk,
    /// British walking figure: short stride, bent front arm.
    WalkingUk,
    /// Hand with closed fingers and the thumb on the right.
    Hand,
    /// Slim North-American walking person.
    WalkingUs,
}

/// Signed distance from `(x, y)` (cell units, centred) to the figure's outline: negative
/// inside.
pub(super) fn figure_sdf(f: Figure, x: f32, y: f32) -> f32 {
    match f {
        Figure::StandingEa => circle(x, y, 0.0, -0.27, 0.09)
            .min(round_box(x, y, 0.0, -0.05, 0.085, 0.13, 0.05))
            .min(capsule(x, y, (-0.1, -0.14), (-0.16, 0.06), 0.032))
            .min(capsule(x, y, (0.1, -0.14), (0.16, 0.06), 0.032))
            .min(capsule(x, y, (-0.04, 0.06), (-0.1, 0.36), 0.04))
            .min(capsule(x, y, (0.04, 0.06), (0.1, 0.36), 0.04)),
        Figure::WalkingEa => circle(x, y, 0.06, -0.29, 0.085)
            .min(capsule(x, y, (0.04, -0.17), (-0.01, 0.05), 0.058))
            .min(capsule(x, y, (-0.01, 0.05), (0.21, 0.35), 0.042))
            .min(capsule(x, y, (-0.01, 0.05), (-0.06, 0.2), 0.042))
            .min(capsule(x, y, (-0.06, 0.2), (-0.23, 0.31), 0.038))
            .min(capsule(x, y, (0.03, -0.14), (0.19, -0.03), 0.03))
            .min(capsule(x, y, (0.01, -0.14), (-0.17, -0.02), 0.03)),
        Figure::StandingUk => circle(x, y, 0.0, -0.31, 0.072)
            .min(round_box(x, y, 0.0, -0.07, 0.11, 0.15, 0.03))
            .min(capsule(x, y, (-0.135, -0.18), (-0.14, 0.08), 0.03))
            .min(capsule(x, y, (0.135, -0.18), (0.14, 0.08), 0.03))
            .min(capsule(x, y, (-0.04, 0.08), (-0.04, 0.37), 0.038))
            .min(capsule(x, y, (0.04, 0.08), (0.04, 0.37), 0.038)),
        Figure::WalkingUk => circle(x, y, 0.03, -0.31, 0.07)
            .min(capsule(x, y, (0.02, -0.2), (0.0, 0.05), 0.058))
            .min(capsule(x, y, (0.0, 0.05), (0.12, 0.2), 0.04))
            .min(capsule(x, y, (0.12, 0.2), (0.13, 0.37), 0.037))
            .min(capsule(x, y, (0.0, 0.05), (-0.12, 0.36), 0.04))
            .min(capsule(x, y, (0.02, -0.16), (0.13, -0.04), 0.03))
            .min(capsule(x, y, (0.13, -0.04), (0.2, -0.1), 0.028))
            .min(capsule(x, y, (0.0, -0.16), (-0.1, -0.02), 0.03))
            .min(capsule(x, y, (-0.1, -0.02), (-0.12, 0.07), 0.028)),
        Figure::Hand => round_box(x, y, 0.0, 0.07, 0.14, 0.16, 0.07)
            .min(round_box(x, y, -0.01, -0.16, 0.12, 0.13, 0.06))
            .min(capsule(x, y, (0.12, 0.1), (0.25, -0.05), 0.042))
            .min(round_box(x, y, 0.0, 0.3, 0.1, 0.06, 0.02)),
        Figure::WalkingUs => circle(x, y, 0.07, -0.31, 0.068)
            .min(capsule(x, y, (0.05, -0.2), (0.0, 0.04), 0.05))
            .min(capsule(x, y, (0.0, 0.04), (0.17, 0.35), 0.036))
            .min(capsule(x, y, (0.0, 0.04), (-0.15, 0.35), 0.036))
            .min(capsule(x, y, (0.04, -0.16), (0.15, -0.04), 0.027))
            .min(capsule(x, y, (0.15, -0.04), (0.17, 0.05), 0.025))
            .min(capsule(x, y, (0.03, -0.16), (-0.13, -0.05), 0.027)),
    }
}

/// 5 x 7 dot-matrix digits, one row per byte, bit 4 the left column.
const FONT: [[u8; 7]; 10] = [
    [0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E],
    [0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E],
    [0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F],
    [0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E],
    [0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02],
    [0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E],
    [0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E],
    [0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
    [0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E],
    [0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C],
];

/// Whether `(x, y)` (cell units, centred) falls on a dot of a two-digit dot-matrix
/// display, and whether that dot is lit.
pub(super) fn dot_digit(value: Option<u8>, x: f32, y: f32) -> Option<bool> {
    let pitch = 0.07;
    let r = pitch * 0.4;
    // Two digits of 5 columns with one blank column between.
    let col_f = (x + 5.5 * pitch) / pitch;
    let row_f = (y + 3.5 * pitch) / pitch;
    if !(0.0..11.0).contains(&col_f) || !(0.0..7.0).contains(&row_f) {
        return None;
    }
    let (col, row) = (col_f.floor() as usize, row_f.floor() as usize);
    let (dx, dy) = ((col_f.fract() - 0.5) * pitch, (row_f.fract() - 0.5) * pitch);
    if col == 5 || dx * dx + dy * dy > r * r {
        return None;
    }
    let (digit, c) = if col < 5 { (0, col) } else { (1, col - 6) };
    let lit = value.is_some_and(|v| {
        let v = v.min(99);
        let d = if digit == 0 { (v >= 10).then_some(v / 10) } else { Some(v % 10) };
        d.is_some_and(|d| FONT[usize::from(d)][row] & (0x10 >> c) != 0)
    });
    Some(lit)
}
