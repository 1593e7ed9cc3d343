//! The held-out design family: heads ([`head`]), streets ([`scene`]) and camera effects
//! ([`camera`]) that no training set was made with, for clips and stills that are
//! held out by design, not only by seed (`--designs heldout`).
//!
//! Imports: the generator's canvas, SDFs, PRNG and vocabulary types, nothing of the
//! training family's drawing code, so nothing drawn here can leak into training data:
//! the training family never calls into this module.
//!
//! What differs from the training family, in short: other national styles (Japanese,
//! Korean, British, stacked and outline North-American heads); other figure drawings
//! (poses, proportions, a closed hand with the thumb on the other side, figures facing
//! left, outlines); dot-matrix countdown digits and bar graphs; LED pitches far from the
//! training one, incandescent and frosted lamps; visors; housing paints and backing
//! borders; stronger viewing angles; dusk, avenue, glass-tower and low-rise streets;
//! and a wider range of light and camera effects.

pub mod camera;
pub mod head;
pub mod scene;

use super::cycle::{Cycle, PedPhase};
use super::head::{Aspect, Countdown, Lighting};
use super::rng::Rng;
use head::{Look, Style};

/// Checks a style split: only pedestrian styles, and only with the held-out family.
pub(crate) fn check_styles(designs: super::Designs, styles: &[Style]) -> Result<(), super::SynthError> {
    let bad = |message: String| Err(super::SynthError::Config { field: "heldout_styles", message });
    if !styles.is_empty() && designs != super::Designs::Heldout {
        return bad("styles choose among the held-out family's heads; use them with designs `heldout`".into());
    }
    if let Some(s) = styles.iter().find(|s| !s.is_pedestrian()) {
        return bad(format!("{} is not a pedestrian style", s.name()));
    }
    Ok(())
}

/// Which held-out pedestrian styles stand in for a preset's national style: East-Asian
/// presets get Japanese and Korean heads, `us` the stacked and outline North-American
/// ones, `eu` British ones, and the others any of them.
///
/// `allowed` narrows the family (empty: every style) so that it can be split by style:
/// some styles for training, the others held out. A preset none of whose styles is
/// allowed takes any allowed one.
pub fn pedestrian_style(rng: &mut Rng, preset: super::Preset, allowed: &[Style]) -> Style {
    use super::Preset;
    let national: &[Style] = match preset {
        Preset::CnDayCountdown | Preset::VehicleConflict | Preset::Occlusion => &[Style::PedJp, Style::PedKr],
        Preset::Us => &[Style::PedUsStacked, Style::PedUsOutline],
        Preset::Eu => &[Style::PedUk],
        Preset::Night | Preset::Random | Preset::VehicleOnly => &Style::PEDESTRIAN,
    };
    let mut choices = [Style::PedJp; Style::PEDESTRIAN.len()];
    let mut n = 0;
    for &s in national.iter().filter(|s| allowed.is_empty() || allowed.contains(s)) {
        choices[n] = s;
        n += 1;
    }
    if n == 0 {
        return allowed[rng.below(allowed.len())];
    }
    choices[rng.below(n)]
}

/// Whether a relevant head of `style` has a countdown display.
pub fn has_countdown(rng: &mut Rng, style: Style) -> bool {
    match style {
        Style::PedKr => rng.chance(0.6),
        Style::PedUsStacked => rng.chance(0.6),
        Style::PedUsOutline => rng.chance(0.85),
        _ => false,
    }
}

/// Lighting for a held-out head: a wider range of lamp brightness and bloom than training.
pub fn lighting(rng: &mut Rng, night: bool, ambient: f32) -> Lighting {
    if night {
        Lighting {
            ambient: ambient * rng.range(0.5, 1.1),
            lamp_gain: rng.range(0.9, 2.6),
            glow: rng.range(0.2, 1.2),
            glow_spread: rng.range(1.2, 3.5),
        }
    } else {
        Lighting {
            ambient: ambient * rng.range(0.5, 1.1),
            lamp_gain: rng.range(0.7, 1.6),
            glow: rng.range(0.0, 0.35),
            glow_spread: rng.range(1.0, 2.0),
        }
    }
}

