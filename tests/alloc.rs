//! The hot path allocates nothing per frame once warm. This is its own test binary
//! because it installs a counting global allocator.
//!
//! Checked stage by stage on realistic inputs: preprocessing (1080p and 720p to 416, the
//! resizer keeps its weights and scratch rows between frames), output decoding with NMS,
//! signal selection and smoothing, cue rendering, taking a frame read ahead, and the
//! whole per-frame path of the pipeline with second looks (`FrameSteps`, fed stub model
//! outputs). Not checked here: the model call. ONNX Runtime and tract allocate inside
//! their own `run`, out of reach of any buffer reuse on our side, and the call would tie
//! this test to a model file.

use safecross::config::Config;
use safecross::cue::{CueConfig, CueMode, CueRenderer};
use safecross::decide::{SelectConfig, Selector, Smoother, SmootherConfig};
use safecross::decode::{ClassMap, DecodeConfig, Decoder, OutputLayout};
use safecross::frame::Frame;
use safecross::infer::ModelIo;
use safecross::pipeline::{FrameSteps, Step};
use safecross::preprocess::{Kernels, Preprocessor};
use safecross::signal::{Basis, SHIPPED_CLASSES, SignalState};
use safecross::source::prefetch::Prefetch;
use safecross::source::{FrameSource, SourceError, SourceInfo};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct Counting;

