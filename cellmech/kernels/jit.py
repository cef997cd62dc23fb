"""numba's side of the compiled kernels: its setup, the kernels' explicit signatures, and
compiling them together.

Every kernel module imports this one first. Importing it picks a **thread-safe numba threading
layer** (TBB, else GNU OpenMP with a passive wait policy) unless ``NUMBA_THREADING_LAYER`` is
set, so parallel kernels may be launched from several worker threads at once; only when
neither is available does the default "workqueue" layer stay, and :data:`THREADSAFE` is False
(callers then serialise kernel launches). Measured on this project's 2-core machine under load
(fit stage, 512 curves of 4000 points): workqueue 1760–1810 curves/s, TBB 1470–1650, OpenMP
passive 1560–1780, OpenMP with its default active spin-wait 855–905 (spinning threads starve
each other when the machine is shared), hence the passive policy.

It also makes sure numba can cache the compiled kernels: where no cache folder is writable (a
shared read-only install run by another user, ``NUMBA_CACHE_DIR`` pointing nowhere) numba
would refuse to even define them; they then compile into a temporary folder removed at exit
(uncached between runs), with one warning.

Each kernel module ends with :func:`compile_all` over its table ``KERNELS`` of public kernels
and their one signature, so numba compiles (or loads from its cache) every kernel when the
module is first imported, never one by one in the middle of a run when an option first calls a
kernel or passes an array of another kind; compiling is then disabled, so no call can start a
compilation. The same tables give the ahead-of-time build its exports
(:mod:`cellmech.kernels.native`). Arrays a kernel only reads are declared read-only: numba
passes any float64 array to them without a new compile (a writable array converts to a
read-only one, never the reverse); layout "A" accepts contiguous arrays and views alike.
"""

from __future__ import annotations

import atexit
import importlib
import logging
import os
import shutil
import tempfile
from collections.abc import Sequence

from numba import types

__all__ = [
    "B1",
    "BOOL3",
    "DEVIATION_RULE",
    "F1",
    "F2",
    "F2_OUT",
    "I1",
    "N1",
    "R1",
    "R2",
    "STEPS",
    "THREADING_LAYER",
    "THREADSAFE",
    "compile_all",
    "eager",
]

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

#: read-only float64 arrays (1-D, 2-D) and int64 vector, any layout
F1 = types.Array(types.float64, 1, "A", readonly=True)
F2 = types.Array(types.float64, 2, "A", readonly=True)
I1 = types.Array(types.int64, 1, "A", readonly=True)
#: a float64 2-D array the kernel modifies in place
F2_OUT = types.Array(types.float64, 2, "A")
#: arrays a kernel returns (new, C-contiguous): float64 2-D and 1-D, int64 and bool vectors
R2 = types.Array(types.float64, 2, "C")
R1 = types.Array(types.float64, 1, "C")
N1 = types.Array(types.int64, 1, "C")
B1 = types.Array(types.boolean, 1, "C")
#: a tuple of three flags
BOOL3 = types.UniTuple(types.boolean, 3)
#: preprocessing steps: (contact estimator code, tilt removal, three flags)
STEPS = types.Tuple((types.int64, types.boolean, BOOL3))
#: the deviation-from-baseline rule: (baseline fraction, pass over isolated spikes)
DEVIATION_RULE = types.Tuple((types.float64, types.boolean))


#: compile every kernel when its module is imported (the ahead-of-time build turns it off: it
#: compiles the kernels' Python functions itself and needs no JIT copy)
eager = True


def compile_all(table: Sequence[tuple]) -> None:
    """Compile (or load from the cache) every ``(dispatcher, signature)`` of ``table``, then
    forbid further compilation of those dispatchers (nothing while :data:`eager` is False).
    Signatures are complete, ``return_type(*argument_types)``: the ahead-of-time build needs
    the return type too."""
    if not eager:
        return
    for dispatcher, signature in table:
        dispatcher.compile(signature)
        dispatcher.disable_compile()
