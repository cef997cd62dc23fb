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


def line_fit(x: np.ndarray, y: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Row-wise least-squares line of ``y`` against ``x`` over ``mask``, evaluated at every
    column, shape (n, m)."""
    xm, ym = masked_mean(x, mask), masked_mean(y, mask)
    dx = x - xm[:, None]
    sxy = np.sum(np.where(mask, dx * (y - ym[:, None]), 0.0), axis=1)
    sxx = np.sum(np.where(mask, dx * dx, 0.0), axis=1)
    slope = np.divide(sxy, sxx, out=np.zeros_like(sxy), where=sxx > 0)
    return ym[:, None] + slope[:, None] * dx


def masked_mean(a: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Row means of ``a`` over ``mask`` (NaN for empty rows), shape (n,)."""
    count = mask.sum(axis=1)
    total = np.sum(np.where(mask, a, 0.0), axis=1)
    return np.divide(total, count, out=np.full(total.shape, np.nan), where=count > 0)


def first_true(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column of the first True of every row and whether there is one, both shape (n,)."""
    index = np.argmax(mask, axis=1)
    found = mask[np.arange(mask.shape[0]), index] if mask.shape[1] else np.zeros(0, bool)
    return index, found


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
    m = int(total.max()) if total.size else 0
    cols = np.arange(m)[None, :]
    src = np.full((len(total), m), -1, dtype=np.int64)
    start = np.zeros_like(total)
    offset = 0
    for arr, n in zip(arrays, lengths, strict=True):
        inside = (cols >= start[:, None]) & (cols < (start + n)[:, None])
        src = np.where(inside, offset + cols - start[:, None], src)
        start = start + n
        offset += arr.shape[1]
    joined = np.concatenate(arrays, axis=1) if arrays else np.empty((0, 0))
    out = np.take_along_axis(joined, np.clip(src, 0, None), axis=1) if m else joined[:, :0]
    return np.where(src >= 0, out, np.nan)


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


def piecewise_linear_contact(x: np.ndarray, y: np.ndarray, length: np.ndarray) -> np.ndarray:
    """Contact index of the least-squares fit "constant baseline, then a line".

    For every candidate index ``k`` the model ``y = d`` (points before ``k``) and
    ``y = d + s (x_k - x)`` (from ``k`` on) is solved in closed form from suffix sums, so all
    candidates of all curves cost O(n m). The abscissa ``x`` is the tip position (decreasing
    into the sample). On a convex (Hertz-like) contact the line meets the baseline a little
    inside the contact region.

    Parameters
    ----------
    x, y : ndarray, shape (n, m)
        Tip position in m and force in N.
    length : ndarray of int, shape (n,)
        Points to use per curve (the approach up to the force maximum).

    Returns
    -------
    ndarray of int, shape (n,)
        Index of the best contact point (``length // 2`` when fewer than 4 points).
    """
    m = x.shape[1]
    valid = prefix_mask(length, m)
    xs, ys = (_standardised(v, valid) for v in (x, y))
    s1, sx, sxx, sy, sxy = (_suffix(v) for v in (valid * 1.0, xs, xs * xs, ys, xs * ys))
    n_all, ty, tyy = s1[:, :1], sy[:, :1], _suffix(ys * ys)[:, :1]
    su = s1 * xs - sx
    suu = s1 * xs**2 - 2 * xs * sx + sxx
    suy = xs * sy - sxy
    det = n_all * suu - su**2
    ok = valid & (s1 >= 2) & (np.arange(m)[None, :] >= 2) & (det > 1e-12 * n_all * suu)
    safe = np.where(ok, det, 1.0)
    d = (suu * ty - su * suy) / safe
    s = (n_all * suy - su * ty) / safe
    ssr = np.where(ok, tyy - d * ty - s * suy, np.inf)
    index = np.argmin(ssr, axis=1)
    return np.where(np.isfinite(ssr.min(axis=1, initial=np.inf)), index, length // 2)


def _suffix(v: np.ndarray) -> np.ndarray:
    """Row-wise sums from each column to the end."""
    return np.cumsum(v[:, ::-1], axis=1)[:, ::-1]


def _standardised(v: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Rows shifted to zero mean and scaled to unit range over ``valid``; 0 elsewhere."""
    mean = masked_mean(v, valid)
    spread = np.max(np.where(valid, v, -np.inf), axis=1, initial=-np.inf) - np.min(
        np.where(valid, v, np.inf), axis=1, initial=np.inf
    )
    spread = np.where(np.isfinite(spread) & (spread > 0), spread, 1.0)[:, None]
    return np.where(valid, (v - mean[:, None]) / spread, 0.0)
