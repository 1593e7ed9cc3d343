"""Training frames cut from synthetic crossing clips, labelled from their timelines.

The stills from `safecross synth stills` are drawn and pasted, but never pass through
the H.264 encoder, camera shake, motion blur or the clip's lighting. The pipeline sees
decoded video, so the model also learns from frames of the project's own clips
(`safecross synth clip --preset random`), with seeds far from the committed samples'
(1..6) so that the samples stay unseen. Labels come from the per-frame `boxes` of the
ground-truth timeline (every visible signal, relevant or not).

    python3 training/clip_frames.py --clips 50 --seconds 6 --every 6 --out training/data/clipframes

Output: a YOLO folder (images/, labels/, data.yaml) in our class ids.
"""

import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile

import cv2

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from data import NAMES, find_safecross  # noqa: E402


def extract_frames(mp4, every, dest_pattern):
    """Frames 0, every, 2*every, ... as PNG via ffmpeg (frame numbers follow the stream order)."""
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-y", "-i", mp4, "-vf", f"select=not(mod(n\\,{every}))", "-vsync", "0", "-start_number", "0", dest_pattern],
        check=True,
    )


def yolo_lines(boxes, width, height):
    lines = []
    for b in boxes:
        if b["class"] not in NAMES:
            continue
        x1, y1, x2, y2 = b["box"]
        x1, x2 = max(0.0, x1), min(float(width), x2)
        y1, y2 = max(0.0, y1), min(float(height), y2)
        if x2 - x1 < 1 or y2 - y1 < 1:
            continue
        cx, cy = (x1 + x2) / 2 / width, (y1 + y2) / 2 / height
        lines.append(f"{NAMES.index(b['class'])} {cx:.6f} {cy:.6f} {(x2 - x1) / width:.6f} {(y2 - y1) / height:.6f}")
    return lines


def build(out, clips, seconds, every, first_seed, binary=None, presets=("random",)):
    exe = find_safecross(binary)
    for sub in ("images", "labels"):
        os.makedirs(os.path.join(out, sub), exist_ok=True)
    with open(os.path.join(out, "data.yaml"), "w") as f:
        f.write(f"nc: {len(NAMES)}\nnames: {NAMES}\n")
    written = 0
    for i, seed in enumerate(range(first_seed, first_seed + clips)):
        preset = presets[i % len(presets)]
        if glob.glob(os.path.join(out, "labels", f"s{seed}_*.txt")):
            continue  # resumable: this clip was done before
        with tempfile.TemporaryDirectory() as tmp:
            mp4 = os.path.join(tmp, "clip.mp4")
            subprocess.run([exe, "synth", "clip", "--preset", preset, "--seed", str(seed), "--seconds", str(seconds), "--out", mp4], check=True, stdout=subprocess.DEVNULL)
            with open(os.path.join(tmp, "clip.json")) as f:
                timeline = json.load(f)
            by_frame = {e["frame"]: e["boxes"] for e in timeline.get("boxes", [])}
            extract_frames(mp4, every, os.path.join(tmp, "f%05d.png"))
            for png in sorted(glob.glob(os.path.join(tmp, "f*.png"))):
                k = int(os.path.basename(png)[1:6])
                frame = k * every
                img = cv2.imread(png)
                h, w = img.shape[:2]
                stem = f"s{seed}_f{frame:04d}"
                cv2.imwrite(os.path.join(out, "images", stem + ".jpg"), img, [cv2.IMWRITE_JPEG_QUALITY, 92])
                with open(os.path.join(out, "labels", stem + ".txt"), "w") as f:
                    f.write("\n".join(yolo_lines(by_frame.get(frame, []), w, h)))
                written += 1
        print(f"clip seed {seed} ({preset}): {written} frames so far", flush=True)
    return written


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "clipframes"))
    ap.add_argument("--clips", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=6.0)
    ap.add_argument("--every", type=int, default=6, help="keep every Nth frame")
    ap.add_argument("--first-seed", type=int, default=1000)
    ap.add_argument("--bin", help="path to the safecross binary")
    ap.add_argument(
        "--presets",
        default="random",
        help="comma-separated scene presets, used in turn (e.g. eu,us,night to add the scenes the model finds hardest)",
    )
    a = ap.parse_args()
    n = build(a.out, a.clips, a.seconds, a.every, a.first_seed, a.bin, a.presets.split(","))
    print(f"{a.out}: {n} new frames")


if __name__ == "__main__":
    main()
