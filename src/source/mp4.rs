//! H.264 MP4 files, demuxed with the `mp4` crate and decoded in-process by OpenH264.
//!
//! MP4 stores H.264 as length-prefixed NAL units with the parameter sets (SPS/PPS) in
//! the `avcC` box; OpenH264 wants an Annex-B byte stream. Each sample is rewritten
//! into a reused buffer with start codes, and the parameter sets are put in front of
//! every sync sample so decoding can start cleanly at any keyframe.
//! Presentation times come from the container (decode time + composition offset).

use super::{FrameSource, SourceError, SourceInfo};
use crate::frame::Frame;
use openh264::decoder::{DecodedYUV, Decoder};
use openh264::formats::YUVSource;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::time::Duration;

const START_CODE: [u8; 4] = [0, 0, 0, 1];

/// An H.264 MP4 file.
pub struct Mp4Source {
    path: PathBuf,
    reader: ::mp4::Mp4Reader<BufReader<std::fs::File>>,
    track_id: u32,
    timescale: u32,
    sample_count: u32,
    next_sample: u32,
    /// Presentation time of every sample, from the container's time tables, so that
    /// real-time pacing can drop a stale frame before paying for its colour conversion.
    sample_pts: Vec<Duration>,
    nal_length_size: usize,
    parameter_sets: Vec<u8>,
    annexb: Vec<u8>,
    decoder: Decoder,
    info: SourceInfo,
    seq: u64,
}

impl std::fmt::Debug for Mp4Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mp4Source").field("path", &self.path).field("info", &self.info).finish_non_exhaustive()
    }
}

fn corrupt(path: &Path, detail: impl std::fmt::Display) -> SourceError {
    SourceError::Corrupt { path: path.to_path_buf(), detail: detail.to_string() }
}

impl Mp4Source {
    /// Opens the file and its first H.264 video track.
    ///
    /// # Errors
    /// [`SourceError::Corrupt`] for a damaged or truncated file, [`SourceError::NoVideoTrack`]
    /// when there is no H.264 track.
    pub fn open(path: &Path) -> Result<Self, SourceError> {
        let file = std::fs::File::open(path).map_err(|source| SourceError::Io { path: path.to_path_buf(), source })?;
        let size = file.metadata().map_err(|source| SourceError::Io { path: path.to_path_buf(), source })?.len();
        // The demuxer trusts box sizes; a hostile or cut file must not take the process down.
        let reader = std::panic::catch_unwind(move || ::mp4::Mp4Reader::read_header(BufReader::new(file), size))
            .map_err(|_| corrupt(path, "the MP4 structure is invalid"))?
            .map_err(|e| corrupt(path, e))?;
        let mut tracks: Vec<_> = reader.tracks().values().collect();
        tracks.sort_by_key(|t| t.track_id());
        let h264 = tracks.iter().find(|t| matches!(t.media_type(), Ok(::mp4::MediaType::H264)));
        let Some(track) = h264 else {
            let listed: Vec<String> = tracks
                .iter()
                .map(|t| {
                    let kind =
                        t.track_type().map(|k| k.to_string().to_lowercase()).unwrap_or_else(|_| "unknown".into());
                    let codec = t.box_type().map(|b| b.to_string()).unwrap_or_else(|_| "?".into());
                    format!("{kind}/{codec}")
                })
                .collect();
            let tracks = if listed.is_empty() { "none".to_string() } else { listed.join(", ") };
            return Err(SourceError::NoVideoTrack { path: path.to_path_buf(), tracks });
        };
        let track_id = track.track_id();
        let timescale = track.timescale().max(1);
        let sample_count = track.sample_count();
        let (width, height, fps) = (u32::from(track.width()), u32::from(track.height()), track.frame_rate());
        let duration_s = track.duration().as_secs_f64();
        let sps = track.sequence_parameter_set().map_err(|e| corrupt(path, format!("no SPS: {e}")))?;
        let pps = track.picture_parameter_set().map_err(|e| corrupt(path, format!("no PPS: {e}")))?;
        let mut parameter_sets = Vec::with_capacity(sps.len() + pps.len() + 8);
        for ps in [sps, pps] {
            parameter_sets.extend_from_slice(&START_CODE);
            parameter_sets.extend_from_slice(ps);
        }
        let nal_length_size = track
            .trak
            .mdia
            .minf
            .stbl
            .stsd
            .avc1
            .as_ref()
            .map_or(4, |avc1| usize::from(avc1.avcc.length_size_minus_one & 3) + 1);
        if sample_count == 0 {
            return Err(corrupt(path, "the video track has no frames"));
        }
        let stbl = &track.trak.mdia.minf.stbl;
        let sample_pts = presentation_times(
            stbl.stts.entries.iter().map(|e| (e.sample_count, e.sample_delta)),
            stbl.ctts.iter().flat_map(|c| c.entries.iter()).map(|e| (e.sample_count, e.sample_offset)),
            sample_count,
            timescale,
        );
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
            reader,
            track_id,
            timescale,
            sample_count,
            next_sample: 1,
            sample_pts,
            nal_length_size,
            parameter_sets,
            annexb: Vec::new(),
            decoder,
            info,
            seq: 0,
        })
    }

    /// Rewrites one sample into Annex-B in `self.annexb`.
    fn to_annexb(&mut self, sample: &[u8], is_sync: bool) -> Result<(), SourceError> {
        self.annexb.clear();
        if is_sync {
            self.annexb.extend_from_slice(&self.parameter_sets);
        }
        let mut rest = sample;
        while !rest.is_empty() {
            if rest.len() < self.nal_length_size {
                return Err(corrupt(&self.path, format!("sample {} ends inside a NAL length", self.next_sample)));
            }
            let len = rest[..self.nal_length_size].iter().fold(0usize, |acc, &b| acc << 8 | usize::from(b));
            rest = &rest[self.nal_length_size..];
            if len > rest.len() {
                return Err(corrupt(
                    &self.path,
                    format!("sample {} has a NAL unit longer than the sample", self.next_sample),
                ));
            }
            self.annexb.extend_from_slice(&START_CODE);
            self.annexb.extend_from_slice(&rest[..len]);
            rest = &rest[len..];
        }
        Ok(())
    }

    /// Reads and decodes samples until one yields a picture; returns its pts.
    fn decode_next(&mut self, frame: Option<&mut Frame>) -> Result<Option<Duration>, SourceError> {
        while self.next_sample <= self.sample_count {
            let sample_id = self.next_sample;
            let sample = self
                .reader
                .read_sample(self.track_id, sample_id)
                .map_err(|e| corrupt(&self.path, format!("cannot read frame {sample_id}: {e}")))?
                .ok_or_else(|| corrupt(&self.path, format!("frame {sample_id} is missing")))?;
            self.next_sample += 1;
            let ticks = (sample.start_time as i64 + i64::from(sample.rendering_offset)).max(0) as u64;
            let pts = Duration::from_secs_f64(ticks as f64 / f64::from(self.timescale));
            self.to_annexb(&sample.bytes, sample.is_sync)?;
            let decoded = self
                .decoder
                .decode(&self.annexb)
                .map_err(|e| corrupt(&self.path, format!("H.264 decoding failed at frame {sample_id}: {e}")))?;
            if let Some(yuv) = decoded {
                if let Some(frame) = frame {
                    write_frame(&yuv, frame)?;
                    frame.pts = pts;
                    frame.seq = self.seq;
                }
                self.seq += 1;
                return Ok(Some(pts));
            }
        }
        Ok(None)
    }
}

