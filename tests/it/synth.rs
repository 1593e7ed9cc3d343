//! The scene generator: clips decode back to frames whose lamps show what the ground
//! truth says, output is byte-identical for a seed, and stills carry valid labels; and
//! the timelines it writes, whose bad fields are named when they are rejected.

use crate::util::{safecross, shared_dir, skip, temp_dir};
use safecross::frame::Frame;
use safecross::signal::SHIPPED_CLASSES;
use safecross::source::FrameSource;
use safecross::source::mp4::Mp4Source;
use safecross::synth::{ClipConfig, Preset, StillsConfig, write_clip, write_stills};
use safecross::truth::{Timeline, TruthSignal};
use std::collections::BTreeMap;
use std::path::Path;

/// Colour of the lit lamp inside a box: the mean RGB (0-1) of the brightest tenth of
/// the pixels inside the housing. The housing's edges blend with the background, so
/// 20% of the short side and 5% of the long side are cut off first; a horizontal
/// vehicle head keeps its end lamps that way.
fn lamp_colour(rgb: &[u8], width: usize, b: [f32; 4]) -> [f32; 3] {
    let (w, h) = (b[2] - b[0], b[3] - b[1]);
    let (dx, dy) = if w >= h { (w * 0.05, h * 0.2) } else { (w * 0.2, h * 0.05) };
    let b = [b[0] + dx, b[1] + dy, b[2] - dx, b[3] - dy];
    let mut px: Vec<(u8, [f32; 3])> = Vec::new();
    for y in b[1].max(0.0) as usize..(b[3].ceil() as usize).min(rgb.len() / 3 / width) {
        for x in b[0].max(0.0) as usize..(b[2].ceil() as usize).min(width) {
            let i = (y * width + x) * 3;
            let (r, g, bl) = (rgb[i], rgb[i + 1], rgb[i + 2]);
            px.push((r.max(g).max(bl), [r, g, bl].map(|c| f32::from(c) / 255.0)));
        }
    }
    px.sort_by_key(|p| std::cmp::Reverse(p.0));
    let top = (px.len() / 10).max(1).min(px.len());
    let mut mean = [0.0; 3];
    for (_, c) in &px[..top] {
        for ch in 0..3 {
            mean[ch] += c[ch] / top as f32;
        }
    }
    mean
}

/// Red minus green of the lit lamp: red figures and orange hands score well above 0;
/// green figures score below 0 and white walking persons near 0.
fn lamp_redness(rgb: &[u8], width: usize, b: [f32; 4]) -> f32 {
    let [r, g, _] = lamp_colour(rgb, width, b);
    r - g
}

const STOP_MIN_REDNESS: f32 = 0.1;

fn small_clip(preset: Preset, seed: u64) -> ClipConfig {
    ClipConfig {
        preset,
        seed,
        seconds: 2.0,
        width: 160,
        height: 96,
        fps: 10.0,
        bitrate_bps: 200_000,
        ..ClipConfig::default()
    }
}

/// What colour a pedestrian head's walk figure is lit in.
#[derive(Debug, Clone, Copy)]
enum WalkLamp {
    /// Chinese and European heads.
    Green,
    /// US heads: a white walking person.
    White,
}

/// How far apart red and green must be for a vehicle lamp, 0-1; measured lamps are
/// 0.37 or more apart, even in the European preset's low-sun glare.
const VEHICLE_MIN_CONTRAST: f32 = 0.2;

