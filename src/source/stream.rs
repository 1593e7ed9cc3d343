//! Live and streamed video through `ffmpeg`: standard input (`-`), a named pipe, or a
//! network camera (`rtsp://`, `http://`, ...), for example a phone streaming to a laptop.
//!
//! Unlike a file, such a source cannot be probed ahead: `ffprobe` over the whole stream
//! would wait for its end, forever. So one `ffmpeg` process decodes it and reports on
//! stderr, as it goes, the frame size (its output stream line) and each frame's time
//! (the `showinfo` filter's `pts_time`).
//!
//! A live source is never queued: a reader thread drains every decoded frame as it
//! comes and keeps only the newest, so a slow model drops frames instead of falling
//! further and further behind the street.

use super::{FrameSource, SourceError, SourceInfo};
use crate::frame::Frame;
use std::io::{BufRead, Read};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// How long to wait for the first picture of a stream before giving up.
const START_TIMEOUT: Duration = Duration::from_secs(15);

/// Whether `text` names a stream rather than a file: `-` (standard input) or a URL.
pub fn is_stream(text: &str) -> bool {
    const SCHEMES: [&str; 8] = ["rtsp://", "rtsps://", "rtmp://", "http://", "https://", "udp://", "tcp://", "srt://"];
    text == "-" || SCHEMES.iter().any(|s| text.starts_with(s))
}

/// What the reader thread shares with the consumer: the newest frame, if not yet taken.
#[derive(Debug, Default)]
struct Latest {
    rgb: Vec<u8>,
    pts_s: f64,
    seq: u64,
    fresh: bool,
    /// The stream ended (or failed, with why).
    ended: Option<Result<(), String>>,
}

/// A stream decoded by an `ffmpeg` child process. See the module docs.
#[derive(Debug)]
pub struct StreamSource {
    name: PathBuf,
    child: Child,
    shared: Arc<(Mutex<Latest>, Condvar)>,
    reader: Option<JoinHandle<()>>,
    info: SourceInfo,
}

/// What ffmpeg's stderr tells: the output size and rate once, then frame times.
#[derive(Debug)]
enum Told {
    Size { width: u32, height: u32, fps: f64 },
    Pts(f64),
    Error(String),
}

