#!/usr/bin/env bash
# Six streets with no pedestrian signal, only vehicle lights (preset vehicle-only, seeds
# 10-15, 20 s each): what the user hears where there is nothing to obey but the traffic's
# own light. `safecross eval` counts walk while the vehicle light beside the crossing shows
# red as false go there. Seeds 13 and 14 are the ones behind the selector's
# `fresh_walk_beside_red`, so this set is no longer held out for that rule; the two
# vehicle-only clips of training/heldout_photo_clips.sh are.
#
#   training/vehicle_only_clips.sh [OUT]      # default /tmp/safecross-vehicle-only
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-/tmp/safecross-vehicle-only}
exe=${SAFECROSS:-target/release/safecross}
mkdir -p "$out"
for seed in $(seq 10 15); do
    [ -f "$out/vehicle-only-$seed.mp4" ] ||
        "$exe" synth clip --preset vehicle-only --seed "$seed" --seconds 20 --out "$out/vehicle-only-$seed.mp4"
done
echo "$out"
