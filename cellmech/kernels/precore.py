"""Compiled per-curve scans of the preprocessing (numba, one curve per thread).

Each function works on NaN-padded (n, m) arrays with the number of valid leading points of
every row. The fused kernel :func:`assemble` (followed by :func:`finish` when smoothing,
tilt removal or another contact estimator change the data in between) does all full-length
passes of the workflow row by row while a row sits in the cache, in place where it can, so a
block needs no full-size NumPy temporaries. Every row is processed on its own: a
curve's result does not depend on the other curves of its block.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange
from numba.types import boolean, float64, int64

from cellmech.kernels.sigs import BOOL3, F2, F2_OUT, I1, compile_all


@njit(cache=True)
def _mean(row, first, stop):
    """Mean of ``row[first:stop]`` summed in order, NaN for an empty range."""
    if stop <= first:
        return np.nan
    total = 0.0
    for j in range(first, stop):
        total += row[j]
    return total / (stop - first)


@njit(cache=True)
def _height_sign(height, n_app):
    """-1 where the height grows during the approach (mean of its last tenth above the mean
    of its first tenth: the opposite sign convention), else 1."""
    tenth = max(n_app // 10, 1)
    grows = _mean(height, max(n_app - tenth, 0), n_app) > _mean(height, 0, min(tenth, n_app))
    return -1.0 if grows else 1.0


@njit(cache=True)
def _oriented_copy(src_h, src_f, n, sign, k, tip_position, x, force, start, best, peak):
    """One pass over ``n`` points: ``force[start + j] = f``, ``x[start + j] = sign * h``
    (``+ f / k`` for the tip position), running force maximum. ``src`` may be ``x, force``
    themselves (in place, ``start`` 0). Returns (all finite, maximum, its column)."""
    finite = True
    for j in range(n):
        h, f = src_h[j], src_f[j]
        finite &= np.isfinite(h) & np.isfinite(f)
        force[start + j] = f
        h = sign * h  # multiplying by +-1 is exact
        x[start + j] = h + f / k if tip_position else h
        if f > best:
            best, peak = f, start + j
    return finite, best, peak


@njit(cache=True)
def _inf_to_nan(row, n):
    """Replace +-inf by NaN among the first ``n`` values of ``row`` (in place)."""
    for j in range(n):
        if np.isinf(row[j]):
            row[j] = np.nan


@njit(cache=True, parallel=True)
def assemble(app_h, app_f, ret_h, ret_f, n_app, n_ret, k, tip_position, fraction, options):
    """Join approach and retract, orient the height axis and compute the tip position; then,
    while each curve is in the cache, what :func:`finish` does with ``options``.

    Parameters
    ----------
    app_h, app_f, ret_h, ret_f : ndarray, shapes (n, m_a), (n, m_a), (n, m_r), (n, m_r)
        Padded height (m) and force (N) of the approach and retract segments (``m_r`` = 0
        without retract).
    n_app, n_ret : ndarray of int64, shape (n,)
        Valid points of each segment.
    k : float
        Spring constant in N/m.
    tip_position : bool
        Return the tip position ``height + force / k`` instead of the height.
    fraction : float
        Baseline fraction of the contact estimates (:func:`deviation_contact`).
    options : tuple of 3 bool
        :func:`finish` options, applied with the contact estimate returned here (all False
        where the contact estimate or the force still change).

    Returns
    -------
    x : ndarray, shape (n, max(n_app + n_ret))
        Tip position (or height) in m; curves whose height grows during the approach
        (opposite sign convention: mean of the last tenth of the approach above the mean of
        the first tenth) have their height negated first.
    force : ndarray, same shape
        Joined force in N.
    finite : ndarray of bool, shape (n,)
        False where a valid height or force is NaN/inf; such rows have inf replaced by NaN
        (so later arithmetic raises no warnings). Padding is NaN.
    peak : ndarray of int64, shape (n,)
        Column of the largest force (as :func:`argmax_valid`).
    contact : ndarray of int64, shape (n,)
        Contact estimate on the points before the force maximum (:func:`deviation_contact`
        with ``peak``).
    tip_offset, turn : ndarray, shape (n,)
        As returned by :func:`finish` (0 and -1 where ``m`` is 0).
    """
    n = app_h.shape[0]
    n_tot = n_app + n_ret
    m = n_tot.max() if n else 0
    x = np.empty((n, m))
    force = np.empty((n, m))
    finite = np.ones(n, np.bool_)
    peak = np.zeros(n, np.int64)
    contact = np.zeros(n, np.int64)
    tip_offset, turn = np.zeros(n), np.full(n, -1, np.int64)
    for i in prange(n):
        na, nr, nt = n_app[i], n_ret[i], n_tot[i]
        xi, fi = x[i], force[i]
        sign = _height_sign(app_h[i], na)
        ok, best, peak[i] = _oriented_copy(
            app_h[i], app_f[i], na, sign, k, tip_position, xi, fi, 0, -np.inf, 0
        )
        ok2, best, peak[i] = _oriented_copy(
            ret_h[i], ret_f[i], nr, sign, k, tip_position, xi, fi, na, best, peak[i]
        )
        xi[nt:] = np.nan
        fi[nt:] = np.nan
        finite[i] = ok and ok2
        if not finite[i]:  # start again from the raw data with inf replaced by NaN
            xi[:na], fi[:na] = app_h[i, :na], app_f[i, :na]
            xi[na:nt], fi[na:nt] = ret_h[i, :nr], ret_f[i, :nr]
            _inf_to_nan(xi, nt)
            _inf_to_nan(fi, nt)
            sign = _height_sign(xi, na)
            _, _, peak[i] = _oriented_copy(xi, fi, nt, sign, k, tip_position, xi, fi, 0, -np.inf, 0)
        contact[i] = _deviation_contact(fi, peak[i], fraction)
        if m > 0:
            inv_k = 1.0 / k if tip_position else 0.0
            tip_offset[i], turn[i] = _finish_row(xi, fi, nt, contact[i], fraction, options, inv_k)
    return x, force, finite, peak, contact, tip_offset, turn


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
def spike_proof_peak(a, length):
    """Column of the largest value among the first ``length[i]`` of each row when every
    point counts only as high as its higher neighbour (the median of three inside the row):
    an isolated spike cannot be the maximum. 0 for rows with fewer than 2 points."""
    out = np.zeros(a.shape[0], np.int64)
    for i in prange(a.shape[0]):
        n = length[i]
        best = -np.inf
        for j in range(n if n >= 2 else 0):
            left = a[i, j - 1] if j > 0 else -np.inf
            right = a[i, j + 1] if j + 1 < n else -np.inf
            v = min(a[i, j], max(left, right))
            if v > best:
                best, out[i] = v, j
    return out


@njit(cache=True)
def _first_above_baseline(row, n, fraction):
    """First of the ``n`` points of ``row`` whose force exceeds the baseline mean by more than
    twice the largest baseline deviation; the baseline is the first ``int(n * fraction)``
    points. -1 where there is none (or no baseline)."""
    n_base = int(n * fraction)
    if n_base == 0:
        return -1
    mean = 0.0
    for j in range(n_base):
        mean += row[j]
    mean /= n_base
    spread = 0.0
    for j in range(n_base):
        spread = max(spread, abs(row[j] - mean))
    for j in range(n):
        if row[j] - mean > 2.0 * spread:
            return j
    return -1


@njit(cache=True)
def _deviation_contact(row, n, fraction):
    """:func:`_first_above_baseline` of the first ``n`` points, ``n // 2`` where there is
    none."""
    index = _first_above_baseline(row, n, fraction)
    return index if index >= 0 else n // 2


@njit(cache=True, parallel=True)
def deviation_contact(force, length, fraction):
    """:func:`_deviation_contact` of the first ``length[i]`` points of every row, shape
    (n,)."""
    out = np.empty(force.shape[0], np.int64)
    for i in prange(force.shape[0]):
        out[i] = _deviation_contact(force[i], length[i], fraction)
    return out


@njit(cache=True)
def _turning_point(tip, force, n, cp):
    """Point of deepest indentation after the contact index ``cp`` (> 0), -1 where cp <= 0.

    Tip position and force are referred to the contact (position) and to the mean force
    before it, normalised by their extreme values (force below the baseline noise, the
    standard deviation before contact, set to 0); the point farthest from the origin wins.
    """
    if cp <= 0 or cp >= n:
        return -1
    x0, y0 = tip[cp], 0.0
    for j in range(cp):
        y0 += force[j]
    y0 /= cp
    xmin, ymax = np.inf, -np.inf
    for j in range(n):
        xmin = min(xmin, tip[j] - x0)
        ymax = max(ymax, force[j] - y0)
    xs = xmin if xmin != 0.0 else 1.0
    r = np.empty(n)  # normalised force, then squared distance: loops free of dependencies
    for j in range(n):
        r[j] = (force[j] - y0) / ymax
    mean = var = 0.0
    for j in range(cp):
        mean += r[j]
    mean /= cp
    for j in range(cp):
        var += (r[j] - mean) ** 2
    noise = np.sqrt(var / cp)
    for j in range(n):
        x = max((tip[j] - x0) / xs, 0.0)
        y = 0.0 if r[j] < noise else r[j]
        r[j] = x * x + y * y
    best, out = -1.0, -1
    for j in range(n):
        if r[j] > best:
            best, out = r[j], j
    return out


@njit(cache=True)
def _finish_row(tip, force, n, contact, fraction, options, inv_k):
    """Force and tip offsets of one curve (in place) and its turning point.

    The force offset is the mean force before the contact (the first force if the contact is
    at 0); ``offset * inv_k`` is also subtracted from the tip position, which so becomes
    ``height + (force - offset) / k`` (``inv_k`` = 1/k, or 0 when ``tip`` is the height). The
    tip offset is the tip position at the contact. The turning point is nanite's
    re-split: the point of deepest indentation (:func:`_turning_point`) after a contact
    estimated on the whole curve. Returns (tip offset or 0, turning point or -1).
    """
    force_offset, tip_offset, split = options
    t0, turn = 0.0, -1
    if force_offset:
        f0 = _mean(force, 0, contact) if contact > 0 else force[0]
        shift = f0 * inv_k
        for j in range(n):
            force[j] -= f0
            tip[j] -= shift
    if tip_offset:
        t0 = tip[contact]
        for j in range(n):
            tip[j] -= t0
    if split:
        turn = _turning_point(tip, force, n, _first_above_baseline(force, n, fraction))
    return t0, turn


@njit(cache=True, parallel=True)
def finish(tip, force, contact, n_tot, fraction, options, inv_k):
    """:func:`_finish_row` of every curve.

    Parameters
    ----------
    tip, force : ndarray, shape (n, m), m > 0
        Tip position (m) and force (N) of the joined curves; modified in place.
    contact : ndarray of int64, shape (n,)
        Contact-point estimate (column) of every curve.
    n_tot : ndarray of int64, shape (n,)
        Valid points of every curve.
    fraction : float
        Baseline fraction of :func:`_first_above_baseline` for the re-split.
    options : tuple of 3 bool
        (correct_force_offset, correct_tip_offset, split_at_turning_point).
    inv_k : float
        1 / spring constant in m/N when ``tip`` is the tip position (the force offset then
        also moves it), else 0.

    Returns
    -------
    tip_offset : ndarray, shape (n,)
        Subtracted tip offset in m (0 if not corrected).
    turn : ndarray of int64, shape (n,)
        Turning point (approach points after the re-split), -1 where there is none.
    """
    n = tip.shape[0]
    tip_offset, turn = np.zeros(n), np.full(n, -1, np.int64)
    for i in prange(n):
        tip_offset[i], turn[i] = _finish_row(
            tip[i], force[i], n_tot[i], contact[i], fraction, options, inv_k
        )
    return tip_offset, turn


@njit(cache=True)
def pad_nan(a, b, length, m):
    """Set ``a[i, length[i]:m]`` and ``b[i, length[i]:m]`` to NaN in place (few points: one
    thread)."""
    for i in range(a.shape[0]):
        a[i, length[i] : m] = np.nan
        b[i, length[i] : m] = np.nan


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


#: residuals beyond this many robust standard deviations are left out of a baseline line
LINE_OUTLIER_Z = 5.0


@njit(cache=True, parallel=True)
def subtract_line(x, y, length, fit_points):
    """``y`` minus the least-squares line of ``y`` against ``x`` fitted to the first
    ``fit_points[i]`` points of each row (evaluated on all ``length[i]`` points, NaN after).

    The line is refitted once without the points whose residual exceeds LINE_OUTLIER_Z
    robust standard deviations (1.4826 MAD): a spike in the baseline would otherwise tilt the
    line and, extrapolated over the approach, remove or fake a contact's force rise.
    """
    out = np.full(y.shape, np.nan)
    for i in prange(y.shape[0]):
        k = min(fit_points[i], length[i])
        if k < 2:
            continue
        keep = np.ones(k, np.bool_)
        ym, slope, xm = _line(x[i, :k], y[i, :k], keep)
        res = np.abs(y[i, :k] - ym - slope * (x[i, :k] - xm))
        limit = LINE_OUTLIER_Z * 1.4826 * np.median(res)
        keep = res <= limit
        if 2 <= keep.sum() < k:
            ym, slope, xm = _line(x[i, :k], y[i, :k], keep)
        for j in range(length[i]):
            out[i, j] = y[i, j] - ym - slope * (x[i, j] - xm)
    return out


@njit(cache=True)
def _line(x, y, keep):
    """Least-squares line through the kept points: (mean y, slope, mean x)."""
    xm = ym = 0.0
    m = 0
    for j in range(x.size):
        if keep[j]:
            xm += x[j]
            ym += y[j]
            m += 1
    xm /= m
    ym /= m
    sxy = sxx = 0.0
    for j in range(x.size):
        if keep[j]:
            sxy += (x[j] - xm) * (y[j] - ym)
            sxx += (x[j] - xm) ** 2
    return ym, (sxy / sxx if sxx > 0.0 else 0.0), xm


compile_all(
    (
        (assemble, (F2, F2, F2, F2, I1, I1, float64, boolean, float64, BOOL3)),
        (argmax_valid, (F2, I1)),
        (deviation_contact, (F2, I1, float64)),
        (finish, (F2_OUT, F2_OUT, I1, I1, float64, BOOL3, float64)),
        (pad_nan, (F2_OUT, F2_OUT, I1, int64)),
        (piecewise_linear_contact, (F2, F2, I1)),
        (spike_proof_peak, (F2, I1)),
        (subtract_line, (F2, F2, I1, I1)),
    )
)
