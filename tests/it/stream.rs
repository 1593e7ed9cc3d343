//! Live sources through ffmpeg: standard input and a named pipe, fed in real time by a
//! local ffmpeg, as a phone streaming to a laptop would. The run must start at once
//! (no probing of a stream that has no end yet), keep up with the stream instead of
//! queueing it, and end cleanly when the stream ends. Skips without ffmpeg.

use crate::util::{repo_root, safecross_bin, skip, temp_dir};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Seconds of the sample that the writer streams, at its own pace (`-re`).
const STREAM_S: f64 = 10.0;

fn ffmpeg_present() -> bool {
    Command::new("ffmpeg").arg("-version").output().is_ok_and(|o| o.status.success())
}

/// A real-time MPEG-TS stream of `samples/us.mp4` into `output` (`-` for stdout).
fn writer(output: &str) -> Command {
    let mut cmd = Command::new("ffmpeg");
    cmd.args(["-hide_banner", "-v", "error", "-nostdin", "-re", "-t", &STREAM_S.to_string(), "-i"])
        .arg(repo_root().join("samples/us.mp4"))
        .args(["-c:v", "copy", "-f", "mpegts", "-y", output]);
    cmd
}

/// What one live run printed: the media time of each decided frame, and when the first
/// came after the start.
struct LiveRun {
    frame_times: Vec<f64>,
    first_after: Duration,
    wall: Duration,
    code: Option<i32>,
    stderr: String,
}

fn run_live(source: &str, stdin: Stdio) -> LiveRun {
    let started = Instant::now();
    let mut child = Command::new(safecross_bin())
        .args(["run", source, "--json", "--audio", "none"])
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let stderr = std::thread::spawn(move || {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut stderr, &mut text).ok();
        text
    });
    // A watchdog: a live source that hangs must fail the test, not the suite. It stands
    // down when the run ends, so it never signals a process id that has been reused.
    let pid = child.id();
    let (finished, watched) = std::sync::mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        let limit = Duration::from_secs_f64(STREAM_S + 40.0);
        if watched.recv_timeout(limit) == Err(std::sync::mpsc::RecvTimeoutError::Timeout) {
            Command::new("kill").arg(pid.to_string()).status().ok();
        }
    });
    let (mut frame_times, mut first_after) = (Vec::new(), None);
    for line in BufReader::new(stdout).lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&line.unwrap()) else { continue };
        if let Some(t) = v.get("decision").and(v.get("t")).and_then(|t| t.as_f64()) {
            first_after.get_or_insert(started.elapsed());
            frame_times.push(t);
        }
    }
    let code = child.wait().unwrap().code();
    drop(finished);
    watchdog.join().unwrap();
    LiveRun {
        frame_times,
        first_after: first_after.unwrap_or(Duration::MAX),
        wall: started.elapsed(),
        code,
        stderr: stderr.join().unwrap(),
    }
}

fn check(how: &str, run: &LiveRun) {
    assert_eq!(run.code, Some(0), "{how}: {}", run.stderr);
    let n = run.frame_times.len();
    eprintln!(
        "{how}: {n} frames decided, first after {:.2} s, last at {:.2} s media time, run took {:.1} s",
        run.first_after.as_secs_f64(),
        run.frame_times.last().copied().unwrap_or(f64::NAN),
        run.wall.as_secs_f64()
    );
    // Long before the stream ends: a source that probed the stream first would wait for
    // its end (forever, for a camera).
    assert!(run.first_after.as_secs_f64() < STREAM_S - 2.0, "{how}: the first decision took {:?}", run.first_after);
    assert!(n >= 20, "{how}: only {n} frames decided");
    assert!(run.frame_times.windows(2).all(|w| w[1] > w[0]), "{how}: frame times not increasing");
    // The frames span the stream: it was followed as it came, not cut short.
    assert!(*run.frame_times.last().unwrap() >= STREAM_S - 1.5, "{how}: {:?}", run.frame_times.last());
    // Kept up with it: the run ends soon after the stream does, not a backlog later.
    assert!(
        run.wall.as_secs_f64() <= STREAM_S + 6.0,
        "{how}: ran {:.1} s for {STREAM_S} s of stream",
        run.wall.as_secs_f64()
    );
}

#[test]
fn a_live_stream_on_standard_input_is_followed_as_it_comes() {
    if !ffmpeg_present() {
        return skip("a_live_stream_on_standard_input_is_followed_as_it_comes", "ffmpeg is not installed");
    }
    let mut feed = writer("-").stdout(Stdio::piped()).spawn().unwrap();
    let run = run_live("-", Stdio::from(feed.stdout.take().unwrap()));
    feed.wait().ok();
    check("stdin", &run);
}

#[test]
fn a_named_pipe_is_a_live_stream() {
    if !ffmpeg_present() {
        return skip("a_named_pipe_is_a_live_stream", "ffmpeg is not installed");
    }
    let dir = temp_dir();
    let fifo = dir.path().join("camera.ts");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let mut feed = writer(fifo.to_str().unwrap()).spawn().unwrap();
    let run = run_live(fifo.to_str().unwrap(), Stdio::null());
    feed.wait().ok();
    check("named pipe", &run);
}
