//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `../shared/` beside the repository, when present. Tests that need it print why they
/// skip and return early when this is `None`.
pub fn shared_dir() -> Option<PathBuf> {
    let dir = repo_root().join("../shared");
    dir.join("data").is_dir().then_some(dir)
}

/// Prints a skip notice that shows even when the test passes: it writes to the stderr
/// handle directly, which the test harness does not capture (it captures `eprintln!`).
pub fn skip(test: &str, why: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {why}");
}

/// Path to the built `safecross` binary.
pub fn safecross_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_safecross"))
}

/// Output of one `safecross` run.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// The shipped model, when it is there.
pub fn shipped_model() -> Option<PathBuf> {
    bundled_model("safecross-tl.onnx")
}

/// A model file under `models/` (the shipped one or one of its named variants), when it is there.
pub fn bundled_model(file: &str) -> Option<PathBuf> {
    let m = repo_root().join("models").join(file);
    m.exists().then_some(m)
}

/// Runs the binary with `args`, with `ORT_DYLIB_PATH` passed through unless `env` says otherwise.
pub fn safecross(args: &[&str]) -> Run {
    safecross_with(args, &[])
}

/// Runs the binary with extra environment variables (`("NAME", None)` removes one).
pub fn safecross_with(args: &[&str], env: &[(&str, Option<&str>)]) -> Run {
    let mut cmd = std::process::Command::new(safecross_bin());
    cmd.args(args).current_dir(repo_root()).stdin(std::process::Stdio::null());
    for (k, v) in env {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    let out = cmd.output().expect("run safecross");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

impl Run {
    /// Asserts a clean failure: exit status 2, one line on stderr starting with `error:`
    /// and containing `needle`, and no panic.
    pub fn assert_clean_error(&self, needle: &str) {
        assert_eq!(self.code, 2, "exit code; stderr: {}", self.stderr);
        let lines: Vec<&str> = self.stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "expected one error line, got: {:?}", self.stderr);
        assert!(lines[0].starts_with("error: "), "{:?}", lines[0]);
        assert!(lines[0].contains(needle), "{:?} should mention {needle:?}", lines[0]);
        assert!(!self.stderr.contains("panicked"), "{}", self.stderr);
    }

    /// The per-frame objects of `run --json` output (announcements left out). Every
    /// stdout line must be JSON.
    pub fn json_frames(&self) -> Vec<serde_json::Value> {
        self.stdout
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap_or_else(|e| panic!("{e}: {l:?}")))
            .filter(|v| v.get("frame").is_some())
            .collect()
    }
}

/// A scratch directory under cargo's `target/tmp`, not the system's `/tmp`: some
/// tests write hundreds of megabytes (raw video for the browser), and a CI machine's
/// `/tmp` may be small where the target directory, which holds the build, is not.
///
/// Written here, not taken from the `tempfile` crate: tempfile turns on a feature of
/// `rustix` that the release build leaves off, which made `cargo test --release` rebuild
/// the whole tract stack instead of reusing what `./quickstart.sh demo` had built.
pub fn temp_dir() -> TempDir {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let base = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
    loop {
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = base.join(format!("it-{}-{n}", std::process::id()));
        match std::fs::create_dir_all(base).and_then(|()| std::fs::create_dir(&path)) {
            Ok(()) => return TempDir(path),
            // Left by an earlier run whose process had the same id.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => panic!("temp dir {}: {e}", path.display()),
        }
    }
}

/// A scratch directory, deleted with everything in it when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    /// Where it is.
    pub fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Writes an RGB image of `width x height` filled by `f`.
pub fn write_png(path: &std::path::Path, width: u32, height: u32, f: impl Fn(u32, u32) -> [u8; 3]) {
    let mut img = image::RgbImage::new(width, height);
    for (x, y, p) in img.enumerate_pixels_mut() {
        *p = image::Rgb(f(x, y));
    }
    img.save(path).expect("write png");
}

/// The shipped model's card figures (`models/safecross-tl.metrics.json`), which the
/// model gates hold the binary and the web app to.
pub fn model_card() -> serde_json::Value {
    let path = repo_root().join("models/safecross-tl.metrics.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
