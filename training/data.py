"""Datasets: reading the real and synthetic YOLO folders, caching, augmentation.

Label quirks handled here (see ../shared/data/traffic-lights/README.md):
- some kr label lines are polygons (`cls x1 y1 x2 y2 ...`): reduced to their bounding box;
- classes are remapped into ours, SHIPPED_CLASSES = red, yellow, green, ped_stop,
  ped_walk, off (ids 0..5); the kr green left-turn arrow has no class of ours and
  becomes an ignore region (neither positive nor negative in the class loss);
- images were stretched to squares by the exporter; we keep them as they are because
  the validation images are stretched the same way.

Images are decoded once and cached as uint8 arrays (long side <= `cache_side`), so the
two CPU cores spend their time on the network, not on JPEG decoding.
"""

import glob
import hashlib
import math
import os
import random

import cv2
import numpy as np
import torch

NAMES = ["red", "yellow", "green", "ped_stop", "ped_walk", "off", "crosswalk"]
PED_STOP, PED_WALK, CROSSWALK = 3, 4, 6
# Pedestrian heads: what a pasted real head can be, and what hard negatives are mined for.
PED_CLASSES = (PED_STOP, PED_WALK)
IGNORE = -1
PAD = 114

# Source class id -> our class id (IGNORE = ignore region).
REMAP = {
    "cinta": {0: 2, 1: 0, 2: 1},
    "kr": {0: 2, 1: IGNORE, 2: 0, 3: 1},
    # ../shared/data/ped-lights/chanyoung: 0 crosswalk (zebra crossing), 1 walk, 2 stop.
    "chanyoung": {0: CROSSWALK, 1: PED_WALK, 2: PED_STOP},
    "ours": {i: i for i in range(len(NAMES))},
}


def parse_label_file(path, remap):
    """Returns (boxes [M,4] normalised xyxy, classes [M]) with ignore regions as IGNORE."""
    boxes, classes = [], []
    if not os.path.exists(path):
        return np.zeros((0, 4), np.float32), np.zeros((0,), np.int64)
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) < 5:
                continue
            c = int(float(parts[0]))
            v = [float(x) for x in parts[1:]]
            if len(v) == 4:
                cx, cy, w, h = v
                x1, y1, x2, y2 = cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2
            else:  # polygon
                xs, ys = v[0::2], v[1::2]
                x1, y1, x2, y2 = min(xs), min(ys), max(xs), max(ys)
            if c not in remap:
                continue
            boxes.append([max(0.0, x1), max(0.0, y1), min(1.0, x2), min(1.0, y2)])
            classes.append(remap[c])
    return np.array(boxes, np.float32).reshape(-1, 4), np.array(classes, np.int64)


def list_split(folder, kind):
    """[(image_path, label_path, remap)] for a YOLO folder with images/ and labels/."""
    items = []
    for img in sorted(glob.glob(os.path.join(folder, "images", "*"))):
        if not img.lower().endswith((".jpg", ".jpeg", ".png")):
            continue
        stem = os.path.splitext(os.path.basename(img))[0]
        items.append((img, os.path.join(folder, "labels", stem + ".txt"), REMAP[kind]))
    return items


def file_sha1(path):
    h = hashlib.sha1()
    with open(path, "rb") as f:
        h.update(f.read())
    return h.hexdigest()


class Cached:
    """One decoded image (RGB uint8) plus pixel-space boxes/classes."""

    __slots__ = ("img", "boxes", "classes", "path", "teach")

    def __init__(self, img, boxes, classes, path):
        self.img, self.boxes, self.classes, self.path = img, boxes, classes, path
        # Whether the teacher's outputs are a target on this image (`train.py --distill`):
        # off where the starting model was found wrong on it.
        self.teach = True


def load_items(items, cache_side):
    out = []
    for img_path, lbl_path, remap in items:
        img = cv2.imread(img_path, cv2.IMREAD_COLOR)
        if img is None:
            continue
        img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
        h, w = img.shape[:2]
        r = cache_side / max(h, w)
        if r < 1:
            img = cv2.resize(img, (round(w * r), round(h * r)), interpolation=cv2.INTER_AREA)
        h, w = img.shape[:2]
        b, c = parse_label_file(lbl_path, remap)
        b = b * np.array([w, h, w, h], np.float32)
        out.append(Cached(np.ascontiguousarray(img), b, c, img_path))
    return out


