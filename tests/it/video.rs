//! Real H.264 decoding: a clip whose every frame is known is encoded in-process, then
//! decoded through the library and the binary.

use crate::onnx::constant_detector;
use crate::util::{safecross, safecross_with, skip, temp_dir};
use safecross::frame::Frame;
use safecross::source::{self, FrameSource, SourceConfig, SourceSpec};
use safecross::synth::video::Mp4VideoWriter;
use std::path::{Path, PathBuf};

const W: u32 = 320;
const H: u32 = 240;
const FPS: f64 = 15.0;
const FRAMES: u32 = 30;

/// Frame `i`: red left half, blue right half, and a white 24 px square at x = 8 i.
fn known_frame(i: u32) -> Vec<u8> {
    let mut rgb = vec![0u8; (W * H * 3) as usize];
    for y in 0..H {
        for x in 0..W {
            let p = ((y * W + x) * 3) as usize;
            let c = if (8 * i..8 * i + 24).contains(&x) && (100..124).contains(&y) {
                [255, 255, 255]
            } else if x < W / 2 {
                [200, 30, 30]
            } else {
                [30, 30, 200]
            };
            rgb[p..p + 3].copy_from_slice(&c);
        }
    }
    rgb
}

fn write_clip(dir: &Path) -> PathBuf {
    let path = dir.join("known.mp4");
    let mut writer = Mp4VideoWriter::create(&path, W, H, FPS, 1_500_000, 10).unwrap();
    for i in 0..FRAMES {
        writer.write_frame(&known_frame(i)).unwrap();
    }
    writer.finish().unwrap();
    path
}

fn close(a: [u8; 3], b: [u8; 3]) -> bool {
    a.iter().zip(b).all(|(x, y)| (i32::from(*x) - i32::from(y)).abs() <= 40)
}

fn model(dir: &Path) -> PathBuf {
    let p = dir.join("m.onnx");
    let mut t = vec![0.0f32; 7 * 8];
    for (r, v) in [160.0, 160.0, 20.0, 40.0, 0.9, 0.0, 0.0].iter().enumerate() {
        t[r * 8] = *v;
    }
    std::fs::write(&p, constant_detector(320, 7, 8, &t, Some("{0: 'red', 1: 'yellow', 2: 'green'}"))).unwrap();
    p
}

#[test]
fn h264_clip_decodes_to_the_frames_that_were_encoded() {
    let dir = temp_dir();
    let path = write_clip(dir.path());
    let mut src = source::open(&SourceSpec::Path(path.clone()), &SourceConfig::default()).unwrap();
    assert_eq!((src.info().width, src.info().height), (W, H));
    assert!((src.info().fps - FPS).abs() < 0.01, "fps {}", src.info().fps);
    let mut frame = Frame::default();
    let mut n = 0;
    while src.next_frame(&mut frame).unwrap() {
        assert_eq!((frame.width, frame.height), (W, H));
        let expected_t = f64::from(n) / FPS;
        assert!((frame.t_s() - expected_t).abs() < 1e-3, "frame {n}: pts {} want {expected_t}", frame.t_s());
        assert!(close(frame.pixel(40, 200), [200, 30, 30]), "frame {n} left {:?}", frame.pixel(40, 200));
        assert!(close(frame.pixel(280, 200), [30, 30, 200]), "frame {n} right {:?}", frame.pixel(280, 200));
        let (sx, sy) = (8 * n + 12, 112);
        assert!(
            close(frame.pixel(sx, sy), [255, 255, 255]),
            "frame {n}: square missing at x {sx}: {:?}",
            frame.pixel(sx, sy)
        );
        n += 1;
    }
    assert_eq!(n, FRAMES);
}

