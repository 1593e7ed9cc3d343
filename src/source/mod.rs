//! Frame sources: everything that yields RGB frames with a presentation time.
//!
//! | source | module | needs |
//! |---|---|---|
//! | H.264 MP4 | [`mp4`] | nothing (bundled OpenH264, cargo feature `video`) |
//! | other containers and codecs | [`ffmpeg`] | an `ffmpeg` binary on PATH |
//! | one image, or a folder of images | [`images`] | nothing |
//! | camera (`camera`, `camera:N`) | [`camera`] | cargo feature `camera` |
//! | live stream: `-` (stdin), a named pipe, `rtsp://`, `http(s)://` ... | [`stream`] | an `ffmpeg` binary on PATH |
//!
//! All implement [`FrameSource`]: the caller owns the [`Frame`] and the source fills
//! it, so buffers are reused. [`open`] picks the source from a spec string by looking
//! at the file's first bytes, not its extension. [`pacing::Paced`] wraps any source to
//! run a file in real time, dropping stale frames instead of queueing them;
//! [`prefetch::Prefetch`] reads the next frame on its own thread while the model runs.
//! [`freeze::FreezeDetector`] tells a picture that stopped changing from a live one.
//!
//! Imports: `frame` and external crates only.

pub mod camera;
pub mod ffmpeg;
pub mod freeze;
pub mod images;
#[cfg(feature = "video")]
pub mod mp4;
pub mod pacing;
pub mod prefetch;
pub mod stream;

use crate::frame::Frame;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// Settings of the source stage.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SourceConfig {
    /// Frame rate given to image folders, frames per second; default 10. Videos and
    /// cameras carry their own timing.
    pub image_fps: f64,
    /// Camera resolution to ask for, `(width, height)` px; default 1280x720.
    pub camera_resolution: (u32, u32),
    /// Camera frame rate to ask for, frames per second; default 30.
    pub camera_fps: u32,
    /// Let `ffmpeg` decode what the built-in decoders cannot; default true.
    pub allow_ffmpeg: bool,
    /// A picture that stays (nearly) identical for longer than this, in seconds of media
    /// time, is frozen: a stuck camera or player, never a live street. Its frames then
    /// count as unknown, like a dark picture; default 1.0 (the same as the smoother's
    /// stall timeout: a picture that stops changing is treated like a camera that
    /// stops). Range `[0.1, 60]`. See [`freeze`] for what a live camera looks like.
    pub freeze_after_s: f64,
    /// Largest mean absolute difference, in levels of 255 per colour sample on a coarse
    /// grid, at which a frame still counts as the same picture; default 0.1. Live
    /// cameras differ by about 1 level from sensor noise alone, the bundled clips by 0.26
    /// or more; copies of one frame by 0, and a still image looped into an H.264 video by
    /// 0.03 or less. Range `[0, 5]`; 0 takes only byte-identical frames as frozen.
    pub freeze_max_mean_diff: f32,
}

impl Default for SourceConfig {
    fn default() -> Self {
        Self {
            image_fps: 10.0,
            camera_resolution: (1280, 720),
            camera_fps: 30,
            allow_ffmpeg: true,
            freeze_after_s: 1.0,
            freeze_max_mean_diff: 0.1,
        }
    }
}

impl SourceConfig {
    /// Checks the ranges of the settings.
    ///
    /// # Errors
    /// [`SourceConfigError`] naming the first key out of range.
    pub fn validate(&self) -> Result<(), SourceConfigError> {
        let check = |ok: bool, field: &'static str, value: String, range: &'static str| {
            if ok { Ok(()) } else { Err(SourceConfigError { field, value, range }) }
        };
        let f = self.freeze_after_s;
        check(f.is_finite() && (0.1..=60.0).contains(&f), "freeze_after_s", f.to_string(), "[0.1, 60]")?;
        let d = self.freeze_max_mean_diff;
        check(d.is_finite() && (0.0..=5.0).contains(&d), "freeze_max_mean_diff", d.to_string(), "[0, 5]")?;
        let fps = self.image_fps;
        check(fps.is_finite() && fps > 0.0 && fps <= 1000.0, "image_fps", fps.to_string(), "(0, 1000]")?;
        check((1..=1000).contains(&self.camera_fps), "camera_fps", self.camera_fps.to_string(), "[1, 1000]")?;
        let (w, h) = self.camera_resolution;
        let sides = (16..=8192).contains(&w) && (16..=8192).contains(&h);
        check(sides, "camera_resolution", format!("[{w}, {h}]"), "each side in [16, 8192]")
    }
}

