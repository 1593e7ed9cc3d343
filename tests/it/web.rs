//! The web app (`web/`) in a real browser: Debian's Chromium, headless, with a sample
//! clip as its camera (`--use-file-for-fake-video-capture`), driven by
//! `web/test/e2e.mjs` through playwright-core. The page's own decision log is evaluated
//! against the clip's timeline with the same code as `safecross eval`.
//!
//! Skips, saying so, where Chromium, Node, the npm packages, the wasm32 target or
//! wasm-bindgen are missing; `.ci/run` installs them all.

use crate::util::{model_card, repo_root, skip, temp_dir};
use safecross::eval::decision::{ClipDecisions, DecisionEvaluator, DecisionSample, HeadCounts};
use safecross::frame::Frame;
use safecross::signal::SignalState;
use safecross::source::{self, SourceConfig, SourceSpec};
use safecross::truth::Timeline;
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

const CHROMIUM: &str = "/usr/bin/chromium";

/// What is missing to run the browser tests, if anything.
fn missing_tools() -> Option<String> {
    let web = repo_root().join("web");
    let runs = |cmd: &str, arg: &str| Command::new(cmd).arg(arg).output().is_ok_and(|o| o.status.success());
    if !Path::new(CHROMIUM).exists() {
        return Some(format!("{CHROMIUM} is absent (apt-get install chromium)"));
    }
    if !runs("node", "--version") {
        return Some("node is absent (apt-get install nodejs npm)".into());
    }
    if !web.join("node_modules/playwright-core").exists() || !web.join("node_modules/onnxruntime-web").exists() {
        return Some("web/node_modules is absent (cd web && npm ci)".into());
    }
    if !runs("wasm-bindgen", "--version") {
        return Some("wasm-bindgen is absent (cargo install wasm-bindgen-cli --version 0.2.130)".into());
    }
    let targets = Command::new("rustup").args(["target", "list", "--installed"]).output();
    if !targets.is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("wasm32-unknown-unknown")) {
        return Some("the wasm32 target is absent (rustup target add wasm32-unknown-unknown)".into());
    }
    None
}

/// Builds `web/dist` once per test process.
fn build_web() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let root = repo_root();
            let out = Command::new("bash").arg(root.join("web/build.sh")).current_dir(&root).output().unwrap();
            assert!(
                out.status.success(),
                "web/build.sh failed:\n{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            root.join("web/dist")
        })
        .clone()
}

/// `web/serve.py` on a free port, stopped when dropped.
struct Server {
    child: Child,
    url: String,
}

