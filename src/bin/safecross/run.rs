//! `safecross run`: the main job. Watches a source, decides, and speaks.

use crate::annotate::Recorder;
use crate::common::{ModelArgs, detection_json, detection_labels};
use anyhow::Context;
use safecross::cue::{Announcement, AudioOutput, CueMode, CuePlayer, Lang};
use safecross::decide::Decision;
use safecross::error_chain;
use safecross::pipeline::Pipeline;
use safecross::runner::{Event, Pace, RunError, Runner};
use safecross::signal::{Basis, SignalState};
use safecross::source::{self, SourceSpec};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Watch a video file, image folder or camera, and hear what the signal shows.
#[derive(clap::Args)]
pub struct Args {
    /// What to watch: a video file (H.264 MP4 built in; other formats through ffmpeg),
    /// an image, a folder of images, `camera` / `camera:N`, or a live stream through
    /// ffmpeg: `-` (standard input), a named pipe, `rtsp://...`, `http(s)://...`
    #[arg(value_name = "SOURCE")]
    source: String,
    #[command(flatten)]
    model: ModelArgs,
    /// Process every frame as fast as possible (for evaluation) instead of in real time
    #[arg(long)]
    fast: bool,
    /// Frame rate for image folders
    #[arg(long, value_name = "FPS", value_parser = crate::common::positive, allow_negative_numbers = true)]
    fps: Option<f64>,
    /// Camera resolution, e.g. 1280x720
    #[arg(long, value_name = "WxH", value_parser = parse_resolution)]
    resolution: Option<(u32, u32)>,
    /// Camera frame rate to ask for
    #[arg(long, value_name = "FPS")]
    camera_fps: Option<u32>,
    /// Where the sound goes: `speaker`, `wav:<file.wav>`, or `none`. Without a sound
    /// device, `speaker` says so and writes /tmp/safecross-cues.wav instead
    #[arg(long, default_value = "speaker", value_name = "OUTPUT")]
    audio: AudioOutput,
    /// Language of spoken messages: en or zh
    #[arg(long, value_name = "LANG")]
    lang: Option<Lang>,
    /// What you hear: tones, speech, or both
    #[arg(long, value_name = "MODE")]
    mode: Option<CueMode>,
    /// Volume, 0 to 1
    #[arg(long, value_name = "V", value_parser = crate::common::fraction_f32, allow_negative_numbers = true)]
    volume: Option<f32>,
    /// Never follow vehicle signals when no pedestrian signal is in view
    #[arg(long)]
    pedestrian_only: bool,
    /// Write one JSON object per processed frame to stdout (JSON Lines), plus an
    /// `{"event":"announce"}` object whenever a cue or message starts
    #[arg(long)]
    json: bool,
    /// Write the video as safecross saw it to this MP4: its boxes, the head the decision
    /// follows (white frame) and a banner with the decision. Frames dropped to keep up
    /// in real time repeat the last picture, so the video keeps the source's timing
    #[arg(long, value_name = "OUT.mp4")]
    save: Option<PathBuf>,
    /// Write each processed frame, annotated as for --save, as a PNG into this folder
    #[arg(long, value_name = "DIR")]
    save_frames: Option<PathBuf>,
}

fn parse_resolution(text: &str) -> Result<(u32, u32), String> {
    let (w, h) = text.split_once(['x', 'X']).ok_or("expected WIDTHxHEIGHT, e.g. 1280x720")?;
    Ok((w.parse().map_err(|_| "bad width")?, h.parse().map_err(|_| "bad height")?))
}

