//! The world of a crossing clip: which heads stand where and in which role, the
//! signal cycle, the walker's path and camera, and the weather, drawn from the seed.
//! `render_clip` paints it frame by frame.

use super::{ClipConfig, Preset};
use crate::synth::canvas::Rgb;
use crate::synth::cycle::Cycle;
use crate::synth::design::HeadDesign;
use crate::synth::head::{Aspect, Countdown, HeadLook, HeadStyle, Lighting};
use crate::synth::rng::Rng;
use crate::synth::scene::SceneLight;
use crate::synth::{heldout, stills};

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Role {
    /// The pedestrian signal the walker must obey.
    Relevant,
    /// Vehicle signal for traffic going our way.
    Parallel,
    /// Vehicle signal for the crossing road, seen from the side.
    Crossing,
    /// Vehicle signal facing us on a leading phase.
    Leading,
    /// Pedestrian signal of the perpendicular crossing, seen from the side.
    OtherPed,
}

#[derive(Debug, Clone, Copy)]
pub(super) struct WorldHead {
    pub(super) look: HeadDesign,
    pub(super) role: Role,
    pub(super) countdown: bool,
    /// Lateral position, m (right positive).
    pub(super) x_m: f32,
    /// Height of the head's centre above the road, m.
    pub(super) y_m: f32,
    /// Distance from the camera's start position, m.
    pub(super) z_m: f32,
    pub(super) height_m: f32,
    pub(super) squeeze: f32,
    pub(super) light: Lighting,
}

#[derive(Debug, Clone, Copy)]
pub(super) struct Bus {
    /// Time the front reaches the relevant head's line of sight, s.
    pub(super) t_cover: f32,
    pub(super) speed_mps: f32,
    pub(super) length_m: f32,
    /// Distance in front of the kerb-standing camera, m.
    pub(super) depth_from_kerb_m: f32,
    pub(super) color: Rgb,
}

pub(super) struct Scenario {
    pub(super) light: SceneLight,
    pub(super) heads: Vec<WorldHead>,
    pub(super) cycle: Cycle,
    /// Distance from the start to where the walker stops at the kerb, m.
    pub(super) walk_m: f32,
    /// Distance from the kerb stop to the signal line, m.
    pub(super) kerb_to_signal_m: f32,
    pub(super) speed_mps: f32,
    pub(super) cam_h_m: f32,
    pub(super) pitch_rad: f32,
    pub(super) shake_px: f32,
    pub(super) bob_px: f32,
    pub(super) shake_phase: [f32; 6],
    pub(super) bus: Option<Bus>,
    /// Look-away: start, end (s) and horizontal offset (fraction of the width).
    pub(super) pan: Option<(f32, f32, f32)>,
    pub(super) rain: bool,
    pub(super) glare: Option<(f32, f32, f32, f32)>,
    /// LED PWM beat: (rows per PWM period as a fraction of height, beat Hz, depth).
    pub(super) flicker: Option<(f32, f32, f32)>,
    pub(super) noise: f32,
    pub(super) blur_sigma: f32,
}

fn pick_style(rng: &mut Rng) -> HeadStyle {
    [HeadStyle::PedCn, HeadStyle::PedUs, HeadStyle::PedEu][rng.below(3)]
}

fn base_look(rng: &mut Rng, style: HeadStyle) -> HeadLook {
    let housing = match style {
        HeadStyle::PedUs => {
            if rng.chance(0.6) {
                [0.75, 0.62, 0.12]
            } else {
                [0.06, 0.06, 0.06]
            }
        }
        HeadStyle::PedEu => {
            if rng.chance(0.5) {
                [0.2, 0.2, 0.2]
            } else {
                [0.12, 0.22, 0.14]
            }
        }
        _ => [rng.range(0.05, 0.2), rng.range(0.05, 0.2), rng.range(0.05, 0.2)],
    };
    HeadLook {
        style,
        aspect: Aspect::Dark,
        countdown: Countdown::Absent,
        led_dots: style != HeadStyle::PedEu || rng.chance(0.5),
        round_lens: style == HeadStyle::PedEu && rng.chance(0.6),
        housing,
        lamp_tint: [rng.range(0.93, 1.04), rng.range(0.93, 1.04), rng.range(0.93, 1.04)],
    }
}

