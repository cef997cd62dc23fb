r"""Compiled core of the contact-model fit (numba, one curve per thread).

Every contact model is linear in the Young's modulus, ``F = b + E g(cp - x)`` with ``g`` the
model's force per modulus, so for a trial contact point ``cp`` the modulus ``E >= 0`` and the
baseline ``b`` minimise the weighted sum of squares

.. math:: S(cp) = \sum_j w_j^2 \, (y_j - b - E\, g(cp - x_j))^2

in closed form (a 2x2 normal system). Only ``cp`` is nonlinear, found in three stages: a global
search over candidate contact points on 128 block averages of the curve, Brent's method
(golden section + parabolic steps; Brent, "Algorithms for Minimization without Derivatives",
1973, ch. 5) on 1024 block averages inside the best candidate's bracket, and Brent on the full
data within a quarter block of that. Block averages keep the scatter inside each block as an
extra sum of squares, so the decimated S differs from the full one by little. Points above the
bracket (no contact, unit weight) enter through constant sums, so a refinement step only
touches the contact region.

``g`` comes from a table sampled at ``delta_k = delta_max (k / (T-1))^2`` (dense near contact)
and is interpolated with cubic polynomials in ``sqrt(delta)``, which keeps any model (and any
finite-thickness correction) out of the compiled code.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange
from numba.types import float64

from cellmech.kernels import MIN_FIT_POINTS
from cellmech.kernels.jit import F1, F2, I1, R2, compile_all
from cellmech.kernels.median import median as _median

#: curve points kept by the coarse candidate search (block averages)
COARSE_POINTS = 128
#: curve points kept by the first Brent refinement (block averages)
MEDIUM_POINTS = 1024
#: half-width of the full-data sample scan around the medium optimum, in medium blocks
POLISH_BLOCKS = 1
#: times the polish window may follow a best sample on its edge
POLISH_MOVES = 16
#: contact-point tolerance relative to the indentation depth (dE/E ~ 1.5 dcp/depth)
CP_RTOL = 1e-5
GOLDEN = 0.3819660112501051
#: columns of the result of :func:`fit_block`
N_RESULTS = 15
#: force rise (in units of the force noise) that marks a point as certainly in contact
CONTACT_Z = 5.0


@njit(cache=True, inline="always")
def _g(delta, table, row, scale):
    """Force per modulus (normalised) at indentation ``delta``: cubic Lagrange interpolation in
    ``u = sqrt(delta)``, exact for the Hertz paraboloid (g ~ u^3)."""
    if delta <= 0.0:
        return 0.0
    t = table.shape[1] - 1
    u = np.sqrt(delta * scale) * t
    i = min(max(int(u), 1), t - 2)
    f = u - i
    fm, fp, f2 = f - 1.0, f + 1.0, f - 2.0
    return (
        fp * f * (fm * table[row, i + 2] - 3.0 * f2 * table[row, i + 1]) / 6.0
        + fm * f2 * (3.0 * fp * table[row, i] - f * table[row, i - 1]) / 6.0
    )


@njit(cache=True)
def _solve(cp, x, y, c, ss, free, wcp, table, row, scale):
    """Weighted closed-form E >= 0 and baseline at contact point ``cp``; returns (S, E, b).

    Points may be block averages: ``c`` holds block sizes and ``ss`` the scatter of ``y``
    inside each block (its sum of squared deviations), added back with the block's weight
    (the model is nearly constant within a block). ``free`` = (count, sum y, sum y^2) of points
    that are certainly out of contact and unweighted.
    """
    sw, sy, syy = free[0], free[1], free[2]
    sg = sgg = sgy = 0.0
    for j in range(x.size):
        d = cp - x[j]
        w2 = 1.0
        if wcp > 0.0:
            w = min(abs(d) / wcp, 1.0)
            w2 = w * w
        if c is not None:  # block averages (numba compiles this away for the full data)
            syy += w2 * ss[j]
            w2 *= c[j]
        g = _g(d, table, row, scale)
        yj = y[j]
        sw += w2
        sy += w2 * yj
        syy += w2 * yj * yj
        sg += w2 * g
        sgg += w2 * g * g
        sgy += w2 * g * yj
    if sw <= 0.0:
        return np.inf, np.nan, np.nan
    det = sw * sgg - sg * sg
    e = (sw * sgy - sg * sy) / det if det > 1e-14 * sw * sgg else 0.0
    e = max(e, 0.0)
    b = (sy - e * sg) / sw
    s = syy - 2 * b * sy - 2 * e * sgy + b * b * sw + 2 * b * e * sg + e * e * sgg
    return s, e, b


@njit(cache=True)
def _decimate(x, y, k):
    """Block means of ``x`` and ``y`` in ``k`` nearly equal blocks, the block sizes and the
    sum of squared deviations of ``y`` from its block mean."""
    n = x.size
    xb, yb, cb, ss = np.empty(k), np.empty(k), np.empty(k), np.empty(k)
    for i in range(k):
        start, stop = i * n // k, (i + 1) * n // k
        ref = y[start]  # shift against cancellation in sum(y^2) - sum(y)^2 / count
        sx = sy = syy = 0.0
        for j in range(start, stop):
            sx += x[j]
            d = y[j] - ref
            sy += d
            syy += d * d
        c = stop - start
        xb[i], yb[i], cb[i] = sx / c, ref + sy / c, c
        ss[i] = max(syy - sy * sy / c, 0.0)
    return xb, yb, cb, ss


@njit(cache=True)
def _coarse_bracket(x, y, c, ss, wcp, table, row, scale):
    """Bracket (lo, hi) of the contact point: the best candidate cp = x[i] and its second
    neighbours in x. Every other point is tried, then the two neighbours of the best."""
    order = np.argsort(-x)  # descending x: points out of contact for a candidate lead
    x, y, c, ss = x[order], y[order], c[order], ss[order]
    k = x.size
    prefix = np.zeros((k + 1, 3))
    for j in range(k):
        prefix[j + 1, 0] = prefix[j, 0] + c[j]
        prefix[j + 1, 1] = prefix[j, 1] + c[j] * y[j]
        prefix[j + 1, 2] = prefix[j, 2] + c[j] * y[j] * y[j] + ss[j]
    s = np.full(k, np.inf)
    for i in range(0, k, 2):
        s[i] = _candidate(i, x, y, c, ss, prefix, wcp, table, row, scale)
    even = np.argmin(s)
    for i in (even - 1, even + 1):
        if 0 <= i < k:
            s[i] = _candidate(i, x, y, c, ss, prefix, wcp, table, row, scale)
    best = np.argmin(s)
    return x[min(best + 2, k - 1)], x[max(best - 2, 0)]


@njit(cache=True)
def _candidate(i, x, y, c, ss, prefix, wcp, table, row, scale):
    """S at cp = x[i] for points sorted by descending x with cumulative sums ``prefix``."""
    m = i
    while m > 0 and x[m - 1] <= x[i] + wcp:
        m -= 1
    return _solve(x[i], x[m:], y[m:], c[m:], ss[m:], prefix[m], wcp, table, row, scale)[0]


@njit(cache=True)
def _split_free(x, y, c, ss, hi, wcp):
    """Points that may touch or be weighted for cp <= hi, and the sums of all the others."""
    near = x <= hi + wcp
    free = np.zeros(3)
    for j in range(x.size):
        if not near[j]:
            cj, ssj = (1.0, 0.0) if c is None else (c[j], ss[j])
            free[0] += cj
            free[1] += cj * y[j]
            free[2] += cj * y[j] * y[j] + ssj
    if c is None:
        return x[near], y[near], c, ss, free
    return x[near], y[near], c[near], ss[near], free


@njit(cache=True)
def _brent(lo, hi, x, y, c, ss, wcp, table, row, scale, tol):
    """Minimise S(cp) on [lo, hi] by Brent's method (golden section + parabolic steps)."""
    x, y, c, ss, free = _split_free(x, y, c, ss, hi, wcp)
    a, b = lo, hi
    v = w = u = xm = a + GOLDEN * (b - a)
    fx = _solve(xm, x, y, c, ss, free, wcp, table, row, scale)[0]
    fv = fw = fx
    d = e = 0.0
    for _ in range(100):
        mid = 0.5 * (a + b)
        tol1 = tol + 1e-12 * abs(xm)
        if abs(xm - mid) <= 2 * tol1 - 0.5 * (b - a):
            break
        golden = True
        if abs(e) > tol1:
            r = (xm - w) * (fx - fv)
            q = (xm - v) * (fx - fw)
            p = (xm - v) * q - (xm - w) * r
            q = 2.0 * (q - r)
            if q > 0.0:
                p = -p
            q = abs(q)
            if abs(p) < abs(0.5 * q * e) and q * (a - xm) < p < q * (b - xm):
                e, d = d, p / q
                u = xm + d
                if u - a < 2 * tol1 or b - u < 2 * tol1:
                    d = tol1 if mid >= xm else -tol1
                golden = False
        if golden:
            e = (a - xm) if xm >= mid else (b - xm)
            d = GOLDEN * e
        u = xm + (d if abs(d) >= tol1 else (tol1 if d > 0 else -tol1))
        fu = _solve(u, x, y, c, ss, free, wcp, table, row, scale)[0]
        if fu <= fx:
            if u >= xm:
                a = xm
            else:
                b = xm
            v, fv, w, fw, xm, fx = w, fw, xm, fx, u, fu
        else:
            if u < xm:
                a = u
            else:
                b = u
            if fu <= fw or w == xm:
                v, fv, w, fw = w, fw, u, fu
            elif fu <= fv or v in (xm, w):
                v, fv = u, fu
    return xm


