// SafeCross in the browser. The wasm module (pkg/) does everything the native app does
// between the camera and the speaker: preprocessing, decoding, the steady decision, the
// tones and speech. This file only wires the browser to it: camera frames in, the model
// run (onnxruntime-web, or tract inside the wasm), the banner, the live region, the
// sound, vibration, the wake lock and the fail-safe triggers (page hidden, camera gone,
// model error, no frames).
//
// Query parameters (for tests and developers): autostart=1, engine=ort|tract, lang=en|zh,
// threads=N (onnxruntime-web threads, to compare with the default).

import init, { Safecross, hasTract } from "./pkg/safecross_web.js";

const params = new URLSearchParams(location.search);
const $ = (id) => document.getElementById(id);
const ui = {
  lang: $("lang"),
  spoken: $("spoken"),
  engine: $("engine"),
  banner: $("banner"),
  bannerText: $("banner-text"),
  detail: $("detail"),
  stats: $("stats"),
  preview: $("preview"),
  toggle: $("toggle"),
  livePolite: $("live-polite"),
  liveAssertive: $("live-assertive"),
};

const TEXT = {
  en: {
    language: "Language",
    spokenCues: "Spoken cues",
    engine: "Model engine",
    loading: "Loading…",
    start: "Start",
    stop: "Stop",
    ready: "Press Start, then point the phone at the crossing.",
    starting: "Starting camera…",
    stopped: "Stopped.",
    hidden: "Screen hidden: camera paused.",
    cameraEnded: "Camera stopped. Press Start to try again.",
    cameraFailed: "Camera not available: ",
    modelFailed: "Model error: ",
    internalError: "Internal error: ",
    loadFailed: "Could not load SafeCross: ",
  },
  zh: {
    language: "语言",
    spokenCues: "语音提示",
    engine: "模型引擎",
    loading: "正在加载…",
    start: "开始",
    stop: "停止",
    ready: "按开始，然后把手机对准路口。",
    starting: "正在打开摄像头…",
    stopped: "已停止。",
    hidden: "屏幕已隐藏：摄像头暂停。",
    cameraEnded: "摄像头已停止。请按开始重试。",
    cameraFailed: "无法使用摄像头：",
    modelFailed: "模型错误：",
    internalError: "内部错误：",
    loadFailed: "无法加载 SafeCross：",
  },
};

const TICK_MS = 100; // app.tick cadence; the wasm side decides when "no frame" means unknown
const AUDIO_PUMP_MS = 25; // how often the scheduled sound is topped up
const AUDIO_CHUNK_S = 0.02; // one AudioBufferSourceNode
const AUDIO_AHEAD_S = 0.12; // sound kept scheduled: enough to ride over a model run, short enough that a new cue is heard quickly
const AUDIO_TAIL_MS = 3000; // after a stop, keep playing this long so the fault cue is heard
const FPS_WINDOW_S = 2;

// ---- settings: query parameter, else last choice, else default -------------------------

const stored = (key) => localStorage.getItem(`safecross.${key}`);
const store = (key, value) => localStorage.setItem(`safecross.${key}`, value);

ui.lang.value = pick(params.get("lang") ?? stored("lang"), ["en", "zh"], "en");
ui.engine.value = pick(params.get("engine") ?? stored("engine"), ["ort", "tract"], "ort");
ui.spoken.checked = stored("spoken") !== "false";

function pick(value, allowed, fallback) {
  return allowed.includes(value) ? value : fallback;
}

const text = () => TEXT[ui.lang.value];

// ---- state -------------------------------------------------------------------------------

