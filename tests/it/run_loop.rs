//! The run loop keeps time when frames stop, and ends cleanly: a stall or a failing
//! source during walk is heard as unknown (in the events, as the JSON stream prints
//! them, and in the WAV file) within the stall timeout, and Ctrl-C or SIGTERM during a
//! WAV recording leaves a complete, readable file.

use crate::cues::{onsets, read_wav};
use crate::faults::constant_model;
use crate::util::{repo_root, safecross, safecross_bin, skip, temp_dir};
use safecross::config::Config;
use safecross::cue::{AudioOutput, CueMode, CuePlayer};
use safecross::frame::Frame;
use safecross::pipeline::Pipeline;
use safecross::runner::{Event, Pace, Runner};
use safecross::signal::SignalState;
use safecross::source::{FrameSource, SourceError, SourceInfo};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// One scripted frame: its media time, and how long the source takes to deliver it.
#[derive(Clone, Copy)]
struct Step {
    t_s: f64,
    wait: Duration,
}

/// A live-looking source (a different texture every frame, so it is never frozen) that
/// follows a script, then ends or fails.
struct Scripted {
    info: SourceInfo,
    steps: Vec<Step>,
    next: usize,
    fail_at_end: bool,
}

impl Scripted {
    fn new(steps: Vec<Step>, fail_at_end: bool) -> Self {
        let info = SourceInfo {
            description: "scripted".into(),
            width: 160,
            height: 120,
            fps: 10.0,
            duration_s: None,
            live: false,
        };
        Self { info, steps, next: 0, fail_at_end }
    }
}

impl FrameSource for Scripted {
    fn info(&self) -> &SourceInfo {
        &self.info
    }

    fn next_frame(&mut self, frame: &mut Frame) -> Result<bool, SourceError> {
        let Some(step) = self.steps.get(self.next).copied() else {
            if self.fail_at_end {
                return Err(SourceError::Corrupt { path: "scripted.mp4".into(), detail: "cut short".into() });
            }
            return Ok(false);
        };
        std::thread::sleep(step.wait);
        frame.reshape(160, 120);
        let i = self.next as u32;
        for (k, px) in frame.rgb.chunks_exact_mut(3).enumerate() {
            let v = ((k as u32 % 160) * 7 + (k as u32 / 160) * 13 + i * 31) % 97;
            px.copy_from_slice(&[60 + v as u8, 80 + v as u8, 90]);
        }
        frame.seq = self.next as u64;
        frame.pts = Duration::from_secs_f64(step.t_s);
        self.next += 1;
        Ok(true)
    }
}

/// Frames at 10 fps over `[from, to)` seconds, delivered at once.
fn frames(from: f64, to: f64) -> Vec<Step> {
    let n = ((to - from) * 10.0).round() as usize;
    (0..n).map(|i| Step { t_s: from + i as f64 / 10.0, wait: Duration::ZERO }).collect()
}

/// What one event said: kind, media time, decision.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Frame,
    Tick,
    Fault,
}

struct Outcome {
    events: Vec<(Kind, f64, SignalState)>,
    /// Media time of each announcement and the state it announced.
    announced: Vec<(f64, SignalState)>,
    wav: PathBuf,
    _dir: crate::util::TempDir,
}

