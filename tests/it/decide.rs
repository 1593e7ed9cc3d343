//! Property tests of the decide stage: the smoother's safety rules hold for any input,
//! and selection plus smoothing together follow a scene.

use proptest::prelude::*;
use safecross::decide::{Observation, SelectConfig, Selector, Smoother, SmootherConfig};
use safecross::geom::BBox;
use safecross::signal::{Basis, Detection, SignalMeaning, SignalState};

/// What the underlying signal shows, before sampling.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Scene {
    Walk,
    Stop,
    Off,
    Nothing,
    Yellow,
    WeakWalk,
    Conflict,
}

fn observe(scene: Scene) -> Observation {
    let (shows, confidence, conflict) = match scene {
        Scene::Walk => (Some(SignalMeaning::PedWalk), 0.9, false),
        Scene::Stop => (Some(SignalMeaning::PedStop), 0.9, false),
        Scene::Off => (Some(SignalMeaning::Off), 0.8, false),
        Scene::Nothing => (None, 0.0, false),
        Scene::Yellow => (Some(SignalMeaning::VehicleYellow), 0.9, false),
        Scene::WeakWalk => (Some(SignalMeaning::PedWalk), 0.3, false),
        Scene::Conflict => (Some(SignalMeaning::PedWalk), 0.9, true),
    };
    let basis = if shows.is_some() { Basis::Pedestrian } else { Basis::None };
    Observation { shows, confidence, basis, conflict, track_id: Some(7), ..Observation::default() }
}

fn any_scene() -> impl Strategy<Value = Scene> {
    prop_oneof![
        Just(Scene::Walk),
        Just(Scene::Stop),
        Just(Scene::Off),
        Just(Scene::Nothing),
        Just(Scene::Yellow),
        Just(Scene::WeakWalk),
        Just(Scene::Conflict),
    ]
}

fn not_walk_scene() -> impl Strategy<Value = Scene> {
    prop_oneof![
        Just(Scene::Stop),
        Just(Scene::Off),
        Just(Scene::Nothing),
        Just(Scene::Yellow),
        Just(Scene::WeakWalk),
        Just(Scene::Conflict),
    ]
}

