"""Quantise the exported model to int8 (QDQ), for Arm boards.

On a Raspberry Pi class CPU the float model is most of a frame's time; int8 convolutions
are cheaper. This writes an optional second model; the float one stays the shipped
default. Static quantisation with onnxruntime: QDQ format, int8 weights per output
channel, 8-bit activations whose ranges are calibrated on training photos preprocessed
exactly as the Rust pipeline does (`letterbox`). The box decode stays float (`decode_tail`).

Weights use 7 of their 8 bits (`reduce_range`). x86 CPUs without VNNI (AVX2 only) multiply
uint8 activations by int8 weights with an instruction (vpmaddubsw) that adds each pair of
products into 16 bits and saturates: with full-range weights two large products overflow,
and on an AMD EPYC the int8 model lost accuracy (cinta/valid mAP50 0.859 against 0.913 on a
CPU with VNNI). With 7-bit weights a pair of products fits in 16 bits, so every CPU computes
the same integers: 0.911 on that EPYC. `--full-range` writes the old 8-bit weights, to compare.

Activations are uint8 by default (U8S8). With onnxruntime 1.32's CPU provider, int8
activations (S8S8) left every Conv whose input or output is shared by two nodes (the CSP
splits, the neck's taps) as DequantizeLinear -> float Conv -> QuantizeLinear: slower than
the float model on x86. U8S8 turns all 55 Convs into int8 kernels. `--activations s8` is
for the XNNPACK provider, whose int8 convolutions take signed activations; measure both.

    python3 training/quantize.py --model models/safecross-tl.onnx     # -> models/safecross-tl.int8.onnx

Then compare both models on the board with `safecross eval` and `safecross bench`
(training/README.md, section 6).
"""

import argparse
import math
import os
import random
import tempfile

import numpy as np
import onnx
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
from onnxruntime.quantization.shape_inference import quant_pre_process
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DEFAULT_CALIB = [
    os.path.join(os.path.dirname(ROOT), "shared/data/traffic-lights/cinta/train/images"),
    os.path.join(os.path.dirname(ROOT), "shared/data/ped-lights/chanyoung/train/images"),
    os.path.join(HERE, "data/clipframes/images"),
]
PAD = 114.0 / 255.0
IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".bmp", ".webp")


def letterbox(path, w, h):
    """As src/preprocess (`Letterbox::fit`): one f32 scale, sides rounded half away from
    zero, centred with the padding floored, bilinear convolution (PIL's BILINEAR, the filter
    the Rust resizer copies), pad 114/255, RGB in [0, 1], NCHW float32. No EXIF rotation,
    like the Rust decoder."""
    img = Image.open(path).convert("RGB")
    sw, sh = img.size
    scale = min(np.float32(w) / np.float32(sw), np.float32(h) / np.float32(sh))
    nw = min(max(int(math.floor(sw * scale + 0.5)), 1), w)
    nh = min(max(int(math.floor(sh * scale + 0.5)), 1), h)
    px, py = (w - nw) // 2, (h - nh) // 2
    if (nw, nh) != (sw, sh):
        img = img.resize((nw, nh), Image.BILINEAR)
    x = np.full((3, h, w), PAD, np.float32)
    x[:, py : py + nh, px : px + nw] = np.asarray(img, np.float32).transpose(2, 0, 1) / 255.0
    return x[None]


class Reader(CalibrationDataReader):
    def __init__(self, paths, input_name, w, h):
        self.items = iter(paths)
        self.input_name, self.w, self.h = input_name, w, h

    def get_next(self):
        path = next(self.items, None)
        return None if path is None else {self.input_name: letterbox(path, self.w, self.h)}


def pick_images(folders, count, seed):
    paths = sorted(
        os.path.join(d, f) for d in folders if os.path.isdir(d) for f in os.listdir(d) if f.lower().endswith(IMAGE_EXTS)
    )
    if not paths:
        raise SystemExit(f"no calibration images in {folders}")
    return random.Random(seed).sample(paths, min(count, len(paths)))


