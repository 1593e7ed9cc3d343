#!/usr/bin/env python3
"""Serve the built web app (web/dist) on 127.0.0.1 for development and tests.

Sends the COOP/COEP headers that make the page cross-origin isolated (onnxruntime-web
threads need SharedArrayBuffer), the MIME types the browser insists on (.wasm must be
application/wasm for streaming compilation, modules must be JavaScript), and no-store so
a rebuild is always picked up. 127.0.0.1 is a secure context, so the camera and the
service worker work without TLS.

    python3 web/serve.py [--port 8080] [--dir web/dist]
"""

import argparse
import functools
import sys
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

MIME_TYPES = {
    ".wasm": "application/wasm",
    ".mjs": "text/javascript",
    ".js": "text/javascript",
    ".webmanifest": "application/manifest+json",
    ".onnx": "application/octet-stream",
    ".svg": "image/svg+xml",
    ".json": "application/json",
}


class Handler(SimpleHTTPRequestHandler):
    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, **MIME_TYPES}

    def end_headers(self):
        self.send_header("Cross-Origin-Opener-Policy", "same-origin")
        self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
        self.send_header("Cache-Control", "no-store")
        super().end_headers()


def main():
    default_dir = Path(__file__).resolve().parent / "dist"
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8080, help="port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--dir", type=Path, default=default_dir, help=f"folder to serve (default {default_dir})")
    args = parser.parse_args()

    if not (args.dir / "index.html").is_file():
        sys.exit(f"serve.py: {args.dir}/index.html not found; run web/build.sh first")
    handler = functools.partial(Handler, directory=str(args.dir))
    try:
        server = ThreadingHTTPServer(("127.0.0.1", args.port), handler)
    except OSError as err:
        sys.exit(f"serve.py: cannot listen on 127.0.0.1:{args.port}: {err.strerror}")
    port = server.server_address[1]
    # Flushed at once: scripts that start the server wait for this line.
    print(f"Serving {args.dir} at http://127.0.0.1:{port}/", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
