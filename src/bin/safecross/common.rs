//! Flags shared by the subcommands that load a model, and how they override the config.

use anyhow::Context;
use safecross::config::Config;
use safecross::infer::{BackendChoice, ExecutionProvider};
use std::path::PathBuf;

/// Model and engine flags.
#[derive(clap::Args, Debug, Clone)]
pub struct ModelArgs {
    /// ONNX model to run [default: models/safecross-tl.onnx, the model safecross ships]
    #[arg(long, value_name = "FILE")]
    pub model: Option<PathBuf>,
    /// Inference engine: `auto` uses ONNX Runtime when its library is found, else tract
    #[arg(long, value_enum, value_name = "ENGINE")]
    pub backend: Option<EngineArg>,
    /// Path to libonnxruntime.so (also read from ORT_DYLIB_PATH)
    #[arg(long, value_name = "FILE")]
    pub ort_lib: Option<PathBuf>,
    /// Threads ONNX Runtime may use per operator
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// ONNX Runtime execution provider: `xnnpack` can be faster on ARM boards, but only
    /// ONNX Runtime builds made with XNNPACK have it
    #[arg(long, value_enum, value_name = "EP")]
    pub ort_ep: Option<EpArg>,
    /// Class names in output order, comma-separated, for models without `names` metadata
    /// (`--classes` in other tools filters by class id; here that is `detect --classes`)
    #[arg(long, value_name = "NAMES", value_delimiter = ',')]
    pub class_names: Option<Vec<String>>,
    /// Minimum confidence to keep a box, 0..1
    #[arg(long, value_name = "SCORE", value_parser = fraction_f32, allow_negative_numbers = true)]
    pub conf: Option<f32>,
    /// IoU above which overlapping boxes are merged, 0..1; across classes by default
    /// (`[decode] class_agnostic_nms`), so one head read two ways keeps one box with the
    /// other reading as its rival
    #[arg(long, value_name = "IOU", value_parser = fraction_f32, allow_negative_numbers = true)]
    pub iou: Option<f32>,
    /// Non-maximum suppression: `agnostic` merges overlapping boxes of any classes (one
    /// head read two ways keeps one box, the other reading as its rival), `per-class`
    /// only boxes of one class, as most YOLO tools do
    #[arg(long, value_enum, value_name = "MODE")]
    pub nms: Option<NmsMode>,
    /// Most boxes kept per image, 1..10000
    #[arg(long, value_name = "N")]
    pub max_det: Option<usize>,
    /// Never run the model a second time on a window around a small head the full view
    /// missed (the `[zoom]` second look; `run`, `bench` and `eval` on clips)
    #[arg(long)]
    pub no_second_look: bool,
    /// Input size for a model whose size is left open and that has no `imgsz` metadata,
    /// as HEIGHTxWIDTH (`384x640`) or one number for a square
    #[arg(long, value_name = "HxW", value_parser = parse_imgsz)]
    pub imgsz: Option<[u32; 2]>,
    /// TOML config file; flags override its values
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// Each model flag's default, as the library's `Config::default()` has it: help shows
/// it, so that no default is written twice.
pub fn shown_defaults() -> [(&'static str, String); 6] {
    let config = Config::default();
    let ep = match config.infer.execution_provider {
        ExecutionProvider::Cpu => "cpu",
        ExecutionProvider::Xnnpack => "xnnpack",
    };
    [
        ("threads", config.infer.intra_threads.to_string()),
        ("ort_ep", ep.to_string()),
        ("conf", config.decode.conf_threshold.to_string()),
        ("iou", config.decode.nms_iou.to_string()),
        ("nms", if config.decode.class_agnostic_nms { "agnostic" } else { "per-class" }.to_string()),
        ("max_det", config.decode.max_detections.to_string()),
    ]
}

/// `--backend`: the library's [`BackendChoice`], spelt for the command line (clap stays
/// out of the library).
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineArg {
    /// ONNX Runtime when its library is found, else tract.
    Auto,
    /// ONNX Runtime, or an error saying where it was looked for.
    Ort,
    /// tract (pure Rust).
    Tract,
}

impl From<EngineArg> for BackendChoice {
    fn from(arg: EngineArg) -> Self {
        match arg {
            EngineArg::Auto => BackendChoice::Auto,
            EngineArg::Ort => BackendChoice::Ort,
            EngineArg::Tract => BackendChoice::Tract,
        }
    }
}

/// `--ort-ep`: the library's [`ExecutionProvider`], spelt for the command line.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum EpArg {
    /// ONNX Runtime's own CPU kernels.
    Cpu,
    /// XNNPACK, in ONNX Runtime builds made with it.
    Xnnpack,
}

impl From<EpArg> for ExecutionProvider {
    fn from(arg: EpArg) -> Self {
        match arg {
            EpArg::Cpu => ExecutionProvider::Cpu,
            EpArg::Xnnpack => ExecutionProvider::Xnnpack,
        }
    }
}

/// How overlapping boxes are merged (`[decode] class_agnostic_nms`).
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum NmsMode {
    /// Across classes (the default).
    Agnostic,
    /// Within each class only.
    PerClass,
}

fn parse_imgsz(text: &str) -> Result<[u32; 2], String> {
    let sides: Vec<&str> = text.split(['x', 'X', ',']).collect();
    let side = |s: &str| match s.trim().parse::<u32>() {
        Ok(v) if (1..=safecross::infer::MAX_INPUT_SIDE).contains(&v) => Ok(v),
        _ => Err(format!("`{s}` is not a side of 1-{} px", safecross::infer::MAX_INPUT_SIDE)),
    };
    match sides.as_slice() {
        [s] => side(s).map(|v| [v, v]),
        [h, w] => Ok([side(h)?, side(w)?]),
        _ => Err(format!("`{text}` is not HEIGHTxWIDTH")),
    }
}

impl ModelArgs {
    /// Defaults, then the config file, then the flags.
    pub fn to_config(&self) -> anyhow::Result<Config> {
        let mut config = match &self.config {
            Some(path) => Config::load(path)?,
            None => Config::default(),
        };
        if let Some(m) = &self.model {
            config.model.path = m.clone();
        }
        if let Some(b) = self.backend {
            config.infer.backend = b.into();
        }
        if let Some(l) = &self.ort_lib {
            config.infer.ort_lib = Some(l.clone());
        }
        if let Some(t) = self.threads {
            config.infer.intra_threads = t;
        }
        if let Some(ep) = self.ort_ep {
            config.infer.execution_provider = ep.into();
        }
        if let Some(c) = &self.class_names {
            config.model.classes = Some(c.iter().map(|s| s.trim().to_string()).collect());
        }
        if let Some(c) = self.conf {
            config.decode.conf_threshold = c;
        }
        if let Some(i) = self.iou {
            config.decode.nms_iou = i;
        }
        if let Some(mode) = self.nms {
            config.decode.class_agnostic_nms = mode == NmsMode::Agnostic;
        }
        if let Some(n) = self.max_det {
            config.decode.max_detections = n;
        }
        if self.no_second_look {
            config.zoom.enabled = false;
        }
        if let Some(size) = self.imgsz {
            config.infer.input_size = Some(size);
        }
        config.validate().context("invalid settings")?;
        Ok(config)
    }
}

/// Fails with a message naming the model when its file is missing.
pub fn check_model_exists(config: &Config) -> anyhow::Result<()> {
    let path = config.model.resolved_path();
    if !path.exists() {
        anyhow::bail!("model {} not found; pass --model <file.onnx>", path.display());
    }
    Ok(())
}

/// Loads the detector for a config, with a message that names the model.
pub fn load_detector(config: &Config) -> anyhow::Result<safecross::pipeline::Detector> {
    check_model_exists(config)?;
    Ok(safecross::pipeline::Detector::new(&config.model, &config.infer, &config.decode)?)
}

/// One `class score` label per detection, as the terminal and the drawn pictures show them.
pub fn detection_labels(
    detections: &[safecross::signal::Detection],
    classes: &safecross::decode::ClassMap,
) -> Vec<String> {
    detections.iter().map(|d| format!("{} {:.2}", classes.name(d.class_id), d.score)).collect()
}

/// One detection as a JSON object: class, signal meaning, score, box in source px.
pub fn detection_json(d: &safecross::signal::Detection, classes: &safecross::decode::ClassMap) -> serde_json::Value {
    let r = |v: f32| (f64::from(v) * 10.0).round() / 10.0;
    let score = |v: f32| (f64::from(v) * 1e4).round() / 1e4;
    let mut json = serde_json::json!({
        "class": classes.name(d.class_id),
        "signal": d.meaning.as_str(),
        "score": score(d.score),
        "box": [r(d.bbox.x1), r(d.bbox.y1), r(d.bbox.x2), r(d.bbox.y2)],
    });
    if let Some(rival) = d.rival {
        json["rival"] = serde_json::json!({"class": classes.name(rival.class_id), "signal": rival.meaning.as_str(), "score": score(rival.score)});
    }
    json
}

/// Parsers for number flags. NaN and infinity pass every comparison unnoticed (`bench
/// --seconds nan` never ended, `eval --min-map50 nan` passed a model with mAP50 0), so
/// every float flag states its range and is checked as it is parsed.
fn finite(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        Ok(_) => Err("must be a finite number".into()),
        Err(_) => Err("must be a number".into()),
    }
}

