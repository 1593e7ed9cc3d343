#!/usr/bin/env python3
"""Independent reference for `safecross eval` detection metrics (numpy only).

Reads the JSON that `DetectionEvaluator::to_reference_json` writes (path as argv[1],
or stdin) and prints the same figures as JSON on stdout. Written from the definitions
in src/eval/detection.rs and pycocotools' COCOeval (evaluateImg / accumulate), not from
the Rust code:

- matching: per image and meaning, detections by descending score (stable, at most
  max_dets) each take the unmatched label of highest IoU >= t (ties to the later label);
- AP: all images' detections merged by descending score (stable mergesort), precision
  envelope, sampled at recall linspace(0, 1, 101) with searchsorted(side="left");
- P/R per meaning at the confidence threshold (IoU 0.5), means over signal meanings with labels;
- recall_any: class-agnostic matching at any_iou of signal detections >= threshold to signal labels;
- state_accuracy: signal detections >= threshold whose best IoU with any signal label is >= 0.5;
- labels that are not signals (crosswalk, other) are in no headline figure (nor in by_size),
  only in their own class entry and the confusion matrix;
- confusion: class-agnostic matching at 0.5, rows truth, columns prediction, background last;
- by_size: label width < small_max_px, < large_min_px, rest.
"""
import json
import sys

import numpy as np

MEANINGS = ["vehicle_red", "vehicle_yellow", "vehicle_green", "ped_stop", "ped_walk", "off", "crosswalk", "other"]
NOT_SIGNALS = {"crosswalk", "other"}
IOU_THRS = np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1)
REC_THRS = np.linspace(0.0, 1.00, int(np.round((1.00 - 0.0) / 0.01)) + 1)


def iou_matrix(d, g):
    """IoU between every row of d (N x 4, x1 y1 x2 y2) and g (M x 4)."""
    d = np.asarray(d, dtype=np.float64).reshape(-1, 4)
    g = np.asarray(g, dtype=np.float64).reshape(-1, 4)
    if len(d) == 0 or len(g) == 0:
        return np.zeros((len(d), len(g)))
    iw = np.clip(np.minimum(d[:, None, 2], g[None, :, 2]) - np.maximum(d[:, None, 0], g[None, :, 0]), 0, None)
    ih = np.clip(np.minimum(d[:, None, 3], g[None, :, 3]) - np.maximum(d[:, None, 1], g[None, :, 1]), 0, None)
    inter = iw * ih
    area_d = np.clip(d[:, 2] - d[:, 0], 0, None) * np.clip(d[:, 3] - d[:, 1], 0, None)
    area_g = np.clip(g[:, 2] - g[:, 0], 0, None) * np.clip(g[:, 3] - g[:, 1], 0, None)
    union = area_d[:, None] + area_g[None, :] - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(union > 0, inter / union, 0.0)
    return out


def match(ious, thr):
    """pycocotools evaluateImg matching for one threshold; returns gt index per det or -1."""
    nd, ng = ious.shape
    gtm = np.full(ng, -1)
    dtm = np.full(nd, -1)
    for di in range(nd):
        best = min(thr, 1 - 1e-10)
        m = -1
        for gi in range(ng):
            if gtm[gi] >= 0:
                continue
            if ious[di, gi] < best:
                continue
            best = ious[di, gi]
            m = gi
        if m >= 0:
            gtm[m] = di
            dtm[di] = m
    return dtm


def sort_desc(preds):
    scores = np.array([p["score"] for p in preds], dtype=np.float32)
    order = np.argsort(-scores, kind="mergesort")
    return [preds[i] for i in order]


def ap_101(scores, tps, npig):
    order = np.argsort(-np.asarray(scores, dtype=np.float32), kind="mergesort")
    tps = np.asarray(tps, dtype=bool)[order]
    tp_sum = np.cumsum(tps).astype(np.float64)
    fp_sum = np.cumsum(~tps).astype(np.float64)
    rc = tp_sum / npig
    pr = tp_sum / np.maximum(tp_sum + fp_sum, np.spacing(1))
    pr = pr.tolist()
    for i in range(len(pr) - 1, 0, -1):
        if pr[i] > pr[i - 1]:
            pr[i - 1] = pr[i]
    q = np.zeros(len(REC_THRS))
    inds = np.searchsorted(rc, REC_THRS, side="left")
    for ri, pi in enumerate(inds):
        if pi < len(pr):
            q[ri] = pr[pi]
    return float(np.mean(q))


