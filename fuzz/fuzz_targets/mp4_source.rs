//! Opening and decoding an arbitrary file as MP4 must give frames or an error, never a
//! panic or a hang.
#![no_main]
use safecross::frame::Frame;
use safecross::source::FrameSource;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let path = std::env::temp_dir().join(format!("safecross-fuzz-{}.mp4", std::process::id()));
    if std::fs::write(&path, data).is_err() {
        return;
    }
    if let Ok(mut source) = safecross::source::mp4::Mp4Source::open(&path) {
        let mut frame = Frame::default();
        for _ in 0..16 {
            match source.next_frame(&mut frame) {
                Ok(true) => {}
                _ => break,
            }
        }
    }
});
