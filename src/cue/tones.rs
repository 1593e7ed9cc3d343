//! Synthesised earcons: one repeating pattern per state, as pure sample generators.
//!
//! The patterns follow what blind pedestrians know from accessible pedestrian signals
//! (MUTCD 4E, GB/T 41175) and from the OKO app:
//!
//! | state      | pattern                                   | rate       |
//! |------------|-------------------------------------------|------------|
//! | walk       | rapid short tick, 880 Hz                  | 9 per s    |
//! | dont_walk  | slow "tock", 660 Hz                       | 1 per s    |
//! | changing   | falling two-tone beep, 988 → 659 Hz       | every 0.8 s|
//! | unknown    | soft low "lub-dub" heartbeat, 440/392 Hz  | every 2 s  |
//!
//! Each earcon lasts at most 150 ms, has its main energy between 300 and 1,500 Hz
//! (high frequencies are the first lost with age), and starts and ends at zero
//! through raised-cosine attack and release ramps, so it never clicks. The unknown
//! heartbeat is quieter, lower, slower and softer-edged than any other pattern, so it
//! can never be mistaken for the walk tick.

use crate::signal::SignalState;
use std::f64::consts::PI;

/// One short tone inside a [`Pattern`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Earcon {
    /// Start within the pattern period, s.
    pub at_s: f64,
    /// Length, s (at most 0.15).
    pub dur_s: f64,
    /// Fundamental, Hz.
    pub freq_hz: f64,
    /// Level of the second harmonic relative to the fundamental, `[0, 1]`; gives the
    /// tick some body without moving energy above ~2 kHz.
    pub overtone: f64,
    /// Peak amplitude before volume, `[0, 1]`.
    pub amp: f64,
    /// Raised-cosine fade-in, s.
    pub attack_s: f64,
    /// Raised-cosine fade-out at the end, s.
    pub release_s: f64,
    /// Exponential decay time constant after the attack, s; 0 for a sustained beep.
    pub decay_s: f64,
}

impl Earcon {
    /// The earcon's sample at `t_s` seconds after its start; 0 outside it.
    pub fn sample(&self, t_s: f64) -> f64 {
        if !(0.0..self.dur_s).contains(&t_s) {
            return 0.0;
        }
        let attack =
            if self.attack_s > 0.0 && t_s < self.attack_s { 0.5 - 0.5 * (PI * t_s / self.attack_s).cos() } else { 1.0 };
        let to_end = self.dur_s - t_s;
        let release = if self.release_s > 0.0 && to_end < self.release_s {
            0.5 - 0.5 * (PI * to_end / self.release_s).cos()
        } else {
            1.0
        };
        let body = if self.decay_s > 0.0 { (-(t_s - self.attack_s).max(0.0) / self.decay_s).exp() } else { 1.0 };
        let w = 2.0 * PI * self.freq_hz * t_s;
        let tone = (w.sin() + self.overtone * (2.0 * w).sin()) / (1.0 + self.overtone);
        self.amp * attack * release * body * tone
    }
}

/// A repeating group of earcons: what one state sounds like.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pattern {
    /// Short name used in announcements (`walk_tick`, ...).
    pub name: &'static str,
    /// Repetition period, s.
    pub period_s: f64,
    /// The earcons of one period.
    pub earcons: &'static [Earcon],
}

impl Pattern {
    /// The pattern's sample at `t_s` seconds after it started.
    pub fn sample(&self, t_s: f64) -> f64 {
        if t_s < 0.0 || self.period_s <= 0.0 {
            return 0.0;
        }
        let tau = t_s % self.period_s;
        self.earcons.iter().map(|e| e.sample(tau - e.at_s)).sum()
    }

    /// Repetitions (onsets of the first earcon) per second.
    pub fn rate_hz(&self) -> f64 {
        1.0 / self.period_s
    }
}

const fn tick(freq_hz: f64, dur_s: f64, decay_s: f64, amp: f64) -> Earcon {
    Earcon { at_s: 0.0, dur_s, freq_hz, overtone: 0.3, amp, attack_s: 0.002, release_s: dur_s / 3.0, decay_s }
}

const fn beep(at_s: f64, freq_hz: f64, dur_s: f64, amp: f64, attack_s: f64, overtone: f64) -> Earcon {
    Earcon { at_s, dur_s, freq_hz, overtone, amp, attack_s, release_s: dur_s / 3.0, decay_s: 0.0 }
}

/// Walk: rapid tick, 9 per second (MUTCD: 8-10 per second).
pub static WALK: Pattern =
    Pattern { name: "walk_tick", period_s: 1.0 / 9.0, earcons: &[tick(880.0, 0.03, 0.012, 0.8)] };

/// Don't walk: slow tock, once per second (the APS locator tone).
pub static DONT_WALK: Pattern =
    Pattern { name: "dont_walk_tock", period_s: 1.0, earcons: &[tick(660.0, 0.06, 0.025, 0.8)] };

/// Changing: a falling two-tone beep every 0.8 s: "do not start crossing now".
pub static CHANGING: Pattern = Pattern {
    name: "changing_fall",
    period_s: 0.8,
    earcons: &[beep(0.0, 988.0, 0.12, 0.6, 0.01, 0.15), beep(0.2, 659.0, 0.12, 0.6, 0.01, 0.15)],
};

