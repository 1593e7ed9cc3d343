//! The hot path allocates nothing per frame once warm. This is its own test binary
//! because it installs a counting global allocator.
//!
//! Checked stage by stage on realistic inputs: output decoding with NMS, signal
//! selection and smoothing, and cue rendering. Not yet zero, and so not asserted here:
//! preprocessing (fast_image_resize rebuilds its filter coefficients, one small vector
//! per output row and column, on every call; a resizer with cached coefficients is the
//! planned fix) and the model call (ONNX Runtime and tract allocate inside `run`). The
//! test prints both counts so the gap stays visible.

use safecross::cue::{CueConfig, CueMode, CueRenderer};
use safecross::decide::{SelectConfig, Selector, Smoother, SmootherConfig};
use safecross::decode::{ClassMap, DecodeConfig, Decoder, OutputLayout};
use safecross::frame::Frame;
use safecross::preprocess::{Kernels, Preprocessor};
use safecross::signal::{Basis, SignalState, SHIPPED_CLASSES};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};

struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn count<R>(f: impl FnOnce() -> R) -> (R, u64) {
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    let r = f();
    (r, ALLOCATIONS.load(Ordering::Relaxed) - before)
}

#[test]
fn hot_path_stages_do_not_allocate_once_warm() {
    let mut frame = Frame::new(1920, 1080);
    for (i, v) in frame.rgb.iter_mut().enumerate() {
        *v = (i * 7 % 251) as u8;
    }
    let mut pre = Preprocessor::new(416, 416, Kernels::Best);
    let mut tensor = pre.new_tensor();

    const ANCHORS: usize = 52 * 52 + 26 * 26 + 13 * 13;
    let classes = SHIPPED_CLASSES.len();
    let mut output = vec![0.0f32; (4 + classes) * ANCHORS];
    for k in 0..40usize {
        let a = k * 83 % ANCHORS;
        for (row, v) in [(k * 37 % 400) as f32 + 8.0, (k * 53 % 400) as f32 + 8.0, 12.0, 30.0].into_iter().enumerate() {
            output[row * ANCHORS + a] = v;
        }
        output[(4 + k % classes) * ANCHORS + a] = 0.4 + (k % 5) as f32 * 0.1;
    }
    let names = SHIPPED_CLASSES.iter().map(|s| s.to_string()).collect();
    let mut decoder = Decoder::new(
        OutputLayout::YoloV8 { classes, anchors: ANCHORS },
        ClassMap::new(names, &Default::default()),
        DecodeConfig::default(),
    )
    .unwrap();
    let mut detections = Vec::new();
    let mut selector = Selector::new(SelectConfig::default());
    let mut smoother = Smoother::new(SmootherConfig::default());
    let mut renderer = CueRenderer::new(&CueConfig { mode: CueMode::Tones, ..CueConfig::default() }, None);
    let mut audio = vec![0.0f32; 4800];

    let mut per_stage = [0u64; 4];
    for i in 0..30 {
        let t = f64::from(i) / 15.0;
        let (lb, a) = count(|| pre.run(&frame, &mut tensor).unwrap());
        let ((), b) = count(|| decoder.decode(&output, &lb, &mut detections));
        let (decision, c) = count(|| {
            let obs = selector.select(t, &detections, frame.width, frame.height);
            smoother.update(t, &obs)
        });
        let ((), d) = count(|| {
            let state = if i % 20 < 10 { SignalState::DontWalk } else { decision.state };
            renderer.set(state, Basis::Pedestrian);
            renderer.fill(&mut audio);
        });
        // The first frames size every buffer; from then on nothing may allocate.
        if i >= 5 {
            for (total, n) in per_stage.iter_mut().zip([a, b, c, d]) {
                *total += n;
            }
        }
    }
    assert!(!detections.is_empty(), "the decoder should have found the planted boxes");
    eprintln!("allocations over 25 warm frames: preprocess {} (known gap, see the module docs)", per_stage[0]);
    let names = ["decode+nms", "select+smooth", "cue render"];
    for (name, n) in names.iter().zip(&per_stage[1..]) {
        assert_eq!(*n, 0, "{name} allocated {n} times over 25 warm frames");
    }
}