@njit(cache=True)
def _fit_one(x, y, wcp, table, row, scale, out):
    """Fit one curve (fit points only, y already centred/scaled); fills ``out``.

    Global search on ~COARSE_POINTS block averages, Brent on ~MEDIUM_POINTS block averages,
    then :func:`_polish` on the full data within POLISH_BLOCKS medium blocks of that (the
    window follows the best sample while it lies on the window's edge).
    """
    span = x.max() - x.min()
    xc, yc, cc, sc = _decimate(x, y, min(x.size, COARSE_POINTS))
    lo, hi = _coarse_bracket(xc, yc, cc, sc, wcp, table, row, scale)
    xm, ym, cm, sm = _decimate(x, y, min(x.size, MEDIUM_POINTS))
    cp = _brent(lo, hi, xm, ym, cm, sm, wcp, table, row, scale, 1e-6 * span + 1e-13)
    w = POLISH_BLOCKS * span / xm.size
    tol = CP_RTOL * max(cp - x.min(), w)
    cp, edge = _polish(cp, w, x, y, wcp, table, row, scale, tol)
    for _ in range(POLISH_MOVES):  # the best sample on the window's edge: follow it
        if not edge:
            break
        cp, edge = _polish(cp, w, x, y, wcp, table, row, scale, tol)
    xa, ya, ca, sa, free = _split_free(x, y, None, None, cp, wcp)
    s, e, b = _solve(cp, xa, ya, ca, sa, free, wcp, table, row, scale)
    out[0], out[1], out[2], out[3] = e, cp, b, s
    _summary(x, y, cp, e, b, wcp, span, table, row, scale, out)
    _setpoint_travel(x, y, b, out)