def letterbox(img, size, scale=None):
    """Centred letterbox with pad 114, as the Rust preprocessor does, into a `size` square;
    the image is resized by `scale` when given (it must then fit), else by the largest factor
    that fits. Returns (canvas, scale, (pad_x, pad_y))."""
    h, w = img.shape[:2]
    r = min(size / h, size / w) if scale is None else scale
    nw, nh = round(w * r), round(h * r)
    if (nw, nh) != (w, h):
        img = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_LINEAR)
    canvas = np.full((size, size, 3), PAD, np.uint8)
    px, py = (size - nw) // 2, (size - nh) // 2
    canvas[py : py + nh, px : px + nw] = img
    return canvas, r, (px, py)


def _place(canvas, img, boxes, x0, y0, mark=None):
    """Paste img at (x0, y0) on canvas (clipping), shifting boxes; sets `mark` (a mask the
    size of canvas, when given) to 1 where img landed."""
    H, W = canvas.shape[:2]
    h, w = img.shape[:2]
    cx0, cy0 = max(x0, 0), max(y0, 0)
    cx1, cy1 = min(x0 + w, W), min(y0 + h, H)
    if cx1 > cx0 and cy1 > cy0:
        canvas[cy0:cy1, cx0:cx1] = img[cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0]
        if mark is not None:
            mark[cy0:cy1, cx0:cx1] = 1
    return boxes + np.array([x0, y0, x0, y0], np.float32)


def _clip_boxes(boxes, classes, x0, y0, x1, y1, min_keep=0.45, min_side=2.0):
    if len(boxes) == 0:
        return boxes, classes
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    cb = boxes.copy()
    cb[:, [0, 2]] = cb[:, [0, 2]].clip(x0, x1)
    cb[:, [1, 3]] = cb[:, [1, 3]].clip(y0, y1)
    carea = (cb[:, 2] - cb[:, 0]) * (cb[:, 3] - cb[:, 1])
    keep = (carea >= min_keep * np.maximum(area, 1e-6)) & (cb[:, 2] - cb[:, 0] >= min_side) & (cb[:, 3] - cb[:, 1] >= min_side)
    # Ignore regions are kept whenever any part is still visible.
    keep |= (classes == IGNORE) & (carea > 0)
    return cb[keep], classes[keep]


def _scaled(item, side):
    h, w = item.img.shape[:2]
    r = side / max(h, w)
    nw, nh = max(1, round(w * r)), max(1, round(h * r))
    interp = cv2.INTER_AREA if r < 1 else cv2.INTER_LINEAR
    return cv2.resize(item.img, (nw, nh), interpolation=interp), item.boxes * r


def color_jitter(img, rng):
    """Brightness/contrast/saturation only: a hue shift could turn red into yellow."""
    x = img.astype(np.float32)
    b = rng.uniform(0.7, 1.3)
    c = rng.uniform(0.8, 1.2)
    s = rng.uniform(0.7, 1.3)
    gray = x.mean(2, keepdims=True)
    x = gray + (x - gray) * s
    m = x.mean()
    x = (x - m) * c + m
    x = x * b
    return x.clip(0, 255).astype(np.uint8)


