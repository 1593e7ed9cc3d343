//! Pictures of what safecross saw: boxes and labels for `detect --draw`, and for
//! `run --save` / `--save-frames` also the followed head and a banner with the decision.
//! Drawn straight into the frame's RGB by the library's painter (`safecross::paint`,
//! a 3x5 pixel font): no font files, no allocation per frame.

use anyhow::Context;
use safecross::frame::Frame;
use safecross::geom::BBox;
use safecross::paint::Painter;
use safecross::pipeline::FrameDecision;
use safecross::signal::{Detection, SignalMeaning, SignalState};
use safecross::truth::{Timeline, TruthSignal};
use std::path::{Path, PathBuf};

fn colour(meaning: SignalMeaning) -> [u8; 3] {
    match meaning {
        SignalMeaning::VehicleRed | SignalMeaning::PedStop => [255, 40, 40],
        SignalMeaning::VehicleYellow => [255, 200, 0],
        SignalMeaning::VehicleGreen | SignalMeaning::PedWalk => [0, 230, 80],
        SignalMeaning::Off => [150, 150, 150],
        SignalMeaning::Crosswalk => [255, 255, 255],
        SignalMeaning::Other => [80, 160, 255],
    }
}

/// Draws each box (2 px outline) and its label above it.
pub fn draw_detections(frame: &mut Frame, detections: &[Detection], labels: &[String]) {
    let mut p = Painter::frame(frame);
    for (d, label) in detections.iter().zip(labels) {
        let c = colour(d.meaning);
        let (x1, y1) = (d.bbox.x1.max(0.0) as i64, d.bbox.y1.max(0.0) as i64);
        let (x2, y2) = (d.bbox.x2 as i64, d.bbox.y2 as i64);
        for t in 0..2 {
            for x in x1..=x2 {
                p.put(x, y1 - t, c);
                p.put(x, y2 + t, c);
            }
            for y in y1..=y2 {
                p.put(x1 - t, y, c);
                p.put(x2 + t, y, c);
            }
        }
        let scale = 2;
        let text_y = if y1 >= 14 { y1 - 13 } else { y2 + 4 };
        p.text(x1, text_y, label, scale, c);
    }
}

/// The banner's colour for a state: the web app's and the terminal's.
fn state_colour(state: SignalState) -> [u8; 3] {
    match state {
        SignalState::Walk => [12, 92, 30],
        SignalState::DontWalk => [140, 0, 0],
        SignalState::Changing => [230, 160, 0],
        SignalState::Unknown => [60, 60, 60],
    }
}

/// A strip across the top: the decision, its basis and confidence, the media time, and
/// the truth when a timeline is known.
fn draw_banner(frame: &mut Frame, fd: &FrameDecision, t_s: f64, truth: Option<TruthSignal>) {
    let d = &fd.decision;
    let scale = (frame.height as i64 / 120).max(2);
    let strip = 9 * scale;
    let mut p = Painter::frame(frame);
    let width = p.size().0;
    p.fill(0, 0, width, strip, state_colour(d.state));
    let words = match d.state {
        SignalState::Walk => "walk",
        SignalState::DontWalk => "dont walk",
        SignalState::Changing => "changing",
        SignalState::Unknown => "no signal - unsure",
    };
    let mut text = format!("{words}  {} {:.2}  t {t_s:.2}", d.basis.as_str(), d.confidence);
    if let Some(truth) = truth {
        text.push_str(&format!("  truth {}", truth.name().replace('_', " ")));
    }
    let ink = if d.state == SignalState::Changing { [0, 0, 0] } else { [255, 255, 255] };
    p.text(2 * scale, 2 * scale, &text, scale, ink);
}

/// A white double frame around the head the decision follows.
fn draw_followed(frame: &mut Frame, head: &BBox) {
    let mut p = Painter::frame(frame);
    let (x1, y1, x2, y2) = (head.x1 as i64 - 4, head.y1 as i64 - 4, head.x2 as i64 + 4, head.y2 as i64 + 4);
    for t in [0, 1, 3] {
        for x in x1 - t..=x2 + t {
            p.put(x, y1 - t, [255, 255, 255]);
            p.put(x, y2 + t, [255, 255, 255]);
        }
        for y in y1 - t..=y2 + t {
            p.put(x1 - t, y, [255, 255, 255]);
            p.put(x2 + t, y, [255, 255, 255]);
        }
    }
}

/// Writes annotated frames of a run: an MP4 (`--save`) and/or PNGs (`--save-frames`).
pub struct Recorder {
    #[cfg(feature = "video")]
    video: Option<VideoOut>,
    frames_dir: Option<PathBuf>,
    /// The clip's timeline, shown in the banner beside the decision.
    truth: Option<Timeline>,
    picture: Frame,
    pngs: u64,
}