/// Runs `source` through a model that always sees a walk head, writing a WAV.
fn run(source: Scripted, pace: Pace) -> Outcome {
    let dir = temp_dir();
    let mut config = Config::default();
    config.model.path = constant_model(dir.path(), "walk.onnx", 0.01, 0.95);
    // Tones only: speech would add onsets of its own to the WAV analysed below.
    config.cue.mode = CueMode::Tones;
    let wav = dir.path().join("cues.wav");
    let pipeline = Pipeline::new(&config).unwrap();
    let player = CuePlayer::open(config.cue.clone(), AudioOutput::Wav(wav.clone())).unwrap();
    let mut runner = Runner::new(pipeline, source, player, pace, &config).unwrap();
    let (mut events, mut announced) = (Vec::new(), Vec::new());
    loop {
        let (kind, t, state, a) = match runner.next_event().unwrap() {
            Event::Frame { decision, announcement } => {
                (Kind::Frame, runner.frame().t_s(), decision.decision.state, announcement)
            }
            Event::Tick { t_s, decision, announcement } => (Kind::Tick, t_s, decision.state, announcement),
            Event::Fault { t_s, decision, announcement, error } => {
                assert!(error.to_string().contains("cut short"), "{error}");
                (Kind::Fault, t_s, decision.state, announcement)
            }
            Event::BadFrame { error, .. } => panic!("no frame of this source is unreadable: {error}"),
            Event::Stopped | Event::End => break,
        };
        events.push((kind, t, state));
        announced.extend(a.map(|a| (a.t_s, a.state)));
    }
    assert!(matches!(runner.next_event().unwrap(), Event::End), "the end stays the end");
    assert_eq!(runner.finish().unwrap().as_deref(), Some(wav.as_path()));
    Outcome { events, announced, wav, _dir: dir }
}

impl Outcome {
    /// Time walk was first decided.
    fn walk_from(&self) -> f64 {
        self.events.iter().find(|e| e.2 == SignalState::Walk).map(|e| e.1).expect("walk was never decided")
    }

    /// Onsets of the WAV within `[from, to)` s (sample 0 is the first frame, at 0 s).
    fn onsets_between(&self, from: f64, to: f64) -> Vec<f64> {
        let (x, sr) = read_wav(&self.wav);
        onsets(&x, sr).into_iter().filter(|t| (from..to).contains(t)).collect()
    }

    fn wav_seconds(&self) -> f64 {
        let (x, sr) = read_wav(&self.wav);
        x.len() as f64 / f64::from(sr)
    }
}

#[test]
fn a_gap_in_the_frame_times_during_walk_is_unknown_within_the_stall_timeout() {
    // Walk for 3 s, then no frame from 2.9 s to 6 s (a file whose frame times jump),
    // then walk again.
    let steps = [frames(0.0, 3.0), frames(6.0, 8.0)].concat();
    let out = run(Scripted::new(steps, false), Pace::AsFastAsPossible);
    assert!(out.walk_from() < 2.0, "{:?}", out.events);

    let last = out.events.iter().position(|e| e.0 == Kind::Frame && e.1 > 2.85).unwrap();
    assert!((out.events[last].1 - 2.9).abs() < 1e-6 && out.events[last].2 == SignalState::Walk);
    let ticks: Vec<_> = out.events[last + 1..].iter().take_while(|e| e.0 == Kind::Tick).collect();
    // Unknown at the first tick, just past the 1 s stall timeout, and every tick after.
    assert!(!ticks.is_empty(), "{:?}", out.events);
    assert!(ticks[0].1 <= 2.9 + 1.01 && ticks[0].2 == SignalState::Unknown, "{ticks:?}");
    assert!(ticks.iter().all(|e| e.2 == SignalState::Unknown), "{ticks:?}");
    assert!(ticks.windows(2).all(|w| (w[1].1 - w[0].1 - 0.25).abs() < 1e-6), "ticks 0.25 s apart: {ticks:?}");
    assert!(ticks.last().unwrap().1 < 6.0);
    assert!(out.announced.iter().any(|&(t, s)| s == SignalState::Unknown && (3.8..=3.92).contains(&t)));

    // The WAV agrees: walk ticks (about 9 a second) before the stall, none from 0.1 s
    // after the unknown tick until the frames come back.
    assert!(out.onsets_between(2.0, 2.9).len() >= 6, "walk is heard before the stall");
    let during = out.onsets_between(ticks[0].1 + 0.1, 6.0);
    assert!(during.len() <= 2, "walk ticks went on during the stall: {during:?}");
}

