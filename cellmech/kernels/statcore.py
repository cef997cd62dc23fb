"""Compiled per-curve tests of :mod:`cellmech.fitstatus` (numba): one pass per curve instead of
a dozen full-size array passes.

Parallel over curves (``prange``); see :mod:`cellmech.kernels.jit` for the signatures.
"""

from __future__ import annotations

import numpy as np
from numba import int64, njit, prange

from cellmech.kernels.jit import F1, F2, I1, R1, compile_all
from cellmech.kernels.precore import _line

__all__ = ["end_rise_z"]


@njit(cache=True, parallel=True)
def end_rise_z(x, y, length, cp, contact_index, sd, min_base):
    """How far the last of the ``length[i]`` points of each curve stands above the
    least-squares line ``y = a + s x`` of its baseline, in prediction errors; shape (n,).

    The last point's force counts as the larger of itself and the median of the last three
    (:func:`_end_force`): a downward spike at the setpoint does not hide the contact, while a
    rigid wall that only the last point reached still counts.

    Baseline points: finite points with ``x > cp[i]`` or a column below ``contact_index[i]``;
    with fewer than ``min_base`` of them, every finite point. The prediction error at the last
    point ``x_e`` is ``sd sqrt(1 + 1/m + (x_e - mean x)^2 / S_xx)`` over the ``m`` line points
    (the prediction interval of a linear regression). NaN where the last point is not finite
    or ``sd`` is 0 (a noise-free curve, which the caller does not test).
    """
    out = np.empty(x.shape[0])
    for i in prange(x.shape[0]):
        n = length[i]
        finite = np.empty(n, np.bool_)
        base = np.empty(n, np.bool_)
        for j in range(n):
            finite[j] = np.isfinite(x[i, j]) and np.isfinite(y[i, j])
            base[j] = finite[j] and (x[i, j] > cp[i] or j < contact_index[i])
        keep = finite if base.sum() < min_base else base
        m = max(keep.sum(), 1)
        ym, slope, xm = _line(x[i, :n], y[i, :n], keep) if keep.any() else (0.0, 0.0, 0.0)
        sxx = 0.0
        for j in range(n):
            if keep[j]:
                sxx += (x[i, j] - xm) ** 2
        last = max(n - 1, 0)
        xe, ye = x[i, last], _end_force(y[i], n)
        lever = (xe - xm) ** 2 / sxx if sxx > 0.0 else 0.0
        spread = sd[i] * np.sqrt(1.0 + 1.0 / m + lever)
        out[i] = (ye - ym - slope * (xe - xm)) / spread if spread > 0.0 else np.nan
    return out


@njit(cache=True)
def _end_force(row, n):
    """The force at the end of the first ``n`` points of ``row``: the last value, or the
    median of the last three where that is larger, which is then the lower of the two before
    it (the last point is a downward spike; it helps where at least two points are in
    contact). Rows holding NaN never reach a fit (INVALID_INPUT)."""
    last = row[max(n - 1, 0)]
    if n < 3:
        return last
    return max(last, min(row[n - 3], row[n - 2]))


#: public kernels and their one signature
KERNELS = ((end_rise_z, R1(F2, F2, I1, F1, I1, F1, int64)),)
compile_all(KERNELS)