/// Writes a `preset` clip at 640x360 and 5 fps, decodes it, and checks every frame: the
/// relevant box's class follows the truth, and the lit lamp of every box large enough
/// to judge, pedestrian or vehicle, has the colour its class says. Returns how many
/// boxes of each class were checked.
fn check_clip_colours(preset: Preset, seed: u64, seconds: f64, walk: WalkLamp) -> BTreeMap<String, usize> {
    let name = preset.name();
    let dir = temp_dir();
    let path = dir.path().join(format!("{name}.mp4"));
    let config = ClipConfig {
        preset,
        seed,
        seconds,
        width: 640,
        height: 360,
        fps: 5.0,
        bitrate_bps: 1_500_000,
        ..ClipConfig::default()
    };
    let written = write_clip(&config, &path).unwrap();
    let timeline = Timeline::load(&path.with_extension("json")).unwrap();
    assert_eq!(timeline, written);
    let signals: Vec<TruthSignal> = timeline.segments.iter().map(|s| s.signal).collect();
    assert!(signals.contains(&TruthSignal::DontWalk) && signals.contains(&TruthSignal::Walk), "{name}: {signals:?}");

    let mut source = Mp4Source::open(&path).unwrap();
    let mut frame = Frame::default();
    let mut i = 0usize;
    let mut checked = BTreeMap::new();
    while source.next_frame(&mut frame).unwrap() {
        assert_eq!((frame.width, frame.height), (640, 360));
        // Container timestamps are exact frame times.
        assert!((frame.t_s() - i as f64 / 5.0).abs() < 1e-3, "{name} frame {i} at {} s", frame.t_s());
        let truth = timeline.signal_at(frame.t_s()).unwrap();
        let boxes = &timeline.boxes[i].boxes;
        let relevant: Vec<_> = boxes.iter().filter(|b| b.relevant).collect();
        assert!(relevant.len() <= 1);
        match relevant.first() {
            None => assert_eq!(truth, TruthSignal::None, "{name} frame {i}"),
            Some(b) => {
                assert_ne!(truth, TruthSignal::None, "{name} frame {i}");
                let expect_class = match truth {
                    TruthSignal::DontWalk => "ped_stop",
                    TruthSignal::Walk => "ped_walk",
                    _ => b.class.as_str(),
                };
                assert_eq!(b.class, expect_class, "{name} frame {i}");
            }
        }
        for b in boxes {
            let (w, h) = (b.bbox[2] - b.bbox[0], b.bbox[3] - b.bbox[1]);
            // Side-on heads of the crossing road are too thin, and far heads too small,
            // for their lamp to keep its colour through blur and compression.
            if w.max(h) < 12.0 || w.min(h) < 6.0 {
                continue;
            }
            let [r, g, bl] = lamp_colour(&frame.rgb, 640, b.bbox);
            let redness = r - g;
            let ok = match (b.class.as_str(), walk) {
                ("ped_stop", _) => redness > STOP_MIN_REDNESS,
                ("ped_walk", WalkLamp::Green) => redness < -0.02,
                // White has as much blue as red; the orange hand has little.
                ("ped_walk", WalkLamp::White) => redness.abs() < STOP_MIN_REDNESS && bl > 0.7 * r,
                ("red", _) => redness > VEHICLE_MIN_CONTRAST,
                ("green", _) => -redness > VEHICLE_MIN_CONTRAST,
                _ => continue,
            };
            assert!(ok, "{name} frame {i}: {} box {:?} has lamp colour {:?}", b.class, b.bbox, [r, g, bl]);
            *checked.entry(b.class.clone()).or_insert(0) += 1;
        }
        i += 1;
    }
    assert_eq!(i, timeline.boxes.len());
    for class in ["ped_stop", "ped_walk", "red", "green"] {
        let n = checked.get(class).copied().unwrap_or(0);
        assert!(n >= 3, "{name}: only {n} {class} boxes were large enough to check: {checked:?}");
    }
    checked
}

#[test]
fn clip_frames_show_the_ground_truth_colours_at_the_boxes() {
    check_clip_colours(Preset::CnDayCountdown, 11, 9.0, WalkLamp::Green);
}

#[test]
fn us_clip_frames_show_the_ground_truth_colours_at_the_boxes() {
    check_clip_colours(Preset::Us, 12, 4.0, WalkLamp::White);
}

#[test]
fn eu_clip_frames_show_the_ground_truth_colours_at_the_boxes() {
    check_clip_colours(Preset::Eu, 13, 4.0, WalkLamp::Green);
}

