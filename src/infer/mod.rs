//! Inference: owns the ONNX session and runs the model on one
//! [`InputTensor`](crate::tensor::InputTensor).
//!
//! With the `onnxruntime` feature (on by default), `Engine` runs the model in-process:
//! one `ort` front end, two engines behind it, chosen once per process:
//! - **ONNX Runtime**, loaded at run time from a `libonnxruntime` shared library
//!   (4-5 ms for our model on two x86 cores). Nothing is linked at build time, so the
//!   same binary runs on machines with and without it.
//! - **tract**, pure Rust, always compiled in; about 3x slower, needs nothing installed.
//!
//! `ort` holds the chosen engine in a process-wide slot that can be set only once, so
//! `Engine::load` resolves the backend on first use and later loads must agree.
//! Model I/O (input size, output shape, class names) is read from the ONNX file itself
//! by [`onnx_meta`] before any engine is touched, so a wrong model fails at start-up
//! with the same message on both engines. Without the feature (the browser build in
//! `web/`, where the page runs the model), only that reading and the settings remain.
//!
//! Imports: the vocabulary (`tensor`, `signal`, `bundled`) and external crates only.

#[cfg(feature = "onnxruntime")]
mod engine;
pub mod onnx_meta;

use crate::signal::SignalMeaning;
#[cfg(feature = "onnxruntime")]
pub use engine::{Engine, ort_library_candidates, ort_library_candidates_from};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Where the model comes from and how its classes are named.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelConfig {
    /// Path to the ONNX file; default [`DEFAULT_MODEL`] (looked up in the working
    /// directory, then beside the executable's repository).
    pub path: PathBuf,
    /// Class names in output order, replacing the model's `names` metadata; default none.
    pub classes: Option<Vec<String>>,
    /// Meaning per class name, overriding what is derived from the name, e.g.
    /// `{ "left" = "other", "walking_man" = "ped_walk" }`; default empty.
    pub class_meanings: BTreeMap<String, SignalMeaning>,
}

/// Default model, relative to the repository root.
pub const DEFAULT_MODEL: &str = "models/safecross-tl.onnx";

impl Default for ModelConfig {
    fn default() -> Self {
        Self { path: PathBuf::from(DEFAULT_MODEL), classes: None, class_meanings: BTreeMap::new() }
    }
}

impl ModelConfig {
    /// The model path, resolved: as given when it exists, else, for a relative path,
    /// beside the repository the executable was built in (so `target/release/safecross`
    /// finds `models/` from any directory).
    pub fn resolved_path(&self) -> PathBuf {
        crate::bundled::bundled_file(&self.path)
    }
}

/// Which engine runs the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BackendChoice {
    /// ONNX Runtime when a library is found, else tract.
    #[default]
    Auto,
    /// ONNX Runtime, or an error saying where it was looked for.
    Ort,
    /// tract (pure Rust).
    Tract,
}

/// Which ONNX Runtime execution provider runs the operators (tract ignores this).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExecutionProvider {
    /// ONNX Runtime's own CPU kernels, in every build of the library.
    #[default]
    Cpu,
    /// XNNPACK, often faster on ARM boards; only in ONNX Runtime builds made with
    /// `--use_xnnpack` (not the PyPI wheel). Asking for it from a library without it is
    /// an error, not a silent fallback, so a benchmark never measures the wrong thing.
    Xnnpack,
}

/// Settings of the inference stage.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct InferConfig {
    /// Engine choice; default `auto`.
    pub backend: BackendChoice,
    /// Explicit path to `libonnxruntime.so` (or `.dylib`/`.dll`); default none, then
    /// `ORT_DYLIB_PATH`, the executable's folder and the usual system folders are tried.
    pub ort_lib: Option<PathBuf>,
    /// Threads ONNX Runtime may use inside one operator; default 2, which is what a
    /// Pi-class board can spare beside decoding and audio. tract is single-threaded.
    pub intra_threads: usize,
    /// ONNX Runtime execution provider; default `cpu`.
    pub execution_provider: ExecutionProvider,
    /// Let ONNX Runtime's worker threads spin between operators instead of sleeping;
    /// default false. Spinning makes the model alone about a millisecond faster on 2
    /// threads, but the spinning workers take the cores the frame reader decodes on: on
    /// 2 cores a 1080p clip ran at 54-76 FPS with spinning and 88-94 FPS without, at
    /// two thirds of the CPU time per frame (`BENCHMARKS.md`).
    pub spin: bool,
    /// Input size `[height, width]` for a model whose input size is left open and that
    /// has no `imgsz` metadata (a dynamic export from a tool other than ultralytics);
    /// default none. A model with a fixed size, or with `imgsz`, ignores it.
    pub input_size: Option<[u32; 2]>,
}

