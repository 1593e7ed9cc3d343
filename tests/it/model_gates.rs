//! Quality gates on the shipped model, measured through the binary the way users run it:
//! - on every sample clip, walk is never decided while the signal says don't walk, and
//!   outlives a lost signal by no more than the smoother's short hold (the safety
//!   gate); the decisions follow the truth at least as well as the model card says;
//! - on the real validation photos (when `../shared/` is present), detection quality is
//!   no worse than the model card's figures minus 0.02, so the card cannot rot.

use crate::util::{bundled_model, model_card, repo_root, safecross, shared_dir, shipped_model, skip};
use serde_json::Value;

#[test]
fn samples_never_get_walk_during_dont_walk_and_follow_the_truth() {
    let Some(model) = shipped_model() else {
        return skip("samples_never_get_walk_during_dont_walk", "models/safecross-tl.onnx is absent");
    };
    samples_gate("samples_never_get_walk_during_dont_walk", &model, "samples");
}

/// The int8 model's decisions on the samples, held to the same safety gate and to its own
/// card figures: its photo figures alone did not show how it decides (model card, "int8
/// decisions on held-out streets").
#[test]
fn int8_samples_never_get_walk_during_dont_walk_and_follow_the_truth() {
    let test = "int8_samples_never_get_walk_during_dont_walk";
    let Some(model) = bundled_model("safecross-tl.int8.onnx") else {
        return skip(test, "models/safecross-tl.int8.onnx is absent");
    };
    samples_gate(test, &model, "samples_int8");
}

