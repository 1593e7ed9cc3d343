//! The speaker output: a rodio source that owns a [`CueRenderer`] on the audio
//! thread and reads the latest published state every 5 ms.

use super::{CueConfig, CueRenderer, CueStart, bank_for};
use crate::cue::Message;
use crate::signal::{Basis, SignalState};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

/// What the decision side publishes; the audio side only reads.
struct Shared {
    /// `generation << 32 | encode(start)`: a new generation with every decision (the
    /// audio side's dead-man switch counts from it), carrying what starts, if anything.
    command: AtomicU64,
    volume_bits: AtomicU32,
    release: AtomicBool,
}

const HAS_START: u64 = 1 << 25;
const RESTART: u64 = 1 << 24;

fn message_code(m: Option<Message>) -> u64 {
    m.and_then(|m| Message::ALL.iter().position(|&x| x == m)).map_or(0, |i| i as u64 + 1)
}

fn message_of(code: u64) -> Option<Message> {
    (code as usize).checked_sub(1).and_then(|i| Message::ALL.get(i).copied())
}

/// Packs what starts into the low 32 bits: basis, state, two messages, restart.
fn encode(start: Option<&CueStart>) -> u64 {
    let Some(start) = start else { return 0 };
    let state = SignalState::ALL.iter().position(|&s| s == start.state).unwrap_or(0) as u64;
    let basis = match start.basis {
        Basis::Pedestrian => 0,
        Basis::Vehicle => 1,
        Basis::None => 2,
    };
    HAS_START
        | if start.restart_pattern { RESTART } else { 0 }
        | message_code(start.messages[1]) << 20
        | message_code(start.messages[0]) << 16
        | state << 8
        | basis
}

fn decode(cmd: u64) -> Option<CueStart> {
    if cmd & HAS_START == 0 {
        return None;
    }
    let state = SignalState::ALL.get(((cmd >> 8) & 0xff) as usize).copied().unwrap_or(SignalState::Unknown);
    let basis = match cmd & 0xff {
        0 => Basis::Pedestrian,
        1 => Basis::Vehicle,
        _ => Basis::None,
    };
    Some(CueStart {
        state,
        basis,
        restart_pattern: cmd & RESTART != 0,
        messages: [message_of((cmd >> 16) & 0xf), message_of((cmd >> 20) & 0xf)],
    })
}

pub(super) struct SpeakerSink {
    shared: Arc<Shared>,
    generation: u64,
    device: rodio::MixerDeviceSink,
}

impl SpeakerSink {
    pub(super) fn open(config: &CueConfig) -> Result<Self, String> {
        let mut device = rodio::DeviceSinkBuilder::open_default_sink().map_err(|e| e.to_string())?;
        device.log_on_drop(false);
        let rate = device.config().sample_rate();
        let cfg = CueConfig { sample_rate_hz: rate.get(), ..config.clone() };
        let bank = bank_for(&cfg).map_err(|e| e.to_string())?;
        let shared = Arc::new(Shared {
            command: AtomicU64::new(0),
            volume_bits: AtomicU32::new(config.volume.to_bits()),
            release: AtomicBool::new(false),
        });
        let source = LiveSource {
            renderer: CueRenderer::new(&cfg, bank),
            shared: Arc::clone(&shared),
            seen: 0,
            countdown: 0,
            check_every: (rate.get() / 200).max(1),
            quiet_samples: 0,
            stall_samples: (config.stall_timeout_s * f64::from(rate.get())) as u64,
            rate,
        };
        device.mixer().add(source);
        Ok(Self { shared, generation: 0, device })
    }

    /// Publishes one decision: what starts, if anything (None still tells the audio
    /// side that decisions are coming).
    pub(super) fn publish(&mut self, start: Option<&CueStart>) {
        self.generation = (self.generation + 1) & 0xffff_ffff;
        self.shared.command.store((self.generation << 32) | encode(start), Ordering::Release);
    }

    pub(super) fn set_volume(&self, volume: f32) {
        self.shared.volume_bits.store(volume.clamp(0.0, 1.0).to_bits(), Ordering::Relaxed);
    }

    pub(super) fn finish(self) {
        self.shared.release.store(true, Ordering::Release);
        // Let the 5 ms fade play out before the stream closes.
        std::thread::sleep(Duration::from_millis(40));
        drop(self.device);
    }
}