impl StreamSource {
    /// Starts decoding `input` (`-`, a URL, or a named pipe) and waits for its frame
    /// size.
    ///
    /// # Errors
    /// [`SourceError::Ffmpeg`] when ffmpeg cannot be run, or shows no picture within
    /// 15 s (with what it said).
    pub fn open(input: &str) -> Result<Self, SourceError> {
        let name = PathBuf::from(input);
        let err = |detail: String| SourceError::Ffmpeg { path: name.clone(), detail };
        let mut command = Command::new("ffmpeg");
        command.args(["-hide_banner", "-nostats", "-v", "info"]);
        // ffmpeg reads keys from stdin unless told not to; standard input is the video here.
        if input != "-" {
            command.arg("-nostdin");
        }
        // Start within a second instead of probing five. (`-fflags nobuffer` held back
        // every frame of a piped MPEG-TS with B-frames, ffmpeg 5.1.)
        command
            .args(["-probesize", "500000", "-analyzeduration", "1000000", "-i"])
            .arg(if input == "-" { "pipe:0" } else { input })
            .args(["-map", "0:v:0", "-vf", "showinfo", "-fps_mode", "passthrough"])
            .args(["-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"])
            .stdin(if input == "-" { Stdio::inherit() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().map_err(|e| err(format!("cannot run ffmpeg: {e}")))?;
        let (stdout, stderr) = match (child.stdout.take(), child.stderr.take()) {
            (Some(o), Some(e)) => (o, e),
            _ => return Err(err("no pipes to ffmpeg".into())),
        };
        let (tell, told) = channel();
        std::thread::Builder::new()
            .name("ffmpeg-stderr".into())
            .spawn(move || listen(stderr, &tell))
            .map_err(|e| err(format!("cannot start a thread: {e}")))?;
        // ffmpeg sets its output up after the first frame went through the filter, so
        // that frame's time may come before the size.
        let mut early = std::collections::VecDeque::new();
        let mut complaint = None;
        let (width, height, fps) = loop {
            match told.recv_timeout(START_TIMEOUT) {
                Ok(Told::Size { width, height, fps }) => break (width, height, fps),
                Ok(Told::Pts(p)) => early.push_back(p),
                // Live streams often start mid-picture, with errors ffmpeg recovers from:
                // kept only to say why, should no picture come.
                Ok(Told::Error(line)) => complaint = Some(line),
                Err(why) => {
                    let _ = child.kill();
                    let status = child.wait().map_err(|e| err(e.to_string()))?;
                    let what = match why {
                        RecvTimeoutError::Timeout => format!("no picture within {} s", START_TIMEOUT.as_secs()),
                        RecvTimeoutError::Disconnected => format!("ffmpeg ended ({status}) before the first picture"),
                    };
                    return Err(err(complaint.map_or(what.clone(), |c| format!("{what}: {c}"))));
                }
            }
        };
        let shared = Arc::new((Mutex::new(Latest::default()), Condvar::new()));
        let reader = {
            let shared = Arc::clone(&shared);
            let frame_bytes = width as usize * height as usize * 3;
            std::thread::Builder::new()
                .name("ffmpeg-stream".into())
                .spawn(move || drain(stdout, frame_bytes, fps, early, &told, &shared))
                .map_err(|e| err(format!("cannot start a thread: {e}")))?
        };
        let info = SourceInfo {
            description: format!("live video via ffmpeg {input} ({width}x{height})"),
            width,
            height,
            fps,
            duration_s: None,
            live: true,
        };
        Ok(Self { name, child, shared, reader: Some(reader), info })
    }
}

/// Reads ffmpeg's stderr to the end (so it never blocks on it), telling the size, each
/// frame's time and the first error line.
fn listen(stderr: impl Read, tell: &Sender<Told>) {
    let mut in_output = false;
    let mut sized = false;
    for line in std::io::BufReader::new(stderr).lines() {
        let Ok(line) = line else { break };
        if line.starts_with("Output #0") {
            in_output = true;
        } else if line.contains("Parsed_showinfo") {
            if let Some(pts) = field(&line, "pts_time:").and_then(|v| v.parse::<f64>().ok()) {
                let _ = tell.send(Told::Pts(pts));
            }
        } else if in_output && !sized && line.contains("Video: rawvideo") {
            if let Some((width, height)) = line.split([' ', ',']).find_map(size) {
                let fps = line.split(',').find_map(|p| p.trim().strip_suffix(" fps")?.parse().ok()).unwrap_or(0.0);
                sized = true;
                let _ = tell.send(Told::Size { width, height, fps });
            }
        } else if !sized && ["rror", "Invalid", "No such", "refused", "not found"].iter().any(|w| line.contains(w)) {
            let _ = tell.send(Told::Error(line.trim().to_string()));
        }
    }
}

/// The value after `key` in a `showinfo` line, up to the next space.
fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let rest = &line[line.find(key)? + key.len()..];
    rest.split_whitespace().next()
}

/// `1280x720` as a size.
fn size(token: &str) -> Option<(u32, u32)> {
    let (w, h) = token.split_once('x')?;
    let (w, h) = (w.parse().ok()?, h.parse().ok()?);
    (w > 0 && h > 0).then_some((w, h))
}

/// The reader thread: every frame as it comes, the newest kept for the consumer.
fn drain(
    mut stdout: impl Read,
    frame_bytes: usize,
    fps: f64,
    mut early: std::collections::VecDeque<f64>,
    told: &Receiver<Told>,
    shared: &(Mutex<Latest>, Condvar),
) {
    let (lock, ready) = shared;
    let mut buffer = vec![0u8; frame_bytes];
    let (mut seq, mut first_pts) = (0u64, None);
    let ended = loop {
        match stdout.read_exact(&mut buffer) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break Ok(()),
            Err(e) => break Err(e.to_string()),
        }
        // showinfo logs a frame before it is written out, so its time is (nearly always)
        // there already; a frame without one is timed by the stream's rate (30 if unknown).
        let pts = early.pop_front().or_else(|| {
            loop {
                match told.recv_timeout(Duration::from_millis(200)) {
                    Ok(Told::Pts(p)) => break Some(p),
                    Ok(_) => {}
                    Err(_) => break None,
                }
            }
        });
        let pts = pts.unwrap_or_else(|| seq as f64 / if fps > 0.0 { fps } else { 30.0 });
        let first = *first_pts.get_or_insert(pts);
        let Ok(mut latest) = lock.lock() else { return };
        std::mem::swap(&mut latest.rgb, &mut buffer);
        if buffer.len() != frame_bytes {
            buffer.resize(frame_bytes, 0);
        }
        latest.pts_s = (pts - first).max(0.0);
        latest.seq = seq;
        latest.fresh = true;
        seq += 1;
        ready.notify_all();
    };
    if let Ok(mut latest) = lock.lock() {
        latest.ended = Some(ended);
        ready.notify_all();
    }
}

