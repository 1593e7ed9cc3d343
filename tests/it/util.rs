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

/// Prints a visible skip notice (shown with `--nocapture` and in nextest output).
pub fn skip(test: &str, why: &str) {
    eprintln!("SKIPPED {test}: {why}");
}

/// Path to the built `safecross` binary.
pub fn safecross_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_safecross"))
}