#[test]
fn a_reader_that_stops_during_walk_is_unknown_within_the_stall_timeout() {
    // The 31st frame takes 2.5 s of wall time to arrive (a decoder or camera stuck),
    // in either pace.
    for pace in [Pace::AsFastAsPossible, Pace::RealTime] {
        let mut steps = frames(0.0, 4.0);
        steps[30].wait = Duration::from_millis(2500);
        let started = Instant::now();
        let out = run(Scripted::new(steps, false), pace);
        assert!(started.elapsed() >= Duration::from_millis(2500));
        assert!(out.walk_from() < 2.5, "{pace:?}: {:?}", out.events);
        let first_tick = out.events.iter().find(|e| e.0 == Kind::Tick).expect("no tick while the reader was stuck");
        assert_eq!(first_tick.2, SignalState::Unknown, "{pace:?}");
        // The last frame was at 2.9 s; the wall clock stands in for media time while
        // nothing comes. Allow a scheduler's delay on a loaded machine, but far less
        // than the 2.5 s the frame took.
        assert!((3.9..3.9 + 0.6).contains(&first_tick.1), "{pace:?}: {first_tick:?}");
        // As fast as possible, the frames that came late are still processed; in real
        // time they are stale by then and dropped, as a camera's would be.
        let frames_after = out.events.iter().filter(|e| e.0 == Kind::Frame && e.1 >= 3.0).count();
        assert_eq!(frames_after >= 1, pace == Pace::AsFastAsPossible, "{pace:?}: {:?}", out.events);
    }
}

#[test]
fn a_source_that_fails_during_walk_is_heard_as_unknown_before_the_error() {
    let out = run(Scripted::new(frames(0.0, 3.0), true), Pace::AsFastAsPossible);
    assert!(out.walk_from() < 2.0);
    let &(kind, t, state) = out.events.last().unwrap();
    assert_eq!((kind, state), (Kind::Fault, SignalState::Unknown), "{:?}", out.events);
    assert!((t - 2.9).abs() < 1e-6);
    assert_eq!(out.announced.last().map(|a| a.1), Some(SignalState::Unknown), "{:?}", out.announced);
    // Unknown is played out for 2 s, without walk ticks.
    assert!(out.wav_seconds() >= 2.9 + 1.9, "{} s", out.wav_seconds());
    let after = out.onsets_between(3.0, 5.0);
    assert!(after.len() <= 2, "walk ticks after the fault: {after:?}");
}

/// `clip` rewritten with its `moov` box before `mdat` (chunk offsets moved), so that a
/// cut in the media data leaves a file that opens and fails part-way.
fn fast_start(clip: &[u8]) -> Vec<u8> {
    fn boxes(data: &[u8]) -> Vec<(usize, usize, [u8; 4])> {
        let mut out = Vec::new();
        let mut i = 0;
        while i + 8 <= data.len() {
            let size = u32::from_be_bytes(data[i..i + 4].try_into().unwrap()) as usize;
            assert!(size >= 8 && i + size <= data.len(), "this test reads plain 32-bit boxes only");
            out.push((i, size, data[i + 4..i + 8].try_into().unwrap()));
            i += size;
        }
        out
    }
    fn shift_stco(moov: &mut [u8], by: u32) -> usize {
        let mut shifted = 0;
        for (at, size, kind) in boxes(moov) {
            let body = &mut moov[at + 8..at + size];
            match &kind {
                b"trak" | b"mdia" | b"minf" | b"stbl" => shifted += shift_stco(body, by),
                b"stco" => {
                    let n = u32::from_be_bytes(body[4..8].try_into().unwrap()) as usize;
                    for k in 0..n {
                        let e = &mut body[8 + 4 * k..12 + 4 * k];
                        let v = u32::from_be_bytes((&*e).try_into().unwrap()) + by;
                        e.copy_from_slice(&v.to_be_bytes());
                    }
                    shifted += n;
                }
                _ => {}
            }
        }
        shifted
    }
    let top = boxes(clip);
    let find = |k: &[u8; 4]| top.iter().find(|b| &b.2 == k).copied().unwrap();
    let (ftyp, mdat, moov) = (find(b"ftyp"), find(b"mdat"), find(b"moov"));
    assert!(mdat.0 < moov.0, "already fast-start");
    let mut moov_bytes = clip[moov.0..moov.0 + moov.1].to_vec();
    assert!(shift_stco(&mut moov_bytes[8..], moov.1 as u32) > 0, "no stco box found");
    [&clip[ftyp.0..ftyp.0 + ftyp.1], &moov_bytes[..], &clip[mdat.0..mdat.0 + mdat.1]].concat()
}

