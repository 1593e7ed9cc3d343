//! Inference: owns the ONNX session and runs the model on one [`InputTensor`].
//!
//! One `ort` front end, two engines behind it, chosen once per process:
//! - **ONNX Runtime**, loaded at run time from a `libonnxruntime` shared library
//!   (4-5 ms for our model on two x86 cores). Nothing is linked at build time, so the
//!   same binary runs on machines with and without it.
//! - **tract**, pure Rust, always compiled in; about 3x slower, needs nothing installed.
//!
//! `ort` holds the chosen engine in a process-wide slot that can be set only once, so
//! [`Engine::load`] resolves the backend on first use and later loads must agree.
//! Model I/O (input size, output shape, class names) is read from the ONNX file itself
//! by [`onnx_meta`] before any engine is touched, so a wrong model fails at start-up
//! with the same message on both engines.
//!
//! Imports: `tensor` and external crates only.

pub mod onnx_meta;

use crate::tensor::InputTensor;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Which engine runs the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, clap::ValueEnum)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, clap::ValueEnum)]
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
}

impl Default for InferConfig {
    fn default() -> Self {
        Self {
            backend: BackendChoice::Auto,
            ort_lib: None,
            intra_threads: 2,
            execution_provider: ExecutionProvider::Cpu,
            spin: false,
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
    #[error("cannot read model {path}: {source}")]
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
        "ONNX Runtime not found; looked in: {looked}. Install it (pip install onnxruntime) and pass --ort-lib <path to libonnxruntime.so> or set ORT_DYLIB_PATH, or use --backend tract"
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
    /// Output shape, all dimensions static.
    pub output_shape: Vec<usize>,
    /// The ONNX `metadata_props`.
    pub metadata: BTreeMap<String, String>,
}

impl ModelIo {
    /// Class names from the `names` metadata entry, when the model has one.
    pub fn class_names(&self) -> Option<Vec<String>> {
        // Malformed names were refused when the model was loaded.
        self.metadata.get("names").and_then(|n| onnx_meta::parse_names(n).ok())
    }
}

/// A loaded model, ready to run frame after frame.
pub struct Engine {
    session: ort::session::Session,
    io: ModelIo,
    backend: Backend,
    model_path: PathBuf,
    output: Vec<f32>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("io", &self.io).field("backend", &self.backend).finish_non_exhaustive()
    }
}

static ACTIVE_BACKEND: OnceLock<Backend> = OnceLock::new();
static ENVIRONMENT: OnceLock<ort::environment::Environment> = OnceLock::new();

/// The process's one ONNX Runtime environment (tract allows only one, and ONNX Runtime
/// wants one anyway), created on first use and shared by every model loaded after.
fn shared_environment() -> Result<&'static ort::environment::Environment, String> {
    if let Some(env) = ENVIRONMENT.get() {
        return Ok(env);
    }
    let env = ort::init().with_name("safecross").build().map_err(|e| e.to_string())?;
    Ok(ENVIRONMENT.get_or_init(|| env))
}

impl Engine {
    /// Reads and checks the model, resolves the backend (once per process) and builds
    /// the session.
    ///
    /// # Errors
    /// [`InferError`] for an unreadable or wrong model, a missing ONNX Runtime with
    /// `--backend ort`, or a session the engine refuses.
    pub fn load(model_path: &Path, config: &InferConfig) -> Result<Self, InferError> {
        let bytes = std::fs::read(model_path)
            .map_err(|source| InferError::ReadModel { path: model_path.to_path_buf(), source })?;
        let io = read_model_io(model_path, &bytes)?;
        let backend = activate_backend(config)?.clone();
        let engine_err =
            |message: String| InferError::Engine { backend: backend.name(), path: model_path.to_path_buf(), message };
        let environment = shared_environment().map_err(engine_err)?;
        let mut builder = ort::session::Session::builder(environment).map_err(|e| engine_err(e.to_string()))?;
        if matches!(backend, Backend::OnnxRuntime { .. }) {
            let threads = config.intra_threads.max(1);
            builder = match config.execution_provider {
                // Flush-to-zero: flat regions (letterbox bars, night sky) drive some
                // activations subnormal, and the pool's worker threads then ran the
                // 640x384 model at 11 ms instead of 6 ms on 2 threads (criterion
                // `inference`, padding-filled input). The model loses nothing by it.
                ExecutionProvider::Cpu => builder
                    .with_intra_threads(threads)
                    .and_then(|b| b.with_flush_to_zero())
                    .and_then(|b| b.with_intra_op_spinning(config.spin))
                    .map_err(|e| engine_err(e.to_string()))?,
                ExecutionProvider::Xnnpack => {
                    // XNNPACK brings its own thread pool; ONNX Runtime's would only compete
                    // with it for the same cores.
                    let xnnpack = ort::ep::XNNPACK::default()
                        .with_intra_op_num_threads(
                            std::num::NonZeroUsize::new(threads).unwrap_or(std::num::NonZeroUsize::MIN),
                        )
                        .build()
                        .error_on_failure();
                    builder
                        .with_intra_threads(1)
                        .and_then(|b| b.with_intra_op_spinning(false))
                        .and_then(|b| b.with_execution_providers([xnnpack]))
                        .map_err(|e| engine_err(format!("the XNNPACK execution provider is not available in this ONNX Runtime library ({}); use --ort-ep cpu or a build with XNNPACK", e.to_string().trim())))?
                }
            };
        }
        let session = builder.commit_from_memory(&bytes).map_err(|e| engine_err(e.to_string()))?;
        let output = vec![0.0; io.output_shape.iter().product()];
        tracing::info!(backend = %backend, input = ?(io.input_width, io.input_height), output = ?io.output_shape, "model loaded");
        Ok(Self { session, io, backend, model_path: model_path.to_path_buf(), output })
    }

