//! YOLO-format datasets, read one way for everything that reads them (`eval`'s
//! datasets, the training stills' real backgrounds): where `data.yaml` is, its class
//! names, and label lines.
//!
//! Label lines are boxes (`cls cx cy w h`) or polygons (`cls x1 y1 x2 y2 ...`, at least
//! three points), all normalized to `[0, 1]`; polygons are reduced to their bounding box.
//! A line that is neither is an error naming the field, never skipped.

use crate::geom::BBox;
use std::path::{Path, PathBuf};

/// How far outside `[0, 1]` a normalized coordinate may be before it is an error:
/// exporters write values like `1.0000001` from float rounding.
const COORD_TOLERANCE: f64 = 1e-4;

/// `data.yaml` (or `data.yml`) in `dir` or the nearest parent that has one.
pub fn find_data_yaml(dir: &Path) -> Option<PathBuf> {
    // Canonicalize so that a relative `valid` still finds `../data.yaml`.
    let start = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    start.ancestors().flat_map(|d| [d.join("data.yaml"), d.join("data.yml")]).find(|p| p.is_file())
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

/// One label line: a class id and a box, corners normalized to `[0, 1]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Label {
    /// The class id, an index into `data.yaml`'s names.
    pub class_id: u32,
    /// Left, top, right, bottom, each in `[0, 1]`.
    pub corners: [f64; 4],
}

impl Label {
    /// The box in px of a `width x height` image.
    pub fn bbox_px(&self, width: u32, height: u32) -> BBox {
        let [x1, y1, x2, y2] = self.corners;
        let (w, h) = (f64::from(width), f64::from(height));
        BBox::new((x1 * w) as f32, (y1 * h) as f32, (x2 * w) as f32, (y2 * h) as f32)
            .clamp_to(width as f32, height as f32)
    }
}

/// One line of a label file: `None` for a blank line.
///
/// # Errors
/// What is wrong with the line, naming the field (1-based).
pub fn parse_label_line(line: &str) -> Result<Option<Label>, String> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    if fields.is_empty() {
        return Ok(None);
    }
    let n = fields.len();
    let is_box = n == 5;
    let is_polygon = n >= 7 && n % 2 == 1;
    if !is_box && !is_polygon {
        return Err(format!(
            "expected 5 fields (class cx cy w h) or an odd number of at least 7 (class x1 y1 x2 y2 x3 y3 ...), got {n}"
        ));
    }
    let class_id: u32 =
        fields[0].parse().map_err(|_| format!("field 1 (class id) `{}` is not a whole number", fields[0]))?;
    let mut all = Vec::with_capacity(n - 1);
    for (k, f) in fields[1..].iter().enumerate() {
        let x: f64 = f.parse().map_err(|_| format!("field {} `{f}` is not a number", k + 2))?;
        if !(x.is_finite() && (-COORD_TOLERANCE..=1.0 + COORD_TOLERANCE).contains(&x)) {
            return Err(format!("field {} = {f} is outside [0, 1]; coordinates must be normalized", k + 2));
        }
        all.push(x.clamp(0.0, 1.0));
    }
    let corners = if is_box {
        let (cx, cy, w, h) = (all[0], all[1], all[2], all[3]);
        [cx - w / 2.0, cy - h / 2.0, cx + w / 2.0, cy + h / 2.0]
    } else {
        let xs = all.iter().step_by(2);
        let ys = all.iter().skip(1).step_by(2);
        [
            xs.clone().copied().fold(f64::INFINITY, f64::min),
            ys.clone().copied().fold(f64::INFINITY, f64::min),
            xs.copied().fold(f64::NEG_INFINITY, f64::max),
            ys.copied().fold(f64::NEG_INFINITY, f64::max),
        ]
    };
    Ok(Some(Label { class_id, corners }))
}

#[cfg(test)]
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
    fn a_box_and_a_polygon_line_become_corners() {
        let b = parse_label_line("0 0.5 0.5 0.1 0.2").unwrap().unwrap();
        assert_eq!(b.class_id, 0);
        assert_eq!(b.bbox_px(200, 100), BBox::new(90.0, 40.0, 110.0, 60.0));
        let p = parse_label_line("1 0.1 0.1 0.2 0.1 0.2 0.3 0.1 0.3").unwrap().unwrap();
        assert_eq!(p.bbox_px(200, 100), BBox::new(20.0, 10.0, 40.0, 30.0));
        assert_eq!(parse_label_line("   ").unwrap(), None);
        assert!(parse_label_line("0 0.5 0.5 0.1").unwrap_err().contains("got 4"));
    }
}
