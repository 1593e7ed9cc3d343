#!/usr/bin/env bash
# safecross quick start: installs what is missing, then runs the demo or the tests.
#
#   ./quickstart.sh demo [CLIP]   play a bundled sample clip through the whole pipeline
#   ./quickstart.sh test          run every test
#   ./quickstart.sh env           only install; prints the ORT_DYLIB_PATH to export
#
# Needs: a Debian/Ubuntu machine with rustup (cargo) and python3. System packages are
# installed with apt-get (through sudo when not root); ONNX Runtime comes from PyPI's
# `onnxruntime` wheel into .venv/ (nothing is installed system-wide from PyPI).
set -euo pipefail
cd "$(dirname "$0")"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

apt_install() {
    local missing=()
    for pkg in "$@"; do
        dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    say "installing system packages: ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

setup() {
    # C toolchain for OpenH264, ALSA headers for audio, libclang for the camera bindings,
    # nasm for OpenH264's fast paths, ffmpeg for the other-formats fallback.
    apt_install build-essential pkg-config libasound2-dev libclang-dev nasm ffmpeg python3-venv python3-pip
    if [ ! -x .venv/bin/python ]; then
        say "creating .venv for ONNX Runtime"
        python3 -m venv --system-site-packages .venv
    fi
    if ! .venv/bin/python -c 'import onnxruntime, sys; v = tuple(int(x) for x in onnxruntime.__version__.split(".")[:2]); sys.exit(v < (1, 24))' 2>/dev/null; then
        say "installing ONNX Runtime (PyPI wheel) into .venv"
        .venv/bin/python -m pip install -q 'onnxruntime>=1.24' numpy
    fi
    ORT_DYLIB_PATH=$(.venv/bin/python -c 'import onnxruntime, os, glob; print(sorted(glob.glob(os.path.join(os.path.dirname(onnxruntime.__file__), "capi", "libonnxruntime.so*")))[-1])')
    export ORT_DYLIB_PATH
    # Tests call python3 for reference metrics and the training smoke test.
    export PATH="$PWD/.venv/bin:$PATH"
}

cmd=${1:-demo}
case "$cmd" in
    demo)
        setup
        clip=${2:-samples/cn-day-countdown.mp4}
        say "building (release; the first build takes about 16 minutes on 2 cores and 1 GB of disk)"
        cargo build --release
        say "playing $clip (real time; Ctrl-C to stop)"
        # Where cargo put it: a CARGO_TARGET_DIR the user set moves the build folder.
        exec "${CARGO_TARGET_DIR:-target}/release/safecross" run "$clip"
        ;;
    test)
        setup
        say "running every test (after the demo, building the tests takes about 20 minutes on 2 cores)"
        log=$(mktemp)
        status=0
        cargo test --release 2>&1 | tee "$log" || status=$?
        tools/skip_summary.sh "$log"
        rm -f "$log"
        exit "$status"
        ;;
    env)
        setup
        echo "export ORT_DYLIB_PATH=$ORT_DYLIB_PATH"
        ;;
    *)
        echo "usage: $0 demo [CLIP] | test | env" >&2
        exit 2
        ;;
esac