/// The safety gate on every sample clip (no walk during don't walk, walk with no
/// pedestrian signal bounded, walk into a changing phase within the decision target), and
/// the decisions following the truth no worse than the card's `card_key` figures.
fn samples_gate(test: &str, model: &std::path::Path, card_key: &str) {
    let samples = repo_root().join("samples");
    let has_clips = std::fs::read_dir(&samples)
        .map(|d| d.flatten().any(|e| e.path().extension().is_some_and(|x| x == "mp4")))
        .unwrap_or(false);
    if !has_clips {
        return skip(test, "samples/ has no clips");
    }
    let run = safecross(&[
        "eval",
        samples.to_str().unwrap(),
        "--json",
        "--max-false-go",
        "0",
        "--model",
        model.to_str().unwrap(),
    ]);
    let report: Value =
        serde_json::from_str(run.stdout.trim()).unwrap_or_else(|e| panic!("{e}: {} {}", run.stdout, run.stderr));
    eprintln!("sample clips: {}", report["overall"]);
    assert_eq!(report["overall"]["false_go_s"].as_f64(), Some(0.0), "false go on samples: {}", report["overall"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let clips = report["clips"].as_array().unwrap();
    assert!(clips.len() >= 6, "expected the six sample clips, got {}", clips.len());
    for clip in clips {
        // Each clip's figures sit beside its name, as `overall`'s do.
        let f = clip;
        assert!(f.get("false_go_s").is_some(), "the clip report lost its figures: {clip}");
        assert_eq!(f["false_go_s"].as_f64(), Some(0.0), "{}", clip["clip"]);
        // Walk with no pedestrian head in view is bounded, not zero, by design: when the
        // head vanishes at once (a bus drives in front of it) walk is held for
        // `walk_hold_s` in case it was a missed detection, and while it is hidden a
        // parallel vehicle green may carry the decision (basis "vehicle"; the timeline
        // marks only the pedestrian head as relevant). Never seconds of it.
        let go_without = f["go_without_signal_s"].as_f64().unwrap();
        assert!(go_without <= 1.0, "{}: walk for {go_without:.2} s with no pedestrian signal in view", clip["clip"]);
        // The decision target: walk ends within 0.6 s of a changing phase's start.
        let into_changing = f["go_during_changing_max_s"].as_f64().unwrap();
        assert!(into_changing <= 0.6, "{}: walk {into_changing:.2} s into a changing phase", clip["clip"]);
        assert_eq!(f["frames_processed"], f["frames"], "{}: every frame is processed", clip["clip"]);
    }
    // Following the truth: no worse than the figures the model card states.
    let card = model_card();
    let overall = &report["overall"];
    let claimed_missed = card[card_key]["missed_walk_fraction"]
        .as_f64()
        .unwrap_or_else(|| panic!("card lacks {card_key}.missed_walk_fraction"));
    let missed = overall["missed_walk_fraction"].as_f64().unwrap();
    assert!(
        missed <= claimed_missed + 0.05,
        "{model:?}: walk missed {missed:.3} of the time, the model card says {claimed_missed:.3}"
    );
    let claimed_apart =
        card[card_key]["ped_told_apart"].as_f64().unwrap_or_else(|| panic!("card lacks {card_key}.ped_told_apart"));
    let apart = overall["ped_heads"]["told_apart"].as_f64().unwrap();
    assert!(
        apart >= claimed_apart - 0.02,
        "stop/walk told apart in {apart:.3} of frames, the model card says {claimed_apart:.3}"
    );
}

/// The second look (`[zoom]`) on the bundled US clip, whose far, flat head the full view
/// often misses: with it, stop and walk are told apart in more frames, it runs on a
/// minority of frames (it is only for a followed head gone missing or unsure), and it
/// never brings walk during don't walk.
#[test]
fn the_second_look_finds_far_heads_the_full_view_misses() {
    let test = "the_second_look_finds_far_heads_the_full_view_misses";
    let Some(model) = shipped_model() else { return skip(test, "models/safecross-tl.onnx is absent") };
    let clip = repo_root().join("samples/us.mp4");
    if !clip.exists() {
        return skip(test, "samples/us.mp4 is absent");
    }
    let (clip, model) = (clip.to_str().unwrap(), model.to_str().unwrap());
    let told_apart = |extra: &[&str]| {
        let run = safecross(&[&["eval", clip, "--json", "--model", model], extra].concat());
        assert_eq!(run.code, 0, "{}", run.stderr);
        let report: Value = serde_json::from_str(run.stdout.trim()).unwrap();
        assert_eq!(report["overall"]["false_go_s"].as_f64(), Some(0.0), "{extra:?}: {}", report["overall"]);
        report["overall"]["ped_heads"]["told_apart"].as_f64().unwrap()
    };
    let (closer, full_only) = (told_apart(&[]), told_apart(&["--no-second-look"]));
    eprintln!("us sample, stop/walk told apart: {closer:.3} with the second look, {full_only:.3} without");
    assert!(closer >= full_only + 0.01, "second look {closer:.3}, full view alone {full_only:.3}");

    let looks = |extra: &[&str]| {
        let run = safecross(&[&["run", clip, "--fast", "--json", "--audio", "none", "--model", model], extra].concat());
        assert_eq!(run.code, 0, "{}", run.stderr);
        let frames = run.json_frames();
        let looked = frames.iter().filter(|f| f["second_look"] == Value::Bool(true)).count();
        (looked, frames.len())
    };
    let (looked, frames) = looks(&[]);
    assert!(looked > 0 && looked * 2 < frames, "second looks on {looked} of {frames} frames");
    assert_eq!(looks(&["--no-second-look"]).0, 0, "--no-second-look still looked closer");
}

#[test]
fn model_card_figures_hold_on_real_validation_photos() {
    let Some(model) = shipped_model() else {
        return skip("model_card_figures_hold", "models/safecross-tl.onnx is absent");
    };
    card_figures_hold_on_cinta_valid("model_card_figures_hold", &model, "cinta_valid");
}

/// The optional int8 model (`training/quantize.py`) is held to its own card figures on
/// real photos, vehicle and pedestrian, so it cannot silently lose accuracy when the float
/// model is retrained. Its 7-bit weights give the same integers on every CPU (AVX2 alone
/// saturated 8-bit ones), so one set of figures holds everywhere.
#[test]
fn int8_model_card_figures_hold_on_real_photos() {
    let test = "int8_model_card_figures_hold";
    let Some(model) = bundled_model("safecross-tl.int8.onnx") else {
        return skip(test, "models/safecross-tl.int8.onnx is absent");
    };
    card_figures_hold_on_cinta_valid(test, &model, "cinta_valid_int8");
    pedestrian_figures_hold(test, &model, "chanyoung_valid_int8");
}

fn card_figures_hold_on_cinta_valid(test: &str, model: &std::path::Path, card_key: &str) {
    let Some(shared) = shared_dir() else { return skip(test, "../shared/ is absent") };
    let card = model_card();
    let valid = shared.join("data/traffic-lights/cinta/valid");
    let run = safecross(&["eval", valid.to_str().unwrap(), "--json", "--model", model.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report: Value = serde_json::from_str(run.stdout.trim()).unwrap();
    for key in ["map50", "recall_any", "state_accuracy"] {
        let claimed = card[card_key][key].as_f64().unwrap_or_else(|| panic!("card lacks {card_key}.{key}"));
        let measured = report[key].as_f64().unwrap_or_else(|| panic!("report lacks {key}: {report}"));
        eprintln!("{card_key} {key}: measured {measured:.4}, model card {claimed:.4}");
        assert!(
            measured >= claimed - 0.02,
            "{key} {measured:.4} is below the model card's {card_key}.{key} {claimed:.4} - 0.02"
        );
    }
}

/// Real pedestrian heads (`../shared/data/ped-lights/chanyoung/valid`, East-Asian figures,
/// recordings that training never saw): the shipped model finds them, reads them right,
/// never reads a stop head as walk, puts few walk boxes on anything else, and finds the
/// zebra crossings, no worse than the model card says.
#[test]
fn model_card_pedestrian_figures_hold_on_real_pedestrian_photos() {
    let test = "model_card_pedestrian_figures_hold";
    let Some(model) = shipped_model() else { return skip(test, "models/safecross-tl.onnx is absent") };
    pedestrian_figures_hold(test, &model, "chanyoung_valid");
}

/// The wider model (`models/safecross-tl-wide.onnx`, the named option for boards with
/// time to spare) is held to its own card figures on real photos, pedestrian and vehicle.
#[test]
fn wide_model_card_figures_hold_on_real_photos() {
    let test = "wide_model_card_figures_hold";
    let Some(model) = bundled_model("safecross-tl-wide.onnx") else {
        return skip(test, "models/safecross-tl-wide.onnx is absent");
    };
    // Checked here once, so a missing ../shared is reported once, not by both gates.
    if shared_dir().is_none() {
        return skip(test, "../shared/ is absent");
    }
    pedestrian_figures_hold(test, &model, "wide_chanyoung_valid");
    card_figures_hold_on_cinta_valid(test, &model, "wide_cinta_valid");
}

fn pedestrian_figures_hold(test: &str, model: &std::path::Path, card_key: &str) {
    let Some(shared) = shared_dir() else { return skip(test, "../shared/ is absent") };
    let valid = shared.join("data/ped-lights/chanyoung/valid");
    if !valid.is_dir() {
        return skip(test, "../shared/data/ped-lights/chanyoung/valid is absent");
    }
    let card = model_card();
    let claimed = &card[card_key];
    let run = safecross(&["eval", valid.to_str().unwrap(), "--json", "--model", model.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report: Value = serde_json::from_str(run.stdout.trim()).unwrap();
    let ped = &report["pedestrian"];
    eprintln!("chanyoung/valid pedestrian heads: {ped}, crosswalk: {}", report["crosswalk"]);
    let figure = |v: &Value, key: &str| v[key].as_f64().unwrap_or_else(|| panic!("lacks {key}: {v}"));
    for key in ["recall_any", "state_accuracy"] {
        let (measured, card) = (figure(ped, key), figure(claimed, &format!("ped_{key}")));
        assert!(measured >= card - 0.02, "pedestrian {key} {measured:.3} is below the model card's {card:.3} - 0.02");
    }
    assert_eq!(ped["stop_read_as_walk"].as_u64(), Some(0), "a real stop head was read as walk: {ped}");
    let false_walk = figure(ped, "false_walk_per_image");
    let card_false_walk = figure(claimed, "false_walk_per_image");
    assert!(
        false_walk <= card_false_walk + 0.02,
        "{false_walk:.3} false walk boxes per image, card {card_false_walk:.3}"
    );
    let crosswalk_ap = figure(&report["crosswalk"], "ap50");
    let card_crosswalk = figure(claimed, "crosswalk_ap50");
    assert!(crosswalk_ap >= card_crosswalk - 0.02, "crosswalk AP50 {crosswalk_ap:.3}, card {card_crosswalk:.3}");
}

/// A street with no pedestrian signal, only vehicle lights, the parallel one far down the
/// road (the `vehicle-only` preset): the model sees the far lamp in some frames and not in
/// others, so the decision flickers. The user must not hear a message every second, as
/// issue 17 measured (22 in 20 s): after the start, a message that is not about walk comes
/// at most once every 15 s, however often the decision changes (27 times here, so the
/// clip does flicker and the test can fail).
///
/// Walk resting on a pedestrian head, where there is none, is held to at most 1 s. The
/// shipped model reads the far vehicle heads as pedestrian heads in some frames (that is
/// the flicker here) and the cross street's lamp, turned green, as a walking figure at
/// the end (0.6 s of walk), a model fault that the model card reports. What keeps it that
/// short is the selector's conflict between that head and the parallel lamp, misread as a
/// stop figure: a rule that counted only heads of one shape as conflicting gave 5.8 s of
/// walk here, in three announcements, and was withdrawn.
#[test]
fn a_far_flickering_vehicle_light_does_not_flood_speech() {
    let Some(model) = shipped_model() else {
        return skip("a_far_flickering_vehicle_light_does_not_flood_speech", "models/safecross-tl.onnx is absent");
    };
    let dir = crate::util::temp_dir();
    let clip = dir.path().join("vehicle-only.mp4");
    let made = safecross(&[
        "synth",
        "clip",
        "--preset",
        "vehicle-only",
        "--seed",
        "3",
        "--seconds",
        "40",
        "--out",
        clip.to_str().unwrap(),
    ]);
    assert_eq!(made.code, 0, "{}", made.stderr);
    let (clip, model) = (clip.to_str().unwrap(), model.to_str().unwrap());
    let held = story(clip, model);
    eprintln!(
        "vehicle-only clip: {} decision changes, spoken {:?}, walk on a pedestrian head {:.2} s",
        held.changes, held.spoken, held.pedestrian_walk_s
    );
    assert!(held.changes >= 10, "the decision hardly changes ({}), so this clip tests nothing", held.changes);
    let calm: Vec<f64> =
        held.spoken.iter().filter(|(t, text)| *t > 3.0 && !text.starts_with("Walk")).map(|(t, _)| *t).collect();
    for pair in calm.windows(2) {
        assert!(pair[1] - pair[0] >= 15.0 - 1e-6, "two messages {:.2} s apart: {:?}", pair[1] - pair[0], held.spoken);
    }
    assert!(held.spoken.len() <= 7, "{} messages in 40 s: {:?}", held.spoken.len(), held.spoken);
    assert!(
        held.pedestrian_walk_s <= 1.0,
        "walk on a pedestrian head for {:.2} s on a street with none: {:?}",
        held.pedestrian_walk_s,
        held.spoken
    );
}

/// On a street with no pedestrian signal, the model reads the cross street's vehicle head,
/// its lamp green, as a walking figure, steadily (`vehicle-only` seeds 13 and 14, as
/// `training/vehicle_only_clips.sh` makes them). The vehicle light beside the
/// crossing is red meanwhile: walk there is false go, which `safecross eval` counts from
/// the timeline's `parallel` boxes. Before the selector's `fresh_walk_beside_red`, walk was
/// announced for 1.2 and 3.1 s.
#[test]
fn a_cross_street_green_read_as_a_walking_figure_gives_no_walk_against_the_red() {
    let Some(model) = shipped_model() else {
        return skip("a_cross_street_green_read_as_a_walking_figure", "models/safecross-tl.onnx is absent");
    };
    let dir = crate::util::temp_dir();
    for seed in ["13", "14"] {
        let clip = dir.path().join(format!("vehicle-only-{seed}.mp4"));
        let clip = clip.to_str().unwrap();
        let made =
            safecross(&["synth", "clip", "--preset", "vehicle-only", "--seed", seed, "--seconds", "20", "--out", clip]);
        assert_eq!(made.code, 0, "{}", made.stderr);
        let eval = safecross(&["eval", clip, "--json", "--model", model.to_str().unwrap()]);
        let report: Value = serde_json::from_str(&eval.stdout).expect("eval --json prints one JSON object");
        let overall = &report["overall"];
        assert!(
            overall["false_go_vehicle_s"].is_number(),
            "no false_go_vehicle_s in the report: the vehicle rule is not measured"
        );
        assert_eq!(
            (overall["false_go_s"].as_f64(), eval.code),
            (Some(0.0), 0),
            "seed {seed}: walk while the vehicle light beside the crossing showed red: {overall}"
        );
    }
}

/// A flashing walk figure ends walk in its first dark half, even where the model still
/// reads the unlit figure as walk or loses it there: the glow check (`[glow]`,
/// `src/decide/glow.rs`) sees the lamp's own pixels go dark. Two held-out clips (head
/// designs the model never trained on, as `training/heldout_*_clips.sh` make them):
/// - night, seed 7006: the unlit figure is not found; walk outlived the flash's first
///   dark half by the smoother's 0.3 s hold for missed frames (0.73 s of walk in the
///   flashing phase, 0.53 s with the check);
/// - a real photo street, seed 8010 (when `../shared/` is present): the unlit figure is
///   read as walk at 0.46-0.66, and walk lasted 4.67 s into the flashing phase (0.53 s
///   with the check).
///
/// A flash is lit for its first half second, which nothing can tell from walk, so the
/// target (0.6 s) leaves about one frame for noticing the dark.
#[test]
fn walk_ends_in_the_first_dark_half_of_a_flashing_walk_figure() {
    let test = "walk_ends_in_the_first_dark_half_of_a_flashing_walk_figure";
    let Some(model) = shipped_model() else { return skip(test, "models/safecross-tl.onnx is absent") };
    let dir = crate::util::temp_dir();
    let no_glow = dir.path().join("no-glow.toml");
    std::fs::write(&no_glow, "[glow]\nenabled = false\n").unwrap();
    let mut clips = vec![("night", "7006", Vec::new())];
    match shared_dir() {
        Some(shared) => {
            let data = shared.join("data");
            let backgrounds = [data.join("traffic-lights/cinta/valid"), data.join("ped-lights/chanyoung/valid")];
            let mut args = vec!["--heldout-styles".to_string(), "kr,us-stacked".to_string()];
            for b in backgrounds {
                args.extend(["--backgrounds".to_string(), b.to_str().unwrap().to_string()]);
            }
            clips.push(("vehicle-conflict", "8010", args));
        }
        None => skip(test, "../shared/ is absent: only the drawn night street is played"),
    }
    for (preset, seed, extra) in clips {
        let clip = dir.path().join(format!("{preset}-{seed}.mp4"));
        let clip = clip.to_str().unwrap();
        let mut args = vec!["synth", "clip", "--designs", "heldout", "--preset", preset, "--seed", seed];
        args.extend(extra.iter().map(String::as_str));
        args.extend(["--seconds", "20", "--out", clip]);
        let made = safecross(&args);
        assert_eq!(made.code, 0, "{}", made.stderr);
        let walk_in_changing = |config: &[&str]| {
            let run = safecross(&[&["eval", clip, "--json", "--model", model.to_str().unwrap()], config].concat());
            assert_eq!(run.code, 0, "{}", run.stderr);
            let report: Value = serde_json::from_str(run.stdout.trim()).unwrap();
            assert_eq!(report["overall"]["false_go_s"].as_f64(), Some(0.0), "{preset}-{seed}: {}", report["overall"]);
            report["overall"]["go_during_changing_max_s"].as_f64().unwrap()
        };
        let (with, without) = (walk_in_changing(&[]), walk_in_changing(&["--config", no_glow.to_str().unwrap()]));
        eprintln!("{preset}-{seed}: walk in a flashing phase {with:.2} s with the glow check, {without:.2} s without");
        assert!(with <= 0.6, "{preset}-{seed}: walk went on {with:.2} s into the flashing phase");
        assert!(without > with + 0.1, "{preset}-{seed}: the clip no longer needs the check ({without:.2} s without)");
    }
}

/// What `run --json` decided and said on a clip.
struct Story {
    /// Seconds of walk resting on a pedestrian head.
    pedestrian_walk_s: f64,
    /// Decisions whose state or basis differs from the one before.
    changes: usize,
    /// Spoken messages: media time and words.
    spoken: Vec<(f64, String)>,
}

fn story(clip: &str, model: &str) -> Story {
    let run = safecross(&["run", clip, "--fast", "--audio", "none", "--json", "--model", model]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let lines: Vec<Value> = run.stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let spoken = lines
        .iter()
        .filter(|l| l["event"] == "announce" && l["text"].as_str().is_some_and(|t| !t.is_empty()))
        .map(|l| (l["t_s"].as_f64().unwrap(), l["text"].as_str().unwrap().to_string()))
        .collect();
    let frames = run.json_frames();
    let mut story = Story { pedestrian_walk_s: 0.0, changes: 0, spoken };
    for pair in frames.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        if a["decision"] == "walk" && a["basis"] == "pedestrian" {
            story.pedestrian_walk_s += b["t"].as_f64().unwrap() - a["t"].as_f64().unwrap();
        }
        story.changes += usize::from(a["basis"] != b["basis"] || a["decision"] != b["decision"]);
    }
    story
}
