//! Inputs shared by the benches, synthesised once: street-like frames with a few lamps.
#![allow(dead_code)]

use safecross::frame::Frame;

/// A `width x height` frame: dark-to-light gradient with noise and three bright lamps.
pub fn street_frame(width: u32, height: u32) -> Frame {
    let mut frame = Frame::new(width, height);
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    for y in 0..height {
        for x in 0..width {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let noise = (state & 15) as u8;
            let base = (40 + (y * 120 / height)) as u8;
            let i = ((y * width + x) * 3) as usize;
            frame.rgb[i] = base.saturating_add(noise);
            frame.rgb[i + 1] = base.saturating_add(noise / 2);
            frame.rgb[i + 2] = base.saturating_add(20);
        }
    }
    for (cx, cy, colour) in [
        (width / 3, height / 3, [255, 40, 30]),
        (width / 2, height / 4, [40, 255, 90]),
        (2 * width / 3, height / 3, [255, 200, 0]),
    ] {
        let r = (width / 160).max(3) as i64;
        for dy in -r..=r {
            for dx in -r..=r {
                if dx * dx + dy * dy <= r * r {
                    let (x, y) = ((cx as i64 + dx) as u32, (cy as i64 + dy) as u32);
                    let i = ((y * width + x) * 3) as usize;
                    frame.rgb[i..i + 3].copy_from_slice(&colour);
                }
            }
        }
    }
    frame
}

/// The shipped model, when it is there.
pub fn shipped_model() -> Option<std::path::PathBuf> {
    let p = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/safecross-tl.onnx");
    p.exists().then_some(p)
}

/// `../shared/peers/`, when it is there.
pub fn peers_dir() -> Option<std::path::PathBuf> {
    let p = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/peers");
    p.is_dir().then_some(p)
}
