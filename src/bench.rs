//! Board benchmark: runs the real pipeline over a real source for a while and reports
//! per-stage latency, throughput, CPU time and memory, so board owners can compare
//! results from many boards (`safecross bench --json`).
//!
//! Imports: `pipeline`, `source`, `frame`.

use crate::frame::Frame;
use crate::pipeline::{Pipeline, PipelineError};
use crate::source::prefetch::Prefetch;
use crate::source::{FrameSource, SourceError};
use serde::Serialize;
use std::time::{Duration, Instant};

/// Why the benchmark could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BenchError {
    /// The source failed.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The pipeline failed.
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    /// The source had no frames.
    #[error("the source produced no frames")]
    NoFrames,
}

/// Latency summary of one stage, milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct Latency {
    /// Median.
    pub p50_ms: f64,
    /// 95th percentile.
    pub p95_ms: f64,
    /// Worst.
    pub max_ms: f64,
    /// Mean.
    pub mean_ms: f64,
}

impl Latency {
    fn of(samples: &mut [f64]) -> Self {
        if samples.is_empty() {
            return Self::default();
        }
        samples.sort_by(f64::total_cmp);
        let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
        Self {
            p50_ms: at(0.5),
            p95_ms: at(0.95),
            max_ms: at(1.0),
            mean_ms: samples.iter().sum::<f64>() / samples.len() as f64,
        }
    }
}

/// What `safecross bench` reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BenchReport {
    /// The source that was read.
    pub source: String,
    /// Model file.
    pub model: String,
    /// Model input, px.
    pub input: [u32; 2],
    /// Backend name and detail.
    pub backend: String,
    /// ONNX Runtime intra-op threads (ignored by tract).
    pub threads: usize,
    /// CPU model as the kernel reports it.
    pub cpu: String,
    /// Logical cores.
    pub cores: usize,
    /// Frames measured (after warm-up).
    pub frames: usize,
    /// Reading and decoding one frame (on the reader thread, beside the model).
    pub source_decode: Latency,
    /// Letterbox and resize.
    pub preprocess: Latency,
    /// The model.
    pub infer: Latency,
    /// Output decoding and NMS.
    pub postprocess: Latency,
    /// Selection and smoothing.
    pub decide: Latency,
    /// Reading and decoding a frame plus processing it: a frame's latency from capture to
    /// decision when the pipeline keeps pace with the camera. Running back to back, a
    /// frame read ahead also waits for its predecessor; that wait is left out.
    pub capture_to_decision: Latency,
    /// Between one decision and the next: the pipeline's pace.
    pub frame_interval: Latency,
    /// Frames per second through the whole pipeline, back to back.
    pub fps: f64,
    /// CPU time (all threads) per frame, ms.
    pub cpu_ms_per_frame: f64,
    /// Peak resident memory, MB.
    pub peak_rss_mb: f64,
    /// Highest camera frame rate that real-time mode follows without dropping frames
    /// (from the 95th-percentile frame interval).
    pub max_realtime_fps: f64,
    /// Wall time per frame (1 / fps) divided by the model's mean time: what the whole
    /// pipeline costs beside the model, with reading overlapped.
    pub pipeline_over_model: f64,
    /// The sum of every stage's mean time divided by the model's: the same ratio if the
    /// stages ran one after another on one thread.
    pub stages_over_model: f64,
    /// Share of frames on which the model took a second, closer look at the followed
    /// head (both looks count in `infer`).
    pub second_look_share: f64,
    /// Plain-words advice.
    pub recommendation: String,
}

