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

It also makes sure numba can cache the compiled kernels: where no cache folder is writable (a
shared read-only install run by another user, ``NUMBA_CACHE_DIR`` pointing nowhere) numba
would refuse to even define them; they then compile into a temporary folder removed at exit
(uncached between runs), with one warning. Stage modules import this package only when they
compute (:func:`cellmech.runtime.kernel`), so commands that do not fit never import numba.
"""

from __future__ import annotations

import atexit
import importlib
import logging
import os
import shutil
import tempfile

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


def _ensure_cache() -> None:
    """Point numba at a temporary cache folder when no cache locator works here."""
    from numba.core import caching, config

    def probe() -> None:  # defined in this package, so numba locates it like the kernels
        pass

    try:
        caching.FunctionCache(probe)
    except RuntimeError:  # "cannot cache function ...: no locator available"
        folder = tempfile.mkdtemp(prefix="cellmech-numba-")
        atexit.register(shutil.rmtree, folder, True)
        logging.getLogger("cellmech").warning(
            "cellmech: warning: numba cannot write its cache (NUMBA_CACHE_DIR=%r, package "
            "folder read-only); kernels compile for this run only (set NUMBA_CACHE_DIR to a "
            "writable folder to keep them)",
            config.CACHE_DIR,
        )
        config.CACHE_DIR = folder
        if config.CACHE_LOCATOR_CLASSES:
            config.CACHE_LOCATOR_CLASSES = "UserProvidedCacheLocator"


_ensure_cache()
#: the numba threading layer in use
THREADING_LAYER = _choose_threading_layer()
#: True when parallel kernels may run concurrently from several threads
THREADSAFE = THREADING_LAYER in ("tbb", "omp", "threadsafe", "safe")
