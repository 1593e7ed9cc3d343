//! Signal cycles over time: what the pedestrian head, the parallel vehicle head and the
//! crossing-road vehicle head show at each moment, and the ground truth that follows.
//!
//! One cycle is don't walk -> walk -> changing (flashing walk, flashing hand, or a
//! countdown) -> don't walk. Vehicle heads are derived from the same clock with the
//! usual clearance times, so the scene is self-consistent: vehicles crossing our path
//! get green only while we see don't walk.

use super::head::{Aspect, Countdown, HeadStyle};
use super::rng::Rng;
use crate::truth::TruthSignal;

/// Phase of the pedestrian signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PedPhase {
    /// Steady stop.
    DontWalk,
    /// Steady walk.
    Walk,
    /// Flashing walk / flashing hand / final countdown: do not start crossing.
    Changing,
}

impl PedPhase {
    /// The ground truth for this phase.
    pub fn truth(self) -> TruthSignal {
        match self {
            PedPhase::DontWalk => TruthSignal::DontWalk,
            PedPhase::Walk => TruthSignal::Walk,
            PedPhase::Changing => TruthSignal::Changing,
        }
    }
}

/// Yellow (amber) time of vehicle heads, s.
const YELLOW_S: f64 = 3.0;
/// All-red clearance between conflicting movements, s.
const ALL_RED_S: f64 = 2.0;
/// Flash period of flashing aspects, s (about 1 Hz, as in most countries).
const FLASH_PERIOD_S: f64 = 1.0;

/// Durations of one cycle and where the clip starts in it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cycle {
    /// Don't walk, s.
    pub dont_walk_s: f64,
    /// Steady walk, s.
    pub walk_s: f64,
    /// Changing (flashing or countdown), s.
    pub changing_s: f64,
    /// Seconds into the cycle (from the start of don't walk) at clip time 0.
    pub offset_s: f64,
}

impl Cycle {
    /// Realistic durations, shortened to the lower end so a 20-40 s clip sees changes.
    /// The clip starts `lead_s` before a walk phase begins (mid don't-walk).
    pub fn random(rng: &mut Rng, lead_s: f64) -> Self {
        let dont_walk_s = f64::from(rng.range(16.0, 30.0));
        let walk_s = f64::from(rng.range(6.0, 11.0));
        let changing_s = f64::from(rng.range(6.0, 10.0)).round();
        let offset_s = (dont_walk_s - lead_s).max(0.0);
        Self { dont_walk_s, walk_s, changing_s, offset_s }
    }

    /// The same durations with clip time 0 at a point of the cycle drawn from `rng`, so
    /// the clip may open in don't walk, walk or changing, as footage from someone who
    /// reaches the kerb at any moment does.
    pub fn start_anywhere(self, rng: &mut Rng) -> Self {
        let offset_s = f64::from(rng.f32()) * self.period_s();
        Self { offset_s, ..self }
    }

    /// Length of one cycle, s.
    pub fn period_s(&self) -> f64 {
        self.dont_walk_s + self.walk_s + self.changing_s
    }

    /// Phase at clip time `t_s`, with seconds elapsed in it and seconds left.
    pub fn phase_at(&self, t_s: f64) -> (PedPhase, f64, f64) {
        let c = (t_s + self.offset_s).rem_euclid(self.period_s());
        if c < self.dont_walk_s {
            (PedPhase::DontWalk, c, self.dont_walk_s - c)
        } else if c < self.dont_walk_s + self.walk_s {
            let e = c - self.dont_walk_s;
            (PedPhase::Walk, e, self.walk_s - e)
        } else {
            let e = c - self.dont_walk_s - self.walk_s;
            (PedPhase::Changing, e, self.changing_s - e)
        }
    }

    /// What a pedestrian head of `style` shows at `t_s`, and whether it has a countdown.
    pub fn pedestrian(&self, style: HeadStyle, countdown: bool, t_s: f64) -> (Aspect, Countdown) {
        let (phase, elapsed, left) = self.phase_at(t_s);
        let flash_on = elapsed.rem_euclid(FLASH_PERIOD_S) < FLASH_PERIOD_S / 2.0;
        let secs = |s: f64| {
            let n = s.ceil();
            if n > 99.0 { Countdown::Blank } else { Countdown::Value(n.max(1.0) as u8) }
        };
        let absent_or = |c: Countdown| if countdown { c } else { Countdown::Absent };
        match style {
            HeadStyle::PedUs => match phase {
                PedPhase::DontWalk => (Aspect::PedStop, absent_or(Countdown::Blank)),
                PedPhase::Walk => (Aspect::PedWalk, absent_or(Countdown::Blank)),
                // Flashing hand; the countdown runs to the end of the flashing.
                PedPhase::Changing => (if flash_on { Aspect::PedStop } else { Aspect::Dark }, absent_or(secs(left))),
            },
            _ => match phase {
                PedPhase::DontWalk => (Aspect::PedStop, absent_or(secs(left))),
                PedPhase::Walk => (Aspect::PedWalk, absent_or(secs(left + self.changing_s))),
                PedPhase::Changing => (if flash_on { Aspect::PedWalk } else { Aspect::Dark }, absent_or(secs(left))),
            },
        }
    }

