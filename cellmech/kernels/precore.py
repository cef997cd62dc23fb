"""Compiled per-curve scans of the preprocessing (numba, one curve per thread).

Each function works on NaN-padded (n, m) arrays with the number of valid leading points of
every row. The fused kernel :func:`assemble` (followed by :func:`finish` when smoothing or a
tilt versus time change the data in between) does all full-length passes of the workflow
(tilt removal and contact estimates included) row by row while a row sits in the cache, in
place where it can, so a block needs no full-size NumPy temporaries. Every row is processed
on its own: a curve's result does not depend on the other curves of its block.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange, types
from numba.types import boolean, float64, int64

from cellmech.kernels.jit import (
    B1,
    DEVIATION_RULE,
    F2,
    F2_OUT,
    I1,
    N1,
    R1,
    R2,
    STEPS,
    compile_all,
)
from cellmech.kernels.median import median as _median

#: contact-point estimators (the ``method`` argument): deviation from the baseline,
#: piecewise-linear least squares (see :mod:`cellmech.preprocess`)
DEVIATION, PIECEWISE_LINEAR = 0, 1
#: baseline tilt removal: the line is fitted to this leading share of the points before the
#: contact estimate (the estimate may lie inside a soft contact's slow onset), tilt and
#: estimate are refined in turn this often, and a curve whose line would rest on fewer points
#: (a spike at the start of the baseline: a handful of noisy points extrapolated over the
#: approach would make a ramp of nN) keeps its force untilted
TILT_SHARE = 0.8
TILT_PASSES = 2
MIN_TILT_POINTS = 20
#: residuals beyond this many robust standard deviations are left out of a baseline line
LINE_OUTLIER_Z = 5.0


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
def assemble(app_h, app_f, ret_h, ret_f, n_app, n_ret, k, tip_position, rule, steps):
    """Join approach and retract, orient the height axis and compute the tip position; then,
    while each curve is in the cache, the rest of the workflow (:func:`_correct_row`).

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
    rule : tuple (float, bool)
        Baseline fraction of the contact estimates and whether they pass over isolated spikes
        (:func:`_first_above_baseline`).
    steps : tuple (int, bool, (bool, bool, bool))
        Contact estimator (DEVIATION or PIECEWISE_LINEAR), baseline tilt removal versus the
        tip position (or height), and the :func:`_finish_row` options, applied here (all off
        where the force or the contact estimate still change before :func:`finish`).

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
    contact, tip_offset, turn, approach_peak : ndarray, shape (n,)
        As returned by :func:`finish`, the first contact estimate being
        :func:`_deviation_contact` on the points before ``peak`` (0, -1, 0 where ``m`` is 0).
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
    approach_peak = np.zeros(n, np.int64)
    method, tilt, options = steps
    inv_k = 1.0 / k if tip_position else 0.0
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
        contact[i] = _deviation_contact(fi, peak[i], rule)
        if m == 0:
            continue
        # contact estimates after this one look before a spike-proof force maximum
        n_clip = _spike_proof_peak(fi, nt) if tilt or method != DEVIATION else 0
        if method != DEVIATION:
            contact[i] = _contact_row(xi, fi, n_clip, rule, method)
        contact[i], tip_offset[i], turn[i], approach_peak[i] = _correct_row(
            xi, fi, xi, nt, na, contact[i], n_clip, rule, method, tilt, options, k, inv_k
        )
    return x, force, finite, peak, contact, tip_offset, turn, approach_peak


@njit(cache=True)
def _argmax_valid(row, n):
    """Column of the largest non-NaN value among the first ``n`` of ``row`` (0 if none)."""
    best, out = -np.inf, 0
    for j in range(n):
        if row[j] > best:
            best, out = row[j], j
    return out


@njit(cache=True, parallel=True)
def argmax_valid(a, length):
    """:func:`_argmax_valid` of the first ``length[i]`` values of every row, shape (n,)."""
    out = np.zeros(a.shape[0], np.int64)
    for i in prange(a.shape[0]):
        out[i] = _argmax_valid(a[i], length[i])
    return out