@njit(cache=True)
def _polish(mid, w, x, y, wcp, table, row, scale, tol):
    """Full-data minimum of S near ``mid``: S at every sample position within ``w`` of it,
    then Brent between the sample positions around the best one. Returns (cp, edge), edge
    True when the best sample is the outermost one inside the window (not the domain's).

    Sample by sample, not by Brent alone: the noise makes S rough at the sample scale (a
    point entering contact), with a shallow local minimum between most pairs of samples.
    """
    x0, x1 = x.min(), x.max()
    lo, hi = max(mid - w, x0), min(mid + w, x1)
    xa, ya, ca, sa, free = _split_free(x, y, None, None, hi, wcp)
    cand = np.sort(x[(x >= lo) & (x <= hi)])
    if cand.size == 0:
        return _brent(lo, hi, x, y, None, None, wcp, table, row, scale, tol), False
    s_best, jb = np.inf, 0
    for j in range(cand.size):
        s = _solve(cand[j], xa, ya, ca, sa, free, wcp, table, row, scale)[0]
        if s < s_best:
            s_best, jb = s, j
    a = cand[jb - 1] if jb > 0 else lo
    b = cand[jb + 1] if jb < cand.size - 1 else hi
    cp = _brent(a, b, x, y, None, None, wcp, table, row, scale, tol)
    if b == x1 and _solve(x1, xa, ya, ca, sa, free, wcp, table, row, scale)[0] < s_best:
        cp, s_best = x1, -np.inf  # the optimum on the domain's edge (every point in contact)
    if _solve(cp, xa, ya, ca, sa, free, wcp, table, row, scale)[0] > s_best:
        cp = cand[jb]
    edge = (jb == 0 and cand[0] > x0) or (jb == cand.size - 1 and cand[-1] < x1)
    return cp, edge