/// Decode time plus composition offset for each sample, as `decode_next` computes it
/// from each sample. Empty when the tables do not cover every sample (or claim more
/// samples than any real clip has); pacing then decodes before deciding.
/// `durations` are the `stts` runs (count, delta); `offsets` the `ctts` runs (count, offset).
fn presentation_times(
    durations: impl Iterator<Item = (u32, u32)>,
    offsets: impl Iterator<Item = (u32, i32)>,
    sample_count: u32,
    timescale: u32,
) -> Vec<Duration> {
    // Ten hours at 60 fps; a larger count is a damaged or hostile header.
    const MAX_SAMPLES: u32 = 2_160_000;
    if sample_count > MAX_SAMPLES {
        return Vec::new();
    }
    let n = sample_count as usize;
    let mut pts = Vec::with_capacity(n);
    let mut offsets = offsets.flat_map(|(count, offset)| std::iter::repeat_n(offset, count as usize));
    let mut decode_time: u64 = 0;
    'table: for (count, delta) in durations {
        for _ in 0..count {
            if pts.len() == n {
                break 'table;
            }
            let ticks = (decode_time as i64 + i64::from(offsets.next().unwrap_or(0))).max(0) as u64;
            pts.push(Duration::from_secs_f64(ticks as f64 / f64::from(timescale)));
            decode_time = decode_time.saturating_add(u64::from(delta));
        }
    }
    if pts.len() == n { pts } else { Vec::new() }
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
        self.sample_pts.get(self.next_sample.checked_sub(1)? as usize).copied()
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
        assert!(frames > 100, "decoded only {frames} frames");
    }

    #[test]
    fn time_tables_that_do_not_cover_every_sample_give_no_times() {
        assert!(presentation_times([(2, 10)].into_iter(), std::iter::empty(), 3, 10).is_empty());
        let pts = presentation_times([(3, 10)].into_iter(), [(3, 5)].into_iter(), 3, 10);
        assert_eq!(pts, [0.5, 1.5, 2.5].map(Duration::from_secs_f64));
    }
}
