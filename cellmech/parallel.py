"""Dask wrapper: fit a force map chunk by chunk on threads, processes or a cluster.

The map's grid is cut into chunks of ``(rows, cols)`` cells; each chunk is one task running
:func:`cellmech.mapfit.fit_block` (the same NumPy code as the sequential path) and every
curve is fitted independently of the others in its block, so the result is bitwise the same
whatever the chunking and the scheduler. Tasks carry the file path, the reader options
and the curve indices, and open the map in the worker (cached per worker process), so nothing
big travels over the wire and the same graph runs on a laptop or a distributed cluster.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from cellmech.containers import FitResult, ForceMap
from cellmech.errors import CellmechError, ConfigError
from cellmech.fit import FitOptions
from cellmech.io import read_force_map
from cellmech.mapfit import DEFAULT_BLOCK_CURVES, fit_block, require_curves, sort_by_curve
from cellmech.preprocess import PreprocessOptions
from cellmech.runtime import LOCAL_SCHEDULERS, ThreadPolicy, one_kernel_at_a_time

__all__ = ["MapSource", "chunk_indices", "fit_force_map"]


@dataclass(frozen=True)
class MapSource:
    """How a worker opens the map: the file and the reader options (small, picklable).

    Parameters
    ----------
    path : str
        The AFM file, as seen from the worker.
    reader : str or None
        Reader name; None = automatic.
    spring_constant_n_per_m, sensitivity_m_per_v : float or None
        Calibration overrides in N/m and m/V.
    """

    path: str
    reader: str | None = None
    spring_constant_n_per_m: float | None = None
    sensitivity_m_per_v: float | None = None

    @classmethod
    def from_force_map(cls, force_map: ForceMap) -> MapSource:
        """Reopen ``force_map``'s file with its calibration (its reader is picked again)."""
        sens = force_map.sensitivity_m_per_v
        return cls(
            path=str(force_map.path),
            spring_constant_n_per_m=force_map.spring_constant_n_per_m,
            sensitivity_m_per_v=sens if np.isfinite(sens) else None,
        )

    def open(self) -> ForceMap:
        """The map, opened once per worker process and cached (until the file changes)."""
        try:
            stat = os.stat(self.path)
            stamp = (stat.st_mtime_ns, stat.st_size)
        except OSError:
            stamp = None  # let the reader report the missing file
        return _open_cached(self, stamp)


@lru_cache(maxsize=4)
def _open_cached(source: MapSource, stamp: tuple[int, int] | None) -> ForceMap:
    return read_force_map(
        source.path,
        reader=source.reader,
        spring_constant_n_per_m=source.spring_constant_n_per_m,
        sensitivity_m_per_v=source.sensitivity_m_per_v,
    )


def _fit_chunk(
    source: MapSource | ForceMap,
    indices: np.ndarray,
    preprocess_options: PreprocessOptions,
    fit_options: FitOptions,
    threads: ThreadPolicy | None,
) -> FitResult:
    force_map = source if isinstance(source, ForceMap) else source.open()
    return fit_block(force_map, indices, preprocess_options, fit_options, threads)


