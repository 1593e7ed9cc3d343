//! safecross in the browser: the library's own stages (preprocess, decode, select,
//! smoother, speech policy, tones and speech) compiled to WebAssembly, driven by the page
//! in `web/static/app.js`.
//!
//! The page is the source and the speaker: it hands camera frames in, runs the model
//! with onnxruntime-web between [`Safecross::begin_frame`] and
//! [`Safecross::resume_frame`] (or inside this module with tract, the measured
//! alternative), and pulls the cue samples out with [`Safecross::render_audio`]. No
//! decision logic lives in JavaScript.

use safecross::config::Config;
use safecross::cue::{Announcement, CueConfig, CueMode, CueRenderer, Lang, SpeechBank, SpeechPolicy, tones};
use safecross::decide::Decision;
use safecross::frame::Frame;
use safecross::infer::{ModelIo, read_model_io};
use safecross::pipeline::{FrameDecision, FrameSteps, Step};
use safecross::signal::{Basis, SignalState};
use serde::Serialize;
use std::path::Path;
use std::time::Duration;
use wasm_bindgen::prelude::*;

/// How long one vibration pattern lasts before the page asks for the next, s.
const VIBRATION_S: f64 = 2.0;

/// The model's name in messages (the page fetches it from here).
const MODEL_NAME: &str = "models/safecross-tl.onnx";

/// What the page shows and logs after each decided frame, tick or fault.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct Report {
    t_s: f64,
    state: SignalState,
    basis: Basis,
    /// Large text for a sighted companion.
    banner: &'static str,
    /// What the decision rests on, in words.
    detail: String,
    signal_in_view: bool,
    /// The words that start to be said now, if any: the page puts them in its live region.
    spoken: Option<String>,
    /// Model runs for this frame: 0 for a tick or fault, 2 with a second look.
    looks: u8,
    preprocess_ms: f64,
    decode_ms: f64,
    decide_ms: f64,
    /// Model time measured inside this module (tract only; the page times onnxruntime-web).
    infer_ms: f64,
}

/// Whether this build can run the model with tract ([`Safecross::process_tract`]).
#[wasm_bindgen(js_name = hasTract)]
pub fn has_tract() -> bool {
    cfg!(feature = "tract")
}

/// One safecross session in a page. See the module docs.
#[wasm_bindgen]
pub struct Safecross {
    steps: FrameSteps,
    io: ModelIo,
    frame: Frame,
    /// Model time of the current frame's runs, as the page reported them.
    infer: Duration,
    looks: u8,
    policy: SpeechPolicy,
    renderer: CueRenderer,
    /// Settings the renderer is rebuilt from when speech is switched on or off.
    cue: CueConfig,
    bank: SpeechBank,
    lang: Lang,
    /// The latest time the speech policy was told: a frame's time is its capture time,
    /// which may be older than the last tick's, and the policy's clock must not run back.
    clock: f64,
    report: Option<Report>,
    /// Media time at which the current vibration pattern runs out, and its state.
    vibrating: Option<(f64, SignalState)>,
    /// The model for tract, loaded at its first frame, and the bytes to load it from.
    #[cfg(feature = "tract")]
    tract: Option<tract::TractModel>,
    #[cfg(feature = "tract")]
    model_bytes: Vec<u8>,
}