fn lighting(rng: &mut Rng, night: bool, ambient: f32) -> Lighting {
    stills::random_lighting(rng, night, ambient)
}

impl Scenario {
    pub(super) fn new(config: &ClipConfig, rng: &mut Rng) -> Self {
        let preset = config.preset;
        let seconds = config.seconds as f32;
        let night = match preset {
            Preset::Night => true,
            Preset::Random => rng.chance(0.3),
            _ => false,
        };
        let ambient = if night { rng.range(0.08, 0.18) } else { rng.range(0.7, 1.0) };
        let light = SceneLight { night, ambient };
        let style = match preset {
            Preset::CnDayCountdown | Preset::VehicleConflict => HeadStyle::PedCn,
            Preset::Us => HeadStyle::PedUs,
            Preset::Eu => HeadStyle::PedEu,
            _ => pick_style(rng),
        };
        let countdown = match (preset, style) {
            (Preset::CnDayCountdown | Preset::Us, _) => true,
            (_, HeadStyle::PedEu) => false,
            (Preset::VehicleConflict, _) => false,
            _ => rng.chance(0.6),
        };
        // The walk starts a few seconds into the clip, so every clip shows a change.
        let lead = (seconds * rng.range(0.2, 0.45)).min(12.0) as f64;
        let cycle = Cycle::random(rng, lead);
        // Random scenes (training data) must also open mid-walk or mid-countdown, as real
        // footage does. Only they draw the extra number: the fixed presets' streams, and
        // so the committed samples, stay byte for byte as they were.
        let cycle = if preset == Preset::Random { cycle.start_anywhere(rng) } else { cycle };
        let speed_mps = rng.range(1.0, 1.4);
        let kerb_to_signal_m = rng.range(10.0, 15.0);
        let walk_m = speed_mps * (seconds * rng.range(0.4, 0.6)).min(16.0);
        let start = kerb_to_signal_m + walk_m;
        let side = if rng.chance(0.7) { 1.0 } else { -1.0 };
        let mut heads = Vec::new();
        let section_m = 0.3;
        let mut relevant = base_look(rng, style);
        if countdown {
            relevant.countdown = Countdown::Blank;
        }
        let (_, hu) = relevant.size_units();
        let rel_x = side * rng.range(2.0, 4.5);
        heads.push(WorldHead {
            look: HeadDesign::Train(relevant),
            role: Role::Relevant,
            countdown,
            x_m: rel_x,
            y_m: rng.range(2.5, 3.0),
            z_m: start,
            height_m: hu * section_m,
            squeeze: rng.range(0.85, 1.0),
            light: lighting(rng, night, ambient),
        });
        let veh_look = |rng: &mut Rng, style| HeadLook {
            style,
            aspect: Aspect::Dark,
            countdown: Countdown::Absent,
            led_dots: rng.chance(0.5),
            round_lens: true,
            housing: if rng.chance(0.5) { [0.06, 0.06, 0.06] } else { [0.7, 0.6, 0.15] },
            lamp_tint: [1.0, 1.0, 1.0],
        };
        let with_parallel = match preset {
            Preset::VehicleConflict => false,
            Preset::Random => rng.chance(0.6),
            _ => true,
        };
        if with_parallel {
            let look = veh_look(rng, HeadStyle::VehicleVertical);
            let (_, hu) = look.size_units();
            heads.push(WorldHead {
                look: HeadDesign::Train(look),
                role: Role::Parallel,
                countdown: false,
                x_m: -side * rng.range(4.0, 7.0),
                y_m: rng.range(3.5, 4.8),
                z_m: start + rng.range(0.0, 3.0),
                height_m: hu * section_m,
                squeeze: rng.range(0.85, 1.0),
                light: lighting(rng, night, ambient),
            });
        }
        if preset == Preset::VehicleConflict || (preset == Preset::Random && rng.chance(0.3)) {
            // On the same pole as our head, above it, facing us.
            let look = veh_look(rng, HeadStyle::VehicleVertical);
            let (_, hu) = look.size_units();
            heads.push(WorldHead {
                look: HeadDesign::Train(look),
                role: Role::Leading,
                countdown: false,
                x_m: rel_x + side * 0.2,
                y_m: 4.3,
                z_m: start,
                height_m: hu * section_m,
                squeeze: rng.range(0.85, 1.0),
                light: lighting(rng, night, ambient),
            });
        }
        if preset != Preset::Random || rng.chance(0.5) {
            let style = if rng.chance(0.5) { HeadStyle::VehicleVertical } else { HeadStyle::VehicleHorizontal };
            let look = veh_look(rng, style);
            let (_, hu) = look.size_units();
            heads.push(WorldHead {
                look: HeadDesign::Train(look),
                role: Role::Crossing,
                countdown: false,
                x_m: side * rng.range(6.0, 9.0),
                y_m: rng.range(4.0, 5.0),
                z_m: start - rng.range(1.0, 3.0),
                height_m: hu * section_m,
                squeeze: rng.range(0.2, 0.35),
                light: lighting(rng, night, ambient),
            });
        }
        if rng.chance(0.6) {
            let look = base_look(rng, style);
            let (_, hu) = look.size_units();
            heads.push(WorldHead {
                look: HeadDesign::Train(look),
                role: Role::OtherPed,
                countdown: false,
                x_m: -side * rng.range(5.0, 8.0),
                y_m: rng.range(2.5, 3.0),
                z_m: start + rng.range(0.5, 2.0),
                height_m: hu * section_m,
                squeeze: rng.range(0.2, 0.35),
                light: lighting(rng, night, ambient),
            });
        }
        let bus = (preset == Preset::Occlusion || (preset == Preset::Random && rng.chance(0.3))).then(|| Bus {
            t_cover: seconds * rng.range(0.45, 0.6),
            speed_mps: rng.range(2.5, 3.5),
            length_m: rng.range(10.0, 12.0),
            depth_from_kerb_m: kerb_to_signal_m * rng.range(0.6, 0.75),
            color: [rng.range(0.2, 0.9), rng.range(0.2, 0.9), rng.range(0.2, 0.9)],
        });
        let pan = (preset == Preset::Random && rng.chance(0.4)).then(|| {
            let t0 = seconds * rng.range(0.3, 0.6);
            (t0, t0 + rng.range(2.0, 4.0), if rng.chance(0.5) { 0.9 } else { -0.9 })
        });
        let rain = preset == Preset::Random && rng.chance(0.25);
        let glare = (!night && (preset == Preset::Random && rng.chance(0.3) || preset == Preset::Eu))
            .then(|| (rng.range(0.1, 0.9), rng.range(-0.2, 0.15), rng.range(0.08, 0.2), rng.range(0.3, 0.6)));
        let flicker =
            (night || rng.chance(0.3)).then(|| (rng.range(0.05, 0.2), rng.range(0.3, 2.0), rng.range(0.2, 0.45)));
        if preset == Preset::VehicleOnly {
            // No pedestrian signal; the parallel vehicle light stands far down the road
            // (about 12-20 px tall at the start), at the edge of what a detector sees.
            heads.retain(|h| !matches!(h.role, Role::Relevant | Role::OtherPed));
            for head in heads.iter_mut().filter(|h| h.role == Role::Parallel) {
                head.z_m += rng.range(20.0, 35.0);
            }
        }
        Self {
            light,
            heads,
            cycle,
            walk_m,
            kerb_to_signal_m,
            speed_mps,
            cam_h_m: rng.range(1.3, 1.65),
            pitch_rad: rng.range(0.08, 0.14),
            shake_px: rng.range(1.5, 4.0),
            bob_px: rng.range(2.0, 6.0),
            shake_phase: std::array::from_fn(|_| rng.range(0.0, std::f32::consts::TAU)),
            bus,
            pan,
            rain,
            glare,
            flicker,
            noise: if night { rng.range(0.02, 0.04) } else { rng.range(0.006, 0.018) },
            blur_sigma: if rain { 1.0 } else { rng.range(0.0, 0.7) },
        }
    }

