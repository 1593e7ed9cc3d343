//! H.264 MP4 files, demuxed with `mp4parse` and decoded in-process by OpenH264.
//!
//! MP4 stores H.264 as length-prefixed NAL units with the parameter sets (SPS/PPS) in
//! the `avcC` box; OpenH264 wants an Annex-B byte stream. Each sample is rewritten
//! into a reused buffer with start codes, and the parameter sets are put in front of
//! every sync sample so decoding can start cleanly at any keyframe.
//! Presentation times come from the container (decode time + composition offset).
//!
//! # Why `mp4parse`
//!
//! A file given to `run` may be cut, damaged or hostile, and the demuxer must answer
//! with an error, never a hang or a panic (issue 15). The `mp4` crate (still used to
//! *write* clips in `synth`) trusts box sizes and header fields: a box of size 0 inside
//! `moov` loops forever at open, an `mdhd` timescale of 0 divides by zero, and a huge
//! `stts` count panics when samples are read. Guarding it would mean re-validating the
//! box tree ourselves before every call, plus `catch_unwind` around each one, and still
//! not covering its unchecked allocations. `mp4parse` (Mozilla's, the one Firefox
//! uses, fuzzed continuously) parses with checked arithmetic and fallible allocation
//! and rejects a zero timescale. Measured on this repository's files (issue 15):
//!
//! | file | `mp4` 0.14 | `mp4parse` 0.17 |
//! |---|---|---|
//! | `samples/*.mp4`, open + read every sample (best of 20) | 0.35-0.42 ms | 0.24-0.29 ms |
//! | same, sample count / last pts / timescale | identical | identical |
//! | `mvhd` size 0 | hangs | error |
//! | `dref` size 0 | hangs | plays (the box is not needed) |
//! | `mdhd` timescale 0 | panics | error |
//! | `stts` count 0xFFFFFFFF | panics | plays (the table only over-covers) |
//! | `stsc` samples-per-chunk 0xFFFFFFFF | plays 330 frames | error |
//! | `stco` / `stsz` count 0xFFFFFFFF, cut `moov`, cut `mdat` | error | error |
//!
//! What is still ours is small and bounded: finding `moov` among the top-level boxes
//! (so `mdat` is seeked over, not read), a cap on the frame count before the sample
//! table is built, the `avcC` split into parameter sets, and a bounds check on every
//! sample before it is read. `catch_unwind` stays around the parser as a last line.

use super::{FrameSource, SourceError, SourceInfo};
use crate::frame::Frame;
use mp4parse::{CodecType, SampleEntry, TrackType, VideoCodecSpecific};
use openh264::decoder::{DecodedYUV, Decoder};
use openh264::formats::YUVSource;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::Duration;

const START_CODE: [u8; 4] = [0, 0, 0, 1];
/// Ten hours at 60 fps; a track claiming more frames is a damaged or hostile header.
const MAX_SAMPLES: u64 = 2_160_000;
/// Largest `moov` read into memory. Ten hours at 60 fps needs about 20 MiB.
const MAX_MOOV_BYTES: u64 = 128 << 20;
/// Largest single frame read; an intra-coded 4K frame is a few MiB.
const MAX_SAMPLE_BYTES: u64 = 64 << 20;

/// One sample of the video track: where its bytes are and when it is shown.
#[derive(Debug, Clone, Copy)]
struct Sample {
    offset: u64,
    len: usize,
    pts: Duration,
    sync: bool,
}

/// The H.264 profile of a stream, from its `avcC` box (ISO 14496-10 annex A).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AvcProfile {
    /// `profile_idc`: 66 Baseline, 77 Main, 100 High, ...
    pub idc: u8,
    /// The constraint flags byte (`constraint_set0_flag` is the top bit).
    pub constraints: u8,
}

impl AvcProfile {
    /// Whether the built-in decoder (OpenH264) reads every stream of this profile:
    /// Constrained Baseline only (Baseline with `constraint_set1_flag`, or any stream
    /// flagged as decodable by a Constrained Baseline decoder). Main and High streams
    /// from phones and dashcams carry B-frames and CABAC, which it does not decode.
    pub fn built_in_decodes(self) -> bool {
        let constrained_baseline_compatible = self.constraints & 0x40 != 0;
        self.idc == 66 || constrained_baseline_compatible && matches!(self.idc, 77 | 88)
    }

