//! H.264 MP4 output: frames are encoded in-process by OpenH264 and muxed with the `mp4`
//! crate, one video track, constant frame duration.
//!
//! OpenH264 emits an Annex-B stream (start codes); MP4 wants length-prefixed NAL units
//! with SPS and PPS in the `avcC` box. The track is added after the first frame is
//! encoded, because only then are the parameter sets known. Presentation times are
//! `index * ticks_per_frame` on a 90 kHz clock, exact for 10, 15, 25, 30 and 60 fps.

use super::SynthError;
use openh264::OpenH264API;
use openh264::encoder::{BitRate, Encoder, EncoderConfig, FrameRate, IntraFramePeriod, RateControlMode};
use openh264::formats::{RgbSliceU8, YUVBuffer};
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

/// Clock of the video track, ticks per second.
pub const TIMESCALE: u32 = 90_000;

/// Writes RGB frames into an H.264 MP4 file.
pub struct Mp4VideoWriter {
    path: PathBuf,
    width: u32,
    height: u32,
    ticks_per_frame: u32,
    encoder: Encoder,
    yuv: YUVBuffer,
    mp4: Option<mp4::Mp4Writer<BufWriter<File>>>,
    file: Option<BufWriter<File>>,
    frames: u64,
    sample: Vec<u8>,
}

impl std::fmt::Debug for Mp4VideoWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mp4VideoWriter").field("path", &self.path).field("frames", &self.frames).finish_non_exhaustive()
    }
}

fn strip_start_code(nal: &[u8]) -> &[u8] {
    if nal.starts_with(&[0, 0, 0, 1]) {
        &nal[4..]
    } else if nal.starts_with(&[0, 0, 1]) {
        &nal[3..]
    } else {
        nal
    }
}

impl Mp4VideoWriter {
    /// Creates `path` for a `width` x `height` video (both even) at `fps` frames per
    /// second and about `bitrate_bps` bits per second, with a keyframe every `gop` frames.
    ///
    /// # Errors
    /// [`SynthError::Config`] for odd sizes or a bad rate, [`SynthError::Write`] when the
    /// file cannot be created, [`SynthError::Encode`] when the encoder does not start.
    pub fn create(
        path: &Path,
        width: u32,
        height: u32,
        fps: f64,
        bitrate_bps: u32,
        gop: u32,
    ) -> Result<Self, SynthError> {
        if !width.is_multiple_of(2) || !height.is_multiple_of(2) || width < 16 || height < 16 {
            return Err(SynthError::Config {
                field: "size",
                message: format!("must be even and at least 16, got {width}x{height}"),
            });
        }
        if !(fps.is_finite() && (1.0..=120.0).contains(&fps)) {
            return Err(SynthError::Config { field: "fps", message: format!("must be 1-120, got {fps}") });
        }
        let config = EncoderConfig::new()
            .bitrate(BitRate::from_bps(bitrate_bps))
            .max_frame_rate(FrameRate::from_hz(fps as f32))
            .rate_control_mode(RateControlMode::Bitrate)
            .skip_frames(false)
            .intra_frame_period(IntraFramePeriod::from_num_frames(gop.max(1)))
            .num_threads(1);
        let encoder = Encoder::with_api_config(OpenH264API::from_source(), config)
            .map_err(|e| SynthError::Encode(format!("cannot start H.264 encoder: {e}")))?;
        let file = File::create(path).map_err(|source| SynthError::Write { path: path.to_path_buf(), source })?;
        Ok(Self {
            path: path.to_path_buf(),
            width,
            height,
            ticks_per_frame: (f64::from(TIMESCALE) / fps).round() as u32,
            encoder,
            yuv: YUVBuffer::new(width as usize, height as usize),
            mp4: None,
            file: Some(BufWriter::new(file)),
            frames: 0,
            sample: Vec::new(),
        })
    }

    fn mux_err(&self, e: impl std::fmt::Display) -> SynthError {
        SynthError::Mux { path: self.path.clone(), detail: e.to_string() }
    }

