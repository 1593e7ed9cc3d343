//! H.264 decoding of 720p and 1080p frames (OpenH264, in-process), including the
//! conversion to RGB. The clips are encoded once, before measuring, from synthetic frames.

mod common;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use safecross::frame::Frame;
use safecross::source::FrameSource;
use safecross::source::mp4::Mp4Source;
use safecross::synth::video::Mp4VideoWriter;

fn bench(c: &mut Criterion) {
    // Under cargo's target/tmp, removed at the end (no temp-file crate: see tests/it/util.rs).
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("decode-video-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut group = c.benchmark_group("decode_video");
    for (w, h) in [(1280u32, 720u32), (1920, 1080)] {
        let path = dir.join(format!("clip-{h}.mp4"));
        let mut writer = Mp4VideoWriter::create(&path, w, h, 15.0, 2_000_000, 15).expect("encoder");
        let base = common::street_frame(w, h);
        for i in 0..30u32 {
            // Move a bright block so P-frames carry real motion.
            let mut f = base.clone();
            let x0 = (i * 20) as usize;
            for y in 100..160usize {
                for x in x0..x0 + 60 {
                    let p = (y * w as usize + x) * 3;
                    f.rgb[p..p + 3].copy_from_slice(&[250, 250, 250]);
                }
            }
            writer.write_frame(&f.rgb).expect("encode");
        }
        writer.finish().expect("finish");
        let mut source = Mp4Source::open(&path).expect("open");
        let mut frame = Frame::default();
        group.bench_function(BenchmarkId::new("h264-to-rgb", format!("{w}x{h}")), |b| {
            b.iter(|| {
                if !source.next_frame(&mut frame).expect("decode") {
                    source = Mp4Source::open(&path).expect("reopen");
                    source.next_frame(&mut frame).expect("decode");
                }
                frame.seq
            })
        });
    }
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, bench);
criterion_main!(benches);