/// A number above 0 (seconds, frame rates).
pub fn positive(text: &str) -> Result<f64, String> {
    finite(text).and_then(|v| if v > 0.0 { Ok(v) } else { Err("must be more than 0".into()) })
}

/// A number of 0 or more.
pub fn non_negative(text: &str) -> Result<f64, String> {
    finite(text).and_then(|v| if v >= 0.0 { Ok(v) } else { Err("must be 0 or more".into()) })
}

/// A number of 1 or more (slowdown factors).
pub fn at_least_one(text: &str) -> Result<f64, String> {
    finite(text).and_then(|v| if v >= 1.0 { Ok(v) } else { Err("must be 1 or more".into()) })
}

/// A number from 0 to 1 (scores, shares, volume).
pub fn fraction(text: &str) -> Result<f64, String> {
    finite(text).and_then(|v| if (0.0..=1.0).contains(&v) { Ok(v) } else { Err("must be from 0 to 1".into()) })
}

/// As [`fraction`], for `f32` settings.
pub fn fraction_f32(text: &str) -> Result<f32, String> {
    fraction(text).map(|v| v as f32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_flags_refuse_nan_infinity_and_out_of_range_values() {
        for text in ["nan", "NaN", "inf", "-inf", "abc", ""] {
            assert!(positive(text).is_err() && fraction(text).is_err() && non_negative(text).is_err(), "{text}");
        }
        assert_eq!(positive("2.5"), Ok(2.5));
        assert!(positive("0").is_err() && positive("-1").is_err());
        assert_eq!(non_negative("0"), Ok(0.0));
        assert!(non_negative("-0.1").is_err());
        assert_eq!(at_least_one("1"), Ok(1.0));
        assert!(at_least_one("0.5").is_err());
        assert_eq!(fraction_f32("0.25"), Ok(0.25));
        assert!(fraction("-1").is_err() && fraction("1.01").is_err());
    }
}