impl InferConfig {
    /// Checks the ranges of the settings.
    ///
    /// # Errors
    /// [`InferConfigError`] naming the key out of range.
    pub fn validate(&self) -> Result<(), InferConfigError> {
        if self.intra_threads == 0 || self.intra_threads > 64 {
            return Err(InferConfigError {
                field: "intra_threads",
                value: self.intra_threads.to_string(),
                range: "1..=64",
            });
        }
        Ok(())
    }
}

/// An `[infer]` setting out of its range.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("infer.{field} = {value} is out of range {range}")]
pub struct InferConfigError {
    /// The key under `[infer]`.
    pub field: &'static str,
    /// The value given, as written.
    pub value: String,
    /// The range it must lie in.
    pub range: &'static str,
}

impl Default for InferConfig {
    fn default() -> Self {
        Self {
            backend: BackendChoice::Auto,
            ort_lib: None,
            intra_threads: 2,
            execution_provider: ExecutionProvider::Cpu,
            spin: false,
            input_size: None,
        }
    }
}

/// The engine that actually runs, and why it was chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// Real ONNX Runtime.
    OnnxRuntime {
        /// The shared library that was loaded.
        library: PathBuf,
        /// Its version string, e.g. `1.32.0`.
        version: String,
    },
    /// tract, pure Rust.
    Tract {
        /// Why tract runs (asked for, or what `auto` did not find).
        reason: String,
    },
}

impl Backend {
    /// Short name: `ort` or `tract`.
    pub fn name(&self) -> &'static str {
        match self {
            Backend::OnnxRuntime { .. } => "ort",
            Backend::Tract { .. } => "tract",
        }
    }
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Backend::OnnxRuntime { library, version } => {
                write!(f, "ONNX Runtime {version} ({})", library.display())
            }
            Backend::Tract { reason } => write!(f, "tract ({reason})"),
        }
    }
}

/// Why the model cannot run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InferError {
    /// The model file could not be read.
    #[error("cannot read model {path}")]
    ReadModel {
        /// Model path.
        path: PathBuf,
        /// Underlying error.
        source: std::io::Error,
    },
    /// The file is not ONNX.
    #[error("{path} is not an ONNX model ({reason})")]
    NotOnnx {
        /// Model path.
        path: PathBuf,
        /// What the parser found.
        reason: String,
    },
    /// The model is ONNX but not an image detector safecross can feed.
    #[error("{path} is not a detector safecross can run: {reason}")]
    NotADetector {
        /// Model path.
        path: PathBuf,
        /// Which shape or type is wrong.
        reason: String,
    },
    /// `--backend ort` and no usable ONNX Runtime library was found.
    #[error(
        "ONNX Runtime not found; looked in: {looked}. Install it (pip install onnxruntime) and set `[infer] ort_lib` to the path of libonnxruntime.so or set ORT_DYLIB_PATH, or set `[infer] backend` to tract"
    )]
    OrtNotFound {
        /// Every place that was tried, with why it failed.
        looked: String,
    },
    /// The process already runs the other backend.
    #[error("the {active} backend is already active in this process; {requested} cannot be loaded too")]
    BackendConflict {
        /// Active backend.
        active: String,
        /// Requested backend.
        requested: String,
    },
    /// The engine refused the model or failed while running it.
    #[error("{backend} failed on {path}: {message}")]
    Engine {
        /// Backend name.
        backend: &'static str,
        /// Model path.
        path: PathBuf,
        /// Engine message.
        message: String,
    },
}