/// Frame times from gaps in ms (10 ms .. 400 ms: 2.5 to 100 frames/s, jittery).
fn times(gaps_ms: &[u32]) -> Vec<f64> {
    let mut t = 0.0;
    gaps_ms
        .iter()
        .map(|g| {
            t += f64::from(*g) / 1000.0;
            t
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// No single frame of walk, among anything else, ever produces walk.
    #[test]
    fn no_single_frame_glitch_produces_walk(
        frames in prop::collection::vec((10u32..400, not_walk_scene()), 1..200),
        glitch_at in any::<prop::sample::Index>(),
    ) {
        let mut sm = Smoother::new(SmootherConfig::default());
        let ts = times(&frames.iter().map(|f| f.0).collect::<Vec<_>>());
        let g = glitch_at.index(frames.len());
        for (i, (t, (_, scene))) in ts.iter().zip(&frames).enumerate() {
            let scene = if i == g { Scene::Walk } else { *scene };
            let d = sm.update(*t, &observe(scene));
            prop_assert_ne!(d.state, SignalState::Walk, "walk at t = {} (frame {}, glitch at {})", t, i, g);
        }
    }

    /// Walk is never reported within `walk_after_stop_strong_s` (the shorter pause, for
    /// walk frames as sure as these) of the last stop, yellow or conflict evidence,
    /// whatever came before.
    #[test]
    fn walk_never_soon_after_dont_walk_evidence(
        frames in prop::collection::vec((10u32..400, any_scene()), 1..300),
    ) {
        let cfg = SmootherConfig::default();
        let n = cfg.walk_after_stop_strong_s;
        let mut sm = Smoother::new(cfg);
        let ts = times(&frames.iter().map(|f| f.0).collect::<Vec<_>>());
        let hold = sm.config().walk_hold_s;
        let mut last_stop: Option<f64> = None;
        let mut last_walk: Option<f64> = None;
        for (t, (_, scene)) in ts.iter().zip(&frames) {
            if matches!(scene, Scene::Stop | Scene::Yellow | Scene::Conflict) {
                last_stop = Some(*t);
            }
            if *scene == Scene::Walk {
                last_walk = Some(*t);
            }
            let d = sm.update(*t, &observe(*scene));
            if d.state == SignalState::Walk {
                if let Some(s) = last_stop {
                    prop_assert!(*t - s >= n, "walk at {} only {} s after stop evidence", t, t - s);
                }
                // Walk survives only brief missed detections, never a dark lamp.
                let clear = *scene == Scene::Walk
                    || (matches!(scene, Scene::Nothing | Scene::WeakWalk)
                        && last_walk.is_some_and(|w| *t - w <= hold));
                prop_assert!(clear, "walk reported at {} on a frame showing {:?}", t, scene);
            }
        }
    }

    /// Walk needs a clear walk lamp for `walk_enter_strong_s` (these walk frames are
    /// strong): any walk decision is preceded by that much uninterrupted walk evidence.
    #[test]
    fn walk_needs_sustained_evidence(
        frames in prop::collection::vec((10u32..400, any_scene()), 1..300),
    ) {
        let cfg = SmootherConfig::default();
        let enter = cfg.walk_enter_strong_s;
        let mut sm = Smoother::new(cfg);
        let ts = times(&frames.iter().map(|f| f.0).collect::<Vec<_>>());
        let mut was_walk = false;
        let mut run_start: Option<f64> = None;
        for (t, (_, scene)) in ts.iter().zip(&frames) {
            match scene {
                Scene::Walk => { run_start.get_or_insert(*t); }
                Scene::Nothing | Scene::WeakWalk => {}
                _ => run_start = None,
            }
            let d = sm.update(*t, &observe(*scene));
            let is_walk = d.state == SignalState::Walk;
            if is_walk && !was_walk {
                let start = run_start.unwrap_or(*t);
                prop_assert!(*t - start >= enter, "walk entered at {} after only {} s of walk lamp", t, t - start);
            }
            was_walk = is_walk;
        }
    }

    /// A stalled camera or model always reaches unknown within the timeout.
    #[test]
    fn stalled_input_reaches_unknown(
        frames in prop::collection::vec((10u32..400, any_scene()), 1..200),
        tick_ms in prop::collection::vec(1u32..300, 0..10),
    ) {
        let cfg = SmootherConfig::default();
        let timeout = cfg.stall_timeout_s;
        let mut sm = Smoother::new(cfg);
        let ts = times(&frames.iter().map(|f| f.0).collect::<Vec<_>>());
        for (t, (_, scene)) in ts.iter().zip(&frames) {
            sm.update(*t, &observe(*scene));
        }
        let last = *ts.last().unwrap_or(&0.0);
        // Ticks inside the timeout may or may not change the state...
        let mut t = last;
        for dt in tick_ms {
            t = (t + f64::from(dt) / 1000.0).min(last + timeout);
            sm.tick(t);
        }
        // ...but just past it, the state is unknown, and stays so.
        let d = sm.tick(last + timeout + 1e-6);
        prop_assert_eq!(d.state, SignalState::Unknown);
        prop_assert_eq!(d.basis, Basis::None);
        prop_assert_eq!(sm.tick(last + timeout + 5.0).state, SignalState::Unknown);
    }

    /// The same underlying signal sampled at 5 and at 30 frames/s gives the same
    /// decisions, except within one frame period of either decision changing.
    #[test]
    fn decisions_do_not_depend_on_frame_rate(
        segments in prop::collection::vec(
            (1500u32..5000, prop_oneof![Just(Scene::Walk), Just(Scene::Stop), Just(Scene::Off), Just(Scene::Nothing)]),
            1..8,
        ),
        phase_slow in 0.0f64..0.2,
        phase_fast in 0.0f64..(1.0 / 30.0),
    ) {
        let mut bounds = Vec::new();
        let mut t = 0.0;
        for (len, scene) in &segments {
            let end = t + f64::from(*len) / 1000.0;
            bounds.push((t, end, *scene));
            t = end;
        }
        let total = t;
        let scene_at = |t: f64| bounds.iter().find(|(a, b, _)| t >= *a && t < *b).map_or(Scene::Nothing, |s| s.2);
        let run = |fps: f64, phase: f64| {
            let mut sm = Smoother::new(SmootherConfig::default());
            let mut out = Vec::new();
            let mut k = 0;
            loop {
                let t = phase + k as f64 / fps;
                if t >= total { break; }
                out.push((t, sm.update(t, &observe(scene_at(t))).state));
                k += 1;
            }
            out
        };
        let slow = run(5.0, phase_slow);
        let fast = run(30.0, phase_fast);
        let at = |trace: &[(f64, SignalState)], t: f64| {
            trace.iter().take_while(|(ft, _)| *ft <= t).last().map_or(SignalState::Unknown, |x| x.1)
        };
        let changes = |trace: &[(f64, SignalState)]| {
            trace.windows(2).filter(|w| w[0].1 != w[1].1).map(|w| w[1].0).collect::<Vec<_>>()
        };
        let mut change_times = changes(&slow);
        change_times.extend(changes(&fast));
        // Each side quantises a change to its own frame grid.
        let tol = 0.2 + 1.0 / 30.0 + 1e-6;
        let mut t = 0.25;
        while t < total {
            let (a, b) = (at(&slow, t), at(&fast, t));
            if a != b {
                let near = change_times.iter().any(|c| (t - c).abs() <= tol);
                prop_assert!(near, "at t = {} 5 fps says {:?}, 30 fps says {:?}; segments {:?}", t, a, b, bounds);
            }
            t += 0.01;
        }
    }
}

fn det(meaning: SignalMeaning, score: f32, cx: f32) -> Detection {
    Detection { class_id: 0, meaning, score, bbox: BBox::from_center(cx, 120.0, 16.0, 36.0), rival: None }
}

/// Selector and smoother together: a walk head with a vehicle head beside it and
/// detector noise (missed frames, a flipped class now and then) give a steady walk,
/// and a spurious walk box during don't walk never gives walk.
#[test]
fn selection_and_smoothing_follow_a_noisy_scene() {
    let mut sel = Selector::new(SelectConfig::default());
    let mut sm = Smoother::new(SmootherConfig::default());
    let fps = 15.0;
    let mut states = Vec::new();
    for k in 0..(12.0 * fps) as usize {
        let t = k as f64 / fps;
        let ped = if t < 6.0 { SignalMeaning::PedStop } else { SignalMeaning::PedWalk };
        let mut dets = vec![det(SignalMeaning::VehicleGreen, 0.9, 500.0)];
        // Miss every 7th frame, flip the class every 23rd.
        if k % 7 != 3 {
            let m = if k % 23 == 5 {
                if ped == SignalMeaning::PedStop { SignalMeaning::PedWalk } else { SignalMeaning::PedStop }
            } else {
                ped
            };
            dets.push(det(m, 0.8, 320.0));
        }
        // A spurious walk box somewhere else for one frame.
        if k == 40 {
            dets.push(det(SignalMeaning::PedWalk, 0.99, 100.0));
        }
        let obs = sel.select(t, &dets, 640, 480);
        let d = sm.update(t, &obs);
        states.push((t, d.state, d.basis));
    }
    for (t, s, basis) in &states {
        if *t < 6.0 {
            assert_ne!(*s, SignalState::Walk, "walk at {t} while the pedestrian signal shows stop");
        }
        if *s != SignalState::Unknown {
            assert_eq!(*basis, Basis::Pedestrian, "the pedestrian head wins over the vehicle head at {t}");
        }
    }
    let at = |t: f64| states.iter().take_while(|x| x.0 <= t).last().map(|x| x.1);
    assert_eq!(at(5.0), Some(SignalState::DontWalk));
    // After the change, the flips (stop evidence) keep interrupting the walk entry,
    // so walk may come late, but the signal must reach walk at some point.
    assert!(states.iter().any(|(t, s, _)| *t > 6.0 && *s == SignalState::Walk), "walk never reached: {states:?}");
}
