#!/usr/bin/env bash
# Held-out-by-design decision clips for `safecross eval`: 12 clips of the eu, us, night and
# random presets (three each), 20 s each, drawn with `--designs heldout`: head styles,
# figure drawings, lamps, housings, streets and camera effects that the training family
# never draws. Compare with training/heldout_clips.sh, held out by seed only.
#
#   training/heldout_design_clips.sh [OUT]   # default /tmp/safecross-heldout-designs, seeds 7000-7011,
#                                            # every held-out style; then: safecross eval OUT
#
# Since stage 9 the model has trained on stills of the jp, uk and us-outline styles of the
# held-out family (training/data.py --heldout-styles). The set that stays held out by
# design for it is made of the two styles it never saw:
#
#   STYLES=kr,us-stacked FIRST_SEED=7100 training/heldout_design_clips.sh /tmp/safecross-heldout-styles
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-/tmp/safecross-heldout-designs}
exe=${SAFECROSS:-target/release/safecross}
first=${FIRST_SEED:-7000}
styles=()
[ -n "${STYLES:-}" ] && styles=(--heldout-styles "$STYLES")
mkdir -p "$out"
presets=(eu us night random)
for i in $(seq 0 11); do
    seed=$((first + i))
    preset=${presets[$((i % 4))]}
    [ -f "$out/$preset-$seed.mp4" ] ||
        "$exe" synth clip --designs heldout "${styles[@]}" --preset "$preset" --seed "$seed" --seconds 20 --out "$out/$preset-$seed.mp4"
done
echo "$out"