    /// The profile's name, as ffprobe and encoders say it.
    pub fn name(self) -> String {
        match self.idc {
            66 if self.constraints & 0x40 != 0 => "Constrained Baseline".into(),
            66 => "Baseline".into(),
            77 => "Main".into(),
            88 => "Extended".into(),
            100 => "High".into(),
            110 => "High 10".into(),
            122 => "High 4:2:2".into(),
            244 => "High 4:4:4".into(),
            other => format!("profile {other}"),
        }
    }
}

/// An H.264 MP4 file.
pub struct Mp4Source {
    path: PathBuf,
    file: File,
    file_len: u64,
    /// Every sample in decode order, from the container's tables; their times let
    /// real-time pacing drop a stale frame before paying for its colour conversion.
    samples: Vec<Sample>,
    next_sample: usize,
    nal_length_size: usize,
    parameter_sets: Vec<u8>,
    sample: Vec<u8>,
    annexb: Vec<u8>,
    decoder: Decoder,
    info: SourceInfo,
    seq: u64,
    profile: AvcProfile,
}

impl std::fmt::Debug for Mp4Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mp4Source").field("path", &self.path).field("info", &self.info).finish_non_exhaustive()
    }
}

fn corrupt(path: &Path, detail: impl std::fmt::Display) -> SourceError {
    SourceError::Corrupt { path: path.to_path_buf(), detail: detail.to_string() }
}

/// `mp4parse`'s errors print as `Debug`; say what they mean for a damaged file.
fn parse_error(e: &mp4parse::Error) -> String {
    match e {
        mp4parse::Error::InvalidData(status) => format!("invalid MP4 header ({status:?})"),
        mp4parse::Error::Unsupported(what) => format!("unsupported MP4 header ({what})"),
        mp4parse::Error::UnexpectedEOF => "a box in the MP4 header ends early".into(),
        mp4parse::Error::MoovMissing => "no movie header (moov)".into(),
        mp4parse::Error::OutOfMemory => "a table in the MP4 header claims more entries than the file holds".into(),
        mp4parse::Error::Io(e) => e.to_string(),
    }
}

impl Mp4Source {
    /// Opens the file and its first H.264 video track.
    ///
    /// # Errors
    /// [`SourceError::Corrupt`] for a damaged, truncated or hostile file,
    /// [`SourceError::NoVideoTrack`] when there is no H.264 track.
    pub fn open(path: &Path) -> Result<Self, SourceError> {
        let io = |source| SourceError::Io { path: path.to_path_buf(), source };
        let mut file = File::open(path).map_err(io)?;
        let file_len = file.metadata().map_err(io)?.len();
        let moov = read_moov(&mut file, file_len).map_err(|detail| corrupt(path, detail))?;
        // mp4parse is fuzzed and uses checked arithmetic; a panic in a dependency must
        // still be an error here, not exit 101.
        let context = std::panic::catch_unwind(move || mp4parse::read_mp4(&mut std::io::Cursor::new(moov)))
            .map_err(|_| corrupt(path, "the MP4 header is invalid"))?
            .map_err(|e| corrupt(path, parse_error(&e)))?;
        let h264 = context.tracks.iter().find_map(|t| match first_description(t) {
            Some(SampleEntry::Video(v)) if v.codec_type == CodecType::H264 => match &v.codec_specific {
                VideoCodecSpecific::AVCConfig(avcc) => Some((t, v, avcc)),
                _ => None,
            },
            _ => None,
        });
        let Some((track, video, avcc)) = h264 else {
            let listed: Vec<String> = context.tracks.iter().map(describe_track).collect();
            let tracks = if listed.is_empty() { "none".to_string() } else { listed.join(", ") };
            return Err(SourceError::NoVideoTrack { path: path.to_path_buf(), tracks });
        };
        let (nal_length_size, parameter_sets) = split_avcc(avcc).map_err(|detail| corrupt(path, detail))?;
        // split_avcc has checked that the record is longer than its 5-byte header.
        let profile = AvcProfile { idc: avcc[1], constraints: avcc[2] };
        // mp4parse refuses a zero timescale; max(1) only keeps the division obviously safe.
        let timescale = track.timescale.map_or(0, |t| t.0).max(1);
        let samples = sample_table(track, timescale, file_len).map_err(|detail| corrupt(path, detail))?;
        let media_s = track.duration.map_or(0, |d| d.0) as f64 / timescale as f64;
        let duration_s =
            if media_s > 0.0 { media_s } else { samples.iter().map(|s| s.pts).max().unwrap_or_default().as_secs_f64() };
        let fps = if duration_s > 0.0 { samples.len() as f64 / duration_s } else { 0.0 };
        let (width, height) = (u32::from(video.width), u32::from(video.height));
        let decoder = Decoder::new().map_err(|e| corrupt(path, format!("cannot start the H.264 decoder: {e}")))?;
        let info = SourceInfo {
            description: format!("H.264 MP4 {} ({width}x{height}, {fps:.2} fps)", path.display()),
            width,
            height,
            fps,
            duration_s: Some(duration_s),
            live: false,
        };
        Ok(Self {
            path: path.to_path_buf(),
            file,
            file_len,
            samples,
            next_sample: 0,
            nal_length_size,
            parameter_sets,
            sample: Vec::new(),
            annexb: Vec::new(),
            decoder,
            info,
            seq: 0,
            profile,
        })
    }

