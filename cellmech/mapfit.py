"""The map fit, block by block: plain NumPy, no Dask.

``fit_block`` is the unit of work (load curves -> preprocess -> fit) that both the sequential
:func:`fit_map` and the Dask wrapper :func:`cellmech.parallel.fit_force_map` run, so the two
paths share every line of science. A :class:`~cellmech.runtime.ThreadPolicy` says how many
decoder and numba threads the block may use (set on the calling thread only).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from cellmech.containers import FitResult, ForceMap
from cellmech.errors import NoCurvesError
from cellmech.fit import FitOptions, fit_curves
from cellmech.preprocess import PreprocessOptions, preprocess, required_fields
from cellmech.runtime import ThreadPolicy, using_threads

__all__ = ["DEFAULT_BLOCK_CURVES", "fit_block", "fit_map", "require_curves", "sort_by_curve"]

#: curves per block when nothing else is said: bounds memory (a block of 64 curves of
#: 2 x 10 000 points costs ~200 MB through preprocessing and fit; 256 would cost ~600 MB,
#: measured with benchmarks/bench_fit.py) at no loss of speed
DEFAULT_BLOCK_CURVES = 64


def fit_block(
    force_map: ForceMap,
    indices: np.ndarray,
    preprocess_options: PreprocessOptions,
    fit_options: FitOptions,
    threads: ThreadPolicy | None = None,
    sample_thickness_m: np.ndarray | None = None,
) -> FitResult:
    """Load, preprocess and fit the curves ``indices`` of ``force_map``.

    Parameters
    ----------
    force_map : ForceMap
        The map.
    indices : ndarray of int, shape (n,)
        Positions in the map's curve list.
    preprocess_options, fit_options
        Stage options.
    threads : ThreadPolicy, optional
        Decoder and numba threads for this block (None: the libraries' defaults).
    sample_thickness_m : ndarray, shape (n_curves_of_map,), optional
        Sample thickness under every curve of the map (NaN: half-space), for the
        finite-thickness (bottom-effect) correction; indexed by curve index.

    Returns
    -------
    FitResult
        Aligned with ``indices``.
    """
    fields = required_fields(preprocess_options, force_map.has_measured_height)
    decoder = None if threads is None else threads.decoder_threads
    block = force_map.curves(indices, fields=fields, threads=decoder)
    with using_threads(threads):
        curves = preprocess(block, force_map.spring_constant_n_per_m, preprocess_options)
        thickness = None if sample_thickness_m is None else sample_thickness_m[indices]
        return fit_curves(curves, fit_options, sample_thickness_m=thickness)


def require_curves(force_map: ForceMap) -> None:
    """Raise :class:`~cellmech.errors.NoCurvesError` if the map holds no curve."""
    if force_map.n_curves == 0:
        raise NoCurvesError(f"{force_map.path}: the map holds no force curve; nothing to fit")


def sort_by_curve(results: list[FitResult]) -> FitResult:
    """Concatenate block results and order them by curve index."""
    joined = FitResult.concatenate(results)
    order = np.argsort(joined.curve_index, kind="stable")
    if np.array_equal(order, np.arange(order.size)):
        return joined
    arrays = {
        name: getattr(joined, name)[order]
        for name in ("curve_index", "status", *FitResult.FLOAT_FIELDS)
    }
    return FitResult(**arrays, model=joined.model, parameters=joined.parameters)


def fit_map(
    force_map: ForceMap,
    *,
    preprocess_options: PreprocessOptions | None = None,
    fit_options: FitOptions | None = None,
    block_size: int = DEFAULT_BLOCK_CURVES,
    progress: Callable[[int], object] | None = None,
    threads: ThreadPolicy | None = None,
    sample_thickness_m: np.ndarray | None = None,
) -> FitResult:
    """Fit every curve of ``force_map`` in a sequential loop over blocks of curves.

    Parameters
    ----------
    force_map : ForceMap
        The map; curves are loaded ``block_size`` at a time, so memory is bounded.
    preprocess_options, fit_options : optional
        Stage options (defaults: nanite's standard workflow).
    block_size : int
        Curves per block.
    progress : callable, optional
        Called with the number of curves finished after each block (e.g. ``tqdm.update``).
    threads : ThreadPolicy, optional
        Decoder and numba threads (None: the libraries' defaults, every core).
    sample_thickness_m : ndarray, shape (n_curves,), optional
        Per-curve sample thickness for the bottom-effect correction (see :func:`fit_block`).

    Returns
    -------
    FitResult
        One entry per curve, ordered by curve index.
    """
    pre = preprocess_options or PreprocessOptions()
    fit = fit_options or FitOptions()
    if block_size < 1:
        raise ValueError("block_size must be >= 1")
    require_curves(force_map)
    results = []
    for start in range(0, force_map.n_curves, block_size):
        idx = np.arange(start, min(start + block_size, force_map.n_curves))
        results.append(fit_block(force_map, idx, pre, fit, threads, sample_thickness_m))
        if progress is not None:
            progress(idx.size)
    return sort_by_curve(results)