#[test]
fn a_video_cut_short_during_walk_is_heard_as_unknown_before_the_error() {
    let test = "a_video_cut_short_during_walk_is_heard_as_unknown_before_the_error";
    let model = repo_root().join("models/safecross-tl.onnx");
    let clip = repo_root().join("samples/cn-day-countdown.mp4");
    if !model.exists() || !clip.exists() {
        return skip(test, "models/safecross-tl.onnx or samples/cn-day-countdown.mp4 is absent");
    }
    let dir = temp_dir();
    // Cut at 60 % of the media data: about 12 s into the clip, inside its walk phase
    // (6.8-13.6 s), well after walk is first decided.
    let whole = fast_start(&std::fs::read(&clip).unwrap());
    let mut cut_bytes = whole[..whole.len() * 6 / 10].to_vec();
    // The mdat box says how long it is; make it say what is left, so the file opens and
    // the samples past the cut are what is missing.
    let mdat = cut_bytes.windows(4).position(|w| w == b"mdat").unwrap() - 4;
    let left = u32::try_from(cut_bytes.len() - mdat).unwrap();
    cut_bytes[mdat..mdat + 4].copy_from_slice(&left.to_be_bytes());
    let cut = dir.path().join("cut.mp4");
    std::fs::write(&cut, &cut_bytes).unwrap();
    let wav = dir.path().join("cues.wav");
    let wav_arg = format!("wav:{}", wav.display());
    let run = safecross(&["run", cut.to_str().unwrap(), "--fast", "--json", "--mode", "tones", "--audio", &wav_arg]);
    run.assert_clean_error("cut.mp4");

    let lines: Vec<serde_json::Value> = run.stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let frames: Vec<_> = lines.iter().filter(|l| l.get("frame").is_some()).collect();
    assert!(frames.len() > 80, "the cut came too early: {} frames", frames.len());
    assert!(frames.iter().any(|f| f["decision"] == "walk"), "walk was never decided before the cut");
    let fault = lines.iter().find(|l| l.get("fault").is_some()).expect("no fault line in the JSON stream");
    assert_eq!(fault["decision"], "unknown");
    let announced: Vec<_> = lines.iter().filter(|l| l["event"] == "announce").collect();
    assert_eq!(announced.last().unwrap()["state"], "unknown", "the last cue announced is not unknown");

    // The WAV is complete, and its last 2 s are unknown: no walk ticks.
    let (x, sr) = read_wav(&wav);
    let end_s = x.len() as f64 / f64::from(sr);
    let after: Vec<_> = onsets(&x, sr).into_iter().filter(|&t| t > end_s - 1.8).collect();
    assert!(after.len() <= 2, "walk ticks at the end of the recording: {after:?}");
}