let modelBytes = null; // the ONNX file, for both Safecross (tract, tensor names) and onnxruntime-web
let app = null; // the Safecross instance, made at the first Start (it needs the audio sample rate)
let appLang = null;
let audioCtx = null;
let audioNext = 0; // context time at which the next chunk starts
let audioTimer = 0;
let audioTail = 0;
let tickTimer = 0;
let running = false; // the user pressed Start and not Stop (stays true while the page is hidden)
let active = false; // camera and timers on: running and visible
let camera = null; // { stream, track }
let cameraEpoch = 0; // bumped when the camera stops, so a getUserMedia still pending is dropped
let frameEpoch = 0; // bumped on fault / new instance, so a frame still in the model is dropped
let frameBusy = false;
let frameRequest = 0; // pending requestVideoFrameCallback / requestAnimationFrame handle
let ortReady = null; // Promise<{ort, session}>, made once
let wakeLock = null;
let lastSpokenState = "unknown";
let timeOrigin = null; // performance.now() at the first Start: tS 0

const hasVideoFrameCallback = "requestVideoFrameCallback" in HTMLVideoElement.prototype;
const canvas = document.createElement("canvas");
// CPU-backed canvas: getImageData on every frame would otherwise read back from the GPU.
const canvas2d = canvas.getContext("2d", { willReadFrequently: true });

const log = [];
const stats = {
  frames: 0,
  fps: 0,
  meanInferMs: 0,
  engine: ui.engine.value,
  crossOriginIsolated: self.crossOriginIsolated === true,
  threads: 1,
  audioUnderruns: 0,
};
const recentFrames = []; // tS of the frames of the last FPS_WINDOW_S
let inferMsTotal = 0;
window.safecrossLog = log;
window.safecrossStats = stats;

/** tS: seconds since the first Start, on the page's monotonic clock; given to the wasm
 * side and logged. Counted from Start, not page load, so that in tests it is within
 * ~0.1 s of the fake camera's clip time (the camera opens at Start). */
const nowS = () => (performance.now() - timeOrigin) / 1000;
// For e2e tests: the current tS, null before the first Start.
window.safecrossTime = () => (timeOrigin === null ? null : nowS());

// ---- cross-origin isolation ------------------------------------------------------------
// onnxruntime-web needs SharedArrayBuffer for threads, which needs COOP/COEP headers.
// Static hosts often cannot send them, so sw.js adds them; a page loaded before the
// worker controlled it is not isolated and is reloaded once.

const COI_RELOAD_KEY = "safecross.coi-reload";

async function registerServiceWorker() {
  if (!("serviceWorker" in navigator)) return;
  if (self.crossOriginIsolated) sessionStorage.removeItem(COI_RELOAD_KEY);
  else navigator.serviceWorker.addEventListener("controllerchange", reloadForIsolation);
  try {
    const registration = await navigator.serviceWorker.register("./sw.js");
    // A forced reload (shift-reload) bypasses an already active worker.
    if (registration.active && !navigator.serviceWorker.controller) reloadForIsolation();
  } catch (err) {
    console.warn("service worker not registered:", err);
  }
}

function reloadForIsolation() {
  // Never reload under a user who is crossing; once per tab session, so a browser that
  // stays unisolated anyway (old Safari) is not reloaded in a loop.
  if (self.crossOriginIsolated || running || sessionStorage.getItem(COI_RELOAD_KEY)) return;
  sessionStorage.setItem(COI_RELOAD_KEY, "1");
  location.reload();
}

// ---- start / stop ----------------------------------------------------------------------

function start() {
  if (running || !modelBytes) return;
  // iOS only lets sound start inside the user's tap: the context is made here and
  // resumed, with the first sound scheduled, by activate() before any await.
  audioCtx ??= new AudioContext({ latencyHint: "interactive" });
  try {
    ensureApp();
  } catch (err) {
    showError(text().modelFailed, err);
    return;
  }
  timeOrigin ??= performance.now();
  running = true;
  updateButton();
  activate();
}

function stop(reason) {
  if (!running) return;
  running = false;
  deactivate(reason);
  updateButton();
}