impl Server {
    fn start(dist: &Path) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut child = Command::new("python3")
            .arg(repo_root().join("web/serve.py"))
            .args(["--port", &port.to_string(), "--dir"])
            .arg(dist)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let url = format!("http://127.0.0.1:{port}/");
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Server { child, url };
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        child.kill().ok();
        child.wait().ok();
        panic!("web/serve.py did not listen on port {port}");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

/// Writes `clip` as a YUV4MPEG2 file, the format Chromium's fake camera reads
/// (BT.601, limited range, 4:2:0, as ffmpeg writes `yuv420p`). Returns its frame rate
/// and length, s.
fn write_y4m(clip: &Path, out: &Path) -> (f64, f64) {
    let mut src = source::open(&SourceSpec::Path(clip.to_path_buf()), &SourceConfig::default()).unwrap();
    let mut file = std::io::BufWriter::new(std::fs::File::create(out).unwrap());
    let mut frame = Frame::default();
    let (mut frames, mut last_t) = (0u32, 0.0f64);
    let (mut y, mut u, mut v) = (Vec::new(), Vec::new(), Vec::new());
    while src.next_frame(&mut frame).unwrap() {
        let (w, h) = (frame.width as usize, frame.height as usize);
        if frames == 0 {
            let fps = src.info().fps.round().max(1.0) as u32;
            writeln!(file, "YUV4MPEG2 W{w} H{h} F{fps}:1 Ip A1:1 C420mpeg2").unwrap();
        }
        y.clear();
        u.clear();
        v.clear();
        let px = |x: usize, yy: usize| {
            let i = (yy * w + x) * 3;
            (f32::from(frame.rgb[i]), f32::from(frame.rgb[i + 1]), f32::from(frame.rgb[i + 2]))
        };
        for row in 0..h {
            for col in 0..w {
                let (r, g, b) = px(col, row);
                y.push((16.0 + (65.481 * r + 128.553 * g + 24.966 * b) / 255.0).round() as u8);
            }
        }
        for row in (0..h).step_by(2) {
            for col in (0..w).step_by(2) {
                let (mut r, mut g, mut b) = (0.0, 0.0, 0.0);
                for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                    let p = px((col + dx).min(w - 1), (row + dy).min(h - 1));
                    r += p.0 / 4.0;
                    g += p.1 / 4.0;
                    b += p.2 / 4.0;
                }
                u.push((128.0 + (-37.797 * r - 74.203 * g + 112.0 * b) / 255.0).round() as u8);
                v.push((128.0 + (112.0 * r - 93.786 * g - 18.214 * b) / 255.0).round() as u8);
            }
        }
        file.write_all(b"FRAME\n").unwrap();
        file.write_all(&y).unwrap();
        file.write_all(&u).unwrap();
        file.write_all(&v).unwrap();
        frames += 1;
        last_t = frame.t_s();
    }
    file.flush().unwrap();
    let fps = src.info().fps.round().max(1.0);
    assert!((last_t - f64::from(frames - 1) / fps).abs() < 0.1, "{}: not a constant frame rate", clip.display());
    (fps, f64::from(frames) / fps)
}

/// One run of the page on a clip: its log entries and its stats.
struct PageRun {
    log: Vec<Value>,
    stats: Value,
}

fn run_page(url: &str, y4m: &Path, seconds: f64, engine: &str, extra: &[&str]) -> PageRun {
    let dir = temp_dir();
    let out = dir.path().join("log.json");
    let run = Command::new("node")
        .arg(repo_root().join("web/test/e2e.mjs"))
        .args(["--url", url, "--seconds", &format!("{seconds:.1}"), "--engine", engine, "--y4m"])
        .arg(y4m)
        .arg("--out")
        .arg(&out)
        .args(extra)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "e2e.mjs failed:\n{}\n{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    PageRun { log: v["log"].as_array().cloned().unwrap_or_default(), stats: v["stats"].clone() }
}

fn state_of(entry: &Value) -> SignalState {
    serde_json::from_value(entry["state"].clone()).unwrap()
}

/// The page's decisions as `eval` counts them, over the clip's length.
fn figures(clip: &str, run: &PageRun, fps: f64, duration_s: f64) -> safecross::eval::decision::DecisionFigures {
    let timeline_path = repo_root().join(format!("samples/{clip}.json"));
    let timeline = Timeline::load(&timeline_path).unwrap();
    let samples: Vec<DecisionSample> = run
        .log
        .iter()
        .filter(|e| e["tS"].as_f64().is_some_and(|t| t < duration_s))
        .map(|e| DecisionSample {
            t_s: e["tS"].as_f64().unwrap(),
            state: state_of(e),
            announced: false,
            spoken: !e["spoken"].is_null(),
        })
        .collect();
    let decisions = ClipDecisions {
        name: clip.into(),
        duration_s,
        fps,
        frames: (duration_s * fps).round() as u64,
        samples,
        heads: HeadCounts::default(),
    };
    let mut evaluator = DecisionEvaluator::new();
    evaluator.add_clip(&timeline, &timeline_path.display().to_string(), &decisions).unwrap();
    evaluator.finish().overall
}

