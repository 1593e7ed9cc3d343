//! YOLO-format datasets: a folder with `images/` and `labels/`, class names in a
//! `data.yaml` in that folder or one of its parents.
//!
//! Label lines are boxes (`cls cx cy w h`) or polygons (`cls x1 y1 x2 y2 ...`, at least
//! three points), all normalized to `[0, 1]`; polygons are reduced to their bounding box.
//! Boxes are converted to source px with the image size, read from the file header only.
//! Class names become [`SignalMeaning`]s through [`SignalMeaning::for_class_names`], the
//! same mapping models get, so evaluation compares meanings, never class ids.
//!
//! An image without a label file is an image with no lights (that is how YOLO tools
//! write negatives); it is kept and counted in [`Dataset::unlabelled_images`].
//!
//! `data.yaml` and the label lines are read by [`crate::yolo`], which the training
//! stills' backgrounds share.

use super::EvalError;
use crate::geom::BBox;
use crate::signal::SignalMeaning;
use crate::yolo;
use std::path::{Path, PathBuf};

/// Image file extensions that are read (those the `image` crate is built with).
const IMAGE_EXTENSIONS: [&str; 3] = ["jpg", "jpeg", "png"];

/// One labelled light.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GtBox {
    /// Class id in the dataset's own names.
    pub class_id: u32,
    /// What the class means.
    pub meaning: SignalMeaning,
    /// Box in source px.
    pub bbox: BBox,
}

/// One image of a dataset with its labels.
#[derive(Debug, Clone, PartialEq)]
pub struct DatasetImage {
    /// Path of the image file.
    pub path: PathBuf,
    /// Width in px, from the header.
    pub width: u32,
    /// Height in px, from the header.
    pub height: u32,
    /// Labelled lights; empty for a negative image.
    pub boxes: Vec<GtBox>,
    /// The label file, `None` when the image has none (counted as no lights).
    pub label_path: Option<PathBuf>,
}

/// A YOLO dataset split, loaded and validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// The folder holding `images/` and `labels/`.
    pub root: PathBuf,
    /// The `data.yaml` the class names came from.
    pub yaml_path: PathBuf,
    /// Class names in id order.
    pub class_names: Vec<String>,
    /// Meaning of each class, in id order.
    pub meanings: Vec<SignalMeaning>,
    /// Images sorted by file name.
    pub images: Vec<DatasetImage>,
}

impl Dataset {
    /// Whether `dir` looks like a YOLO dataset split (has an `images/` folder).
    pub fn looks_like(dir: &Path) -> bool {
        dir.join("images").is_dir()
    }

    /// Loads the dataset in `dir`: finds `data.yaml`, lists `images/`, reads each image's
    /// header and its label file from `labels/`.
    ///
    /// # Errors
    /// [`EvalError`] naming the file and line: no `images/` folder, no `data.yaml`, a
    /// label line with the wrong number of fields, a coordinate outside `[0, 1]`, a class
    /// id without a name, or an unreadable image header.
    pub fn load(dir: &Path) -> Result<Self, EvalError> {
        let images_dir = dir.join("images");
        if !images_dir.is_dir() {
            return Err(EvalError::NotADataset { path: dir.to_path_buf(), message: "it has no images/ folder".into() });
        }
        let yaml_path = find_data_yaml(dir)?;
        let yaml =
            std::fs::read_to_string(&yaml_path).map_err(|source| EvalError::Io { path: yaml_path.clone(), source })?;
        let class_names = yolo::parse_names(&yaml).map_err(|(line, message)| EvalError::DataYaml {
            path: yaml_path.clone(),
            line,
            message,
        })?;
        let meanings = SignalMeaning::for_class_names(&class_names);

        let mut files: Vec<PathBuf> = std::fs::read_dir(&images_dir)
            .map_err(|source| EvalError::Io { path: images_dir.clone(), source })?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| {
                p.extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
            })
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(EvalError::NotADataset {
                path: dir.to_path_buf(),
                message: format!("{} holds no .jpg, .jpeg or .png images", images_dir.display()),
            });
        }

        let labels_dir = dir.join("labels");
        if !labels_dir.is_dir() {
            return Err(EvalError::NotADataset {
                path: dir.to_path_buf(),
                message: "it has images/ but no labels/ folder".into(),
            });
        }
        let mut images = Vec::with_capacity(files.len());
        for path in files {
            let (width, height) = image::image_dimensions(&path)
                .map_err(|e| EvalError::Image { path: path.clone(), message: e.to_string() })?;
            // Not `set_extension`: exported names like `a_jpg.rf.3f2e.jpg` have dots in the stem.
            let mut label_name = path.file_stem().map(|s| s.to_os_string()).unwrap_or_default();
            label_name.push(".txt");
            let label = labels_dir.join(label_name);
            let (boxes, label_path) = if label.is_file() {
                let text =
                    std::fs::read_to_string(&label).map_err(|source| EvalError::Io { path: label.clone(), source })?;
                (parse_labels(&text, &label, width, height, &meanings)?, Some(label))
            } else {
                (Vec::new(), None)
            };
            images.push(DatasetImage { path, width, height, boxes, label_path });
        }
        let dataset = Self { root: dir.to_path_buf(), yaml_path, class_names, meanings, images };
        let unlabelled = dataset.unlabelled_image_names();
        if !unlabelled.is_empty() {
            const SHOWN: usize = 5;
            let more = unlabelled.len().saturating_sub(SHOWN);
            tracing::warn!(
                "{}: {} image(s) have no label file and count as images with no lights: {}{}",
                dir.display(),
                unlabelled.len(),
                unlabelled[..unlabelled.len().min(SHOWN)].join(", "),
                if more > 0 { format!(" and {more} more") } else { String::new() }
            );
        }
        Ok(dataset)
    }

    /// Images without a label file (counted as images with no lights).
    pub fn unlabelled_images(&self) -> usize {
        self.images.iter().filter(|i| i.label_path.is_none()).count()
    }

    /// File names of the images without a label file, in dataset order.
    pub fn unlabelled_image_names(&self) -> Vec<String> {
        self.images
            .iter()
            .filter(|i| i.label_path.is_none())
            .map(|i| {
                i.path.file_name().map_or_else(|| i.path.display().to_string(), |n| n.to_string_lossy().into_owned())
            })
            .collect()
    }

    /// Total number of labelled lights.
    pub fn box_count(&self) -> usize {
        self.images.iter().map(|i| i.boxes.len()).sum()
    }
}

