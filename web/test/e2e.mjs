#!/usr/bin/env node
// End-to-end run of the web app in headless Chromium, with a video file as the camera.
//
//   node web/test/e2e.mjs --url http://127.0.0.1:8080/ --y4m /tmp/cn.y4m --seconds 30 \
//     --engine ort|tract --out log.json [--screenshot-dir DIR] [--hide-at S [--hide-for S]]
//     [--stop-camera-at S] [--threads N] [--lang en|zh] [--chromium /usr/bin/chromium]
//
// Times are the page's tS, the clock of its log: seconds since the app started (with
// ?autostart=1, once loaded), which is within ~0.1 s of the clip's own time since the
// fake camera opens then. --hide-at hides the page for the rest of the run, or for
// --hide-for seconds. Writes
// {log, stats, errors} as JSON: window.safecrossLog and window.safecrossStats at the end.
// Page console errors and uncaught exceptions go to stderr and make the exit status 1.
//
// Make the camera video with: ffmpeg -y -i samples/cn-day-countdown.mp4 -pix_fmt yuv420p /tmp/cn.y4m
// (Chromium plays it in a loop at its own frame rate.)

import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import { chromium } from "playwright-core";

const { values: opt } = parseArgs({
  options: {
    url: { type: "string" },
    y4m: { type: "string" },
    seconds: { type: "string" },
    engine: { type: "string", default: "ort" },
    out: { type: "string" },
    "screenshot-dir": { type: "string" },
    "hide-at": { type: "string" },
    "hide-for": { type: "string" },
    "stop-camera-at": { type: "string" },
    threads: { type: "string" },
    lang: { type: "string" },
    chromium: { type: "string", default: "/usr/bin/chromium" },
  },
});

function fail(message) {
  console.error(`e2e: ${message}`);
  process.exit(2);
}

for (const name of ["url", "y4m", "seconds", "out"]) if (opt[name] === undefined) fail(`--${name} is required`);
if (!["ort", "tract"].includes(opt.engine)) fail("--engine must be ort or tract");
const seconds = number("seconds");
const hideAt = number("hide-at");
const hideFor = number("hide-for");
const stopCameraAt = number("stop-camera-at");

function number(name) {
  if (opt[name] === undefined) return undefined;
  const value = Number(opt[name]);
  if (!Number.isFinite(value) || value < 0) fail(`--${name} must be a number of seconds`);
  return value;
}

const url = new URL(opt.url);
url.searchParams.set("autostart", "1");
url.searchParams.set("engine", opt.engine);
if (opt.threads !== undefined) url.searchParams.set("threads", opt.threads);
if (opt.lang !== undefined) url.searchParams.set("lang", opt.lang);

const errors = []; // page errors, and this script's own failure
const browser = await chromium.launch({
  executablePath: opt.chromium,
  args: [
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    `--use-file-for-fake-video-capture=${path.resolve(opt.y4m)}`,
    "--autoplay-policy=no-user-gesture-required",
  ],
});

try {
  // A phone held upright.
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2 });
  const page = await context.newPage();
  page.on("console", (msg) => {
    if (msg.type() === "error") {
      errors.push(msg.text());
      console.error(`page console.error: ${msg.text()}`);
    } else if (msg.type() === "warning") {
      console.error(`page console.warn: ${msg.text()}`);
    }
  });
  page.on("pageerror", (err) => {
    errors.push(String(err));
    console.error(`page error: ${err.stack ?? err}`);
  });

  await page.goto(url.href, { waitUntil: "load" });

  // Wait for the app to start (it loads the wasm and the model first), then set the
  // page's tS clock against ours, so page times can be waited for from here (polling
  // inside the page would stall while it is hidden). The page may be busy: take the
  // middle of the round trip.
  const loadDeadline = Date.now() + 60_000;
  let pageOrigin = null;
  while (pageOrigin === null) {
    if (errors.length) throw new Error("the page failed while loading");
    if (Date.now() > loadDeadline) throw new Error("the app did not start within 60 s");
    const before = Date.now();
    const tS = await page.evaluate(() => window.safecrossTime?.() ?? null);
    if (tS !== null) pageOrigin = (before + Date.now()) / 2000 - tS;
    else await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const pageTime = () => Date.now() / 1000 - pageOrigin;

  const events = [];
  if (hideAt !== undefined) {
    events.push({ at: hideAt, run: () => setHidden(page, true), what: "page hidden" });
    if (hideFor !== undefined) {
      events.push({ at: hideAt + hideFor, run: () => setHidden(page, false), what: "page visible" });
    }
  }
  if (stopCameraAt !== undefined) {
    events.push({ at: stopCameraAt, run: () => page.evaluate(() => window.safecrossTestStopCamera()), what: "camera stopped" });
  }
  events.sort((a, b) => a.at - b.at);

  const shotDir = opt["screenshot-dir"];
  if (shotDir) await mkdir(shotDir, { recursive: true });
  const shot = new Set();
  let hidden = false;

  while (pageTime() < seconds) {
    while (events.length && events[0].at <= pageTime()) {
      const event = events.shift();
      await event.run();
      if (event.what.startsWith("page ")) hidden = event.what === "page hidden";
      console.error(`e2e: ${event.what} at ${pageTime().toFixed(2)} s`);
    }
    if (shotDir && !hidden) {
      const state = await page.evaluate(() => document.getElementById("banner").dataset.state);
      if (!shot.has(state) && (await page.evaluate(() => window.safecrossLog.length)) > 0) {
        shot.add(state);
        await page.screenshot({ path: path.join(shotDir, `${state}.png`) });
        console.error(`e2e: ${state}.png at ${pageTime().toFixed(2)} s`);
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  const result = await page.evaluate(() => ({ log: window.safecrossLog, stats: window.safecrossStats }));
  await writeFile(opt.out, JSON.stringify({ ...result, errors }, null, 1));
  const frames = result.log.filter((e) => e.kind === "frame").length;
  console.error(
    `e2e: ${frames} frames, ${result.stats.fps.toFixed(1)} fps, model ${result.stats.meanInferMs.toFixed(1)} ms/frame, ` +
      `${result.stats.engine}, ${result.stats.threads} thread(s), crossOriginIsolated ${result.stats.crossOriginIsolated}`,
  );
} catch (err) {
  console.error(`e2e: ${err.message}`);
  errors.push(err.message);
} finally {
  await browser.close();
}
process.exit(errors.length ? 1 : 0);

// Headless Chromium keeps every page visible: switching tabs (bringToFront,
// Target.activateTarget), minimising the window and Page.setWebLifecycleState leave
// document.visibilityState "visible" (checked with Chromium 156). So the page's view of
// it is overridden and the event the browser would send is dispatched; the app reads
// document.visibilityState, as it would after a real change.
async function setHidden(page, hide) {
  await page.evaluate((hide) => {
    if (hide) {
      Object.defineProperty(document, "visibilityState", { configurable: true, get: () => "hidden" });
      Object.defineProperty(document, "hidden", { configurable: true, get: () => true });
    } else {
      // Back to the real getters on Document.prototype.
      delete document.visibilityState;
      delete document.hidden;
    }
    document.dispatchEvent(new Event("visibilitychange"));
  }, hide);
}