/// The `--save` MP4: created at the first frame, when its size is known.
#[cfg(feature = "video")]
struct VideoOut {
    path: PathBuf,
    fps: f64,
    writer: Option<safecross::synth::video::Mp4VideoWriter>,
    last_seq: Option<u64>,
}

impl Recorder {
    /// A recorder for `video` (MP4) and `frames_dir` (PNGs), either or both; None when
    /// neither is asked for. `fps` is the source's rate (the MP4's); `truth`, the
    /// clip's timeline, when it has one.
    pub fn new(
        video: Option<PathBuf>,
        frames_dir: Option<PathBuf>,
        fps: f64,
        truth: Option<Timeline>,
    ) -> anyhow::Result<Option<Self>> {
        if video.is_none() && frames_dir.is_none() {
            return Ok(None);
        }
        #[cfg(not(feature = "video"))]
        if video.is_some() {
            anyhow::bail!(
                "--save needs the built-in video encoder (cargo feature `video`); --save-frames works without"
            );
        }
        #[cfg(not(feature = "video"))]
        let _ = fps;
        if let Some(dir) = &frames_dir {
            std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        }
        Ok(Some(Self {
            #[cfg(feature = "video")]
            video: video.map(|path| VideoOut {
                path,
                fps: if fps.is_finite() && fps >= 1.0 { fps.min(120.0) } else { 15.0 },
                writer: None,
                last_seq: None,
            }),
            frames_dir,
            truth,
            picture: Frame::default(),
            pngs: 0,
        }))
    }

    /// Draws what the pipeline saw and decided on `frame` and writes it. Frames the run
    /// dropped to keep up (real-time pacing) are filled with the last picture, so the
    /// MP4 keeps the source's timing.
    pub fn record(
        &mut self,
        frame: &Frame,
        detections: &[Detection],
        labels: &[String],
        fd: &FrameDecision,
    ) -> anyhow::Result<()> {
        // H.264 needs even sides: a stray last row or column is left out.
        let (w, h) = (frame.width & !1, frame.height & !1);
        self.picture.reshape(w, h);
        for y in 0..h as usize {
            let src = &frame.rgb[y * frame.width as usize * 3..][..w as usize * 3];
            self.picture.rgb[y * w as usize * 3..][..w as usize * 3].copy_from_slice(src);
        }
        draw_detections(&mut self.picture, detections, labels);
        if let Some(head) = fd.observation.bbox {
            draw_followed(&mut self.picture, &head);
        }
        let truth = self.truth.as_ref().and_then(|t| t.signal_at(frame.t_s()));
        draw_banner(&mut self.picture, fd, frame.t_s(), truth);
        #[cfg(feature = "video")]
        if let Some(video) = &mut self.video {
            let repeats = video.last_seq.map_or(1, |last| frame.seq.saturating_sub(last).clamp(1, 600));
            video.last_seq = Some(frame.seq);
            let writer = match &mut video.writer {
                Some(writer) => writer,
                None => {
                    let bitrate = (f64::from(w) * f64::from(h) * video.fps * 0.15) as u32;
                    let writer = safecross::synth::video::Mp4VideoWriter::create(
                        &video.path,
                        w,
                        h,
                        video.fps,
                        bitrate.max(200_000),
                        30,
                    )
                    .with_context(|| format!("cannot write {}", video.path.display()))?;
                    video.writer.insert(writer)
                }
            };
            for _ in 0..repeats {
                writer.write_frame(&self.picture.rgb)?;
            }
        }
        if let Some(dir) = &self.frames_dir {
            let path = dir.join(format!("frame_{:06}.png", frame.seq));
            save_png(&path, &self.picture)?;
            self.pngs += 1;
        }
        Ok(())
    }

    /// Completes the MP4; says what was written.
    pub fn finish(self) -> anyhow::Result<Vec<String>> {
        let mut written = Vec::new();
        #[cfg(feature = "video")]
        if let Some(VideoOut { path, writer: Some(writer), .. }) = self.video {
            let frames = writer.frames();
            writer.finish()?;
            written.push(format!("annotated video written to {} ({frames} frames)", path.display()));
        }
        if let Some(dir) = &self.frames_dir {
            written.push(format!("{} annotated frame(s) written to {}", self.pngs, dir.display()));
        }
        Ok(written)
    }
}

/// Saves an RGB frame as PNG.
pub fn save_png(path: &Path, frame: &Frame) -> anyhow::Result<()> {
    image::save_buffer(path, &frame.rgb, frame.width, frame.height, image::ExtendedColorType::Rgb8)
        .with_context(|| format!("cannot write {}", path.display()))
}
