#!/usr/bin/env bash
# Held-out decision clips that no training run has seen, for `safecross eval`:
# 12 clips of the eu, us, night and random presets (three each), seeds 6000-6011, 20 s each.
# Training clip frames use seeds 1000-1049, 2000-2147 and 2200-2223 (clipframes-vehicle); the committed samples use 1-6.
#
#   training/heldout_clips.sh [OUT]      # default /tmp/safecross-heldout; then: safecross eval OUT
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-/tmp/safecross-heldout}
exe=${SAFECROSS:-target/release/safecross}
mkdir -p "$out"
presets=(eu us night random)
for i in $(seq 0 11); do
    seed=$((6000 + i))
    preset=${presets[$((i % 4))]}
    [ -f "$out/$preset-$seed.mp4" ] || "$exe" synth clip --preset "$preset" --seed "$seed" --seconds 20 --out "$out/$preset-$seed.mp4"
done
echo "$out"
