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
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from cellmech.errors import ConfigError
from cellmech.options import check_range, option

__all__ = [
    "LOCAL_SCHEDULERS",
    "RunOptions",
    "ThreadPolicy",
    "available_cores",
    "kernel",
    "using_threads",
]

#: schedulers that run on this machine
LOCAL_SCHEDULERS = ("threads", "processes", "synchronous", "numpy")


def kernel(module: str, name: str) -> Callable:
    """A function calling ``module.name``, imported on the first call.

    Stage modules reach the numba kernels through it, so importing a stage (for its options,
    as the command line does) never imports numba or loads compiled kernels: ``--version``,
    ``formats`` and ``info`` work even where numba cannot run or cache.
    """

    @functools.cache
    def target() -> Callable:
        return getattr(importlib.import_module(module), name)

    @functools.wraps(target)
    def call(*args, **kwargs):
        return target()(*args, **kwargs)

    call.__name__ = call.__qualname__ = name
    return call


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
    if policy is None:
        yield
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
