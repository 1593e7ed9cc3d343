//! Real photos as the backgrounds of training stills: found in dataset folders, their
//! own lights read from the dataset's labels (by [`crate::yolo`]) and carried through a
//! random crop.

use super::StillLabel;
use crate::geom::BBox;
use crate::signal::{SHIPPED_CLASSES, SignalMeaning};
use crate::synth::SynthError;
use crate::synth::canvas::Canvas;
use crate::synth::rng::Rng;
use crate::yolo;
use fast_image_resize as fir;
use std::path::{Path, PathBuf};

/// A real photo and, when known, its labels.
#[derive(Debug, Clone, PartialEq)]
struct BackgroundItem {
    image: PathBuf,
    labels: Option<PathBuf>,
    /// Class names of its dataset, by id.
    names: Option<Vec<String>>,
}

impl BackgroundItem {
    /// Its labels with their class names, or `None` when it has no label file or its
    /// dataset names no classes.
    ///
    /// # Errors
    /// [`SynthError::Read`] for an unreadable label file, [`SynthError::Dataset`] for a
    /// bad line or a class id that `data.yaml` does not name.
    fn read_labels(&self) -> Result<Option<Vec<(yolo::Label, &str)>>, SynthError> {
        let (Some(path), Some(names)) = (&self.labels, &self.names) else { return Ok(None) };
        let text = std::fs::read_to_string(path).map_err(|source| SynthError::Read { path: path.clone(), source })?;
        let mut labels = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let bad = |message: String| SynthError::Dataset { path: path.clone(), line: i + 1, message };
            let Some(label) = yolo::parse_label_line(line).map_err(bad)? else { continue };
            let name = names.get(label.class_id as usize).ok_or_else(|| {
                bad(format!("class id {} has no name; data.yaml names {} classes", label.class_id, names.len()))
            })?;
            labels.push((label, name.as_str()));
        }
        Ok(Some(labels))
    }
}

/// The real photos found in the background folders, sorted so runs are reproducible.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Backgrounds {
    items: Vec<BackgroundItem>,
}

fn is_image(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "jpg" | "jpeg" | "png"))
}

/// The class names of the dataset that `images_dir` belongs to: `data.yaml` in it or a
/// parent; `None` when there is none.
///
/// # Errors
/// [`SynthError::Dataset`] when the `data.yaml` found has no readable names.
fn dataset_names(images_dir: &Path) -> Result<Option<Vec<String>>, SynthError> {
    let Some(yaml) = yolo::find_data_yaml(images_dir) else { return Ok(None) };
    let text = std::fs::read_to_string(&yaml).map_err(|source| SynthError::Read { path: yaml.clone(), source })?;
    yolo::parse_names(&text).map(Some).map_err(|(line, message)| SynthError::Dataset { path: yaml, line, message })
}

/// Our class id for a dataset class name; `None` for classes we drop (turn arrows).
/// Backgrounds keep their zebra crossings as `crosswalk`; the generator draws none.
pub fn shipped_id_for(name: &str) -> Option<usize> {
    let id = match SignalMeaning::from_class_name(name) {
        SignalMeaning::VehicleRed => 0,
        SignalMeaning::VehicleYellow => 1,
        SignalMeaning::VehicleGreen => 2,
        SignalMeaning::PedStop => 3,
        SignalMeaning::PedWalk => 4,
        SignalMeaning::Off => 5,
        SignalMeaning::Crosswalk => 6,
        _ => return None,
    };
    debug_assert!(id < SHIPPED_CLASSES.len());
    Some(id)
}

impl Backgrounds {
    /// Lists the photos in each folder (its `images/` subfolder when there is one).
    ///
    /// # Errors
    /// [`SynthError::Read`] when a folder cannot be listed, [`SynthError::NoBackgrounds`]
    /// when none holds an image.
    pub fn scan(dirs: &[PathBuf]) -> Result<Self, SynthError> {
        let mut items = Vec::new();
        for dir in dirs {
            let images_dir = if dir.join("images").is_dir() { dir.join("images") } else { dir.clone() };
            let entries = std::fs::read_dir(&images_dir)
                .map_err(|source| SynthError::Read { path: images_dir.clone(), source })?;
            let mut files: Vec<PathBuf> =
                entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| is_image(p)).collect();
            files.sort();
            let names = dataset_names(&images_dir)?;
            let labels_dir = images_dir.parent().map(|p| p.join("labels"));
            if names.is_none() {
                tracing::warn!("no class names for {}; its own lights stay unlabelled", images_dir.display());
            }
            for image in files {
                let labels = match (&labels_dir, image.file_stem(), &names) {
                    (Some(ld), Some(stem), Some(_)) => {
                        // Not `with_extension`: Roboflow stems contain dots (`a_jpg.rf.3f2.jpg`).
                        let mut name = stem.to_os_string();
                        name.push(".txt");
                        let p = ld.join(name);
                        p.is_file().then_some(p)
                    }
                    _ => None,
                };
                items.push(BackgroundItem { image, labels, names: names.clone() });
            }
        }
        if items.is_empty() && !dirs.is_empty() {
            let dirs = dirs.iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(", ");
            return Err(SynthError::NoBackgrounds { dirs });
        }
        Ok(Self { items })
    }

    /// Number of photos.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// A photo drawn at random, cropped square as [`crop_photo`] does; returns the canvas,
    /// the photo's own labels carried into it (output px) and whether they are complete
    /// (the photo has a label file).
    ///
    /// # Errors
    /// As [`crop_photo`] and [`BackgroundItem::read_labels`].
    pub(super) fn load_random(&self, size: u32, rng: &mut Rng) -> Result<(Canvas, Vec<StillLabel>, bool), SynthError> {
        let item = &self.items[rng.below(self.len())];
        let (canvas, crop) = crop_photo(item, size, size, rng)?;
        let labels = carry_labels(item, &crop, size, size)?;
        Ok((canvas, labels, item.labels.is_some()))
    }

    /// Keeps only the photos whose labels say they show no pedestrian head: a clip's
    /// truth follows the drawn head, and a real one in the photo would contradict it.
    /// A photo without labels could show one, so it goes too.
    ///
    /// # Errors
    /// [`SynthError::Read`] for an unreadable label file, [`SynthError::Dataset`] for a bad
    /// line or a class id that `data.yaml` does not name.
    pub fn without_pedestrian_heads(self) -> Result<Self, SynthError> {
        let mut items = Vec::with_capacity(self.items.len());
        for item in self.items {
            let Some(labels) = item.read_labels()? else { continue };
            let pedestrian = labels.iter().any(|(_, name)| {
                matches!(
                    SignalMeaning::from_class_name(name),
                    SignalMeaning::PedStop | SignalMeaning::PedWalk | SignalMeaning::Off
                )
            });
            if !pedestrian {
                items.push(item);
            }
        }
        Ok(Self { items })
    }

    /// Photo number `index` (modulo their number), cropped to the aspect of `width` x
    /// `height` as [`crop_photo`] does; `None` when there are none.
    ///
    /// # Errors
    /// As [`crop_photo`].
    pub fn load_cover(
        &self,
        index: usize,
        width: u32,
        height: u32,
        rng: &mut Rng,
    ) -> Result<Option<Canvas>, SynthError> {
        if self.is_empty() {
            return Ok(None);
        }
        crop_photo(&self.items[index % self.len()], width, height, rng).map(|(canvas, _)| Some(canvas))
    }
}