    /// Vehicle head for traffic going our way: green with our walk, staying green a
    /// little after our changing phase, then yellow, then red.
    pub fn vehicle_parallel(&self, t_s: f64) -> Aspect {
        let c = (t_s + self.offset_s).rem_euclid(self.period_s());
        let green_from = self.dont_walk_s;
        let green_to = self.period_s() + ALL_RED_S;
        let c2 = if c < ALL_RED_S + YELLOW_S { c + self.period_s() } else { c };
        if c2 >= green_from && c2 < green_to {
            Aspect::VehGreen
        } else if c2 >= green_to && c2 < green_to + YELLOW_S {
            Aspect::VehYellow
        } else {
            Aspect::VehRed
        }
    }

    /// Vehicle head for traffic crossing our path: green only inside our don't walk,
    /// with yellow and all-red clearance before our walk starts.
    pub fn vehicle_crossing(&self, t_s: f64) -> Aspect {
        let c = (t_s + self.offset_s).rem_euclid(self.period_s());
        let green_from = ALL_RED_S;
        let yellow_from = self.dont_walk_s - ALL_RED_S - YELLOW_S;
        if c >= green_from && c < yellow_from {
            Aspect::VehGreen
        } else if c >= yellow_from && c < yellow_from + YELLOW_S {
            Aspect::VehYellow
        } else {
            Aspect::VehRed
        }
    }

    /// Vehicle head facing us on a leading phase (turning traffic first, as at many
    /// Chinese junctions): green through the last part of our don't walk, yellow as our
    /// walk starts, then red. The clip where it appears checks that the pedestrian head wins.
    pub fn vehicle_leading(&self, t_s: f64) -> Aspect {
        let c = (t_s + self.offset_s).rem_euclid(self.period_s());
        let green_from = self.dont_walk_s * 0.3;
        let yellow_from = self.dont_walk_s;
        if c >= green_from && c < yellow_from {
            Aspect::VehGreen
        } else if c >= yellow_from && c < yellow_from + YELLOW_S {
            Aspect::VehYellow
        } else {
            Aspect::VehRed
        }
    }

    /// Pedestrian head for the other crossing (perpendicular): walk while crossing
    /// traffic is stopped is not modelled; it shows walk in the middle of our don't walk.
    pub fn pedestrian_crossing(&self, t_s: f64) -> Aspect {
        let c = (t_s + self.offset_s).rem_euclid(self.period_s());
        if c > ALL_RED_S && c < self.dont_walk_s * 0.6 { Aspect::PedWalk } else { Aspect::PedStop }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn cycle() -> Cycle {
        Cycle { dont_walk_s: 20.0, walk_s: 8.0, changing_s: 7.0, offset_s: 15.0 }
    }

    #[test]
    fn phases_follow_the_real_order() {
        let c = cycle();
        assert_eq!(c.phase_at(0.0).0, PedPhase::DontWalk);
        assert_eq!(c.phase_at(5.5).0, PedPhase::Walk);
        assert_eq!(c.phase_at(13.5).0, PedPhase::Changing);
        assert_eq!(c.phase_at(20.5).0, PedPhase::DontWalk);
    }

    #[test]
    fn countdown_counts_down_and_flashing_alternates() {
        let c = cycle();
        assert_eq!(c.pedestrian(HeadStyle::PedCn, true, 0.2), (Aspect::PedStop, Countdown::Value(5)));
        assert_eq!(c.pedestrian(HeadStyle::PedCn, true, 5.2).1, Countdown::Value(15));
        assert_eq!(c.pedestrian(HeadStyle::PedUs, true, 13.2), (Aspect::PedStop, Countdown::Value(7)));
        assert_eq!(c.pedestrian(HeadStyle::PedUs, true, 13.7).0, Aspect::Dark);
        assert_eq!(c.pedestrian(HeadStyle::PedUs, true, 6.0), (Aspect::PedWalk, Countdown::Blank));
        assert_eq!(c.pedestrian(HeadStyle::PedEu, false, 13.2), (Aspect::PedWalk, Countdown::Absent));
    }

    #[test]
    fn crossing_traffic_never_has_green_during_our_walk() {
        let c = cycle();
        let mut t = 0.0;
        while t < 70.0 {
            let (phase, _, _) = c.phase_at(t);
            if phase != PedPhase::DontWalk {
                assert_eq!(c.vehicle_crossing(t), Aspect::VehRed, "t={t}");
                assert_eq!(c.vehicle_parallel(t), Aspect::VehGreen, "t={t}");
            }
            // Just before our walk, the leading head shows green while we must wait.
            if phase == PedPhase::DontWalk
                && c.phase_at(t + 1.0).0 == PedPhase::DontWalk
                && c.phase_at(t + 2.0).0 == PedPhase::Walk
            {
                assert_eq!(c.vehicle_leading(t), Aspect::VehGreen, "t={t}");
            }
            t += 0.1;
        }
    }
}