@njit(cache=True)
def _median3_peak(row, n, last_as_is):
    """Column of the largest of the first ``n`` values of ``row`` when every point counts
    only as high as its higher neighbour (the median of three inside the row), the last one
    as itself when ``last_as_is``: an isolated spike cannot be the maximum. 0 for fewer than
    2 points."""
    best, out = -np.inf, 0
    for j in range(n if n >= 2 else 0):
        v = row[j]
        if not (last_as_is and j == n - 1):
            left = row[j - 1] if j > 0 else -np.inf
            right = row[j + 1] if j + 1 < n else -np.inf
            v = min(v, max(left, right))
        if v > best:
            best, out = v, j
    return out


@njit(cache=True)
def _spike_proof_peak(row, n):
    """:func:`_median3_peak`, every point against its neighbours."""
    return _median3_peak(row, n, False)


@njit(cache=True)
def _approach_peak(row, n):
    """Column of the force maximum of the ``n`` recorded approach points, an isolated spike
    excluded (:func:`_median3_peak`) except at the last point, which counts as itself. The
    instrument ended the approach there because the force reached the setpoint, so a maximum
    at the last point is the contact, however few points a rigid wall leaves; a spike above
    the setpoint earlier in the approach is not (it would end the approach before the
    contact)."""
    return _median3_peak(row, n, True)


@njit(cache=True, parallel=True)
def spike_proof_peak(a, length):
    """:func:`_spike_proof_peak` of the first ``length[i]`` values of every row, shape (n,)."""
    out = np.zeros(a.shape[0], np.int64)
    for i in prange(a.shape[0]):
        out[i] = _spike_proof_peak(a[i], length[i])
    return out


@njit(cache=True)
def _first_above_baseline(row, n, rule):
    """First of the ``n`` points of ``row`` whose force exceeds the baseline mean by more than
    twice the largest baseline deviation; the baseline is the first ``int(n * fraction)``
    points, ``rule`` = (fraction, skip_spikes). -1 where there is none (or no baseline).

    With ``skip_spikes`` a point that also exceeds both its neighbours by that margin is taken
    for an isolated spike and the search goes on (nanite's rule, without it, stops there: the
    force offset, the baseline tilt and the tip offset then rest on the points before a spike
    or a single noise excursion). A contact's first point lies below the next one unless the
    noise lifts it by the margin, so the estimate rarely moves on clean curves (measured on
    clean synthetic curves: 0.06-0.15 % of them at 1000 points, 5-6 % at 100 points) and
    never on the real recordings; the first and the last of the ``n`` points are never
    skipped.
    """
    fraction, skip_spikes = rule
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
    margin = 2.0 * spread
    for j in range(n):
        if row[j] - mean > margin:
            if skip_spikes and 0 < j < n - 1 and row[j] - max(row[j - 1], row[j + 1]) > margin:
                continue
            return j
    return -1


@njit(cache=True)
def _deviation_contact(row, n, rule):
    """:func:`_first_above_baseline` of the first ``n`` points, ``n // 2`` where there is
    none."""
    index = _first_above_baseline(row, n, rule)
    return index if index >= 0 else n // 2


@njit(cache=True)
def _contact_row(x, y, n, rule, method):
    """Contact estimate of one curve (tip position ``x``, force ``y``) on its first ``n``
    points: :func:`_deviation_contact` or :func:`_piecewise_linear_contact`."""
    if method == PIECEWISE_LINEAR:
        return _piecewise_linear_contact(x, y, n)
    return _deviation_contact(y, n, rule)


@njit(cache=True, parallel=True)
def contact_estimate(x, y, length, rule, method):
    """:func:`_contact_row` of the first ``length[i]`` points of every row, shape (n,)."""
    out = np.empty(y.shape[0], np.int64)
    for i in prange(y.shape[0]):
        out[i] = _contact_row(x[i], y[i], length[i], rule, method)
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
def _finish_row(tip, force, n, contact, rule, options, inv_k):
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
        turn = _turning_point(tip, force, n, _first_above_baseline(force, n, rule))
    return t0, turn