@njit(cache=True)
def _setpoint_travel(x, y, b, out):
    """Model-free contact measures (out[12:14]) from the force noise ``sd`` (out[11]): the tip
    travel from the resolved contact onset (the first of the points before the end of the
    approach that all exceed ``b + CONTACT_Z sd``) to the end of the approach (the setpoint),
    and the force rise there. Measured back from the end, not from the force maximum, so a
    spike in the baseline (which can exceed the setpoint) never passes for the contact."""
    sd = out[11]
    top = y.size - 1
    j = top
    while j > 0 and y[j - 1] > b + CONTACT_Z * sd:
        j -= 1
    out[12] = x[j] - x[top]
    out[13] = y[top] - b


@njit(cache=True)
def _summary(x, y, cp, e, b, wcp, span, table, row, scale, out):
    """Unweighted SSR and total sum of squares, largest indentation, points in contact,
    largest isolated residual (off the mean of its two neighbours, in units of the noise of
    that difference; a spike) (out[4:9]) and the standard errors of E and cp (out[9:11]) from
    the covariance at the optimum, ``s2 (J^T W J)^-1`` with ``s2`` = weighted SSR / (n - 3)
    and the Jacobian columns (g, E dg/dcp, 1); NaN at the bound E = 0."""
    ssr = sst = dmax = rmax = r1 = r2 = 0.0
    contact = nfree = 0
    free = np.empty(x.size)  # residuals out of contact, for a robust noise estimate
    ymean = y.mean()
    h = 1e-6 * span
    # J^T W J in scalars (a20 = a02 and a21 = a12 exactly; a01 and a10 round differently):
    # a point with the Jacobian row (0, 0, 1) only adds its weight to a22
    a00 = a01 = a02 = a10 = a11 = a12 = a22 = 0.0
    for j in range(x.size):
        d = cp - x[j]
        g = _g(d, table, row, scale)
        r = y[j] - b - e * g
        ssr += r * r
        sst += (y[j] - ymean) ** 2
        if j >= 2:  # isolated outlier: a residual off the mean of its neighbours
            rmax = max(rmax, abs(r1 - 0.5 * (r2 + r)))
        r2, r1 = r1, r
        w2 = 1.0
        if wcp > 0.0:
            w2 = min(abs(d) / wcp, 1.0) ** 2
        if d > -h:  # cp column scaled by the span: a well-conditioned 3 x 3 system
            dg = (_g(d + h, table, row, scale) - _g(d - h, table, row, scale)) / (2 * h)
            j1 = e * dg * span
            wg, wj = w2 * g, w2 * j1
            a00 += wg * g
            a01 += wg * j1
            a02 += wg
            a10 += wj * g
            a11 += wj * j1
            a12 += wj
        a22 += w2
        if d > 0.0:
            contact += 1
            dmax = max(dmax, d)
        else:
            free[nfree] = r
            nfree += 1
    # in noise units of that difference; dividing the maximum (not every value) is exact
    out[4], out[5], out[6], out[7], out[8] = ssr, sst, dmax, contact, rmax / np.sqrt(1.5)
    # noise: robust (1.4826 MAD) spread of the residuals out of contact, so spikes and steps
    # in the baseline do not inflate it; over all points when few are out of contact
    if nfree > 10:
        rf = free[:nfree]
        out[11] = 1.4826 * _median(np.abs(rf - _median(rf)))
    else:
        out[11] = np.sqrt(ssr / max(x.size - 3, 1))
    det = (
        a00 * (a11 * a22 - a12 * a12)
        - a01 * (a10 * a22 - a12 * a02)
        + a02 * (a10 * a12 - a11 * a02)
    )
    s2 = out[3] / max(x.size - 3, 1)
    if e > 0.0 and det > 0.0:
        out[9] = np.sqrt(s2 * (a11 * a22 - a12 * a12) / det)
        out[10] = np.sqrt(s2 * (a00 * a22 - a02 * a02) / det) * span
    else:
        out[9] = out[10] = np.nan