/** Camera, ticks, sound and wake lock on (Start, or the page visible again). */
function activate() {
  if (active) return;
  active = true;
  clearTimeout(audioTail);
  if (audioCtx.state !== "running") audioCtx.resume().catch((err) => console.warn("audio not resumed:", err));
  if (!audioTimer) audioTimer = setInterval(guarded(pumpAudio), AUDIO_PUMP_MS);
  pumpAudio();
  tickTimer = setInterval(guarded(onTick), TICK_MS);
  acquireWakeLock();
  showDetail(text().starting);
  startCamera().catch((err) => {
    showError(text().cameraFailed, err);
    stop(text().cameraFailed + errorText(err));
  });
}

/** Unknown at once, then camera and timers off; the fault cue still plays out. */
function deactivate(reason) {
  if (!active) return;
  active = false;
  clearInterval(tickTimer);
  tickTimer = 0;
  fault(reason);
  stopCamera();
  releaseWakeLock();
  audioTail = setTimeout(() => {
    clearInterval(audioTimer);
    audioTimer = 0;
  }, AUDIO_TAIL_MS);
}

/** A timer callback that stops (unknown, said at once) instead of failing every time. */
function guarded(callback) {
  return () => {
    try {
      callback();
    } catch (err) {
      showError(text().internalError, err);
      stop(text().internalError + errorText(err));
    }
  };
}

function ensureApp() {
  const lang = ui.lang.value;
  if (app && appLang === lang) return;
  const previous = app;
  app = new Safecross(modelBytes, lang, audioCtx.sampleRate);
  app.setSpeech(ui.spoken.checked);
  appLang = lang;
  frameEpoch++; // a frame in flight belongs to the old instance
  previous?.free();
  lastSpokenState = "unknown";
}

function updateButton() {
  ui.toggle.disabled = !modelBytes;
  ui.toggle.textContent = modelBytes ? (running ? text().stop : text().start) : text().loading;
  ui.toggle.toggleAttribute("data-running", running);
}

// ---- camera and frames -----------------------------------------------------------------

async function startCamera() {
  const epoch = ++cameraEpoch;
  const stream = await navigator.mediaDevices.getUserMedia({
    video: { facingMode: "environment", width: { ideal: 1280 }, height: { ideal: 720 } },
    audio: false,
  });
  if (epoch !== cameraEpoch || !active) {
    // Stopped or hidden while the permission prompt was up.
    for (const t of stream.getTracks()) t.stop();
    return;
  }
  const [track] = stream.getVideoTracks();
  camera = { stream, track };
  // The OS ends the track (another app took the camera, the device went away). A track
  // stopped from our side fires no `ended`; onTick watches readyState for both.
  track.addEventListener("ended", cameraEnded);
  ui.preview.srcObject = stream;
  await ui.preview.play();
  // A frame still in the model from before a pause goes on to request the next one itself.
  if (!frameBusy && !frameRequest) requestFrame();
}

function stopCamera() {
  cameraEpoch++;
  cancelFrame();
  if (!camera) return;
  camera.track.removeEventListener("ended", cameraEnded);
  for (const t of camera.stream.getTracks()) t.stop();
  camera = null;
  ui.preview.srcObject = null;
}

function cameraEnded() {
  stop(text().cameraEnded);
}

// Only new camera frames, and only when the last one is done: the callback is requested
// again when a frame is finished, so frames are skipped, never queued.
function requestFrame() {
  frameRequest = hasVideoFrameCallback
    ? ui.preview.requestVideoFrameCallback(onVideoFrame)
    : requestAnimationFrame(onVideoFrame); // may repeat a frame; no way to tell without rVFC
}

function cancelFrame() {
  if (!frameRequest) return;
  if (hasVideoFrameCallback) ui.preview.cancelVideoFrameCallback(frameRequest);
  else cancelAnimationFrame(frameRequest);
  frameRequest = 0;
}

