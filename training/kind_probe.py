"""Probe (not shipped): can a tiny crop classifier tell a pedestrian figure from a vehicle lamp better than the
detector does, on data held out by source and by design? The model card's "A second opinion on the kind" reports it.

Crops: a square of 1.6x the box's longer side around each labelled head, 32x32 px, from the detector's training
sources (drawn stills, clip frames, chanyoung/train, cinta/train, kr); a 30 k-parameter CNN says pedestrian or vehicle.
Held out: chanyoung/valid and cinta/valid (by source), and the detector's own boxes on the held-out clip sets (by seed,
by design, by style, photo streets, vehicle-only; make them with the scripts in this folder), matched to the truth head.

    python3 training/kind_probe.py build                 # crops -> WORK/kind_train.npz
    python3 training/kind_probe.py train [--colourblind] # -> WORK/kind.pt (--colourblind: channels shuffled, half grey)
    python3 training/kind_probe.py test /tmp/hs /tmp/hd /tmp/hst /tmp/hp /tmp/vo6

WORK is $KIND_PROBE_DIR or /tmp/kind_probe. `test` runs `target/release/safecross run --json` on each clip once.
"""
import glob, json, os, random, subprocess, sys
import numpy as np
import cv2

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(os.path.dirname(ROOT), "shared", "data")
WORK = os.environ.get("KIND_PROBE_DIR", "/tmp/kind_probe")
S = 32          # crop side fed to the classifier
CTX = 1.6       # crop = square of CTX x the box's longer side
PED, VEH = 1, 0


def names_of(yaml_path):
    for line in open(yaml_path):
        if line.strip().startswith("names:"):
            body = line.split(":", 1)[1].strip().strip("[]")
            return [n.strip().strip("'\"") for n in body.split(",")]
    raise SystemExit(f"no names in {yaml_path}")


def kind_of(name):
    if name in ("ped_stop", "ped_walk"):
        return PED
    if name in ("red", "yellow", "green"):
        return VEH
    return None


