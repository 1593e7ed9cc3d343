//! `run --save` and `--save-frames`: the video as safecross saw it, frame for frame,
//! with a banner that shows the decision of that frame.

use crate::util::{repo_root, safecross, temp_dir};
use safecross::frame::Frame;
use safecross::source::{self, SourceConfig, SourceSpec};

#[test]
fn the_saved_video_and_frames_show_every_decision() {
    let dir = temp_dir();
    let (video, frames_dir) = (dir.path().join("seen.mp4"), dir.path().join("frames"));
    let clip = repo_root().join("samples/eu.mp4");
    let run = safecross(&[
        "run",
        clip.to_str().unwrap(),
        "--fast",
        "--audio",
        "none",
        "--json",
        "--save",
        video.to_str().unwrap(),
        "--save-frames",
        frames_dir.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("annotated video written to"), "{}", run.stderr);
    let decided: Vec<(u64, String)> = run
        .json_frames()
        .iter()
        .filter_map(|v| Some((v.get("frame")?.as_u64()?, v.get("decision")?.as_str()?.to_string())))
        .collect();
    assert_eq!(decided.len(), 300, "every frame of the 20 s clip is decided with --fast");

    // The MP4 plays in safecross itself, with every frame, at the clip's size.
    let mut src = source::open(&SourceSpec::Path(video), &SourceConfig::default()).unwrap();
    let mut frame = Frame::default();
    let mut n = 0;
    while src.next_frame(&mut frame).unwrap() {
        n += 1;
    }
    assert_eq!((n, frame.width, frame.height), (300, 960, 540));

    // One PNG per decided frame, its banner in the colour of that frame's decision.
    let banner = |state: &str| match state {
        "walk" => [12, 92, 30],
        "dont_walk" => [140, 0, 0],
        "changing" => [230, 160, 0],
        _ => [60, 60, 60],
    };
    let mut states_seen = std::collections::BTreeSet::new();
    for (seq, state) in &decided {
        let png = image::open(frames_dir.join(format!("frame_{seq:06}.png"))).unwrap().to_rgb8();
        assert_eq!(png.dimensions(), (960, 540));
        // Left of the text, inside the strip.
        assert_eq!(png.get_pixel(1, 1).0, banner(state), "frame {seq} decided {state}");
        states_seen.insert(state.clone());
    }
    assert!(states_seen.len() >= 3, "the clip should show several decisions: {states_seen:?}");
    // The clip's timeline (samples/eu.json) is shown beside the decision: a banner with
    // "truth walk" is wider than one without, so its text reaches further right.
    let ink_right = |seq: u64| {
        let png = image::open(frames_dir.join(format!("frame_{seq:06}.png"))).unwrap().to_rgb8();
        let fill = png.get_pixel(1, 1).0;
        (0..png.width()).rev().find(|&x| (0..12).any(|y| png.get_pixel(x, y).0 != fill)).unwrap_or(0)
    };
    let (first, _) = decided[0];
    assert!(ink_right(first) > 600, "no truth in the banner: text ends at x = {}", ink_right(first));
}