    /// The model's inputs, outputs and metadata.
    pub fn io(&self) -> &ModelIo {
        &self.io
    }

    /// The engine that runs.
    pub fn backend(&self) -> &Backend {
        &self.backend
    }

    /// Runs the model and returns the output tensor, flattened in row-major order with
    /// the shape of [`ModelIo::output_shape`]. The slice lives in a buffer owned by the
    /// engine and is overwritten by the next call.
    ///
    /// # Errors
    /// [`InferError::Engine`] when the engine fails or the output shape is not the one
    /// the model declared.
    pub fn run(&mut self, input: &InputTensor) -> Result<&[f32], InferError> {
        let shape = input.shape();
        let engine_err = |message: String| InferError::Engine {
            backend: self.backend.name(),
            path: self.model_path.clone(),
            message,
        };
        let tensor = ort::value::TensorRef::from_array_view((shape, input.data.as_slice()))
            .map_err(|e| engine_err(e.to_string()))?;
        let outputs = self
            .session
            .run(ort::inputs![self.io.input_name.as_str() => tensor])
            .map_err(|e| engine_err(e.to_string()))?;
        let value = outputs
            .get(&self.io.output_name)
            .ok_or_else(|| engine_err(format!("no output named {}", self.io.output_name)))?;
        let (out_shape, data) = value.try_extract_tensor::<f32>().map_err(|e| engine_err(e.to_string()))?;
        if data.len() != self.output.len() {
            return Err(engine_err(format!(
                "output has shape {:?}, the model declared {:?}",
                &**out_shape, self.io.output_shape
            )));
        }
        self.output.copy_from_slice(data);
        drop(outputs);
        Ok(&self.output)
    }
}

