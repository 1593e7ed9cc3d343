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
//! `data.yaml` is read by a small parser that understands the forms exporters write:
//! `names: [a, b]`, `names: ['a', "b"]`, a block list (`names:` then `  - a`) and a
//! mapping (`names:` then `  0: a`). Everything else in the file is ignored.

use super::EvalError;
use crate::geom::BBox;
use crate::signal::SignalMeaning;
use std::path::{Path, PathBuf};

/// How far outside `[0, 1]` a normalized coordinate may be before it is an error:
/// exporters write values like `1.0000001` from float rounding.
const COORD_TOLERANCE: f64 = 1e-4;

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
        let class_names = parse_names(&yaml).map_err(|(line, message)| EvalError::DataYaml {
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
    // Canonicalize so that a relative `valid` still finds `../data.yaml`.
    let start = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    start
        .ancestors()
        .flat_map(|d| [d.join("data.yaml"), d.join("data.yml")])
        .find(|p| p.is_file())
        .ok_or_else(|| EvalError::MissingDataYaml { path: dir.to_path_buf() })
}

/// Class names from the text of a `data.yaml`, read by a YAML parser (`yaml-rust2`):
/// every form YOLO exporters write (flow or block lists, `id: name` mappings, quoted
/// names, names spread over lines) reads as YAML says it should. Errors carry a 1-based
/// line: where the YAML breaks, or the `names:` line (0 when the key is missing).
pub fn parse_names(yaml: &str) -> Result<Vec<String>, (usize, String)> {
    use yaml_rust2::{Yaml, YamlLoader};
    let docs =
        YamlLoader::load_from_str(yaml).map_err(|e| (e.marker().line(), format!("not valid YAML: {}", e.info())))?;
    let names_line = yaml.lines().position(|l| l.starts_with("names:")).map_or(0, |i| i + 1);
    let at_names = |message: String| (names_line, message);
    let scalar = |v: &Yaml| match v {
        Yaml::String(s) | Yaml::Real(s) => Some(s.clone()),
        Yaml::Integer(i) => Some(i.to_string()),
        Yaml::Boolean(b) => Some(b.to_string()),
        _ => None,
    };
    let names = match docs.first().map(|d| &d["names"]) {
        None | Some(Yaml::BadValue | Yaml::Null) => return Err((0, "no `names:` key with the class names".into())),
        Some(Yaml::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| scalar(v).ok_or_else(|| at_names(format!("`names` entry {i} is not a name"))))
            .collect::<Result<Vec<_>, _>>()?,
        Some(Yaml::Hash(map)) => {
            let mut pairs = Vec::with_capacity(map.len());
            for (k, v) in map {
                let id = match k {
                    Yaml::Integer(i) => usize::try_from(*i).ok(),
                    _ => None,
                }
                .ok_or_else(|| {
                    at_names(format!("class id `{}` is not a whole number of 0 or more", scalar(k).unwrap_or_default()))
                })?;
                let name = scalar(v).ok_or_else(|| at_names(format!("class {id} has no name")))?;
                pairs.push((id, name));
            }
            pairs.sort_by_key(|p| p.0);
            if let Some((expect, (id, _))) = pairs.iter().enumerate().find(|(i, (id, _))| id != i) {
                return Err(at_names(format!(
                    "class ids must run 0, 1, 2, ... without gaps; expected {expect}, got {id}"
                )));
            }
            pairs.into_iter().map(|p| p.1).collect()
        }
        Some(other) => {
            let got = scalar(other).unwrap_or_default();
            return Err(at_names(format!("`names:` must be a list like [a, b] or a mapping, got `{got}`")));
        }
    };
    if let Some(i) = names.iter().position(|n| n.trim().is_empty()) {
        return Err(at_names(format!("`names` entry {i} is empty")));
    }
    if names.is_empty() {
        return Err(at_names("`names:` has no entries".into()));
    }
    Ok(names)
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
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.is_empty() {
            continue;
        }
        let err = |message: String| EvalError::Label { path: path.to_path_buf(), line: i + 1, message };
        let n = fields.len();
        let is_box = n == 5;
        let is_polygon = n >= 7 && n % 2 == 1;
        if !is_box && !is_polygon {
            return Err(err(format!(
                "expected 5 fields (class cx cy w h) or an odd number of at least 7 (class x1 y1 x2 y2 x3 y3 ...), got {n}"
            )));
        }
        let class_id: u32 =
            fields[0].parse().map_err(|_| err(format!("field 1 (class id) `{}` is not a whole number", fields[0])))?;
        let meaning = *meanings.get(class_id as usize).ok_or_else(|| {
            err(format!(
                "class id {class_id} has no name; data.yaml names {} classes (0..={})",
                meanings.len(),
                meanings.len().saturating_sub(1)
            ))
        })?;
        let mut v = Vec::with_capacity(n - 1);
        for (k, f) in fields[1..].iter().enumerate() {
            let x: f64 = f.parse().map_err(|_| err(format!("field {} `{f}` is not a number", k + 2)))?;
            if !(x.is_finite() && (-COORD_TOLERANCE..=1.0 + COORD_TOLERANCE).contains(&x)) {
                return Err(err(format!("field {} = {f} is outside [0, 1]; coordinates must be normalized", k + 2)));
            }
            v.push(x.clamp(0.0, 1.0));
        }
        let (x1, y1, x2, y2) = if is_box {
            let (cx, cy, w, h) = (v[0], v[1], v[2], v[3]);
            (cx - w / 2.0, cy - h / 2.0, cx + w / 2.0, cy + h / 2.0)
        } else {
            let xs = v.iter().step_by(2);
            let ys = v.iter().skip(1).step_by(2);
            (
                xs.clone().copied().fold(f64::INFINITY, f64::min),
                ys.clone().copied().fold(f64::INFINITY, f64::min),
                xs.copied().fold(f64::NEG_INFINITY, f64::max),
                ys.copied().fold(f64::NEG_INFINITY, f64::max),
            )
        };
        let (w, h) = (f64::from(width), f64::from(height));
        let bbox = BBox::new((x1 * w) as f32, (y1 * h) as f32, (x2 * w) as f32, (y2 * h) as f32)
            .clamp_to(width as f32, height as f32);
        boxes.push(GtBox { class_id, meaning, bbox });
    }
    Ok(boxes)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_common_names_forms() {
        assert_eq!(parse_names("nc: 3\nnames: [green, red, yellow]\n").unwrap(), ["green", "red", "yellow"]);
        assert_eq!(parse_names("names: ['a b', \"c\"] # two\n").unwrap(), ["a b", "c"]);
        assert_eq!(parse_names("path: x\nnames:\n  1: red\n  0: green\ntrain: t\n").unwrap(), ["green", "red"]);
        assert_eq!(parse_names("names:\n  - green\n  - 'red'\nnc: 2\n").unwrap(), ["green", "red"]);
    }

    #[test]
    fn reads_what_roboflow_and_ultralytics_write() {
        let roboflow = "train: ../train/images\nval: ../valid/images\n\nnc: 3\nnames: ['crosswalk', 'greenlight', 'redlight']\n\nroboflow:\n  workspace: w\n  version: 2\n  license: CC BY 4.0\n  url: https://universe.roboflow.com/x\n";
        assert_eq!(parse_names(roboflow).unwrap(), ["crosswalk", "greenlight", "redlight"]);
        // Roboflow's block list starts at column 0, which is valid YAML.
        assert_eq!(parse_names("nc: 2\nnames:\n- green\n- red\ntrain: t\n").unwrap(), ["green", "red"]);
        let spread = "names: [\n  'a, b',\n  \"c # not a comment\",\n  d\n]\n";
        assert_eq!(parse_names(spread).unwrap(), ["a, b", "c # not a comment", "d"]);
    }

    #[test]
    fn rejects_names_it_cannot_read_with_the_line() {
        assert_eq!(parse_names("nc: 2\n").unwrap_err().0, 0);
        assert_eq!(parse_names("nc: 2\nnames: green\n").unwrap_err().0, 2);
        let gap = parse_names("nc: 2\nnames:\n  0: a\n  2: b\n").unwrap_err();
        assert_eq!(gap.0, 2);
        assert!(gap.1.contains("expected 1, got 2"), "{}", gap.1);
        let negative = parse_names("names:\n  -1: red\n  0: green\n").unwrap_err();
        assert!(negative.1.contains("class id `-1` is not a whole number of 0 or more"), "{}", negative.1);
        let broken = parse_names("nc: 2\nnames: [a, b\n").unwrap_err();
        assert!(broken.1.starts_with("not valid YAML"), "{}", broken.1);
        assert!(parse_names("names: []\n").unwrap_err().1.contains("no entries"));
        assert!(parse_names("names: [a, '']\n").unwrap_err().1.contains("entry 1 is empty"));
    }

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
