//! Live camera capture through nokhwa (cargo feature `camera`).
//!
//! Frames are stamped with the time since the stream opened. A camera delivers frames
//! at its own pace, so a slow pipeline simply reads fewer of them: nothing queues.

#[cfg(feature = "camera")]
use super::{FrameSource, SourceInfo};
use super::{SourceConfig, SourceError};
#[cfg(feature = "camera")]
use crate::frame::Frame;

#[cfg(not(feature = "camera"))]
/// Camera support is not compiled in.
///
/// # Errors
/// Always [`SourceError::Camera`], saying how to build with it.
pub fn open(_index: u32, _config: &SourceConfig) -> Result<Box<dyn super::FrameSource>, SourceError> {
    Err(SourceError::Camera(
        "this build has no camera support; rebuild with `--features camera` (needs libclang-dev)".into(),
    ))
}

/// Lists the cameras the system reports, as `index: name` strings.
///
/// # Errors
/// [`SourceError::Camera`] when the camera API cannot be queried.
#[cfg(feature = "camera")]
pub fn list() -> Result<Vec<String>, SourceError> {
    let cameras = nokhwa::query(nokhwa::utils::ApiBackend::Auto)
        .map_err(|e| SourceError::Camera(format!("cannot list cameras: {e}")))?;
    Ok(cameras.iter().map(|c| format!("{}: {}", c.index(), c.human_name())).collect())
}

/// Opens camera `index` at the configured resolution and frame rate (or the closest
/// the device offers).
///
/// # Errors
/// [`SourceError::Camera`] naming the cameras that were found when this one cannot be opened.
#[cfg(feature = "camera")]
pub fn open(index: u32, config: &SourceConfig) -> Result<Box<dyn FrameSource>, SourceError> {
    use nokhwa::pixel_format::RgbFormat;
    use nokhwa::utils::{CameraFormat, CameraIndex, FrameFormat, RequestedFormat, RequestedFormatType, Resolution};
    let found = list().unwrap_or_default();
    let found_text = if found.is_empty() {
        "no cameras were found".to_string()
    } else {
        format!("cameras found: {}", found.join("; "))
    };
    let (w, h) = config.camera_resolution;
    let wanted = CameraFormat::new(Resolution::new(w, h), FrameFormat::YUYV, config.camera_fps);
    let format = RequestedFormat::new::<RgbFormat>(RequestedFormatType::Closest(wanted));
    let mut camera = nokhwa::Camera::new(CameraIndex::Index(index), format)
        .map_err(|e| SourceError::Camera(format!("cannot open camera {index} ({e}); {found_text}")))?;
    camera
        .open_stream()
        .map_err(|e| SourceError::Camera(format!("cannot start camera {index} ({e}); {found_text}")))?;
    let actual = camera.camera_format();
    let info = SourceInfo {
        description: format!(
            "camera {index} ({}, {}x{} at {} fps)",
            camera.info().human_name(),
            actual.width(),
            actual.height(),
            actual.frame_rate()
        ),
        width: actual.width(),
        height: actual.height(),
        fps: f64::from(actual.frame_rate()),
        duration_s: None,
        live: true,
    };
    Ok(Box::new(CameraSource { camera, info, started: std::time::Instant::now(), seq: 0, index }))
}

/// An open camera stream.
#[cfg(feature = "camera")]
pub struct CameraSource {
    camera: nokhwa::Camera,
    info: SourceInfo,
    started: std::time::Instant,
    seq: u64,
    index: u32,
}

// SAFETY: the camera handle is only used from the thread that owns the source; nokhwa
// marks it !Send because some platform backends are thread-bound, which V4L2 is not.
#[cfg(feature = "camera")]
unsafe impl Send for CameraSource {}

#[cfg(feature = "camera")]
impl FrameSource for CameraSource {
    fn info(&self) -> &SourceInfo {
        &self.info
    }

    fn next_frame(&mut self, frame: &mut Frame) -> Result<bool, SourceError> {
        use nokhwa::pixel_format::RgbFormat;
        let buffer = self.camera.frame().map_err(|e| {
            SourceError::Camera(format!("camera {} stopped delivering frames ({e}); is it unplugged?", self.index))
        })?;
        let res = buffer.resolution();
        frame.reshape(res.width(), res.height());
        if buffer.source_frame_format() == nokhwa::utils::FrameFormat::MJPEG {
            let img = image::load_from_memory_with_format(buffer.buffer(), image::ImageFormat::Jpeg)
                .map_err(|e| SourceError::Camera(format!("bad MJPEG frame: {e}")))?
                .into_rgb8();
            frame.reshape(img.width(), img.height());
            frame.rgb.copy_from_slice(img.as_raw());
        } else {
            buffer
                .decode_image_to_buffer::<RgbFormat>(&mut frame.rgb)
                .map_err(|e| SourceError::Camera(format!("cannot convert camera frame: {e}")))?;
        }
        frame.pts = self.started.elapsed();
        frame.seq = self.seq;
        self.seq += 1;
        Ok(true)
    }
}