#[wasm_bindgen]
impl Safecross {
    /// Builds every stage for the ONNX model in `model`; `lang` is `en` or `zh`;
    /// `sample_rate` the audio context's rate, Hz.
    ///
    /// # Errors
    /// A message naming what is wrong with the model or the language.
    #[wasm_bindgen(constructor)]
    pub fn new(model: &[u8], lang: &str, sample_rate: u32) -> Result<Safecross, JsError> {
        let lang: Lang = lang.parse().map_err(|e| JsError::new(&format!("{e}")))?;
        let config = Config::default();
        let path = Path::new(MODEL_NAME);
        let io = read_model_io(path, model).map_err(|e| JsError::new(&safecross::error_chain(&e)))?;
        if io.output_is_open() {
            return Err(JsError::new("the web app runs models with a fixed output shape; export without dynamic=True"));
        }
        if io.precision != safecross::infer::Precision::default() {
            // The page hands onnxruntime-web float32 tensors and reads float32 back.
            return Err(JsError::new("the web app runs float32 models only; this one is float16"));
        }
        let steps = FrameSteps::new(&config, &io, path).map_err(|e| JsError::new(&safecross::error_chain(&e)))?;
        let cue = CueConfig { lang, sample_rate_hz: sample_rate, ..CueConfig::default() };
        cue.validate().map_err(|e| JsError::new(&safecross::error_chain(&e)))?;
        let bank = SpeechBank::load(lang, sample_rate).map_err(|e| JsError::new(&safecross::error_chain(&e)))?;
        Ok(Self {
            steps,
            io,
            frame: Frame::default(),
            infer: Duration::ZERO,
            looks: 0,
            policy: SpeechPolicy::new(),
            renderer: CueRenderer::new(&cue, Some(bank.clone())),
            cue,
            bank,
            lang,
            clock: 0.0,
            report: None,
            vibrating: None,
            #[cfg(feature = "tract")]
            tract: None,
            #[cfg(feature = "tract")]
            model_bytes: model.to_vec(),
        })
    }

    /// Model input width, px.
    #[wasm_bindgen(getter, js_name = inputWidth)]
    pub fn input_width(&self) -> u32 {
        self.io.input_width
    }

    /// Model input height, px.
    #[wasm_bindgen(getter, js_name = inputHeight)]
    pub fn input_height(&self) -> u32 {
        self.io.input_height
    }

    /// The ONNX input's name.
    #[wasm_bindgen(getter, js_name = inputName)]
    pub fn input_name(&self) -> String {
        self.io.input_name.clone()
    }

    /// The ONNX output's name.
    #[wasm_bindgen(getter, js_name = outputName)]
    pub fn output_name(&self) -> String {
        self.io.output_name.clone()
    }

    /// The output's shape.
    #[wasm_bindgen(js_name = outputDims)]
    pub fn output_dims(&self) -> Vec<u32> {
        self.io.output_shape.iter().map(|&d| d as u32).collect()
    }

    /// Starts on a camera frame: `rgba` as `getImageData` gives it, at `t_s` seconds
    /// since the start. Returns the model's input, NCHW `[1, 3, height, width]`.
    ///
    /// # Errors
    /// When `rgba` does not hold `width` x `height` pixels.
    #[wasm_bindgen(js_name = beginFrame)]
    pub fn begin_frame(
        &mut self,
        rgba: &[u8],
        width: u32,
        height: u32,
        t_s: f64,
    ) -> Result<js_sys::Float32Array, JsError> {
        self.load_frame(rgba, width, height, t_s)?;
        let input = self.steps.begin(&self.frame).map_err(|e| JsError::new(&safecross::error_chain(&e)))?;
        // Copied once, straight into a JS array: the page hands it on to onnxruntime-web.
        Ok(js_sys::Float32Array::from(input.data.as_slice()))
    }

    /// Takes the model's output for the last input, which took `infer_ms` to compute.
    /// Returns the next input to run the model on (a second look at a far head), or
    /// `undefined` when the frame is decided (see [`Safecross::decision`]).
    ///
    /// # Errors
    /// When no output was awaited.
    #[wasm_bindgen(js_name = resumeFrame)]
    pub fn resume_frame(&mut self, output: &[f32], infer_ms: f64) -> Result<Option<js_sys::Float32Array>, JsError> {
        let infer_s = if infer_ms.is_finite() { (infer_ms / 1e3).clamp(0.0, 60.0) } else { 0.0 };
        let infer = Duration::from_secs_f64(infer_s);
        self.infer += infer;
        self.looks += 1;
        match self.steps.resume(&self.frame, output, infer).map_err(|e| JsError::new(&safecross::error_chain(&e)))? {
            Step::Infer(next) => Ok(Some(js_sys::Float32Array::from(next.data.as_slice()))),
            Step::Decided(fd) => {
                self.decided(&fd);
                Ok(None)
            }
        }
    }

