"""How a run uses the machine (``[run]`` section): scheduler, workers and threads.

This is the one place that says how many threads the AFM decoder, the numba kernels and Dask
may use. Nothing here is process-wide: the numba thread count is set per calling thread
(``numba.set_num_threads`` is thread-local) and decoder thread pools are owned by the call
that creates them, so two workers in one process never trip over each other.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from cellmech.errors import ConfigError
from cellmech.kernels import COMPILED
from cellmech.options import check_range, option

__all__ = [
    "LOCAL_SCHEDULERS",
    "RunOptions",
    "ThreadPolicy",
    "available_cores",
    "keep_freed_memory",
    "kernel",
    "one_kernel_at_a_time",
    "using_threads",
]

#: schedulers that run on this machine
LOCAL_SCHEDULERS = ("threads", "processes", "synchronous", "numpy")
#: per thread: the native kernel module in use (see :func:`one_kernel_at_a_time`)
_LOCAL = threading.local()
#: serialises JIT kernel launches only where numba's threading layer is not thread-safe (the
#: "workqueue" fallback aborts when parallel kernels start from several threads at once)
_JIT_LOCK = threading.Lock()


def kernel(module: str, name: str) -> Callable:
    """A function calling the compiled kernel ``module.name``, loaded on the first call.

    Stage modules reach the kernels through it, so importing a stage (for its options, as the
    command line does) never imports numba or loads compiled kernels: ``--version``,
    ``formats`` and ``info`` work even where numba cannot run or cache. Inside
    :func:`one_kernel_at_a_time` the call runs the ahead-of-time build
    (:mod:`cellmech.kernels.native`), elsewhere numba's parallel JIT build; where numba's
    threading layer is not thread-safe, JIT launches are serialised.
    """

    @functools.cache
    def target() -> Callable:
        return getattr(importlib.import_module(module), name)

    if module not in COMPILED:  # NumPy helpers: no build to choose

        def call(*args):
            return target()(*args)

    else:

        def call(*args):
            native = getattr(_LOCAL, "native", None)
            if native is not None:
                return getattr(native, name)(*args)
            from cellmech.kernels.jit import THREADSAFE

            with contextlib.nullcontext() if THREADSAFE else _JIT_LOCK:
                return target()(*args)

    call.__name__ = call.__qualname__ = name
    call.__doc__ = f"Compiled kernel ``{module}.{name}``."
    return call


@contextlib.contextmanager
def one_kernel_at_a_time(policy: ThreadPolicy | None) -> Iterator[None]:
    """Run the block's kernels from the ahead-of-time build when they run on one thread.

    For a caller that is the only one in its process calling kernels (the plain loop of
    :func:`cellmech.parallel.fit_force_map`) with ``policy.kernel_threads == 1``: the native
    kernels hold the GIL while they run, which costs nothing then, and spare the run numba's
    ~1 s start-up. Elsewhere, or where no native build exists for this machine (no C
    compiler), kernels run in numba's JIT build; results are bitwise the same.
    """
    native = None
    if policy is not None and policy.kernel_threads == 1:
        from cellmech.kernels.native import load

        native = load()
    before = getattr(_LOCAL, "native", None)
    _LOCAL.native = native
    try:
        yield
    finally:
        _LOCAL.native = before


#: glibc's mallopt parameters and the values a run sets (see :func:`keep_freed_memory`)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
TRIM_THRESHOLD_BYTES, MMAP_THRESHOLD_BYTES = 128 << 20, 32 << 20


def keep_freed_memory() -> bool:
    """Let glibc's malloc keep freed blocks of up to 32 MB for reuse (its mmap threshold)
    and return memory to the system only above 128 MB free (its trim threshold). Called once
    by the command line (the application: the setting is process-wide). True if set.

    Every block of curves allocates and frees arrays of 5–30 MB. With glibc's defaults each
    of them is a fresh mapping whose pages fault in again on first touch: measured on a
    4096-curve map (one core, native kernels), 569 000 page faults and 1.8–2.2 s of system
    time, against 35 000 and 0.4 s with these settings (wall time 7.9 s -> 5.5 s, peak memory
    140 -> 187 MB). numba's JIT happened to hide this: its import frees large blocks early,
    which raises glibc's adaptive mmap threshold before the work starts. Elsewhere than glibc
    nothing is changed.
    """
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc (musl, macOS, Windows)
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    return bool(
        mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)
        and mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES)
    )


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity, e.g. under taskset or SLURM)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class ThreadPolicy:
    """Threads one worker may use.

    Parameters
    ----------
    kernel_threads : int
        numba threads of the compiled preprocessing and fit kernels.
    decoder_threads : int
        Threads inflating and decoding AFM file members.
    """

    kernel_threads: int = 1
    decoder_threads: int = 1

    def __post_init__(self) -> None:
        for name in ("kernel_threads", "decoder_threads"):
            check_range("run", name, getattr(self, name), low=1, integer=True)


@contextlib.contextmanager
def using_threads(policy: ThreadPolicy | None) -> Iterator[None]:
    """Run the block with ``policy``'s numba thread count on this thread (restored after).

    ``None`` leaves numba's current setting alone. numba's thread count is thread-local,
    so this never affects other threads.
    """
    if policy is None or getattr(_LOCAL, "native", None) is not None:
        yield  # native kernels run on the calling thread: no numba threads to set
        return
    import numba

    n = min(policy.kernel_threads, numba.config.NUMBA_NUM_THREADS)
    before = numba.get_num_threads()
    numba.set_num_threads(n)
    try:
        yield
    finally:
        numba.set_num_threads(before)


@dataclass(frozen=True)
class RunOptions:
    """How to run the fit (``[run]`` section).

    Parameters
    ----------
    scheduler : str
        "threads", "processes", "synchronous", "numpy" (plain sequential loop, no Dask) or the
        address of a Dask distributed scheduler ("tcp://host:8786").
    workers : int or None
        Worker threads/processes for the local schedulers; None = one per core.
    chunks : (int, int) or None
        Grid chunk ``(rows, cols)`` processed by one task; None = whole grid rows, about 64
        curves per chunk.
    threads_per_worker : int or None
        numba and decoder threads each worker may use; None = the cores divided among the
        workers (all cores for the sequential "numpy" and "synchronous" runs).
    """

    scheduler: str = option(
        "threads", "threads | processes | synchronous | numpy | tcp://scheduler-address", ""
    )
    workers: int | None = option(None, "workers of the local scheduler; unset = one per core")
    chunks: tuple[int, int] | None = option(
        None, "grid chunk (rows, cols) per task; unset = whole rows, ~64 curves"
    )
    threads_per_worker: int | None = option(
        None, "numba + decoder threads per worker; unset = cores / workers"
    )

    def __post_init__(self) -> None:
        if self.scheduler not in LOCAL_SCHEDULERS and "://" not in self.scheduler:
            raise ConfigError(
                f"[run] scheduler={self.scheduler!r}: use one of {', '.join(LOCAL_SCHEDULERS)} "
                "or a scheduler address such as tcp://host:8786"
            )
        check_range("run", "workers", self.workers, low=1, integer=True, optional=True)
        if self.chunks is not None and (len(self.chunks) != 2 or min(self.chunks) < 1):
            raise ConfigError(f"[run] chunks must be two positive integers, got {self.chunks}")
        check_range(
            "run", "threads_per_worker", self.threads_per_worker, low=1, integer=True, optional=True
        )
        if self.workers is not None and "://" in self.scheduler:
            raise ConfigError(
                "[run] workers applies to the local schedulers; a cluster at "
                f"{self.scheduler} has its own workers: drop workers/--workers"
            )

    @property
    def n_workers(self) -> int:
        """Workers that run at once on this machine (1 for the sequential schedulers)."""
        if self.scheduler in ("numpy", "synchronous"):
            return 1
        return self.workers or available_cores()

    def thread_policy(self) -> ThreadPolicy:
        """Threads per worker: explicit, or this machine's cores shared among the workers."""
        if "://" in self.scheduler:  # a cluster's worker: one thread per task unless told
            n = self.threads_per_worker or 1
        else:
            n = self.threads_per_worker or max(1, available_cores() // self.n_workers)
        return ThreadPolicy(kernel_threads=n, decoder_threads=n)
