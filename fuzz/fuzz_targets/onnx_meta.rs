//! The ONNX summary reader must reject, never panic on, arbitrary bytes.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = safecross::infer::onnx_meta::parse(data);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = safecross::infer::onnx_meta::parse_names(text);
    }
});
