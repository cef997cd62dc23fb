"""The one function the dock widget runs in its worker thread (no Qt, no napari).

With a fluorescence file the full pipeline runs (:func:`cellmech.pipeline.run_sample`: fit,
segment, register, measure); without one, the AFM-only fit (:func:`cellmech.mapfit.fit_map`),
which is a use case of its own (a map without a fluorescence image). Both report progress as
``progress(stage, fraction)`` and stop between blocks when ``cancel()`` turns True.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cellmech.config import Settings, merge_settings
from cellmech.containers import FitResult, ForceMap
from cellmech.errors import CellmechError

__all__ = ["Analysis", "AnalysisCancelled", "run_analysis"]

Progress = Callable[[str, float], object]
Cancel = Callable[[], bool]


class AnalysisCancelled(CellmechError):
    """The user cancelled the run (raised between blocks of curves)."""


@dataclass(frozen=True)
class Analysis:
    """What a run of the widget produced.

    Parameters
    ----------
    force_map : ForceMap
        The AFM map that was fitted.
    fit : FitResult
        One entry per curve.
    settings : Settings
        The options used.
    timing_s : dict
        Wall-clock durations of the steps in s.
    sample : SampleResult or None
        The full pipeline's result (fluorescence stack, segmentation, registration, per-cell
        table) when a fluorescence file was given, else None.
    """

    force_map: ForceMap
    fit: FitResult
    settings: Settings
    timing_s: dict[str, float]
    sample: Any = None


def run_analysis(
    afm_path: str | Path,
    fluorescence_path: str | Path | None = None,
    settings: Settings | None = None,
    *,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> Analysis:
    """Analyse one AFM map, with its fluorescence stack when given.

    Parameters
    ----------
    afm_path : path-like
        The force map (any format :func:`cellmech.io.read_force_map` reads).
    fluorescence_path : path-like, optional
        The fluorescence stack of the same field; runs the full pipeline.
    settings : Settings, optional
        All options (defaults when None).
    progress : callable, optional
        ``progress(stage, fraction)`` with fraction in [0, 1].
    cancel : callable, optional
        Polled between blocks; True stops the run with :class:`AnalysisCancelled`.

    Returns
    -------
    Analysis
    """
    settings = settings or merge_settings()
    report = progress or (lambda stage, fraction: None)
    stop = cancel or (lambda: False)
    if fluorescence_path is not None:
        return _full_pipeline(afm_path, fluorescence_path, settings, report, stop)
    return _afm_only(afm_path, settings, report, stop)


def _afm_only(afm_path, settings: Settings, report: Progress, stop: Cancel) -> Analysis:
    from cellmech.io import read_force_map
    from cellmech.mapfit import fit_map

    t0 = time.perf_counter()
    report("read", 0.0)
    force_map = read_force_map(
        afm_path,
        reader=settings.read.reader,
        spring_constant_n_per_m=settings.read.spring_constant_n_per_m,
        sensitivity_m_per_v=settings.read.sensitivity_m_per_v,
    )
    t_read = time.perf_counter() - t0
    done = 0

    def step(n_curves: int) -> None:
        nonlocal done
        done += n_curves
        report("fit", done / force_map.n_curves)
        if stop():
            raise AnalysisCancelled(f"{afm_path}: cancelled after {done} curves")

    if stop():
        raise AnalysisCancelled(f"{afm_path}: cancelled before the fit")
    fit = fit_map(
        force_map,
        preprocess_options=settings.preprocess,
        fit_options=settings.fit,
        progress=step,
    )
    timing = {"read": t_read, "fit": time.perf_counter() - t0 - t_read}
    return Analysis(force_map=force_map, fit=fit, settings=settings, timing_s=timing)


def _full_pipeline(afm_path, fluorescence_path, settings, report, stop) -> Analysis:
    try:
        from cellmech.pipeline import run_sample
    except ImportError as exc:
        raise CellmechError(
            "this cellmech has no full pipeline yet (cellmech.pipeline.run_sample); "
            "clear the fluorescence choice to run the AFM-only fit"
        ) from exc
    result = run_sample(afm_path, fluorescence_path, settings, progress=report, cancel=stop)
    return Analysis(
        force_map=result.force_map,
        fit=result.fit,
        settings=result.settings,
        timing_s=dict(result.timing_s),
        sample=result,
    )