async function onVideoFrame() {
  frameRequest = 0;
  if (!camera) return;
  if (ui.preview.videoWidth > 0) {
    frameBusy = true;
    try {
      await processFrame();
    } catch (err) {
      showError(text().modelFailed, err);
      stop(text().modelFailed + errorText(err));
      return;
    } finally {
      frameBusy = false;
    }
  }
  if (camera && !frameRequest) requestFrame();
}

async function processFrame() {
  const epoch = frameEpoch;
  const instance = app;
  const engine = ui.engine.value;
  const video = ui.preview;
  const w = video.videoWidth;
  const h = video.videoHeight;
  if (canvas.width !== w || canvas.height !== h) {
    canvas.width = w;
    canvas.height = h;
  }
  const tS = nowS();
  canvas2d.drawImage(video, 0, 0, w, h);
  const rgba = canvas2d.getImageData(0, 0, w, h).data;
  let inferMs = 0;

  if (engine === "tract") {
    instance.processTract(rgba, w, h, tS);
    // tract runs inside the call, which times the model's runs itself.
    inferMs = instance.decision().inferMs;
  } else {
    const { ort, session } = await ortSession();
    if (epoch !== frameEpoch) return;
    let input = instance.beginFrame(rgba, w, h, tS);
    while (input !== undefined) {
      const feeds = {
        [instance.inputName]: new ort.Tensor("float32", input, [1, 3, instance.inputHeight, instance.inputWidth]),
      };
      const t0 = performance.now();
      const outputs = await session.run(feeds);
      const runMs = performance.now() - t0;
      inferMs += runMs;
      // Faulted, paused or replaced while the model ran: this frame was taken before
      // that and must not decide anything now.
      if (epoch !== frameEpoch) return;
      input = instance.resumeFrame(outputs[instance.outputName].data, runMs);
    }
  }
  // Logged at the time the decision is made (what the user hears when), not the frame's
  // capture time, so the log is in time order with the ticks and counts the model's delay.
  record("frame", nowS(), inferMs, undefined, tS);
  countFrame(tS, inferMs);
  pumpAudio(); // a long model run may have eaten into the scheduled sound
}

function ortSession() {
  ortReady ??= loadOrt().catch((err) => {
    ortReady = null; // let a later frame try again
    throw err;
  });
  return ortReady;
}

async function loadOrt() {
  const ort = await import("./ort/ort.wasm.min.mjs");
  ort.env.wasm.wasmPaths = new URL("./ort/", import.meta.url).href;
  const cores = navigator.hardwareConcurrency || 1;
  const wanted = Number.parseInt(params.get("threads") ?? "", 10);
  ort.env.wasm.numThreads = Number.isInteger(wanted) && wanted > 0
    ? wanted
    : self.crossOriginIsolated ? Math.min(4, cores) : 1;
  // In a worker: a model run blocks the thread it runs on for tens of ms, which on the
  // page's thread would starve the sound pump and the ticks (measured: up to 140 ms
  // stalls on the page's thread without the proxy, under 30 ms with it).
  ort.env.wasm.proxy = true;
  // The proxy transfers the buffer to its worker; Safecross may need the bytes again.
  const session = await ort.InferenceSession.create(modelBytes.slice(), { executionProviders: ["wasm"] });
  if (ui.engine.value === "ort") stats.threads = ort.env.wasm.numThreads; // as onnxruntime-web settled it
  return { ort, session };
}

// ---- fail-safe triggers ----------------------------------------------------------------

function onTick() {
  if (camera && camera.track.readyState === "ended") {
    cameraEnded();
    return;
  }
  const tS = nowS();
  app.tick(tS);
  record("tick", tS, null);
}

function fault(reason) {
  frameEpoch++;
  const tS = nowS();
  try {
    app.fault(tS);
  } catch (err) {
    // The instance is broken (a panic in the wasm): make a new one at the next Start.
    console.error("fault() failed:", err);
    app = null;
    return;
  }
  record("fault", tS, null, reason);
}

