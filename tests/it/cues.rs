//! Audio cue tests: render each state's cue to a WAV file, as the user would hear it,
//! and measure it (tick rate by onset detection, spectral centroid, clicks); check the
//! speech clips; check that a state change interrupts the cue at once.

use crate::util;
use safecross::cue::tones::{self, ToneVoice};
use safecross::cue::{AudioOutput, CueConfig, CueMode, CuePlayer, Lang, Message};
use safecross::signal::{Basis, SignalState};
use std::path::Path;

pub(crate) fn read_wav(path: &Path) -> (Vec<f32>, u32) {
    let mut r = hound::WavReader::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let spec = r.spec();
    assert_eq!(spec.channels, 1);
    assert_eq!(spec.bits_per_sample, 16);
    let x = r.samples::<i16>().map(|s| f32::from(s.expect("sample")) / 32768.0).collect();
    (x, spec.sample_rate)
}

/// Renders `(t_s, state)` changes up to `end_s` through the WAV output, reads it back.
fn render(changes: &[(f64, SignalState)], end_s: f64, mode: CueMode, sample_rate_hz: u32) -> Vec<f32> {
    let dir = crate::util::temp_dir();
    let path = dir.path().join("cue.wav");
    let cfg = CueConfig { mode, sample_rate_hz, volume: 0.8, ..CueConfig::default() };
    let mut p = CuePlayer::open(cfg, AudioOutput::Wav(path.clone())).expect("open wav");
    for (t, s) in changes {
        let basis = if *s == SignalState::Unknown { Basis::None } else { Basis::Pedestrian };
        p.update(*t, *s, basis, true).expect("update");
    }
    let last = changes.last().map_or(SignalState::Unknown, |c| c.1);
    p.update(end_s, last, if last == SignalState::Unknown { Basis::None } else { Basis::Pedestrian }, true)
        .expect("update");
    assert_eq!(p.finish().expect("finish").as_deref(), Some(path.as_path()));
    let (x, sr) = read_wav(&path);
    assert_eq!(sr, sample_rate_hz);
    x
}

fn render_state(state: SignalState, seconds: f64, sr: u32) -> Vec<f32> {
    render(&[(0.0, state)], seconds, CueMode::Tones, sr)
}

/// RMS envelope in 5 ms hops.
fn envelope(x: &[f32], sr: u32) -> (Vec<f32>, f64) {
    let hop = (sr / 200) as usize;
    let env = x.chunks(hop).map(|c| (c.iter().map(|v| v * v).sum::<f32>() / c.len() as f32).sqrt()).collect();
    (env, hop as f64 / f64::from(sr))
}

/// Onset times, s: the envelope rises above a quarter of its peak after having fallen
/// below a twelfth of it.
pub(crate) fn onsets(x: &[f32], sr: u32) -> Vec<f64> {
    let (env, hop_s) = envelope(x, sr);
    let peak = env.iter().fold(0.0f32, |m, v| m.max(*v));
    let (hi, lo) = (peak / 4.0, peak / 12.0);
    let mut armed = true;
    let mut out = Vec::new();
    for (i, e) in env.iter().enumerate() {
        if armed && *e >= hi {
            out.push(i as f64 * hop_s);
            armed = false;
        } else if *e < lo {
            armed = true;
        }
    }
    out
}

fn rate_hz(onsets: &[f64]) -> f64 {
    assert!(onsets.len() >= 2, "too few onsets: {onsets:?}");
    (onsets.len() - 1) as f64 / (onsets[onsets.len() - 1] - onsets[0])
}

/// In-place radix-2 FFT of (re, im) pairs; `buf.len()` is a power of two.
fn fft(buf: &mut [(f64, f64)]) {
    let n = buf.len();
    let mut j = 0;
    for i in 1..n {
        let mut bit = n >> 1;
        while j & bit != 0 {
            j ^= bit;
            bit >>= 1;
        }
        j |= bit;
        if i < j {
            buf.swap(i, j);
        }
    }
    let mut len = 2;
    while len <= n {
        let ang = -2.0 * std::f64::consts::PI / len as f64;
        for start in (0..n).step_by(len) {
            for k in 0..len / 2 {
                let (wr, wi) = ((ang * k as f64).cos(), (ang * k as f64).sin());
                let (ar, ai) = buf[start + k];
                let (br, bi) = buf[start + k + len / 2];
                let (tr, ti) = (br * wr - bi * wi, br * wi + bi * wr);
                buf[start + k] = (ar + tr, ai + ti);
                buf[start + k + len / 2] = (ar - tr, ai - ti);
            }
        }
        len <<= 1;
    }
}

