//! Spoken messages: their texts in each language and the pre-rendered clips.
//!
//! The clips are rendered once by `tools/make_speech.sh` (espeak-ng, 16 kHz mono
//! 16-bit WAV) into `assets/speech/{en,zh}/<id>.wav` and compiled into the binary, so
//! nothing needs a network or a TTS engine at run time. No message ever says "safe":
//! the device reports what the signal shows, the user decides.

use super::{CueError, Lang};
use serde::Serialize;
use std::io::Cursor;

/// One spoken message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Message {
    /// The pedestrian signal shows walk.
    Walk,
    /// The vehicle signal the user follows shows green (never called "walk").
    VehicleGreen,
    /// Don't walk.
    Wait,
    /// Flashing or about to change: do not start crossing.
    Changing,
    /// No usable signal.
    NoSignal,
    /// Just started: nothing decided yet. Said instead of [`Message::NoSignal`] at the
    /// start, when a head may already be in view but is still being confirmed ("no
    /// signal found" beside a visible head contradicts what a sighted helper sees).
    Looking,
    /// Unknown, but a head is in view: it is being confirmed, or it reads two ways. Said
    /// instead of [`Message::NoSignal`] then.
    Checking,
    /// The decision now rests on a vehicle signal.
    FollowingVehicle,
    /// A signal head is in view, but the model cannot tell signal states (a COCO
    /// detector's `traffic light`): said instead of [`Message::Checking`], which would
    /// promise a decision that never comes.
    StateUnknown,
}

impl Message {
    /// All messages.
    pub const ALL: [Message; 9] = [
        Message::Walk,
        Message::VehicleGreen,
        Message::Wait,
        Message::Changing,
        Message::NoSignal,
        Message::Looking,
        Message::Checking,
        Message::FollowingVehicle,
        Message::StateUnknown,
    ];

    /// File stem of the clip under `assets/speech/<lang>/`.
    pub fn id(self) -> &'static str {
        match self {
            Message::Walk => "walk",
            Message::VehicleGreen => "vehicle_green",
            Message::Wait => "wait",
            Message::Changing => "changing",
            Message::NoSignal => "no_signal",
            Message::Looking => "looking",
            Message::Checking => "checking",
            Message::FollowingVehicle => "following_vehicle",
            Message::StateUnknown => "state_unknown",
        }
    }

    /// What the clip says. Must match `tools/make_speech.sh`.
    pub fn text(self, lang: Lang) -> &'static str {
        match (lang, self) {
            (Lang::En, Message::Walk) => "Walk sign is on",
            (Lang::En, Message::VehicleGreen) => "Vehicle light is green",
            (Lang::En, Message::Wait) => "Wait",
            (Lang::En, Message::Changing) => "Signal changing, do not start",
            (Lang::En, Message::NoSignal) => "No signal found",
            (Lang::En, Message::Looking) => "Looking for the signal",
            (Lang::En, Message::Checking) => "Signal seen, checking",
            (Lang::En, Message::FollowingVehicle) => "Following the vehicle signal",
            (Lang::En, Message::StateUnknown) => "Signal seen, state unknown",
            (Lang::Zh, Message::Walk) => "行人绿灯",
            (Lang::Zh, Message::VehicleGreen) => "机动车绿灯",
            (Lang::Zh, Message::Wait) => "红灯，请等待",
            (Lang::Zh, Message::Changing) => "绿灯即将结束，请勿开始通行",
            (Lang::Zh, Message::NoSignal) => "未找到信号灯",
            (Lang::Zh, Message::Looking) => "正在寻找信号灯",
            (Lang::Zh, Message::Checking) => "看到信号灯，正在确认",
            (Lang::Zh, Message::FollowingVehicle) => "跟随机动车信号灯",
            (Lang::Zh, Message::StateUnknown) => "看到信号灯，无法判断状态",
        }
    }

    /// The embedded WAV bytes of the clip.
    fn wav_bytes(self, lang: Lang) -> &'static [u8] {
        macro_rules! clip {
            ($lang:literal, $id:literal) => {
                include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/speech/", $lang, "/", $id, ".wav"))
            };
        }
        match (lang, self) {
            (Lang::En, Message::Walk) => clip!("en", "walk"),
            (Lang::En, Message::VehicleGreen) => clip!("en", "vehicle_green"),
            (Lang::En, Message::Wait) => clip!("en", "wait"),
            (Lang::En, Message::Changing) => clip!("en", "changing"),
            (Lang::En, Message::NoSignal) => clip!("en", "no_signal"),
            (Lang::En, Message::Looking) => clip!("en", "looking"),
            (Lang::En, Message::Checking) => clip!("en", "checking"),
            (Lang::En, Message::FollowingVehicle) => clip!("en", "following_vehicle"),
            (Lang::En, Message::StateUnknown) => clip!("en", "state_unknown"),
            (Lang::Zh, Message::Walk) => clip!("zh", "walk"),
            (Lang::Zh, Message::VehicleGreen) => clip!("zh", "vehicle_green"),
            (Lang::Zh, Message::Wait) => clip!("zh", "wait"),
            (Lang::Zh, Message::Changing) => clip!("zh", "changing"),
            (Lang::Zh, Message::NoSignal) => clip!("zh", "no_signal"),
            (Lang::Zh, Message::Looking) => clip!("zh", "looking"),
            (Lang::Zh, Message::Checking) => clip!("zh", "checking"),
            (Lang::Zh, Message::FollowingVehicle) => clip!("zh", "following_vehicle"),
            (Lang::Zh, Message::StateUnknown) => clip!("zh", "state_unknown"),
        }
    }
}