/// What the model card claims for walk missed on the samples: the limit the native
/// model gate holds the binary to (`model_gates.rs`).
fn card_missed_walk() -> f64 {
    model_card()["samples"]["missed_walk_fraction"].as_f64().expect("card lacks samples.missed_walk_fraction")
}

#[test]
fn the_web_app_in_chromium_follows_the_samples_and_fails_safe() {
    let test = "the_web_app_in_chromium_follows_the_samples_and_fails_safe";
    if let Some(why) = missing_tools() {
        return skip(test, &why);
    }
    let dist = build_web();
    let server = Server::start(&dist);
    let dir = temp_dir();
    let shots = repo_root().join("target/web-screenshots");
    std::fs::create_dir_all(&shots).unwrap();

    // Raw video is large (about 280 MB a clip), so only one is on disk at a time: `us`
    // first, removed after its run, then `cn-day-countdown`, which the fault runs reuse.
    for clip in ["us", "cn-day-countdown"] {
        let y4m = dir.path().join(format!("{clip}.y4m"));
        let (fps, duration_s) = write_y4m(&repo_root().join(format!("samples/{clip}.mp4")), &y4m);
        let extra: Vec<&str> =
            if clip == "cn-day-countdown" { vec!["--screenshot-dir", shots.to_str().unwrap()] } else { vec![] };
        let run = run_page(&server.url, &y4m, duration_s, "ort", &extra);
        let web = figures(clip, &run, fps, duration_s);
        eprintln!(
            "{clip} in Chromium ({}): false go {:.2} s, walk missed {:.3}, latency mean {:.2} s",
            run.stats,
            web.false_go_s,
            web.missed_walk_fraction.unwrap_or(0.0),
            web.announce_latency.mean_s.unwrap_or(f64::NAN),
        );
        assert_eq!(web.false_go_s, 0.0, "{clip}: walk during don't walk in the browser");
        assert!(run.stats["frames"].as_u64().unwrap_or(0) as f64 >= duration_s * 2.0, "{clip}: {}", run.stats);
        // The same limit as the native model gate. The page decides fewer frames a
        // second than native on these 2 cores, so it may announce a little later.
        let (missed, limit) = (web.missed_walk_fraction.unwrap(), card_missed_walk() + 0.05);
        assert!(missed <= limit, "{clip}: walk missed {missed:.3} in the browser; the limit is {limit:.3}");
        if clip == "us" {
            std::fs::remove_file(&y4m).unwrap();
        }
    }

    // Hidden mid-walk, and the camera stopped mid-walk: unknown within 1 s, walk never after.
    let clip = "cn-day-countdown";
    let y4m = dir.path().join(format!("{clip}.y4m"));
    for (flag, at) in [("--hide-at", 11.0), ("--stop-camera-at", 11.0)] {
        let run = run_page(&server.url, &y4m, 13.0, "ort", &[flag, &format!("{at}")]);
        // e2e acts when the page's clock reads `at`, give or take a tick; the page logs
        // what it did about it as a fault.
        let t = |e: &Value| e["tS"].as_f64().unwrap();
        let fault = run.log.iter().position(|e| e["kind"] == "fault");
        let fault = fault.unwrap_or_else(|| panic!("{flag}: no fault logged: {:?}", run.log.last()));
        let (before, after) = run.log.split_at(fault);
        let fault_at = t(&after[0]);
        assert!((at - 0.25..=at + 1.0).contains(&fault_at), "{flag} at {at} s: the fault came at {fault_at:.2} s");
        assert_eq!(state_of(&after[0]), SignalState::Unknown, "{flag}: {:?}", after[0]);
        assert_eq!(
            before.last().map(state_of),
            Some(SignalState::Walk),
            "{flag}: the page did not show walk when the fault came, so the fault ended nothing"
        );
        let walk_after = after.iter().find(|e| state_of(e) == SignalState::Walk);
        assert!(walk_after.is_none(), "{flag}: walk again after the fault: {walk_after:?}");
    }
}
