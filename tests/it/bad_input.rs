//! Bad input gets one clear error line and exit status 2: never a panic or a hang.

use crate::onnx::{Graph, constant_detector};
use crate::util::{safecross, safecross_with, temp_dir, write_png};

fn good_model(dir: &std::path::Path) -> std::path::PathBuf {
    let t = vec![0.0f32; 7 * 8];
    let path = dir.join("good.onnx");
    std::fs::write(&path, constant_detector(320, 7, 8, &t, Some("{0: 'red', 1: 'yellow', 2: 'green'}"))).unwrap();
    path
}

#[test]
fn missing_file() {
    let dir = temp_dir();
    let model = good_model(dir.path());
    safecross(&["run", "/no/such/clip.mp4", "--fast", "--model", model.to_str().unwrap()])
        .assert_clean_error("/no/such/clip.mp4: no such file or folder");
}

#[test]
fn missing_model() {
    safecross(&["info", "--model", "/no/such/model.onnx"]).assert_clean_error("model /no/such/model.onnx not found");
}

#[test]
fn file_that_is_not_a_video_or_image() {
    let dir = temp_dir();
    let model = good_model(dir.path());
    let text = dir.path().join("notes.mp4");
    std::fs::write(&text, "these are not the frames you are looking for\n".repeat(20)).unwrap();
    safecross(&["run", text.to_str().unwrap(), "--fast", "--model", model.to_str().unwrap()])
        .assert_clean_error("is not a video or image safecross can read");
}

#[test]
fn mp4_with_no_video_track() {
    let dir = temp_dir();
    let model = good_model(dir.path());
    let path = dir.path().join("audio-only.mp4");
    let file = std::fs::File::create(&path).unwrap();
    let config = mp4::Mp4Config {
        major_brand: str::parse("isom").unwrap(),
        minor_version: 512,
        compatible_brands: vec![str::parse("isom").unwrap(), str::parse("mp41").unwrap()],
        timescale: 1000,
    };
    let mut writer = mp4::Mp4Writer::write_start(file, &config).unwrap();
    writer
        .add_track(&mp4::TrackConfig {
            track_type: mp4::TrackType::Audio,
            timescale: 44100,
            language: "und".into(),
            media_conf: mp4::MediaConfig::AacConfig(mp4::AacConfig {
                bitrate: 64000,
                profile: mp4::AudioObjectType::AacLowComplexity,
                freq_index: mp4::SampleFreqIndex::Freq44100,
                chan_conf: mp4::ChannelConfig::Mono,
            }),
        })
        .unwrap();
    writer
        .write_sample(
            1,
            &mp4::Mp4Sample {
                start_time: 0,
                duration: 1024,
                rendering_offset: 0,
                is_sync: true,
                bytes: vec![0u8; 16].into(),
            },
        )
        .unwrap();
    writer.write_end().unwrap();
    safecross(&["run", path.to_str().unwrap(), "--fast", "--model", model.to_str().unwrap()])
        .assert_clean_error("has no H.264 video track (tracks: audio/aac)");
}

#[test]
fn onnx_file_that_is_not_a_detector() {
    let dir = temp_dir();
    let img = dir.path().join("a.png");
    write_png(&img, 64, 64, |_, _| [0, 0, 0]);
    // A classifier-like graph: input [1, 10], output [1, 10].
    let flat = Graph::default()
        .input("x", &[1, 10])
        .output("y", &[1, 10])
        .float_init("w", &[1, 10], &[1.0; 10])
        .node("Mul", &["x", "w"], &["y"], &[], &[])
        .to_bytes();
    let path = dir.path().join("classifier.onnx");
    std::fs::write(&path, flat).unwrap();
    safecross(&["detect", img.to_str().unwrap(), "--model", path.to_str().unwrap()]).assert_clean_error(
        "is not a detector safecross can run: input `x` has shape [1, 10], expected [1, 3, height, width]",
    );
    // Right input, wrong output rank.
    let bad_out = Graph::default()
        .input("images", &[1, 3, 64, 64])
        .output("y", &[1, 3, 64, 64])
        .float_init("w", &[1], &[1.0])
        .node("Mul", &["images", "w"], &["y"], &[], &[])
        .to_bytes();
    std::fs::write(&path, bad_out).unwrap();
    safecross(&["detect", img.to_str().unwrap(), "--model", path.to_str().unwrap()])
        .assert_clean_error("output shape [1, 3, 64, 64] matches no supported layout");
    // Not ONNX at all.
    std::fs::write(&path, b"\x89PNG not a model").unwrap();
    safecross(&["info", "--model", path.to_str().unwrap()]).assert_clean_error("is not an ONNX model");
}

