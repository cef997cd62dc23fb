"""Instance-segmentation scores for the tests and benchmarks, independent of cellmech.segment.

Objects are matched one-to-one by the Hungarian algorithm on their intersection over union
(IoU); a pair counts as a match when its IoU is at least ``iou_threshold`` (0.5 makes a
one-to-one match unique anyway). F1 = 2 TP / (n_true + n_pred).
"""

from __future__ import annotations

import numpy as np
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