/// Starts `run` in real time writing `wav`, sends `signal` once sound is being written,
/// and returns the exit code.
fn interrupt(clip: &Path, wav: &Path, signal: &str) -> i32 {
    let mut child = std::process::Command::new(safecross_bin())
        .args(["run", clip.to_str().unwrap(), "--audio", &format!("wav:{}", wav.display())])
        .current_dir(repo_root())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Once half a second of sound is in the file (the model has loaded and the clip
    // plays), however loaded the machine is.
    let deadline = Instant::now() + Duration::from_secs(120);
    while std::fs::metadata(wav).map_or(0, |m| m.len()) < 44 + 48_000 {
        assert!(Instant::now() < deadline, "no sound was written within 120 s");
        assert!(child.try_wait().unwrap().is_none(), "run ended before the signal");
        std::thread::sleep(Duration::from_millis(50));
    }
    let sent = std::process::Command::new("kill").args([signal, &child.id().to_string()]).status().unwrap();
    assert!(sent.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code().unwrap_or(-1);
        }
        if Instant::now() > deadline {
            child.kill().ok();
            panic!("run did not end within 20 s of {signal}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn ctrl_c_or_sigterm_during_a_recording_leaves_a_complete_wav() {
    let test = "ctrl_c_or_sigterm_during_a_recording_leaves_a_complete_wav";
    let model = repo_root().join("models/safecross-tl.onnx");
    let clip = repo_root().join("samples/eu.mp4");
    if !model.exists() || !clip.exists() {
        return skip(test, "models/safecross-tl.onnx or samples/eu.mp4 is absent");
    }
    let dir = temp_dir();
    for signal in ["-INT", "-TERM"] {
        let wav = dir.path().join(format!("cues{signal}.wav"));
        assert_eq!(interrupt(&clip, &wav, signal), 130, "{signal}");
        // hound checks the RIFF and data sizes: a file left with zero sizes reads as empty.
        let (x, sr) = read_wav(&wav);
        let seconds = x.len() as f64 / f64::from(sr);
        // At least what was in the file when the signal was sent, and not the whole clip.
        assert!((0.5..10.0).contains(&seconds), "{signal}: {seconds} s recorded");
    }
}

#[test]
fn an_unreadable_image_in_a_folder_is_one_lost_frame_and_a_folder_of_them_an_error() {
    let dir = temp_dir();
    let model = constant_model(dir.path(), "walk.onnx", 0.01, 0.95);
    let folder = dir.path().join("frames");
    std::fs::create_dir(&folder).unwrap();
    for i in 0..20u32 {
        crate::util::write_png(&folder.join(format!("f{i:02}.png")), 160, 120, |x, y| {
            let v = (x * 7 + y * 13 + i * 31) % 97;
            [60 + v as u8, 80 + v as u8, 90]
        });
    }
    for broken in ["f05.png", "f06.png"] {
        let path = folder.join(broken);
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() / 3]).unwrap();
    }
    let args = ["run", folder.to_str().unwrap(), "--fast", "--json", "--audio", "none", "--model"];
    let run = safecross(&[&args[..], &[model.to_str().unwrap()]].concat());
    assert_eq!(run.code, 0, "{}", run.stderr);
    let lines: Vec<serde_json::Value> = run.stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let lost: Vec<_> = lines.iter().filter(|l| l.get("bad_frame").is_some()).collect();
    assert_eq!(lost.len(), 2, "{}", run.stdout);
    assert!(lost[0]["bad_frame"].as_str().unwrap().contains("f05.png"), "{}", lost[0]);
    assert!(lost.iter().all(|l| l["decision"] == "unknown"), "{lost:?}");
    assert_eq!(run.json_frames().len(), 18);
    assert_eq!(run.stderr.matches("WARN").count(), 1, "warned once: {}", run.stderr);

    // Only unreadable images: an error, not an empty success.
    for i in 0..20u32 {
        if i > 2 {
            std::fs::remove_file(folder.join(format!("f{i:02}.png"))).unwrap();
        } else {
            std::fs::write(folder.join(format!("f{i:02}.png")), b"not a png").unwrap();
        }
    }
    // (The warning about the first lost frame is hidden here: the error is what matters.)
    let quiet = [("SAFECROSS_LOG", Some("error"))];
    let run = crate::util::safecross_with(&[&args[..], &[model.to_str().unwrap()]].concat(), &quiet);
    run.assert_clean_error("none of the 3 images in");
    // Headers that read but pixels that do not: the run finds every frame lost.
    for i in 0..3u32 {
        let path = folder.join(format!("f{i:02}.png"));
        crate::util::write_png(&path, 160, 120, |x, y| [x as u8, y as u8, 9]);
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 40]).unwrap();
    }
    let run = crate::util::safecross_with(&[&args[..], &[model.to_str().unwrap()]].concat(), &quiet);
    run.assert_clean_error("none of its 3 frame(s) could be read");
}
