//! The in-process engine: one `ort` front end over ONNX Runtime (loaded at run time) or
//! tract (compiled in), chosen once per process. Not in the browser build, where the
//! page runs the model (see `web/`).

use super::{Backend, BackendChoice, ExecutionProvider, InferConfig, InferError, ModelIo, read_model_io_sized};
use crate::tensor::InputTensor;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// A loaded model, ready to run frame after frame.
pub struct Engine {
    session: ort::session::Session,
    io: ModelIo,
    backend: Backend,
    model_path: PathBuf,
    output: Vec<f32>,
    /// The input converted for a float16 model; empty for float32 ones.
    input_f16: Vec<half::f16>,
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
    #[allow(clippy::result_large_err, reason = "ort's builder steps return its own error, made a string at once")]
    pub fn load(model_path: &Path, config: &InferConfig) -> Result<Self, InferError> {
        let bytes = std::fs::read(model_path)
            .map_err(|source| InferError::ReadModel { path: model_path.to_path_buf(), source })?;
        let io = read_model_io_sized(model_path, &bytes, config.input_size)?;
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
                        .map_err(|e| engine_err(format!("the XNNPACK execution provider is not available in this ONNX Runtime library ({}); set `[infer] execution_provider` to cpu, or use a build with XNNPACK", e.to_string().trim())))?
                }
            };
        }
        let session = builder.commit_from_memory(&bytes).map_err(|e| engine_err(e.to_string()))?;
        let output = vec![0.0; io.output_shape.iter().product()];
        let input_f16 = if io.precision.input_f16 {
            vec![half::f16::ZERO; 3 * io.input_width as usize * io.input_height as usize]
        } else {
            Vec::new()
        };
        let mut engine = Self { session, io, backend, model_path: model_path.to_path_buf(), output, input_f16 };
        if engine.io.output_is_open() {
            engine.learn_output_shape()?;
        }
        let io = &engine.io;
        tracing::info!(backend = %engine.backend, input = ?(io.input_width, io.input_height), output = ?io.output_shape, precision = ?io.precision, "model loaded");
        Ok(engine)
    }

    /// For an output with open dimensions (an ultralytics `dynamic=True` export): one
    /// run on a blank input, at load time, gives the shape every later run must have.
    fn learn_output_shape(&mut self) -> Result<(), InferError> {
        let blank = InputTensor::new(self.io.input_width, self.io.input_height);
        let declared = self.io.output_shape.clone();
        let not_detector = |reason: String| InferError::NotADetector { path: self.model_path.clone(), reason };
        let engine_err = |message: String| InferError::Engine {
            backend: self.backend.name(),
            path: self.model_path.clone(),
            message,
        };
        let shape = {
            let outputs = run_session(&mut self.session, &mut self.input_f16, &self.io, &blank).map_err(engine_err)?;
            let value = outputs
                .get(&self.io.output_name)
                .ok_or_else(|| not_detector(format!("its first run gave no output named {}", self.io.output_name)))?;
            let shape: Vec<usize> = value.shape().iter().map(|&d| usize::try_from(d).unwrap_or(0)).collect();
            shape
        };
        let fits =
            shape.len() == declared.len() && shape.iter().zip(&declared).all(|(&s, &d)| s > 0 && (d == 0 || s == d));
        if !fits {
            return Err(not_detector(format!(
                "its output is declared {declared:?} (0: open) but its first run gave {shape:?}"
            )));
        }
        tracing::info!(declared = ?declared, shape = ?shape, "output shape taken from a first run (dynamic export)");
        self.io.output_shape = shape;
        let io = super::check_sizes(self.io.clone()).map_err(not_detector)?;
        self.output = vec![0.0; io.output_shape.iter().product()];
        self.io = io;
        Ok(())
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
        let engine_err = |message: String| InferError::Engine {
            backend: self.backend.name(),
            path: self.model_path.clone(),
            message,
        };
        let outputs = run_session(&mut self.session, &mut self.input_f16, &self.io, input).map_err(engine_err)?;
        let value = outputs
            .get(&self.io.output_name)
            .ok_or_else(|| engine_err(format!("no output named {}", self.io.output_name)))?;
        let wrong_shape = |out_shape: &ort::value::Shape| {
            engine_err(format!("output has shape {:?}, the model declared {:?}", &**out_shape, self.io.output_shape))
        };
        if self.io.precision.output_f16 {
            let (out_shape, data) = value.try_extract_tensor::<half::f16>().map_err(|e| engine_err(e.to_string()))?;
            if data.len() != self.output.len() {
                return Err(wrong_shape(out_shape));
            }
            for (o, h) in self.output.iter_mut().zip(data) {
                *o = h.to_f32();
            }
        } else {
            let (out_shape, data) = value.try_extract_tensor::<f32>().map_err(|e| engine_err(e.to_string()))?;
            if data.len() != self.output.len() {
                return Err(wrong_shape(out_shape));
            }
            self.output.copy_from_slice(data);
        }
        drop(outputs);
        Ok(&self.output)
    }
}

/// Runs the session on `input`, converting it to float16 (into `input_f16`, made at load
/// time) for half-precision models.
fn run_session<'s>(
    session: &'s mut ort::session::Session,
    input_f16: &mut [half::f16],
    io: &ModelIo,
    input: &InputTensor,
) -> Result<ort::session::SessionOutputs<'s>, String> {
    let shape = input.shape();
    let result = if io.precision.input_f16 {
        if input_f16.len() != input.data.len() {
            return Err(format!("input has {} values, the model takes {}", input.data.len(), input_f16.len()));
        }
        for (h, &v) in input_f16.iter_mut().zip(&input.data) {
            *h = half::f16::from_f32(v);
        }
        let tensor = ort::value::TensorRef::from_array_view((shape, &*input_f16)).map_err(|e| e.to_string())?;
        session.run(ort::inputs![io.input_name.as_str() => tensor])
    } else {
        let tensor =
            ort::value::TensorRef::from_array_view((shape, input.data.as_slice())).map_err(|e| e.to_string())?;
        session.run(ort::inputs![io.input_name.as_str() => tensor])
    };
    result.map_err(|e| e.to_string())
}

/// Resolves and installs the backend for this process, or returns the one already
/// installed when it satisfies the request.
fn activate_backend(config: &InferConfig) -> Result<&'static Backend, InferError> {
    if let Some(active) = ACTIVE_BACKEND.get() {
        let compatible = matches!(
            (config.backend, active),
            (BackendChoice::Auto, _)
                | (BackendChoice::Ort, Backend::OnnxRuntime { .. })
                | (BackendChoice::Tract, Backend::Tract { .. })
        );
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
        BackendChoice::Tract => install_tract("asked for with `[infer] backend` tract".into()),
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
        .chain(exe.into_iter().flat_map(crate::bundled::folders_above).map(Path::to_path_buf));
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
