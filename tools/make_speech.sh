#!/usr/bin/env bash
# Renders the spoken messages of the audio cues into assets/speech/{en,zh}/<id>.wav
# (16 kHz, mono, 16-bit), so nothing needs a TTS engine or a network at run time.
# Needs espeak-ng (voices en-us and cmn) and sox. Run from anywhere; rerun after
# changing a text. The texts must match `Message::text` in src/cue/speech.rs; the
# integration tests compare the two lists. Never use the word safe.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/assets/speech"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

render() { # lang voice speed id text
    local lang="$1" voice="$2" speed="$3" id="$4" text="$5"
    # ONLY=looking renders just that clip (the others stay byte for byte as they are).
    [ -n "${ONLY:-}" ] && [ "$ONLY" != "$id" ] && return 0
    mkdir -p "$out/$lang"
    espeak-ng -v "$voice" -s "$speed" -a 100 -w "$tmp/raw.wav" "$text"
    # Trim leading/trailing silence, resample, and add 10 ms fades so clips start and
    # end at zero (no clicks when a clip is cut or started).
    sox "$tmp/raw.wav" -r 16000 -c 1 -b 16 "$tmp/trim.wav" \
        silence 1 0.01 0.5% reverse silence 1 0.01 0.5% reverse
    sox "$tmp/trim.wav" "$out/$lang/$id.wav" fade t 0.01 -0 0.01 norm -3
}

render en en-us 165 walk "Walk sign is on"
render en en-us 165 vehicle_green "Vehicle light is green"
render en en-us 165 wait "Wait"
render en en-us 165 changing "Signal changing, do not start"
render en en-us 165 no_signal "No signal found"
render en en-us 165 looking "Looking for the signal"
render en en-us 165 checking "Signal seen, checking"
render en en-us 165 following_vehicle "Following the vehicle signal"
render en en-us 165 state_unknown "Signal seen, state unknown"

render zh cmn 210 walk "行人绿灯"
render zh cmn 210 vehicle_green "机动车绿灯"
render zh cmn 210 wait "红灯，请等待"
render zh cmn 210 changing "绿灯即将结束，请勿开始通行"
render zh cmn 210 no_signal "未找到信号灯"
render zh cmn 210 looking "正在寻找信号灯"
render zh cmn 210 checking "看到信号灯，正在确认"
render zh cmn 210 following_vehicle "跟随机动车信号灯"
render zh cmn 210 state_unknown "看到信号灯，无法判断状态"

echo "wrote $(ls "$out"/en/*.wav "$out"/zh/*.wav | wc -l) clips under $out"