/// A `[source]` setting out of its range.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("source.{field} = {value} is out of range {range}")]
pub struct SourceConfigError {
    /// The key under `[source]`.
    pub field: &'static str,
    /// The value given, as written.
    pub value: String,
    /// The range it must lie in.
    pub range: &'static str,
}

/// What a source is, for logs, reports and pacing.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceInfo {
    /// Human-readable description, e.g. `H.264 MP4 samples/eu.mp4 (1280x720)`.
    pub description: String,
    /// Frame width, px, when known before the first frame.
    pub width: u32,
    /// Frame height, px, when known before the first frame.
    pub height: u32,
    /// Nominal frame rate, frames per second (0 when unknown).
    pub fps: f64,
    /// Length in seconds, for files (None for cameras).
    pub duration_s: Option<f64>,
    /// Whether frames arrive by themselves in real time (a camera).
    pub live: bool,
}

/// Why a source could not be opened or read. Messages are one line and name the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    /// Nothing at that path.
    #[error("{path}: no such file or folder")]
    NotFound {
        /// The path given.
        path: PathBuf,
    },
    /// The file or folder exists but cannot be read.
    #[error("cannot read {path}")]
    Io {
        /// The path.
        path: PathBuf,
        /// Underlying error.
        source: std::io::Error,
    },
    /// The file is not a video or image that safecross can read.
    #[error("{path} is not a video or image safecross can read ({detail})")]
    Unsupported {
        /// The path.
        path: PathBuf,
        /// What was found and what to do.
        detail: String,
    },
    /// The container or stream is damaged or cut short.
    #[error("{path} is damaged or truncated: {detail}")]
    Corrupt {
        /// The path.
        path: PathBuf,
        /// What failed.
        detail: String,
    },
    /// A valid image too large to decode within the memory limit.
    #[error("{path} is too large to read: {detail} (safecross decodes images of up to {limit_mb} MB of pixels)")]
    TooLarge {
        /// The path.
        path: PathBuf,
        /// What the decoder said.
        detail: String,
        /// The limit, MB.
        limit_mb: u64,
    },
    /// One frame of a stream could not be read; the frames around it can. The run counts
    /// it as unknown and goes on (see [`SourceError::bad_frame_time`]).
    #[error("frame {seq} ({path}) cannot be read")]
    BadFrame {
        /// Number of the frame in the stream.
        seq: u64,
        /// Its presentation time.
        pts: std::time::Duration,
        /// The file that holds it.
        path: PathBuf,
        /// Why it cannot be read.
        source: Box<SourceError>,
    },
    /// The MP4 has no H.264 video track.
    #[error("{path} has no H.264 video track (tracks: {tracks})")]
    NoVideoTrack {
        /// The path.
        path: PathBuf,
        /// The tracks that are there.
        tracks: String,
    },
    /// A folder whose images all fail to read.
    #[error("none of the {count} images in {path} can be read; the first: {first}")]
    NoReadableImages {
        /// The folder.
        path: PathBuf,
        /// How many images it holds.
        count: usize,
        /// Why the first one cannot be read.
        first: Box<SourceError>,
    },
    /// A folder without images.
    #[error("{path} contains no images (.png, .jpg, .jpeg, .bmp, .webp)")]
    EmptyFolder {
        /// The folder.
        path: PathBuf,
    },
    /// The camera cannot be opened or stopped delivering frames.
    #[error("camera: {0}")]
    Camera(String),
    /// The background reader of [`prefetch::Prefetch`] could not start or stopped.
    #[error("frame reader: {0}")]
    Reader(String),
    /// The `ffmpeg` fallback failed.
    #[error("ffmpeg could not decode {path}: {detail}")]
    Ffmpeg {
        /// The path.
        path: PathBuf,
        /// ffmpeg's message.
        detail: String,
    },
}

