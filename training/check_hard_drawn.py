"""What `train.py --hard-drawn` mines, checked on frames of the committed sample clips with
the shipped model (the test suite runs this: `tests/it/training.rs`).

    python3 training/check_hard_drawn.py      # exit status 0 when every check holds

- `eu` frame 120: the model reads the cross street's red lamp as a pedestrian stop figure,
  so the frame is a hard one of the "pedestrian box on no pedestrian head" kind;
- `vehicle-conflict` frame 120: every head read right, not hard;
- the same frame with a pedestrian head labelled on an empty wall: missed, hard;
  one labelled 4 px across (under 6 px at the deployed scale): not counted;
- a frame listed twice is returned twice; a real photo (not a generated frame) is left to
  `--hard-repeat`.
"""

import json
import os
import sys

import cv2
import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import data as D  # noqa: E402
import train as T  # noqa: E402

FIT = (640, 384)


def frame_item(clip, index, path=None):
    """Frame `index` of samples/`clip`.mp4 with every box of its truth as the label."""
    truth = json.load(open(os.path.join(REPO, "samples", f"{clip}.json")))
    cap = cv2.VideoCapture(os.path.join(REPO, "samples", f"{clip}.mp4"))
    cap.set(cv2.CAP_PROP_POS_FRAMES, index)
    ok, bgr = cap.read()
    if not ok:
        sys.exit(f"cannot decode frame {index} of samples/{clip}.mp4")
    boxes = truth["boxes"][index]["boxes"]
    b = np.array([x["box"] for x in boxes], np.float32).reshape(-1, 4)
    c = np.array([D.NAMES.index(x["class"]) for x in boxes], np.int64)
    return D.Cached(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), b, c, path or f"/generated/clipframes/{clip}-{index}.png")


def with_head(item, box, name):
    """`item` with one more pedestrian stop head labelled at `box` (frame px), as file `name`
    (the miner judges each file once)."""
    b = np.concatenate([item.boxes, np.array([box], np.float32)])
    c = np.concatenate([item.classes, np.array([D.PED_STOP], np.int64)])
    return D.Cached(item.img, b, c, item.path.replace(".png", f"-{name}.png"))


def main():
    torch.set_num_threads(2)
    model = T.build_model(len(D.NAMES), {"width": [8, 16, 32, 64, 96], "depth": [1, 1, 2, 1], "head_width": 32})
    T.load_from_onnx(model, os.path.join(REPO, "models", "safecross-tl.onnx"))

    lamp_read_as_figure = frame_item("eu", 120)
    all_right = frame_item("vehicle-conflict", 120)
    # The sky above the heads, left of centre: nothing there for the model to box.
    h, w = all_right.img.shape[:2]
    unboxed_head = with_head(all_right, (0.05 * w, 0.04 * h, 0.05 * w + 16, 0.04 * h + 36), "head")
    tiny_head = with_head(all_right, (0.05 * w, 0.04 * h, 0.05 * w + 4, 0.04 * h + 9), "tiny-head")
    real_photo = frame_item("eu", 120, path="/photos/cinta/train/images/a.jpg")

    items = [lamp_read_as_figure, lamp_read_as_figure, all_right, unboxed_head, tiny_head, real_photo]
    false_ped, missed = T.mine_hard_drawn(model, items, FIT)
    got = {"false": [it.path for it in false_ped], "missed": [it.path for it in missed]}
    want = {"false": [lamp_read_as_figure.path] * 2, "missed": [unboxed_head.path]}
    if got != want:
        sys.exit(f"mined {got}, expected {want}")
    print("hard generated frames: every check holds")


if __name__ == "__main__":
    main()
