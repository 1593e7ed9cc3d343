//! The cue renderer: mixes the current tone pattern and the current spoken message
//! into one mono stream, sample by sample, with no audio device involved.
//!
//! Both outputs use it: the WAV writer pulls samples along media time, and the
//! speaker source pulls them on the audio thread. A state change cuts what is playing
//! at once (a 5 ms fade-out, so it does not click) and starts the new pattern and
//! message; nothing is ever queued, so a stale message cannot build up.

use super::speech::{Message, SpeechBank};
use super::tones::{self, ToneVoice};
use super::{CueConfig, CueMode};
use crate::signal::{Basis, SignalState};

/// Fade applied to whatever a state change interrupts, s.
const INTERRUPT_FADE_S: f64 = 0.005;
/// Time constant of the speech ducking and volume smoothing, s.
const GAIN_SMOOTH_S: f64 = 0.005;

/// What starts to be heard: decided by [`SpeechPolicy`](super::SpeechPolicy), played by
/// [`CueRenderer::start`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CueStart {
    /// The new state.
    pub state: SignalState,
    /// The new basis.
    pub basis: Basis,
    /// The tone pattern restarts (false when only the basis changed, or when a message
    /// held back by the speech policy is spoken later).
    pub restart_pattern: bool,
    /// Messages spoken in order (when the mode includes speech); none when the change is
    /// heard as a tone change only.
    pub messages: [Option<Message>; 2],
}

/// A message sequence being spoken.
#[derive(Debug, Clone, Copy)]
struct Talk {
    messages: [Option<Message>; 2],
    index: usize,
    pos: usize,
}

impl Talk {
    fn new(messages: [Option<Message>; 2]) -> Option<Self> {
        messages[0].map(|_| Self { messages, index: 0, pos: 0 })
    }

    /// The next sample, None when the sequence has ended.
    fn next_sample(&mut self, bank: &SpeechBank) -> Option<f32> {
        loop {
            let m = (*self.messages.get(self.index)?)?;
            let clip = bank.clip(m);
            if let Some(s) = clip.get(self.pos) {
                self.pos += 1;
                return Some(*s);
            }
            self.index += 1;
            self.pos = 0;
        }
    }
}

/// A voice fading out after being interrupted.
#[derive(Debug, Clone, Copy)]
struct FadeOut<V> {
    voice: V,
    left: u32,
    len: u32,
}

impl<V> FadeOut<V> {
    fn gain(&self) -> f32 {
        let x = f64::from(self.left) / f64::from(self.len.max(1));
        (0.5 - 0.5 * (std::f64::consts::PI * x).cos()) as f32
    }
}

/// Mixes tones and speech for the current state. See the module docs.
#[derive(Debug, Clone)]
pub struct CueRenderer {
    mode: CueMode,
    sample_rate: u32,
    bank: Option<SpeechBank>,
    tone: Option<ToneVoice>,
    tone_out: Option<FadeOut<ToneVoice>>,
    talk: Option<Talk>,
    talk_out: Option<FadeOut<Talk>>,
    fade_len: u32,
    gain_coef: f32,
    duck: f32,
    duck_gain: f32,
    volume: f32,
    volume_gain: f32,
    current: Option<(SignalState, Basis)>,
    repeat_every: u64,
    since_talk: u64,
    last_messages: [Option<Message>; 2],
    release_left: Option<u32>,
}

impl CueRenderer {
    /// A silent renderer for `config`, with the speech clips of `bank` (needed when the
    /// mode includes speech; pass None for tones only).
    pub fn new(config: &CueConfig, bank: Option<SpeechBank>) -> Self {
        let sr = config.sample_rate_hz.max(1);
        let fade_len = ((INTERRUPT_FADE_S * f64::from(sr)).round() as u32).max(1);
        let gain_coef = (1.0 - (-1.0 / (GAIN_SMOOTH_S * f64::from(sr))).exp()) as f32;
        let volume = config.volume.clamp(0.0, 1.0);
        let repeat_every = if config.mode == CueMode::Speech && config.speech_repeat_s > 0.0 {
            (config.speech_repeat_s * f64::from(sr)).round() as u64
        } else {
            0
        };
        Self {
            mode: config.mode,
            sample_rate: sr,
            bank,
            tone: None,
            tone_out: None,
            talk: None,
            talk_out: None,
            fade_len,
            gain_coef,
            duck: config.speech_duck.clamp(0.0, 1.0),
            duck_gain: 1.0,
            volume,
            volume_gain: volume,
            current: None,
            repeat_every,
            since_talk: 0,
            last_messages: [None, None],
            release_left: None,
        }
    }

    /// Output sample rate, Hz.
    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    /// Sets the volume, `[0, 1]`; applied smoothly (within ~5 ms).
    pub fn set_volume(&mut self, volume: f32) {
        self.volume = volume.clamp(0.0, 1.0);
    }

    /// Starts what `start` says. A new tone pattern or message cuts what is playing
    /// (5 ms fade); nothing is queued.
    pub fn start(&mut self, start: &CueStart) {
        self.current = Some((start.state, start.basis));
        if start.restart_pattern && self.mode != CueMode::Speech {
            if let Some(old) = self.tone.take() {
                self.tone_out = Some(FadeOut { voice: old, left: self.fade_len, len: self.fade_len });
            }
            self.tone = Some(ToneVoice::new(tones::pattern(start.state), self.sample_rate));
        }
        if start.messages[0].is_some() && self.mode != CueMode::Tones && self.bank.is_some() {
            if let Some(old) = self.talk.take() {
                self.talk_out = Some(FadeOut { voice: old, left: self.fade_len, len: self.fade_len });
            }
            self.talk = Talk::new(start.messages);
            self.since_talk = 0;
            // Repeats say the state only, not the "following the vehicle" prefix.
            self.last_messages = match start.messages {
                [Some(Message::FollowingVehicle), Some(m)] => [Some(m), None],
                m => m,
            };
        }
    }

