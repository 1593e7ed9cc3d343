#!/usr/bin/env bash
# Builds the browser app into web/dist (git-ignored): the wasm module (crate web/,
# package safecross-web) through wasm-bindgen, the static page, onnxruntime-web's files
# and the model. Serve it with: python3 web/serve.py
# Works from any directory. Needs: the wasm32-unknown-unknown target, wasm-bindgen-cli
# at the version in Cargo.lock, and npm (only when web/node_modules is missing).
set -euo pipefail

# --with-tract also builds tract into the module: the model can then run inside it
# (the page's "tract" engine), the option measured against onnxruntime-web.
features=()
for arg in "$@"; do
  case "$arg" in
    --with-tract) features=(--features tract) ;;
    *) echo "usage: web/build.sh [--with-tract]" >&2; exit 2 ;;
  esac
done

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
web="$root/web"
dist="$web/dist"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
wasm="$target_dir/wasm32-unknown-unknown/release/safecross_web.wasm"
ort_dist="$web/node_modules/onnxruntime-web/dist"
# What ort.wasm.min.mjs loads at run time; sw.js precaches the same list.
ort_files=(ort.wasm.min.mjs ort-wasm-simd-threaded.mjs ort-wasm-simd-threaded.wasm)

die() {
  echo "build.sh: $*" >&2
  exit 1
}

# ---- prerequisites, checked before the long compile ------------------------------------

# wasm-bindgen's CLI must be exactly the version of the wasm-bindgen crate it post-processes.
bindgen_version="$(awk '$0 == "name = \"wasm-bindgen\"" { getline; gsub(/version = |"/, ""); print; exit }' "$root/Cargo.lock")"
install_bindgen="cargo install wasm-bindgen-cli --version ${bindgen_version:-0.2.130}"
command -v wasm-bindgen >/dev/null || die "wasm-bindgen not found; install it with: $install_bindgen"
have_bindgen="$(wasm-bindgen --version | awk '{ print $2 }')"
if [[ -n "$bindgen_version" && "$have_bindgen" != "$bindgen_version" ]]; then
  die "wasm-bindgen is $have_bindgen but Cargo.lock has $bindgen_version; install it with: $install_bindgen"
fi
if command -v rustup >/dev/null && ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  die "the wasm32 target is missing; add it with: rustup target add wasm32-unknown-unknown"
fi
if [[ ! -d "$web/node_modules/onnxruntime-web" ]]; then
  command -v npm >/dev/null || die "npm not found (needed once, to fetch onnxruntime-web); install Node.js 20 or later"
fi

# ---- (a) the wasm module -------------------------------------------------------------------

echo "== cargo build (wasm32, release)"
# No debug info in what phones download (the native release profile keeps some).
(cd "$root" && CARGO_PROFILE_RELEASE_DEBUG=false \
  cargo build -p safecross-web --target wasm32-unknown-unknown --release "${features[@]}")

# ---- (b) JS bindings -----------------------------------------------------------------------

echo "== wasm-bindgen"
rm -rf "$dist"
wasm-bindgen --target web --no-typescript --out-dir "$dist/pkg" "$wasm"

# ---- (c) onnxruntime-web, from the lock file -----------------------------------------------

if [[ ! -d "$web/node_modules/onnxruntime-web" ]]; then
  echo "== npm ci"
  (cd "$web" && npm ci --no-audit --no-fund)
fi

# ---- (d) page, ort files, model ------------------------------------------------------------

echo "== copy"
cp "$web"/static/* "$dist/"
mkdir -p "$dist/ort" "$dist/models"
for f in "${ort_files[@]}"; do
  cp "$ort_dist/$f" "$dist/ort/"
done
cp "$root/models/safecross-tl.onnx" "$dist/models/"

# The service worker's cache is named after the build: a hash of everything it serves,
# so a browser that has the last build fetches this one instead of serving the old.
version="$(cd "$dist" && find . -type f ! -name sw.js -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-12)"
sed -i "s/^const VERSION = \"dev\";/const VERSION = \"$version\";/" "$dist/sw.js"
grep -q "^const VERSION = \"$version\";" "$dist/sw.js" || die "could not stamp the version into sw.js"

# ---- (e) sizes -----------------------------------------------------------------------------

echo "== $dist (cache version $version)"
(cd "$dist" && find . -type f -printf '%s %P\n' | sort -k2 | numfmt --field=1 --to=iec --padding=6)
echo "total $(du -sh "$dist" | cut -f1)"
