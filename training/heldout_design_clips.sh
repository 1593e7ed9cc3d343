#!/usr/bin/env bash
# Held-out-by-design decision clips for `safecross eval`: 12 clips of the eu, us, night and
# random presets (three each), seeds 7000-7011, 20 s each, drawn with `--designs heldout`:
# head styles, figure drawings, lamps, housings, streets and camera effects that no
# training set was made with (training stills and clip frames all use the default
# `--designs train`). Compare with training/heldout_clips.sh, held out by seed only.
#
#   training/heldout_design_clips.sh [OUT]   # default /tmp/safecross-heldout-designs; then: safecross eval OUT
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-/tmp/safecross-heldout-designs}
exe=${SAFECROSS:-target/release/safecross}
mkdir -p "$out"
presets=(eu us night random)
for i in $(seq 0 11); do
    seed=$((7000 + i))
    preset=${presets[$((i % 4))]}
    [ -f "$out/$preset-$seed.mp4" ] ||
        "$exe" synth clip --designs heldout --preset "$preset" --seed "$seed" --seconds 20 --out "$out/$preset-$seed.mp4"
done
echo "$out"
