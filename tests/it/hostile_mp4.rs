//! Cut, damaged and hostile video files (issue 15): each gives a one-line error naming
//! the file, or plays, but never panics (exit 101) or hangs. The files are made here
//! from a bundled sample by patching one field of its box tree.

use crate::onnx::constant_detector;
use crate::util::{repo_root, safecross_bin, skip, temp_dir};
use safecross::frame::Frame;
use safecross::source::{self, SourceConfig, SourceSpec};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Longer than any of these runs takes in a debug build; a hang shows as a failure.
const TIMEOUT: Duration = Duration::from_secs(60);

/// `samples/us.mp4`: 330 frames of H.264 at 15 fps, `moov` after `mdat`.
fn sample() -> Vec<u8> {
    std::fs::read(repo_root().join("samples/us.mp4")).unwrap()
}

/// Offset of the box at `path` (`["moov", "trak", "mdia", "mdhd"]`) in `mp4`; the
/// containers on the way hold only boxes.
fn find_box(mp4: &[u8], path: &[&str]) -> usize {
    let (mut at, mut end) = (0, mp4.len());
    for (depth, name) in path.iter().enumerate() {
        loop {
            assert!(at + 8 <= end, "no {name} in {path:?}");
            let size = u32::from_be_bytes(mp4[at..at + 4].try_into().unwrap()) as usize;
            if &mp4[at + 4..at + 8] == name.as_bytes() {
                break;
            }
            at += size;
        }
        if depth + 1 < path.len() {
            end = at + u32::from_be_bytes(mp4[at..at + 4].try_into().unwrap()) as usize;
            at += 8;
        }
    }
    at
}

/// The sample with the 32-bit word at `offset` bytes into box `path` set to `value`.
fn patched(path: &[&str], offset: usize, value: u32) -> Vec<u8> {
    let mut mp4 = sample();
    let at = find_box(&mp4, path) + offset;
    mp4[at..at + 4].copy_from_slice(&value.to_be_bytes());
    mp4
}

const STBL: [&str; 5] = ["moov", "trak", "mdia", "minf", "stbl"];

fn stbl(name: &str) -> Vec<&str> {
    STBL.iter().copied().chain([name]).collect()
}

/// A tiny model that always sees one red light, so a run costs little besides decoding.
fn model(dir: &Path) -> PathBuf {
    let p = dir.join("m.onnx");
    let mut t = vec![0.0f32; 7 * 8];
    for (r, v) in [160.0, 160.0, 20.0, 40.0, 0.9, 0.0, 0.0].iter().enumerate() {
        t[r * 8] = *v;
    }
    std::fs::write(&p, constant_detector(320, 7, 8, &t, Some("{0: 'red', 1: 'yellow', 2: 'green'}"))).unwrap();
    p
}

/// Exit code and stderr of `safecross run --fast --audio none <file>`, killed and
/// failed after [`TIMEOUT`].
fn run(dir: &Path, file: &Path) -> (i32, String) {
    let (out, err) = (dir.join("stdout"), dir.join("stderr"));
    let m = model(dir);
    let mut child = Command::new(safecross_bin())
        .args(["run", "--fast", "--audio", "none", "--model"])
        .arg(&m)
        .arg(file)
        .current_dir(repo_root())
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("safecross run {} hung for {TIMEOUT:?}", file.display());
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    (status.code().unwrap_or(-1), std::fs::read_to_string(err).unwrap())
}

/// Writes `bytes` as `name` and asserts that `run` fails with one error line that
/// names the file and contains `needle`.
fn assert_run_fails(name: &str, bytes: &[u8], needle: &str) {
    let dir = temp_dir();
    let file = dir.path().join(name);
    std::fs::write(&file, bytes).unwrap();
    let (code, stderr) = run(dir.path(), &file);
    assert_eq!(code, 2, "{name}: exit code; stderr: {stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{name}: expected one error line, got {stderr:?}");
    assert!(lines[0].starts_with("error: ") && lines[0].contains(name), "{name}: {:?}", lines[0]);
    assert!(lines[0].contains(needle), "{name}: {:?} should mention {needle:?}", lines[0]);
}

