// Service worker: SafeCross works offline after the first visit, and is cross-origin
// isolated even on static hosts that cannot send headers (the coi-serviceworker
// technique), so onnxruntime-web can use SharedArrayBuffer threads.

// build.sh stamps a hash of dist/ here: a new build is a new cache, and the old one is
// deleted when the new worker takes over.
const VERSION = "dev";
const CACHE = `safecross-${VERSION}`;

const PRECACHE = [
  "./",
  "index.html",
  "app.js",
  "style.css",
  "manifest.webmanifest",
  "icon.svg",
  "pkg/safecross_web.js",
  "pkg/safecross_web_bg.wasm",
  "ort/ort.wasm.min.mjs",
  "ort/ort-wasm-simd-threaded.mjs",
  "ort/ort-wasm-simd-threaded.wasm",
  "models/safecross-tl.onnx",
];

self.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      // "reload": from the server, not from an HTTP cache that may hold the last build.
      await cache.addAll(PRECACHE.map((path) => new Request(path, { cache: "reload" })));
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) {
        if (name.startsWith("safecross-") && name !== CACHE) await caches.delete(name);
      }
      // Control the page that registered us now; app.js then reloads it once to become
      // isolated.
      await self.clients.claim();
    })(),
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET" || new URL(request.url).origin !== self.location.origin) return;
  // Chrome's devtools send these; fetch() would throw on them.
  if (request.cache === "only-if-cached" && request.mode !== "same-origin") return;
  event.respondWith(cacheFirst(request));
});

async function cacheFirst(request) {
  // ignoreSearch: the page is opened with test parameters (?autostart=1&engine=...).
  const cached = await caches.match(request, { ignoreSearch: true, cacheName: CACHE });
  return isolated(cached ?? (await fetch(request)));
}

// The same response with COOP/COEP added: a document served so is crossOriginIsolated,
// and a worker script served so may be started by one.
function isolated(response) {
  if (response.status === 0) return response; // opaque: its headers cannot be changed
  const headers = new Headers(response.headers);
  headers.set("Cross-Origin-Opener-Policy", "same-origin");
  headers.set("Cross-Origin-Embedder-Policy", "require-corp");
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}