    /// The whole frame with the model run by tract inside this module (the comparison
    /// option; the first call loads the model, which takes a while).
    ///
    /// # Errors
    /// When tract cannot load or run the model, or the frame is malformed.
    #[wasm_bindgen(js_name = processTract)]
    pub fn process_tract(&mut self, rgba: &[u8], width: u32, height: u32, t_s: f64) -> Result<(), JsError> {
        #[cfg(feature = "tract")]
        {
            if self.tract.is_none() {
                self.tract = Some(tract::TractModel::load(&self.model_bytes, &self.io)?);
            }
            self.load_frame(rgba, width, height, t_s)?;
            let Some(model) = self.tract.as_mut() else { return Err(JsError::new("tract model missing")) };
            let mut input = self.steps.begin(&self.frame).map_err(|e| JsError::new(&safecross::error_chain(&e)))?;
            loop {
                let t0 = web_time::Instant::now();
                let output = model.run(&input.data)?;
                let infer = t0.elapsed();
                self.infer += infer;
                self.looks += 1;
                match self
                    .steps
                    .resume(&self.frame, output, infer)
                    .map_err(|e| JsError::new(&safecross::error_chain(&e)))?
                {
                    Step::Infer(next) => input = next,
                    Step::Decided(fd) => {
                        self.decided(&fd);
                        return Ok(());
                    }
                }
            }
        }
        #[cfg(not(feature = "tract"))]
        {
            let _ = (rgba, width, height, t_s);
            Err(JsError::new("this build has no tract engine (web/build.sh --with-tract adds it); use onnxruntime-web"))
        }
    }

    /// Advances time with no new decided frame: after 1 s without one (a stalled camera
    /// or model) the decision falls to unknown and the walk tick stops.
    pub fn tick(&mut self, t_s: f64) {
        let t_s = self.advance(t_s);
        let decision = self.steps.tick(t_s);
        self.publish(t_s, &decision, false, 0, None);
    }

    /// The page was hidden, the camera ended or the model failed at `t_s`: unknown at
    /// once, and said at once.
    pub fn fault(&mut self, t_s: f64) {
        let t_s = self.advance(t_s);
        let decision = self.steps.fault(t_s);
        let start = self.policy.fault(t_s);
        self.renderer.start(&start);
        let spoken = words(t_s, &start, self.lang);
        self.report = Some(self.report_of(t_s, &decision, false, 0, None, spoken));
    }

    /// Switches the pre-rendered speech on or off; off leaves the tones alone, for a
    /// user whose screen reader already speaks the page's live region. What is heard
    /// next starts from the current state.
    #[wasm_bindgen(js_name = setSpeech)]
    pub fn set_speech(&mut self, on: bool) {
        self.cue.mode = if on { CueMode::Both } else { CueMode::Tones };
        let bank = on.then(|| self.bank.clone());
        let state = self.renderer.state();
        self.renderer = CueRenderer::new(&self.cue, bank);
        if let Some(state) = state {
            let basis = self.report.as_ref().map_or(Basis::None, |r| r.basis);
            self.renderer.set(state, basis);
        }
    }

    /// The last decision, tick or fault, as an object (see `web/API.md`), or `null`
    /// before the first.
    pub fn decision(&self) -> JsValue {
        self.report
            .as_ref()
            .and_then(|r| serde_json::to_string(r).ok())
            .and_then(|json| js_sys::JSON::parse(&json).ok())
            .unwrap_or(JsValue::NULL)
    }

