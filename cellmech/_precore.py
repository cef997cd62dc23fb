"""Compiled per-curve scans of the preprocessing (numba, one curve per thread).

Each function works on NaN-padded (n, m) arrays with the number of valid leading points of
every row, in one or two passes per curve (NumPy would need many full-size temporaries).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True, parallel=True)
def argmax_valid(a, length):
    """Column of the largest non-NaN value among the first ``length[i]`` of each row (0 if
    none), shape (n,)."""
    out = np.zeros(a.shape[0], np.int64)
    for i in prange(a.shape[0]):
        best = -np.inf
        for j in range(length[i]):
            if a[i, j] > best:
                best, out[i] = a[i, j], j
    return out


@njit(cache=True, parallel=True)
def first_above_baseline(force, length, fraction):
    """First of the ``length[i]`` points whose force exceeds the baseline mean by more than
    twice the largest baseline deviation; the baseline is the first ``int(length * fraction)``
    points. Returns the index per row, -1 where there is none (or no baseline)."""
    out = np.full(force.shape[0], -1, np.int64)
    for i in prange(force.shape[0]):
        n = length[i]
        n_base = int(n * fraction)
        if n_base == 0:
            continue
        mean = 0.0
        for j in range(n_base):
            mean += force[i, j]
        mean /= n_base
        spread = 0.0
        for j in range(n_base):
            spread = max(spread, abs(force[i, j] - mean))
        for j in range(n):
            if force[i, j] - mean > 2.0 * spread:
                out[i] = j
                break
    return out


@njit(cache=True, parallel=True)
def turning_point(tip, force, length, contact):
    """Point of deepest indentation after ``contact[i]`` (> 0), -1 where contact <= 0.

    Tip position and force are referred to the contact (position) and to the mean force
    before it, normalised by their extreme values (force below the baseline noise, the
    standard deviation before contact, set to 0); the point farthest from the origin wins.
    """
    out = np.full(tip.shape[0], -1, np.int64)
    for i in prange(tip.shape[0]):
        n, cp = length[i], contact[i]
        if cp <= 0 or cp >= n:
            continue
        x0, y0 = tip[i, cp], 0.0
        for j in range(cp):
            y0 += force[i, j]
        y0 /= cp
        xmin, ymax = np.inf, -np.inf
        for j in range(n):
            xmin = min(xmin, tip[i, j] - x0)
            ymax = max(ymax, force[i, j] - y0)
        xs = xmin if xmin != 0.0 else 1.0
        mean = var = 0.0
        for j in range(cp):
            mean += (force[i, j] - y0) / ymax
        mean /= cp
        for j in range(cp):
            var += ((force[i, j] - y0) / ymax - mean) ** 2
        noise = np.sqrt(var / cp)
        best = -1.0
        for j in range(n):
            x = max((tip[i, j] - x0) / xs, 0.0)
            y = (force[i, j] - y0) / ymax
            y = 0.0 if y < noise else y
            if x * x + y * y > best:
                best, out[i] = x * x + y * y, j
    return out


@njit(cache=True, parallel=True)
def segment_mean(a, first, stop):
    """Mean of ``a[i, first[i]:stop[i]]`` per row, NaN for empty ranges, shape (n,)."""
    out = np.full(a.shape[0], np.nan)
    for i in prange(a.shape[0]):
        if stop[i] > first[i]:
            total = 0.0
            for j in range(first[i], stop[i]):
                total += a[i, j]
            out[i] = total / (stop[i] - first[i])
    return out


@njit(cache=True, parallel=True)
def piecewise_linear_contact(x, y, length):
    """Contact index of the least-squares fit "constant baseline, then a line".

    For every candidate index ``k`` the model ``y = d`` (points before ``k``) and
    ``y = d + s (x_k - x)`` (from ``k`` on) is solved in closed form from running suffix
    sums, so all candidates of a curve cost O(m). ``x`` is the tip position (decreasing into
    the sample); on a convex (Hertz-like) contact the line meets the baseline a little inside
    the contact region. Returns ``length // 2`` for curves with fewer than 4 points.
    """
    out = length // 2
    for i in prange(x.shape[0]):
        n = length[i]
        if n < 4:
            continue
        # standardise (zero mean, unit range) for well-conditioned sums
        xm, ym = x[i, :n].mean(), y[i, :n].mean()
        xs = max(x[i, :n].max() - x[i, :n].min(), 1e-300)
        ys = max(y[i, :n].max() - y[i, :n].min(), 1e-300)
        ty = tyy = 0.0
        for j in range(n):
            v = (y[i, j] - ym) / ys
            ty += v
            tyy += v * v
        s1 = sx = sxx = sy = sxy = 0.0
        best = np.inf
        for k in range(n - 1, 1, -1):
            xk, yk = (x[i, k] - xm) / xs, (y[i, k] - ym) / ys
            s1 += 1.0
            sx += xk
            sxx += xk * xk
            sy += yk
            sxy += xk * yk
            if s1 < 2.0:
                continue
            su = s1 * xk - sx
            suu = s1 * xk * xk - 2.0 * xk * sx + sxx
            suy = xk * sy - sxy
            det = n * suu - su * su
            if det <= 1e-12 * n * suu:
                continue
            d = (suu * ty - su * suy) / det
            slope = (n * suy - su * ty) / det
            ssr = tyy - d * ty - slope * suy
            if ssr < best:
                best, out[i] = ssr, k
    return out


@njit(cache=True, parallel=True)
def subtract_line(x, y, length, fit_points):
    """``y`` minus the least-squares line of ``y`` against ``x`` fitted to the first
    ``fit_points[i]`` points of each row (evaluated on all ``length[i]`` points, NaN after)."""
    out = np.full(y.shape, np.nan)
    for i in prange(y.shape[0]):
        k = min(fit_points[i], length[i])
        if k < 2:
            continue
        xm, ym = x[i, :k].mean(), y[i, :k].mean()
        sxy = sxx = 0.0
        for j in range(k):
            sxy += (x[i, j] - xm) * (y[i, j] - ym)
            sxx += (x[i, j] - xm) ** 2
        slope = sxy / sxx if sxx > 0.0 else 0.0
        for j in range(length[i]):
            out[i, j] = y[i, j] - ym - slope * (x[i, j] - xm)
    return out
