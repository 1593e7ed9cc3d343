//! Cue stage: turns the steady decision into what the user hears.
//!
//! - [`tones`]: one synthesised, repeating pattern per state (rapid tick for walk,
//!   slow tock for don't walk, a falling two-tone for changing, a soft heartbeat for
//!   unknown), pure Rust and testable without an audio device.
//! - [`speech`]: short messages in English or Mandarin, pre-rendered with espeak-ng by
//!   `tools/make_speech.sh` and compiled in. No message says "safe".
//! - [`SpeechPolicy`]: when a change is spoken and when it is only a tone change (walk
//!   at once, other changes once they hold, at most four such messages a minute).
//! - [`CueRenderer`]: mixes the two into one stream; a new pattern or message cuts what
//!   is playing at once, and nothing is queued.
//! - [`CuePlayer`]: the one type the pipeline calls. `update(t_s, state, basis, seen)` never
//!   blocks; it writes a WAV along media time, or publishes the latest state to the
//!   speaker's audio thread, which reads it every 5 ms (rodio's periodic-access idea).
//!
//! ```text
//! Decision.state/basis --CuePlayer::update--> CueRenderer --> WAV file | speaker | nothing
//!                                   \--> Announcement (for `{"event":"announce"}` JSON)
//! ```
//!
//! The speaker needs the `audio` cargo feature (rodio); without it, or without a sound
//! device, the player says so once and writes a WAV file instead.
//!
//! Imports: `signal`.

mod player;
pub mod policy;
mod render;
pub mod speech;
pub mod tones;

pub use player::CuePlayer;
pub use policy::SpeechPolicy;
pub use render::{CueRenderer, CueStart};
pub use speech::{Message, SpeechBank};

use crate::signal::{Basis, SignalState};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// What the user hears: tones, speech, or both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CueMode {
    /// Only the tone patterns.
    Tones,
    /// Only spoken messages (repeated every `speech_repeat_s`).
    Speech,
    /// Tone patterns, with a spoken message on each change (tones ducked under it).
    #[default]
    Both,
}

impl FromStr for CueMode {
    type Err = CueError;
    fn from_str(s: &str) -> Result<Self, CueError> {
        match s {
            "tones" => Ok(CueMode::Tones),
            "speech" => Ok(CueMode::Speech),
            "both" => Ok(CueMode::Both),
            _ => Err(CueError::Parse { what: "mode", value: s.to_string(), expected: "tones, speech or both" }),
        }
    }
}

/// Language of the spoken messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Lang {
    /// English.
    #[default]
    En,
    /// Mandarin Chinese.
    Zh,
}

impl Lang {
    /// The code used on the command line and under `assets/speech/`.
    pub fn as_str(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Zh => "zh",
        }
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Lang {
    type Err = CueError;
    fn from_str(s: &str) -> Result<Self, CueError> {
        match s {
            "en" => Ok(Lang::En),
            "zh" | "cmn" => Ok(Lang::Zh),
            _ => Err(CueError::Parse { what: "language", value: s.to_string(), expected: "en or zh" }),
        }
    }
}

/// Settings of the cue stage.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CueConfig {
    /// Tones, speech or both; default both.
    pub mode: CueMode,
    /// Language of the spoken messages; default en.
    pub lang: Lang,
    /// Output volume, `[0, 1]`; default 0.8 (headroom under the clip limit).
    pub volume: f32,
    /// Gain of the tones while a message is spoken, `[0, 1]`; default 0.3, so the
    /// pattern stays audible but the words are clear.
    pub speech_duck: f32,
    /// In speech-only mode, the current message is repeated this often, s, so the user
    /// knows the device is alive; 0 turns repeats off; default 4.0.
    pub speech_repeat_s: f64,
    /// Sample rate of WAV output, Hz; default 48,000 (the speaker uses its own rate).
    pub sample_rate_hz: u32,
    /// Where the speaker output falls back to when there is no audio device; default
    /// `safecross-cues.wav` in the system's temporary folder (`/tmp` on Linux), not in
    /// whatever folder `run` was started from, such as a clone of this repository.
    pub fallback_wav: PathBuf,
    /// If the decision loop sends nothing for this long, s (a camera or model that
    /// hangs), the speaker switches to the unknown cue by itself, so a frozen pipeline
    /// never keeps a walk tick going; default 1.0, like the smoother's stall timeout.
    pub stall_timeout_s: f64,
}

impl Default for CueConfig {
    fn default() -> Self {
        Self {
            mode: CueMode::Both,
            lang: Lang::En,
            volume: 0.8,
            speech_duck: 0.3,
            speech_repeat_s: 4.0,
            sample_rate_hz: 48_000,
            fallback_wav: default_fallback_wav(),
            stall_timeout_s: 1.0,
        }
    }
}

/// `safecross-cues.wav` in the system's temporary folder; a bare name in a browser,
/// where there is no file system to ask (and no WAV is written).
fn default_fallback_wav() -> PathBuf {
    if cfg!(target_arch = "wasm32") {
        PathBuf::from("safecross-cues.wav")
    } else {
        std::env::temp_dir().join("safecross-cues.wav")
    }
}

