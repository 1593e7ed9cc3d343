"""What `train.py --freeze-bn` keeps, checked on the shipped model (the test suite runs this:
`tests/it/training.rs`).

    python3 training/check_freeze_bn.py      # exit status 0 when every check holds

A model loaded from ONNX (`pretrained.py`) has BatchNorm folded into its convolutions and set
to the identity. Fine-tuned in plain training mode, BatchNorm normalises by each batch's own
statistics instead, so the first training step already computes something other than the
shipped model. Checked:
- in training mode with `freeze_bn`, the network computes what the ONNX model computes;
- in plain training mode it does not (the fault the flag exists for);
- a training step with `freeze_bn` leaves every BatchNorm statistic as loaded, while the
  BatchNorm scales and the convolutions still learn.
"""

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
from model import ExportWrapper, build_model  # noqa: E402
from pretrained import load_from_onnx  # noqa: E402

ONNX = os.path.join(REPO, "models", "safecross-tl.onnx")
SIDE = 320


def shipped_model():
    model = build_model(len(D.NAMES), {"width": [8, 16, 32, 64, 96], "depth": [1, 1, 2, 1], "head_width": 32})
    n, ours, _ = load_from_onnx(model, ONNX)
    if n != ours:
        sys.exit(f"loaded {n} of {ours} convolutions from {ONNX}: the check needs the whole shipped model")
    return model


def sample_frame(clip, index):
    """Frame `index` of samples/`clip`.mp4, squeezed to SIDE x SIDE, CHW in 0..1 RGB."""
    cap = cv2.VideoCapture(os.path.join(REPO, "samples", f"{clip}.mp4"))
    cap.set(cv2.CAP_PROP_POS_FRAMES, index)
    ok, bgr = cap.read()
    if not ok:
        sys.exit(f"cannot decode frame {index} of samples/{clip}.mp4")
    rgb = cv2.cvtColor(cv2.resize(bgr, (SIDE, SIDE), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB)
    return rgb.transpose(2, 0, 1).astype(np.float32) / 255


def main():
    failures = []
    x = torch.from_numpy(np.stack([sample_frame("eu", 120), sample_frame("us", 60)]))

    model = shipped_model()
    with torch.no_grad():
        wrapper = ExportWrapper(model, SIDE).eval()
        reference = wrapper(x)[:, 4:].numpy()
        T.train_mode(model, freeze_bn=True)
        frozen = ExportWrapper(model, SIDE)(x)[:, 4:].numpy()
        T.train_mode(model, freeze_bn=False)
        plain = ExportWrapper(model, SIDE)(x)[:, 4:].numpy()
    frozen_gap, plain_gap = float(np.abs(frozen - reference).max()), float(np.abs(plain - reference).max())
    if frozen_gap > 1e-5:
        failures.append(f"in training mode with freeze_bn the scores differ from eval mode by {frozen_gap:.2e}")
    if plain_gap < 0.01:
        failures.append(f"plain training mode changed the scores by only {plain_gap:.2e}: the check no longer shows the fault")

    model = shipped_model()
    stats = {k: v.clone() for k, v in model.state_dict().items() if "running_" in k}
    scales = {k: v.clone() for k, v in model.state_dict().items() if k.endswith("bn.weight")}
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    T.train_mode(model, freeze_bn=True)
    raw_box, raw_cls = model(x)
    (raw_box.square().mean() + raw_cls.sigmoid().mean()).backward()
    opt.step()
    after = model.state_dict()
    moved = [k for k, v in stats.items() if not torch.equal(v, after[k])]
    if moved:
        failures.append(f"{len(moved)} BatchNorm statistics changed in a frozen step, e.g. {moved[0]}")
    if all(torch.equal(v, after[k]) for k, v in scales.items()):
        failures.append("no BatchNorm scale learnt in a frozen step: freeze_bn should fix the statistics only")

    for f in failures:
        print("FAIL:", f)
    print(f"frozen gap {frozen_gap:.2e}, plain gap {plain_gap:.2e}, {len(stats)} statistics checked")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
