//! `safecross run`: the main job. Watches a source, decides, and speaks.

use crate::common::{ModelArgs, detection_json};
use anyhow::Context;
use safecross::cue::{AudioOutput, CueMode, CuePlayer, Lang};
use safecross::frame::Frame;
use safecross::pipeline::Pipeline;
use safecross::signal::{Basis, SignalState};
use safecross::source::pacing::{Clock, Paced};
use safecross::source::prefetch::Prefetch;
use safecross::source::{self, FrameSource, SourceSpec};
use std::io::{IsTerminal, Write};
use std::process::ExitCode;

/// Watch a video file, image folder or camera, and hear what the signal shows.
#[derive(clap::Args)]
pub struct Args {
    /// What to watch: a video file (H.264 MP4 built in; other formats through ffmpeg),
    /// an image, a folder of images, or `camera` / `camera:N`
    #[arg(value_name = "SOURCE")]
    source: String,
    #[command(flatten)]
    model: ModelArgs,
    /// Process every frame as fast as possible (for evaluation) instead of in real time
    #[arg(long)]
    fast: bool,
    /// Frame rate for image folders
    #[arg(long, value_name = "FPS")]
    fps: Option<f64>,
    /// Camera resolution, e.g. 1280x720
    #[arg(long, value_name = "WxH", value_parser = parse_resolution)]
    resolution: Option<(u32, u32)>,
    /// Camera frame rate to ask for
    #[arg(long, value_name = "FPS")]
    camera_fps: Option<u32>,
    /// Where the sound goes: `speaker`, `wav:<file.wav>`, or `none`. Without a sound
    /// device, `speaker` says so and writes safecross-cues.wav instead
    #[arg(long, default_value = "speaker", value_name = "OUTPUT")]
    audio: AudioOutput,
    /// Language of spoken messages: en or zh
    #[arg(long, value_name = "LANG")]
    lang: Option<Lang>,
    /// What you hear: tones, speech, or both
    #[arg(long, value_name = "MODE")]
    mode: Option<CueMode>,
    /// Volume, 0 to 1
    #[arg(long, value_name = "V")]
    volume: Option<f32>,
    /// Never follow vehicle signals when no pedestrian signal is in view
    #[arg(long)]
    pedestrian_only: bool,
    /// Write one JSON object per processed frame to stdout (JSON Lines), plus an
    /// `{"event":"announce"}` object whenever a cue or message starts
    #[arg(long)]
    json: bool,
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
    crate::common::check_model_exists(&config)?;
    let mut pipeline = Pipeline::new(&config)?;
    let inner = source::open(&SourceSpec::parse(&args.source), &config.source)?;
    let description = inner.info().description.clone();
    // The next frame decodes on its own thread while the model runs on this one.
    let ahead = Prefetch::new(inner)?;
    let mut source: Box<dyn FrameSource> =
        if args.fast { Box::new(ahead) } else { Box::new(Paced::new(ahead, Clock::Wall)) };
    let mut player = CuePlayer::open(config.cue.clone(), args.audio.clone()).context("cannot start audio")?;
    let screen = Screen::new(args.json);
    screen.header(&description, &pipeline.detector().backend().to_string());
    if let Some(notice) = player.notice() {
        screen.notice(notice);
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut frame = Frame::default();
    let mut frames = 0u64;
    while source.next_frame(&mut frame)? {
        frames += 1;
        let t = frame.t_s();
        let fd = match pipeline.process(&frame) {
            Ok(fd) => fd,
            Err(e) => {
                // Say unknown before giving up, so the last thing heard is not a stale "walk".
                player.update(t, SignalState::Unknown, Basis::None).ok();
                return Err(e.into());
            }
        };
        let d = fd.decision;
        let announcement = player.update(t, d.state, d.basis)?;
        let classes = pipeline.detector().classes();
        if args.json {
            let list: Vec<_> = pipeline.detections().iter().map(|det| detection_json(det, classes)).collect();
            let line = serde_json::json!({
                "t": (t * 1000.0).round() / 1000.0,
                "frame": frame.seq,
                "detections": list,
                "second_look": fd.looked_closer,
                "frozen": fd.frozen,
                "bad_output": fd.bad_output.is_some(),
                "decision": d.state.as_str(),
                "basis": d.basis.as_str(),
                "confidence": (f64::from(d.confidence) * 1000.0).round() / 1000.0,
            });
            writeln!(out, "{line}")?;
            if let Some(a) = &announcement {
                writeln!(out, "{}", serde_json::to_string(a)?)?;
            }
        } else {
            let seen: Vec<String> = pipeline
                .detections()
                .iter()
                .map(|det| format!("{} {:.2}", classes.name(det.class_id), det.score))
                .collect();
            if let Some(a) = &announcement {
                screen.banner(t, a.state, a.basis, &a.text);
            }
            screen.status(t, frame.seq, d.state, &seen);
        }
        if !args.fast {
            out.flush()?;
        }
    }
    out.flush()?;
    screen.finish();
    if let Some(path) = player.finish()? {
        eprintln!("audio written to {}", path.display());
    }
    if frames == 0 {
        anyhow::bail!("{} produced no frames", args.source);
    }
    Ok(ExitCode::SUCCESS)
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

    fn header(&self, source: &str, backend: &str) {
        if !self.quiet {
            println!("safecross {}  |  {source}  |  {backend}", env!("CARGO_PKG_VERSION"));
        }
    }

    fn notice(&self, text: &str) {
        eprintln!("note: {text}");
    }

    fn banner(&self, t: f64, state: SignalState, basis: Basis, said: &str) {
        if self.quiet {
            return;
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
            println!(
                "\r\x1b[K\n\x1b[{colour}m{pad}\x1b[0m\n\x1b[{colour}m{text}\x1b[0m  {t:.1}s  {said}\n\x1b[{colour}m{pad}\x1b[0m"
            );
        } else {
            println!("{t:>8.2}s  ==> {}{basis}  {said}", word);
        }
    }

    fn status(&self, t: f64, frame: u64, state: SignalState, seen: &[String]) {
        if self.quiet {
            return;
        }
        let seen = if seen.is_empty() { "-".to_string() } else { seen.join(", ") };
        if self.tty {
            print!("\r\x1b[K{t:>8.2}s  frame {frame:>5}  {:<10}  seen: {seen}", state.as_str());
            let _ = std::io::stdout().flush();
        } else {
            println!("{t:>8.2}s  frame {frame:>5}  {:<10}  seen: {seen}", state.as_str());
        }
    }

    fn finish(&self) {
        if !self.quiet && self.tty {
            println!();
        }
    }
}