@njit(cache=True)
def _fit_points(x, y, end, lo, hi):
    """Finite points among the first ``end`` with ``lo <= x <= hi``, compacted."""
    xo, yo = np.empty(end), np.empty(end)
    count = 0
    for j in range(end):
        if np.isfinite(x[j]) and np.isfinite(y[j]) and lo <= x[j] <= hi:
            xo[count], yo[count] = x[j], y[j]
            count += 1
    return xo[:count], yo[:count]


@njit(cache=True, parallel=True)
def fit_block(x, y, npts, x_lo, x_hi, j_end, wcp, table, table_row, scale):
    """Fit every curve of a block.

    Parameters
    ----------
    x, y : ndarray, shape (n, m)
        Tip position in m and force in N (NaN padded).
    npts, j_end : ndarray of int, shape (n,)
        Valid points, and the end of the fit range (exclusive index), per curve.
    x_lo, x_hi : ndarray, shape (n,)
        Tip-position window of the fit range in m.
    wcp : float
        Contact-point weighting distance in m (0 = unweighted).
    table : ndarray, shape (r, T)
        Force per modulus in m^2 sampled at ``delta_k = (k / (T-1))^2 / scale[row]``.
    table_row : ndarray of int, shape (n,)
        Table row of each curve.
    scale : ndarray, shape (r,)
        ``1 / delta_max`` of each table row in 1/m.

    Returns
    -------
    ndarray, shape (n, N_RESULTS)
        E (Pa), cp (m), b (N), weighted SSR (N^2), SSR and total sum of squares (N^2) of the
        unweighted residuals, largest indentation (m), points in contact, fit points, largest
        isolated residual (N, see :func:`_summary`), standard errors of E (Pa) and cp (m),
        force noise (rms of the residuals out of contact, N), the tip travel from the resolved
        contact onset (force above b + CONTACT_Z noise) to the force maximum (m) and the force
        rise there (N).
        Rows of curves with fewer than ``MIN_FIT_POINTS`` fit points are NaN but the count.
    """
    n = x.shape[0]
    res = np.full((n, N_RESULTS), np.nan)
    for i in prange(n):
        xi, yi = _fit_points(x[i], y[i], min(npts[i], j_end[i]), x_lo[i], x_hi[i])
        res[i, 8] = xi.size
        if xi.size < MIN_FIT_POINTS:
            continue
        y0 = yi.mean()
        ysc = max(yi.max() - y0, y0 - yi.min(), 1e-300)
        yi = (yi - y0) / ysc
        out = np.zeros(14)
        r = table_row[i]
        _fit_one(xi, yi, wcp, table, r, scale[r], out)
        res[i, 0] = out[0] * ysc
        res[i, 1] = out[1]
        res[i, 2] = out[2] * ysc + y0
        res[i, 3] = out[3] * ysc * ysc
        res[i, 4] = out[4] * ysc * ysc
        res[i, 5] = out[5] * ysc * ysc
        res[i, 6] = out[6]
        res[i, 7] = out[7]
        res[i, 9] = out[8] * ysc
        res[i, 10] = out[9] * ysc
        res[i, 11] = out[10]
        res[i, 12] = out[11] * ysc
        res[i, 13] = out[12]
        res[i, 14] = out[13] * ysc
    return res


#: public kernels and their one signature
KERNELS = ((fit_block, R2(F2, F2, I1, F1, F1, I1, float64, F2, I1, F1)),)
compile_all(KERNELS)
