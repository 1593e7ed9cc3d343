"""Train the safecross traffic-light detector on CPU.

    python3 training/train.py --name main --epochs 40          # real + synthetic data
    python3 training/train.py --name main --resume             # continue after an interruption
    python3 training/train.py --smoke --out /tmp/x             # ~1 min: /tmp/x/model.onnx

Writes into the run folder: config.json, manifest.json (every training/validation file
with its SHA-1), train.log, losses.csv (per epoch), last.pt (every epoch, resumable),
best.pt (best validation fitness), model.onnx (exported from best.pt at the end).
"""

import os

# With two cores shared with compilers, OpenMP threads that spin while waiting made
# training ~3x slower; passive waiting must be set before torch is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402
import csv
import json  # noqa: E402
import math  # noqa: E402
import random  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from copy import deepcopy  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import data as D  # noqa: E402
from evaluate import evaluate, format_result  # noqa: E402
from export import export  # noqa: E402
from loss import DetectionLoss  # noqa: E402
from model import ExportWrapper, build_model, count_gflops, count_params, make_anchors  # noqa: E402
from pretrained import load_from_onnx, yolox_first_conv  # noqa: E402
from widen import check, widen, widths_of  # noqa: E402

REPO = os.path.dirname(HERE)
DEFAULT_DATA = os.path.normpath(os.path.join(REPO, "..", "shared", "data", "traffic-lights"))
DEFAULT_PED_DATA = os.path.normpath(os.path.join(REPO, "..", "shared", "data", "ped-lights"))


def log(msg, fh=None):
    line = f"[{time.strftime('%H:%M:%S')}] {msg}"
    print(line, flush=True)
    if fh:
        fh.write(line + "\n")
        fh.flush()


class EMA:
    """Exponential moving average of the weights; its warm-up ramp lets early epochs
    count without the average lagging far behind."""

    def __init__(self, model, decay=0.999, tau=1000, updates=0):
        self.model = deepcopy(model).eval()
        for p in self.model.parameters():
            p.requires_grad_(False)
        self.decay, self.tau, self.updates = decay, tau, updates

    @torch.no_grad()
    def update(self, model):
        self.updates += 1
        d = self.decay * (1 - math.exp(-self.updates / self.tau))
        msd = model.state_dict()
        for k, v in self.model.state_dict().items():
            if v.dtype.is_floating_point:
                v.mul_(d).add_(msd[k].detach(), alpha=1 - d)
            else:
                v.copy_(msd[k])


def train_mode(model, freeze_bn=False):
    """Training mode; with `freeze_bn`, every BatchNorm keeps normalising by its stored
    statistics and stops updating them (its scale and shift still learn). A model loaded from
    ONNX has BatchNorm folded into its convolutions and set to the identity: in plain training
    mode it would normalise by batch statistics instead and relearn them from scratch. Such
    fine-tunes lose cinta mAP50 in their first epoch with or without the flag (run `hardF`,
    models/README.md), so that loss has another cause."""
    model.train()
    if freeze_bn:
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.eval()
    return model


def make_optimizer(model, lr, wd):
    decay, no_decay = [], []
    for n, p in model.named_parameters():
        (no_decay if p.ndim <= 1 else decay).append(p)
    return torch.optim.AdamW([{"params": decay, "weight_decay": wd}, {"params": no_decay, "weight_decay": 0.0}], lr=lr, betas=(0.9, 0.999))


def lr_at(it, total, warmup, base, final_frac=0.05):
    if it < warmup:
        return base * (0.1 + 0.9 * it / warmup)
    t = (it - warmup) / max(1, total - warmup)
    return base * (final_frac + (1 - final_frac) * 0.5 * (1 + math.cos(math.pi * t)))


def gather_items(cfg):
    """Training and validation file lists per the config."""
    train, val = [], []
    if cfg["smoke"] and not os.path.isdir(cfg["data_root"]):
        return None, None, None
    root = cfg["data_root"]
    ped_root = cfg.get("ped_root")
    for split, kind in cfg["train_splits"]:
        train += D.list_split(os.path.join(root, split), kind)
    for split, kind in cfg.get("ped_train_splits", []):
        train += D.list_split(os.path.join(ped_root, split), kind)
    for d in cfg["synth_dirs"]:
        train += D.list_split(d, "ours")
    for split, kind in cfg["val_splits"]:
        val += D.list_split(os.path.join(root, split), kind)
    ped_val = []
    for split, kind in cfg.get("ped_val_splits", []):
        ped_val += D.list_split(os.path.join(ped_root, split), kind)
    if cfg["smoke"]:
        rnd = random.Random(cfg["seed"])
        rnd.shuffle(train)
        train, val, ped_val = train[:24], val[:8], ped_val[:8]
    return train, val, ped_val


