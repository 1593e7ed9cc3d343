"""A wider copy of a trained `Detector` that computes exactly what the narrow one computes.

The second width of issue 14 cannot be trained from scratch on two CPU cores in a session,
so it starts from the shipped weights: every old channel keeps its place (inside each
chunk of a split or a concatenation), and the weights that read a new channel into an old
one are zero. The new channels start from their usual random init and only begin to count
once training moves those zero weights, so epoch 0 of the wide model is the narrow model
(checked by `check`), and training can only add to it.

    python3 training/widen.py --init training/runs/realC/last.pt --width 12,24,48,96,128 --head-width 40
"""

import argparse
import os
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import Detector  # noqa: E402


def widths_of(sd):
    """(width, head_width) of a Detector state dict, read off its convolution shapes."""
    width = [sd["stem.conv.weight"].shape[0]] + [sd[f"s{i}.0.conv.weight"].shape[0] for i in range(1, 5)]
    return tuple(width), sd["heads.0.box.0.conv.weight"].shape[0]


def _chunk_spec(m: Detector):
    """Conv name -> (input chunk sizes, output chunk sizes). Chunks are the parts of a
    channel axis that a split or a concatenation moves as a whole."""
    w0, w1, w2, w3, w4 = (m.s1[0].conv.in_channels, m.s2[0].conv.in_channels, m.s3[0].conv.in_channels,
                          m.s4[0].conv.in_channels, m.s4[0].conv.out_channels)
    spec = {"stem": ([3], [w0])}

    def c2f(name, block, in_chunks):
        h = block.h
        spec[f"{name}.cv1"] = (in_chunks, [h, h])
        for k, _ in enumerate(block.blocks):
            spec[f"{name}.blocks.{k}.cv1"] = ([h], [h])
            spec[f"{name}.blocks.{k}.cv2"] = ([h], [h])
        spec[f"{name}.cv2"] = ([h] * (2 + len(block.blocks)), [block.cv2.conv.out_channels])

    for i, (c_in, c) in enumerate([(w0, w1), (w1, w2), (w2, w3), (w3, w4)], start=1):
        spec[f"s{i}.0"] = ([c_in], [c])
        c2f(f"s{i}.1", getattr(m, f"s{i}")[1], [c])
    h = m.s4[2].cv1.conv.out_channels
    spec["s4.2.cv1"] = ([w4], [h])
    spec["s4.2.cv2"] = ([h] * 4, [w4])
    c2f("td4", m.td4, [w4, w3])
    c2f("td3", m.td3, [w3, w2])
    spec["down3"] = ([w2], [w2])
    c2f("bu4", m.bu4, [w2, w3])
    spec["down4"] = ([w3], [w3])
    c2f("bu5", m.bu5, [w3, w4])
    for i, c in enumerate((w2, w3, w4)):
        hw = m.heads[i].box[0].conv.out_channels
        for branch, n_out in (("box", 4), ("cls", m.nc)):
            spec[f"heads.{i}.{branch}.0"] = ([c], [hw])
            spec[f"heads.{i}.{branch}.1"] = ([hw], [n_out])
    return spec


def _index_map(old_chunks, new_chunks):
    """Where each old channel sits in the new axis: chunk k's channel j at new chunk k's j."""
    assert len(old_chunks) == len(new_chunks) and all(o <= n for o, n in zip(old_chunks, new_chunks))
    out, start = [], 0
    for o, n in zip(old_chunks, new_chunks):
        out.extend(range(start, start + o))
        start += n
    return torch.tensor(out)


@torch.no_grad()
def widen(narrow: Detector, wide: Detector):
    """Copies `narrow` into `wide` (built at the larger widths) so that both compute the same."""
    old_spec, new_spec = _chunk_spec(narrow), _chunk_spec(wide)
    old_mods, new_mods = dict(narrow.named_modules()), dict(wide.named_modules())
    for name, (old_in, old_out) in old_spec.items():
        new_in, new_out = new_spec[name]
        i_map, o_map = _index_map(old_in, new_in), _index_map(old_out, new_out)
        a, b = old_mods[name], new_mods[name]
        conv_a, conv_b = (a.conv, b.conv) if hasattr(a, "conv") else (a, b)
        w = conv_b.weight
        w[o_map] = 0.0  # an old output reads nothing from a new input
        w[o_map[:, None], i_map[None, :]] = conv_a.weight
        if conv_a.bias is not None:
            conv_b.bias[o_map] = conv_a.bias
        if hasattr(a, "bn"):
            for attr in ("weight", "bias", "running_mean", "running_var"):
                getattr(b.bn, attr)[o_map] = getattr(a.bn, attr)
    covered = {f"{n}.conv" if hasattr(new_mods[n], "conv") else n for n in new_spec}
    missed = [n for n, mod in wide.named_modules() if isinstance(mod, nn.Conv2d) and n not in covered]
    assert not missed, f"convolutions the widening does not know: {missed}"
    return wide


@torch.no_grad()
def check(narrow, wide, size=(96, 160)):
    """Largest difference between the two networks' outputs on random input (eval mode)."""
    narrow.eval()
    wide.eval()
    x = torch.rand(2, 3, *size)
    (bn, cn), (bw, cw) = narrow(x), wide(x)
    return max((bn - bw).abs().max().item(), (cn - cw).abs().max().item())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--init", required=True, help="a checkpoint (best.pt/last.pt) of the narrow model")
    ap.add_argument("--width", required=True)
    ap.add_argument("--head-width", type=int, required=True)
    a = ap.parse_args()
    sd = torch.load(a.init, map_location="cpu", weights_only=False)["ema"]
    width, hw = widths_of(sd)
    nc = sd["heads.0.cls.1.weight"].shape[0]
    narrow = Detector(nc=nc, width=width, head_width=hw)
    narrow.load_state_dict(sd)
    wide = widen(narrow, Detector(nc=nc, width=tuple(int(v) for v in a.width.split(",")), head_width=a.head_width))
    print(f"{width}/{hw} -> {a.width}/{a.head_width}: largest output difference {check(narrow, wide):.2e}")


if __name__ == "__main__":
    main()