#[test]
fn class_count_that_disagrees_with_the_names() {
    let dir = temp_dir();
    let t = vec![0.0f32; 7 * 8];
    let path = dir.path().join("m.onnx");
    std::fs::write(&path, constant_detector(320, 7, 8, &t, Some("{0: 'red', 1: 'yellow', 2: 'green', 3: 'off'}")))
        .unwrap();
    safecross(&["info", "--model", path.to_str().unwrap()])
        .assert_clean_error("the model outputs 3 classes but 4 class names were given");
}

#[test]
fn missing_onnx_runtime_with_backend_ort() {
    let dir = temp_dir();
    let model = good_model(dir.path());
    let run = safecross_with(
        &["info", "--model", model.to_str().unwrap(), "--backend", "ort", "--ort-lib", "/nowhere/libonnxruntime.so"],
        &[("ORT_DYLIB_PATH", None)],
    );
    if run.code == 0 {
        crate::util::skip(
            "missing_onnx_runtime_with_backend_ort",
            "a system-wide ONNX Runtime was found, so it is not missing here",
        );
        return;
    }
    run.assert_clean_error("ONNX Runtime not found; looked in: /nowhere/libonnxruntime.so (no such file)");
}

#[test]
fn folder_without_readable_images() {
    let dir = temp_dir();
    let model = good_model(dir.path());
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    std::fs::write(empty.join("readme.txt"), "no pictures here").unwrap();
    safecross(&["run", empty.to_str().unwrap(), "--fast", "--model", model.to_str().unwrap()])
        .assert_clean_error("contains no images");
    // A folder we may not list. Root reads everything, so as root the binary is run as
    // `nobody` through setpriv (util-linux); elsewhere as the current user.
    let locked = dir.path().join("locked");
    std::fs::create_dir(&locked).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    let args = [
        "run",
        locked.to_str().unwrap(),
        "--fast",
        "--audio",
        "none",
        "--backend",
        "tract",
        "--model",
        model.to_str().unwrap(),
    ];
    if std::fs::read_dir(&locked).is_err() {
        safecross(&args).assert_clean_error("cannot read");
    } else {
        // `nobody` must reach the model and the folder's parent.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(&model, std::fs::Permissions::from_mode(0o644)).unwrap();
        let out = std::process::Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(crate::util::safecross_bin())
            .args(args)
            .env_remove("ORT_DYLIB_PATH")
            .stdin(std::process::Stdio::null())
            .output();
        match out {
            Ok(out) if !String::from_utf8_lossy(&out.stderr).contains("setpriv:") => {
                let run = crate::util::Run {
                    code: out.status.code().unwrap_or(-1),
                    stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
                    stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
                };
                run.assert_clean_error("cannot read");
            }
            _ => crate::util::skip(
                "folder_without_readable_images (locked half)",
                "running as root without a working setpriv",
            ),
        }
    }
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn a_damaged_image_is_named() {
    let dir = temp_dir();
    let model = good_model(dir.path());
    let img = dir.path().join("cut.png");
    write_png(&img, 64, 64, |_, _| [9, 9, 9]);
    let bytes = std::fs::read(&img).unwrap();
    std::fs::write(&img, &bytes[..bytes.len() / 2]).unwrap();
    let run = safecross(&["detect", img.to_str().unwrap(), "--model", model.to_str().unwrap()]);
    run.assert_clean_error("cut.png");
}
