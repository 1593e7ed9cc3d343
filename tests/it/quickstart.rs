//! The quick start's test command ends with a summary of the skipped tests, which
//! cargo's own count reports as passed.

use crate::util::{repo_root, temp_dir};

fn summary(log: &str) -> String {
    let dir = temp_dir();
    let path = dir.path().join("test.log");
    std::fs::write(&path, log).unwrap();
    let out =
        std::process::Command::new("bash").arg(repo_root().join("tools/skip_summary.sh")).arg(&path).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_test_run_ends_with_how_many_tests_skipped_and_why() {
    let log = "running 3 tests\n\
               SKIPPED model_gates: ../shared is absent\n\
               [OpenH264] this = 0x1, Warning:Actual input framerate 10.0 is different\n\
               test a ... ok\n\
               SKIPPED training_smoke: python3 cannot import torch\n\
               SKIPPED model_gates: ../shared is absent\n\
               test result: ok. 3 passed; 0 failed\n";
    let text = summary(log);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "skipped: 2 test(s) passed without checking anything:", "{text}");
    assert_eq!(&lines[1..], ["  model_gates: ../shared is absent", "  training_smoke: python3 cannot import torch"]);
    assert_eq!(summary("test result: ok. 3 passed\n").trim(), "skipped: none (every test checked what it tests)");
}