impl SourceError {
    /// For [`SourceError::BadFrame`], the lost frame's time, s: the source goes on after
    /// it. None for every other error, which ends the source.
    pub fn bad_frame_time(&self) -> Option<f64> {
        match self {
            SourceError::BadFrame { pts, .. } => Some(pts.as_secs_f64()),
            _ => None,
        }
    }
}

/// What waiting for the next frame brought (see [`FrameSource::next_frame_until`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// A frame was written to the caller's buffer.
    Frame,
    /// Nothing arrived by the deadline; ask again. The caller's buffer is unchanged.
    Pending,
    /// The end of the file.
    End,
}

/// Anything that yields frames.
pub trait FrameSource: Send {
    /// What this source is.
    fn info(&self) -> &SourceInfo;

    /// Decodes the next frame into `frame`. Returns `Ok(false)` at the end of a file.
    ///
    /// # Errors
    /// [`SourceError`] when the data is damaged or the device fails.
    fn next_frame(&mut self, frame: &mut Frame) -> Result<bool, SourceError>;

    /// As [`FrameSource::next_frame`], but gives up waiting at `deadline` with
    /// [`Next::Pending`], so a caller can keep time while a camera or decoder stalls.
    /// Sources that read ahead on another thread ([`prefetch::Prefetch`]) or wait for a
    /// frame's time ([`pacing::Paced`]) honour the deadline; the default blocks, since a
    /// source that decodes on the caller's thread cannot be interrupted.
    ///
    /// # Errors
    /// As [`FrameSource::next_frame`].
    fn next_frame_until(&mut self, frame: &mut Frame, deadline: std::time::Instant) -> Result<Next, SourceError> {
        let _ = deadline;
        Ok(if self.next_frame(frame)? { Next::Frame } else { Next::End })
    }

    /// Advances past the next frame without producing pixels, returning its
    /// presentation time, or `None` at the end. Sources that can skip the colour
    /// conversion override this; video still has to decode every frame.
    ///
    /// # Errors
    /// As [`FrameSource::next_frame`].
    fn skip_frame(&mut self, scratch: &mut Frame) -> Result<Option<std::time::Duration>, SourceError> {
        Ok(self.next_frame(scratch)?.then_some(scratch.pts))
    }

    /// The presentation time of the frame that the next call would return, when the
    /// source knows it without decoding (files do; cameras do not).
    fn peek_pts(&self) -> Option<std::time::Duration> {
        None
    }
}

impl<S: FrameSource + ?Sized> FrameSource for Box<S> {
    fn info(&self) -> &SourceInfo {
        (**self).info()
    }

    fn next_frame(&mut self, frame: &mut Frame) -> Result<bool, SourceError> {
        (**self).next_frame(frame)
    }

    fn next_frame_until(&mut self, frame: &mut Frame, deadline: std::time::Instant) -> Result<Next, SourceError> {
        (**self).next_frame_until(frame, deadline)
    }

    fn skip_frame(&mut self, scratch: &mut Frame) -> Result<Option<std::time::Duration>, SourceError> {
        (**self).skip_frame(scratch)
    }

    fn peek_pts(&self) -> Option<std::time::Duration> {
        (**self).peek_pts()
    }
}

/// What the user asked to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceSpec {
    /// A camera by index (`camera` = 0, `camera:N`).
    Camera(u32),
    /// A file or folder.
    Path(PathBuf),
    /// A live stream read through ffmpeg: `-` (standard input) or a URL such as
    /// `rtsp://...` (see [`stream`]).
    Stream(String),
}