pub fn execute(args: Args) -> anyhow::Result<ExitCode> {
    let mut config = args.model.to_config()?;
    if let Some(fps) = args.fps {
        config.source.image_fps = fps;
    }
    if let Some(r) = args.resolution {
        config.source.camera_resolution = r;
    }
    if let Some(f) = args.camera_fps {
        config.source.camera_fps = f;
    }
    if let Some(l) = args.lang {
        config.cue.lang = l;
    }
    if let Some(m) = args.mode {
        config.cue.mode = m;
    }
    if let Some(v) = args.volume {
        config.cue.volume = v;
    }
    if args.pedestrian_only {
        config.select.follow_vehicle_signals = false;
    }
    config.validate()?;
    // Ctrl-C, SIGTERM and SIGHUP end the run at the next event, so the WAV file is
    // completed; caught from here on, so one during start-up is not lost either.
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst)).context("cannot catch Ctrl-C")?;
    crate::common::check_model_exists(&config)?;
    let pipeline = Pipeline::new(&config)?;
    let source = source::open(&SourceSpec::parse(&args.source), &config.source)?;
    let player = CuePlayer::open(config.cue.clone(), args.audio.clone()).context("cannot start audio")?;
    let pace = if args.fast { Pace::AsFastAsPossible } else { Pace::RealTime };
    let mut runner = Runner::new(pipeline, source, player, pace, &config)?.stopped_by(stop);
    let truth = if args.save.is_some() || args.save_frames.is_some() { timeline_beside(&args.source) } else { None };
    let mut recorder = Recorder::new(args.save.clone(), args.save_frames.clone(), runner.source_fps(), truth)?;
    let screen = Screen::new(args.json);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let watched = watch(&mut runner, &args, &screen, &mut out, recorder.as_mut());
    // The recordings are completed whatever ended the run: the source, a fault, Ctrl-C,
    // or a closed stdout.
    let (frames, bad_frames) = (runner.frames(), runner.bad_frames());
    let wav = runner.finish();
    let saved = recorder.map(Recorder::finish).transpose();
    let ending = watched?;
    let wav = wav?;
    for line in saved?.unwrap_or_default() {
        eprintln!("{line}");
    }
    // After a fault the one line on stderr is the error.
    if let (Some(path), false) = (wav, matches!(ending, Ending::Fault(_))) {
        eprintln!("audio written to {}", path.display());
    }
    match ending {
        Ending::Fault(e) => Err(e.into()),
        Ending::Stopped => Ok(ExitCode::from(130)),
        Ending::End if frames == 0 && bad_frames > 0 => {
            anyhow::bail!("{}: none of its {bad_frames} frame(s) could be read", args.source)
        }
        Ending::End if frames == 0 => anyhow::bail!("{} produced no frames", args.source),
        Ending::End => Ok(ExitCode::SUCCESS),
    }
}

/// The timeline next to a clip (`clip.json` beside `clip.mp4`), as `eval` pairs them;
/// one that does not load is left out, with a warning.
fn timeline_beside(source: &str) -> Option<safecross::truth::Timeline> {
    let path = std::path::Path::new(source).with_extension("json");
    if source.ends_with(".json") || !path.is_file() {
        return None;
    }
    match safecross::truth::Timeline::load(&path) {
        Ok(t) => Some(t),
        Err(e) => {
            tracing::warn!("{e}; the saved video shows no truth");
            None
        }
    }
}

/// How a run ended.
enum Ending {
    End,
    Stopped,
    Fault(RunError),
}

/// Prints every event until the run ends.
fn watch(
    runner: &mut Runner,
    args: &Args,
    screen: &Screen,
    out: &mut impl Write,
    mut recorder: Option<&mut Recorder>,
) -> anyhow::Result<Ending> {
    screen.header(out, runner.source_description(), &runner.pipeline().backend().to_string())?;
    if let Some(notice) = runner.player_notice() {
        eprintln!("note: {notice}");
    }
    loop {
        match runner.next_event()? {
            Event::Frame { decision: fd, announcement } => {
                let t = runner.frame().t_s();
                let pipeline = runner.pipeline();
                let classes = pipeline.classes();
                let d = fd.decision;
                // Labels for the saved pictures and the terminal line, made once for both.
                let labels = if recorder.is_some() || !args.json {
                    detection_labels(pipeline.detections(), classes)
                } else {
                    Vec::new()
                };
                if let Some(recorder) = recorder.as_deref_mut() {
                    recorder.record(runner.frame(), pipeline.detections(), &labels, &fd)?;
                }
                if args.json {
                    let list: Vec<_> = pipeline.detections().iter().map(|det| detection_json(det, classes)).collect();
                    let line = serde_json::json!({
                        "t": millis(t),
                        "frame": runner.frame().seq,
                        "detections": list,
                        "second_look": fd.looked_closer,
                        "frozen": fd.frozen,
                        "bad_output": fd.bad_output.is_some(),
                        "decision": d.state.as_str(),
                        "basis": d.basis.as_str(),
                        "confidence": millis(f64::from(d.confidence)),
                    });
                    writeln!(out, "{line}")?;
                    announce(out, screen, true, t, &announcement)?;
                } else {
                    announce(out, screen, false, t, &announcement)?;
                    screen.status(out, t, &format!("frame {:>5}", runner.frame().seq), d.state, &labels)?;
                }
            }
            Event::Tick { t_s, decision: d, announcement } => {
                if args.json {
                    writeln!(out, "{}", frameless_line(t_s, "tick", true.into(), &d))?;
                    announce(out, screen, true, t_s, &announcement)?;
                } else {
                    announce(out, screen, false, t_s, &announcement)?;
                    screen.status(out, t_s, "no frame   ", d.state, &[])?;
                }
            }
            Event::BadFrame { t_s, decision: d, announcement, error } => {
                if args.json {
                    writeln!(out, "{}", frameless_line(t_s, "bad_frame", error_chain(&error).into(), &d))?;
                    announce(out, screen, true, t_s, &announcement)?;
                } else {
                    announce(out, screen, false, t_s, &announcement)?;
                    screen.status(out, t_s, "bad frame  ", d.state, &[])?;
                }
            }
            Event::Fault { t_s, decision: d, announcement, error } => {
                if args.json {
                    // After a fault the decision is unknown, whose confidence is 0.
                    writeln!(out, "{}", frameless_line(t_s, "fault", error_chain(&error).into(), &d))?;
                }
                announce(out, screen, args.json, t_s, &announcement)?;
                screen.finish(out)?;
                out.flush()?;
                return Ok(Ending::Fault(error));
            }
            Event::Stopped => {
                screen.finish(out)?;
                out.flush()?;
                return Ok(Ending::Stopped);
            }
            Event::End => {
                screen.finish(out)?;
                out.flush()?;
                return Ok(Ending::End);
            }
        }
        if !args.fast {
            out.flush()?;
        }
    }
}