    /// Fills `out` with the next mono samples of the cues at the page's sample rate.
    #[wasm_bindgen(js_name = renderAudio)]
    pub fn render_audio(&mut self, out: &mut [f32]) {
        self.renderer.fill(out);
    }

    /// A `navigator.vibrate` pattern (ms on, ms off, ...) mirroring the current state's
    /// tones, when the state changed or the last pattern ran out; `undefined` otherwise.
    pub fn vibration(&mut self, t_s: f64) -> Option<Vec<u32>> {
        let state = self.report.as_ref().map_or(SignalState::Unknown, |r| r.state);
        let due = match self.vibrating {
            Some((until, was)) => was != state || t_s >= until,
            None => true,
        };
        if !due {
            return None;
        }
        self.vibrating = Some((t_s + VIBRATION_S, state));
        Some(tones::vibration(tones::pattern(state), VIBRATION_S))
    }
}

impl Safecross {
    /// Copies an RGBA picture into the frame (RGB), reusing its buffer.
    fn load_frame(&mut self, rgba: &[u8], width: u32, height: u32, t_s: f64) -> Result<(), JsError> {
        let pixels = width as usize * height as usize;
        if width == 0 || height == 0 || rgba.len() != pixels * 4 {
            return Err(JsError::new(&format!(
                "a {width}x{height} frame needs {} RGBA bytes, got {}",
                pixels * 4,
                rgba.len()
            )));
        }
        self.frame.reshape(width, height);
        for (rgb, px) in self.frame.rgb.chunks_exact_mut(3).zip(rgba.chunks_exact(4)) {
            rgb.copy_from_slice(&px[..3]);
        }
        self.frame.pts = Duration::from_secs_f64(t_s.max(0.0));
        self.infer = Duration::ZERO;
        self.looks = 0;
        Ok(())
    }

    fn decided(&mut self, fd: &FrameDecision) {
        let t_s = self.frame.t_s();
        let looks = self.looks;
        self.publish(t_s, &fd.decision, fd.signal_in_view, looks, Some(fd));
    }

    /// The policy's time for an event at `t_s`: never earlier than the last one.
    fn advance(&mut self, t_s: f64) -> f64 {
        if t_s.is_finite() && t_s > self.clock {
            self.clock = t_s;
        }
        self.clock
    }

    /// Hands a decision to the speech policy and the renderer, and keeps its report.
    fn publish(&mut self, t_s: f64, decision: &Decision, seen: bool, looks: u8, fd: Option<&FrameDecision>) {
        let t_s = self.advance(t_s);
        let start = self.policy.update(t_s, decision.state, decision.basis, seen);
        match &start {
            Some(start) => self.renderer.start(start),
            None => {
                self.renderer.set(decision.state, decision.basis);
            }
        }
        let spoken = start.and_then(|s| words(t_s, &s, self.lang));
        self.report = Some(self.report_of(t_s, decision, seen, looks, fd, spoken));
    }

    fn report_of(
        &self,
        t_s: f64,
        decision: &Decision,
        seen: bool,
        looks: u8,
        fd: Option<&FrameDecision>,
        spoken: Option<String>,
    ) -> Report {
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        let times = fd.map(|f| f.times).unwrap_or_default();
        Report {
            t_s,
            state: decision.state,
            basis: decision.basis,
            banner: banner(decision.state, self.lang),
            detail: detail(decision, fd, self.lang),
            signal_in_view: seen,
            spoken,
            looks,
            preprocess_ms: ms(times.preprocess),
            decode_ms: ms(times.decode),
            decide_ms: ms(times.decide),
            infer_ms: ms(self.infer),
        }
    }
}

/// The words a cue start warrants, whether or not speech is heard: with speech off,
/// the page's live region is how a screen reader says them.
fn words(t_s: f64, start: &safecross::cue::CueStart, lang: Lang) -> Option<String> {
    Announcement::of(t_s, start, CueMode::Both, lang).map(|a| a.text).filter(|t| !t.is_empty())
}