    /// The stream's H.264 profile.
    pub fn profile(&self) -> AvcProfile {
        self.profile
    }

    /// Reads sample `index` into `self.sample`, after checking that it lies inside the file.
    fn read_sample(&mut self, index: usize) -> Result<Sample, SourceError> {
        let sample = self.samples[index];
        let frame = index + 1;
        if sample.offset.saturating_add(sample.len as u64) > self.file_len {
            return Err(corrupt(&self.path, format!("frame {frame} lies past the end of the file")));
        }
        self.sample.resize(sample.len, 0);
        self.file
            .seek(SeekFrom::Start(sample.offset))
            .and_then(|_| self.file.read_exact(&mut self.sample))
            .map_err(|e| corrupt(&self.path, format!("cannot read frame {frame}: {e}")))?;
        Ok(sample)
    }

    /// Rewrites `self.sample` into Annex-B in `self.annexb`.
    fn fill_annexb(&mut self, is_sync: bool, frame: usize) -> Result<(), SourceError> {
        self.annexb.clear();
        if is_sync {
            self.annexb.extend_from_slice(&self.parameter_sets);
        }
        let mut rest = &self.sample[..];
        while !rest.is_empty() {
            if rest.len() < self.nal_length_size {
                return Err(corrupt(&self.path, format!("frame {frame} ends inside a NAL length")));
            }
            let len = rest[..self.nal_length_size].iter().fold(0usize, |acc, &b| acc << 8 | usize::from(b));
            rest = &rest[self.nal_length_size..];
            if len > rest.len() {
                return Err(corrupt(&self.path, format!("frame {frame} has a NAL unit longer than the frame")));
            }
            self.annexb.extend_from_slice(&START_CODE);
            self.annexb.extend_from_slice(&rest[..len]);
            rest = &rest[len..];
        }
        Ok(())
    }

    /// Reads and decodes samples until one yields a picture; returns its pts.
    fn decode_next(&mut self, frame: Option<&mut Frame>) -> Result<Option<Duration>, SourceError> {
        while self.next_sample < self.samples.len() {
            let index = self.next_sample;
            let sample = self.read_sample(index)?;
            self.next_sample += 1;
            self.fill_annexb(sample.sync, index + 1)?;
            let profile = self.profile;
            let decoded = self.decoder.decode(&self.annexb).map_err(|e| {
                if profile.built_in_decodes() {
                    corrupt(&self.path, format!("H.264 decoding failed at frame {}: {e}", index + 1))
                } else {
                    // A valid file the built-in decoder cannot read: never call it damaged.
                    SourceError::Unsupported {
                        path: self.path.clone(),
                        detail: format!(
                            "H.264 {} profile, which the built-in decoder cannot read (it stopped at frame {}); \
                             install ffmpeg (apt-get install ffmpeg) to play it",
                            profile.name(),
                            index + 1
                        ),
                    }
                }
            })?;
            if let Some(yuv) = decoded {
                if let Some(frame) = frame {
                    write_frame(&yuv, frame)?;
                    frame.pts = sample.pts;
                    frame.seq = self.seq;
                }
                self.seq += 1;
                return Ok(Some(sample.pts));
            }
        }
        Ok(None)
    }
}

