//! Ground-truth timelines from arbitrary JSON: parsed and validated, or rejected.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(t) = serde_json::from_slice::<safecross::truth::Timeline>(data) {
        let _ = t.validate("fuzz.json");
    }
});