/// What the model takes and gives, read once at load time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelIo {
    /// Input tensor name.
    pub input_name: String,
    /// Input width, px.
    pub input_width: u32,
    /// Input height, px.
    pub input_height: u32,
    /// Output tensor name.
    pub output_name: String,
    /// Output shape. A dimension the model leaves open (an ultralytics `dynamic=True`
    /// export) is 0 here until the engine's first run at load time fills it in
    /// ([`ModelIo::output_is_open`]); an engine's `io()` always has it whole.
    pub output_shape: Vec<usize>,
    /// Element types of the input and the output: float32, or float16 for a half
    /// precision export (`half=True`), converted at the engine's boundary.
    pub precision: Precision,
    /// The output is an NMS-free end-to-end one (`end2end` metadata `True`, as YOLOv10
    /// and YOLO26 exports write): boxes already chosen, never run through NMS again.
    pub end2end: bool,
    /// The ONNX `metadata_props`.
    pub metadata: BTreeMap<String, String>,
}

/// Whether a model's input and output are float32 or float16.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Precision {
    /// The input is float16: the engine converts each frame's float32 tensor.
    pub input_f16: bool,
    /// The output is float16: the engine converts it to float32 for the decoder.
    pub output_f16: bool,
}

impl ModelIo {
    /// Whether a dimension of the output is left open until the first run.
    pub fn output_is_open(&self) -> bool {
        self.output_shape.contains(&0)
    }

    /// Class names from the `names` metadata entry, when the model has one.
    pub fn class_names(&self) -> Option<Vec<String>> {
        // Malformed names were refused when the model was loaded.
        self.metadata.get("names").and_then(|n| onnx_meta::parse_names(n).ok())
    }
}

/// Reads what the model takes and gives from its ONNX bytes, and refuses what safecross
/// cannot feed or decode; `path` only names the model in errors.
///
/// # Errors
/// [`InferError::NotOnnx`] or [`InferError::NotADetector`].
pub fn read_model_io(path: &Path, bytes: &[u8]) -> Result<ModelIo, InferError> {
    read_model_io_sized(path, bytes, None)
}

/// [`read_model_io`], with the input size `[height, width]` to use when the model leaves
/// it open and has no `imgsz` metadata ([`InferConfig::input_size`]).
///
/// # Errors
/// [`InferError::NotOnnx`] or [`InferError::NotADetector`].
pub fn read_model_io_sized(path: &Path, bytes: &[u8], open_size: Option<[u32; 2]>) -> Result<ModelIo, InferError> {
    let summary = onnx_meta::parse(bytes).map_err(|e| InferError::NotOnnx { path: path.to_path_buf(), reason: e.0 })?;
    let not_detector = |reason: String| InferError::NotADetector { path: path.to_path_buf(), reason };
    let [input] = summary.inputs.as_slice() else {
        return Err(not_detector(format!("it has {} inputs, a detector has one image input", summary.inputs.len())));
    };
    let output = summary.outputs.first().ok_or_else(|| not_detector("it has no outputs".into()))?;
    const FLOAT: i32 = 1;
    const FLOAT16: i32 = 10;
    if input.elem_type != FLOAT && input.elem_type != FLOAT16 {
        return Err(not_detector(format!(
            "input `{}` is not float32 or float16 (ONNX type {})",
            input.name, input.elem_type
        )));
    }
    let dims: Vec<Option<i64>> = input.dims.clone();
    let (h, w) = match dims.as_slice() {
        // Sizes beyond u32 saturate here and are refused by `check_sizes`.
        [_, Some(3), Some(h), Some(w)] if *h > 0 && *w > 0 => {
            (u32::try_from(*h).unwrap_or(u32::MAX), u32::try_from(*w).unwrap_or(u32::MAX))
        }
        [_, Some(3), _, _] => {
            let imgsz = summary.metadata.get("imgsz").and_then(|s| parse_imgsz(s));
            imgsz.or(open_size.map(|[h, w]| (h, w))).ok_or_else(|| {
                not_detector(format!(
                    "input `{}` has a dynamic size and no `imgsz` metadata; set `[infer] input_size` to [height, width], or export it \
                     with a fixed input size",
                    input.name
                ))
            })?
        }
        _ => {
            return Err(not_detector(format!(
                "input `{}` has shape {}, expected [1, 3, height, width]",
                input.name,
                show_dims(&dims)
            )));
        }
    };
    if output.elem_type != FLOAT && output.elem_type != FLOAT16 {
        return Err(not_detector(format!(
            "output `{}` is not float32 or float16 (ONNX type {})",
            output.name, output.elem_type
        )));
    }
    let precision = Precision { input_f16: input.elem_type == FLOAT16, output_f16: output.elem_type == FLOAT16 };
    // Any shape loads (benchmarks run peers with other heads); whether it can be decoded
    // as detections is the decoder's check. An open dimension (`dynamic=True`) is 0
    // until the engine's first run; the batch is 1.
    let output_shape: Option<Vec<usize>> = output
        .dims
        .iter()
        .enumerate()
        .map(|(i, d)| match d {
            Some(v) if *v > 0 => Some(*v as usize),
            None if i == 0 => Some(1),
            None => Some(0),
            _ => None,
        })
        .collect();
    let output_shape = output_shape.filter(|s| !s.is_empty()).ok_or_else(|| {
        not_detector(format!(
            "output `{}` has shape {}, expected a detection tensor such as [1, rows, columns]",
            output.name,
            show_dims(&output.dims)
        ))
    })?;
    Ok(ModelIo {
        input_name: input.name.clone(),
        input_width: w,
        input_height: h,
        output_name: output.name.clone(),
        output_shape,
        precision,
        end2end: summary.metadata.get("end2end").is_some_and(|v| v.trim().eq_ignore_ascii_case("true")),
        metadata: summary.metadata,
    })
    .and_then(|io| check_sizes(io).map_err(not_detector))
    .and_then(|io| match io.metadata.get("names").map(|n| onnx_meta::parse_names(n)) {
        Some(Err(why)) => Err(not_detector(format!("its `names` metadata is malformed: {why}"))),
        _ => Ok(io),
    })
}