impl SourceSpec {
    /// Parses `camera`, `camera:N`, `-`, a stream URL, or a path.
    pub fn parse(text: &str) -> Self {
        if stream::is_stream(text) {
            return SourceSpec::Stream(text.to_string());
        }
        match text.strip_prefix("camera") {
            Some("") => SourceSpec::Camera(0),
            Some(rest) => match rest.strip_prefix(':').and_then(|n| n.parse().ok()) {
                Some(n) => SourceSpec::Camera(n),
                None => SourceSpec::Path(PathBuf::from(text)),
            },
            None => SourceSpec::Path(PathBuf::from(text)),
        }
    }
}

/// The kind of file, from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sniffed {
    Mp4,
    Image,
    /// A container only ffmpeg reads here, named for the error message.
    Other(&'static str),
}

/// Names the common containers from their magic bytes, so that "install ffmpeg"
/// errors say what the file is.
fn container_name(head: &[u8]) -> &'static str {
    let at = |offset: usize, magic: &[u8]| {
        head.len() >= offset + magic.len() && &head[offset..offset + magic.len()] == magic
    };
    if at(0, &[0x1A, 0x45, 0xDF, 0xA3]) {
        // EBML: Matroska and WebM share the header; the doc type tells them apart.
        if head.windows(4).any(|w| w == b"webm") { "WebM video" } else { "Matroska (MKV) video" }
    } else if at(0, b"RIFF") && at(8, b"AVI ") {
        "AVI video"
    } else if at(4, b"moov") || at(4, b"mdat") || at(4, b"wide") || at(4, b"free") {
        "QuickTime/MP4 without a file-type box"
    } else if at(0, &[0x47]) && at(188, &[0x47]) {
        "MPEG transport stream"
    } else if at(0, &[0x00, 0x00, 0x01, 0xBA]) {
        "MPEG program stream"
    } else if at(0, b"FLV") {
        "Flash video (FLV)"
    } else if at(0, b"OggS") {
        "Ogg"
    } else if at(0, &[0x00, 0x00, 0x00, 0x01]) || at(0, &[0x00, 0x00, 0x01]) {
        "raw H.264/H.265 elementary stream"
    } else {
        "unknown format"
    }
}

fn sniff(path: &Path) -> Result<Sniffed, SourceError> {
    use std::io::Read;
    // 189 bytes: an MPEG transport stream is recognised by its second sync byte.
    let mut head = Vec::with_capacity(189);
    let file = std::fs::File::open(path).map_err(|source| SourceError::Io { path: path.to_path_buf(), source })?;
    let n =
        file.take(189).read_to_end(&mut head).map_err(|source| SourceError::Io { path: path.to_path_buf(), source })?;
    let head = &head[..];
    if n >= 8 && &head[4..8] == b"ftyp" {
        return Ok(Sniffed::Mp4);
    }
    if image::guess_format(head).is_ok() {
        return Ok(Sniffed::Image);
    }
    Ok(Sniffed::Other(container_name(head)))
}

/// Opens the source a spec names.
///
/// # Errors
/// [`SourceError`] with a one-line reason: missing path, unreadable folder, unknown
/// format (naming what to install), damaged file, or no camera.
pub fn open(spec: &SourceSpec, config: &SourceConfig) -> Result<Box<dyn FrameSource>, SourceError> {
    let path = match spec {
        SourceSpec::Camera(index) => return camera::open(*index, config),
        SourceSpec::Stream(input) => return open_stream(input, config),
        SourceSpec::Path(p) => p,
    };
    let meta = std::fs::metadata(path).map_err(|source| match source.kind() {
        std::io::ErrorKind::NotFound => SourceError::NotFound { path: path.clone() },
        _ => SourceError::Io { path: path.clone(), source },
    })?;
    // A named pipe is a live stream: sniffing its first bytes would take them from it.
    #[cfg(unix)]
    if std::os::unix::fs::FileTypeExt::is_fifo(&meta.file_type()) {
        return open_stream(&path.to_string_lossy(), config);
    }
    if meta.is_dir() {
        return Ok(Box::new(images::ImageSource::folder(path, config.image_fps)?));
    }
    match sniff(path)? {
        Sniffed::Image => Ok(Box::new(images::ImageSource::single(path, config.image_fps)?)),
        Sniffed::Mp4 => open_mp4(path, config),
        Sniffed::Other(name) => open_with_ffmpeg(path, config, name),
    }
}