def decode_tail(graph):
    """Nodes after the detection heads' last convolutions: the reshapes and concats, the
    box decode (exp * stride, anchors +/- distances) and the score sigmoid. They stay
    float. `output0` concatenates boxes in input pixels (0..640) with scores (0..1): one
    8-bit scale for both leaves no score above the 0.25 threshold (quantising them too gave
    0 detections), and even boxes alone would move in 2.5 px steps, the width of the
    smallest lights. They cost little. The head convolutions themselves are quantised
    (excluding them too was not needed: the int8 model matches the float one's mAP)."""
    producer = {o: n for n in graph.node for o in n.output}
    feeds_conv = set()  # nodes that some Conv depends on (the Convs included)
    stack = [n for n in graph.node if n.op_type == "Conv"]
    while stack:
        n = stack.pop()
        if n.name in feeds_conv:
            continue
        feeds_conv.add(n.name)
        stack.extend(producer[i] for i in n.input if i in producer)
    return [n.name for n in graph.node if n.name not in feeds_conv]


def quantize(model_path, out_path, calib, count=200, seed=0, activations="u8", full_range=False):
    src = onnx.load(model_path)
    inp = src.graph.input[0]
    _, _, h, w = (d.dim_value for d in inp.type.tensor_type.shape.dim)
    paths = pick_images(calib, count, seed)
    with tempfile.TemporaryDirectory() as tmp:
        # Shape inference + constant folding: the fixed-size Shape/Slice/Reshape chains go.
        pre = os.path.join(tmp, "pre.onnx")
        quant_pre_process(model_path, pre)
        exclude = decode_tail(onnx.load(pre).graph)
        quantize_static(
            pre,
            out_path,
            Reader(paths, inp.name, w, h),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8 if activations == "u8" else QuantType.QInt8,
            weight_type=QuantType.QInt8,
            reduce_range=not full_range,
            nodes_to_exclude=exclude,
        )
    # The input's metadata (names, imgsz...), exactly: the tools reorder it and add their own keys.
    m = onnx.load(out_path)
    del m.metadata_props[:]
    for p in src.metadata_props:
        m.metadata_props.add().CopyFrom(p)
    used = {n.domain for n in m.graph.node} | {""}  # drop the ~8 unused domains quant_pre_process declares
    kept = [o for o in m.opset_import if o.domain in used]
    del m.opset_import[:]
    m.opset_import.extend(kept)
    onnx.checker.check_model(m)
    onnx.save(m, out_path)
    return len(paths), len(exclude)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=os.path.join(ROOT, "models/safecross-tl.onnx"))
    ap.add_argument("--out", help="default: safecross-tl.int8.onnx beside --model")
    ap.add_argument("--calib", nargs="+", default=DEFAULT_CALIB, help="image folders (default: cinta/train + clip frames)")
    ap.add_argument("--count", type=int, default=200, help="calibration images, picked at random (default 200)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--activations",
        choices=("u8", "s8"),
        default="u8",
        help="u8 (default): every Conv runs as an int8 kernel on ONNX Runtime's CPU provider; "
        "s8: what XNNPACK's int8 convolutions take (see the note in the module docstring)",
    )
    ap.add_argument(
        "--full-range",
        action="store_true",
        help="8-bit weights instead of 7: saturates on x86 CPUs without VNNI (see the module docstring)",
    )
    a = ap.parse_args()
    out = a.out or os.path.join(os.path.dirname(os.path.abspath(a.model)), "safecross-tl.int8.onnx")
    n, n_float = quantize(a.model, out, a.calib, a.count, a.seed, a.activations, a.full_range)
    print(f"wrote {out} ({os.path.getsize(out) / 1e6:.2f} MB; {n} calibration images, {n_float} tail nodes kept float)")


if __name__ == "__main__":
    main()
