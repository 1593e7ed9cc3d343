"""What `train.py --distill` computes, checked on the shipped model and sample frames (the
test suite runs this: `tests/it/training.rs`).

    python3 training/check_distill.py      # exit status 0 when every check holds

A distilled fine-tune keeps the network's outputs on the starting model's (the teacher) on
every image that model was not found wrong on, and learns the hard frames from their labels
alone. Checked:
- the per-point weights follow the model's output order: a mask over the left half of the
  crop weights exactly the points whose centres lie there, at every stride;
- the loss is 0 when the student is the teacher (frozen BatchNorm, as `--freeze-bn` keeps
  it) and grows once the student's weights move;
- it is 0 wherever the mask is 0, whatever the student computes there;
- a training crop of an image marked `teach = False` (a mined hard frame) has an empty
  mask, one of a taught image covers the image and not the padding, and a mosaic marks only
  the tiles of taught images.
"""

import os
import random
import sys
from copy import deepcopy

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import data as D  # noqa: E402
import train as T  # noqa: E402
from check_freeze_bn import SIDE, sample_frame, shipped_model  # noqa: E402
from model import make_anchors  # noqa: E402


def check(failures, ok, what):
    print(("ok    " if ok else "FAIL  ") + what)
    if not ok:
        failures.append(what)


def flat_item(value, side, path, teach=True):
    item = D.Cached(np.full((side, side, 3), value, np.uint8), np.zeros((0, 4), np.float32), np.zeros((0,), np.int64), path)
    item.teach = teach
    return item


def main():
    failures = []
    x = torch.from_numpy(np.stack([sample_frame("eu", 120), sample_frame("us", 60)]))
    student = shipped_model()
    T.train_mode(student, freeze_bn=True)
    teacher = deepcopy(student).eval()
    anchors, _ = make_anchors(SIDE, student.strides)

    left = torch.zeros(2, SIDE, SIDE)
    left[:, :, : SIDE // 2] = 1
    w = T.anchor_mask(left, student.strides)
    expected = (anchors[:, 0] < SIDE / 2).float().expand(2, -1)
    check(failures, w.shape == expected.shape and torch.equal(w, expected), "anchor weights follow the output order at every stride")

    with torch.no_grad():
        s_box, s_cls = student(x)
        t_box, t_cls = teacher(x)
    full = torch.ones(2, anchors.shape[0])
    same = T.distill_loss(s_box, s_cls, t_box, t_cls, full).item()
    check(failures, abs(same) < 1e-4, f"loss of the teacher against itself is 0 ({same:.2e})")

    with torch.no_grad():
        for p in student.parameters():
            p.add_(torch.randn_like(p) * 0.05)
        s_box, s_cls = student(x)
    moved = T.distill_loss(s_box, s_cls, t_box, t_cls, full).item()
    check(failures, moved > 0.05, f"loss grows once the student's weights move ({moved:.3f})")
    right = 1 - T.anchor_mask(left, student.strides)
    off = T.distill_loss(s_box, s_cls, t_box, t_cls, torch.zeros_like(full)).item()
    check(failures, off == 0.0, f"loss is 0 where the mask is 0 ({off})")
    shares = [T.distill_loss(s_box, s_cls, t_box, t_cls, m).item() for m in (w, right)]
    check(failures, min(shares) > 0, f"each half of the crop carries its own share of the loss ({shares[0]:.3f}, {shares[1]:.3f})")

    # The crops as cut, before flips and colour jitter: flat images of 60 (taught) and 200
    # (a mined hard frame) on padding of D.PAD.
    S = 160
    taught, hard = flat_item(60, 200, "/real/a.jpg"), flat_item(200, 200, "/synth/b.png", teach=False)
    sets = D.TrainSet([taught, hard], S, teach_masks=True)
    single_ok = True
    for i in range(20):
        rng = random.Random(i)
        mask = np.zeros((S, S), np.uint8)
        img, _, _ = sets._single(taught, rng, mask)
        single_ok &= bool(mask.any()) and np.array_equal(mask.astype(bool), img[..., 0] == 60)
    check(failures, single_ok, "a taught image marks exactly its pixels in the crop, not the padding")
    mask = np.zeros((S, S), np.uint8)
    sets._single(hard, random.Random(0), mask)
    check(failures, not mask.any(), "a hard frame marks nothing")
    mosaic_ok = True
    for i in range(20):
        mask = np.zeros((S, S), np.uint8)
        img, _, _ = sets._mosaic(i % 2, random.Random(i), mask)
        mosaic_ok &= np.array_equal(mask.astype(bool), img[..., 0] == 60)
    check(failures, mosaic_ok, "a mosaic marks the tiles of taught images only")

    sample = sets[0]
    check(failures, len(sample) == 4 and sample[3].shape == (S, S), "with teach_masks a sample carries its mask")
    check(failures, len(D.TrainSet([taught], S)[0]) == 3, "without teach_masks a sample is (image, boxes, classes) as before")
    collated = D.collate([sample, sets[1]])[1]
    check(failures, tuple(collated["teach"].shape) == (2, S, S), "collate stacks the masks")

    if failures:
        sys.exit(f"{len(failures)} check(s) failed")


if __name__ == "__main__":
    random.seed(0)
    torch.manual_seed(0)
    main()