fn read_model_io(path: &Path, bytes: &[u8]) -> Result<ModelIo, InferError> {
    let summary = onnx_meta::parse(bytes).map_err(|e| InferError::NotOnnx { path: path.to_path_buf(), reason: e.0 })?;
    let not_detector = |reason: String| InferError::NotADetector { path: path.to_path_buf(), reason };
    let [input] = summary.inputs.as_slice() else {
        return Err(not_detector(format!("it has {} inputs, a detector has one image input", summary.inputs.len())));
    };
    let output = summary.outputs.first().ok_or_else(|| not_detector("it has no outputs".into()))?;
    const FLOAT: i32 = 1;
    if input.elem_type != FLOAT {
        return Err(not_detector(format!("input `{}` is not float32 (ONNX type {})", input.name, input.elem_type)));
    }
    let dims: Vec<Option<i64>> = input.dims.clone();
    let (h, w) = match dims.as_slice() {
        // Sizes beyond u32 saturate here and are refused by `check_sizes`.
        [_, Some(3), Some(h), Some(w)] if *h > 0 && *w > 0 => {
            (u32::try_from(*h).unwrap_or(u32::MAX), u32::try_from(*w).unwrap_or(u32::MAX))
        }
        [_, Some(3), _, _] => {
            let imgsz = summary.metadata.get("imgsz").and_then(|s| parse_imgsz(s));
            imgsz.ok_or_else(|| {
                not_detector(format!(
                    "input `{}` has a dynamic size and no `imgsz` metadata; export it with a fixed input size",
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
    if output.elem_type != FLOAT {
        return Err(not_detector(format!("output `{}` is not float32", output.name)));
    }
    // Any static shape loads (benchmarks run peers with other heads); whether it can be
    // decoded as detections is the decoder's check.
    let output_shape: Option<Vec<usize>> = output
        .dims
        .iter()
        .enumerate()
        .map(|(i, d)| match d {
            Some(v) if *v > 0 => Some(*v as usize),
            None if i == 0 => Some(1),
            _ => None,
        })
        .collect();
    let output_shape = output_shape.filter(|s| !s.is_empty()).ok_or_else(|| {
        not_detector(format!(
            "output `{}` has shape {}, expected a static detection tensor such as [1, rows, columns]",
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
fn check_sizes(io: ModelIo) -> Result<ModelIo, String> {
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

/// Resolves and installs the backend for this process, or returns the one already
/// installed when it satisfies the request.
fn activate_backend(config: &InferConfig) -> Result<&'static Backend, InferError> {
    if let Some(active) = ACTIVE_BACKEND.get() {
        let compatible = match (config.backend, active) {
            (BackendChoice::Auto, _) => true,
            (BackendChoice::Ort, Backend::OnnxRuntime { .. }) => true,
            (BackendChoice::Tract, Backend::Tract { .. }) => true,
            _ => false,
        };
        return if compatible {
            Ok(active)
        } else {
            Err(InferError::BackendConflict {
                active: active.name().into(),
                requested: format!("{:?}", config.backend).to_lowercase(),
            })
        };
    }
    let backend = match config.backend {
        BackendChoice::Tract => install_tract("asked for with --backend tract".into()),
        BackendChoice::Ort => install_ort(config).map_err(|looked| InferError::OrtNotFound { looked })?,
        BackendChoice::Auto => match install_ort(config) {
            Ok(b) => b,
            // A library the user named that does not load is an error, not a reason to
            // run on something else.
            Err(looked) if config.ort_lib.is_some() => return Err(InferError::OrtNotFound { looked }),
            Err(looked) => {
                tracing::info!("ONNX Runtime not found (looked in: {looked}); using tract, which is slower");
                install_tract(format!("ONNX Runtime not found; looked in: {looked}"))
            }
        },
    };
    tracing::info!("inference backend: {backend}");
    // A racing thread may have installed first; whichever won is what ort uses.
    Ok(ACTIVE_BACKEND.get_or_init(|| backend))
}

fn install_tract(reason: String) -> Backend {
    ort::set_api(ort_tract::api());
    Backend::Tract { reason }
}

/// Where `auto` and `ort` look for the library, in order: the configured library alone
/// when there is one; else `ORT_DYLIB_PATH`; the `.venv` that `./quickstart.sh` fills
/// (from the working directory, then beside the repository the executable was built
/// in); the executable's folder; the usual system folders.
pub fn ort_library_candidates(config: &InferConfig) -> Vec<PathBuf> {
    let cwd = std::env::current_dir().unwrap_or_default();
    let exe = std::env::current_exe().ok();
    ort_library_candidates_from(config, std::env::var("ORT_DYLIB_PATH").ok(), &cwd, exe.as_deref())
}

/// [`ort_library_candidates`] with the environment passed in, for tests.
pub fn ort_library_candidates_from(
    config: &InferConfig,
    env_path: Option<String>,
    cwd: &Path,
    exe: Option<&Path>,
) -> Vec<PathBuf> {
    // A library named on the command line or in the config is the only one tried: a
    // user who names one must not silently get another (ORT_DYLIB_PATH's, or tract).
    if let Some(p) = &config.ort_lib {
        return vec![p.clone()];
    }
    let mut candidates: Vec<PathBuf> = env_path.filter(|p| !p.is_empty()).map(PathBuf::from).into_iter().collect();
    let file = format!("{}onnxruntime{}", std::env::consts::DLL_PREFIX, std::env::consts::DLL_SUFFIX);
    // `pip install onnxruntime` into a virtual environment puts the library in
    // .venv/lib/python3.X/site-packages/onnxruntime/capi/, under a versioned name.
    let repos = std::iter::once(cwd.to_path_buf())
        .chain(exe.into_iter().flat_map(|e| e.ancestors().skip(1).take(4)).map(Path::to_path_buf));
    let mut dirs = Vec::new();
    for repo in repos {
        let Ok(entries) = std::fs::read_dir(repo.join(".venv/lib")) else { continue };
        let mut pythons: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        pythons.sort();
        dirs.extend(pythons.into_iter().rev().map(|p| p.join("site-packages/onnxruntime/capi")));
    }
    if let Some(exe_dir) = exe.and_then(Path::parent) {
        dirs.push(exe_dir.join("lib"));
        dirs.push(exe_dir.to_path_buf());
    }
    for d in [
        "/usr/local/lib",
        "/usr/lib",
        "/usr/lib/x86_64-linux-gnu",
        "/usr/lib/aarch64-linux-gnu",
        "/opt/onnxruntime/lib",
    ] {
        dirs.push(PathBuf::from(d));
    }
    for dir in dirs {
        let plain = dir.join(&file);
        // Wheels and release tarballs ship only the versioned name.
        let mut versioned: Vec<PathBuf> = std::fs::read_dir(&dir)
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with(&format!("{file}."))))
            .collect();
        versioned.sort();
        if !candidates.contains(&plain) {
            candidates.push(plain);
        }
        for p in versioned.into_iter().rev() {
            if !candidates.contains(&p) {
                candidates.push(p);
            }
        }
    }
    candidates
}

/// Tries each candidate library; on failure returns the list of places with reasons.
fn install_ort(config: &InferConfig) -> Result<Backend, String> {
    let mut looked = Vec::new();
    for path in ort_library_candidates(config) {
        match load_ort_library(&path) {
            Ok(backend) => return Ok(backend),
            Err(why) => looked.push(format!("{} ({why})", path.display())),
        }
    }
    Err(looked.join(", "))
}

fn load_ort_library(path: &Path) -> Result<Backend, String> {
    if !path.exists() {
        return Err("no such file".into());
    }
    // SAFETY: loading ONNX Runtime runs its static initialisers, which have no
    // preconditions; the library stays loaded for the life of the process (leaked
    // below) because ort keeps function pointers into it.
    let library = unsafe { libloading::Library::new(path) }.map_err(|e| e.to_string())?;
    let api = unsafe {
        let get_base: libloading::Symbol<unsafe extern "C" fn() -> *const ort::sys::OrtApiBase> =
            library.get(b"OrtGetApiBase").map_err(|_| "no OrtGetApiBase symbol; not ONNX Runtime".to_string())?;
        let base = get_base();
        if base.is_null() {
            return Err("OrtGetApiBase returned null".into());
        }
        let version = std::ffi::CStr::from_ptr(((*base).GetVersionString)()).to_string_lossy().into_owned();
        let api = ((*base).GetApi)(ort::sys::ORT_API_VERSION);
        if api.is_null() {
            return Err(format!(
                "version {version} is too old; safecross needs ONNX Runtime with API {} (1.{}+)",
                ort::sys::ORT_API_VERSION,
                ort::sys::ORT_API_VERSION
            ));
        }
        // A table of function pointers owned by the (leaked) library; a bitwise copy is what ort keeps.
        (std::ptr::read(api), version)
    };
    std::mem::forget(library);
    let (api, version) = api;
    ort::set_api(api);
    Ok(Backend::OnnxRuntime { library: path.to_path_buf(), version })
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

    #[test]
    fn onnx_runtime_is_looked_for_in_the_quick_start_venv_after_the_environment() {
        let dir = std::env::temp_dir().join(format!("safecross-ort-{}", std::process::id()));
        let capi = dir.join("repo/.venv/lib/python3.11/site-packages/onnxruntime/capi");
        std::fs::create_dir_all(&capi).unwrap();
        let lib = capi.join("libonnxruntime.so.1.32.0");
        std::fs::write(&lib, b"").unwrap();
        let exe = dir.join("repo/target/release/safecross");
        let elsewhere = dir.join("elsewhere");
        std::fs::create_dir_all(&elsewhere).unwrap();
        let config = InferConfig::default();

        // From any directory, the executable finds its repository's .venv.
        let found = ort_library_candidates_from(&config, None, &elsewhere, Some(&exe));
        let venv_at = found.iter().position(|p| *p == lib).expect("the .venv library is a candidate");
        let system_at = found.iter().position(|p| p.starts_with("/usr")).unwrap();
        assert!(venv_at < system_at, "{found:?}");
        // ORT_DYLIB_PATH comes first; a library named in the config is the only one.
        let env = Some("/opt/ort/libonnxruntime.so".to_string());
        assert_eq!(
            ort_library_candidates_from(&config, env.clone(), &elsewhere, Some(&exe))[0],
            PathBuf::from("/opt/ort/libonnxruntime.so")
        );
        let named = InferConfig { ort_lib: Some(PathBuf::from("/x/libonnxruntime.so")), ..Default::default() };
        assert_eq!(
            ort_library_candidates_from(&named, env, &elsewhere, Some(&exe)),
            [PathBuf::from("/x/libonnxruntime.so")]
        );
        // From the repository itself (the working directory), without an executable path.
        let found = ort_library_candidates_from(&config, None, &dir.join("repo"), None);
        assert_eq!(found.iter().filter(|p| **p == lib).count(), 1, "{found:?}");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn explicit_library_is_tried_first() {
        let config = InferConfig { ort_lib: Some(PathBuf::from("/nowhere/libonnxruntime.so")), ..Default::default() };
        assert_eq!(ort_library_candidates(&config)[0], PathBuf::from("/nowhere/libonnxruntime.so"));
        let err = load_ort_library(Path::new("/nowhere/libonnxruntime.so")).unwrap_err();
        assert!(err.contains("no such file"));
    }
}