/// Frames the library decodes from `bytes`, and the last one's time.
fn decode_all(bytes: &[u8]) -> (usize, Duration) {
    let dir = temp_dir();
    let file = dir.path().join("clip.mp4");
    std::fs::write(&file, bytes).unwrap();
    let mut src = source::open(&SourceSpec::Path(file), &SourceConfig::default()).unwrap();
    let mut frame = Frame::default();
    let mut frames = 0;
    while src.next_frame(&mut frame).unwrap() {
        frames += 1;
    }
    (frames, frame.pts)
}

#[test]
fn issue_15_mp4_cut_inside_its_header() {
    let mp4 = sample();
    let moov = find_box(&mp4, &["moov"]);
    assert_run_fails("cut-moov.mp4", &mp4[..moov + 500], "damaged or truncated: box `moov`");
    assert_run_fails("cut-mdat.mp4", &mp4[..mp4.len() / 2], "damaged or truncated: box `mdat`");
}

#[test]
fn issue_15_zero_size_box_in_moov() {
    // Size 0 means "to the end of the file", which only a top-level box may say. Once
    // this looped forever at open.
    assert_run_fails("mvhd0.mp4", &patched(&["moov", "mvhd"], 0, 0), "damaged or truncated");
    assert_run_fails("stsz0.mp4", &patched(&stbl("stsz"), 0, 0), "damaged or truncated");
    // `dref` is not needed to play the file; its parent's size still bounds it.
    let dref = patched(&["moov", "trak", "mdia", "minf", "dinf", "dref"], 0, 0);
    assert_eq!(decode_all(&dref).0, 330);
}

#[test]
fn issue_15_mdhd_timescale_zero() {
    // mdhd v0: size, name, version+flags, creation, modification, then the timescale.
    // Once a division by zero (exit 101).
    assert_run_fails("mdhd-timescale0.mp4", &patched(&["moov", "trak", "mdia", "mdhd"], 20, 0), "Timescale");
}

#[test]
fn issue_15_huge_counts() {
    // stts's first run claims 0xFFFFFFFF samples: once a panic in the reader thread.
    // There are only 330, so the table just over-covers them and the clip plays.
    let (frames, last) = decode_all(&patched(&stbl("stts"), 16, 0xFFFF_FFFF));
    assert_eq!((frames, last), (330, Duration::from_nanos(1_974_000 * 1_000_000_000 / 90_000)));
    assert_run_fails("stts-entries.mp4", &patched(&stbl("stts"), 12, 0xFFFF_FFFF), "damaged or truncated");
    assert_run_fails("stsc-per-chunk.mp4", &patched(&stbl("stsc"), 20, 0xFFFF_FFFF), "damaged or truncated");
    assert_run_fails("stsz-entries.mp4", &patched(&stbl("stsz"), 16, 0xFFFF_FFFF), "damaged or truncated");
    assert_run_fails("stco-entries.mp4", &patched(&stbl("stco"), 12, 0xFFFF_FFFF), "damaged or truncated");
    // A chunk said to lie past the end of the file fails at that frame, not at open.
    assert_run_fails("stco-offset.mp4", &patched(&stbl("stco"), 16, 0xFFFF_FF00), "frame 1 lies past the end");
}

#[test]
fn issue_15_cut_mkv_is_an_error_like_a_cut_mp4() {
    if !source::ffmpeg::available() {
        return skip("issue_15_cut_mkv_is_an_error_like_a_cut_mp4", "ffmpeg is not installed");
    }
    let dir = temp_dir();
    for ext in ["mkv", "avi"] {
        let whole = dir.path().join(format!("whole.{ext}"));
        let status = Command::new("ffmpeg")
            .args(["-v", "error", "-i"])
            .arg(repo_root().join("samples/us.mp4"))
            .args(["-t", "2", "-vf", "scale=320:180", "-c:v", "mjpeg", "-q:v", "5"])
            .arg(&whole)
            .status()
            .unwrap();
        assert!(status.success());
        let bytes = std::fs::read(&whole).unwrap();
        assert_run_fails(&format!("cut.{ext}"), &bytes[..bytes.len() * 6 / 10], "is damaged or truncated: ffmpeg");
        // The whole file still plays to the end.
        let (code, stderr) = run(dir.path(), &whole);
        assert_eq!(code, 0, "{stderr}");
    }
}