    /// Replaces every head with a held-out design and widens the light and the camera;
    /// the layout, the cycle and the walk stay as drawn.
    pub(super) fn restyle_heldout(&mut self, preset: Preset, styles: &[heldout::head::Style], rng: &mut Rng) {
        if !self.light.night {
            // Dusk and overcast to bright sun; training days are 0.7-1.0.
            self.light.ambient = rng.range(0.4, 1.1);
        }
        let (night, ambient) = (self.light.night, self.light.ambient);
        let style = heldout::pedestrian_style(rng, preset, styles);
        let section_m = 0.3;
        for head in &mut self.heads {
            let vehicle_style = match head.look {
                HeadDesign::Train(l) if l.style == HeadStyle::VehicleHorizontal => {
                    heldout::head::Style::VehicleHorizontal
                }
                _ => heldout::head::Style::VehicleVertical,
            };
            let s = match head.role {
                Role::Relevant | Role::OtherPed => style,
                _ => vehicle_style,
            };
            let mut look = heldout::head::Look::random(rng, s);
            if head.role == Role::Relevant {
                head.countdown = heldout::has_countdown(rng, style);
                if head.countdown {
                    look.countdown = Countdown::Blank;
                }
            }
            head.height_m = look.size_units().1 * section_m;
            head.squeeze = match head.role {
                // Stronger angles than training's 0.85-1.0.
                Role::Relevant => rng.range(0.6, 0.95),
                Role::Crossing | Role::OtherPed => rng.range(0.15, 0.4),
                Role::Parallel | Role::Leading => rng.range(0.65, 1.0),
            };
            head.light = heldout::lighting(rng, night, ambient);
            head.look = HeadDesign::Heldout(look);
        }
        self.noise = if night { rng.range(0.015, 0.07) } else { rng.range(0.003, 0.05) };
        if !self.rain {
            self.blur_sigma = rng.range(0.0, 1.2);
        }
    }