/// Runs the pipeline for `seconds` of wall time after `warmup` frames, reopening the
/// source when it ends. Frames are read ahead on their own thread, as `safecross run`
/// reads them ([`Prefetch`]).
///
/// # Errors
/// [`BenchError`] when the source or the pipeline fails.
pub fn run(
    pipeline: &mut Pipeline,
    mut open: impl FnMut() -> Result<Box<dyn FrameSource>, SourceError>,
    seconds: f64,
    warmup: usize,
    threads: usize,
) -> Result<BenchReport, BenchError> {
    let mut source = Prefetch::new(open()?)?;
    let description = source.info().description.clone();
    let mut frame = Frame::default();
    let (mut src, mut pre, mut inf, mut post, mut dec) = (vec![], vec![], vec![], vec![], vec![]);
    let mut second_looks = 0usize;
    let (mut capture, mut interval) = (vec![], vec![]);
    let mut seen = 0usize;
    let mut started: Option<(Instant, f64)> = None;
    let mut last_decision: Option<Instant> = None;
    let mut pts_offset = 0.0;
    let mut last_pts = 0.0;
    loop {
        let more = source.next_frame(&mut frame)?;
        let dequeued = Instant::now();
        if !more {
            if seen == 0 {
                return Err(BenchError::NoFrames);
            }
            // Keep time moving forward across loops so the smoother sees a continuous clip.
            pts_offset = last_pts + 0.1;
            source = Prefetch::new(open()?)?;
            // Reopening is not a per-frame cost: the next interval starts afresh.
            last_decision = None;
            continue;
        }
        frame.pts += Duration::from_secs_f64(pts_offset);
        last_pts = frame.t_s();
        let fd = pipeline.process(&frame)?;
        let decided = Instant::now();
        let previous = last_decision.replace(decided);
        seen += 1;
        if seen == warmup {
            started = Some((Instant::now(), cpu_seconds()));
        }
        if seen <= warmup {
            continue;
        }
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        src.push(ms(source.last_decode()));
        pre.push(ms(fd.times.preprocess));
        inf.push(ms(fd.times.infer));
        second_looks += usize::from(fd.looked_closer);
        post.push(ms(fd.times.decode));
        dec.push(ms(fd.times.decide));
        capture.push(ms(source.last_decode() + (decided - dequeued)));
        if let Some(p) = previous {
            interval.push(ms(decided - p));
        }
        if let Some((s, _)) = started
            && s.elapsed().as_secs_f64() >= seconds
        {
            break;
        }
    }
    let (wall, cpu0) = started.map_or((Duration::ZERO, 0.0), |(s, c)| (s.elapsed(), c));
    let frames = inf.len();
    let fps = frames as f64 / wall.as_secs_f64().max(1e-9);
    let cpu_ms_per_frame = (cpu_seconds() - cpu0) * 1e3 / frames.max(1) as f64;
    let (source_decode, preprocess, infer) = (Latency::of(&mut src), Latency::of(&mut pre), Latency::of(&mut inf));
    let (postprocess, decide) = (Latency::of(&mut post), Latency::of(&mut dec));
    let frame_interval = Latency::of(&mut interval);
    let max_realtime_fps = 1000.0 / frame_interval.p95_ms.max(1e-6);
    let stage_sum = source_decode.mean_ms + preprocess.mean_ms + infer.mean_ms + postprocess.mean_ms + decide.mean_ms;
    let io = pipeline.model_io();
    let recommendation = recommend(max_realtime_fps, &format!("{}x{}", io.input_width, io.input_height));
    Ok(BenchReport {
        source: description,
        model: pipeline.model_path().display().to_string(),
        input: [io.input_width, io.input_height],
        backend: pipeline.backend().to_string(),
        threads,
        cpu: cpu_model(),
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        frames,
        source_decode,
        preprocess,
        infer,
        postprocess,
        decide,
        capture_to_decision: Latency::of(&mut capture),
        frame_interval,
        fps,
        cpu_ms_per_frame,
        peak_rss_mb: peak_rss_mb(),
        max_realtime_fps,
        pipeline_over_model: 1000.0 / fps.max(1e-9) / infer.mean_ms.max(1e-9),
        stages_over_model: stage_sum / infer.mean_ms.max(1e-9),
        second_look_share: second_looks as f64 / frames.max(1) as f64,
        recommendation,
    })
}

/// Advice from the sustainable frame rate. Crossing decisions need about 10 frames a
/// second to announce a change within half a second (the smoother wants several frames).
fn recommend(max_fps: f64, input: &str) -> String {
    if max_fps >= 15.0 {
        format!(
            "this board runs the {input} px model at {max_fps:.0} FPS without dropping frames: a camera at 15 FPS is followed in real time"
        )
    } else if max_fps >= 8.0 {
        format!(
            "this board runs the {input} px model at {max_fps:.0} FPS: set the camera to {:.0} FPS (--camera-fps) so no frame waits",
            max_fps.floor()
        )
    } else {
        format!(
            "this board manages only {max_fps:.1} FPS with the {input} px model: announcements will lag; set `[infer] backend` to ort if it is not in use, or use a smaller model input"
        )
    }
}

fn cpu_model() -> String {
    let text = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    for key in ["model name", "Model", "Hardware", "CPU part"] {
        if let Some(line) = text.lines().find(|l| l.split(':').next().is_some_and(|k| k.trim() == key))
            && let Some((_, v)) = line.split_once(':')
        {
            return v.trim().to_string();
        }
    }
    std::env::consts::ARCH.to_string()
}

/// User + system CPU time of the whole process (all threads), seconds. Linux reports
/// it in clock ticks of 1/100 s.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name, which is in parentheses and may contain spaces.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

/// Peak resident set size of this process, MB (`VmHWM`).
pub fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles() {
        let mut v: Vec<f64> = (1..=100).map(f64::from).collect();
        let l = Latency::of(&mut v);
        assert_eq!((l.p50_ms, l.max_ms), (51.0, 100.0));
        assert!((l.p95_ms - 95.0).abs() <= 1.0);
    }

    #[test]
    fn proc_readings_are_sane() {
        assert!(peak_rss_mb() > 1.0);
        let spin = Instant::now();
        let mut x = 0u64;
        while spin.elapsed() < Duration::from_millis(60) {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
        }
        // Keeps the spin from being optimised away (an assertion on `x` could not fail).
        std::hint::black_box(x);
        assert!(cpu_seconds() > 0.0);
        assert!(!cpu_model().is_empty());
    }
}
