//! Opening and decoding an arbitrary file as MP4 must give frames or an error, never a
//! panic or a hang.
//!
//! Byte-level mutation of a real file almost never hits what breaks demuxers: a box
//! size of 0 deep inside `moov`, a timescale of 0, an entry count of 0xFFFFFFFF. So
//! half of the mutations here walk the box tree and change one box's size, one of its
//! 32-bit fields, cut the file inside it, or drop or double it (fixing the sizes of the
//! boxes around it); the other half are libFuzzer's own.
#![no_main]
use libfuzzer_sys::{fuzz_mutator, fuzz_target, fuzzer_mutate};
use safecross::frame::Frame;
use safecross::source::FrameSource;

fuzz_target!(|data: &[u8]| {
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

/// Boxes whose payload is a list of boxes, and how many bytes of fields come first.
fn children_at(name: &[u8]) -> Option<usize> {
    match name {
        b"moov" | b"trak" | b"mdia" | b"minf" | b"stbl" | b"dinf" | b"edts" | b"udta" | b"mvex" | b"moof" | b"traf" => {
            Some(0)
        }
        b"stsd" | b"dref" => Some(8),
        b"meta" => Some(4),
        b"avc1" | b"avc3" => Some(78),
        _ => None,
    }
}

/// A box found in the input: where it starts, its header length, its size, and the
/// index of the box that holds it.
#[derive(Clone, Copy)]
struct Found {
    start: usize,
    header: usize,
    size: usize,
    parent: Option<usize>,
}

/// Every box with a plain 32-bit size, depth first. Stops at anything malformed.
fn walk(data: &[u8], start: usize, end: usize, parent: Option<usize>, out: &mut Vec<Found>) {
    let mut at = start;
    while at + 8 <= end && out.len() < 4096 {
        let size = u32::from_be_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]]) as usize;
        if size < 8 || at + size > end {
            return;
        }
        let me = out.len();
        out.push(Found { start: at, header: 8, size, parent });
        if let Some(skip) = children_at(&data[at + 4..at + 8]) {
            walk(data, at + 8 + skip, at + size, Some(me), out);
        }
        at += size;
    }
}

/// Adds `delta` to the size field of `index` and of every box around it.
fn resize_ancestors(data: &mut [u8], boxes: &[Found], mut index: Option<usize>, delta: isize) {
    while let Some(i) = index {
        let b = boxes[i];
        let size = (b.size as isize + delta).max(0) as u32;
        data[b.start..b.start + 4].copy_from_slice(&size.to_be_bytes());
        index = b.parent;
    }
}

const INTERESTING: [u32; 9] = [0, 1, 2, 7, 8, 0x7fff_ffff, 0x8000_0000, 0xffff_fffe, 0xffff_ffff];

fuzz_mutator!(|data: &mut [u8], size: usize, max_size: usize, seed: u32| {
    let mut state = u64::from(seed) | 1;
    let mut next = move |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n.max(1) as u64) as usize
    };
    if next(2) == 0 {
        return fuzzer_mutate(data, size, max_size);
    }
    let mut boxes = Vec::new();
    walk(data, 0, size, None, &mut boxes);
    if boxes.is_empty() {
        return fuzzer_mutate(data, size, max_size);
    }
    let b = boxes[next(boxes.len())];
    let value = INTERESTING[next(INTERESTING.len())];
    match next(5) {
        // The box's own size.
        0 => {
            let value =
                if next(2) == 0 { value } else { (b.size as u32).wrapping_add(next(17) as u32).wrapping_sub(8) };
            data[b.start..b.start + 4].copy_from_slice(&value.to_be_bytes());
            size
        }
        // One 32-bit field of its payload: counts, timescales, sizes, offsets.
        1 => {
            let fields = (b.size - b.header) / 4;
            if fields == 0 {
                return size;
            }
            let at = b.start + b.header + 4 * next(fields);
            data[at..at + 4].copy_from_slice(&value.to_be_bytes());
            size
        }
        // Cut the file inside this box.
        2 => b.start + next(b.size),
        // Drop the box, shrinking the boxes around it.
        3 => {
            data.copy_within(b.start + b.size..size, b.start);
            resize_ancestors(data, &boxes, b.parent, -(b.size as isize));
            size - b.size
        }
        // Double the box, growing the boxes around it.
        _ => {
            if size + b.size > max_size {
                return size;
            }
            data.copy_within(b.start..size, b.start + b.size);
            resize_ancestors(data, &boxes, b.parent, b.size as isize);
            size + b.size
        }
    }
});
