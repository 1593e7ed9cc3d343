//! One image, or a folder of images played as a clip at a fixed frame rate.

use super::{FrameSource, SourceError, SourceInfo};
use crate::frame::Frame;
use std::path::{Path, PathBuf};
use std::time::Duration;

const IMAGE_EXTENSIONS: [&str; 5] = ["png", "jpg", "jpeg", "bmp", "webp"];

/// Images read in natural order ("img2" before "img10").
#[derive(Debug)]
pub struct ImageSource {
    files: Vec<PathBuf>,
    next: usize,
    fps: f64,
    info: SourceInfo,
}

impl ImageSource {
    /// A single image, shown as one frame at time 0.
    ///
    /// # Errors
    /// [`SourceError`] when the image header cannot be read.
    pub fn single(path: &Path, fps: f64) -> Result<Self, SourceError> {
        Self::from_files(vec![path.to_path_buf()], fps, format!("image {}", path.display()), None)
    }

    /// Every image in a folder (not recursive), sorted naturally.
    ///
    /// # Errors
    /// [`SourceError::Io`] for an unreadable folder, [`SourceError::EmptyFolder`] when
    /// it holds no images.
    pub fn folder(dir: &Path, fps: f64) -> Result<Self, SourceError> {
        let entries = std::fs::read_dir(dir).map_err(|source| SourceError::Io { path: dir.to_path_buf(), source })?;
        let mut files = Vec::new();
        for entry in entries {
            let path = entry.map_err(|source| SourceError::Io { path: dir.to_path_buf(), source })?.path();
            let is_image = path
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()));
            if is_image && path.is_file() {
                files.push(path);
            }
        }
        if files.is_empty() {
            return Err(SourceError::EmptyFolder { path: dir.to_path_buf() });
        }
        files.sort_by(|a, b| natural_cmp(&a.to_string_lossy(), &b.to_string_lossy()));
        let description = format!("{} images in {} at {fps} fps", files.len(), dir.display());
        Self::from_files(files, fps, description, Some(dir))
    }

    fn from_files(
        files: Vec<PathBuf>,
        fps: f64,
        description: String,
        folder: Option<&Path>,
    ) -> Result<Self, SourceError> {
        let fps = if fps.is_finite() && fps > 0.0 { fps } else { 10.0 };
        // The size comes from the first image that can be read: in a folder, an
        // unreadable image is one lost frame (see `next_frame`), even the first.
        let mut first_error = None;
        let size = files
            .iter()
            .find_map(|f| image::image_dimensions(f).map_err(|e| first_error.get_or_insert(image_error(f, e))).ok());
        let (width, height) = match (size, first_error, folder) {
            (Some(size), _, _) => size,
            (None, Some(first), Some(dir)) if files.len() > 1 => {
                return Err(SourceError::NoReadableImages {
                    path: dir.to_path_buf(),
                    count: files.len(),
                    first: Box::new(first),
                });
            }
            (None, Some(first), _) => return Err(first),
            (None, None, _) => {
                return Err(SourceError::EmptyFolder { path: folder.unwrap_or(&files[0]).to_path_buf() });
            }
        };
        let duration_s = Some(files.len() as f64 / fps);
        Ok(Self { info: SourceInfo { description, width, height, fps, duration_s, live: false }, files, next: 0, fps })
    }

    /// The files in playing order.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }
}

fn image_error(path: &Path, e: image::ImageError) -> SourceError {
    match e {
        image::ImageError::IoError(source) => SourceError::Io { path: path.to_path_buf(), source },
        image::ImageError::Unsupported(u) => {
            SourceError::Unsupported { path: path.to_path_buf(), detail: u.to_string() }
        }
        image::ImageError::Limits(l) => {
            SourceError::TooLarge { path: path.to_path_buf(), detail: l.to_string(), limit_mb: IMAGE_LIMIT_MB }
        }
        other => SourceError::Corrupt { path: path.to_path_buf(), detail: other.to_string() },
    }
}

/// The `image` crate's default decoding limit (512 MiB), in MB for messages.
const IMAGE_LIMIT_MB: u64 = 512;

/// Reads any supported image file into `frame` as RGB8.
///
/// # Errors
/// [`SourceError`] naming the file.
pub fn load_image(path: &Path, frame: &mut Frame) -> Result<(), SourceError> {
    let img = image::ImageReader::open(path)
        .map_err(|source| SourceError::Io { path: path.to_path_buf(), source })?
        .with_guessed_format()
        .map_err(|source| SourceError::Io { path: path.to_path_buf(), source })?
        .decode()
        .map_err(|e| image_error(path, e))?
        .into_rgb8();
    frame.reshape(img.width(), img.height());
    frame.rgb.copy_from_slice(img.as_raw());
    Ok(())
}

impl FrameSource for ImageSource {
    fn info(&self) -> &SourceInfo {
        &self.info
    }

    fn next_frame(&mut self, frame: &mut Frame) -> Result<bool, SourceError> {
        let Some(path) = self.files.get(self.next) else { return Ok(false) };
        let (seq, pts) = (self.next as u64, Duration::from_secs_f64(self.next as f64 / self.fps));
        self.next += 1;
        match load_image(path, frame) {
            Ok(()) => {
                frame.pts = pts;
                frame.seq = seq;
                Ok(true)
            }
            // In a folder, one unreadable image is one lost frame, as a decoder glitch
            // would be in a video; a lone image is the whole source.
            Err(e) if self.files.len() > 1 => {
                Err(SourceError::BadFrame { seq, pts, path: path.clone(), source: Box::new(e) })
            }
            Err(e) => Err(e),
        }
    }

    fn skip_frame(&mut self, _scratch: &mut Frame) -> Result<Option<Duration>, SourceError> {
        let pts = self.peek_pts();
        if pts.is_some() {
            self.next += 1;
        }
        Ok(pts)
    }

    fn peek_pts(&self) -> Option<Duration> {
        (self.next < self.files.len()).then(|| Duration::from_secs_f64(self.next as f64 / self.fps))
    }
}

/// Orders strings so that digit runs compare by value: `f2.png < f10.png`.
pub fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
    loop {
        match (a.first(), b.first()) {
            (None, None) => return std::cmp::Ordering::Equal,
            (None, _) => return std::cmp::Ordering::Less,
            (_, None) => return std::cmp::Ordering::Greater,
            (Some(x), Some(y)) if x.is_ascii_digit() && y.is_ascii_digit() => {
                let da = a.iter().take_while(|c| c.is_ascii_digit()).count();
                let db = b.iter().take_while(|c| c.is_ascii_digit()).count();
                let (na, nb) = (trim_zeros(&a[..da]), trim_zeros(&b[..db]));
                let ord = na.len().cmp(&nb.len()).then_with(|| na.cmp(nb)).then_with(|| da.cmp(&db));
                if ord != std::cmp::Ordering::Equal {
                    return ord;
                }
                a = &a[da..];
                b = &b[db..];
            }
            (Some(x), Some(y)) => {
                if x != y {
                    return x.cmp(y);
                }
                a = &a[1..];
                b = &b[1..];
            }
        }
    }
}

fn trim_zeros(digits: &[u8]) -> &[u8] {
    let first = digits.iter().position(|&d| d != b'0').unwrap_or(digits.len());
    &digits[first..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_order() {
        let mut names = vec!["f10.png", "f2.png", "f1.png", "f02.png", "a.png"];
        names.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(names, ["a.png", "f1.png", "f2.png", "f02.png", "f10.png"]);
    }
}
