"""Vectorised helpers on blocks of ragged curves stored as NaN-padded (n, m) arrays.

Every function works row-wise on all curves at once; ``length`` arrays of shape (n,) give the
number of valid leading points of each row.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def prefix_mask(length: np.ndarray, m: int) -> np.ndarray:
    """Boolean (n, m) mask, True on the first ``length[i]`` columns of row ``i``."""
    return np.arange(m)[None, :] < np.asarray(length)[:, None]


def gather_columns(arrays: Sequence[np.ndarray], lengths: Sequence[np.ndarray]) -> np.ndarray:
    """Join the valid points of several padded segments row by row.

    Parameters
    ----------
    arrays : sequence of ndarray, shapes (n, m_s)
        Padded segments (e.g. approach, retract).
    lengths : sequence of ndarray, shapes (n,)
        Valid points of each segment.

    Returns
    -------
    ndarray, shape (n, max(sum of lengths))
        Row ``i`` holds segment 0's valid points, then segment 1's ...; NaN past the end.
    """
    total = np.sum(lengths, axis=0)
    out = np.full((len(total), int(total.max()) if total.size else 0), np.nan)
    start = np.zeros_like(total)
    for arr, n in zip(arrays, lengths, strict=True):
        if start.size and np.all(n == arr.shape[1]) and np.all(start == start[0]):
            out[:, start[0] : start[0] + arr.shape[1]] = arr  # rectangular: one copy
        else:
            for i in range(len(total)):
                out[i, start[i] : start[i] + n[i]] = arr[i, : n[i]]
        start = start + n
    return out


def moving_average(a: np.ndarray, length: np.ndarray, window: int) -> np.ndarray:
    """Centred moving average over ``window`` points, shrinking at the curve ends."""
    m = a.shape[1]
    valid = prefix_mask(length, m)
    csum = np.concatenate(
        [np.zeros((a.shape[0], 1)), np.cumsum(np.where(valid, a, 0.0), axis=1)], axis=1
    )
    cols = np.arange(m)[None, :]
    lo = np.clip(cols - window // 2, 0, length[:, None])
    hi = np.clip(cols - window // 2 + window, 0, length[:, None])
    total = np.take_along_axis(csum, hi, axis=1) - np.take_along_axis(csum, lo, axis=1)
    return np.where(valid, total / np.maximum(hi - lo, 1), np.nan)