def chunk_indices(force_map: ForceMap, chunks: int | tuple[int, int] | None) -> list[np.ndarray]:
    """Curve indices of each chunk of the grid (empty chunks left out).

    Parameters
    ----------
    force_map : ForceMap
        The map.
    chunks : (int, int), int or None
        ``(rows, cols)`` grid cells per chunk (the last chunk of an axis may be smaller);
        an int = that many consecutive curves per chunk; None = whole grid rows, about
        :data:`~cellmech.mapfit.DEFAULT_BLOCK_CURVES` curves per chunk.

    Returns
    -------
    list of ndarray of int
        Ascending curve indices per chunk, chunks in (row, col) order.
    """
    n = force_map.n_curves
    cols = force_map.grid.shape[1]
    if chunks is None:
        chunks = (max(1, DEFAULT_BLOCK_CURVES // cols), cols)
    if isinstance(chunks, int | np.integer):
        if chunks < 1:
            raise ConfigError(f"chunks must be >= 1 curve, got {chunks}")
        return [np.arange(s, min(s + int(chunks), n)) for s in range(0, n, int(chunks))]
    cr, cc = (int(c) for c in chunks)
    if cr < 1 or cc < 1:
        raise ConfigError(f"chunks must be two positive integers (rows, cols), got {chunks}")
    tiles_per_row = -(-cols // cc)
    tile = (force_map.row // cr) * tiles_per_row + force_map.col // cc
    order = np.argsort(tile, kind="stable")
    bounds = np.flatnonzero(np.diff(tile[order])) + 1
    return [np.sort(part) for part in np.split(order, bounds) if part.size]


def _progress_callback(progress: Callable[[int], object]):
    """A Dask callback reporting the finished curves of every chunk task to ``progress``
    (Dask is imported here, when a graph runs, not with this module)."""
    from dask.callbacks import Callback

    class Progress(Callback):
        def _posttask(self, key, result, dsk, state, worker_id) -> None:
            if isinstance(result, FitResult):
                progress(result.n_curves)

    return Progress()


def _is_distributed(scheduler: Any) -> bool:
    return not isinstance(scheduler, str) or "://" in scheduler


#: seconds to wait for a distributed scheduler before giving up
CONNECT_TIMEOUT_S = 10


def connect(address: str):
    """A ``distributed.Client`` for ``address``, or a one-line :class:`CellmechError` when no
    scheduler answers within :data:`CONNECT_TIMEOUT_S`."""
    from distributed import Client

    try:
        return Client(address, timeout=CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError) as exc:
        raise CellmechError(
            f"no Dask scheduler answered at {address} within {CONNECT_TIMEOUT_S} s "
            f"({type(exc).__name__}); start one (`dask scheduler`) or check the address"
        ) from None


def _compute_distributed(
    tasks: list, scheduler: Any, progress: Callable[[int], object] | None
) -> list[FitResult]:
    from distributed import Client, as_completed

    client = scheduler if isinstance(scheduler, Client) else connect(scheduler)
    try:
        futures = client.compute(tasks)
        for fut in as_completed(futures):
            if progress is not None:
                progress(fut.result().n_curves)
        return client.gather(futures)
    finally:
        if client is not scheduler:
            client.close()


def _compute(
    tasks: list, scheduler: Any, workers: int | None, progress: Callable[[int], object] | None
) -> list[FitResult]:
    if _is_distributed(scheduler):
        return _compute_distributed(tasks, scheduler, progress)
    import dask

    with _progress_callback(progress) if progress is not None else nullcontext():
        return list(dask.compute(*tasks, scheduler=scheduler, num_workers=workers))


def fit_force_map(
    path_or_force_map: str | Path | MapSource | ForceMap,
    *,
    preprocess_options: PreprocessOptions | None = None,
    fit_options: FitOptions | None = None,
    chunks: int | tuple[int, int] | None = None,
    scheduler: Any = None,
    workers: int | None = None,
    reader: str | None = None,
    spring_constant_n_per_m: float | None = None,
    sensitivity_m_per_v: float | None = None,
    progress: Callable[[int], object] | None = None,
    threads: ThreadPolicy | None = None,
) -> FitResult:
    """Fit every curve of a force map in parallel chunks with Dask.

    Parameters
    ----------
    path_or_force_map : path-like, MapSource or ForceMap
        The AFM file (or a :class:`MapSource` naming it with reader options), or a map already
        read (used in place by the "threads", "synchronous" and "numpy" schedulers; other
        schedulers reopen its file in each worker).
    preprocess_options, fit_options : optional
        Stage options (defaults: nanite's standard workflow).
    chunks : (int, int), int or None
        Grid chunk ``(rows, cols)`` per task, or curves per task; see :func:`chunk_indices`.
    scheduler : str, distributed.Client or None
        "threads" (default), "processes", "synchronous", "numpy" (a plain loop, no Dask),
        a ``distributed.Client`` or a scheduler address ("tcp://host:8786").
    workers : int, optional
        Threads or processes of the local schedulers (default: one per core); one worker
        or one chunk of "threads" or "synchronous" runs the plain loop of "numpy" (no Dask
        graph).
    reader, spring_constant_n_per_m, sensitivity_m_per_v : optional
        Reader options when a path is given (see :func:`cellmech.io.read_force_map`).
    progress : callable, optional
        Called with the number of curves finished after each chunk (e.g. ``tqdm.update``).
    threads : ThreadPolicy, optional
        Decoder and numba threads each task may use (see
        :meth:`cellmech.runtime.RunOptions.thread_policy`); None = the libraries' defaults.

    Returns
    -------
    FitResult
        One entry per curve, ordered by curve index; bitwise equal to
        :func:`cellmech.mapfit.fit_map` whatever the chunking and the scheduler
        (``tests/test_parallel.py``).
    """
    pre = preprocess_options or PreprocessOptions()
    fit = fit_options or FitOptions()
    scheduler = "threads" if scheduler is None else scheduler
    if not _is_distributed(scheduler) and scheduler not in LOCAL_SCHEDULERS:
        raise ConfigError(
            f"scheduler={scheduler!r}: use one of {', '.join(LOCAL_SCHEDULERS)}, a "
            "distributed.Client or a scheduler address such as tcp://host:8786"
        )
    if isinstance(path_or_force_map, ForceMap):
        force_map = path_or_force_map
        in_place = scheduler in ("threads", "synchronous", "numpy")
        source = force_map if in_place else MapSource.from_force_map(force_map)
    elif isinstance(path_or_force_map, MapSource):
        source = path_or_force_map
        force_map = source.open()
    else:
        source = MapSource(
            str(Path(path_or_force_map).resolve()),
            reader,
            spring_constant_n_per_m,
            sensitivity_m_per_v,
        )
        force_map = source.open()
    require_curves(force_map)
    parts = chunk_indices(force_map, chunks)
    if scheduler == "numpy" or (
        scheduler in ("threads", "synchronous") and (workers == 1 or len(parts) == 1)
    ):
        # one worker or one chunk in this process: the plain loop (same result, no Dask graph
        # to build, and no import of Dask, whose scheduler lookup imports distributed: ~0.5 s),
        # on one kernel thread with the native kernels (no numba start-up: ~1 s)
        results = []
        with one_kernel_at_a_time(threads):
            for idx in parts:
                results.append(_fit_chunk(source, idx, pre, fit, threads))
                if progress is not None:
                    progress(idx.size)
        return sort_by_curve(results)
    import dask

    tag = uuid.uuid4().hex
    shared = [
        dask.delayed(obj, name=f"cellmech-{name}-{tag}", traverse=False)
        for name, obj in (("map", source), ("preprocess", pre), ("fit", fit), ("threads", threads))
    ]
    tasks = [
        dask.delayed(_fit_chunk, pure=False)(
            shared[0], idx, *shared[1:], dask_key_name=f"cellmech-chunk-{i}-{tag}"
        )
        for i, idx in enumerate(parts)
    ]
    return sort_by_curve(_compute(tasks, scheduler, workers, progress))