/// Unknown: a soft, low heartbeat every 2 s, so the user knows the device is alive.
pub static UNKNOWN: Pattern = Pattern {
    name: "searching_heartbeat",
    period_s: 2.0,
    earcons: &[beep(0.0, 440.0, 0.08, 0.22, 0.02, 0.1), beep(0.2, 392.0, 0.08, 0.18, 0.02, 0.1)],
};

/// The pattern for a state.
pub fn pattern(state: SignalState) -> &'static Pattern {
    match state {
        SignalState::Walk => &WALK,
        SignalState::DontWalk => &DONT_WALK,
        SignalState::Changing => &CHANGING,
        SignalState::Unknown => &UNKNOWN,
    }
}

/// Shortest buzz a phone motor makes felt, ms.
const MIN_BUZZ_MS: f64 = 20.0;

/// A `navigator.vibrate`-style pattern (ms on, ms off, on, ...) that mirrors `pattern`
/// for `seconds`: one buzz per earcon, as long as the earcon sounds (at least
/// 20 ms), at the earcon's onset. The walk tick thus buzzes 9 times a second and don't
/// walk once, so the two are told apart by feel as by ear.
pub fn vibration(pattern: &Pattern, seconds: f64) -> Vec<u32> {
    let mut out = Vec::new();
    let mut at_ms = 0.0;
    let periods = (seconds / pattern.period_s).round().max(1.0) as usize;
    for k in 0..periods {
        for e in pattern.earcons {
            let onset_ms = (k as f64 * pattern.period_s + e.at_s) * 1e3;
            let buzz_ms = (e.dur_s * 1e3).max(MIN_BUZZ_MS);
            if out.is_empty() && onset_ms > 0.0 {
                out.push(0);
            }
            if !out.is_empty() {
                out.push((onset_ms - at_ms).max(0.0).round() as u32);
            }
            out.push(buzz_ms.round() as u32);
            at_ms = onset_ms + buzz_ms;
        }
    }
    let end_ms = periods as f64 * pattern.period_s * 1e3;
    out.push((end_ms - at_ms).max(0.0).round() as u32);
    out
}

/// A pattern being played from its start, one sample at a time.
#[derive(Debug, Clone, Copy)]
pub struct ToneVoice {
    pattern: &'static Pattern,
    pos: u64,
    sample_rate: f64,
}

impl ToneVoice {
    /// Starts `pattern` at sample rate `sample_rate_hz`.
    pub fn new(pattern: &'static Pattern, sample_rate_hz: u32) -> Self {
        Self { pattern, pos: 0, sample_rate: f64::from(sample_rate_hz.max(1)) }
    }

    /// The pattern being played.
    pub fn pattern(&self) -> &'static Pattern {
        self.pattern
    }

    /// The next sample.
    pub fn next_sample(&mut self) -> f32 {
        let s = self.pattern.sample(self.pos as f64 / self.sample_rate);
        self.pos += 1;
        s as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vibration_mirrors_the_tones_and_lasts_as_asked() {
        let buzzes = |p: &Pattern| vibration(p, 2.0).iter().step_by(2).filter(|&&ms| ms > 0).count();
        assert_eq!(buzzes(&WALK), 18);
        assert_eq!(buzzes(&DONT_WALK), 2);
        // Two beeps per 0.8 s period; 2.5 periods round to 3.
        assert_eq!(buzzes(&CHANGING), 6);
        for p in [&WALK, &DONT_WALK, &CHANGING, &UNKNOWN] {
            let v = vibration(p, 2.0);
            let total: u32 = v.iter().sum();
            assert!((1900..=2500).contains(&total), "{}: {total} ms", p.name);
            assert!(v.iter().step_by(2).all(|&on| on >= MIN_BUZZ_MS as u32), "{}: {v:?}", p.name);
        }
    }

    #[test]
    fn earcons_are_short_and_start_and_end_at_zero() {
        for state in SignalState::ALL {
            let p = pattern(state);
            for e in p.earcons {
                assert!(e.dur_s <= 0.15, "{} earcon too long", p.name);
                assert!(e.at_s + e.dur_s <= p.period_s, "{} earcon crosses its period", p.name);
                assert!((300.0..=1500.0).contains(&e.freq_hz), "{} fundamental out of band", p.name);
                assert!(e.sample(0.0).abs() < 1e-9);
                assert!(e.sample(e.dur_s - 1e-6).abs() < 1e-3, "{} ends with a jump", p.name);
                assert_eq!(e.sample(e.dur_s), 0.0);
            }
        }
    }

    #[test]
    fn walk_is_rapid_and_dont_walk_slow() {
        assert!((8.0..=10.0).contains(&WALK.rate_hz()));
        assert!((0.8..=1.2).contains(&DONT_WALK.rate_hz()));
    }

    #[test]
    fn voice_repeats_its_pattern() {
        let mut v = ToneVoice::new(&DONT_WALK, 8000);
        let s: Vec<f32> = (0..16_000).map(|_| v.next_sample()).collect();
        for i in 0..8000 {
            assert!((s[i] - s[i + 8000]).abs() < 1e-4);
        }
        let peak = s.iter().fold(0.0f32, |m, x| m.max(x.abs()));
        assert!(peak > 0.3);
    }
}