/// `data.yaml` in `dir` or the nearest parent that has one.
fn find_data_yaml(dir: &Path) -> Result<PathBuf, EvalError> {
    yolo::find_data_yaml(dir).ok_or_else(|| EvalError::MissingDataYaml { path: dir.to_path_buf() })
}

/// Parses one label file into boxes in source px.
fn parse_labels(
    text: &str,
    path: &Path,
    width: u32,
    height: u32,
    meanings: &[SignalMeaning],
) -> Result<Vec<GtBox>, EvalError> {
    let mut boxes = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let err = |message: String| EvalError::Label { path: path.to_path_buf(), line: i + 1, message };
        let Some(label) = yolo::parse_label_line(line).map_err(err)? else { continue };
        let class_id = label.class_id;
        let meaning = *meanings.get(class_id as usize).ok_or_else(|| {
            err(format!(
                "class id {class_id} has no name; data.yaml names {} classes (0..={})",
                meanings.len(),
                meanings.len().saturating_sub(1)
            ))
        })?;
        let bbox = label.bbox_px(width, height);
        boxes.push(GtBox { class_id, meaning, bbox });
    }
    Ok(boxes)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn boxes_and_polygons_become_source_px() {
        let meanings = [SignalMeaning::VehicleGreen, SignalMeaning::VehicleRed];
        let text = "0 0.5 0.5 0.1 0.2\n\n1 0.1 0.1 0.2 0.1 0.2 0.3 0.1 0.3\n";
        let boxes = parse_labels(text, Path::new("l.txt"), 200, 100, &meanings).unwrap();
        assert_eq!(boxes.len(), 2);
        assert_eq!(boxes[0].bbox, BBox::new(90.0, 40.0, 110.0, 60.0));
        assert_eq!(boxes[0].meaning, SignalMeaning::VehicleGreen);
        assert_eq!(boxes[1].bbox, BBox::new(20.0, 10.0, 40.0, 30.0));
        assert_eq!(boxes[1].meaning, SignalMeaning::VehicleRed);
    }

    #[test]
    fn bad_label_lines_name_the_line_and_field() {
        let meanings = [SignalMeaning::VehicleGreen];
        let cases = [
            ("0 0.5 0.5 0.1\n", "got 4"),
            ("0 0.5 0.5 0.1 0.2 0.3\n", "got 6"),
            ("0 1.5 0.5 0.1 0.1\n", "field 2 = 1.5 is outside [0, 1]"),
            ("3 0.5 0.5 0.1 0.1\n", "class id 3 has no name"),
            ("x 0.5 0.5 0.1 0.1\n", "class id"),
        ];
        for (text, want) in cases {
            let text = format!("0 0.5 0.5 0.1 0.1\n{text}");
            let err = parse_labels(&text, Path::new("l.txt"), 10, 10, &meanings).unwrap_err().to_string();
            assert!(err.starts_with("l.txt:2: "), "{err}");
            assert!(err.contains(want), "{err:?} should contain {want:?}");
        }
    }
}
