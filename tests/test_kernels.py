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
