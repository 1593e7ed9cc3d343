//! Decision and cues: signal selection plus the smoother per frame (with a typical
//! handful of detections), and rendering one second of cue audio.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use safecross::cue::{CueConfig, CueMode, CueRenderer};
use safecross::decide::{SelectConfig, Selector, Smoother, SmootherConfig};
use safecross::geom::BBox;
use safecross::signal::{Basis, Detection, SignalMeaning, SignalState};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("decide_cue");
    let detections = [
        Detection {
            class_id: 4,
            meaning: SignalMeaning::PedWalk,
            score: 0.85,
            bbox: BBox::new(900.0, 400.0, 930.0, 470.0),
            rival: None,
        },
        Detection {
            class_id: 0,
            meaning: SignalMeaning::VehicleRed,
            score: 0.7,
            bbox: BBox::new(300.0, 200.0, 330.0, 280.0),
            rival: None,
        },
        Detection {
            class_id: 2,
            meaning: SignalMeaning::VehicleGreen,
            score: 0.6,
            bbox: BBox::new(1500.0, 250.0, 1530.0, 330.0),
            rival: None,
        },
        Detection {
            class_id: 5,
            meaning: SignalMeaning::Off,
            score: 0.4,
            bbox: BBox::new(1200.0, 420.0, 1220.0, 460.0),
            rival: None,
        },
    ];
    let mut selector = Selector::new(SelectConfig::default());
    let mut smoother = Smoother::new(SmootherConfig::default());
    let mut t = 0.0f64;
    group.bench_function("select+smooth per frame (4 boxes)", |b| {
        b.iter(|| {
            t += 1.0 / 15.0;
            let obs = selector.select(t, black_box(&detections), 1920, 1080);
            black_box(smoother.update(t, &obs))
        })
    });
    for state in SignalState::ALL {
        let config = CueConfig { mode: CueMode::Tones, ..CueConfig::default() };
        let mut renderer = CueRenderer::new(&config, None);
        renderer.set(state, Basis::Pedestrian);
        let mut second = vec![0.0f32; config.sample_rate_hz as usize];
        group.bench_function(BenchmarkId::new("render 1 s of cue", state.as_str()), |b| {
            b.iter(|| {
                renderer.fill(&mut second);
                black_box(second[0])
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