def crop(img, box, jitter=0.0, rng=None):
    """Square crop around box (x1,y1,x2,y2) in px, CTX x its longer side, resized to S x S."""
    x1, y1, x2, y2 = box
    cx, cy, w, h = (x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1
    if jitter and rng is not None:
        # the detector's box is off by some fraction of the head, and its size too
        cx += rng.uniform(-jitter, jitter) * w
        cy += rng.uniform(-jitter, jitter) * h
        f = np.exp(rng.uniform(-jitter, jitter))
        w, h = w * f, h * np.exp(rng.uniform(-jitter, jitter))
    side = max(w, h) * CTX
    if side < 4:
        return None
    H, W = img.shape[:2]
    src = np.float32([[cx - side / 2, cy - side / 2], [cx + side / 2, cy - side / 2], [cx - side / 2, cy + side / 2]])
    dst = np.float32([[0, 0], [S, 0], [0, S]])
    M = cv2.getAffineTransform(src, dst)
    return cv2.warpAffine(img, M, (S, S), flags=cv2.INTER_AREA if side > S else cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=(114, 114, 114))


def yolo_boxes(label_path, W, H, names):
    out = []
    if not os.path.exists(label_path):
        return out
    for line in open(label_path):
        v = line.split()
        if len(v) < 5:
            continue
        c = int(v[0]); nums = list(map(float, v[1:]))
        if len(nums) == 4:
            x, y, w, h = nums
            b = ((x - w / 2) * W, (y - h / 2) * H, (x + w / 2) * W, (y + h / 2) * H)
        else:
            xs, ys = nums[0::2], nums[1::2]
            b = (min(xs) * W, min(ys) * H, max(xs) * W, max(ys) * H)
        k = kind_of(names[c]) if c < len(names) else None
        if k is not None:
            out.append((k, b))
    return out


def folder_crops(img_dir, lab_dir, names, per_box, rng, limit=None):
    X, Y = [], []
    files = sorted(glob.glob(os.path.join(img_dir, "*")))
    if limit and len(files) > limit:
        files = rng.sample(files, limit)
    for f in files:
        stem = os.path.splitext(os.path.basename(f))[0]
        img = cv2.imread(f)
        if img is None:
            continue
        H, W = img.shape[:2]
        for k, b in yolo_boxes(os.path.join(lab_dir, stem + ".txt"), W, H, names):
            if b[2] - b[0] < 3 or b[3] - b[1] < 3:
                continue
            for _ in range(per_box):
                c = crop(img, b, jitter=0.25, rng=rng)
                if c is not None:
                    X.append(c); Y.append(k)
    return X, Y


def build():
    rng = random.Random(0)
    srcs = [
        (f"{ROOT}/training/data/synth/images", f"{ROOT}/training/data/synth/labels", names_of(f"{ROOT}/training/data/synth/data.yaml"), 1, None),
        (f"{ROOT}/training/data/clipframes/images", f"{ROOT}/training/data/clipframes/labels", names_of(f"{ROOT}/training/data/clipframes/data.yaml"), 1, 800),
        (f"{ROOT}/training/data/clipframes-night/images", f"{ROOT}/training/data/clipframes-night/labels", names_of(f"{ROOT}/training/data/clipframes/data.yaml"), 1, 800),
        (f"{ROOT}/training/data/clipframes-vehicle/images", f"{ROOT}/training/data/clipframes-vehicle/labels", names_of(f"{ROOT}/training/data/clipframes/data.yaml"), 1, 800),
        (f"{SHARED}/ped-lights/chanyoung/train/images", f"{SHARED}/ped-lights/chanyoung/train/labels", ["crosswalk", "ped_walk", "ped_stop"], 2, None),
        (f"{SHARED}/traffic-lights/cinta/train/images", f"{SHARED}/traffic-lights/cinta/train/labels", names_of(f"{SHARED}/traffic-lights/cinta/data.yaml"), 1, None),
        (f"{SHARED}/traffic-lights/kr/train/images", f"{SHARED}/traffic-lights/kr/train/labels", names_of(f"{SHARED}/traffic-lights/kr/data.yaml"), 1, None),
    ]
    X, Y = [], []
    for img_dir, lab_dir, names, per, limit in srcs:
        x, y = folder_crops(img_dir, lab_dir, names, per, rng, limit)
        print(f"{img_dir}: {len(x)} crops, ped {sum(y)}", flush=True)
        X += x; Y += y
    np.savez_compressed(os.path.join(WORK, "kind_train.npz"), x=np.stack(X), y=np.array(Y, np.int64))


def net():
    import torch.nn as nn
    def blk(i, o):
        return nn.Sequential(nn.Conv2d(i, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU())
    return nn.Sequential(blk(3, 16), nn.MaxPool2d(2), blk(16, 32), nn.MaxPool2d(2), blk(32, 48), nn.MaxPool2d(2),
                         blk(48, 64), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 2))


def to_tensor(x):
    import torch
    return torch.from_numpy(x[..., ::-1].copy()).permute(0, 3, 1, 2).float() / 255.0


def train():
    import torch
    torch.manual_seed(0); torch.set_num_threads(2)
    d = np.load(os.path.join(WORK, "kind_train.npz")); x, y = d["x"], d["y"]
    m = net(); opt = torch.optim.AdamW(m.parameters(), 2e-3, weight_decay=1e-4)
    n = len(y); w = torch.tensor([n / (2 * (n - y.sum())), n / (2 * y.sum())], dtype=torch.float32)
    epochs = 10
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, 3e-3, total_steps=epochs * ((n + 255) // 256))
    for ep in range(epochs):
        perm = np.random.RandomState(ep).permutation(n); m.train(); tot = 0
        for i in range(0, n, 256):
            idx = perm[i:i + 256]; xb = to_tensor(x[idx]); yb = torch.from_numpy(y[idx])
            if np.random.rand() < 0.5:
                xb = xb.flip(3)
            # brightness/contrast jitter: night and glare
            xb = (xb * torch.empty(len(idx), 1, 1, 1).uniform_(0.6, 1.4) + torch.empty(len(idx), 1, 1, 1).uniform_(-0.1, 0.1)).clamp(0, 1)
            if "--colourblind" in sys.argv:
                # kind is shape, not colour: shuffle channels per sample, and grey half of them
                perm_c = torch.stack([torch.randperm(3) for _ in range(len(idx))])
                xb = torch.gather(xb, 1, perm_c[:, :, None, None].expand_as(xb))
                grey = torch.rand(len(idx)) < 0.5
                xb[grey] = xb[grey].mean(1, keepdim=True).expand(-1, 3, -1, -1)
            loss = torch.nn.functional.cross_entropy(m(xb), yb, weight=w)
            opt.zero_grad(); loss.backward(); opt.step(); sched.step(); tot += loss.item() * len(idx)
        print(f"epoch {ep} loss {tot / n:.4f}", flush=True)
    torch.save(m.state_dict(), os.path.join(WORK, "kind.pt"))


def classify(m, crops):
    import torch
    if not crops:
        return np.zeros(0)
    with torch.no_grad():
        m.eval()
        return torch.softmax(m(to_tensor(np.stack(crops))), 1)[:, PED].numpy()


def iou(a, b):
    x1, y1 = max(a[0], b[0]), max(a[1], b[1]); x2, y2 = min(a[2], b[2]), min(a[3], b[3])
    i = max(0, x2 - x1) * max(0, y2 - y1); u = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - i
    return i / u if u > 0 else 0


def test():
    import torch
    m = net(); m.load_state_dict(torch.load(os.path.join(WORK, "kind.pt"))); m.eval()
    rng = random.Random(1)
    # 1. real photos held out by source: truth boxes, no jitter
    for name, img_dir, lab_dir, names in [
        ("chanyoung/valid", f"{SHARED}/ped-lights/chanyoung/valid/images", f"{SHARED}/ped-lights/chanyoung/valid/labels", ["crosswalk", "ped_walk", "ped_stop"]),
        ("cinta/valid", f"{SHARED}/traffic-lights/cinta/valid/images", f"{SHARED}/traffic-lights/cinta/valid/labels", names_of(f"{SHARED}/traffic-lights/cinta/data.yaml")),
    ]:
        x, y = folder_crops(img_dir, lab_dir, names, 1, rng)
        p = classify(m, x); y = np.array(y)
        for k, kn in ((PED, "ped"), (VEH, "vehicle")):
            sel = y == k
            if sel.any():
                print(f"{name}: {kn} boxes {sel.sum()}, called ped {np.mean(p[sel] > 0.5):.3f}")
    # 2. detector boxes on held-out clips, against the truth kind
    rows = []  # (set, detector_kind, truth_kind, p_ped)
    clips = [(os.path.basename(os.path.normpath(d)), mp4) for d in sys.argv[2:] for mp4 in sorted(glob.glob(os.path.join(d, "*.mp4")))]
    for s, mp4 in clips:
        clip = os.path.basename(mp4)[:-4]
        f = os.path.join(WORK, f"{s}.{clip}.jsonl")
        if not os.path.exists(f):
            out = subprocess.run([os.path.join(ROOT, "target/release/safecross"), "run", mp4, "--fast", "--json", "--audio", "none"],
                                 capture_output=True, text=True, check=True, cwd=ROOT).stdout
            open(f, "w").write("".join(l + "\n" for l in out.splitlines() if '"frame"' in l))
        T = json.load(open(mp4[:-4] + ".json")); tb = {b["frame"]: b["boxes"] for b in T["boxes"]}
        cap = cv2.VideoCapture(mp4); fi = 0
        dets = {}
        for line in open(f):
            r = json.loads(line); dets[r["frame"]] = r["detections"]
        crops, meta = [], []
        while True:
            ok, img = cap.read()
            if not ok:
                break
            if fi % 3 == 0:
                for d in dets.get(fi, []):
                    dk = kind_of(d["class"])
                    if dk is None or d["score"] < 0.3:
                        continue
                    best = max(((iou(d["box"], t["box"]), t) for t in tb.get(fi, [])), default=(0, None), key=lambda z: z[0])
                    if best[0] < 0.2 or kind_of(best[1]["class"]) is None:
                        continue
                    c = crop(img, d["box"])
                    if c is not None:
                        crops.append(c); meta.append((s, dk, kind_of(best[1]["class"])))
            fi += 1
        for pp, mt in zip(classify(m, crops), meta):
            rows.append(mt + (pp,))
    print("held-out clips, detector boxes (score >= 0.3) matched to a truth head, every 3rd frame:")
    for s in sorted({r[0] for r in rows}) + ["all"]:
        R = [r for r in rows if s == "all" or r[0] == s]
        for dk, tk, what in [(PED, VEH, "detector ped on vehicle lamp (kind confusion)"), (PED, PED, "detector ped on ped head"),
                             (VEH, PED, "detector vehicle on ped head"), (VEH, VEH, "detector vehicle on vehicle lamp")]:
            sel = [r for r in R if r[1] == dk and r[2] == tk]
            if sel:
                called_ped = np.mean([r[3] > 0.5 for r in sel])
                print(f"  {s:4} {what:48} n={len(sel):5}  verifier says ped {called_ped:.3f}")
    print("operating points: kind confusions caught (verifier p(ped) < t) / true pedestrian boxes lost (the same):")
    for t in (0.5, 0.2, 0.05):
        cells = []
        for s in sorted({r[0] for r in rows}):
            conf = [r[3] < t for r in rows if r[0] == s and r[1] == PED and r[2] == VEH]
            lost = [r[3] < t for r in rows if r[0] == s and r[1] == PED and r[2] == PED]
            cells.append(f"{s} {np.mean(conf) if conf else float('nan'):.2f}/{np.mean(lost) if lost else float('nan'):.3f}")
        print(f"  t={t}: " + "  ".join(cells))

if __name__ == "__main__":
    os.makedirs(WORK, exist_ok=True)
    {"build": build, "train": train, "test": test}[sys.argv[1]]()