/// Magnitude-weighted spectral centroid over all non-silent 4096-sample frames, Hz.
fn spectral_centroid(x: &[f32], sr: u32) -> f64 {
    const N: usize = 4096;
    let mut mag = vec![0.0f64; N / 2];
    for frame in x.chunks_exact(N) {
        if frame.iter().all(|v| v.abs() < 1e-3) {
            continue;
        }
        let mut buf: Vec<(f64, f64)> = frame
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let w = 0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / N as f64).cos();
                (f64::from(*v) * w, 0.0)
            })
            .collect();
        fft(&mut buf);
        for (k, m) in mag.iter_mut().enumerate() {
            *m += (buf[k].0.powi(2) + buf[k].1.powi(2)).sqrt();
        }
    }
    let bin_hz = f64::from(sr) / N as f64;
    let total: f64 = mag.iter().sum();
    assert!(total > 0.0, "silent rendering");
    mag.iter().enumerate().map(|(k, m)| k as f64 * bin_hz * m).sum::<f64>() / total
}

fn max_step(x: &[f32]) -> f32 {
    x.windows(2).map(|w| (w[1] - w[0]).abs()).fold(0.0, f32::max)
}

fn peak(x: &[f32]) -> f32 {
    x.iter().fold(0.0, |m, v| m.max(v.abs()))
}

#[test]
fn walk_ticks_8_to_10_per_second_and_dont_walk_about_once() {
    let walk = rate_hz(&onsets(&render_state(SignalState::Walk, 5.0, 48_000), 48_000));
    let dont = rate_hz(&onsets(&render_state(SignalState::DontWalk, 6.0, 48_000), 48_000));
    assert!((8.0..=10.0).contains(&walk), "walk rate {walk} Hz");
    assert!((0.8..=1.2).contains(&dont), "dont_walk rate {dont} Hz");
    // Distinguishable by rate alone, with a wide margin.
    assert!(walk / dont > 5.0);
}

#[test]
fn changing_and_unknown_have_their_own_patterns() {
    let sr = 48_000;
    let walk = render_state(SignalState::Walk, 4.0, sr);
    let changing = render_state(SignalState::Changing, 4.0, sr);
    let unknown = render_state(SignalState::Unknown, 6.0, sr);
    let ch_rate = rate_hz(&onsets(&changing, sr));
    assert!((1.5..=4.0).contains(&ch_rate), "changing onset rate {ch_rate} Hz lies between walk and dont_walk");
    let un_rate = rate_hz(&onsets(&unknown, sr));
    assert!(un_rate < 3.0, "unknown onset rate {un_rate} Hz must be far from the walk tick");
    assert!(peak(&unknown) < 0.5 * peak(&walk), "unknown must be quiet: {} vs walk {}", peak(&unknown), peak(&walk));
    // Changing is a pitch fall: two different fundamentals, unlike the one-pitch ticks.
    let seg = |a: f64, b: f64| &changing[(a * f64::from(sr)) as usize..(b * f64::from(sr)) as usize];
    let (high, low) = (spectral_centroid(seg(0.0, 0.12), sr), spectral_centroid(seg(0.2, 0.32), sr));
    assert!(high - low > 150.0, "changing should fall in pitch: {high} Hz then {low} Hz");
}

#[test]
fn every_cue_has_its_energy_between_300_and_1500_hz() {
    for state in SignalState::ALL {
        let x = render_state(state, 4.0, 48_000);
        let c = spectral_centroid(&x, 48_000);
        assert!((300.0..=1500.0).contains(&c), "{state}: spectral centroid {c} Hz");
    }
}