def write_manifest(path, train, val, cfg):
    def entry(items):
        return [{"image": os.path.relpath(i, REPO), "label": os.path.relpath(l, REPO), "sha1": D.file_sha1(i)} for i, l, _ in items]

    man = {"train_count": len(train), "val_count": len(val), "train": entry(train), "val": entry(val), "synth_dirs": cfg["synth_dirs"]}
    with open(path, "w") as f:
        json.dump(man, f, indent=1)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--name", default="main", help="run name: training/runs/NAME")
    ap.add_argument("--out", help="run folder (overrides --name)")
    ap.add_argument("--data-root", default=DEFAULT_DATA)
    ap.add_argument("--synth", action="append", default=[], help="synthetic stills folder (YOLO, our class ids); repeatable")
    ap.add_argument("--no-kr", action="store_true", help="leave out kr/train")
    ap.add_argument("--ped-root", default=DEFAULT_PED_DATA, help="real pedestrian-signal photos (chanyoung/train for training, chanyoung/valid for validation)")
    ap.add_argument("--no-ped", action="store_true", help="leave out the real pedestrian photos")
    ap.add_argument("--arch", default="safecross", choices=["safecross", "yolox_nano"], help="network: ours, or YOLOX-Nano's backbone and neck under our heads")
    ap.add_argument("--width", default="8,16,32,64,96", help="our network's stage widths (stem, 4 stages); an --init checkpoint of narrower widths is widened exactly (widen.py)")
    ap.add_argument("--head-width", type=int, default=32, help="channels of the heads' 3x3 convs")
    ap.add_argument("--paste", type=float, default=0.0, help="share of training crops that get real pedestrian heads pasted small (HeadBank)")
    ap.add_argument("--hard-repeat", type=int, default=1, help="show real photos on which the --init model puts a false pedestrian box N times per epoch")
    ap.add_argument("--hard-drawn", type=int, default=1, help="show generated frames (--synth) on which the --init model puts a pedestrian box on no pedestrian head, or misses or misreads a head, N times per epoch")
    ap.add_argument("--freeze-bn", action="store_true", help="keep BatchNorm's statistics fixed (for fine-tunes, above all from an ONNX --init, whose BatchNorm is the identity over folded convolutions)")
    ap.add_argument("--distill", type=float, default=0.0, help="weight of a loss that keeps the outputs close to the --init model's (the teacher) wherever a crop shows an image that model was not found wrong on (all but --hard-repeat/--hard-drawn frames): a fine-tune learns the hard frames without forgetting the rest")
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--imgsz", type=int, default=416, help="export/validation input size")
    ap.add_argument("--fit", help="deployed input WIDTHxHEIGHT (e.g. 640x384): each image is trained at the scale it has when letterboxed into it, and the final export has this size (default: square --imgsz)")
    ap.add_argument("--train-size", type=int, default=416, help="training crop size (the net is fully convolutional)")
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--wd", type=float, default=5e-4)
    ap.add_argument("--mosaic", type=float, default=0.5)
    ap.add_argument("--no-mosaic-last", type=int, default=3, help="turn mosaic off for the last N epochs")
    ap.add_argument("--val-every", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--resume", action="store_true", help="continue from RUN/last.pt")
    ap.add_argument("--init", help="start from these weights (a best.pt/last.pt of an earlier run) with a fresh schedule")
    ap.add_argument("--warmup", type=int, default=300, help="warm-up iterations")
    ap.add_argument("--repeat", action="append", default=[], metavar="CLASS=N", help="show images holding CLASS N times per epoch (e.g. yellow=4: cinta has few yellow lights); repeatable")
    ap.add_argument("--smoke", action="store_true", help="a handful of images, one short epoch, export; for CI")
    a = ap.parse_args()

    out = a.out or os.path.join(HERE, "runs", a.name)
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(a.threads)
    D.cv2.setNumThreads(1)

    cfg_path = os.path.join(out, "config.json")
    if a.resume:
        with open(cfg_path) as f:
            cfg = json.load(f)
    else:
        cfg = {
            "seed": a.seed,
            "epochs": 1 if a.smoke else a.epochs,
            "batch": 8 if a.smoke else a.batch,
            "imgsz": 160 if a.smoke else a.imgsz,
            "train_size": 160 if a.smoke else a.train_size,
            "fit": None if a.smoke or not a.fit else [int(v) for v in a.fit.lower().split("x")],
            "lr": a.lr,
            "wd": a.wd,
            "mosaic": a.mosaic,
            "no_mosaic_last": 0 if a.smoke else a.no_mosaic_last,
            "val_every": a.val_every,
            "warmup_iters": 10 if a.smoke else a.warmup,
            "init": os.path.abspath(a.init) if a.init else None,
            "ema_decay": 0.999,
            "loss": {"box_weight": 7.5, "cls_weight": 0.5, "assigner": "task-aligned topk=10 alpha=0.5 beta=6 + centre within 1 stride"},
            "model": {"arch": "yolox_nano", "head_width": 32} if a.arch == "yolox_nano" else {"width": [int(v) for v in a.width.split(",")], "depth": [1, 1, 2, 1], "head_width": a.head_width},
            "data_root": os.path.abspath(a.data_root),
            "train_splits": [["cinta/train", "cinta"]] + ([] if a.no_kr else [["kr/train", "kr"]]),
            "val_splits": [["cinta/valid", "cinta"]],
            "ped_root": os.path.abspath(a.ped_root),
            "ped_train_splits": [] if a.no_ped else [["chanyoung/train", "chanyoung"]],
            "ped_val_splits": [] if a.no_ped else [["chanyoung/valid", "chanyoung"]],
            "paste": a.paste,
            "hard_repeat": a.hard_repeat,
            "hard_drawn_repeat": a.hard_drawn,
            "freeze_bn": a.freeze_bn,
            "distill": a.distill,
            "synth_dirs": [os.path.abspath(s) for s in a.synth],
            "cache_side": 640,
            "repeat": {k: int(v) for k, v in (r.split("=") for r in a.repeat)},
            "smoke": a.smoke,
            "torch": torch.__version__,
        }
        with open(cfg_path, "w") as f:
            json.dump(cfg, f, indent=2)

    seed = cfg["seed"]
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    logf = open(os.path.join(out, "train.log"), "a")
    log(f"run {out}  config {json.dumps(cfg)}", logf)

    train_items, val_items, ped_val_items = gather_items(cfg)
    t0 = time.time()
    if train_items is None:
        log("smoke: ../shared absent, using the built-in toy images", logf)
        train_cache = D.toy_items(24, 256, seed)
        val_cache = D.toy_items(8, 256, seed + 1)
        ped_val_cache = []
    else:
        if not a.resume:
            write_manifest(os.path.join(out, "manifest.json"), train_items, val_items + ped_val_items, cfg)
        train_cache = D.load_items(train_items, cfg["cache_side"])
        val_cache = D.load_items(val_items, 10_000)
        ped_val_cache = D.load_items(ped_val_items, 10_000)
    for name, times in cfg.get("repeat", {}).items():
        cid = D.NAMES.index(name)
        holding = [c for c in train_cache if (np.asarray(c.classes) == cid).any()]
        train_cache = train_cache + holding * (times - 1)
        log(f"repeat: {len(holding)} images with {name} shown {times}x per epoch", logf)
    n_boxes = sum(len(c.boxes) for c in train_cache)
    log(f"cached {len(train_cache)} train ({n_boxes} boxes incl. ignore) + {len(val_cache)} val images in {time.time() - t0:.1f}s", logf)

    model = build_model(len(D.NAMES), cfg["model"])
    log(f"model: {count_params(model) / 1e6:.3f} M params, {count_gflops(model, cfg['imgsz']):.3f} GFLOPs at {cfg['imgsz']}", logf)
    if cfg.get("init") and not a.resume:
        load_init(model, cfg, logf)
    teacher = None
    if cfg.get("distill", 0) > 0:
        if not cfg.get("init"):
            raise SystemExit("--distill needs --init: the starting model is the teacher")
        # From the --init weights, also when resuming (the student has moved on by then).
        teacher = build_model(len(D.NAMES), cfg["model"])
        load_init(teacher, cfg, logf)
        teacher.eval().requires_grad_(False)
    train_mode(model, cfg.get("freeze_bn", False))
    opt = make_optimizer(model, cfg["lr"], cfg["wd"])
    ema = EMA(model, cfg["ema_decay"], tau=50 if cfg["smoke"] else 1000)
    start_epoch, best_fit = 0, -1.0
    last_path, best_path = os.path.join(out, "last.pt"), os.path.join(out, "best.pt")
    if a.resume and os.path.exists(last_path):
        ck = torch.load(last_path, map_location="cpu", weights_only=False)
        model.load_state_dict(ck["model"])
        ema.model.load_state_dict(ck["ema"])
        ema.updates = ck["ema_updates"]
        opt.load_state_dict(ck["optim"])
        start_epoch, best_fit = ck["epoch"] + 1, ck["best_fit"]
        log(f"resumed from epoch {ck['epoch']} (best fitness {best_fit:.4f})", logf)

    if cfg.get("hard_repeat", 1) > 1 and train_items is not None:
        hard = mine_hard_negatives(model, train_cache, cfg["imgsz"])
        for it in hard:
            it.teach = False
        train_cache = train_cache + hard * (cfg["hard_repeat"] - 1)
        log(f"hard negatives: {len(hard)} real photos with a false pedestrian box at 0.3 shown {cfg['hard_repeat']}x per epoch", logf)
    if cfg.get("hard_drawn_repeat", 1) > 1 and train_items is not None:
        fit = tuple(cfg["fit"]) if cfg.get("fit") else (cfg["imgsz"], cfg["imgsz"])
        false_ped, missed = mine_hard_drawn(model, train_cache, fit)
        hard = false_ped + missed
        for it in hard:
            it.teach = False
        train_cache = train_cache + hard * (cfg["hard_drawn_repeat"] - 1)
        log(f"hard generated frames: {len(false_ped)} with a pedestrian box on no pedestrian head, {len(missed)} more with a "
            f"head missed or misread, at 0.3, shown {cfg['hard_drawn_repeat']}x per epoch", logf)
    heads = None
    if cfg.get("paste", 0) > 0 and train_items is not None:
        heads = D.HeadBank([c for c in train_cache if "ped-lights" in c.path])
        log(f"head bank: {len(heads)} real heads {heads.counts()} pasted into {cfg['paste']:.0%} of crops", logf)
    ds = D.TrainSet(train_cache, cfg["train_size"], base=cfg["imgsz"], fit=cfg.get("fit"), mosaic=cfg["mosaic"], seed=seed,
                    heads=heads if heads and len(heads) else None, paste=cfg.get("paste", 0.0), teach_masks=teacher is not None)
    if teacher is not None:
        taught = sum(it.teach for it in train_cache)
        log(f"distillation (weight {cfg['distill']}): the --init model is the teacher on {taught} of {len(train_cache)} training images", logf)
    anchors, strides = make_anchors(cfg["train_size"], model.strides)
    crit = DetectionLoss(len(D.NAMES), **{k: v for k, v in cfg["loss"].items() if k.endswith("weight")})
    iters_per_epoch = len(ds) // cfg["batch"] if len(ds) >= cfg["batch"] else 1
    total_iters = iters_per_epoch * cfg["epochs"]
    csv_path = os.path.join(out, "losses.csv")
    fields = ["epoch", "lr", "loss", "box", "cls", "npos_per_img", "sec", "map50", "recall_any", "state_acc", "ped_recall", "ped_state", "ped_map50", "fitness"]
    if not os.path.exists(csv_path) or start_epoch == 0:
        with open(csv_path, "w", newline="") as f:
            csv.writer(f).writerow(fields)

    for epoch in range(start_epoch, cfg["epochs"]):
        ds.set_epoch(epoch)
        ds.mosaic = cfg["mosaic"] if epoch < cfg["epochs"] - cfg["no_mosaic_last"] else 0.0
        g = torch.Generator().manual_seed(seed * 7919 + epoch)
        sampler = torch.utils.data.RandomSampler(ds, generator=g)
        dl = torch.utils.data.DataLoader(
            ds, batch_size=cfg["batch"], sampler=sampler, num_workers=a.workers, collate_fn=D.collate, drop_last=len(ds) >= cfg["batch"]
        )
        train_mode(model, cfg.get("freeze_bn", False))
        te = time.time()
        sums = {"loss": 0.0, "box": 0.0, "cls": 0.0, "npos": 0, "distill": 0.0}
        n_it = n_img = 0
        for i, (imgs, tg) in enumerate(dl):
            it = epoch * iters_per_epoch + i
            lr = lr_at(it, total_iters, cfg["warmup_iters"], cfg["lr"])
            for pg in opt.param_groups:
                pg["lr"] = lr
            raw_box, raw_cls = model(imgs)
            loss, parts = crit(raw_box, raw_cls, anchors, strides, tg)
            if teacher is not None:
                with torch.no_grad():
                    t_box, t_cls = teacher(imgs)
                d = distill_loss(raw_box, raw_cls, t_box, t_cls, anchor_mask(tg["teach"], model.strides))
                loss = loss + cfg["distill"] * d
                sums["distill"] += d.item()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
            opt.step()
            ema.update(model)
            sums["loss"] += loss.item()
            sums["box"] += parts["box"]
            sums["cls"] += parts["cls"]
            sums["npos"] += parts["npos"]
            n_it += 1
            n_img += imgs.shape[0]
            if i % 10 == 0:
                el = time.time() - te
                log(f"ep {epoch} it {i}/{iters_per_epoch} loss {loss.item():.3f} box {parts['box']:.3f} cls {parts['cls']:.3f} "
                    f"npos {parts['npos']} distill {sums['distill'] / (i + 1):.3f} lr {lr:.2e} {n_img / max(el, 1e-6):.1f} img/s", logf)
        sec = time.time() - te
        row = {"epoch": epoch, "lr": f"{lr:.3e}", "loss": sums["loss"] / n_it, "box": sums["box"] / n_it, "cls": sums["cls"] / n_it,
               "npos_per_img": sums["npos"] / max(n_img, 1), "sec": round(sec, 1)}
        last = epoch == cfg["epochs"] - 1
        fit = None
        if (epoch + 1) % cfg["val_every"] == 0 or last:
            wrapper = ExportWrapper(ema.model, cfg["imgsz"]).eval()
            with torch.no_grad():
                res = evaluate(lambda x: wrapper(torch.from_numpy(x))[0].numpy(), val_cache, cfg["imgsz"])
            fit = res["map50"] * 0.7 + res["recall_any_iou03"] * 0.2 + res["state_accuracy"] * 0.1
            if math.isnan(fit):
                fit = 0.0
            row.update({"map50": round(res["map50"], 4), "recall_any": round(res["recall_any_iou03"], 4), "state_acc": round(res["state_accuracy"], 4)})
            log(f"epoch {epoch} val (EMA):\n{format_result(res)}", logf)
            if ped_val_cache:
                with torch.no_grad():
                    pres = evaluate(lambda x: wrapper(torch.from_numpy(x))[0].numpy(), ped_val_cache, cfg["imgsz"], classes=(D.PED_STOP, D.PED_WALK, D.CROSSWALK),
                                    pair=(D.PED_STOP, D.PED_WALK), recall_classes=D.PED_CLASSES)
                ped_fit = 0.4 * pres["recall_any_iou03"] + 0.3 * pres["pair"]["accuracy"] + 0.3 * pres["map50"]
                fit = 0.5 * fit + 0.5 * (0.0 if math.isnan(ped_fit) else ped_fit)
                row.update({"ped_recall": round(pres["recall_any_iou03"], 4), "ped_state": round(pres["pair"]["accuracy"], 4),
                            "ped_map50": round(pres["map50"], 4)})
                log(f"epoch {epoch} chanyoung/valid (EMA):\n{format_result(pres)}", logf)
            row["fitness"] = round(fit, 4)
        ck = {"model": model.state_dict(), "ema": ema.model.state_dict(), "ema_updates": ema.updates, "optim": opt.state_dict(),
              "epoch": epoch, "best_fit": max(best_fit, fit if fit is not None else -1.0), "config": cfg}
        if fit is not None and fit > best_fit:
            best_fit = fit
            torch.save({"ema": ema.model.state_dict(), "config": cfg, "epoch": epoch, "fitness": fit}, best_path)
            log(f"new best fitness {fit:.4f} at epoch {epoch}", logf)
        torch.save(ck, last_path + ".tmp")
        os.replace(last_path + ".tmp", last_path)
        with open(csv_path, "a", newline="") as f:
            csv.writer(f).writerow([row.get(k, "") for k in fields])
        log(f"epoch {epoch} done in {sec:.0f}s ({n_img / sec:.1f} img/s) loss {row['loss']:.4f} box {row['box']:.4f} cls {row['cls']:.4f}", logf)

    plot_curves(csv_path, os.path.join(out, "losses.png"))
    src = best_path if os.path.exists(best_path) else last_path
    ck = torch.load(src, map_location="cpu", weights_only=False)
    final = build_model(len(D.NAMES), cfg["model"])
    final.load_state_dict(ck["ema"])
    fit = cfg.get("fit")
    onnx_path = export(final, (fit[1], fit[0]) if fit else cfg["imgsz"], os.path.join(out, "model.onnx"))
    log(f"exported {onnx_path} from {os.path.basename(src)} (epoch {ck['epoch']})", logf)


def load_init(model, cfg, logf):
    """Loads the `--init` weights (an ONNX model, or a checkpoint of any width) into `model`."""
    if cfg["init"].endswith(".onnx"):
        first = yolox_first_conv if cfg["model"].get("arch") == "yolox_nano" else None
        n, ours, theirs = load_from_onnx(model, cfg["init"], first_conv=first)
        log(f"initialised {n} of {ours} convolutions from {cfg['init']} ({theirs} in its graph)", logf)
    else:
        ck0 = torch.load(cfg["init"], map_location="cpu", weights_only=False)
        width, head_width = widths_of(ck0["ema"]) if cfg["model"].get("arch", "safecross") == "safecross" else (None, None)
        if width is not None and (list(width), head_width) != (cfg["model"]["width"], cfg["model"]["head_width"]):
            narrow = build_model(len(D.NAMES), {**cfg["model"], "width": width, "head_width": head_width})
            load_grown(narrow, ck0["ema"])
            widen(narrow, model)
            log(f"widened {width}/{head_width} -> {cfg['model']['width']}/{cfg['model']['head_width']}: "
                f"largest output difference {check(narrow, model):.1e}", logf)
        else:
            load_grown(model, ck0["ema"])
        log(f"initialised from the EMA weights of {cfg['init']} (epoch {ck0['epoch']})", logf)


def anchor_mask(pixel_mask, strides):
    """[B, N]: the share of each anchor point's cell that `pixel_mask` [B, S, S] covers,
    level by level, row-major, as the model's outputs are ordered."""
    m = pixel_mask[:, None]
    return torch.cat([F.avg_pool2d(m, s, s).flatten(1) for s in strides], 1)


def distill_loss(raw_box, raw_cls, t_box, t_cls, weight, min_score=0.2):
    """Keeps the student's outputs on the teacher's where `weight` [B, N] > 0: class
    scores by BCE against the teacher's scores (less the teacher's own entropy, so a perfect
    copy costs 0), and box distances (log space, smooth L1) where the teacher sees
    something (any class >= `min_score`), each point weighted by its teacher score. Scaled
    like the detection loss: by the teacher's score mass, not the number of points."""
    tp = t_cls.sigmoid()
    bce = F.binary_cross_entropy_with_logits(raw_cls, tp, reduction="none") - F.binary_cross_entropy_with_logits(t_cls, tp, reduction="none")
    peak = tp.amax(-1)
    norm = (peak * weight).sum().clamp(min=1.0)
    cls = (bce.sum(-1) * weight).sum() / norm
    seen = (peak >= min_score).float() * peak * weight
    box = (F.smooth_l1_loss(raw_box, t_box, reduction="none", beta=0.1).sum(-1) * seen).sum() / norm
    return cls + box


def load_grown(model, sd):
    """Loads a state dict whose class convs may have fewer outputs (a checkpoint from
    before a class was added): the shared rows are copied, the new ones keep their init."""
    own = model.state_dict()
    for k, v in sd.items():
        if k in own and own[k].shape != v.shape and own[k].ndim == v.ndim and own[k].shape[1:] == v.shape[1:]:
            grown = own[k].clone()
            grown[: v.shape[0]] = v
            sd[k] = grown
    model.load_state_dict(sd)


def is_generated(path):
    """Whether a training image is one of ours (synthetic still or clip frame), not a real photo."""
    return "/synth" in path or "clipframes" in path


def detect(wrapper, img, size, conf, scale=None):
    """Boxes (image px, xyxy), scores and classes that `wrapper` (an ExportWrapper of input
    `size`) finds in `img` letterboxed as `D.letterbox` does."""
    from evaluate import decode

    canvas, r, (px, py) = D.letterbox(img, size, scale)
    x = torch.from_numpy(canvas.transpose(2, 0, 1)[None].astype(np.float32) / 255.0)
    b, s, c = decode(wrapper(x)[0].numpy(), conf=conf)
    return (b - np.array([px, py, px, py], np.float32)) / r, s, c


def puts_false_pedestrian(boxes, classes, item):
    """Whether a pedestrian box among `boxes` covers no labelled pedestrian head of `item`
    (IoU < 0.3 with each)."""
    from evaluate import iou_matrix

    ped = np.isin(classes, D.PED_CLASSES)
    if not ped.any():
        return False
    gt = item.boxes[np.isin(item.classes, D.PED_CLASSES)]
    return len(gt) == 0 or bool((iou_matrix(boxes[ped], gt).max(1) < 0.3).any())


@torch.no_grad()
def mine_hard_negatives(model, items, size, conf=0.3):
    """Real photos on which `model` puts a pedestrian box (stop or walk, score >= conf) that
    covers no labelled pedestrian head: windows, shop signs and tail lights read as figures.
    Leaves `model` in eval mode; the epoch loop sets the training mode."""
    wrapper = ExportWrapper(model, size).eval()
    hard = []
    for it in items:
        if is_generated(it.path):
            continue
        b, _, c = detect(wrapper, it.img, size, conf)
        if puts_false_pedestrian(b, c, it):
            hard.append(it)
    return hard


@torch.no_grad()
def mine_hard_drawn(model, items, fit, conf=0.3, min_side=6.0):
    """Generated frames (synthetic stills, clip frames) that `model` gets wrong where it matters
    to the decide stage: a pedestrian box (score >= conf) on no labelled pedestrian head (a vehicle
    lamp or housing read as a figure: the cause of the walk missed by conflict on the `eu` sample and
    of the held-out walk on a vehicle housing), or a labelled pedestrian head of at least `min_side`
    px at the deployed scale with no box of its own class on it (heads found late or misread).
    Each image is seen at the scale it has in the deployed `fit` = (width, height) input.
    Returns (false_pedestrian, missed), disjoint; a path listed twice in `items` is judged once
    and returned as often as it is listed. Leaves `model` in eval mode."""
    from evaluate import iou_matrix

    wrappers, verdict = {}, {}
    false_ped, missed = [], []
    for it in items:
        if not is_generated(it.path):
            continue
        if it.path not in verdict:
            h, w = it.img.shape[:2]
            r = min(fit[0] / w, fit[1] / h)
            # The smallest square input of whole strides that holds the image at that scale.
            side = -(-max(round(w * r), round(h * r)) // 32) * 32
            if side not in wrappers:
                wrappers[side] = ExportWrapper(model, side).eval()
            b, _, c = detect(wrappers[side], it.img, side, conf, scale=r)
            gt_ped = np.isin(it.classes, D.PED_CLASSES)
            gt, gc = it.boxes[gt_ped], np.asarray(it.classes)[gt_ped]
            v = None
            if puts_false_pedestrian(b, c, it):
                v = "false"
            elif len(gt):
                big = np.minimum(gt[:, 2] - gt[:, 0], gt[:, 3] - gt[:, 1]) * r >= min_side
                if len(b):
                    found = (iou_matrix(gt, b) * (np.asarray(c)[None, :] == gc[:, None])).max(1) >= 0.3
                else:
                    found = np.zeros(len(gt), bool)
                if (big & ~found).any():
                    v = "missed"
            verdict[it.path] = v
        if verdict[it.path] == "false":
            false_ped.append(it)
        elif verdict[it.path] == "missed":
            missed.append(it)
    return false_ped, missed


def plot_curves(csv_path, png_path):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    rows = list(csv.DictReader(open(csv_path)))
    ep = [int(r["epoch"]) for r in rows]
    fig, ax = plt.subplots(1, 2, figsize=(10, 4))
    for k in ("loss", "box", "cls"):
        ax[0].plot(ep, [float(r[k]) for r in rows], label=k)
    ax[0].legend()
    ax[0].set_xlabel("epoch")
    vr = [r for r in rows if r["map50"]]
    for k in ("map50", "recall_any", "state_acc"):
        ax[1].plot([int(r["epoch"]) for r in vr], [float(r[k]) for r in vr], label=k)
    ax[1].legend()
    ax[1].set_xlabel("epoch")
    fig.savefig(png_path, dpi=80)


if __name__ == "__main__":
    main()
