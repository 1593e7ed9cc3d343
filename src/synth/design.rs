//! A signal head of either design family, so clips and stills place, light and paint
//! heads without caring which family drew them.

use super::canvas::{Canvas, Rgb};
use super::head::{Aspect, HeadLook, HeadStyle, Lighting, Placement, render_head};
use super::heldout;
use crate::geom::BBox;

/// A head of either design family.
#[derive(Debug, Clone, Copy)]
pub(crate) enum HeadDesign {
    Train(HeadLook),
    Heldout(heldout::head::Look),
}

impl HeadDesign {
    pub(crate) fn size_units(&self) -> (f32, f32) {
        match self {
            HeadDesign::Train(l) => l.size_units(),
            HeadDesign::Heldout(l) => l.size_units(),
        }
    }

    pub(crate) fn bbox(&self, at: &Placement) -> BBox {
        match self {
            HeadDesign::Train(l) => l.bbox(at),
            HeadDesign::Heldout(l) => l.bbox(at),
        }
    }

    pub(crate) fn aspect(&self) -> Aspect {
        match self {
            HeadDesign::Train(l) => l.aspect,
            HeadDesign::Heldout(l) => l.aspect,
        }
    }

    pub(crate) fn set_aspect(&mut self, aspect: Aspect) {
        match self {
            HeadDesign::Train(l) => l.aspect = aspect,
            HeadDesign::Heldout(l) => l.aspect = aspect,
        }
    }

    /// The training style whose cycle this head follows (flashing hand or flashing walk).
    pub(crate) fn cycle_style(&self) -> HeadStyle {
        match self {
            HeadDesign::Train(l) => l.style,
            HeadDesign::Heldout(l) if l.style.flashes_hand() => HeadStyle::PedUs,
            HeadDesign::Heldout(_) => HeadStyle::PedCn,
        }
    }

    pub(crate) fn is_led(&self) -> bool {
        match self {
            HeadDesign::Train(l) => l.led_dots,
            HeadDesign::Heldout(l) => l.is_led(),
        }
    }

    /// Paints the head; returns its box and appends its lit lamps to `lamps` (held-out only).
    pub(crate) fn render(
        &self,
        canvas: &mut Canvas,
        at: &Placement,
        light: &Lighting,
        lamps: &mut Vec<(f32, f32, f32, Rgb)>,
    ) -> BBox {
        match self {
            HeadDesign::Train(l) => render_head(canvas, l, at, light),
            HeadDesign::Heldout(l) => {
                let (b, lit) = heldout::head::render(canvas, l, at, light);
                lamps.extend(lit);
                b
            }
        }
    }
}