#[cfg(feature = "video")]
fn open_mp4(path: &Path, config: &SourceConfig) -> Result<Box<dyn FrameSource>, SourceError> {
    match mp4::Mp4Source::open(path) {
        // Main and High profile (phones, action cameras, dashcams) carry B-frames that
        // OpenH264 cannot decode: ffmpeg plays them whole. Without ffmpeg the built-in
        // decoder still tries (a Main stream without B-frames plays), and says what to
        // install if it cannot go on.
        Ok(source) if !source.profile().built_in_decodes() && config.allow_ffmpeg && ffmpeg::available() => {
            tracing::info!("H.264 {} profile: decoding through ffmpeg", source.profile().name());
            Ok(Box::new(ffmpeg::FfmpegSource::open(path)?))
        }
        Ok(source) => Ok(Box::new(source)),
        // Another codec in an MP4 (HEVC, AV1, MPEG-4 part 2): ffmpeg may still read it.
        Err(SourceError::NoVideoTrack { tracks, .. }) if config.allow_ffmpeg && tracks.contains("video") => {
            open_with_ffmpeg(path, config, &format!("MP4 with tracks {tracks}"))
        }
        Err(e) => Err(e),
    }
}

#[cfg(not(feature = "video"))]
fn open_mp4(path: &Path, config: &SourceConfig) -> Result<Box<dyn FrameSource>, SourceError> {
    open_with_ffmpeg(path, config, "MP4, and this build has no built-in video decoder (cargo feature `video`)")
}

fn open_stream(input: &str, config: &SourceConfig) -> Result<Box<dyn FrameSource>, SourceError> {
    if config.allow_ffmpeg && ffmpeg::available() {
        return Ok(Box::new(stream::StreamSource::open(input)?));
    }
    Err(SourceError::Unsupported {
        path: PathBuf::from(input),
        detail: "a live stream; safecross reads streams through ffmpeg (apt-get install ffmpeg)".into(),
    })
}

fn open_with_ffmpeg(path: &Path, config: &SourceConfig, found: &str) -> Result<Box<dyn FrameSource>, SourceError> {
    if config.allow_ffmpeg && ffmpeg::available() {
        return Ok(Box::new(ffmpeg::FfmpegSource::open(path)?));
    }
    Err(SourceError::Unsupported {
        path: path.to_path_buf(),
        detail: format!(
            "{found}; safecross decodes H.264 MP4 and images itself; for other formats install ffmpeg (apt-get install ffmpeg)"
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_specs() {
        assert_eq!(SourceSpec::parse("camera"), SourceSpec::Camera(0));
        assert_eq!(SourceSpec::parse("camera:2"), SourceSpec::Camera(2));
        assert_eq!(SourceSpec::parse("camera_roll.mp4"), SourceSpec::Path("camera_roll.mp4".into()));
        assert_eq!(SourceSpec::parse("a/b.mp4"), SourceSpec::Path("a/b.mp4".into()));
        assert_eq!(SourceSpec::parse("-"), SourceSpec::Stream("-".into()));
        assert_eq!(SourceSpec::parse("rtsp://cam/live"), SourceSpec::Stream("rtsp://cam/live".into()));
    }

    #[test]
    fn missing_path_is_reported() {
        let err = open(&SourceSpec::parse("/no/such/clip.mp4"), &SourceConfig::default()).err().unwrap();
        assert_eq!(err.to_string(), "/no/such/clip.mp4: no such file or folder");
    }
}
