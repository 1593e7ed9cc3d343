#!/usr/bin/env bash
# Decision clips held out three ways, for `safecross eval`: real street photos that no
# training run has seen as the street (cinta/valid and the zebra-only photos of
# chanyoung/valid, from ../shared/data), pedestrian heads of the two held-out styles that
# training never drew (kr, us-stacked), and seeds 8000-8011 that no training clip used.
# 12 clips of 20 s: eu, us, night, random, vehicle-conflict (the parallel vehicle light
# and the pedestrian head disagree) and vehicle-only (no pedestrian signal at all, a far
# vehicle light), two each. The photos' own vehicle lights stay in view.
#
#   training/heldout_photo_clips.sh [OUT]   # default /tmp/safecross-heldout-photos; then: safecross eval OUT
#   FIRST_SEED=8100 training/heldout_photo_clips.sh /tmp/heldout-photos-2   # a second set, seeds 8100-8111
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-/tmp/safecross-heldout-photos}
exe=${SAFECROSS:-target/release/safecross}
shared=${SHARED:-../shared/data}
backgrounds=(--backgrounds "$shared/traffic-lights/cinta/valid" --backgrounds "$shared/ped-lights/chanyoung/valid")
first=${FIRST_SEED:-8000}
mkdir -p "$out"
presets=(eu us night random vehicle-conflict vehicle-only)
for i in $(seq 0 11); do
    seed=$((first + i))
    preset=${presets[$((i % 6))]}
    [ -f "$out/$preset-$seed.mp4" ] ||
        "$exe" synth clip --designs heldout --heldout-styles kr,us-stacked "${backgrounds[@]}" \
            --preset "$preset" --seed "$seed" --seconds 20 --out "$out/$preset-$seed.mp4"
done
echo "$out"
