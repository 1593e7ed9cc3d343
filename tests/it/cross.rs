//! The aarch64 (Raspberry Pi 4/5) build compiles. Runs when the Rust target and Debian's
//! cross compiler are installed (`.ci/run` installs both); skips, saying so, otherwise.
//! Running the result is not possible here.

use crate::util::{repo_root, skip};
use std::process::Command;

#[test]
fn aarch64_build_compiles() {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains("aarch64-unknown-linux-gnu"))
        .unwrap_or(false);
    if !installed {
        return skip("aarch64_build_compiles", "rustup target aarch64-unknown-linux-gnu is not installed");
    }
    if Command::new("aarch64-linux-gnu-gcc").arg("--version").output().is_err() {
        return skip(
            "aarch64_build_compiles",
            "aarch64-linux-gnu-gcc is not installed (apt-get install gcc-aarch64-linux-gnu)",
        );
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(repo_root())
        .args([
            "check",
            "--target",
            "aarch64-unknown-linux-gnu",
            "--no-default-features",
            "--features",
            "onnxruntime,video,tools",
            "--lib",
            "--bins",
        ])
        .env("CARGO_TARGET_DIR", repo_root().join("target/aarch64-check"))
        .env("CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER", "aarch64-linux-gnu-gcc")
        .env("CC_aarch64_unknown_linux_gnu", "aarch64-linux-gnu-gcc")
        .env("CXX_aarch64_unknown_linux_gnu", "aarch64-linux-gnu-g++")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "aarch64 build failed:\n{}",
        stderr.lines().rev().take(30).collect::<Vec<_>>().join("\n")
    );
}