/// Runs on the audio thread.
struct LiveSource {
    renderer: CueRenderer,
    shared: Arc<Shared>,
    seen: u64,
    countdown: u32,
    check_every: u32,
    /// Samples played since the decision side last published.
    quiet_samples: u64,
    /// After this many, the decision loop is taken to have stalled.
    stall_samples: u64,
    rate: rodio::SampleRate,
}

impl LiveSource {
    fn poll(&mut self) {
        let cmd = self.shared.command.load(Ordering::Acquire);
        let generation = cmd >> 32;
        if generation != 0 && generation != self.seen {
            self.seen = generation;
            self.quiet_samples = 0;
            if let Some(start) = decode(cmd) {
                self.renderer.start(&start);
            }
        } else if generation != 0 {
            // Dead-man switch: a frozen camera or model must not leave the last cue
            // (possibly walk) ticking on; after the stall timeout say unknown.
            let before = self.quiet_samples;
            self.quiet_samples += u64::from(self.check_every);
            if before <= self.stall_samples && self.quiet_samples > self.stall_samples {
                self.renderer.stall();
            }
        }
        self.renderer.set_volume(f32::from_bits(self.shared.volume_bits.load(Ordering::Relaxed)));
        if self.shared.release.load(Ordering::Acquire) {
            self.renderer.release();
        }
    }
}

impl Iterator for LiveSource {
    type Item = rodio::Sample;

    fn next(&mut self) -> Option<rodio::Sample> {
        if self.countdown == 0 {
            self.countdown = self.check_every;
            self.poll();
        }
        self.countdown -= 1;
        if self.renderer.is_released() {
            return None;
        }
        Some(self.renderer.next_sample() as rodio::Sample)
    }
}

impl rodio::Source for LiveSource {
    fn current_span_len(&self) -> Option<usize> {
        None
    }
    fn channels(&self) -> rodio::ChannelCount {
        rodio::ChannelCount::MIN
    }
    fn sample_rate(&self) -> rodio::SampleRate {
        self.rate
    }
    fn total_duration(&self) -> Option<Duration> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_round_trip() {
        assert_eq!(decode(encode(None)), None);
        let messages = [None].into_iter().chain(Message::ALL.map(Some));
        for (k, m) in messages.enumerate() {
            for state in SignalState::ALL {
                for basis in [Basis::Pedestrian, Basis::Vehicle, Basis::None] {
                    let second = Message::ALL.get(k % 3).copied().filter(|_| m.is_some());
                    let start = CueStart { state, basis, restart_pattern: k % 2 == 0, messages: [m, second] };
                    assert_eq!(decode(encode(Some(&start))), Some(start));
                }
            }
        }
    }

    #[test]
    fn a_stalled_decision_loop_falls_to_unknown_by_itself() {
        let rate = 8_000u32;
        let cfg = CueConfig { sample_rate_hz: rate, mode: crate::cue::CueMode::Tones, ..CueConfig::default() };
        let shared = Arc::new(Shared {
            command: AtomicU64::new(0),
            volume_bits: AtomicU32::new(0.8f32.to_bits()),
            release: AtomicBool::new(false),
        });
        let mut source = LiveSource {
            renderer: CueRenderer::new(&cfg, None),
            shared: Arc::clone(&shared),
            seen: 0,
            countdown: 0,
            check_every: rate / 200,
            quiet_samples: 0,
            stall_samples: u64::from(rate),
            rate: rodio::SampleRate::new(rate).unwrap(),
        };
        let walk = CueStart {
            state: SignalState::Walk,
            basis: Basis::Pedestrian,
            restart_pattern: true,
            messages: [Some(Message::Walk), None],
        };
        assert_eq!(decode(encode(Some(&walk))), Some(walk));
        shared.command.store((1 << 32) | encode(Some(&walk)), Ordering::Release);
        for _ in 0..rate / 2 {
            source.next();
        }
        // Still walk half a second after the last update.
        assert_eq!(source.renderer.state(), Some(SignalState::Walk));
        for _ in 0..rate {
            source.next();
        }
        // 1.5 s without an update: the renderer has switched to unknown on its own.
        assert_eq!(source.renderer.state(), Some(SignalState::Unknown));
    }
}