/// Finds the top-level `moov` box and reads it whole. Only box headers are read on the
/// way, so a large `mdat` in front costs one seek. Every step moves forward by at least
/// one header, so the walk ends on any input.
fn read_moov(file: &mut File, file_len: u64) -> Result<Vec<u8>, String> {
    let mut offset = 0u64;
    while offset < file_len {
        let mut header = [0u8; 16];
        let left = file_len - offset;
        if left < 8 {
            return Err(format!("{left} stray bytes after the last box"));
        }
        file.seek(SeekFrom::Start(offset))
            .and_then(|_| file.read_exact(&mut header[..8]))
            .map_err(|e| e.to_string())?;
        let name = String::from_utf8_lossy(&header[4..8]).into_owned();
        let (size, header_len) = match u32::from_be_bytes([header[0], header[1], header[2], header[3]]) {
            // Size 0: the box runs to the end of the file.
            0 => (left, 8),
            1 => {
                file.read_exact(&mut header[8..]).map_err(|e| e.to_string())?;
                let mut large = [0u8; 8];
                large.copy_from_slice(&header[8..]);
                (u64::from_be_bytes(large), 16)
            }
            size => (u64::from(size), 8),
        };
        if size < header_len {
            return Err(format!("box `{name}` at byte {offset} has size {size}, less than its header"));
        }
        if size > left {
            return Err(format!("box `{name}` at byte {offset} claims {size} bytes but only {left} are left"));
        }
        if &header[4..8] == b"moov" {
            if size > MAX_MOOV_BYTES {
                return Err(format!("the movie header is {size} bytes, more than {MAX_MOOV_BYTES}"));
            }
            let mut moov = Vec::new();
            moov.try_reserve_exact(size as usize).map_err(|e| e.to_string())?;
            moov.resize(size as usize, 0);
            file.seek(SeekFrom::Start(offset)).and_then(|_| file.read_exact(&mut moov)).map_err(|e| e.to_string())?;
            return Ok(moov);
        }
        offset += size;
    }
    Err("no movie header (moov)".into())
}

fn first_description(track: &mp4parse::Track) -> Option<&SampleEntry> {
    track.stsd.as_ref()?.descriptions.first()
}

/// `kind/codec` of a track, for the error that lists what the file holds.
fn describe_track(track: &mp4parse::Track) -> String {
    let kind = format!("{:?}", track.track_type).to_lowercase();
    let codec = match first_description(track) {
        Some(SampleEntry::Video(v)) => format!("{:?}", v.codec_type).to_lowercase(),
        Some(SampleEntry::Audio(a)) => format!("{:?}", a.codec_type).to_lowercase(),
        _ => "other".into(),
    };
    if track.track_type == TrackType::Unknown { format!("unknown/{codec}") } else { format!("{kind}/{codec}") }
}

/// NAL length size and the Annex-B parameter sets (every SPS, then every PPS) from the
/// body of an `avcC` box (ISO 14496-15 5.3.3.1).
fn split_avcc(avcc: &[u8]) -> Result<(usize, Vec<u8>), String> {
    let short = || "the avcC box is cut short".to_string();
    let nal_length_size = usize::from(avcc.get(4).ok_or_else(short)? & 3) + 1;
    let mut parameter_sets = Vec::new();
    let mut at = 5;
    for (kind, count_mask) in [("SPS", 0x1f), ("PPS", 0xff)] {
        let count = avcc.get(at).ok_or_else(short)? & count_mask;
        at += 1;
        if count == 0 {
            return Err(format!("no {kind}"));
        }
        for _ in 0..count {
            let len = usize::from(u16::from_be_bytes([
                *avcc.get(at).ok_or_else(short)?,
                *avcc.get(at + 1).ok_or_else(short)?,
            ]));
            let set = avcc.get(at + 2..at + 2 + len).ok_or_else(short)?;
            parameter_sets.extend_from_slice(&START_CODE);
            parameter_sets.extend_from_slice(set);
            at += 2 + len;
        }
    }
    Ok((nal_length_size, parameter_sets))
}

