"""The safecross traffic-light detector: a small anchor-free YOLO-style network.

Backbone (plain 3x3 convs + small CSP blocks) -> FPN/PAN neck -> one decoupled head per
level (strides 8/16/32). Every anchor point predicts four distances (left, top, right,
bottom, in units of its stride) and one logit per class; there is no objectness.

Plain convolutions were chosen over depthwise-separable ones because on a 2-core CPU
they train and run faster per FLOP (oneDNN handles dense 3x3 well, depthwise poorly).
Widths were cut until the 416x416 model ran at about 8 ms with ONNX Runtime on two
threads (about 0.64 GFLOPs); ReLU fuses into Conv in ONNX Runtime, SiLU does not.

`Detector.forward` returns raw per-level maps for the loss. `ExportWrapper` turns them
into the ultralytics YOLOv8 output layout `[1, 4 + nc, N]` (cx, cy, w, h in input pixels,
sigmoided class scores) with only ONNX ops that tract also supports.
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

STRIDES = (8, 16, 32)
ACT = nn.ReLU


class ConvBnAct(nn.Module):
    """Conv -> BatchNorm -> activation (ReLU for ours, SiLU for YOLOX's layers); BN is
    folded into the conv at export time by ONNX."""

    def __init__(self, c_in, c_out, k=3, s=1, g=1, act=ACT):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, k, s, k // 2, groups=g, bias=False)
        self.bn = nn.BatchNorm2d(c_out, momentum=0.03, eps=1e-3)
        self.act = act(inplace=True)

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))


class Bottleneck(nn.Module):
    def __init__(self, c, shortcut=True):
        super().__init__()
        self.cv1 = ConvBnAct(c, c, 3)
        self.cv2 = ConvBnAct(c, c, 3)
        self.add = shortcut

    def forward(self, x):
        y = self.cv2(self.cv1(x))
        return x + y if self.add else y


class C2f(nn.Module):
    """YOLOv8-style CSP block: split, n bottlenecks on one half, concat all, 1x1 fuse."""

    def __init__(self, c_in, c_out, n=1, shortcut=True):
        super().__init__()
        self.h = c_out // 2
        self.cv1 = ConvBnAct(c_in, 2 * self.h, 1)
        self.blocks = nn.ModuleList(Bottleneck(self.h, shortcut) for _ in range(n))
        self.cv2 = ConvBnAct((2 + n) * self.h, c_out, 1)

    def forward(self, x):
        y = list(self.cv1(x).split(self.h, 1))
        for b in self.blocks:
            y.append(b(y[-1]))
        return self.cv2(torch.cat(y, 1))


class SPPF(nn.Module):
    """Spatial pyramid pooling (fast): three chained 5x5 max-pools for wider context."""

    def __init__(self, c_in, c_out):
        super().__init__()
        h = c_in // 2
        self.cv1 = ConvBnAct(c_in, h, 1)
        self.cv2 = ConvBnAct(h * 4, c_out, 1)
        self.pool = nn.MaxPool2d(5, 1, 2)

    def forward(self, x):
        x = self.cv1(x)
        y1 = self.pool(x)
        y2 = self.pool(y1)
        y3 = self.pool(y2)
        return self.cv2(torch.cat([x, y1, y2, y3], 1))


class Head(nn.Module):
    """Decoupled head for one level: a box branch and a class branch."""

    def __init__(self, c_in, c_mid, nc):
        super().__init__()
        self.box = nn.Sequential(ConvBnAct(c_in, c_mid, 3), nn.Conv2d(c_mid, 4, 1))
        self.cls = nn.Sequential(ConvBnAct(c_in, c_mid, 3), nn.Conv2d(c_mid, nc, 1))


class Detector(nn.Module):
    def __init__(self, nc=6, width=(8, 16, 32, 64, 96), depth=(1, 1, 2, 1), head_width=32):
        super().__init__()
        w0, w1, w2, w3, w4 = width
        self.nc = nc
        self.strides = STRIDES
        self.stem = ConvBnAct(3, w0, 3, 2)  # /2
        self.s1 = nn.Sequential(ConvBnAct(w0, w1, 3, 2), C2f(w1, w1, depth[0]))  # /4
        self.s2 = nn.Sequential(ConvBnAct(w1, w2, 3, 2), C2f(w2, w2, depth[1]))  # /8
        self.s3 = nn.Sequential(ConvBnAct(w2, w3, 3, 2), C2f(w3, w3, depth[2]))  # /16
        self.s4 = nn.Sequential(ConvBnAct(w3, w4, 3, 2), C2f(w4, w4, depth[3]), SPPF(w4, w4))  # /32
        # Top-down (FPN) then bottom-up (PAN) so the stride-8 level, where small lights
        # live, sees context from the coarse levels and vice versa.
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.td4 = C2f(w4 + w3, w3, 1, shortcut=False)
        self.td3 = C2f(w3 + w2, w2, 1, shortcut=False)
        self.down3 = ConvBnAct(w2, w2, 3, 2)
        self.bu4 = C2f(w2 + w3, w3, 1, shortcut=False)
        self.down4 = ConvBnAct(w3, w3, 3, 2)
        self.bu5 = C2f(w3 + w4, w4, 1, shortcut=False)
        self.heads = nn.ModuleList(Head(c, head_width, nc) for c in (w2, w3, w4))
        self._init_biases()

    def _init_biases(self):
        for head, s in zip(self.heads, self.strides):
            # Class prior ~1% so the first steps are not swamped by negatives.
            nn.init.constant_(head.cls[-1].bias, -math.log((1 - 0.01) / 0.01))
            # Distances start near one stride-ish box for the level (exp(0.5)~1.6 strides).
            nn.init.constant_(head.box[-1].bias, 0.5)
            nn.init.normal_(head.box[-1].weight, std=0.01)

    def features(self, x):
        x = self.stem(x)
        x = self.s1(x)
        p3 = self.s2(x)
        p4 = self.s3(p3)
        p5 = self.s4(p4)
        t4 = self.td4(torch.cat([self.up(p5), p4], 1))
        t3 = self.td3(torch.cat([self.up(t4), p3], 1))
        b4 = self.bu4(torch.cat([self.down3(t3), t4], 1))
        b5 = self.bu5(torch.cat([self.down4(b4), p5], 1))
        return [t3, b4, b5]

    def forward(self, x):
        """Returns (box, cls): box [B, N, 4] raw distance logits, cls [B, N, nc] logits,
        anchors flattened level by level, row-major within a level."""
        boxes, clss = [], []
        for f, head in zip(self.features(x), self.heads):
            b = head.box(f)
            c = head.cls(f)
            boxes.append(b.flatten(2))
            clss.append(c.flatten(2))
        return torch.cat(boxes, 2).transpose(1, 2), torch.cat(clss, 2).transpose(1, 2)


def make_anchors(size, strides=STRIDES, device="cpu"):
    """Anchor-point centres (pixels) and their strides for an input of `size`: an int
    for a square input, or (height, width)."""
    h, w = (size, size) if isinstance(size, int) else size
    pts, st = [], []
    for s in strides:
        ny, nx = h // s, w // s
        ys, xs = torch.meshgrid(torch.arange(ny, device=device), torch.arange(nx, device=device), indexing="ij")
        p = torch.stack([xs, ys], -1).reshape(-1, 2).float().add(0.5).mul(s)
        pts.append(p)
        st.append(torch.full((ny * nx,), float(s), device=device))
    return torch.cat(pts), torch.cat(st)


def decode_distances(raw, strides):
    """Raw box logits -> (l, t, r, b) distances in pixels. exp keeps them positive;
    the clamp keeps early training from overflowing."""
    return torch.exp(raw.clamp(max=8.0)) * strides[None, :, None]


def distances_to_xyxy(dist, anchors):
    lt, rb = dist[..., :2], dist[..., 2:]
    return torch.cat([anchors - lt, anchors + rb], -1)


class ExportWrapper(nn.Module):
    """Detector + decoding into the ultralytics YOLOv8 layout [1, 4 + nc, N]."""

    def __init__(self, model: Detector, size: int):
        super().__init__()
        self.model = model
        anchors, strides = make_anchors(size, model.strides)
        self.register_buffer("anchors", anchors)
        self.register_buffer("strides", strides)

    def forward(self, x):
        raw_box, raw_cls = self.model(x)
        dist = decode_distances(raw_box, self.strides)
        lt, rb = dist[..., :2], dist[..., 2:]
        cxy = self.anchors + (rb - lt) * 0.5
        wh = lt + rb
        out = torch.cat([cxy, wh, raw_cls.sigmoid()], -1)
        return out.transpose(1, 2)


def count_params(model):
    return sum(p.numel() for p in model.parameters())


def count_gflops(model, size):
    """Multiply-accumulates of convolutions x2, at batch 1 (what most papers call FLOPs)."""
    total = 0

    def hook(m, inp, out):
        nonlocal total
        k = m.kernel_size[0] * m.kernel_size[1] * (m.in_channels // m.groups)
        total += 2 * k * out.numel()

    hs = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, nn.Conv2d)]
    with torch.no_grad():
        model.eval()
        model(torch.zeros(1, 3, size, size))
    for h in hs:
        h.remove()
    return total / 1e9


# --- YOLOX-Nano backbone and neck, for a COCO-pretrained start ------------------------------
#
# The architecture of YOLOX-Nano (Megvii, Apache-2.0): CSPDarknet with depthwise convs at
# depth 0.33 / width 0.25, a PAN neck, SiLU. Only its backbone and neck are used; our
# decoupled heads (6+1 classes, distances) sit on its three outputs. Its weights are read
# from ../shared/peers/yolox_nano.onnx by pretrained.py.


def XConv(c_in, c_out, k, s=1, g=1):
    """YOLOX BaseConv: conv -> BN -> SiLU."""
    return ConvBnAct(c_in, c_out, k, s, g, act=nn.SiLU)


class XDWConv(nn.Module):
    """Depthwise 3x3 then pointwise 1x1."""

    def __init__(self, c_in, c_out, k, s=1):
        super().__init__()
        self.dconv = XConv(c_in, c_in, k, s, g=c_in)
        self.pconv = XConv(c_in, c_out, 1)

    def forward(self, x):
        return self.pconv(self.dconv(x))


class XBottleneck(nn.Module):
    def __init__(self, c, shortcut):
        super().__init__()
        self.conv1 = XConv(c, c, 1)
        self.conv2 = XDWConv(c, c, 3)
        self.add = shortcut

    def forward(self, x):
        y = self.conv2(self.conv1(x))
        return x + y if self.add else y


class XCSP(nn.Module):
    def __init__(self, c_in, c_out, n=1, shortcut=True):
        super().__init__()
        h = c_out // 2
        self.conv1 = XConv(c_in, h, 1)
        self.conv2 = XConv(c_in, h, 1)
        self.conv3 = XConv(2 * h, c_out, 1)
        self.m = nn.Sequential(*(XBottleneck(h, shortcut) for _ in range(n)))

    def forward(self, x):
        # conv2 before the bottlenecks, as YOLOX runs them: the pretrained weights load in run order.
        x1, x2 = self.conv1(x), self.conv2(x)
        return self.conv3(torch.cat([self.m(x1), x2], 1))


class XSPP(nn.Module):
    def __init__(self, c_in, c_out):
        super().__init__()
        h = c_in // 2
        self.conv1 = XConv(c_in, h, 1)
        self.pools = nn.ModuleList(nn.MaxPool2d(k, 1, k // 2) for k in (5, 9, 13))
        self.conv2 = XConv(h * 4, c_out, 1)

    def forward(self, x):
        x = self.conv1(x)
        return self.conv2(torch.cat([x] + [p(x) for p in self.pools], 1))


class YoloxNanoDetector(nn.Module):
    """YOLOX-Nano backbone + PAFPN (COCO-pretrained when loaded) under our heads.

    Input RGB in [0, 1] like our model: the first conv's weights are permuted from
    YOLOX's BGR and scaled from its 0-255 range at load time, so the graph is the same."""

    def __init__(self, nc=7, head_width=32, **_):
        super().__init__()
        self.nc = nc
        self.strides = STRIDES
        self.stem = XConv(12, 16, 3)  # after space-to-depth (Focus)
        self.dark2 = nn.Sequential(XDWConv(16, 32, 3, 2), XCSP(32, 32, 1))
        self.dark3 = nn.Sequential(XDWConv(32, 64, 3, 2), XCSP(64, 64, 3))
        self.dark4 = nn.Sequential(XDWConv(64, 128, 3, 2), XCSP(128, 128, 3))
        self.dark5 = nn.Sequential(XDWConv(128, 256, 3, 2), XSPP(256, 256), XCSP(256, 256, 1, shortcut=False))
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.lateral_conv0 = XConv(256, 128, 1)
        self.C3_p4 = XCSP(256, 128, 1, False)
        self.reduce_conv1 = XConv(128, 64, 1)
        self.C3_p3 = XCSP(128, 64, 1, False)
        self.bu_conv2 = XDWConv(64, 64, 3, 2)
        self.C3_n3 = XCSP(128, 128, 1, False)
        self.bu_conv1 = XDWConv(128, 128, 3, 2)
        self.C3_n4 = XCSP(256, 256, 1, False)
        self.heads = nn.ModuleList(Head(c, head_width, nc) for c in (64, 128, 256))
        Detector._init_biases(self)

    def features(self, x):
        x = torch.cat([x[..., ::2, ::2], x[..., 1::2, ::2], x[..., ::2, 1::2], x[..., 1::2, 1::2]], 1)
        x = self.dark2(self.stem(x))
        x2 = self.dark3(x)
        x1 = self.dark4(x2)
        x0 = self.dark5(x1)
        fpn_out0 = self.lateral_conv0(x0)
        f_out0 = self.C3_p4(torch.cat([self.up(fpn_out0), x1], 1))
        fpn_out1 = self.reduce_conv1(f_out0)
        pan_out2 = self.C3_p3(torch.cat([self.up(fpn_out1), x2], 1))
        pan_out1 = self.C3_n3(torch.cat([self.bu_conv2(pan_out2), fpn_out1], 1))
        pan_out0 = self.C3_n4(torch.cat([self.bu_conv1(pan_out1), fpn_out0], 1))
        return [pan_out2, pan_out1, pan_out0]

    forward = Detector.forward


def build_model(nc, cfg_model):
    """The network a run's config names: `arch` safecross (default) or yolox_nano."""
    cfg = dict(cfg_model)
    arch = cfg.pop("arch", "safecross")
    if arch == "yolox_nano":
        return YoloxNanoDetector(nc=nc, **cfg)
    return Detector(nc=nc, **cfg)
