"""Export a checkpoint to ONNX in the ultralytics YOLOv8 detect layout.

Output `output0` [1, 4 + nc, N]: rows 0..3 = cx, cy, w, h in input pixels, rows 4.. =
sigmoided class scores, N = all anchor points of strides 8/16/32. Input `images`
[1, 3, S, S], RGB in [0, 1], letterboxed centred with 114 padding. Metadata as
ultralytics writes it (names, imgsz, stride, task, description, license).

    python3 training/export.py --ckpt training/runs/main/best.pt --out models/safecross-tl.onnx
"""

import argparse
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from data import NAMES  # noqa: E402
from model import ExportWrapper, build_model  # noqa: E402

DESCRIPTION = "safecross traffic-light detector (vehicle red/yellow/green, pedestrian stop/walk, off, crosswalk)"
LICENSE = (
    "Model weights trained on cinTA_v2, Traffic_light_kr and pedestrian-light-crosswalk by chanyoung "
    "(Roboflow Universe, CC BY 4.0); see models/README.md"
)


def parse_size(text):
    """`416` (square) or `WIDTHxHEIGHT` such as `640x384` -> (height, width)."""
    if "x" in str(text):
        w, h = (int(v) for v in str(text).lower().split("x"))
    else:
        w = h = int(text)
    for v in (w, h):
        if v % 32:
            raise ValueError(f"input sides must be multiples of 32 (the coarsest stride), got {text}")
    return h, w


def export(model, size, out_path, opset=17, verify=True):
    """`size`: an int (square) or (height, width)."""
    model = model.eval()
    h, w = (size, size) if isinstance(size, int) else size
    wrapper = ExportWrapper(model, (h, w)).eval()
    x = torch.zeros(1, 3, h, w)
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    torch.onnx.export(
        wrapper, x, out_path, input_names=["images"], output_names=["output0"], opset_version=opset, do_constant_folding=True, dynamo=False
    )
    import onnx

    m = onnx.load(out_path)
    names = "{" + ", ".join(f"{i}: '{n}'" for i, n in enumerate(NAMES)) + "}"
    props = {
        "names": names,
        "imgsz": f"[{h}, {w}]",
        "stride": str(max(model.strides)),
        "task": "detect",
        "description": DESCRIPTION,
        "license": LICENSE,
        "author": "safecross",
    }
    del m.metadata_props[:]
    for k, v in props.items():
        e = m.metadata_props.add()
        e.key, e.value = k, v
    onnx.checker.check_model(m)
    onnx.save(m, out_path)
    if verify:
        verify_onnx(wrapper, out_path, (h, w))
    return out_path


def verify_onnx(wrapper, path, size, seed=0):
    """The ONNX output must match PyTorch on a random input. `size` = (height, width)."""
    import onnxruntime as ort

    h, w = size
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(1, 3, h, w, generator=g)
    with torch.no_grad():
        ref = wrapper(x).numpy()
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    out = sess.run(None, {"images": x.numpy()})[0]
    n = sum((h // s) * (w // s) for s in wrapper.model.strides)
    assert out.shape == (1, 4 + len(NAMES), n), out.shape
    err_box = np.abs(out[0, :4] - ref[0, :4]).max()
    err_cls = np.abs(out[0, 4:] - ref[0, 4:]).max()
    assert err_box < 1e-2 and err_cls < 1e-4, (err_box, err_cls)
    print(f"onnx verified: shape {out.shape}, max |diff| box {err_box:.2e} px, scores {err_cls:.2e}")


def load_checkpoint(path):
    ck = torch.load(path, map_location="cpu", weights_only=False)
    cfg = ck["config"]
    model = build_model(len(NAMES), cfg["model"])
    sd = ck.get("ema") or ck["model"]
    model.load_state_dict(sd)
    return model, cfg


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--size", help="input size: 416 (square) or WIDTHxHEIGHT such as 640x384 (default: the training config's, square)")
    ap.add_argument("--opset", type=int, default=17)
    a = ap.parse_args()
    model, cfg = load_checkpoint(a.ckpt)
    export(model, parse_size(a.size) if a.size else cfg["imgsz"], a.out, a.opset)
    print(f"wrote {a.out} ({os.path.getsize(a.out) / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