/// Where a crop of a photo lies, to carry the photo's labels into it.
struct Crop {
    photo_w: u32,
    photo_h: u32,
    left: f32,
    top: f32,
    /// Output px per photo px.
    scale: f32,
}

/// Loads a photo, crops a random part of the aspect `width` : `height` (65-100 % of the
/// largest that fits) and resizes it to `width` x `height`. Reads no labels: a clip's
/// cover needs none, and [`Backgrounds::without_pedestrian_heads`] has read them already.
fn crop_photo(item: &BackgroundItem, width: u32, height: u32, rng: &mut Rng) -> Result<(Canvas, Crop), SynthError> {
    let img = image::open(&item.image)
        .map_err(|e| SynthError::Image { path: item.image.clone(), detail: e.to_string() })?
        .to_rgb8();
    let (w, h) = img.dimensions();
    let aspect = width as f32 / height as f32;
    let crop_w = (w as f32).min(h as f32 * aspect) * rng.range(0.65, 1.0);
    let crop_h = crop_w / aspect;
    let left = rng.range(0.0, (w as f32 - crop_w).max(0.0));
    let top = rng.range(0.0, (h as f32 - crop_h).max(0.0));
    let src = fir::images::Image::from_vec_u8(w, h, img.into_raw(), fir::PixelType::U8x3)
        .map_err(|e| SynthError::Image { path: item.image.clone(), detail: e.to_string() })?;
    let mut dst = fir::images::Image::new(width, height, fir::PixelType::U8x3);
    let options = fir::ResizeOptions::new().resize_alg(fir::ResizeAlg::Convolution(fir::FilterType::Bilinear)).crop(
        left as f64,
        top as f64,
        crop_w as f64,
        crop_h as f64,
    );
    fir::Resizer::new()
        .resize(&src, &mut dst, &options)
        .map_err(|e| SynthError::Image { path: item.image.clone(), detail: e.to_string() })?;
    let canvas = Canvas::from_rgb8(width as usize, height as usize, dst.buffer());
    Ok((canvas, Crop { photo_w: w, photo_h: h, left, top, scale: width as f32 / crop_w }))
}

/// The photo's own labels moved into `crop` of output size `width` x `height` (output px).
///
/// # Errors
/// As [`BackgroundItem::read_labels`].
fn carry_labels(item: &BackgroundItem, crop: &Crop, width: u32, height: u32) -> Result<Vec<StillLabel>, SynthError> {
    let mut labels = Vec::new();
    let Some(carried) = item.read_labels()? else { return Ok(labels) };
    let k = crop.scale;
    for (label, name) in carried {
        // Classes we do not train (turn arrows) are dropped.
        let Some(id) = shipped_id_for(name) else { continue };
        let full = label.bbox_px(crop.photo_w, crop.photo_h);
        let moved = BBox::new(
            (full.x1 - crop.left) * k,
            (full.y1 - crop.top) * k,
            (full.x2 - crop.left) * k,
            (full.y2 - crop.top) * k,
        );
        let clipped = moved.clamp_to(width as f32, height as f32);
        // A light mostly cut off by the crop is no longer recognisable; keep it
        // out of the labels but still keep pasted heads away from it.
        if clipped.area() >= 0.5 * moved.area() && clipped.width() >= 1.5 && clipped.height() >= 1.5 {
            labels.push(StillLabel { class_id: id, bbox: clipped });
        } else if clipped.area() > 0.0 {
            labels.push(StillLabel { class_id: usize::MAX, bbox: clipped });
        }
    }
    Ok(labels)
}
