//! The cue player: the one type the pipeline calls. It sends the renderer's output to
//! a WAV file (along media time), to the speaker (on rodio's audio thread), or
//! nowhere, and reports an [`Announcement`] whenever a cue or message starts.

use super::policy::SpeechPolicy;
use super::render::{CueRenderer, CueStart};
use super::speech::SpeechBank;
use super::tones;
use super::{Announcement, AudioOutput, CueConfig, CueError, CueMode, Lang};
use crate::signal::{Basis, SignalState};
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

/// Loads the speech clips when the mode speaks.
fn bank_for(config: &CueConfig) -> Result<Option<SpeechBank>, CueError> {
    if config.mode == CueMode::Tones {
        Ok(None)
    } else {
        SpeechBank::load(config.lang, config.sample_rate_hz).map(Some)
    }
}

/// Renders cues into a WAV file along media time.
struct WavSink {
    path: PathBuf,
    renderer: CueRenderer,
    writer: hound::WavWriter<BufWriter<File>>,
    /// Media time of sample 0 (the first update), s.
    origin_s: Option<f64>,
    written: u64,
    buf: Vec<f32>,
}

impl WavSink {
    fn create(path: &Path, config: &CueConfig) -> Result<Self, CueError> {
        let renderer = CueRenderer::new(config, bank_for(config)?);
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: config.sample_rate_hz,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let writer = hound::WavWriter::create(path, spec)
            .map_err(|source| CueError::Wav { path: path.to_path_buf(), source })?;
        Ok(Self { path: path.to_path_buf(), renderer, writer, origin_s: None, written: 0, buf: vec![0.0; 1024] })
    }

    /// Writes samples up to media time `t_s`.
    fn render_to(&mut self, t_s: f64) -> Result<(), CueError> {
        let origin = *self.origin_s.get_or_insert(t_s);
        let target = ((t_s - origin) * f64::from(self.renderer.sample_rate())).round();
        if !(target.is_finite() && target > self.written as f64) {
            return Ok(());
        }
        self.write(target as u64 - self.written)
    }

    fn write(&mut self, mut n: u64) -> Result<(), CueError> {
        while n > 0 {
            let k = n.min(self.buf.len() as u64) as usize;
            let chunk = &mut self.buf[..k];
            self.renderer.fill(chunk);
            for s in chunk.iter() {
                let v = (s * 32767.0).round().clamp(-32768.0, 32767.0) as i16;
                self.writer.write_sample(v).map_err(|source| CueError::Wav { path: self.path.clone(), source })?;
            }
            self.written += k as u64;
            n -= k as u64;
        }
        Ok(())
    }

    /// Fades out (5 ms) and closes the file.
    fn finish(mut self) -> Result<PathBuf, CueError> {
        self.renderer.release();
        let n = u64::from(self.renderer.release_len());
        self.write(n)?;
        self.writer.finalize().map_err(|source| CueError::Wav { path: self.path.clone(), source })?;
        Ok(self.path)
    }
}

enum Sink {
    Silent,
    Wav(Box<WavSink>),
    #[cfg(feature = "audio")]
    Speaker(speaker::SpeakerSink),
}

/// Plays the cue for the latest decision. See the module docs.
///
/// ```no_run
/// use safecross::cue::{AudioOutput, CueConfig, CuePlayer};
/// use safecross::signal::{Basis, SignalState};
/// # fn main() -> Result<(), safecross::cue::CueError> {
/// let mut player = CuePlayer::open(CueConfig::default(), AudioOutput::Wav("cues.wav".into()))?;
/// if let Some(a) = player.update(0.0, SignalState::DontWalk, Basis::Pedestrian, true)? {
///     println!("{}", serde_json::to_string(&a).unwrap_or_default());
/// }
/// player.update(3.0, SignalState::Walk, Basis::Pedestrian, true)?;
/// player.update(6.0, SignalState::Walk, Basis::Pedestrian, true)?; // renders up to 6 s
/// player.finish()?;
/// # Ok(()) }
/// ```
pub struct CuePlayer {
    config: CueConfig,
    sink: Sink,
    policy: SpeechPolicy,
    notice: Option<String>,
}

