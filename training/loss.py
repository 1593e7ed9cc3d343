"""Loss and target assignment: a task-aligned assigner (as in TOOD / YOLOv8) with a
small-object fix, CIoU box loss and BCE class loss with IoU-aware soft targets.

Assignment, per image and ground-truth box:
1. Candidates are anchor points inside the box, plus points within one stride of its
   centre (otherwise a 5-px light has no stride-8 point inside it at all).
2. Among candidates, the `topk` points with the largest alignment
   score(class)^alpha * IoU(pred, gt)^beta become positives.
3. A point claimed by several boxes keeps the one it overlaps most.
4. Class targets are the alignment normalised per box to that box's best IoU, so the
   score learns to predict localisation quality (what NMS and mAP rank by).

Ignore regions (e.g. the green left-turn arrows of the kr set, which we have no class
for) zero the class loss of non-positive points whose centre lies inside them.
"""

import torch
import torch.nn.functional as F

from model import decode_distances, distances_to_xyxy

EPS = 1e-7


def box_iou_pairwise(a, b):
    """IoU of boxes a [..., 4] and b [..., 4] (xyxy), elementwise."""
    lt = torch.maximum(a[..., :2], b[..., :2])
    rb = torch.minimum(a[..., 2:], b[..., 2:])
    inter = (rb - lt).clamp(min=0).prod(-1)
    area_a = (a[..., 2:] - a[..., :2]).clamp(min=0).prod(-1)
    area_b = (b[..., 2:] - b[..., :2]).clamp(min=0).prod(-1)
    return inter / (area_a + area_b - inter + EPS)


def ciou(a, b):
    """Complete IoU (IoU minus centre-distance and aspect-ratio penalties), elementwise."""
    iou = box_iou_pairwise(a, b)
    cw = torch.maximum(a[..., 2], b[..., 2]) - torch.minimum(a[..., 0], b[..., 0])
    ch = torch.maximum(a[..., 3], b[..., 3]) - torch.minimum(a[..., 1], b[..., 1])
    c2 = cw**2 + ch**2 + EPS
    rho2 = ((a[..., 0] + a[..., 2] - b[..., 0] - b[..., 2]) ** 2 + (a[..., 1] + a[..., 3] - b[..., 1] - b[..., 3]) ** 2) / 4
    wa, ha = a[..., 2] - a[..., 0], (a[..., 3] - a[..., 1]).clamp(min=EPS)
    wb, hb = b[..., 2] - b[..., 0], (b[..., 3] - b[..., 1]).clamp(min=EPS)
    v = (4 / torch.pi**2) * (torch.atan(wb / hb) - torch.atan(wa / ha)) ** 2
    with torch.no_grad():
        alpha = v / (v - iou + (1 + EPS))
    return iou - (rho2 / c2 + v * alpha)


