"""Exact median for the compiled kernels (numba), about twice as fast as ``np.median`` on the
thousands of baseline residuals of a force curve.

The robust noise of every fit (a median absolute deviation: two medians) and every baseline
line were a third of the fit's time with ``np.median``, whose quickselect branches
unpredictably on every element. :func:`median` narrows the search first: the two order
statistics around the middle of an evenly strided sample of :data:`SAMPLE` values bracket the
median with high probability; one branch-free pass counts the values below the bracket and
gathers those inside it, and a quickselect on those few finds the median's rank among them.
Should the bracket miss (a sample unlike the whole), it falls back to ``np.median``, so the
result is always exactly the median, equal to ``np.median``'s (the mean of the two middle
values for an even count).
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: sample size that brackets the median; arrays shorter than twice this go to quickselect
SAMPLE = 512


@njit(cache=True)
def _select(a, k, lo, hi):
    """The ``k``-th smallest value of ``a[lo:hi + 1]``, reordering it in place: quickselect
    with a median-of-three pivot and Hoare partitioning (Hoare, Comm. ACM 4, 321, 1961).
    Afterwards ``a[lo:k]`` holds no value above it and ``a[k + 1:hi + 1]`` none below."""
    while hi > lo:
        mid = (lo + hi) >> 1
        if a[mid] < a[lo]:
            a[mid], a[lo] = a[lo], a[mid]
        if a[hi] < a[lo]:
            a[hi], a[lo] = a[lo], a[hi]
        if a[hi] < a[mid]:
            a[hi], a[mid] = a[mid], a[hi]
        pivot = a[mid]
        i, j = lo, hi
        while i <= j:
            while a[i] < pivot:
                i += 1
            while a[j] > pivot:
                j -= 1
            if i <= j:
                a[i], a[j] = a[j], a[i]
                i += 1
                j -= 1
        if k <= j:
            hi = j
        elif k >= i:
            lo = i
        else:
            return a[k]
    return a[k]


@njit(cache=True)
def _middle(a, rank, count, odd):
    """Median from ``a[:count]`` in which the lower middle value has rank ``rank``: that value,
    or for an even total the mean of it and the next larger one (reorders ``a``)."""
    low = _select(a, rank, 0, count - 1)
    if odd:
        return low
    return 0.5 * (low + a[rank + 1 : count].min())


@njit(cache=True)
def median(a):
    """Median of the 1-d float array ``a`` (NaN if it holds a NaN or is empty); ``a`` is not
    modified."""
    n = a.size
    if n == 0:
        return np.nan
    k = (n - 1) // 2  # rank of the lower middle value
    odd = n % 2 == 1
    if n < 2 * SAMPLE:
        work = a.copy()
        for j in range(n):
            if np.isnan(work[j]):
                return np.nan
        return _middle(work, k, n, odd)
    sample = a[:: n // SAMPLE].copy()
    ns = sample.size
    margin = int(2.0 * np.sqrt(ns)) + 1  # ~4 standard deviations of the sample median's rank
    first = max(ns // 2 - margin, 0)
    lo = _select(sample, first, 0, ns - 1)
    hi = _select(sample, min(ns // 2 + margin, ns - 1), first, ns - 1)
    inside = np.empty(n)
    below = count = nans = 0
    for j in range(n):  # branch free: the outcome of each comparison is a coin toss
        v = a[j]
        below += v < lo
        inside[count] = v
        count += (v >= lo) & (v <= hi)
        nans += v != v
    if nans:
        return np.nan
    if below <= k and below + count > k + (0 if odd else 1):
        return _middle(inside, k - below, count, odd)
    return np.median(a)