impl CueConfig {
    /// Checks ranges once, at start-up.
    ///
    /// # Errors
    /// [`CueError::Config`] naming the bad field.
    pub fn validate(&self) -> Result<(), CueError> {
        let check = |field: &'static str, value: f64, lo: f64, hi: f64, range: &'static str| {
            if value.is_finite() && (lo..=hi).contains(&value) {
                Ok(())
            } else {
                Err(CueError::Config { field, value, range })
            }
        };
        check("volume", self.volume.into(), 0.0, 1.0, "[0, 1]")?;
        check("speech_duck", self.speech_duck.into(), 0.0, 1.0, "[0, 1]")?;
        check("speech_repeat_s", self.speech_repeat_s, 0.0, 600.0, "[0, 600]")?;
        check("stall_timeout_s", self.stall_timeout_s, 0.05, 60.0, "[0.05, 60]")?;
        check("sample_rate_hz", self.sample_rate_hz.into(), 8_000.0, 192_000.0, "[8000, 192000]")?;
        Ok(())
    }
}

/// Where the sound goes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum AudioOutput {
    /// The default sound device; falls back to [`CueConfig::fallback_wav`].
    #[default]
    Speaker,
    /// A WAV file rendered along media time (deterministic).
    Wav(PathBuf),
    /// No sound (announcements are still returned).
    None,
}

impl FromStr for AudioOutput {
    type Err = CueError;
    /// Parses `speaker`, `wav:<path>` or `none`.
    fn from_str(s: &str) -> Result<Self, CueError> {
        match s {
            "speaker" => Ok(AudioOutput::Speaker),
            "none" => Ok(AudioOutput::None),
            _ => match s.strip_prefix("wav:") {
                Some(p) if !p.is_empty() => Ok(AudioOutput::Wav(PathBuf::from(p))),
                _ => Err(CueError::Parse {
                    what: "audio output",
                    value: s.to_string(),
                    expected: "speaker, wav:<path> or none",
                }),
            },
        }
    }
}

/// A cue or message starting, for the `{"event":"announce", ...}` JSON line.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename = "announce")]
pub struct Announcement {
    /// Media time of the change, s.
    pub t_s: f64,
    /// The state now heard.
    pub state: SignalState,
    /// The basis now heard.
    pub basis: Basis,
    /// Name of the tone pattern that starts, None when none starts (speech-only mode,
    /// or only the basis changed).
    pub pattern: Option<&'static str>,
    /// Ids of the spoken messages, in order (empty in tones-only mode).
    pub messages: Vec<&'static str>,
    /// What is said, in the chosen language (empty in tones-only mode).
    pub text: String,
    /// Language of `text`.
    pub lang: Lang,
}

/// Why the cue stage cannot start or write.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CueError {
    /// A config value is out of range.
    #[error("cue config: {field} = {value} is out of range {range}")]
    Config {
        /// Field name.
        field: &'static str,
        /// Given value.
        value: f64,
        /// Allowed range.
        range: &'static str,
    },
    /// A command-line value was not understood.
    #[error("unknown {what} {value:?}, expected {expected}")]
    Parse {
        /// What was parsed.
        what: &'static str,
        /// The given text.
        value: String,
        /// What is accepted.
        expected: &'static str,
    },
    /// An embedded speech clip cannot be decoded.
    #[error("speech clip {lang}/{message}.wav: {why}")]
    Speech {
        /// Language.
        lang: Lang,
        /// Message id.
        message: &'static str,
        /// What is wrong.
        why: String,
    },
    /// The WAV output cannot be created or written.
    #[error("writing {path}")]
    Wav {
        /// The output path.
        path: PathBuf,
        /// The underlying error.
        source: hound::Error,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_parse() {
        assert_eq!("speaker".parse::<AudioOutput>().ok(), Some(AudioOutput::Speaker));
        assert_eq!("none".parse::<AudioOutput>().ok(), Some(AudioOutput::None));
        assert_eq!("wav:/tmp/a.wav".parse::<AudioOutput>().ok(), Some(AudioOutput::Wav("/tmp/a.wav".into())));
        assert!("wav:".parse::<AudioOutput>().is_err());
        assert!("loud".parse::<AudioOutput>().is_err());
        assert_eq!("zh".parse::<Lang>().ok(), Some(Lang::Zh));
        assert_eq!("tones".parse::<CueMode>().ok(), Some(CueMode::Tones));
    }

    #[test]
    fn announcement_json_has_event_tag() {
        let a = Announcement {
            t_s: 1.5,
            state: SignalState::Walk,
            basis: Basis::Pedestrian,
            pattern: Some("walk_tick"),
            messages: vec!["walk"],
            text: "Walk sign is on".into(),
            lang: Lang::En,
        };
        let j = serde_json::to_value(&a).map_err(|e| e.to_string());
        let j = match j {
            Ok(j) => j,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(j["event"], "announce");
        assert_eq!(j["state"], "walk");
        assert_eq!(j["basis"], "pedestrian");
    }

    #[test]
    fn default_config_is_valid() {
        assert!(CueConfig::default().validate().is_ok());
        assert!(CueConfig { volume: 1.5, ..CueConfig::default() }.validate().is_err());
    }
}