def evaluate(data):
    conf = np.float32(data["conf_threshold"])
    any_iou = float(data["any_iou"])
    small, large = float(data["small_max_px"]), float(data["large_min_px"])
    max_dets = int(data["max_dets"])
    images = [{"gt": im["gt"], "pred": sort_desc(im["pred"])} for im in data["images"]]

    present = [m for m in MEANINGS if any(g["meaning"] == m for im in images for g in im["gt"])]
    classes = []
    matched50 = [np.zeros(len(im["gt"]), dtype=bool) for im in images]
    for m in present:
        aps = []
        npig = 0
        for t_idx, thr in enumerate(IOU_THRS):
            scores, tps = [], []
            npig = 0
            ndet_conf = ntp_conf = 0
            for k, im in enumerate(images):
                gidx = [i for i, g in enumerate(im["gt"]) if g["meaning"] == m]
                dets = [p for p in im["pred"] if p["meaning"] == m][:max_dets]
                ious = iou_matrix([p["box"] for p in dets], [im["gt"][i]["box"] for i in gidx])
                dtm = match(ious, thr)
                npig += len(gidx)
                for p, gm in zip(dets, dtm):
                    scores.append(p["score"])
                    tps.append(gm >= 0)
                    if t_idx == 0 and np.float32(p["score"]) >= conf:
                        ndet_conf += 1
                        if gm >= 0:
                            ntp_conf += 1
                            matched50[k][gidx[gm]] = True
            aps.append(ap_101(scores, tps, npig) if scores else 0.0)
            if t_idx == 0:
                p_c = ntp_conf / ndet_conf if ndet_conf else 0.0
                r_c = ntp_conf / npig
        classes.append({"meaning": m, "labels": npig, "precision": p_c, "recall": r_c,
                        "ap50": aps[0], "ap50_95": float(np.mean(aps))})

    def mean(key):
        signal = [c[key] for c in classes if c["meaning"] not in NOT_SIGNALS]
        return float(np.mean(signal)) if signal else 0.0

    def is_signal(x):
        return x["meaning"] not in NOT_SIGNALS

    labels_total = sum(1 for im in images for g in im["gt"] if is_signal(g))
    found_any = []
    state_n = state_ok = 0
    names = [m for m in MEANINGS if any(g["meaning"] == m for im in images for g in im["gt"])
             or any(p["meaning"] == m and np.float32(p["score"]) >= conf for im in images for p in im["pred"])]
    nb = len(names)
    cm = np.zeros((nb + 1, nb + 1), dtype=int)
    for im in images:
        dets = [p for p in im["pred"] if np.float32(p["score"]) >= conf]
        ious = iou_matrix([p["box"] for p in dets], [g["box"] for g in im["gt"]])
        sig_d = [i for i, p in enumerate(dets) if is_signal(p)]
        sig_g = [i for i, g in enumerate(im["gt"]) if is_signal(g)]
        sig_ious = ious[np.ix_(sig_d, sig_g)] if len(sig_d) and len(sig_g) else np.zeros((len(sig_d), len(sig_g)))
        dtm = match(sig_ious, any_iou)
        f = np.zeros(len(im["gt"]), dtype=bool)
        for gi in dtm[dtm >= 0]:
            f[sig_g[gi]] = True
        found_any.append(f)
        if len(sig_g):
            for row, di in enumerate(sig_d):
                col = int(np.argmax(sig_ious[row]))
                if sig_ious[row, col] >= 0.5:
                    state_n += 1
                    state_ok += int(im["gt"][sig_g[col]]["meaning"] == dets[di]["meaning"])
        dtm = match(ious, 0.5)
        used = np.zeros(len(im["gt"]), dtype=bool)
        for di, p in enumerate(dets):
            col = names.index(p["meaning"])
            if dtm[di] >= 0:
                used[dtm[di]] = True
                cm[names.index(im["gt"][dtm[di]]["meaning"]), col] += 1
            else:
                cm[nb, col] += 1
        for gi, g in enumerate(im["gt"]):
            if not used[gi]:
                cm[names.index(g["meaning"]), nb] += 1

    by_size = []
    for name, lo, hi in [("small", 0.0, small), ("medium", small, large), ("large", large, None)]:
        n = hit = hit_any = 0
        for k, im in enumerate(images):
            for gi, g in enumerate(im["gt"]):
                w = max(np.float32(g["box"][2]) - np.float32(g["box"][0]), np.float32(0))
                if is_signal(g) and w >= lo and (hi is None or w < hi):
                    n += 1
                    hit += int(matched50[k][gi])
                    hit_any += int(found_any[k][gi])
        by_size.append({"name": name, "labels": n, "recall": hit / n if n else None,
                        "recall_any": hit_any / n if n else None})

    total_found = int(sum(f.sum() for f in found_any))
    return {
        "map50": mean("ap50"),
        "map50_95": mean("ap50_95"),
        "precision": mean("precision"),
        "recall": mean("recall"),
        "recall_any": total_found / labels_total if labels_total else None,
        "state_accuracy": state_ok / state_n if state_n else None,
        "classes": classes,
        "confusion": {"labels": names + ["background"], "counts": cm.tolist()},
        "by_size": by_size,
    }


def main():
    text = open(sys.argv[1]).read() if len(sys.argv) > 1 else sys.stdin.read()
    json.dump(evaluate(json.loads(text)), sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