    /// Distance walked at `t`, m.
    pub(super) fn walked(&self, t: f32) -> f32 {
        (self.speed_mps * t).min(self.walk_m)
    }

    /// Camera shake and pan at `t`: (dx px, dy px, roll rad), for a frame `scale` px per 960.
    pub(super) fn shake(&self, t: f32, scale: f32) -> (f32, f32, f32) {
        let p = &self.shake_phase;
        let tau = std::f32::consts::TAU;
        let walking = self.speed_mps * t < self.walk_m;
        let mut dx = self.shake_px * ((tau * 0.7 * t + p[0]).sin() + 0.5 * (tau * 1.9 * t + p[1]).sin());
        let mut dy = self.shake_px * ((tau * 0.5 * t + p[2]).sin() + 0.5 * (tau * 2.3 * t + p[3]).sin());
        let roll = 0.012 * (tau * 0.4 * t + p[4]).sin() + 0.006 * (tau * 1.3 * t + p[5]).sin();
        if walking {
            // Step bounce at about two steps per second, and a sway at one.
            dy += self.bob_px * (tau * 0.95 * t).sin().abs() * 2.0 - self.bob_px;
            dx += self.bob_px * 0.6 * (tau * 0.95 * t + p[0]).sin();
        }
        if let Some((t0, t1, amount)) = self.pan {
            let ramp = 0.6;
            let k = if t < t0 || t > t1 { 0.0 } else { ((t - t0) / ramp).min(1.0).min((t1 - t) / ramp).max(0.0) };
            let k = k * k * (3.0 - 2.0 * k);
            dx += amount * 960.0 * k;
        }
        (dx * scale, dy * scale, roll)
    }
}
