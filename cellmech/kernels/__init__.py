"""Compiled kernels (numba): :mod:`.precore` (preprocessing scans), :mod:`.fitcore` (the
contact-model fit), :mod:`.curvemath` (NumPy helpers on padded curve blocks).

Importing this package picks a **thread-safe numba threading layer** (TBB, else GNU OpenMP
with a passive wait policy) unless ``NUMBA_THREADING_LAYER`` is set, so parallel kernels may be
launched from several worker threads at once; only when neither is available does the default
"workqueue" layer stay, and :data:`THREADSAFE` is False (callers then serialise kernel
launches). Measured on this project's 2-core machine under load (fit stage, 512 curves of
4000 points): workqueue 1760–1810 curves/s, TBB 1470–1650, OpenMP passive 1560–1780, OpenMP
with its default active spin-wait 855–905 (spinning threads starve each other when the
machine is shared), hence the passive policy.
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
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # read when libgomp starts
    for layer, module in _LAYER_MODULES:
        try:
            if layer == "tbb":  # numba loads the tbb package's libtbb before its pool module
                from numba.np.ufunc.parallel import _check_tbb_version_compatible

                _check_tbb_version_compatible()
            importlib.import_module(module)
        except Exception:  # ImportError, or a libtbb numba refuses: try the next layer
            continue
        numba.config.THREADING_LAYER = layer
        return layer
    return "workqueue"


#: the numba threading layer in use
THREADING_LAYER = _choose_threading_layer()
#: True when parallel kernels may run concurrently from several threads
THREADSAFE = THREADING_LAYER in ("tbb", "omp", "threadsafe", "safe")