/// Every sample's place and presentation time, in decode order.
fn sample_table(track: &mp4parse::Track, timescale: u64, file_len: u64) -> Result<Vec<Sample>, String> {
    let (Some(stsc), Some(stco), Some(stsz)) = (&track.stsc, &track.stco, &track.stsz) else {
        return Err("the video track has no sample tables".into());
    };
    // mp4parse builds one entry per sample the tables claim. With per-sample sizes the
    // claim is bounded by the stsz list; with one constant size it is not, so bound it
    // here: no chunk holds more samples than the largest run says.
    let claimed = if stsz.sample_size == 0 {
        stsz.sample_sizes.len() as u64
    } else {
        let most_per_chunk = stsc.samples.iter().map(|s| u64::from(s.samples_per_chunk)).max().unwrap_or(0);
        most_per_chunk.saturating_mul(stco.offsets.len() as u64)
    };
    if claimed > MAX_SAMPLES {
        return Err(format!("the video track claims {claimed} frames, more than {MAX_SAMPLES}"));
    }
    let table = mp4parse::unstable::create_sample_table(track, 0.into())
        .ok_or_else(|| "the sample tables contradict each other".to_string())?;
    if table.is_empty() {
        return Err("the video track has no frames".into());
    }
    let mut samples = Vec::with_capacity(table.len());
    for (i, s) in table.iter().enumerate() {
        let len = s.end_offset.0.saturating_sub(s.start_offset.0);
        if len > MAX_SAMPLE_BYTES.min(file_len) {
            return Err(format!("frame {} claims {len} bytes", i + 1));
        }
        let ticks = s.start_composition.0.max(0) as u64;
        let pts = Duration::from_secs(ticks / timescale)
            + Duration::from_nanos(((ticks % timescale) as u128 * 1_000_000_000 / u128::from(timescale)) as u64);
        samples.push(Sample { offset: s.start_offset.0, len: len as usize, pts, sync: s.sync });
    }
    Ok(samples)
}

fn write_frame(yuv: &DecodedYUV<'_>, frame: &mut Frame) -> Result<(), SourceError> {
    let (w, h) = yuv.dimensions();
    frame.reshape(w as u32, h as u32);
    // write_rgb8 asserts the buffer size; reshape just made it exactly w*h*3.
    yuv.write_rgb8(&mut frame.rgb);
    Ok(())
}

impl FrameSource for Mp4Source {
    fn info(&self) -> &SourceInfo {
        &self.info
    }

    fn next_frame(&mut self, frame: &mut Frame) -> Result<bool, SourceError> {
        Ok(self.decode_next(Some(frame))?.is_some())
    }

    fn skip_frame(&mut self, _scratch: &mut Frame) -> Result<Option<Duration>, SourceError> {
        self.decode_next(None)
    }

    fn peek_pts(&self) -> Option<Duration> {
        self.samples.get(self.next_sample).map(|s| s.pts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peeked_times_match_the_decoded_frames() {
        let clip = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/us.mp4");
        let mut source = Mp4Source::open(&clip).expect("open the sample clip");
        let mut frame = Frame::new(0, 0);
        let mut frames = 0;
        loop {
            let peeked = source.peek_pts();
            if !source.next_frame(&mut frame).expect("decode") {
                assert_eq!(peeked, None, "nothing to peek at the end");
                break;
            }
            assert_eq!(peeked, Some(frame.pts), "frame {frames}");
            frames += 1;
        }
        assert_eq!(frames, 330);
        // 15 fps at a 90 kHz timescale: the last frame is shown at 21.933... s.
        assert_eq!(frame.pts, Duration::from_nanos(1_974_000 * 1_000_000_000 / 90_000));
        assert!((source.info().fps - 15.0).abs() < 0.01, "{}", source.info().fps);
    }

    #[test]
    fn avcc_gives_every_parameter_set_in_annexb() {
        // version 1, profile/compat/level, 4-byte lengths, 1 SPS of 2 bytes, 2 PPS of 1 byte.
        let avcc = [1, 66, 0, 30, 0xff, 0xe1, 0, 2, 0x67, 0xaa, 2, 0, 1, 0x68, 0, 1, 0x69];
        let sets = vec![0, 0, 0, 1, 0x67, 0xaa, 0, 0, 0, 1, 0x68, 0, 0, 0, 1, 0x69];
        assert_eq!(split_avcc(&avcc), Ok((4, sets)));
        for cut in 0..avcc.len() {
            assert!(split_avcc(&avcc[..cut]).is_err(), "cut at {cut}");
        }
        assert_eq!(split_avcc(&[1, 66, 0, 30, 0xff, 0xe0, 1, 0, 1, 0x68]), Err("no SPS".to_string()));
    }
}