impl CuePlayer {
    /// Opens the output. For [`AudioOutput::Speaker`] without a usable sound device
    /// (or without the `audio` feature), logs one warning, writes to
    /// [`CueConfig::fallback_wav`] instead, and keeps the reason in
    /// [`CuePlayer::notice`].
    ///
    /// # Errors
    /// [`CueError::Config`] for a bad config, [`CueError::Wav`] if the WAV file cannot
    /// be created, [`CueError::Speech`] if a speech clip is damaged.
    pub fn open(config: CueConfig, output: AudioOutput) -> Result<Self, CueError> {
        config.validate()?;
        let mut notice = None;
        let sink = match output {
            AudioOutput::None => Sink::Silent,
            AudioOutput::Wav(path) => Sink::Wav(Box::new(WavSink::create(&path, &config)?)),
            AudioOutput::Speaker => match open_speaker(&config) {
                Ok(sink) => sink,
                Err(why) => {
                    let path = config.fallback_wav.clone();
                    // Said once, by whoever shows `notice` to the user; logged for the record.
                    let msg = format!("no audio output ({why}); writing the cues to {} instead", path.display());
                    tracing::debug!("{msg}");
                    notice = Some(msg);
                    Sink::Wav(Box::new(WavSink::create(&path, &config)?))
                }
            },
        };
        Ok(Self { config, sink, policy: SpeechPolicy::new(), notice })
    }

    /// Speaks for a model that cannot tell signal states (see
    /// [`SpeechPolicy::for_stateless_model`]). Call before the first update.
    pub fn set_stateless_model(&mut self) {
        self.policy = SpeechPolicy::for_stateless_model();
    }

    /// Why the requested output was replaced, if it was (say it to the user once).
    pub fn notice(&self) -> Option<&str> {
        self.notice.as_deref()
    }

    /// The WAV file being written, if any.
    pub fn wav_path(&self) -> Option<&Path> {
        match &self.sink {
            Sink::Wav(w) => Some(&w.path),
            _ => None,
        }
    }

    /// The config in use.
    pub fn config(&self) -> &CueConfig {
        &self.config
    }

    /// Sets the volume, `[0, 1]`, applied within a few ms.
    pub fn set_volume(&mut self, volume: f32) {
        self.config.volume = volume.clamp(0.0, 1.0);
        match &mut self.sink {
            Sink::Wav(w) => w.renderer.set_volume(volume),
            #[cfg(feature = "audio")]
            Sink::Speaker(s) => s.set_volume(volume),
            Sink::Silent => {}
        }
    }

    /// Tells the player the decision at media time `t_s` (s); `seen`: a head was
    /// detected in this frame (false for ticks and lost frames). The
    /// [`SpeechPolicy`] decides what is said. Never blocks on audio: a WAV output renders
    /// up to `t_s` with the previous state first; the speaker picks the change up within
    /// 5 ms. Calling it with an unchanged state advances time (and may speak a message
    /// the policy held back). Returns what starts to be heard, if anything.
    ///
    /// # Errors
    /// [`CueError::Wav`] if writing the WAV file fails.
    pub fn update(
        &mut self,
        t_s: f64,
        state: SignalState,
        basis: Basis,
        seen: bool,
    ) -> Result<Option<Announcement>, CueError> {
        let start = self.policy.update(t_s, state, basis, seen);
        self.play(t_s, start.as_ref())?;
        Ok(start.and_then(|s| Announcement::of(t_s, &s, self.config.mode, self.config.lang)))
    }

    /// The source or the model failed at media time `t_s`: switches to unknown and says
    /// so at once (see [`SpeechPolicy::fault`]). Follow it with [`CuePlayer::play_out`].
    ///
    /// # Errors
    /// [`CueError::Wav`] if writing the WAV file fails.
    pub fn fault(&mut self, t_s: f64) -> Result<Option<Announcement>, CueError> {
        let start = self.policy.fault(t_s);
        self.play(t_s, Some(&start))?;
        Ok(Announcement::of(t_s, &start, self.config.mode, self.config.lang))
    }

    /// Hands one decision's cue to the output: a WAV renders up to `t_s` with what was
    /// playing, then starts `start`; the speaker gets it (or, with None, only the news
    /// that decisions are still coming).
    fn play(&mut self, t_s: f64, start: Option<&CueStart>) -> Result<(), CueError> {
        match &mut self.sink {
            Sink::Wav(w) => {
                w.render_to(t_s)?;
                if let Some(start) = start {
                    w.renderer.start(start);
                }
            }
            #[cfg(feature = "audio")]
            Sink::Speaker(s) => s.publish(start),
            Sink::Silent => {}
        }
        Ok(())
    }