    /// Encodes one packed RGB8 frame of the size given at creation.
    ///
    /// # Errors
    /// [`SynthError::Config`] for a wrong buffer size, [`SynthError::Encode`] or
    /// [`SynthError::Mux`] when encoding or writing fails.
    pub fn write_frame(&mut self, rgb: &[u8]) -> Result<(), SynthError> {
        let (w, h) = (self.width as usize, self.height as usize);
        if rgb.len() != w * h * 3 {
            return Err(SynthError::Config {
                field: "frame",
                message: format!("expected {} bytes, got {}", w * h * 3, rgb.len()),
            });
        }
        self.yuv.read_rgb8(RgbSliceU8::new(rgb, (w, h)));
        // OpenH264 sets itself up on the first frame and then prints a warning that
        // frame skipping is off (on purpose: every frame must be kept, the truth is
        // per frame); its log level can only be set after that.
        let first = self.frames == 0;
        let (encoder, yuv) = (&mut self.encoder, &self.yuv);
        let bitstream =
            stderr_silenced_if(first, || encoder.encode(yuv)).map_err(|e| SynthError::Encode(e.to_string()))?;
        let mut sps = None;
        let mut pps = None;
        let mut is_sync = false;
        self.sample.clear();
        for l in 0..bitstream.num_layers() {
            let Some(layer) = bitstream.layer(l) else { continue };
            for n in 0..layer.nal_count() {
                let Some(nal) = layer.nal_unit(n) else { continue };
                let nal = strip_start_code(nal);
                let Some(&head) = nal.first() else { continue };
                match head & 0x1F {
                    7 => sps = Some(nal.to_vec()),
                    8 => pps = Some(nal.to_vec()),
                    t => {
                        is_sync |= t == 5;
                        self.sample.extend_from_slice(&(nal.len() as u32).to_be_bytes());
                        self.sample.extend_from_slice(nal);
                    }
                }
            }
        }
        if self.sample.is_empty() {
            return Err(SynthError::Encode(format!("the encoder produced no picture for frame {}", self.frames)));
        }
        if self.mp4.is_none() {
            let (Some(sps), Some(pps)) = (sps, pps) else {
                return Err(SynthError::Encode("the first frame carries no SPS/PPS".into()));
            };
            let file = self.file.take().ok_or_else(|| self.mux_err("writer already finished"))?;
            let config = mp4::Mp4Config {
                major_brand: mp4::FourCC::from(*b"isom"),
                minor_version: 512,
                compatible_brands: vec![
                    mp4::FourCC::from(*b"isom"),
                    mp4::FourCC::from(*b"iso2"),
                    mp4::FourCC::from(*b"avc1"),
                    mp4::FourCC::from(*b"mp41"),
                ],
                timescale: 1000,
            };
            let mut writer = mp4::Mp4Writer::write_start(file, &config).map_err(|e| self.mux_err(e))?;
            let track = mp4::TrackConfig {
                track_type: mp4::TrackType::Video,
                timescale: TIMESCALE,
                language: "und".into(),
                media_conf: mp4::MediaConfig::AvcConfig(mp4::AvcConfig {
                    width: self.width as u16,
                    height: self.height as u16,
                    seq_param_set: sps,
                    pic_param_set: pps,
                }),
            };
            writer.add_track(&track).map_err(|e| self.mux_err(e))?;
            self.mp4 = Some(writer);
        }
        let sample = mp4::Mp4Sample {
            start_time: self.frames * u64::from(self.ticks_per_frame),
            duration: self.ticks_per_frame,
            rendering_offset: 0,
            is_sync,
            bytes: mp4::Bytes::copy_from_slice(&self.sample),
        };
        let path = self.path.clone();
        let writer =
            self.mp4.as_mut().ok_or_else(|| SynthError::Mux { path: path.clone(), detail: "no track".into() })?;
        writer.write_sample(1, &sample).map_err(|e| SynthError::Mux { path, detail: e.to_string() })?;
        self.frames += 1;
        Ok(())
    }

    /// Frames written so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Writes the index (`moov`) and closes the file.
    ///
    /// # Errors
    /// [`SynthError::Mux`] when nothing was written or the file cannot be finished.
    pub fn finish(mut self) -> Result<(), SynthError> {
        let mut writer = self.mp4.take().ok_or_else(|| self.mux_err("no frames were written"))?;
        writer.write_end().map_err(|e| self.mux_err(e))?;
        let mut file = writer.into_writer();
        std::io::Write::flush(&mut file).map_err(|source| SynthError::Write { path: self.path.clone(), source })?;
        Ok(())
    }
}

/// Runs `f`, with the process's stderr pointed at /dev/null while it runs when `quiet`.
/// A lock keeps two encoders starting at once from restoring each other's /dev/null.
/// Anything another thread writes to stderr in that moment is lost, so this is kept to
/// the one call that needs it.
#[cfg(unix)]
fn stderr_silenced_if<T>(quiet: bool, f: impl FnOnce() -> T) -> T {
    use std::os::fd::AsRawFd;
    static STDERR_SWAP: std::sync::Mutex<()> = std::sync::Mutex::new(());
    if !quiet {
        return f();
    }
    let Ok(null) = std::fs::OpenOptions::new().write(true).open("/dev/null") else { return f() };
    let _guard = STDERR_SWAP.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    // SAFETY: dup/dup2/close only on descriptor 2, on `null` (open for the whole call)
    // and on the duplicate made here, which is closed once; no memory is involved.
    let saved = unsafe { libc::dup(2) };
    if saved < 0 || unsafe { libc::dup2(null.as_raw_fd(), 2) } < 0 {
        if saved >= 0 {
            unsafe { libc::close(saved) };
        }
        return f();
    }
    let out = f();
    unsafe {
        libc::dup2(saved, 2);
        libc::close(saved);
    }
    out
}

#[cfg(not(unix))]
fn stderr_silenced_if<T>(_quiet: bool, f: impl FnOnce() -> T) -> T {
    f()
}