thread_local! {
    // Per thread, so that tests running in parallel do not count each other's
    // allocations. Only the read-ahead starts a thread, and it is checked from the
    // pipeline's side.
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

fn counted() {
    // `try_with`: the slot is gone while a thread is being torn down.
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        counted();
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        counted();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn count<R>(f: impl FnOnce() -> R) -> (R, u64) {
    let before = ALLOCATIONS.with(Cell::get);
    let r = f();
    (r, ALLOCATIONS.with(Cell::get) - before)
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
        let (checked, b) = count(|| decoder.decode(&output, &lb, &mut detections));
        checked.expect("the stub output holds probabilities");
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
    let names = ["preprocess", "decode+nms", "select+smooth", "cue render"];
    for (name, n) in names.iter().zip(&per_stage) {
        assert_eq!(*n, 0, "{name} allocated {n} times over 25 warm frames");
    }
}

/// A 640x384 model output (YOLOv8 layout, the shipped classes) holding one pedestrian
/// walk head at model px (320, 100), 6x12, with confidence `score`.
fn walk_head_output(score: f32) -> Vec<f32> {
    const ANCHORS: usize = 80 * 48 + 40 * 24 + 20 * 12;
    let classes = SHIPPED_CLASSES.len();
    let mut output = vec![0.0f32; (4 + classes) * ANCHORS];
    let anchor = 100 / 8 * 80 + 320 / 8;
    for (row, v) in [320.0, 100.0, 6.0, 12.0].into_iter().enumerate() {
        output[row * ANCHORS + anchor] = v;
    }
    let walk = SHIPPED_CLASSES.iter().position(|&c| c == "ped_walk").unwrap();
    output[(4 + walk) * ANCHORS + anchor] = score;
    output
}

#[test]
fn the_whole_frame_path_with_second_looks_does_not_allocate_once_warm() {
    const ANCHORS: usize = 80 * 48 + 40 * 24 + 20 * 12;
    let names = format!("{:?}", SHIPPED_CLASSES).replace('"', "'");
    let io = ModelIo {
        input_name: "images".into(),
        input_width: 640,
        input_height: 384,
        output_name: "output0".into(),
        output_shape: vec![1, 4 + SHIPPED_CLASSES.len(), ANCHORS],
        precision: Default::default(),
        end2end: false,
        metadata: [("names".to_string(), names)].into_iter().collect(),
    };
    let mut steps = FrameSteps::new(&Config::default(), &io, std::path::Path::new("stub.onnx")).unwrap();
    // 1080p: the full view shrinks it to a third, so a followed far head gets second looks.
    let mut frame = Frame::new(1920, 1080);
    for (i, v) in frame.rgb.iter_mut().enumerate() {
        *v = (i * 7 % 251) as u8;
    }
    // A sure reading, then an unsure one that sends the pipeline for a second look.
    let (sure, unsure) = (walk_head_output(0.9), walk_head_output(0.3));
    let (mut warm_allocations, mut warm_second_looks) = (0, 0);
    for i in 0..40u32 {
        frame.pts = std::time::Duration::from_secs_f64(f64::from(i) / 15.0);
        let (looks, n) = count(|| {
            let mut looks = 0;
            steps.begin(&frame).unwrap();
            let mut output = if i % 2 == 0 { &sure } else { &unsure };
            loop {
                looks += 1;
                match steps.resume(&frame, output, std::time::Duration::ZERO).unwrap() {
                    Step::Infer(_) => output = &sure,
                    Step::Decided(_) => return looks,
                }
            }
        });
        // The first frames size every buffer, the first second look its window's.
        if i >= 10 {
            warm_allocations += n;
            warm_second_looks += usize::from(looks == 2);
        }
    }
    assert!(warm_second_looks >= 10, "only {warm_second_looks} second looks: that path went unchecked");
    assert_eq!(warm_allocations, 0, "the frame path allocated {warm_allocations} times over 30 warm frames");
}

#[test]
fn preprocessing_does_not_allocate_once_warm() {
    for (w, h) in [(1920u32, 1080u32), (1280, 720)] {
        let mut frame = Frame::new(w, h);
        for (i, v) in frame.rgb.iter_mut().enumerate() {
            *v = (i * 13 % 251) as u8;
        }
        let mut pre = Preprocessor::new(416, 416, Kernels::Best);
        let mut tensor = pre.new_tensor();
        let (_, first) = count(|| pre.run(&frame, &mut tensor).unwrap());
        assert!(first > 0, "the first frame should have sized the buffers");
        let mut warm = 0;
        for i in 0..10u8 {
            frame.rgb[0] = i;
            warm += count(|| pre.run(&frame, &mut tensor).unwrap()).1;
        }
        assert_eq!(warm, 0, "{w}x{h} -> 416: preprocessing allocated {warm} times over 10 warm frames");
    }
}

/// A 720p source whose frames differ, filling the caller's buffer in place.
struct Gradient {
    info: SourceInfo,
    next: u64,
}

impl FrameSource for Gradient {
    fn info(&self) -> &SourceInfo {
        &self.info
    }

    fn next_frame(&mut self, frame: &mut Frame) -> Result<bool, SourceError> {
        frame.reshape(1280, 720);
        frame.rgb.fill(self.next as u8);
        frame.seq = self.next;
        self.next += 1;
        Ok(true)
    }
}

#[test]
fn reading_ahead_does_not_allocate_once_warm() {
    // The reader thread's allocations are its own (the counter is per thread); what the
    // pipeline thread pays per frame is the hand-over: a channel receive, a buffer swap
    // and the buffer's return.
    let info = SourceInfo {
        description: "gradient".into(),
        width: 1280,
        height: 720,
        fps: 30.0,
        duration_s: None,
        live: false,
    };
    let mut source = Prefetch::new(Gradient { info, next: 0 }).unwrap();
    let mut frame = Frame::default();
    for _ in 0..3 {
        assert!(source.next_frame(&mut frame).unwrap());
    }
    let mut warm = 0;
    for i in 3..40u64 {
        let (more, n) = count(|| source.next_frame(&mut frame).unwrap());
        assert!(more);
        assert_eq!((frame.seq, frame.rgb[12345]), (i, i as u8), "frames must arrive in order with their own pixels");
        warm += n;
    }
    assert_eq!(warm, 0, "taking a read-ahead frame allocated {warm} times over 37 warm frames");
}