    /// Keeps the current cue sounding for `seconds` after media time `t_s`, so it is
    /// heard before the program ends: after a fault, "unknown" must reach the user
    /// before the exit. A WAV output renders up to `t_s + seconds`; the speaker is waited
    /// for on this thread.
    ///
    /// # Errors
    /// [`CueError::Wav`] if writing the WAV file fails.
    pub fn play_out(&mut self, t_s: f64, seconds: f64) -> Result<(), CueError> {
        match &mut self.sink {
            Sink::Wav(w) => w.render_to(t_s + seconds),
            #[cfg(feature = "audio")]
            Sink::Speaker(_) => {
                std::thread::sleep(std::time::Duration::from_secs_f64(seconds.clamp(0.0, 10.0)));
                Ok(())
            }
            Sink::Silent => Ok(()),
        }
    }

    /// Ends playback with a short fade. Returns the WAV file written, if any.
    ///
    /// # Errors
    /// [`CueError::Wav`] if the WAV file cannot be completed.
    pub fn finish(self) -> Result<Option<PathBuf>, CueError> {
        match self.sink {
            Sink::Wav(w) => w.finish().map(Some),
            #[cfg(feature = "audio")]
            Sink::Speaker(s) => {
                s.finish();
                Ok(None)
            }
            Sink::Silent => Ok(None),
        }
    }
}

impl Announcement {
    /// What the user starts to hear when `start` is played at media time `t_s`, or None
    /// when the mode makes it silent.
    pub fn of(t_s: f64, start: &CueStart, mode: CueMode, lang: Lang) -> Option<Self> {
        let pattern = (start.restart_pattern && mode != CueMode::Speech).then(|| tones::pattern(start.state).name);
        let spoken: Vec<_> =
            if mode == CueMode::Tones { Vec::new() } else { start.messages.iter().flatten().collect() };
        if pattern.is_none() && spoken.is_empty() {
            return None;
        }
        let sep = match lang {
            Lang::En => ". ",
            Lang::Zh => "。",
        };
        Some(Announcement {
            t_s,
            state: start.state,
            basis: start.basis,
            pattern,
            messages: spoken.iter().map(|m| m.id()).collect(),
            text: spoken.iter().map(|m| m.text(lang)).collect::<Vec<_>>().join(sep),
            lang,
        })
    }
}

#[cfg(feature = "audio")]
fn open_speaker(config: &CueConfig) -> Result<Sink, String> {
    // ALSA reports a missing card or a bad config line by line on stderr, around the
    // one-line notice the user does get; catch it on this thread (where the device is
    // opened) and keep it for `-v`.
    #[cfg(target_os = "linux")]
    let alsa_errors = alsa::Output::local_error_handler().ok();
    let sink = speaker::SpeakerSink::open(config).map(Sink::Speaker);
    #[cfg(target_os = "linux")]
    if let Some(errors) = alsa_errors {
        let text = errors.borrow().to_string();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            tracing::debug!("ALSA: {line}");
        }
    }
    sink
}

#[cfg(not(feature = "audio"))]
fn open_speaker(_config: &CueConfig) -> Result<Sink, String> {
    Err("built without the `audio` feature".to_string())
}

#[cfg(feature = "audio")]
mod speaker;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silent_player_still_announces_changes_once() {
        let cfg = CueConfig { mode: CueMode::Both, ..CueConfig::default() };
        let mut p = match CuePlayer::open(cfg, AudioOutput::None) {
            Ok(p) => p,
            Err(e) => panic!("{e}"),
        };
        let a = p.update(0.0, SignalState::DontWalk, Basis::Pedestrian, true).ok().flatten();
        assert_eq!(a.as_ref().map(|a| a.text.as_str()), Some("Wait"));
        assert_eq!(a.and_then(|a| a.pattern), Some("dont_walk_tock"));
        assert!(p.update(0.1, SignalState::DontWalk, Basis::Pedestrian, true).ok().flatten().is_none());
        let w = p.update(0.2, SignalState::Walk, Basis::Vehicle, true).ok().flatten();
        assert_eq!(w.map(|a| a.text), Some("Following the vehicle signal. Vehicle light is green".to_string()));
    }

    #[test]
    fn tones_only_says_nothing() {
        let cfg = CueConfig { mode: CueMode::Tones, ..CueConfig::default() };
        let mut p = match CuePlayer::open(cfg, AudioOutput::None) {
            Ok(p) => p,
            Err(e) => panic!("{e}"),
        };
        let a = p.update(0.0, SignalState::Walk, Basis::Pedestrian, true).ok().flatten();
        assert_eq!(a.as_ref().map(|a| a.messages.len()), Some(0));
        // A basis-only change is silent in tones-only mode.
        assert!(p.update(0.1, SignalState::Walk, Basis::Vehicle, true).ok().flatten().is_none());
    }
}