#[test]
fn cues_are_click_free() {
    let sr = 48_000;
    for state in SignalState::ALL {
        let x = render_state(state, 3.0, sr);
        assert!(x[0].abs() < 0.01 && x[x.len() - 1].abs() < 0.01, "{state}: edges {} {}", x[0], x[x.len() - 1]);
        let step = max_step(&x);
        assert!(step < 0.15, "{state}: sample-to-sample jump {step}");
        // The earcons are short: no sound lasts more than 150 ms.
        let (env, hop_s) = envelope(&x, sr);
        let mut run = 0;
        for e in env {
            run = if e > 1e-3 { run + 1 } else { 0 };
            assert!(run as f64 * hop_s <= 0.16, "{state}: an earcon lasts longer than 150 ms");
        }
    }
    // Cutting a cue at any moment does not click either (end fade of `finish`).
    let x = render_state(SignalState::Changing, 0.05, sr);
    assert!(x[x.len() - 1].abs() < 0.01 && max_step(&x) < 0.15);
}

#[test]
fn a_state_change_interrupts_the_cue_at_once() {
    let sr = 48_000;
    let change_s = 1.02; // inside the dont_walk tock that started at 1.0 s
    let x = render(&[(0.0, SignalState::DontWalk), (change_s, SignalState::Walk)], 2.0, CueMode::Tones, sr);
    let at = (change_s * f64::from(sr)).round() as usize;
    // Within 5 ms of the change the output is exactly the walk pattern from its start.
    let mut walk = ToneVoice::new(&tones::WALK, sr);
    let fade = (0.005 * f64::from(sr)) as usize;
    for i in 0..(0.9 * f64::from(sr)) as usize {
        let want = walk.next_sample() * 0.8;
        if i >= fade {
            assert!(
                (x[at + i] - want).abs() < 2e-4,
                "{} ms after the change: {} vs {}",
                i * 1000 / sr as usize,
                x[at + i],
                want
            );
        }
    }
    // The first walk onset is within a few ms of the change, and there is no click.
    let on = onsets(&x[at - sr as usize / 100..], sr);
    assert!(on[0] <= 0.015, "walk tick starts {} s after the change", on[0] - 0.01);
    assert!(max_step(&x[at - 100..at + 1000]) < 0.15);
}

#[test]
fn speech_interrupts_speech_without_a_queue() {
    let sr = 16_000;
    // Three changes within 0.3 s, each spoken at once (into and out of walk): only the
    // last message plays out.
    let x = render(
        &[(0.0, SignalState::DontWalk), (0.1, SignalState::Walk), (0.3, SignalState::Changing)],
        3.0,
        CueMode::Speech,
        sr,
    );
    let bank = safecross::cue::SpeechBank::load(Lang::En, sr).expect("bank");
    let clip = bank.clip(Message::Changing);
    let at = (0.3 * f64::from(sr)) as usize;
    let fade = sr as usize / 200;
    for i in fade..clip.len() {
        assert!((x[at + i] - clip[i] * 0.8).abs() < 2e-4, "sample {i} of the changing message differs");
    }
    // After it, silence (no stale "wait" or "walk sign is on" follows).
    let tail = &x[at + clip.len() + 10..];
    assert!(peak(tail) < 1e-3, "something plays after the last message");
}

#[test]
fn speech_clips_exist_for_every_message_and_are_not_silent() {
    let script = std::fs::read_to_string(util::repo_root().join("tools/make_speech.sh")).expect("make_speech.sh");
    for lang in [Lang::En, Lang::Zh] {
        for m in Message::ALL {
            let path = util::repo_root().join(format!("assets/speech/{}/{}.wav", lang.as_str(), m.id()));
            let (x, sr) = read_wav(&path);
            assert_eq!(sr, 16_000, "{}", path.display());
            let secs = x.len() as f64 / f64::from(sr);
            assert!((0.2..=6.0).contains(&secs), "{}: {secs} s", path.display());
            let rms = (x.iter().map(|v| v * v).sum::<f32>() / x.len() as f32).sqrt();
            assert!(rms > 0.02, "{} is nearly silent (rms {rms})", path.display());
            assert!(x[0].abs() < 0.02 && x[x.len() - 1].abs() < 0.02, "{} starts or ends with a click", path.display());
            let text = m.text(lang);
            assert!(script.contains(&format!("{} \"{}\"", m.id(), text)), "make_speech.sh does not render {text:?}");
            assert!(!text.to_lowercase().contains("safe") && !text.contains("安全"), "{text}");
        }
    }
    assert!(!script.to_lowercase().contains("\"safe") && !script.contains("安全"));
}