class HeadBank:
    """Real pedestrian heads cut from the training photos, to paste at crossing distances.

    Most real pedestrian photos are close-ups (the median chanyoung head is a quarter of the
    image wide), but from the kerb a head is 10-40 px in the frame and a third to two thirds
    of that in the 640x384 input. Drawn heads taught the model our drawings; pasting real
    crops small, blurred, JPEG-compressed and at night teaches it the real figure at the
    sizes it meets. Only training photos feed the bank, so `valid` stays unseen.
    """

    def __init__(self, items, classes=PED_CLASSES, min_side=12, margin=0.12):
        self.crops = []  # (RGB crop, head box inside the crop, class)
        for it in items:
            H, W = it.img.shape[:2]
            for (x1, y1, x2, y2), c in zip(it.boxes, it.classes):
                if int(c) not in classes or min(x2 - x1, y2 - y1) < min_side:
                    continue
                mx, my = (x2 - x1) * margin, (y2 - y1) * margin
                X1, Y1 = int(max(0, x1 - mx)), int(max(0, y1 - my))
                X2, Y2 = int(min(W, x2 + mx + 1)), int(min(H, y2 + my + 1))
                crop = it.img[Y1:Y2, X1:X2]
                # The exporter's greyscale copies carry no colour: a pasted grey head would
                # teach that state can be read without it.
                if np.abs(crop[..., 0].astype(np.int16) - crop[..., 1]).mean() < 4:
                    continue
                self.crops.append((crop.copy(), np.array([x1 - X1, y1 - Y1, x2 - X1, y2 - Y1], np.float32), int(c)))

    def __len__(self):
        return len(self.crops)

    def counts(self):
        return {NAMES[c]: sum(1 for _, _, k in self.crops if k == c) for c in PED_CLASSES}


def _degrade(crop, rng):
    """Camera and distance: defocus, JPEG loss, exposure, and the bloom of lit LEDs."""
    if rng.random() < 0.4:
        crop = cv2.GaussianBlur(crop, (0, 0), rng.uniform(0.3, 1.1))
    if rng.random() < 0.5:
        ok, enc = cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, rng.randint(25, 90)])
        if ok:
            crop = cv2.imdecode(enc, cv2.IMREAD_UNCHANGED)
    x = crop.astype(np.float32) * rng.uniform(0.6, 1.3)
    if rng.random() < 0.2:
        x += 0.6 * cv2.GaussianBlur(x, (0, 0), rng.uniform(1.0, 3.0))
    return x.clip(0, 255).astype(np.uint8)


def paste_heads(canvas, boxes, classes, bank, rng, max_heads=3, min_h=7.0, max_h=48.0):
    """Pastes 1..max_heads real heads, each `min_h`..`max_h` px tall (log-uniform), on free
    spots of `canvas`; sometimes darkens the scene first (night: the lit head stays bright)."""
    S = canvas.shape[0]
    if rng.random() < 0.15:
        canvas = (canvas.astype(np.float32) * rng.uniform(0.15, 0.45)).astype(np.uint8)
    else:
        canvas = canvas.copy()
    new_b, new_c = [boxes], [classes]
    taken = [b for b in boxes]
    for _ in range(rng.randint(1, max_heads)):
        crop, inner, c = bank.crops[rng.randrange(len(bank))]
        r = math.exp(rng.uniform(math.log(min_h), math.log(max_h))) / max(inner[3] - inner[1], 1.0)
        rx = r * rng.uniform(0.85, 1.15)
        h, w = crop.shape[:2]
        nw, nh = max(2, round(w * rx)), max(2, round(h * r))
        if nw >= S or nh >= S:
            continue
        small = cv2.resize(crop, (nw, nh), interpolation=cv2.INTER_AREA if r < 1 else cv2.INTER_LINEAR)
        small = _degrade(small, rng)
        for _try in range(6):
            x0, y0 = rng.randint(0, S - nw), rng.randint(0, S - nh)
            cand = np.array([x0, y0, x0 + nw, y0 + nh], np.float32)
            if not any(_overlaps(cand, t) for t in taken):
                break
        else:
            continue
        canvas[y0 : y0 + nh, x0 : x0 + nw] = small
        hb = np.array([inner[0] * rx + x0, inner[1] * r + y0, inner[2] * rx + x0, inner[3] * r + y0], np.float32)
        taken.append(cand)
        new_b.append(hb[None])
        new_c.append(np.array([c], np.int64))
    return canvas, np.concatenate(new_b).reshape(-1, 4).astype(np.float32), np.concatenate(new_c)


def _overlaps(a, b):
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