#[test]
fn a_misspelt_signal_is_rejected_naming_the_file_and_the_segment() {
    let dir = temp_dir();
    let path = dir.path().join("u.json");
    let text = r#"{"version":1,"fps":10,"duration_s":10,"source":{"kind":"recorded"},"segments":[
        {"start_s":0,"end_s":4,"signal":"dont_walk"},{"start_s":4,"end_s":10,"signal":"green_man"}]}"#;
    std::fs::write(&path, text).unwrap();
    let err = Timeline::load(&path).unwrap_err().to_string();
    assert!(err.contains("u.json") && err.contains("segments[1].signal"), "{err}");
    assert!(err.contains(r#"unknown signal "green_man" (expected walk, dont_walk, changing or none)"#), "{err}");
}

#[test]
fn same_seed_gives_byte_identical_clip_and_timeline() {
    let dir = temp_dir();
    let mut outputs = Vec::new();
    for (name, seed) in [("a", 7), ("b", 7), ("c", 8)] {
        let path = dir.path().join(format!("{name}.mp4"));
        write_clip(&small_clip(Preset::Random, seed), &path).unwrap();
        let mp4 = std::fs::read(&path).unwrap();
        let json = std::fs::read(path.with_extension("json")).unwrap();
        outputs.push((mp4, json));
    }
    assert!(outputs[0] == outputs[1], "seed 7 twice differs");
    assert!(outputs[0].0 != outputs[2].0, "seeds 7 and 8 made the same video");
}

#[test]
fn every_preset_makes_a_valid_clip() {
    let dir = temp_dir();
    for preset in Preset::ALL {
        let path = dir.path().join(format!("{}.mp4", preset.name()));
        let t = write_clip(&small_clip(preset, 3), &path).unwrap();
        t.validate(preset.name()).unwrap();
        let loaded = Timeline::load(&path.with_extension("json")).unwrap();
        assert_eq!(loaded.boxes.len(), 20, "{}", preset.name());
        for fb in &loaded.boxes {
            for b in &fb.boxes {
                assert!(SHIPPED_CLASSES.contains(&b.class.as_str()), "{}", b.class);
                assert!(b.bbox[0] >= 0.0 && b.bbox[1] >= 0.0 && b.bbox[2] <= 160.0 && b.bbox[3] <= 96.0);
            }
        }
    }
}

fn read_labels(dir: &Path, stem: &str) -> Vec<(usize, [f32; 4])> {
    std::fs::read_to_string(dir.join("labels").join(format!("{stem}.txt")))
        .unwrap()
        .lines()
        .map(|l| {
            let v: Vec<f32> = l.split_whitespace().map(|x| x.parse().unwrap()).collect();
            assert_eq!(v.len(), 5, "{l}");
            (v[0] as usize, [v[1], v[2], v[3], v[4]])
        })
        .collect()
}

#[test]
fn stills_have_labels_inside_the_image_and_lamp_colours_that_match() {
    let dir = temp_dir();
    let size = 320usize;
    let config = StillsConfig { size_px: size as u32, count: 80, seed: 4, jobs: 2, ..StillsConfig::default() };
    let summary = write_stills(&config, dir.path()).unwrap();
    assert_eq!(summary.images, 80);
    let yaml = std::fs::read_to_string(dir.path().join("data.yaml")).unwrap();
    assert!(
        yaml.contains("names: [red, yellow, green, ped_stop, ped_walk, off, crosswalk]") && yaml.contains("nc: 7"),
        "{yaml}"
    );
    let (mut stop_ok, mut stop_n, mut walk_ok, mut walk_n) = (0, 0, 0, 0);
    for i in 0..80 {
        let stem = format!("{i:06}");
        let img = image::open(dir.path().join("images").join(format!("{stem}.jpg"))).unwrap().to_rgb8();
        assert_eq!(img.dimensions(), (size as u32, size as u32));
        let labels = read_labels(dir.path(), &stem);
        assert!(!labels.is_empty(), "still {i} has no labels");
        for (cls, [cx, cy, w, h]) in labels {
            assert!(cls < SHIPPED_CLASSES.len());
            assert!(w > 0.0 && h > 0.0);
            assert!(cx - w / 2.0 >= -1e-4 && cy - h / 2.0 >= -1e-4 && cx + w / 2.0 <= 1.0001 && cy + h / 2.0 <= 1.0001);
            let s = size as f32;
            let b = [(cx - w / 2.0) * s, (cy - h / 2.0) * s, (cx + w / 2.0) * s, (cy + h / 2.0) * s];
            if h * s < 16.0 {
                continue;
            }
            let redness = lamp_redness(img.as_raw(), size, b);
            match SHIPPED_CLASSES[cls] {
                "ped_stop" => {
                    stop_n += 1;
                    stop_ok += usize::from(redness > STOP_MIN_REDNESS);
                }
                "ped_walk" => {
                    // Green or white: not red.
                    walk_n += 1;
                    walk_ok += usize::from(redness < STOP_MIN_REDNESS);
                }
                _ => {}
            }
        }
    }
    // Glare or a neighbouring lamp's bloom can tip a few; the bulk must be right.
    assert!(stop_n >= 8 && walk_n >= 8, "too few large heads: {stop_n} stop, {walk_n} walk");
    assert!(stop_ok * 4 >= stop_n * 3, "{stop_ok}/{stop_n} stop boxes look red");
    assert!(walk_ok * 4 >= walk_n * 3, "{walk_ok}/{walk_n} walk boxes look green or white");
}

#[test]
fn clip_command_writes_nothing_but_its_own_lines_to_stderr() {
    // OpenH264's rate-control warning used to appear here at every clip (issue 20).
    let dir = temp_dir();
    let out = dir.path().join("c.mp4");
    let run = safecross(&["synth", "clip", "--preset", "us", "--seconds", "1", "--out", out.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("wrote"), "{}", run.stdout);
    assert!(run.stderr.trim().is_empty(), "stderr: {}", run.stderr);
}

#[test]
fn heldout_styles_split_the_family_and_need_designs_heldout() {
    let dir = temp_dir();
    let out = dir.path().join("c.mp4");
    let o = out.to_str().unwrap();
    let ok = safecross(&[
        "synth",
        "clip",
        "--designs",
        "heldout",
        "--heldout-styles",
        "kr,us-stacked",
        "--seconds",
        "1",
        "--out",
        o,
    ]);
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    safecross(&["synth", "clip", "--heldout-styles", "kr", "--seconds", "1", "--out", o]).assert_clean_error("heldout");
    let bad = safecross(&["synth", "clip", "--designs", "heldout", "--heldout-styles", "fr", "--out", o]);
    bad.assert_clean_error("unknown pedestrian style");
}

#[test]
fn stills_command_writes_a_yolo_folder() {
    let dir = temp_dir();
    let out = dir.path().join("set");
    let run =
        safecross(&["synth", "stills", "--out", out.to_str().unwrap(), "--count", "3", "--size", "128", "--seed", "9"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    for i in 0..3 {
        assert!(out.join(format!("images/{i:06}.jpg")).is_file());
        assert!(!read_labels(&out, &format!("{i:06}")).is_empty());
    }
    let bad = safecross(&["synth", "clip", "--preset", "mars", "--out", out.join("x.mp4").to_str().unwrap()]);
    assert_ne!(bad.code, 0);
    assert!(bad.stderr.contains("unknown preset"), "{}", bad.stderr);
}

#[test]
fn stills_on_real_photos_carry_their_labels() {
    let Some(shared) = shared_dir() else {
        return skip("stills_on_real_photos_carry_their_labels", "../shared/ is absent");
    };
    let kr = shared.join("data/traffic-lights/kr/train");
    if !kr.join("images").is_dir() {
        return skip("stills_on_real_photos_carry_their_labels", "kr/train is absent");
    }
    let dir = temp_dir();
    let config = StillsConfig {
        size_px: 320,
        count: 12,
        seed: 2,
        backgrounds: vec![kr],
        real_share: 1.0,
        ..StillsConfig::default()
    };
    write_stills(&config, dir.path()).unwrap();
    let mut vehicle_labels = 0;
    for i in 0..12 {
        for (cls, _) in read_labels(dir.path(), &format!("{i:06}")) {
            // kr's `left` arrows are dropped; red/yellow/green come from the photo.
            vehicle_labels += usize::from(cls <= 2);
        }
    }
    assert!(vehicle_labels > 0, "no photo labels were carried over");
}

#[test]
fn stills_carry_background_labels_through_the_crop() {
    let dir = temp_dir();
    let split = dir.path().join("mini/train");
    std::fs::create_dir_all(split.join("images")).unwrap();
    std::fs::create_dir_all(split.join("labels")).unwrap();
    std::fs::write(dir.path().join("mini/data.yaml"), "names: [green, red]\nnc: 2\n").unwrap();
    crate::util::write_png(&split.join("images/a.png"), 400, 400, |_, _| [90, 90, 90]);
    // One red light (class 1 in this dataset) in the middle, as a polygon, twice as tall as wide.
    std::fs::write(split.join("labels/a.txt"), "1 0.45 0.4 0.55 0.4 0.55 0.6 0.45 0.6\n").unwrap();
    let out = dir.path().join("out");
    let config = StillsConfig {
        size_px: 200,
        count: 6,
        seed: 1,
        backgrounds: vec![split],
        real_share: 1.0,
        ..StillsConfig::default()
    };
    write_stills(&config, &out).unwrap();
    let mut carried = 0;
    for i in 0..6 {
        let labels = read_labels(&out, &format!("{i:06}"));
        // A crop may cut the light; whole ones keep their 1:2 shape and grow with the zoom.
        let whole = labels.iter().filter(|(cls, [_, _, w, h])| *cls == 0 && (h / w - 2.0).abs() < 0.1 && *w >= 0.09);
        let n = whole.count();
        assert!(n <= 1, "still {i}: {labels:?}");
        carried += n;
    }
    assert!(carried >= 3, "only {carried} of 6 stills carried the photo's red light");
}

#[test]
fn committed_samples_have_valid_timelines_that_cover_their_clips() {
    let dir = crate::util::repo_root().join("samples");
    let mut clips: Vec<_> = std::fs::read_dir(&dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|e| e == "mp4")).collect()
        })
        .unwrap_or_default();
    clips.sort();
    if clips.is_empty() {
        return skip("committed_samples_have_valid_timelines_that_cover_their_clips", "samples/ has no clips");
    }
    let mut total_bytes = 0;
    for clip in &clips {
        total_bytes += std::fs::metadata(clip).unwrap().len();
        let json = clip.with_extension("json");
        let timeline = Timeline::load(&json).unwrap();
        let source = Mp4Source::open(clip).unwrap();
        let info = source.info();
        assert!((info.fps - timeline.fps).abs() < 0.01, "{}: {} fps vs {}", clip.display(), info.fps, timeline.fps);
        timeline.check_covers(&json.display().to_string(), info.duration_s.unwrap(), info.fps).unwrap();
        assert!((10.0..=40.0).contains(&timeline.duration_s), "{}: {} s", clip.display(), timeline.duration_s);
        assert_eq!(timeline.boxes.len() as f64, (timeline.duration_s * timeline.fps).round());
        let signals: Vec<_> = timeline.segments.iter().map(|s| s.signal).collect();
        assert!(signals.contains(&TruthSignal::Walk) && signals.contains(&TruthSignal::DontWalk), "{}", clip.display());
    }
    assert!(clips.len() >= 6, "{} clips", clips.len());
    assert!(total_bytes <= 10_000_000, "samples take {total_bytes} bytes");
    let occlusion = Timeline::load(&dir.join("occlusion.json")).unwrap();
    assert!(occlusion.segments.iter().any(|s| s.signal == TruthSignal::None && s.end_s - s.start_s >= 2.0));
    // The vehicle head shows green while the pedestrian head (the truth) shows stop.
    let conflict = Timeline::load(&dir.join("vehicle-conflict.json")).unwrap();
    assert!(conflict.boxes.iter().any(|fb| {
        fb.boxes.iter().any(|b| b.relevant && b.class == "ped_stop")
            && fb.boxes.iter().any(|b| !b.relevant && b.class == "green")
    }));
}

/// A clip on real photos (`--backgrounds`): the photo comes from a stream of its own, so
/// the scene and the truth are exactly those of the drawn street with the same seed,
/// while the pixels around the heads are the photo's. Photos with a labelled pedestrian
/// head are never used, since the truth follows the drawn head.
#[test]
fn clips_on_real_photos_keep_the_scene_and_truth_of_their_seed() {
    let Some(shared) = shared_dir() else {
        return skip("clips_on_real_photos_keep_the_scene_and_truth_of_their_seed", "../shared is absent");
    };
    let photos = shared.join("data/traffic-lights/cinta/valid");
    let dir = temp_dir();
    let (drawn_path, photo_path) = (dir.path().join("drawn.mp4"), dir.path().join("photo.mp4"));
    let config = ClipConfig { seconds: 1.0, width: 320, height: 180, ..small_clip(Preset::Us, 21) };
    let drawn = write_clip(&config, &drawn_path).unwrap();
    let on_photo = write_clip(&ClipConfig { backgrounds: vec![photos], ..config.clone() }, &photo_path).unwrap();
    assert_eq!(drawn.segments, on_photo.segments);
    assert_eq!(drawn.boxes, on_photo.boxes);
    let first_frame = |path: &Path| {
        let mut source = Mp4Source::open(path).unwrap();
        let mut frame = Frame::default();
        assert!(source.next_frame(&mut frame).unwrap());
        frame.rgb.clone()
    };
    let (a, b) = (first_frame(&drawn_path), first_frame(&photo_path));
    let differ = a.iter().zip(&b).filter(|(x, y)| x.abs_diff(**y) > 40).count();
    assert!(differ > a.len() / 4, "only {differ} of {} values differ: the photo is not behind the heads", a.len());

    // A dataset whose only photo shows a pedestrian head offers no usable background.
    let dataset = dir.path().join("ped");
    std::fs::create_dir_all(dataset.join("images")).unwrap();
    std::fs::create_dir_all(dataset.join("labels")).unwrap();
    std::fs::write(dataset.join("data.yaml"), "names: [crosswalk, ped_walk, ped_stop]\n").unwrap();
    crate::util::write_png(&dataset.join("images/a.png"), 64, 64, |_, _| [90, 90, 90]);
    std::fs::write(dataset.join("labels/a.txt"), "2 0.5 0.5 0.2 0.4\n").unwrap();
    let err = write_clip(&ClipConfig { backgrounds: vec![dataset], ..config }, &dir.path().join("x.mp4")).unwrap_err();
    assert!(err.to_string().contains("no usable background images"), "{err}");
}