/// Sets the bar graph of a head that has one from the cycle at `t_s`: during don't walk
/// the remaining wait in the stop colour (Japan; a Korean bar is dark then), during walk
/// and changing the remaining crossing time in the walk colour.
pub fn set_bar(look: &mut Look, cycle: &Cycle, t_s: f64) {
    if look.bar.is_none() {
        return;
    }
    let (phase, _, left) = cycle.phase_at(t_s);
    let crossing = cycle.walk_s + cycle.changing_s;
    let (share, color) = match phase {
        PedPhase::DontWalk if look.style == Style::PedKr => (0.0, look.walk_color()),
        PedPhase::DontWalk => (left / cycle.dont_walk_s, look.stop_color()),
        PedPhase::Walk => ((left + cycle.changing_s) / crossing, look.walk_color()),
        PedPhase::Changing => (left / crossing, look.walk_color()),
    };
    look.bar = Some(share.clamp(0.0, 1.0) as f32);
    look.bar_color = color;
}

/// A random held-out head for a still: a pedestrian head (lit stop, lit walk or dark) of
/// one of the `allowed` styles (empty: any) two times in three, else a vehicle head, lit
/// only when `vehicle_lit_ok`.
pub fn random_look(rng: &mut Rng, vehicle_lit_ok: bool, allowed: &[Style]) -> Look {
    if rng.chance(0.68) {
        let styles: &[Style] = if allowed.is_empty() { &Style::PEDESTRIAN } else { allowed };
        let style = styles[rng.below(styles.len())];
        let mut look = Look::random(rng, style);
        look.aspect = [Aspect::PedStop, Aspect::PedWalk, Aspect::Dark][rng.weighted(&[0.42, 0.42, 0.16])];
        if has_countdown(rng, style) {
            look.countdown = if look.aspect == Aspect::Dark || rng.chance(0.3) {
                Countdown::Blank
            } else {
                Countdown::Value(1 + rng.below(45) as u8)
            };
        }
        if look.bar.is_some() {
            let walk = look.aspect == Aspect::PedWalk;
            look.bar = Some(rng.f32());
            look.bar_color = if walk { look.walk_color() } else { look.stop_color() };
        }
        look
    } else {
        let style = if rng.chance(0.7) { Style::VehicleVertical } else { Style::VehicleHorizontal };
        let mut look = Look::random(rng, style);
        look.aspect = if vehicle_lit_ok {
            [Aspect::VehRed, Aspect::VehYellow, Aspect::VehGreen, Aspect::Dark][rng.weighted(&[0.35, 0.15, 0.35, 0.15])]
        } else {
            Aspect::Dark
        };
        look
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::Preset;

    #[test]
    fn a_style_split_draws_only_the_allowed_styles_and_all_styles_draw_as_before() {
        let allowed = [Style::PedKr, Style::PedUsStacked];
        for preset in Preset::ALL {
            let mut rng = Rng::for_item(5, 0);
            for _ in 0..50 {
                assert!(allowed.contains(&pedestrian_style(&mut rng, preset, &allowed)), "{}", preset.name());
                let look = random_look(&mut rng, true, &allowed);
                assert!(!look.style.is_pedestrian() || allowed.contains(&look.style));
            }
        }
        // No split: the national choice, as the 7000-7011 clips were made.
        let mut rng = Rng::for_item(5, 0);
        for _ in 0..50 {
            assert!(matches!(pedestrian_style(&mut rng, Preset::Us, &[]), Style::PedUsStacked | Style::PedUsOutline));
        }
        let bad = check_styles(crate::synth::Designs::Train, &allowed);
        assert!(bad.is_err());
        assert!(check_styles(crate::synth::Designs::Heldout, &[Style::VehicleVertical]).is_err());
    }
}
