//! The one-way rule of `src/lib.rs`, enforced: a stage module imports only the
//! vocabulary modules, never another stage, the wiring (`pipeline`, `runner`, `config`)
//! or a tool (`eval`, `synth`, `bench`); the vocabulary imports nothing of the library.

use crate::util::repo_root;
use std::path::{Path, PathBuf};

const STAGES: [&str; 7] = ["source", "preprocess", "infer", "decode", "look", "decide", "cue"];
const VOCABULARY: [&str; 7] = ["bundled", "frame", "geom", "paint", "signal", "tensor", "truth"];
const ABOVE_STAGES: [&str; 7] = ["pipeline", "runner", "config", "eval", "synth", "bench", "yolo"];

/// Every `.rs` file of module `name`: `src/name.rs` and everything under `src/name/`.
fn module_files(name: &str) -> Vec<PathBuf> {
    let src = repo_root().join("src");
    let mut files = Vec::new();
    let single = src.join(format!("{name}.rs"));
    if single.exists() {
        files.push(single);
    }
    let mut dirs = vec![src.join(name)];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files
}

/// The library modules a file names through `crate::` paths (in `use` lines and in
/// code), ignoring comments.
fn crate_paths(path: &Path) -> Vec<(usize, String)> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut found = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(i) = rest.find("crate::") {
            let after = &rest[i + "crate::".len()..];
            let module: String = after.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            if module.is_empty() {
                // `use crate::{a, b}`: every name in the braces.
                let group = after.trim_start_matches('{').split('}').next().unwrap_or("");
                found.extend(group.split(',').map(|m| (n + 1, m.trim().split("::").next().unwrap_or("").to_string())));
            } else {
                found.push((n + 1, module));
            }
            rest = after;
        }
    }
    found
}

#[test]
fn stages_import_only_the_vocabulary() {
    let mut wrong = Vec::new();
    for stage in STAGES {
        let files = module_files(stage);
        assert!(!files.is_empty(), "no files for stage `{stage}`");
        for file in files {
            for (line, module) in crate_paths(&file) {
                let forbidden =
                    (STAGES.contains(&module.as_str()) && module != stage) || ABOVE_STAGES.contains(&module.as_str());
                if forbidden {
                    wrong.push(format!("{}:{line}: stage `{stage}` uses `crate::{module}`", file.display()));
                }
            }
        }
    }
    for vocab in VOCABULARY {
        for file in module_files(vocab) {
            for (line, module) in crate_paths(&file) {
                if !VOCABULARY.contains(&module.as_str()) {
                    wrong.push(format!("{}:{line}: vocabulary `{vocab}` uses `crate::{module}`", file.display()));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "the one-way rule is broken:\n{}", wrong.join("\n"));
}

#[test]
fn the_config_sits_below_the_wiring() {
    // `config` gathers the stages' settings; the wiring reads it. A `config` that
    // imported the wiring would make the two a cycle.
    let mut wrong = Vec::new();
    for file in module_files("config") {
        for (line, module) in crate_paths(&file) {
            if ABOVE_STAGES.contains(&module.as_str()) && module != "config" {
                wrong.push(format!("{}:{line}: `config` uses `crate::{module}`", file.display()));
            }
        }
    }
    assert!(wrong.is_empty(), "config imports what sits above it:\n{}", wrong.join("\n"));
}

#[test]
fn nothing_on_the_device_uses_a_tool() {
    // The tools (`eval`, `synth`, `bench`, `yolo`) sit behind the `tools` feature, which
    // the board and the browser build leave out; the wiring must not need them.
    const TOOLS: [&str; 4] = ["eval", "synth", "bench", "yolo"];
    let mut wrong = Vec::new();
    for module in ["pipeline", "runner", "config"] {
        for file in module_files(module) {
            for (line, used) in crate_paths(&file) {
                if TOOLS.contains(&used.as_str()) {
                    wrong.push(format!("{}:{line}: `{module}` uses the tool `crate::{used}`", file.display()));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "the device build would need a tool:\n{}", wrong.join("\n"));
}

#[test]
fn the_layering_check_sees_a_violation() {
    // The reader itself: a stage path in braces and a plain one are both found.
    let dir = crate::util::temp_dir();
    let file = dir.path().join("x.rs");
    std::fs::write(
        &file,
        "use crate::{frame::Frame, decode::Decoder};\n// crate::cue in a comment\nlet x = crate::infer::f();\n",
    )
    .unwrap();
    let found: Vec<String> = crate_paths(&file).into_iter().map(|(_, m)| m).collect();
    assert_eq!(found, ["frame", "decode", "infer"]);
}
