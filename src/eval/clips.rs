//! Decision evaluation's clip runner: finds clips with their timelines, and plays each
//! through the pipeline the way `run` would, into the [`ClipDecisions`] that
//! [`DecisionEvaluator`](super::DecisionEvaluator) scores. The one place in `eval` that
//! drives the pipeline; the binary only parses, calls and prints.

use super::{ClipDecisions, DecisionSample, EvalError, HeadCounts};
use crate::cue::SpeechPolicy;
use crate::frame::Frame;
use crate::pipeline::Pipeline;
use crate::source::pacing::{Clock, Paced};
use crate::source::prefetch::Prefetch;
use crate::source::{self, FrameSource, SourceConfig, SourceSpec};
use crate::truth::Timeline;
use std::path::{Path, PathBuf};
use web_time::Instant;

/// A clip and its ground-truth timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clip {
    /// `<clip>.mp4`.
    pub video: PathBuf,
    /// `<clip>.json` beside it.
    pub timeline: PathBuf,
}

/// How a clip's frames reach the pipeline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ClipPace {
    /// Every frame, as fast as it can be processed; decisions count from the frame's time.
    EveryFrame,
    /// Real time on a simulated board `slowdown` times slower than this machine: frames
    /// that would be stale there are dropped, and each decision counts from when it
    /// would be ready (frame time plus processing time x `slowdown`).
    SimulatedBoard {
        /// How many times slower than this machine the board is, at least 1.
        slowdown: f64,
    },
}

/// The clips at `path`: a clip (its `.mp4` or its `.json`), or every `.mp4` in a folder,
/// each with its timeline beside it, in name order.
///
/// # Errors
/// [`EvalError::Clips`] naming what is missing; [`EvalError::Io`] when the folder
/// cannot be read.
pub fn find_clips(path: &Path) -> Result<Vec<Clip>, EvalError> {
    let missing = |path: &Path, message: String| EvalError::Clips { path: path.to_path_buf(), message };
    if path.is_file() {
        let (video, timeline) = if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("json")) {
            (path.with_extension("mp4"), path.to_path_buf())
        } else {
            (path.to_path_buf(), path.with_extension("json"))
        };
        for p in [&video, &timeline] {
            if !p.is_file() {
                return Err(missing(p, "missing; a clip needs <clip>.mp4 and its timeline <clip>.json".into()));
            }
        }
        return Ok(vec![Clip { video, timeline }]);
    }
    let mut videos: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|source| EvalError::Io { path: path.to_path_buf(), source })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("mp4")))
        .collect();
    videos.sort();
    if videos.is_empty() {
        return Err(missing(
            path,
            "neither a YOLO dataset (no images/ folder) nor a folder of clips (no .mp4 files)".into(),
        ));
    }
    videos
        .into_iter()
        .map(|video| {
            let timeline = video.with_extension("json");
            if timeline.is_file() {
                Ok(Clip { video, timeline })
            } else {
                Err(missing(&video, format!("no timeline {} beside it", timeline.display())))
            }
        })
        .collect()
}

/// Plays `video` through `pipeline` at `pace`, and records each decision, whether it
/// was announced and spoken (by the same [`SpeechPolicy`] as `run`), and how the heads
/// of `timeline` were detected. The pipeline is not reset first.
///
/// # Errors
/// [`EvalError::Source`] when the video cannot be read; [`EvalError::Pipeline`] naming
/// the time of a frame the pipeline failed on; [`EvalError::Clips`] when it has no frames.
pub fn run_clip(
    pipeline: &mut Pipeline,
    source_config: &SourceConfig,
    video: &Path,
    timeline: &Timeline,
    pace: ClipPace,
) -> Result<ClipDecisions, EvalError> {
    let spec = SourceSpec::parse(&video.display().to_string());
    let inner = source::open(&spec, source_config)?;
    let info = inner.info().clone();
    let (mut paced, mut fast) = match pace {
        // Every frame reads ahead as `run` does; the simulated board keeps one thread, so
        // that the processing time it scales by the slowdown is the pipeline's alone.
        ClipPace::EveryFrame => (None, Some(Box::new(Prefetch::new(inner)?) as Box<dyn FrameSource>)),
        ClipPace::SimulatedBoard { slowdown } => (Some(Paced::new(inner, Clock::Simulated { slowdown })), None),
    };
    let mut frame = Frame::default();
    let mut samples: Vec<DecisionSample> = Vec::new();
    let mut heads = HeadCounts::default();
    let mut speech =
        if pipeline.classes().tells_state() { SpeechPolicy::new() } else { SpeechPolicy::for_stateless_model() };
    let mut last_pts = 0.0f64;
    loop {
        let more = match (&mut paced, &mut fast) {
            (Some(p), _) => p.next_frame(&mut frame)?,
            (None, Some(f)) => f.next_frame(&mut frame)?,
            (None, None) => false,
        };
        if !more {
            break;
        }
        let t = frame.t_s();
        last_pts = t;
        let started = Instant::now();
        let fd = pipeline.process(&frame).map_err(|source| EvalError::Pipeline {
            video: video.to_path_buf(),
            t_s: t,
            source,
        })?;
        let ready = match pace {
            ClipPace::EveryFrame => t,
            ClipPace::SimulatedBoard { slowdown } => t + started.elapsed().as_secs_f64() * slowdown,
        };
        let t_s = samples.last().map_or(ready, |s| ready.max(s.t_s));
        // What the cue stage would say, by the same policy as `run`.
        let spoken = speech
            .update(t_s, fd.decision.state, fd.decision.basis, fd.signal_in_view)
            .is_some_and(|start| start.messages[0].is_some());
        samples.push(DecisionSample { t_s, state: fd.decision.state, announced: fd.decision.changed, spoken });
        // Timeline boxes are numbered by decoded frame, which `seq` counts (dropped frames included).
        if let Ok(k) = timeline.boxes.binary_search_by_key(&frame.seq, |f| f.frame) {
            heads.add_frame(&timeline.boxes[k].boxes, pipeline.detections());
        }
    }
    if samples.is_empty() {
        return Err(EvalError::Clips { path: video.to_path_buf(), message: "produced no frames".into() });
    }
    let period = if info.fps > 0.0 { 1.0 / info.fps } else { 0.0 };
    let duration_s = info.duration_s.unwrap_or(last_pts + period);
    let dropped = paced.as_ref().map_or(0, Paced::dropped);
    let name = video.file_stem().map_or_else(|| video.display().to_string(), |s| s.to_string_lossy().into_owned());
    Ok(ClipDecisions { name, duration_s, fps: info.fps, frames: samples.len() as u64 + dropped, samples, heads })
}
