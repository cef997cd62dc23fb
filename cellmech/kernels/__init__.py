"""Compiled kernels (numba): :mod:`.precore` (preprocessing scans), :mod:`.fitcore` (the
contact-model fit), :mod:`.curvemath` (NumPy helpers on padded curve blocks).

Importing this package picks a **thread-safe numba threading layer** (TBB, else GNU OpenMP)
unless ``NUMBA_THREADING_LAYER`` is set, so parallel kernels may be launched from several
worker threads at once; only when neither is available does the default "workqueue" layer stay,
and :data:`THREADSAFE` is False (callers then serialise kernel launches).
"""

from __future__ import annotations

import importlib
import os

__all__ = ["THREADING_LAYER", "THREADSAFE"]

_LAYER_MODULES = (("tbb", "numba.np.ufunc.tbbpool"), ("omp", "numba.np.ufunc.omppool"))


def _choose_threading_layer() -> str:
    import numba

    requested = os.environ.get("NUMBA_THREADING_LAYER")
    if requested:
        return requested
    for layer, module in _LAYER_MODULES:
        try:
            importlib.import_module(module)
        except ImportError:
            continue
        numba.config.THREADING_LAYER = layer
        return layer
    return "workqueue"


#: the numba threading layer in use
THREADING_LAYER = _choose_threading_layer()
#: True when parallel kernels may run concurrently from several threads
THREADSAFE = THREADING_LAYER in ("tbb", "omp", "threadsafe", "safe")
