"""Every public compiled kernel is declared with its signature and compiled with its module
(:func:`cellmech.kernels.jit.compile_all`), so no option compiles a kernel mid-run."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
from numba.core.registry import CPUDispatcher

MODULES = ("cellmech.kernels.precore", "cellmech.kernels.fitcore", "cellmech.kernels.statcore")


def public_kernels():
    for name in MODULES:
        module = importlib.import_module(name)
        for attr, value in vars(module).items():
            if isinstance(value, CPUDispatcher) and not attr.startswith("_"):
                yield f"{name}.{attr}", value


@pytest.mark.parametrize("name, kernel", list(public_kernels()))
def test_public_kernels_are_compiled_with_their_module(name: str, kernel) -> None:
    assert len(kernel.signatures) == 1, name
    assert not kernel._can_compile, f"{name} is missing from its module's compile_all table"


def test_any_float_array_reaches_the_one_signature() -> None:
    """Writable, read-only and non-contiguous arrays all use the declared signature."""
    from cellmech.kernels.precore import argmax_valid

    a = np.array([[0.0, 3.0, 1.0, 9.0], [2.0, 1.0, 0.0, 5.0]])
    frozen = a.copy()
    frozen.flags.writeable = False
    n = np.array([3, 4])
    for arr in (a, frozen, np.asfortranarray(a), a[:, ::1]):
        assert argmax_valid(arr, n).tolist() == [1, 3]
    assert len(argmax_valid.signatures) == 1


def _median_cases(rng):
    """Arrays whose medians the fast path must get exactly: noise of many lengths (odd,
    even, around the sampled path's threshold), absolute deviations, ties, sorted and reversed
    runs, and arrays whose strided sample misses the median (the fallback)."""
    for n in (1, 2, 3, 10, 11, 999, 1023, 1024, 1025, 1500, 4096, 8191, 20000):
        noise = rng.normal(size=n)
        yield noise
        yield np.abs(noise - np.median(noise))
        yield np.round(noise * 2.0)  # many ties
        yield np.sort(noise)
        yield np.sort(noise)[::-1].copy()
    skewed = rng.normal(size=8000)
    skewed[:: 8000 // 512] = 1e6  # every sampled value far above the median
    yield skewed
    yield np.concatenate([np.full(3000, -1.0), np.full(3001, 1.0)])


def test_median_equals_numpy_exactly() -> None:
    from cellmech.kernels.median import median

    for values in _median_cases(np.random.default_rng(11)):
        before = values.copy()
        assert median(values) == np.median(values), values.size
        assert np.array_equal(values, before)  # the input is left as it was
    assert np.isnan(median(np.array([])))
    with_nan = np.random.default_rng(1).normal(size=3000)
    with_nan[1234] = np.nan
    assert np.isnan(median(with_nan))
    assert np.isnan(median(with_nan[1200:1250]))
