"""Evaluate a detector on a YOLO folder (default: cinta/valid) in Python.

Works on the exported ONNX through onnxruntime (the same bytes the Rust pipeline loads),
or, from train.py, on the PyTorch model through the same decoding. Reports mAP@0.5 over
the classes present in the ground truth, per-class AP / precision / recall at a fixed
confidence, class-agnostic recall at IoU 0.3 and state accuracy among matched boxes.

    python3 training/evaluate.py --model models/safecross-tl.onnx \
        --data ../shared/data/traffic-lights/cinta/valid --kind cinta
"""

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from data import IGNORE, NAMES, letterbox, list_split, load_items  # noqa: E402


def iou_matrix(a, b):
    """IoU between a [n,4] and b [m,4] xyxy."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)), np.float32)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(rb - lt, 0, None).prod(2)
    aa = (a[:, 2:] - a[:, :2]).prod(1)
    ab = (b[:, 2:] - b[:, :2]).prod(1)
    return inter / (aa[:, None] + ab[None, :] - inter + 1e-9)


def nms(boxes, scores, iou_thr):
    order = scores.argsort()[::-1]
    keep = []
    while len(order):
        i = order[0]
        keep.append(i)
        if len(order) == 1:
            break
        ious = iou_matrix(boxes[i : i + 1], boxes[order[1:]])[0]
        order = order[1:][ious <= iou_thr]
    return np.array(keep, np.int64)


def decode(out, conf=0.001, iou=0.5, max_det=100):
    """[4+nc, N] ultralytics-layout output -> (boxes xyxy, scores, classes), one class per
    anchor (its best), class-agnostic NMS: one light has one state."""
    out = np.asarray(out)
    cls = out[4:]
    c = cls.argmax(0)
    s = cls[c, np.arange(cls.shape[1])]
    m = s > conf
    if not m.any():
        return np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64)
    xywh = out[:4, m].T
    s, c = s[m], c[m]
    if len(s) > 3000:
        top = s.argsort()[::-1][:3000]
        xywh, s, c = xywh[top], s[top], c[top]
    boxes = np.concatenate([xywh[:, :2] - xywh[:, 2:] / 2, xywh[:, :2] + xywh[:, 2:] / 2], 1)
    keep = nms(boxes, s, iou)[:max_det]
    return boxes[keep], s[keep], c[keep]


def average_precision(tp, scores, n_gt):
    """All-point interpolated AP (VOC 2010+/COCO style without the 101-point sampling)."""
    if n_gt == 0:
        return float("nan")
    if len(scores) == 0:
        return 0.0
    order = np.argsort(-scores, kind="stable")
    tp = np.asarray(tp, np.float64)[order]
    ctp = np.cumsum(tp)
    cfp = np.cumsum(1 - tp)
    rec = ctp / n_gt
    prec = ctp / np.maximum(ctp + cfp, 1e-9)
    mrec = np.concatenate([[0.0], rec, [1.0]])
    mpre = np.concatenate([[1.0], prec, [0.0]])
    mpre = np.flip(np.maximum.accumulate(np.flip(mpre)))
    idx = np.where(mrec[1:] != mrec[:-1])[0]
    return float(np.sum((mrec[idx + 1] - mrec[idx]) * mpre[idx + 1]))


def match(pred_b, pred_s, pred_c, gt_b, gt_c, iou_thr, same_class):
    """Greedy matching by descending score. Returns tp flags per prediction and, per gt,
    the index of the matching prediction (-1 if none)."""
    tp = np.zeros(len(pred_s), bool)
    gt_hit = -np.ones(len(gt_b), np.int64)
    if len(pred_s) == 0 or len(gt_b) == 0:
        return tp, gt_hit
    ious = iou_matrix(pred_b, gt_b)
    for i in np.argsort(-pred_s, kind="stable"):
        cand = ious[i].copy()
        cand[gt_hit >= 0] = -1
        if same_class:
            cand[gt_c != pred_c[i]] = -1
        j = int(cand.argmax())
        if cand[j] >= iou_thr:
            tp[i] = True
            gt_hit[j] = i
    return tp, gt_hit


def evaluate(predict, items, size, conf=0.25, classes=(0, 1, 2), pair=None, recall_classes=None):
    """predict(img_chw_float[1,3,S,S]) -> [4+nc, N]. Items: cached, pixel-space labels.
    `pair` = (a, b): also report how often a matched light of class a or b gets the right
    one of the two (e.g. ped_stop vs ped_walk). `recall_classes`: the ground-truth classes that
    class-agnostic recall counts (default all; a crosswalk is not a light to find)."""
    pair_n = pair_ok = 0
    per_class = {c: {"tp": [], "scores": [], "n_gt": 0} for c in range(len(NAMES))}
    n_gt_all = hit03 = 0
    matched = state_ok = 0
    tp_conf = {c: 0 for c in range(len(NAMES))}
    fp_conf = {c: 0 for c in range(len(NAMES))}
    fn_conf = {c: 0 for c in range(len(NAMES))}
    t0 = time.perf_counter()
    for it in items:
        canvas, r, (px, py) = letterbox(it.img, size)
        x = canvas.transpose(2, 0, 1)[None].astype(np.float32) / 255.0
        out = predict(x)
        b, s, c = decode(out)
        b = (b - np.array([px, py, px, py], np.float32)) / r
        keep_gt = it.classes != IGNORE
        gb, gc = it.boxes[keep_gt], it.classes[keep_gt]
        # mAP: per class, standard.
        for k in range(len(NAMES)):
            pm = c == k
            gm = gc == k
            tp, _ = match(b[pm], s[pm], c[pm], gb[gm], gc[gm], 0.5, True)
            per_class[k]["tp"].extend(tp.tolist())
            per_class[k]["scores"].extend(s[pm].tolist())
            per_class[k]["n_gt"] += int(gm.sum())
        # Operating point: detections above conf.
        cm = s >= conf
        bb, ss, cc = b[cm], s[cm], c[cm]
        rm = np.ones(len(gc), bool) if recall_classes is None else np.isin(gc, recall_classes)
        n_gt_all += int(rm.sum())
        _, hit = match(bb, ss, cc, gb[rm], gc[rm], 0.3, False)
        hit03 += int((hit >= 0).sum())
        _, hit5 = match(bb, ss, cc, gb, gc, 0.5, False)
        for j, i in enumerate(hit5):
            if i >= 0:
                matched += 1
                state_ok += int(cc[i] == gc[j])
                if pair and gc[j] in pair:
                    pair_n += 1
                    pair_ok += int(cc[i] == gc[j])
        for k in range(len(NAMES)):
            tp, _ = match(bb[cc == k], ss[cc == k], cc[cc == k], gb[gc == k], gc[gc == k], 0.5, True)
            tp_conf[k] += int(tp.sum())
            fp_conf[k] += int((~tp).sum())
            fn_conf[k] += int((gc == k).sum()) - int(tp.sum())
    res = {"images": len(items), "per_class": {}, "conf": conf}
    aps = []
    for k in range(len(NAMES)):
        d = per_class[k]
        if d["n_gt"] == 0 and k not in classes:
            continue
        ap = average_precision(d["tp"], np.array(d["scores"]), d["n_gt"])
        p = tp_conf[k] / max(tp_conf[k] + fp_conf[k], 1)
        rc = tp_conf[k] / max(tp_conf[k] + fn_conf[k], 1)
        res["per_class"][NAMES[k]] = {"ap50": ap, "precision": p, "recall": rc, "n_gt": d["n_gt"]}
        if k in classes and d["n_gt"] > 0:
            aps.append(ap)
    res["map50"] = float(np.mean(aps)) if aps else float("nan")
    res["recall_any_iou03"] = hit03 / max(n_gt_all, 1)
    res["state_accuracy"] = state_ok / max(matched, 1)
    res["matched"] = matched
    if pair:
        res["pair"] = {"classes": [NAMES[k] for k in pair], "matched": pair_n, "accuracy": pair_ok / max(pair_n, 1)}
    res["n_gt"] = n_gt_all
    res["seconds"] = time.perf_counter() - t0
    return res


def format_result(res):
    lines = [
        f"mAP50(r/y/g) {res['map50']:.4f}  recall_any@0.3 {res['recall_any_iou03']:.4f}  "
        f"state_acc {res['state_accuracy']:.4f} ({res['matched']} matched of {res['n_gt']})  conf {res['conf']}"
    ]
    if "pair" in res:
        p = res["pair"]
        lines.append(f"  {' vs '.join(p['classes'])}: right in {p['accuracy']:.4f} of {p['matched']} matched")
    for name, d in res["per_class"].items():
        lines.append(f"  {name:9s} AP50 {d['ap50']:.4f}  P {d['precision']:.4f}  R {d['recall']:.4f}  n={d['n_gt']}")
    return "\n".join(lines)


def onnx_predictor(path, threads=2):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    size = sess.get_inputs()[0].shape[2]
    return (lambda x: sess.run(None, {"images": x})[0][0]), size, sess


def bench(path, threads=2, runs=50):
    """Model-only latency with onnxruntime: (median ms, min ms) over `runs` calls."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    inp = sess.get_inputs()[0]
    shape = [d if isinstance(d, int) else 416 for d in inp.shape]
    x = np.random.default_rng(0).random(shape, dtype=np.float32)
    for _ in range(10):
        sess.run(None, {inp.name: x})
    ts = []
    for _ in range(runs):
        t = time.perf_counter()
        sess.run(None, {inp.name: x})
        ts.append((time.perf_counter() - t) * 1000)
    return float(np.median(ts)), float(np.min(ts))


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=os.path.join(here, "..", "models", "safecross-tl.onnx"))
    ap.add_argument("--data", default=os.path.join(here, "..", "..", "shared", "data", "traffic-lights", "cinta", "valid"))
    ap.add_argument("--kind", default="cinta", choices=["cinta", "kr", "chanyoung", "ours"], help="label id scheme of --data")
    ap.add_argument("--conf", type=float, default=0.25, help="operating confidence for P/R, recall_any, state accuracy")
    ap.add_argument("--classes", default="0,1,2", help="class ids averaged into mAP50")
    ap.add_argument("--pair", help="two class ids, e.g. 3,4: accuracy of telling them apart among matched lights")
    ap.add_argument("--json", help="also write the result here")
    ap.add_argument("--bench", nargs="*", metavar="ONNX", help="only time --model (and these models, e.g. a peer) on 2 threads, interleaved")
    a = ap.parse_args()
    if a.bench is not None:
        for rnd in range(3):
            for p in [a.model] + a.bench:
                med, mn = bench(p)
                print(f"round {rnd}: {os.path.basename(p)}: median {med:.2f} ms, min {mn:.2f} ms (onnxruntime, 2 threads)")
        return
    predict, size, _ = onnx_predictor(a.model)
    items = load_items(list_split(a.data, a.kind), cache_side=10_000)
    pair = tuple(int(c) for c in a.pair.split(",")) if a.pair else None
    res = evaluate(predict, items, size, a.conf, tuple(int(c) for c in a.classes.split(",")), pair)
    print(format_result(res))
    print(f"{res['seconds']:.1f} s for {res['images']} images")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=2)


if __name__ == "__main__":
    main()