#[test]
fn both_mode_speaks_over_ducked_tones() {
    let sr = 16_000;
    let both = render(&[(0.0, SignalState::Walk)], 3.0, CueMode::Both, sr);
    let tones_only = render(&[(0.0, SignalState::Walk)], 3.0, CueMode::Tones, sr);
    let bank = safecross::cue::SpeechBank::load(Lang::En, sr).expect("bank");
    let n = bank.clip(Message::Walk).len();
    // While speaking, the output is the message plus the ticks at about 0.3.
    let speech: Vec<f32> = bank.clip(Message::Walk).iter().map(|v| v * 0.8).collect();
    let resid: Vec<f32> = both[..n].iter().zip(&speech).map(|(a, b)| a - b).collect();
    let ratio = peak(&resid[sr as usize / 50..]) / peak(&tones_only[..n]);
    assert!((0.2..=0.4).contains(&ratio), "ducked tick level {ratio}");
    // After the message the ticks are back at full level.
    let after = &both[n + sr as usize / 10..];
    assert!((peak(after) - peak(&tones_only)).abs() < 0.02);
    assert!((8.0..=10.0).contains(&rate_hz(&onsets(after, sr))));
}

#[test]
fn cues_command_renders_a_wav() {
    let dir = crate::util::temp_dir();
    let out = dir.path().join("walk.wav");
    let res = std::process::Command::new(util::safecross_bin())
        .args(["cues", "--state", "walk", "--seconds", "2", "--mode", "both", "--lang", "zh", "--out"])
        .arg(&out)
        .output()
        .expect("run safecross");
    assert!(res.status.success(), "{}", String::from_utf8_lossy(&res.stderr));
    let stdout = String::from_utf8_lossy(&res.stdout);
    let j: serde_json::Value = serde_json::from_str(stdout.lines().next().unwrap_or("")).expect("json line");
    assert_eq!(j["event"], "announce");
    assert_eq!(j["state"], "walk");
    assert_eq!(j["text"], "行人绿灯");
    let (x, sr) = read_wav(&out);
    assert_eq!(sr, 48_000);
    assert!((x.len() as f64 / 48_000.0 - 2.0).abs() < 0.01);
    let bad = std::process::Command::new(util::safecross_bin())
        .args(["cues", "--state", "go", "--out"])
        .arg(&out)
        .output()
        .expect("run safecross");
    assert!(!bad.status.success());
}

#[test]
fn speaker_without_a_device_falls_back_to_a_wav_file_once() {
    let dir = crate::util::temp_dir();
    let fallback = dir.path().join("fallback.wav");
    let cfg = CueConfig { fallback_wav: fallback.clone(), mode: CueMode::Tones, ..CueConfig::default() };
    let mut p = CuePlayer::open(cfg, AudioOutput::Speaker).expect("open speaker or fallback");
    let fell_back = p.notice().map(str::to_owned);
    p.update(0.0, SignalState::DontWalk, Basis::Pedestrian, true).expect("update");
    p.update(1.5, SignalState::DontWalk, Basis::Pedestrian, true).expect("update");
    let written = p.finish().expect("finish");
    match fell_back {
        Some(notice) => {
            // No sound device here (the usual case on CI): the cues went to the file.
            assert!(notice.contains("fallback.wav"), "{notice}");
            assert_eq!(written.as_deref(), Some(fallback.as_path()));
            let (x, _) = read_wav(&fallback);
            assert_eq!(onsets(&x, 48_000).len(), 2, "1.5 s of dont_walk holds two tocks");
        }
        None => {
            util::skip("speaker_without_a_device_falls_back", "a sound device is present; played to it instead");
            assert_eq!(written, None);
        }
    }
}