document.addEventListener("visibilitychange", () => {
  if (!running) return;
  if (document.visibilityState === "hidden") deactivate(text().hidden);
  else activate();
});

// ---- decisions -------------------------------------------------------------------------

function record(kind, tS, inferMs, reason, frameTS) {
  const d = app.decision();
  const entry = { tS, kind, state: d.state, basis: d.basis, spoken: d.spoken, looks: d.looks, inferMs };
  if (frameTS !== undefined) entry.frameTS = frameTS;
  if (reason !== undefined) entry.reason = reason;
  log.push(entry);
  show(d, reason);
  const pattern = app.vibration(tS);
  // Chrome refuses (and logs an error) before the first tap, as under ?autostart=1.
  if (pattern !== undefined && "vibrate" in navigator && (navigator.userActivation?.hasBeenActive ?? true)) {
    navigator.vibrate(pattern);
  }
}

/** The decision on screen and, when there is something new to say, in a live region.
 * `reason`: why a fault happened; shown instead of the wasm's detail and said after its words. */
function show(d, reason) {
  if (ui.banner.dataset.state !== d.state) ui.banner.dataset.state = d.state;
  setText(ui.bannerText, d.banner);
  setText(ui.detail, reason ?? d.detail);
  const words = [d.spoken, reason].filter((w) => typeof w === "string" && w !== "");
  if (words.length) {
    // A fault, or a change into or out of walk, interrupts what the screen reader says.
    const assertive = reason !== undefined || (d.state === "walk") !== (lastSpokenState === "walk");
    lastSpokenState = d.state;
    announce(words.join(" "), assertive);
  }
}

function announce(words, assertive) {
  const region = assertive ? ui.liveAssertive : ui.livePolite;
  (assertive ? ui.livePolite : ui.liveAssertive).textContent = "";
  // A live region is read when its text changes: the same words again need a change.
  region.textContent = region.textContent === words ? `${words}\u00a0` : words;
}

function setText(el, value) {
  if (el.textContent !== value) el.textContent = value;
}

function showDetail(message) {
  setText(ui.detail, message);
}

function showError(prefix, err) {
  console.error(prefix, err);
  const message = prefix + errorText(err);
  showDetail(message);
  announce(message, true);
}

const errorText = (err) => (err instanceof Error ? err.message : String(err));

function countFrame(tS, inferMs) {
  stats.frames++;
  inferMsTotal += inferMs;
  stats.meanInferMs = inferMsTotal / stats.frames;
  recentFrames.push(tS);
  while (recentFrames[0] < tS - FPS_WINDOW_S) recentFrames.shift();
  const span = tS - recentFrames[0];
  stats.fps = span > 0 ? (recentFrames.length - 1) / span : 0;
  showStats();
}

function showStats() {
  const isolation = stats.crossOriginIsolated ? "isolated" : "not isolated";
  ui.stats.textContent =
    `${stats.engine} · ${stats.threads} thread${stats.threads === 1 ? "" : "s"} · ${isolation} · ` +
    `${stats.fps.toFixed(1)} fps · model ${stats.meanInferMs.toFixed(0)} ms · ${stats.frames} frames`;
}

// ---- sound -------------------------------------------------------------------------------

// The wasm renders the cue sound sample by sample; it is played as a chain of short
// buffers kept a little ahead of the context's clock.
// Also while the context is still suspended (its clock stands, so this stops 120 ms
// ahead): a source started inside the tap is what unlocks sound on older iOS.
function pumpAudio() {
  if (!audioCtx || !app) return;
  const rate = audioCtx.sampleRate;
  const now = audioCtx.currentTime;
  if (audioNext < now) {
    if (audioNext > 0) stats.audioUnderruns++;
    audioNext = now + 0.01; // start just ahead so the first chunk is not cut
  }
  const frames = Math.round(AUDIO_CHUNK_S * rate);
  while (audioNext < now + AUDIO_AHEAD_S) {
    const buffer = audioCtx.createBuffer(1, frames, rate);
    app.renderAudio(buffer.getChannelData(0));
    const source = audioCtx.createBufferSource();
    source.buffer = buffer;
    source.connect(audioCtx.destination);
    source.start(audioNext);
    audioNext += frames / rate;
  }
}