/// The clips of one language, decoded and resampled to the output rate.
#[derive(Debug, Clone)]
pub struct SpeechBank {
    lang: Lang,
    clips: Vec<Vec<f32>>,
}

impl SpeechBank {
    /// Decodes the embedded clips of `lang` and resamples them to `sample_rate_hz`.
    ///
    /// # Errors
    /// [`CueError::Speech`] if an embedded clip is not a readable 16-bit mono WAV.
    pub fn load(lang: Lang, sample_rate_hz: u32) -> Result<Self, CueError> {
        let mut clips = Vec::with_capacity(Message::ALL.len());
        for m in Message::ALL {
            let bad = |why: String| CueError::Speech { lang, message: m.id(), why };
            let mut reader = hound::WavReader::new(Cursor::new(m.wav_bytes(lang))).map_err(|e| bad(e.to_string()))?;
            let spec = reader.spec();
            if spec.channels != 1 || spec.bits_per_sample != 16 || spec.sample_format != hound::SampleFormat::Int {
                return Err(bad(format!("expected 16-bit mono, got {spec:?}")));
            }
            let raw: Vec<f32> = reader
                .samples::<i16>()
                .map(|s| s.map(|v| f32::from(v) / 32768.0))
                .collect::<Result<_, _>>()
                .map_err(|e| bad(e.to_string()))?;
            clips.push(resample_linear(&raw, spec.sample_rate, sample_rate_hz));
        }
        Ok(Self { lang, clips })
    }

    /// The language of the clips.
    pub fn lang(&self) -> Lang {
        self.lang
    }

    /// The samples of a message's clip at the output rate.
    pub fn clip(&self, m: Message) -> &[f32] {
        let i = Message::ALL.iter().position(|x| *x == m).unwrap_or(0);
        self.clips.get(i).map_or(&[], Vec::as_slice)
    }
}

/// Linear-interpolation resampling; good enough for speech going up in rate.
pub fn resample_linear(input: &[f32], from_hz: u32, to_hz: u32) -> Vec<f32> {
    if from_hz == to_hz || input.is_empty() || from_hz == 0 || to_hz == 0 {
        return input.to_vec();
    }
    let ratio = f64::from(from_hz) / f64::from(to_hz);
    let n = ((input.len() as f64) / ratio).floor() as usize;
    (0..n)
        .map(|i| {
            let x = i as f64 * ratio;
            let k = x.floor() as usize;
            let f = (x - k as f64) as f32;
            let a = input.get(k).copied().unwrap_or(0.0);
            let b = input.get(k + 1).copied().unwrap_or(0.0);
            a + (b - a) * f
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_clip_loads_and_is_audible() {
        for lang in [Lang::En, Lang::Zh] {
            let bank = SpeechBank::load(lang, 16_000).map_err(|e| e.to_string());
            let bank = match bank {
                Ok(b) => b,
                Err(e) => panic!("{e}"),
            };
            for m in Message::ALL {
                let c = bank.clip(m);
                assert!(c.len() > 16_000 / 5, "{lang:?} {m:?} shorter than 0.2 s");
                let rms = (c.iter().map(|x| x * x).sum::<f32>() / c.len() as f32).sqrt();
                assert!(rms > 0.02, "{lang:?} {m:?} is nearly silent (rms {rms})");
            }
        }
    }

    #[test]
    fn no_message_says_safe() {
        for lang in [Lang::En, Lang::Zh] {
            for m in Message::ALL {
                let t = m.text(lang).to_lowercase();
                assert!(!t.contains("safe") && !t.contains("安全"), "{t}");
            }
        }
    }

    #[test]
    fn resampling_keeps_duration() {
        let x: Vec<f32> = (0..16_000).map(|i| (i as f32 * 0.01).sin()).collect();
        let y = resample_linear(&x, 16_000, 48_000);
        assert_eq!(y.len(), 48_000);
        assert!((y[3000] - x[1000]).abs() < 1e-6);
    }
}