class TrainSet(torch.utils.data.Dataset):
    """Random-scale crops and mosaics of cached images, `size` x `size`."""

    def __init__(self, items, size, base=None, fit=None, scale=(0.55, 1.5), mosaic=0.5, seed=0, heads=None, paste=0.0,
                 teach_masks=False):
        self.items = items
        # With `teach_masks`, each sample also carries an S x S mask of the pixels that show
        # an image whose `teach` is set (the rest is padding or a frame the teacher gets wrong).
        self.teach_masks = teach_masks
        # Real heads pasted small into `paste` of the crops (see HeadBank).
        self.heads = heads
        self.paste = paste
        self.size = size
        # Scales are relative to the image's size at inference, so a crop smaller than
        # the inference input still shows lights at their inference size: its long side
        # is `base` for a square input, or what letterboxing into `fit` = (W, H) gives
        # (a 16:9 frame fills a 640x384 input's width, a square photo only 384 px).
        self.base = base or size
        self.fit = fit
        self.scale = scale
        self.mosaic = mosaic
        self.seed = seed
        self.epoch = 0

    def __len__(self):
        return len(self.items)

    def set_epoch(self, e):
        self.epoch = e

    def __getitem__(self, i):
        rng = random.Random(self.seed * 1_000_003 + self.epoch * 100_003 + i)
        S = self.size
        teach = np.zeros((S, S), np.uint8) if self.teach_masks else None
        if rng.random() < self.mosaic:
            img, boxes, classes = self._mosaic(i, rng, teach)
        else:
            img, boxes, classes = self._single(self.items[i], rng, teach)
        if self.heads and rng.random() < self.paste:
            img, boxes, classes = paste_heads(img, boxes, classes, self.heads, rng)
        if rng.random() < 0.5:
            img = img[:, ::-1]
            teach = None if teach is None else teach[:, ::-1]
            if len(boxes):
                boxes = boxes.copy()
                boxes[:, [0, 2]] = S - boxes[:, [2, 0]]
        if rng.random() < 0.8:
            img = color_jitter(img, rng)
        out = (np.ascontiguousarray(img), boxes.astype(np.float32), classes)
        return out if teach is None else out + (np.ascontiguousarray(teach),)

    def _inference_side(self, item):
        if not self.fit:
            return self.base
        h, w = item.img.shape[:2]
        return min(self.fit[0] / w, self.fit[1] / h) * max(w, h)

    def _single(self, item, rng, teach=None):
        S = self.size
        # Jitter around the inference scale.
        side = max(8, round(self._inference_side(item) * rng.uniform(*self.scale)))
        img, boxes = _scaled(item, side)
        h, w = img.shape[:2]
        canvas = np.full((S, S, 3), PAD, np.uint8)
        x0 = rng.randint(min(0, S - w), max(0, S - w))
        y0 = rng.randint(min(0, S - h), max(0, S - h))
        boxes = _place(canvas, img, boxes, x0, y0, teach if item.teach else None)
        boxes, classes = _clip_boxes(boxes, item.classes, 0, 0, S, S)
        return canvas, boxes, classes

    def _mosaic(self, i, rng, teach=None):
        S = self.size
        idx = [i] + [rng.randrange(len(self.items)) for _ in range(3)]
        xc = round(S * rng.uniform(0.3, 0.7))
        yc = round(S * rng.uniform(0.3, 0.7))
        canvas = np.full((S, S, 3), PAD, np.uint8)
        all_b, all_c = [], []
        for k, j in enumerate(idx):
            item = self.items[j]
            img, boxes = _scaled(item, max(8, round(self._inference_side(item) * rng.uniform(0.3, 0.8))))
            h, w = img.shape[:2]
            x0 = xc - w if k in (0, 2) else xc
            y0 = yc - h if k in (0, 1) else yc
            # A tile ends at (xc, yc), so it lies in its own quadrant and is marked there.
            boxes = _place(canvas, img, boxes, x0, y0, teach if item.teach else None)
            # Each tile only shows its own quadrant.
            qx0, qx1 = (0, xc) if k in (0, 2) else (xc, S)
            qy0, qy1 = (0, yc) if k in (0, 1) else (yc, S)
            b, c = _clip_boxes(boxes, item.classes, qx0, qy0, qx1, qy1)
            all_b.append(b)
            all_c.append(c)
        return canvas, np.concatenate(all_b).reshape(-1, 4), np.concatenate(all_c)


