"""Instance-segmentation scores for the tests and benchmarks, independent of cellmech.segment.

Objects are matched one-to-one by the Hungarian algorithm on their intersection over union
(IoU); a pair counts as a match when its IoU is at least ``iou_threshold`` (0.5 makes a
one-to-one match unique anyway). F1 = 2 TP / (n_true + n_pred). :func:`edge_offset` measures
where a label set draws object edges relative to the objects' half-maximum (its convention).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from scipy.optimize import linear_sum_assignment


def iou_matrix(truth: np.ndarray, pred: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """IoU of every truth object with every predicted object: ``(iou, truth_ids, pred_ids)``."""
    t_ids = np.unique(truth[truth > 0])
    p_ids = np.unique(pred[pred > 0])
    t_index = np.searchsorted(t_ids, truth)
    p_index = np.searchsorted(p_ids, pred)
    both = (truth > 0) & (pred > 0)
    inter = np.zeros((t_ids.size, p_ids.size))
    np.add.at(inter, (t_index[both], p_index[both]), 1)
    t_area = np.array([np.count_nonzero(truth == i) for i in t_ids], float)
    p_area = np.array([np.count_nonzero(pred == i) for i in p_ids], float)
    union = t_area[:, None] + p_area[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0), t_ids, p_ids


def match_labels(
    truth: np.ndarray, pred: np.ndarray, iou_threshold: float = 0.5, *, sparse: bool = False
) -> dict:
    """Match two label images (Y, X) and score them.

    Parameters
    ----------
    truth, pred : ndarray of int
        Label images (0 = background).
    iou_threshold : float
        Smallest IoU of a match.
    sparse : bool
        The truth labels only some objects: precision and F1 are meaningless; only recall and
        the IoU of the labelled objects are reported (F1 is NaN).

    Returns
    -------
    dict
        ``n_true``, ``n_pred``, ``tp``, ``recall``, ``precision``, ``f1`` and ``median_iou``
        (median over the truth objects of the IoU of their assigned partner, 0 when unmatched),
        and ``pairs``: ``(truth_id, pred_id, iou)`` of every match.
    """
    iou, t_ids, p_ids = iou_matrix(truth, pred)
    best = np.zeros(t_ids.size)
    pairs = []
    if iou.size:
        rows, cols = linear_sum_assignment(-iou)
        best[rows] = iou[rows, cols]
        pairs = [
            (int(t_ids[r]), int(p_ids[c]), float(iou[r, c]))
            for r, c in zip(rows, cols, strict=True)
            if iou[r, c] >= iou_threshold
        ]
    tp = int(np.count_nonzero(best >= iou_threshold))
    n_true, n_pred = int(t_ids.size), int(p_ids.size)
    recall = tp / n_true if n_true else np.nan
    precision = np.nan if sparse or not n_pred else tp / n_pred
    f1 = np.nan if sparse else 2 * tp / max(n_true + n_pred, 1)
    return {
        "n_true": n_true,
        "n_pred": n_pred,
        "tp": tp,
        "recall": recall,
        "precision": precision,
        "f1": f1,
        "median_iou": float(np.median(best)) if best.size else np.nan,
        "pairs": pairs,
    }


def edge_offset(image: np.ndarray, labels: np.ndarray, *, far_px: float = 4.5) -> np.ndarray:
    """Where each label's edge sits relative to its object's half-maximum, in pixels.

    A blurred step (an object of uniform brightness seen through a symmetric point spread
    function) crosses half-way between the local background and its own interior level exactly
    at its edge, where the intensity gradient is steepest (Canny, IEEE TPAMI 8, 679 (1986)):
    the half-maximum is the physical boundary independent of any annotation convention. Per
    object, over the pixels whose nearest label is that object: the signed distance ``d`` of each
    pixel centre to the label edge (-0.5, -1.5, ... inside; 0.5, 1.5, ... outside), the
    background ``b`` (median at ``far_px <= d <= far_px + 4``), the interior level ``a``
    (median at ``d <= -2.5``), the mean of ``(I - b) / (a - b)`` per distance, and the
    outermost distance where that profile falls through 0.5 (linear interpolation).

    Parameters
    ----------
    image : ndarray, shape (Y, X)
        Intensity (raw, not smoothed).
    labels : ndarray of int, shape (Y, X)
        Instance labels (0 = background); objects under 20 px or without a background ring
        are skipped.
    far_px : float
        Nearest background distance (px) from the label edge.

    Returns
    -------
    ndarray
        One value per object: minus the half-maximum's distance, i.e. > 0 when the label edge
        lies outside the half-maximum (a generous label), < 0 inside; NaN where the profile
        never crosses 0.5.
    """
    image = np.asarray(image, dtype=float)
    _, nearest = ndimage.distance_transform_edt(labels == 0, return_indices=True)
    owner = labels[tuple(nearest)]
    centres = np.arange(-5.5, 6.5)
    out = []
    for k, box in enumerate(ndimage.find_objects(labels), start=1):
        if box is None:
            continue
        box = tuple(slice(max(0, s.start - 13), s.stop + 13) for s in box)
        obj = labels[box] == k
        d = np.where(
            obj,
            0.5 - ndimage.distance_transform_edt(obj),
            ndimage.distance_transform_edt(~obj) - 0.5,
        )
        own = (owner[box] == k) & ((labels[box] == 0) | obj)
        far = own & (d >= far_px) & (d <= far_px + 4)
        if obj.sum() < 20 or not far.any() or not np.any(d <= -2.5):
            continue
        b, a = np.median(image[box][far]), np.median(image[box][obj & (d <= -2.5)])
        dv, iv = d[own], (image[box][own] - b) / (a - b)
        profile = np.array([iv[dv == c].mean() if np.any(dv == c) else np.nan for c in centres])
        out.append(-_half_crossing(centres, profile))
    return np.array(out)


def _half_crossing(d: np.ndarray, profile: np.ndarray) -> float:
    """Outermost ``d`` where ``profile`` falls from >= 0.5 to < 0.5 (NaN if never)."""
    falls = np.flatnonzero((profile[:-1] >= 0.5) & (profile[1:] < 0.5))
    if falls.size == 0:
        return np.nan
    i = falls[-1]
    return float(d[i] + (profile[i] - 0.5) / (profile[i] - profile[i + 1]) * (d[i + 1] - d[i]))
