"""Starting weights read from ONNX files: our shipped model, or the COCO-pretrained YOLOX-Nano.

Exported graphs have BatchNorm folded into the convolutions. Each Conv node of the graph is
matched, in order, with the network's convolutions in the order they run (both follow the
forward pass), its weight copied and its bias moved into the BatchNorm that follows (scale 1,
mean 0, variance 1 - eps), so the loaded network computes what the ONNX computes and
training can go on from there. Convolutions of the graph's own head are not loaded when the
network's head differs (YOLOX's 80 COCO classes): only the shared prefix is.

    python3 training/pretrained.py --onnx models/safecross-tl.onnx --out /tmp/shipped.pt
"""

import argparse
import os
import sys

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def _conv_order(model, shape):
    """The network's Conv2d modules (each with the BN that follows it, or None) in run order."""
    bn_of = {}
    for m in model.modules():
        conv = getattr(m, "conv", None)
        bn = getattr(m, "bn", None)
        if isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d):
            bn_of[conv] = bn
    order = []
    hooks = [m.register_forward_hook(lambda mod, i, o: order.append(mod)) for m in model.modules() if isinstance(m, nn.Conv2d)]
    was = model.training
    model.eval()
    with torch.no_grad():
        model(torch.zeros(shape))
    model.train(was)
    for h in hooks:
        h.remove()
    return [(c, bn_of.get(c)) for c in order]


def onnx_convs(path):
    import onnx
    from onnx import numpy_helper

    g = onnx.load(path).graph
    inits = {i.name: numpy_helper.to_array(i) for i in g.initializer}
    convs = []
    for n in g.node:
        if n.op_type != "Conv":
            continue
        w = inits[n.input[1]]
        b = inits[n.input[2]] if len(n.input) > 2 else np.zeros(w.shape[0], np.float32)
        convs.append((w, b))
    return convs


@torch.no_grad()
def load_from_onnx(model, path, shape=(1, 3, 128, 128), first_conv=None, stop_after=None):
    """Copies the ONNX's convolutions into `model`, in order, while the shapes agree (the
    out channels of a final class conv may differ: the shared rows are copied). `first_conv`
    maps the first weight (e.g. BGR 0-255 -> RGB 0-1). Returns how many were loaded."""
    ours = _conv_order(model, shape)
    theirs = onnx_convs(path)
    n = 0
    for k, ((conv, bn), (w, b)) in enumerate(zip(ours, theirs)):
        if stop_after is not None and k >= stop_after:
            break
        if k == 0 and first_conv is not None:
            w = first_conv(w)
        w = torch.from_numpy(np.array(w, np.float32))
        b = torch.from_numpy(np.array(b, np.float32))
        if tuple(w.shape[1:]) != tuple(conv.weight.shape[1:]):
            break
        rows = min(w.shape[0], conv.weight.shape[0])
        if w.shape[0] != conv.weight.shape[0] and not (bn is None and conv.bias is not None):
            break
        conv.weight[:rows] = w[:rows]
        if bn is not None:
            bn.weight.fill_(1.0)
            bn.bias.copy_(b)
            bn.running_mean.zero_()
            bn.running_var.fill_(1.0 - bn.eps)
        elif conv.bias is not None:
            conv.bias[:rows] = b[:rows]
        n += 1
    return n, len(ours), len(theirs)


def yolox_first_conv(w):
    """YOLOX's stem sees 4 space-to-depth patches of BGR 0-255; ours see RGB 0-1."""
    w = w.copy()
    for p in range(4):
        w[:, p * 3 : p * 3 + 3] = w[:, p * 3 : p * 3 + 3][:, ::-1] * 255.0
    return w


def main():
    from model import build_model

    import data as D

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--onnx", required=True)
    ap.add_argument("--arch", default="safecross", choices=["safecross", "yolox_nano"])
    ap.add_argument("--out", required=True, help="checkpoint for train.py --init")
    a = ap.parse_args()
    cfg = {"width": [8, 16, 32, 64, 96], "depth": [1, 1, 2, 1], "head_width": 32} if a.arch == "safecross" else {"arch": "yolox_nano", "head_width": 32}
    model = build_model(len(D.NAMES), cfg)
    first = yolox_first_conv if a.arch == "yolox_nano" else None
    n, ours, theirs = load_from_onnx(model, a.onnx, first_conv=first)
    print(f"loaded {n} of {ours} convolutions from {a.onnx} ({theirs} in the graph)")
    torch.save({"ema": model.state_dict(), "config": {"model": cfg}, "epoch": -1, "source": os.path.abspath(a.onnx)}, a.out)


if __name__ == "__main__":
    main()