def collate(batch):
    """Stack images (float [0,1], NCHW) and pad boxes; split ignore regions out."""
    imgs = torch.from_numpy(np.stack([b[0] for b in batch])).permute(0, 3, 1, 2).float().div_(255.0)
    B = len(batch)
    gts = [(b[1][b[2] != IGNORE], b[2][b[2] != IGNORE]) for b in batch]
    igs = [b[1][b[2] == IGNORE] for b in batch]
    M = max([len(g[0]) for g in gts] + [0])
    K = max([len(g) for g in igs] + [0])
    gt_boxes = torch.zeros(B, M, 4)
    gt_labels = torch.zeros(B, M, dtype=torch.long)
    gt_mask = torch.zeros(B, M, dtype=torch.bool)
    ign_boxes = torch.zeros(B, K, 4)
    ign_mask = torch.zeros(B, K, dtype=torch.bool)
    for k, ((b, c), ig) in enumerate(zip(gts, igs)):
        n = len(b)
        if n:
            gt_boxes[k, :n] = torch.from_numpy(b)
            gt_labels[k, :n] = torch.from_numpy(c)
            gt_mask[k, :n] = True
        if len(ig):
            ign_boxes[k, : len(ig)] = torch.from_numpy(ig)
            ign_mask[k, : len(ig)] = True
    targets = {"gt_boxes": gt_boxes, "gt_labels": gt_labels, "gt_mask": gt_mask, "ign_boxes": ign_boxes, "ign_mask": ign_mask}
    if len(batch[0]) > 3:
        targets["teach"] = torch.from_numpy(np.stack([b[3] for b in batch])).float()
    return imgs, targets


