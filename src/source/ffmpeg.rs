//! Fallback decoder for containers and codecs the built-in decoder does not handle:
//! runs the `ffmpeg` binary and reads raw RGB frames from its stdout.
//!
//! Frame times come from the container: `ffprobe` lists the packets' presentation
//! times (no decoding needed), and they are matched to decoded frames in order.
//!
//! A cut or damaged file must end in an error, as a cut MP4 does, not in a quiet end
//! of stream. ffmpeg's exit status does not say so: it exits 0 on a Matroska file cut
//! in the middle ("File ended prematurely") and on a cut AVI (ffmpeg 5.1; `-xerror`
//! catches the AVI but not the Matroska file). At `-v error` it prints nothing for an
//! intact file and a line for each damage it recovered from, so the first such line,
//! or a failed exit, turns the end of the stream into [`SourceError::Corrupt`].

use super::{FrameSource, SourceError, SourceInfo};
use crate::frame::Frame;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::thread::JoinHandle;
use std::time::Duration;

/// Whether `ffmpeg` and `ffprobe` can be run.
pub fn available() -> bool {
    ["ffmpeg", "ffprobe"].iter().all(|tool| {
        Command::new(tool)
            .arg("-version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

/// A video decoded by an `ffmpeg` child process.
#[derive(Debug)]
pub struct FfmpegSource {
    path: PathBuf,
    child: Child,
    stdout: ChildStdout,
    /// Drains ffmpeg's stderr (a full pipe would stall it) and yields its first line.
    stderr: Option<JoinHandle<Option<String>>>,
    pts: Vec<f64>,
    next: usize,
    info: SourceInfo,
}

fn probe(path: &Path, args: &[&str]) -> Result<String, SourceError> {
    let out =
        Command::new("ffprobe").args(["-v", "error"]).args(args).arg(path).output().map_err(|e| {
            SourceError::Ffmpeg { path: path.to_path_buf(), detail: format!("cannot run ffprobe: {e}") }
        })?;
    if !out.status.success() {
        let msg = String::from_utf8_lossy(&out.stderr);
        let first = msg.lines().last().unwrap_or("no details").trim().to_string();
        return Err(SourceError::Unsupported { path: path.to_path_buf(), detail: format!("ffprobe: {first}") });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

impl FfmpegSource {
    /// Probes the first video stream and starts decoding it.
    ///
    /// # Errors
    /// [`SourceError::Unsupported`] when ffmpeg finds no video stream.
    pub fn open(path: &Path) -> Result<Self, SourceError> {
        let stream = probe(
            path,
            &[
                "-select_streams",
                "v:0",
                "-show_entries",
                "stream=width,height,avg_frame_rate,codec_name",
                "-of",
                "csv=p=0",
            ],
        )?;
        let fields: Vec<&str> = stream.lines().next().unwrap_or("").split(',').map(str::trim).collect();
        let (codec, width, height, rate) = match fields.as_slice() {
            [codec, w, h, rate, ..] => (*codec, w.parse::<u32>().ok(), h.parse::<u32>().ok(), *rate),
            _ => ("", None, None, ""),
        };
        let (Some(width), Some(height)) = (width, height) else {
            return Err(SourceError::Unsupported {
                path: path.to_path_buf(),
                detail: "ffmpeg finds no video stream in it".into(),
            });
        };
        let fps = match rate.split_once('/') {
            Some((n, d)) => n.parse::<f64>().unwrap_or(0.0) / d.parse::<f64>().unwrap_or(1.0).max(1e-9),
            None => rate.parse().unwrap_or(0.0),
        };
        let packets = probe(path, &["-select_streams", "v:0", "-show_entries", "packet=pts_time", "-of", "csv=p=0"])?;
        let mut pts: Vec<f64> = packets.lines().filter_map(|l| l.trim().trim_end_matches(',').parse().ok()).collect();
        pts.sort_by(f64::total_cmp);
        let duration_s = pts.last().map(|last| last + if fps > 0.0 { 1.0 / fps } else { 0.0 });
        let mut child = Command::new("ffmpeg")
            .args(["-v", "error", "-nostats", "-nostdin", "-i"])
            .arg(path)
            .args(["-map", "0:v:0", "-vsync", "passthrough", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| SourceError::Ffmpeg { path: path.to_path_buf(), detail: format!("cannot run ffmpeg: {e}") })?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| SourceError::Ffmpeg { path: path.to_path_buf(), detail: "no output pipe".into() })?;
        let stderr = child
            .stderr
            .take()
            .ok_or_else(|| SourceError::Ffmpeg { path: path.to_path_buf(), detail: "no error pipe".into() })?;
        let stderr =
            std::thread::Builder::new().name("ffmpeg-stderr".into()).spawn(move || first_line(stderr)).map_err(
                |e| SourceError::Ffmpeg { path: path.to_path_buf(), detail: format!("cannot start a thread: {e}") },
            )?;
        let info = SourceInfo {
            description: format!("{codec} video via ffmpeg {} ({width}x{height}, {fps:.2} fps)", path.display()),
            width,
            height,
            fps,
            duration_s,
            live: false,
        };
        Ok(Self { path: path.to_path_buf(), child, stdout, stderr: Some(stderr), pts, next: 0, info })
    }
}

impl FrameSource for FfmpegSource {
    fn info(&self) -> &SourceInfo {
        &self.info
    }

    fn next_frame(&mut self, frame: &mut Frame) -> Result<bool, SourceError> {
        frame.reshape(self.info.width, self.info.height);
        match self.stdout.read_exact(&mut frame.rgb) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                let status = self
                    .child
                    .wait()
                    .map_err(|e| SourceError::Ffmpeg { path: self.path.clone(), detail: e.to_string() })?;
                let complaint = self.stderr.take().and_then(|t| t.join().ok().flatten());
                if let Some(line) = complaint {
                    let detail = format!("ffmpeg: {line} (after {} frames)", self.next);
                    return Err(SourceError::Corrupt { path: self.path.clone(), detail });
                }
                if !status.success() {
                    return Err(SourceError::Ffmpeg {
                        path: self.path.clone(),
                        detail: format!("ffmpeg exited with {status} after {} frames", self.next),
                    });
                }
                return Ok(false);
            }
            Err(e) => return Err(SourceError::Ffmpeg { path: self.path.clone(), detail: e.to_string() }),
        }
        let fallback = if self.info.fps > 0.0 { self.next as f64 / self.info.fps } else { 0.0 };
        frame.pts = Duration::from_secs_f64(self.pts.get(self.next).copied().unwrap_or(fallback).max(0.0));
        frame.seq = self.next as u64;
        self.next += 1;
        Ok(true)
    }
}

/// The first non-empty line ffmpeg writes to stderr, without the `@ 0x...` address in
/// its `[demuxer @ 0x...]` prefix; reads on to the end so ffmpeg never blocks on it.
fn first_line(stderr: impl Read) -> Option<String> {
    use std::io::BufRead;
    let mut first = None;
    for line in std::io::BufReader::new(stderr).split(b'\n') {
        let Ok(line) = line else { break };
        let line = String::from_utf8_lossy(&line).trim().to_string();
        if first.is_none() && !line.is_empty() {
            first = Some(match line.strip_prefix('[').and_then(|l| l.split_once("] ")) {
                Some((who, what)) => format!("{}: {what}", who.split(" @ ").next().unwrap_or(who)),
                None => line,
            });
        }
    }
    first
}

impl Drop for FfmpegSource {
    fn drop(&mut self) {
        // Stop a decoder we no longer read from instead of leaving it blocked on a pipe.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_line_drops_the_address_and_reads_to_the_end() {
        let err = b"\n[matroska,webm @ 0x55dbe7c84900] File ended prematurely\nmore\n";
        assert_eq!(first_line(&err[..]).as_deref(), Some("matroska,webm: File ended prematurely"));
        assert_eq!(
            first_line(&b"cut.avi: corrupt input packet in stream 0"[..]).as_deref(),
            Some("cut.avi: corrupt input packet in stream 0")
        );
        assert_eq!(first_line(&b""[..]), None);
    }
}