@njit(cache=True)
def _detilt(axis, raw, tilted, tip, n, contact, n_clip, rule, method):
    """Baseline tilt removal of one curve: ``tilted[:n]`` = ``raw`` minus the robust line
    (:func:`_robust_line`) of ``raw`` against ``axis`` on the leading TILT_SHARE of the
    points before the contact estimate (``raw`` itself where that is fewer than
    MIN_TILT_POINTS points), the estimate refined on the result; TILT_PASSES times. Returns
    the last contact estimate (on the first ``n_clip`` points, ``tip`` the tip position)."""
    for _ in range(TILT_PASSES):
        first = min(int(contact * TILT_SHARE), n)
        if first < MIN_TILT_POINTS:
            tilted[:n] = raw[:n]
        else:
            ym, slope, xm = _robust_line(axis[:first], raw[:first])
            for j in range(n):
                tilted[j] = raw[j] - ym - slope * (axis[j] - xm)
        contact = _contact_row(tip, tilted, n_clip, rule, method)
    return contact


@njit(cache=True)
def _correct_row(
    tip, force, axis, n, n_app, contact, n_clip, rule, method, tilt, options, k, inv_k
):
    """Steps 4-7 of the workflow on one curve of ``n`` points, in place: optional baseline
    tilt removal versus ``axis`` (:func:`_detilt`; the tip position follows the corrected
    force when ``inv_k`` is not 0), then :func:`_finish_row`. Returns (contact estimate,
    tip offset, turning point, and :func:`_approach_peak` of the first ``n_app`` points after
    the corrections)."""
    if tilt:
        tilted = np.empty(n)
        contact = _detilt(axis, force, tilted, tip, n, contact, n_clip, rule, method)
        for j in range(n):
            if inv_k != 0.0:
                tip[j] = tip[j] + (tilted[j] - force[j]) / k
            force[j] = tilted[j]
    t0, turn = _finish_row(tip, force, n, contact, rule, options, inv_k)
    return contact, t0, turn, _approach_peak(force, n_app)


@njit(cache=True, parallel=True)
def finish(tip, force, axis, contact, n_clip, n_tot, n_app, rule, steps, k, inv_k):
    """:func:`_correct_row` of every curve.

    Parameters
    ----------
    tip, force : ndarray, shape (n, m), m > 0
        Tip position (m) and force (N) of the joined curves; modified in place.
    axis : ndarray, shape (n, m)
        What a baseline tilt is a function of (the tip position, or time in s); may be
        ``tip`` itself (read before ``tip`` changes).
    contact : ndarray of int64, shape (n,)
        Contact-point estimate (column) of every curve.
    n_clip, n_tot, n_app : ndarray of int64, shape (n,)
        Points before the force maximum (the range of further contact estimates), valid
        points, and points of the recorded approach.
    rule : tuple (float, bool)
        Baseline fraction of the contact estimates and whether they pass over isolated spikes
        (:func:`_first_above_baseline`).
    steps : tuple (int, bool, (bool, bool, bool))
        Contact estimator (DEVIATION or PIECEWISE_LINEAR), tilt removal, and
        (correct_force_offset, correct_tip_offset, split_at_turning_point).
    k, inv_k : float
        Spring constant in N/m, and 1 / k when ``tip`` is the tip position (the force
        corrections then also move it), else 0.

    Returns
    -------
    contact : ndarray of int64, shape (n,)
        Final contact estimate.
    tip_offset : ndarray, shape (n,)
        Subtracted tip offset in m (0 if not corrected).
    turn : ndarray of int64, shape (n,)
        Turning point (approach points after the re-split), -1 where there is none.
    approach_peak : ndarray of int64, shape (n,)
        Column of the largest corrected force of the recorded approach, an isolated spike
        before its last point excluded (:func:`_approach_peak`).
    """
    n = tip.shape[0]
    method, tilt, options = steps
    out = np.zeros(n, np.int64)
    tip_offset, turn, approach_peak = np.zeros(n), np.full(n, -1, np.int64), np.zeros(n, np.int64)
    for i in prange(n):
        out[i], tip_offset[i], turn[i], approach_peak[i] = _correct_row(
            tip[i],
            force[i],
            axis[i],
            n_tot[i],
            n_app[i],
            contact[i],
            n_clip[i],
            rule,
            method,
            tilt,
            options,
            k,
            inv_k,
        )
    return out, tip_offset, turn, approach_peak