/// Largest input side accepted, px: four times the largest detector input in use
/// (1280), and a 4096x4096 float input is already 200 MB.
pub const MAX_INPUT_SIDE: u32 = 4096;

/// Largest output accepted, in floats (256 MB): far above any detector head (YOLOX-Nano
/// at 640 has 8400 x 85 = 0.7 M), far below what would exhaust a board's memory.
pub const MAX_OUTPUT_VALUES: usize = 64 << 20;

/// Refuses sizes whose buffers could not be allocated: a model declaring a
/// 100000x100000 input aborted the process on a failed 120 GB allocation.
/// Refuses inputs and outputs too large for a board (see [`MAX_INPUT_SIDE`] and
/// [`MAX_OUTPUT_VALUES`]); an open output dimension is checked after the first run.
pub(crate) fn check_sizes(io: ModelIo) -> Result<ModelIo, String> {
    if io.input_width == 0 || io.input_height == 0 {
        return Err(format!("its input is {}x{}, an empty image", io.input_width, io.input_height));
    }
    if io.input_width > MAX_INPUT_SIDE || io.input_height > MAX_INPUT_SIDE {
        return Err(format!(
            "its input is {}x{}, larger than the {MAX_INPUT_SIDE}x{MAX_INPUT_SIDE} safecross accepts",
            io.input_width, io.input_height
        ));
    }
    let values = io.output_shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
    if values.is_none_or(|n| n > MAX_OUTPUT_VALUES) {
        return Err(format!(
            "its output {:?} holds more than the {MAX_OUTPUT_VALUES} values safecross accepts",
            io.output_shape
        ));
    }
    Ok(io)
}

fn parse_imgsz(text: &str) -> Option<(u32, u32)> {
    let nums: Vec<u32> =
        text.split(|c: char| !c.is_ascii_digit()).filter(|s| !s.is_empty()).filter_map(|s| s.parse().ok()).collect();
    match nums.as_slice() {
        [s] => Some((*s, *s)),
        [h, w] => Some((*h, *w)),
        _ => None,
    }
}

fn show_dims(dims: &[Option<i64>]) -> String {
    let parts: Vec<String> = dims.iter().map(|d| d.map_or("?".to_string(), |v| v.to_string())).collect();
    format!("[{}]", parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imgsz_metadata_forms() {
        assert_eq!(parse_imgsz("[416, 416]"), Some((416, 416)));
        assert_eq!(parse_imgsz("320"), Some((320, 320)));
        assert_eq!(parse_imgsz("[384, 640]"), Some((384, 640)));
        assert_eq!(parse_imgsz("none"), None);
    }
}