#[test]
fn run_fast_json_prints_one_object_per_frame() {
    let dir = temp_dir();
    let clip = write_clip(dir.path());
    let m = model(dir.path());
    let run = safecross(&[
        "run",
        clip.to_str().unwrap(),
        "--fast",
        "--json",
        "--audio",
        "none",
        "--model",
        m.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let frames = run.json_frames();
    assert_eq!(frames.len(), FRAMES as usize);
    for (i, f) in frames.iter().enumerate() {
        assert_eq!(f["frame"], i as u64);
        assert!((f["t"].as_f64().unwrap() - i as f64 / FPS).abs() < 1e-3);
        assert_eq!(f["detections"][0]["class"], "red");
        assert!(["walk", "dont_walk", "changing", "unknown"].contains(&f["decision"].as_str().unwrap()));
        assert_ne!(f["decision"], "walk", "a vehicle red light never gives walk");
    }
    // A steady red light is reported as don't walk once the smoother has seen enough.
    assert_eq!(frames.last().unwrap()["decision"], "dont_walk");
    assert_eq!(frames.last().unwrap()["basis"], "vehicle");
}

#[test]
fn truncated_mp4_is_a_clean_error() {
    let dir = temp_dir();
    let clip = write_clip(dir.path());
    let bytes = std::fs::read(&clip).unwrap();
    let cut = dir.path().join("cut.mp4");
    std::fs::write(&cut, &bytes[..bytes.len() * 6 / 10]).unwrap();
    let m = model(dir.path());
    safecross(&["run", cut.to_str().unwrap(), "--fast", "--audio", "none", "--model", m.to_str().unwrap()])
        .assert_clean_error("cut.mp4 is damaged or truncated");
}

#[test]
fn other_containers_go_through_ffmpeg() {
    if !safecross::source::ffmpeg::available() {
        return skip("other_containers_go_through_ffmpeg", "ffmpeg is not installed");
    }
    let dir = temp_dir();
    let mkv = reencode(dir.path(), "known.mkv", &["-c:v", "mjpeg", "-q:v", "3"]);
    assert_plays_the_known_frames_via_ffmpeg(&mkv);
}

/// The known clip re-encoded by ffmpeg with `codec_args` into `dir/name`.
fn reencode(dir: &Path, name: &str, codec_args: &[&str]) -> PathBuf {
    let out = dir.join(name);
    let status = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(write_clip(dir))
        .args(codec_args)
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    out
}

/// Opens `path`, checks that ffmpeg decodes it, and that every known frame comes in
/// display order at its time: the square has moved 8 px per frame.
fn assert_plays_the_known_frames_via_ffmpeg(path: &Path) {
    let mut src = source::open(&SourceSpec::Path(path.to_path_buf()), &SourceConfig::default()).unwrap();
    assert!(src.info().description.contains("via ffmpeg"), "{}", src.info().description);
    let mut frame = Frame::default();
    let mut n = 0;
    while src.next_frame(&mut frame).unwrap() {
        assert!((frame.t_s() - f64::from(n) / FPS).abs() < 2e-3, "pts {} at frame {n}", frame.t_s());
        assert!(close(frame.pixel(8 * n + 12, 112), [255, 255, 255]), "frame {n}");
        n += 1;
    }
    assert_eq!(n, FRAMES);
}

/// The known clip re-encoded the way phones and dashcams record: H.264 High profile
/// with B-frames (frames stored out of display order).
fn write_high_profile_clip(dir: &Path) -> PathBuf {
    reencode(dir, "high.mp4", &["-c:v", "libx264", "-profile:v", "high", "-bf", "3", "-g", "15", "-crf", "18", "-an"])
}

#[test]
fn issue_16_high_profile_with_b_frames_plays_whole_through_ffmpeg() {
    if !safecross::source::ffmpeg::available() {
        return skip("issue_16_high_profile_with_b_frames_plays_whole_through_ffmpeg", "ffmpeg is not installed");
    }
    let dir = temp_dir();
    let high = write_high_profile_clip(dir.path());
    let mp4 = source::mp4::Mp4Source::open(&high).unwrap();
    assert_eq!(mp4.profile().name(), "High");
    assert!(!mp4.profile().built_in_decodes());
    assert_plays_the_known_frames_via_ffmpeg(&high);
    // And through the binary, every frame is decided.
    let m = model(dir.path());
    let run = safecross(&[
        "run",
        high.to_str().unwrap(),
        "--fast",
        "--json",
        "--audio",
        "none",
        "--model",
        m.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json_frames().len(), FRAMES as usize);
}

#[test]
fn issue_16_without_ffmpeg_a_high_profile_file_is_not_called_damaged() {
    if !safecross::source::ffmpeg::available() {
        // The clip itself is made by ffmpeg.
        return skip("issue_16_without_ffmpeg_a_high_profile_file_is_not_called_damaged", "ffmpeg is not installed");
    }
    let dir = temp_dir();
    let high = write_high_profile_clip(dir.path());
    let no_tools = dir.path().join("no-tools");
    std::fs::create_dir(&no_tools).unwrap();
    let m = model(dir.path());
    let args = ["run", high.to_str().unwrap(), "--fast", "--audio", "none", "--model", m.to_str().unwrap()];
    let run = safecross_with(&args, &[("PATH", Some(no_tools.to_str().unwrap()))]);
    run.assert_clean_error("H.264 High profile");
    assert!(run.stderr.contains("install ffmpeg"), "{}", run.stderr);
    assert!(!run.stderr.contains("damaged"), "{}", run.stderr);
}

#[test]
fn without_ffmpeg_other_formats_name_what_to_install() {
    let dir = temp_dir();
    let m = model(dir.path());
    // Real container headers, but not ones safecross decodes itself.
    let mut avi = b"RIFF\x00\x10\x00\x00AVI LIST".to_vec();
    avi.resize(512, 0);
    let mut mkv = vec![0x1A, 0x45, 0xDF, 0xA3, 0x9F, 0x42, 0x86, 0x81, 0x01, 0x42, 0x82, 0x88];
    mkv.extend_from_slice(b"matroska");
    mkv.resize(512, 0);
    // An empty PATH hides ffmpeg, whether or not this machine has it.
    let no_tools = dir.path().join("no-tools");
    std::fs::create_dir(&no_tools).unwrap();
    for (name, bytes, format) in [("clip.avi", avi, "AVI video"), ("clip.mkv", mkv, "Matroska (MKV) video")] {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let args = ["run", path.to_str().unwrap(), "--fast", "--audio", "none", "--model", m.to_str().unwrap()];
        let run = safecross_with(&args, &[("PATH", Some(no_tools.to_str().unwrap()))]);
        run.assert_clean_error("install ffmpeg");
        assert!(run.stderr.contains(format), "{name}: the error should name the format: {}", run.stderr);
        if safecross::source::ffmpeg::available() {
            // With ffmpeg, the header alone is not a readable video: still a clean error.
            safecross(&args).assert_clean_error(name);
        }
    }
}

#[test]
fn real_time_pacing_drops_stale_frames_instead_of_queueing() {
    use safecross::source::pacing::{Clock, Paced};
    let dir = temp_dir();
    let clip = write_clip(dir.path());
    let inner = source::open(&SourceSpec::Path(clip), &SourceConfig::default()).unwrap();
    // The clock moves only as the test says: no real time is read or slept.
    let mut paced = Paced::new(inner, Clock::Stepped);
    let mut frame = Frame::default();
    let mut shown = Vec::new();
    while paced.next_frame(&mut frame).unwrap() {
        shown.push(frame.seq);
        // A pipeline that needs 200 ms per frame (three frame periods at 15 fps).
        paced.advance(std::time::Duration::from_millis(200));
    }
    assert!(paced.dropped() >= 10, "dropped only {} of {FRAMES}", paced.dropped());
    assert_eq!(shown.len() as u64 + paced.dropped(), u64::from(FRAMES));
    assert!(shown.windows(2).all(|w| w[1] > w[0] + 1), "consecutive frames shown: {shown:?}");
}