/// The banner's words: what to do, never "safe".
fn banner(state: SignalState, lang: Lang) -> &'static str {
    match (state, lang) {
        (SignalState::Walk, Lang::En) => "WALK",
        (SignalState::DontWalk, Lang::En) => "DON'T WALK",
        (SignalState::Changing, Lang::En) => "CHANGING",
        (SignalState::Unknown, Lang::En) => "NO SIGNAL / UNSURE",
        (SignalState::Walk, Lang::Zh) => "通行",
        (SignalState::DontWalk, Lang::Zh) => "请等待",
        (SignalState::Changing, Lang::Zh) => "即将变灯",
        (SignalState::Unknown, Lang::Zh) => "未找到信号灯",
    }
}

/// One line on what the decision rests on.
fn detail(decision: &Decision, fd: Option<&FrameDecision>, lang: Lang) -> String {
    let basis = match (decision.basis, lang) {
        (Basis::Pedestrian, Lang::En) => "pedestrian signal",
        (Basis::Vehicle, Lang::En) => "vehicle signal (no pedestrian signal in view)",
        (Basis::None, Lang::En) => "",
        (Basis::Pedestrian, Lang::Zh) => "行人信号灯",
        (Basis::Vehicle, Lang::Zh) => "机动车信号灯（未见行人信号灯）",
        (Basis::None, Lang::Zh) => "",
    };
    let seen = fd.is_some_and(|f| f.signal_in_view);
    match (decision.state, lang) {
        (SignalState::Unknown, Lang::En) if seen => "Signal seen, checking".into(),
        (SignalState::Unknown, Lang::En) if fd.is_none() => "No recent camera frame".into(),
        (SignalState::Unknown, Lang::En) => "No signal found".into(),
        (SignalState::Unknown, Lang::Zh) if seen => "看到信号灯，正在确认".into(),
        (SignalState::Unknown, Lang::Zh) if fd.is_none() => "摄像头没有新画面".into(),
        (SignalState::Unknown, Lang::Zh) => "未找到信号灯".into(),
        (_, Lang::En) => format!("From the {basis}, {:.0}% sure", decision.confidence * 100.0),
        (_, Lang::Zh) => format!("依据{basis}，置信度 {:.0}%", decision.confidence * 100.0),
    }
}

#[cfg(feature = "tract")]
mod tract {
    //! The model run inside the module by tract: the comparison option to
    //! onnxruntime-web.

    use safecross::infer::ModelIo;
    use tract_onnx::prelude::*;
    use wasm_bindgen::JsError;

    pub(super) struct TractModel {
        plan: std::sync::Arc<TypedRunnableModel>,
        shape: [usize; 4],
        output: Vec<f32>,
    }

    impl TractModel {
        pub(super) fn load(bytes: &[u8], io: &ModelIo) -> Result<Self, JsError> {
            let err = |e: TractError| JsError::new(&format!("tract cannot load the model: {e}"));
            let shape = [1, 3, io.input_height as usize, io.input_width as usize];
            let plan = tract_onnx::onnx()
                .model_for_read(&mut std::io::Cursor::new(bytes))
                .and_then(|m| m.with_input_fact(0, f32::fact(shape).into()))
                .and_then(|m| m.into_optimized())
                .and_then(|m| m.into_runnable())
                .map_err(err)?;
            Ok(Self { plan, shape, output: Vec::new() })
        }

        pub(super) fn run(&mut self, input: &[f32]) -> Result<&[f32], JsError> {
            let err = |e: TractError| JsError::new(&format!("tract failed: {e}"));
            let tensor = Tensor::from_shape(&self.shape, input).map_err(err)?;
            let outputs = self.plan.run(tvec!(tensor.into())).map_err(err)?;
            let view = outputs[0].to_plain_array_view::<f32>().map_err(err)?;
            self.output.clear();
            self.output.extend(view.iter());
            Ok(&self.output)
        }
    }
}