impl FrameSource for StreamSource {
    fn info(&self) -> &SourceInfo {
        &self.info
    }

    fn next_frame(&mut self, frame: &mut Frame) -> Result<bool, SourceError> {
        let (lock, ready) = &*self.shared;
        let poisoned = || SourceError::Ffmpeg { path: self.name.clone(), detail: "the stream reader failed".into() };
        let mut latest = lock.lock().map_err(|_| poisoned())?;
        while !latest.fresh && latest.ended.is_none() {
            latest = ready.wait(latest).map_err(|_| poisoned())?;
        }
        if !latest.fresh {
            let ended = latest.ended.clone();
            drop(latest);
            let status = self
                .child
                .wait()
                .map_err(|e| SourceError::Ffmpeg { path: self.name.clone(), detail: e.to_string() })?;
            return match ended {
                Some(Err(why)) => Err(SourceError::Ffmpeg { path: self.name.clone(), detail: why }),
                _ if !status.success() => {
                    Err(SourceError::Ffmpeg { path: self.name.clone(), detail: format!("ffmpeg exited with {status}") })
                }
                _ => Ok(false),
            };
        }
        frame.reshape(self.info.width, self.info.height);
        std::mem::swap(&mut frame.rgb, &mut latest.rgb);
        frame.pts = Duration::from_secs_f64(latest.pts_s);
        frame.seq = latest.seq;
        latest.fresh = false;
        Ok(true)
    }
}

impl Drop for StreamSource {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_told_from_files() {
        for s in ["-", "rtsp://cam.local/live", "http://10.0.0.2:8080/video", "srt://host:9000"] {
            assert!(is_stream(s), "{s}");
        }
        for s in ["clip.mp4", "./-", "rtsp.mp4", "http_clip.mkv"] {
            assert!(!is_stream(s), "{s}");
        }
    }

    #[test]
    fn reads_what_ffmpeg_tells_on_stderr() {
        let stderr = "Input #0, mpegts, from 'pipe:0':\n  Stream #0:0[0x100]: Video: h264 (High), yuv420p, 960x540, 15 fps\n\
Output #0, rawvideo, to 'pipe:1':\n  Stream #0:0: Video: rawvideo (RGB[24] / 0x18424752), rgb24(pc, progressive), 960x540 [SAR 1:1 DAR 16:9], q=2-31, 186624 kb/s, 15 fps, 15 tbn\n\
[Parsed_showinfo_0 @ 0x5581] n:   0 pts:  12600 pts_time:1.4     duration:   6000 pos: 564\n\
[Parsed_showinfo_0 @ 0x5581] n:   1 pts:  18600 pts_time:1.46667 duration:   6000\n";
        let (tell, told) = channel();
        listen(stderr.as_bytes(), &tell);
        drop(tell);
        let got: Vec<Told> = told.iter().collect();
        assert!(matches!(got[0], Told::Size { width: 960, height: 540, fps } if (fps - 15.0).abs() < 1e-9), "{got:?}");
        assert!(matches!(got[1], Told::Pts(p) if (p - 1.4).abs() < 1e-9), "{got:?}");
        assert!(matches!(got[2], Told::Pts(p) if (p - 1.46667).abs() < 1e-9), "{got:?}");
        assert_eq!(got.len(), 3);
    }
}