    /// Switches the tone to `state` without a message; returns whether the state changed.
    pub fn set(&mut self, state: SignalState, basis: Basis) -> bool {
        let changed = self.state() != Some(state);
        self.start(&CueStart { state, basis, restart_pattern: changed, messages: [None, None] });
        changed
    }

    /// The state the tone shows, None before the first [`CueRenderer::start`].
    pub fn state(&self) -> Option<SignalState> {
        self.current.map(|(s, _)| s)
    }

    /// The decisions have stopped coming: falls to unknown at once, saying so when it
    /// leaves walk (a frozen loop must not leave walk ticking, and leaving walk is always
    /// spoken). Does nothing when already unknown.
    pub fn stall(&mut self) {
        let was = self.state();
        if was.is_some_and(|s| s != SignalState::Unknown) {
            let message = (was == Some(SignalState::Walk)).then_some(Message::NoSignal);
            self.start(&CueStart {
                state: SignalState::Unknown,
                basis: Basis::None,
                restart_pattern: true,
                messages: [message, None],
            });
        }
    }

    /// Starts a 5 ms fade of everything; afterwards the renderer is silent and
    /// [`CueRenderer::is_released`] is true.
    pub fn release(&mut self) {
        if self.release_left.is_none() {
            self.release_left = Some(self.fade_len);
        }
    }

    /// The release fade has finished.
    pub fn is_released(&self) -> bool {
        self.release_left == Some(0)
    }

    /// Samples the release fade takes.
    pub fn release_len(&self) -> u32 {
        self.fade_len
    }

    /// The next output sample, in `[-1, 1]`.
    pub fn next_sample(&mut self) -> f32 {
        let mut tone = 0.0f32;
        if let Some(v) = &mut self.tone {
            tone += v.next_sample();
        }
        if let Some(f) = &mut self.tone_out {
            tone += f.voice.next_sample() * f.gain();
            f.left = f.left.saturating_sub(1);
            if f.left == 0 {
                self.tone_out = None;
            }
        }

        let mut speech = 0.0f32;
        if let Some(bank) = &self.bank {
            if let Some(t) = &mut self.talk {
                match t.next_sample(bank) {
                    Some(s) => speech += s,
                    None => self.talk = None,
                }
            }
            if let Some(f) = &mut self.talk_out {
                let g = f.gain();
                speech += f.voice.next_sample(bank).unwrap_or(0.0) * g;
                f.left = f.left.saturating_sub(1);
                if f.left == 0 {
                    self.talk_out = None;
                }
            }
            if self.repeat_every > 0 && self.talk.is_none() {
                self.since_talk += 1;
                if self.since_talk >= self.repeat_every {
                    self.since_talk = 0;
                    self.talk = Talk::new(self.last_messages);
                }
            }
        }

        let duck_target = if self.talk.is_some() { self.duck } else { 1.0 };
        self.duck_gain += self.gain_coef * (duck_target - self.duck_gain);
        self.volume_gain += self.gain_coef * (self.volume - self.volume_gain);
        let release = match &mut self.release_left {
            None => 1.0,
            Some(left) => {
                let g = f64::from(*left) / f64::from(self.fade_len.max(1));
                *left = left.saturating_sub(1);
                (0.5 - 0.5 * (std::f64::consts::PI * g).cos()) as f32
            }
        };
        ((tone * self.duck_gain + speech) * self.volume_gain * release).clamp(-1.0, 1.0)
    }

    /// Fills `out` with the next samples.
    pub fn fill(&mut self, out: &mut [f32]) {
        for s in out {
            *s = self.next_sample();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tones_only() -> CueConfig {
        CueConfig { mode: CueMode::Tones, sample_rate_hz: 16_000, volume: 1.0, ..CueConfig::default() }
    }

    #[test]
    fn a_state_change_cuts_the_old_pattern_within_the_fade() {
        let mut r = CueRenderer::new(&tones_only(), None);
        r.set(SignalState::DontWalk, Basis::Pedestrian);
        let mut buf = vec![0.0; 16_000 + 160]; // into the tock at 1.0 s
        r.fill(&mut buf);
        r.set(SignalState::Walk, Basis::Pedestrian);
        let mut after = vec![0.0; 4_000];
        r.fill(&mut after);
        let mut walk = ToneVoice::new(&tones::WALK, 16_000);
        let want: Vec<f32> = (0..4_000).map(|_| walk.next_sample()).collect();
        // After the 5 ms fade (80 samples) only the walk pattern is left.
        for i in 80..4_000 {
            assert!((after[i] - want[i]).abs() < 1e-4, "sample {i}: {} vs {}", after[i], want[i]);
        }
    }

    #[test]
    fn release_ends_in_silence() {
        let mut r = CueRenderer::new(&tones_only(), None);
        r.set(SignalState::Walk, Basis::Pedestrian);
        let mut buf = vec![0.0; 100];
        r.fill(&mut buf);
        r.release();
        for _ in 0..r.release_len() {
            r.next_sample();
        }
        assert!(r.is_released());
        assert_eq!(r.next_sample(), 0.0);
    }
}