@njit(cache=True)
def pad_nan(a, b, length, m):
    """Set ``a[i, length[i]:m]`` and ``b[i, length[i]:m]`` to NaN in place (few points: one
    thread)."""
    for i in range(a.shape[0]):
        a[i, length[i] : m] = np.nan
        b[i, length[i] : m] = np.nan


@njit(cache=True)
def _piecewise_linear_contact(x, y, n):
    """Contact index of the least-squares fit "constant baseline, then a line" to the first
    ``n`` points of one curve.

    For every candidate index ``k`` the model ``y = d`` (points before ``k``) and
    ``y = d + s (x_k - x)`` (from ``k`` on) is solved in closed form from running suffix
    sums, so all candidates cost O(n). ``x`` is the tip position (decreasing into the
    sample); on a convex (Hertz-like) contact the line meets the baseline a little inside
    the contact region. Returns ``n // 2`` for fewer than 4 points.
    """
    out = n // 2
    if n < 4:
        return out
    # standardise (zero mean, unit range) for well-conditioned sums
    xm, ym = x[:n].mean(), y[:n].mean()
    xs = max(x[:n].max() - x[:n].min(), 1e-300)
    ys = max(y[:n].max() - y[:n].min(), 1e-300)
    ty = tyy = 0.0
    for j in range(n):
        v = (y[j] - ym) / ys
        ty += v
        tyy += v * v
    s1 = sx = sxx = sy = sxy = 0.0
    best = np.inf
    for k in range(n - 1, 1, -1):
        xk, yk = (x[k] - xm) / xs, (y[k] - ym) / ys
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
            best, out = ssr, k
    return out


@njit(cache=True)
def _robust_line(x, y):
    """Least-squares line of ``y`` against ``x`` (:func:`_line`), refitted once without the
    points whose residual exceeds LINE_OUTLIER_Z robust standard deviations (1.4826 MAD): a
    spike in the baseline would otherwise tilt the line and, extrapolated over the approach,
    remove or fake a contact's force rise. Returns (mean y, slope, mean x)."""
    keep = np.ones(x.size, np.bool_)
    ym, slope, xm = _line(x, y, keep)
    res = np.abs(y - ym - slope * (x - xm))
    limit = LINE_OUTLIER_Z * 1.4826 * _median(res)
    keep = res <= limit
    if 2 <= keep.sum() < x.size:
        ym, slope, xm = _line(x, y, keep)
    return ym, slope, xm


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


#: public kernels and their one signature
KERNELS = (
    (
        assemble,
        types.Tuple((R2, R2, B1, N1, N1, R1, N1, N1))(
            F2, F2, F2, F2, I1, I1, float64, boolean, DEVIATION_RULE, STEPS
        ),
    ),
    (argmax_valid, N1(F2, I1)),
    (contact_estimate, N1(F2, F2, I1, DEVIATION_RULE, int64)),
    (
        finish,
        types.Tuple((N1, R1, N1, N1))(
            F2_OUT, F2_OUT, F2, I1, I1, I1, I1, DEVIATION_RULE, STEPS, float64, float64
        ),
    ),
    (pad_nan, types.none(F2_OUT, F2_OUT, I1, int64)),
    (spike_proof_peak, N1(F2, I1)),
)
compile_all(KERNELS)