// ---- wake lock ---------------------------------------------------------------------------

async function acquireWakeLock() {
  if (!("wakeLock" in navigator) || wakeLock) return;
  try {
    const lock = await navigator.wakeLock.request("screen");
    if (!active) {
      lock.release(); // stopped or hidden while it was being granted
      return;
    }
    wakeLock = lock;
    // The browser drops it when the page is hidden; activate() asks again on return.
    lock.addEventListener("release", () => {
      if (wakeLock === lock) wakeLock = null;
    });
  } catch (err) {
    console.warn("wake lock not granted:", err);
  }
}

function releaseWakeLock() {
  wakeLock?.release().catch(() => {});
  wakeLock = null;
}

// ---- settings changes --------------------------------------------------------------------

function applyLanguage() {
  const lang = ui.lang.value;
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  for (const el of document.querySelectorAll("label [data-text]")) el.textContent = TEXT[lang][el.dataset.text];
  updateButton();
}

ui.lang.addEventListener("change", () => {
  store("lang", ui.lang.value);
  applyLanguage();
  if (!running && modelBytes) showDetail(text().ready);
  if (running) {
    try {
      ensureApp();
    } catch (err) {
      showError(text().modelFailed, err);
      stop(text().modelFailed + errorText(err));
    }
  }
});

ui.engine.addEventListener("change", () => {
  store("engine", ui.engine.value);
  stats.engine = ui.engine.value;
  stats.threads = 1; // tract in wasm is single-threaded; loadOrt sets the ORT figure
  stats.frames = 0;
  inferMsTotal = 0;
  stats.meanInferMs = 0;
  recentFrames.length = 0;
  if (ui.engine.value === "ort") {
    ortSession()
      .then(({ ort }) => (stats.threads = ort.env.wasm.numThreads))
      .catch((err) => console.warn("onnxruntime-web not loaded yet:", err));
  }
  showStats();
});

ui.spoken.addEventListener("change", () => {
  store("spoken", String(ui.spoken.checked));
  // Off: tones only; the live region still gets the words, for the screen reader.
  app?.setSpeech(ui.spoken.checked);
});

ui.toggle.addEventListener("click", () => (running ? stop(text().stopped) : start()));

// For e2e tests: end the camera the way the OS would (onTick notices the ended track).
window.safecrossTestStopCamera = () => camera?.track.stop();

// ---- boot --------------------------------------------------------------------------------

async function boot() {
  applyLanguage();
  showDetail(text().loading);
  registerServiceWorker();
  try {
    const [, bytes] = await Promise.all([init(), fetchModel()]);
    modelBytes = bytes;
    // The default build leaves tract out (web/build.sh --with-tract adds it): then there
    // is nothing to choose, and asking for it by URL is an error, not a quiet switch.
    if (!hasTract()) {
      if (params.get("engine") === "tract") throw new Error("this build has no tract engine (web/build.sh --with-tract)");
      ui.engine.value = "ort";
      stats.engine = "ort";
      ui.engine.closest("label").hidden = true;
    }
  } catch (err) {
    showError(text().loadFailed, err);
    return;
  }
  // Have onnxruntime-web ready before Start; a failure shows again at the first frame.
  if (ui.engine.value === "ort") {
    ortSession().catch((err) => console.warn("onnxruntime-web not loaded yet:", err));
  }
  updateButton();
  showDetail(text().ready);
  showStats();
  if (params.get("autostart") === "1") start();
}

async function fetchModel() {
  const response = await fetch("./models/safecross-tl.onnx");
  if (!response.ok) throw new Error(`models/safecross-tl.onnx: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

boot();