/// Writes what started to be heard: a JSON line, or the banner.
fn announce(
    out: &mut impl Write,
    screen: &Screen,
    json: bool,
    t: f64,
    announcement: &Option<Announcement>,
) -> anyhow::Result<()> {
    if let Some(a) = announcement {
        if json {
            writeln!(out, "{}", serde_json::to_string(a)?)?;
        } else {
            screen.banner(out, t, a.state, a.basis, &a.text)?;
        }
    }
    Ok(())
}

/// The JSON line of an event that has no frame: `key` says which (`tick`, `bad_frame`,
/// `fault`), then the decision after it.
fn frameless_line(t: f64, key: &str, value: serde_json::Value, d: &Decision) -> serde_json::Value {
    serde_json::json!({
        "t": millis(t),
        key: value,
        "decision": d.state.as_str(),
        "basis": d.basis.as_str(),
        "confidence": millis(f64::from(d.confidence)),
    })
}

/// Rounded to the millisecond (or thousandth) for the JSON stream.
fn millis(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// The terminal view for a sighted helper: a large coloured banner on every change,
/// and one status line that is rewritten in place on a terminal.
struct Screen {
    quiet: bool,
    tty: bool,
}

impl Screen {
    fn new(json: bool) -> Self {
        Self { quiet: json, tty: std::io::stdout().is_terminal() }
    }

    fn header(&self, out: &mut impl Write, source: &str, backend: &str) -> std::io::Result<()> {
        if !self.quiet {
            writeln!(out, "safecross {}  |  {source}  |  {backend}", env!("CARGO_PKG_VERSION"))?;
        }
        Ok(())
    }

    fn banner(
        &self,
        out: &mut impl Write,
        t: f64,
        state: SignalState,
        basis: Basis,
        said: &str,
    ) -> std::io::Result<()> {
        if self.quiet {
            return Ok(());
        }
        let (word, colour) = match state {
            SignalState::Walk => ("WALK", "1;30;42"),
            SignalState::DontWalk => ("DON'T WALK", "1;37;41"),
            SignalState::Changing => ("CHANGING - DO NOT START", "1;30;43"),
            SignalState::Unknown => ("NO SIGNAL / UNSURE", "1;37;44"),
        };
        let basis = match basis {
            Basis::Vehicle => " (vehicle signal)",
            _ => "",
        };
        let text = format!("   {word}{basis}   ");
        if self.tty {
            let pad = " ".repeat(text.chars().count());
            writeln!(
                out,
                "\r\x1b[K\n\x1b[{colour}m{pad}\x1b[0m\n\x1b[{colour}m{text}\x1b[0m  {t:.1}s  {said}\n\x1b[{colour}m{pad}\x1b[0m"
            )
        } else {
            writeln!(out, "{t:>8.2}s  ==> {}{basis}  {said}", word)
        }
    }

    /// `what` is "frame N" or why there is none.
    fn status(
        &self,
        out: &mut impl Write,
        t: f64,
        what: &str,
        state: SignalState,
        seen: &[String],
    ) -> std::io::Result<()> {
        if self.quiet {
            return Ok(());
        }
        let seen = if seen.is_empty() { "-".to_string() } else { seen.join(", ") };
        if self.tty {
            write!(out, "\r\x1b[K{t:>8.2}s  {what}  {:<10}  seen: {seen}", state.as_str())?;
            out.flush()
        } else {
            writeln!(out, "{t:>8.2}s  {what}  {:<10}  seen: {seen}", state.as_str())
        }
    }

    fn finish(&self, out: &mut impl Write) -> std::io::Result<()> {
        if !self.quiet && self.tty {
            writeln!(out)?;
        }
        Ok(())
    }
}