@torch.no_grad()
def assign(scores, pred_xyxy, anchors, strides, gt_boxes, gt_labels, gt_mask, topk=10, alpha=0.5, beta=6.0):
    """Task-aligned assignment.

    scores [B, N, C] (sigmoided), pred_xyxy [B, N, 4], anchors [N, 2], strides [N],
    gt_boxes [B, M, 4] xyxy pixels, gt_labels [B, M] long, gt_mask [B, M] bool.
    Returns fg [B, N] bool, target_boxes [B, N, 4], target_scores [B, N, C].
    """
    B, N, C = scores.shape
    M = gt_boxes.shape[1]
    if M == 0:
        return (torch.zeros(B, N, dtype=torch.bool), torch.zeros(B, N, 4), torch.zeros(B, N, C))
    ax, ay = anchors[:, 0], anchors[:, 1]
    g = gt_boxes[:, :, None, :]  # B M 1 4
    inside = (ax > g[..., 0]) & (ax < g[..., 2]) & (ay > g[..., 1]) & (ay < g[..., 3])
    gcx = (g[..., 0] + g[..., 2]) / 2
    gcy = (g[..., 1] + g[..., 3]) / 2
    near = ((ax - gcx).abs() < strides) & ((ay - gcy).abs() < strides)
    cand = (inside | near) & gt_mask[:, :, None]  # B M N

    ious = box_iou_pairwise(gt_boxes[:, :, None, :], pred_xyxy[:, None, :, :]).clamp(min=0)  # B M N
    cls_scores = scores.gather(2, gt_labels[:, None, :].expand(B, N, M).clamp(min=0)).transpose(1, 2)  # B M N
    align = cls_scores.pow(alpha) * ious.pow(beta)
    align = align * cand
    k = min(topk, N)
    top_vals, top_idx = align.topk(k, dim=2)
    is_top = torch.zeros_like(cand)
    is_top.scatter_(2, top_idx, top_vals > 0)
    # Early in training every alignment can underflow to 0; fall back to the candidates
    # nearest the centre so each box still gets positives.
    dist = (ax - gcx) ** 2 + (ay - gcy) ** 2
    dist = torch.where(cand, dist, torch.full_like(dist, float("inf")))
    near_idx = dist.topk(min(3, N), dim=2, largest=False).indices
    empty = (is_top.sum(2, keepdim=True) == 0) & gt_mask[:, :, None]
    fallback = torch.zeros_like(cand)
    fallback.scatter_(2, near_idx, True)
    is_top = is_top | (fallback & cand & empty)
    pos = is_top & cand  # B M N

    # Resolve points claimed by several boxes: keep the box with the highest IoU.
    multi = pos.sum(1) > 1  # B N
    if multi.any():
        best = torch.where(pos, ious, torch.full_like(ious, -1.0)).argmax(1)  # B N
        one = F.one_hot(best, M).transpose(1, 2).bool()
        pos = torch.where(multi[:, None, :], one & pos, pos)
    fg = pos.any(1)  # B N
    gt_idx = pos.float().argmax(1)  # B N
    tb = gt_boxes.gather(1, gt_idx[..., None].expand(B, N, 4))
    tl = gt_labels.gather(1, gt_idx)

    align = align * pos
    max_align = align.amax(2, keepdim=True)  # B M 1
    max_iou = (ious * pos).amax(2, keepdim=True)
    norm = (align * max_iou / (max_align + EPS)).amax(1)  # B N
    ts = torch.zeros(B, N, C)
    ts.scatter_(2, tl.clamp(min=0)[..., None], 1.0)
    ts = ts * (norm * fg)[..., None]
    return fg, tb, ts


def ignore_mask(anchors, ign_boxes, ign_mask):
    """[B, N] True where a point's centre lies inside any ignore box of its image."""
    if ign_boxes.shape[1] == 0:
        return torch.zeros(ign_boxes.shape[0], anchors.shape[0], dtype=torch.bool)
    ax, ay = anchors[:, 0], anchors[:, 1]
    g = ign_boxes[:, :, None, :]
    inside = (ax >= g[..., 0] - 4) & (ax <= g[..., 2] + 4) & (ay >= g[..., 1] - 4) & (ay <= g[..., 3] + 4)
    return (inside & ign_mask[:, :, None]).any(1)


class DetectionLoss:
    def __init__(self, nc, box_weight=5.0, cls_weight=1.0):
        self.nc = nc
        self.box_weight = box_weight
        self.cls_weight = cls_weight

    def __call__(self, raw_box, raw_cls, anchors, strides, targets):
        """targets: dict with gt_boxes [B,M,4], gt_labels [B,M], gt_mask [B,M],
        ign_boxes [B,K,4], ign_mask [B,K]. Returns (total, parts dict)."""
        pred_xyxy = distances_to_xyxy(decode_distances(raw_box, strides), anchors)
        scores = raw_cls.detach().sigmoid()
        fg, tb, ts = assign(scores, pred_xyxy.detach(), anchors, strides, targets["gt_boxes"], targets["gt_labels"], targets["gt_mask"])
        norm = ts.sum().clamp(min=1.0)
        bce = F.binary_cross_entropy_with_logits(raw_cls, ts, reduction="none")
        ign = ignore_mask(anchors, targets["ign_boxes"], targets["ign_mask"]) & ~fg
        bce = bce * (~ign)[..., None]
        loss_cls = bce.sum() / norm
        if fg.any():
            w = ts.sum(-1)[fg]
            loss_box = ((1.0 - ciou(pred_xyxy[fg], tb[fg])) * w).sum() / norm
        else:
            loss_box = raw_box.sum() * 0.0
        total = self.box_weight * loss_box + self.cls_weight * loss_cls
        return total, {"box": loss_box.item(), "cls": loss_cls.item(), "npos": int(fg.sum())}