def toy_items(n, size, seed):
    """A tiny self-made dataset (coloured lamps on noise) so `--smoke` runs without
    ../shared. Only for exercising the code path, never for a shipped model."""
    rng = np.random.default_rng(seed)
    colors = {0: (230, 30, 30), 1: (240, 200, 20), 2: (30, 220, 90)}
    items = []
    for k in range(n):
        img = rng.integers(40, 120, (size, size, 3), dtype=np.uint8)
        boxes, classes = [], []
        for _ in range(rng.integers(1, 4)):
            c = int(rng.integers(0, 3))
            w = int(rng.integers(8, 40))
            h = w * 2
            x = int(rng.integers(0, size - w))
            y = int(rng.integers(0, size - h))
            img[y : y + h, x : x + w] = 20
            cy = y + h // 4 if c == 0 else (y + h // 2 if c == 1 else y + 3 * h // 4)
            cv2.circle(img, (x + w // 2, cy), max(2, w // 3), colors[c], -1)
            boxes.append([x, y, x + w, y + h])
            classes.append(c)
        items.append(Cached(img, np.array(boxes, np.float32), np.array(classes, np.int64), f"toy{k}"))
    return items


def find_safecross(explicit=None):
    """The safecross binary: --bin, else target/release, else target/debug."""
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for p in [explicit, os.path.join(repo, "target", "release", "safecross"), os.path.join(repo, "target", "debug", "safecross")]:
        if p and os.path.exists(p):
            return p
    raise FileNotFoundError("no safecross binary: run `cargo build --release` first (or pass --bin)")


def sanitized_backgrounds(split_dir, dest):
    """Mirror a YOLO split under `dest` with symlinks whose file stems have no dots.

    Roboflow stems look like `a_jpg.rf.3f2c...`; a label lookup that swaps the extension
    of `<stem>` (instead of appending `.txt`) misses them and pastes heads on photos
    whose own lights then go unlabelled. Plain stems avoid that whatever the generator
    does. The dataset's `data.yaml` is linked beside the split, as in the dataset, so
    the generator reads the class order from it.
    """
    for sub in ("images", "labels"):
        os.makedirs(os.path.join(dest, sub), exist_ok=True)
    yaml = next((os.path.join(d, "data.yaml") for d in (split_dir, os.path.dirname(os.path.abspath(split_dir)))
                 if os.path.isfile(os.path.join(d, "data.yaml"))), None)
    if yaml is None:
        raise FileNotFoundError(f"no data.yaml in {split_dir} or its parent: the class order of its labels is unknown")
    linked = os.path.join(os.path.dirname(os.path.abspath(dest)), "data.yaml")
    if not os.path.lexists(linked):
        os.symlink(os.path.abspath(yaml), linked)
    for img, lbl, _ in list_split(split_dir, "ours"):
        stem = os.path.splitext(os.path.basename(img))[0].replace(".", "_")
        ext = os.path.splitext(img)[1]
        for src, dst in ((img, os.path.join(dest, "images", stem + ext)), (lbl, os.path.join(dest, "labels", stem + ".txt"))):
            if os.path.exists(src) and not os.path.lexists(dst):
                os.symlink(os.path.abspath(src), dst)
    return dest


def build_synth(out, count, seed, size, backgrounds, binary=None, real_share=None, heldout_styles=None):
    """Synthetic stills (pedestrian heads pasted on real photos, our class ids) from the
    project's own generator; skipped when OUT already holds COUNT labelled stills.

    `heldout_styles` (e.g. "jp,uk,us-outline") draws the heads from those styles of the
    held-out design family; the family's other styles then stay held out."""
    import subprocess

    have = len(glob.glob(os.path.join(out, "labels", "*.txt")))
    if have >= count:
        print(f"{out}: {have} stills already there, not rebuilt")
        return out
    cmd = [find_safecross(binary), "synth", "stills", "--out", out, "--count", str(count), "--seed", str(seed), "--size", str(size)]
    for b in backgrounds:
        cmd += ["--backgrounds", b]
    if real_share is not None:
        cmd += ["--real-share", str(real_share)]
    if heldout_styles:
        cmd += ["--designs", "heldout", "--heldout-styles", heldout_styles]
    print("running:", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)
    return out


def class_counts(folder, kind):
    counts = np.zeros(len(NAMES) + 1, np.int64)
    for _, lbl, remap in list_split(folder, kind):
        _, c = parse_label_file(lbl, remap)
        for k in c:
            counts[k] += 1  # IGNORE (-1) lands in the last slot
    return {**{NAMES[i]: int(counts[i]) for i in range(len(NAMES))}, "ignore": int(counts[-1])}


def main():
    import argparse

    here = os.path.dirname(os.path.abspath(__file__))
    real = os.path.normpath(os.path.join(here, "..", "..", "shared", "data", "traffic-lights"))
    ap = argparse.ArgumentParser(description="Build the synthetic part of the training set and print class counts.")
    ap.add_argument("--out", default=os.path.join(here, "data", "synth"))
    ap.add_argument("--count", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--size", type=int, default=416)
    ap.add_argument("--data-root", default=real)
    ap.add_argument("--real-share", type=float, help="share of stills on real photos (generator default when absent)")
    ap.add_argument("--bin", help="path to the safecross binary")
    ap.add_argument("--heldout-styles", help="draw heads from these styles of the held-out design family (jp,kr,uk,us-stacked,us-outline)")
    a = ap.parse_args()
    bgs = []
    for ds in ("cinta", "kr"):
        src = os.path.join(a.data_root, ds, "train")
        if os.path.isdir(src):
            bgs.append(sanitized_backgrounds(src, os.path.join(here, "data", "backgrounds", ds, "train")))
    build_synth(a.out, a.count, a.seed, a.size, bgs, a.bin, a.real_share, a.heldout_styles)
    print("synthetic class counts:", class_counts(a.out, "ours"))
    for split, kind in [("cinta/train", "cinta"), ("kr/train", "kr"), ("cinta/valid", "cinta")]:
        d = os.path.join(a.data_root, split)
        if os.path.isdir(d):
            print(f"{split} class counts:", class_counts(d, kind))


if __name__ == "__main__":
    main()
