"""The one function the dock widget runs in its worker thread (no Qt, no napari).

It is :func:`cellmech.pipeline.run_sample`, the function ``cellmech run`` calls: with a
fluorescence file the full pipeline (fit, segment, register, measure), without one the
AFM-only fit (a use case of its own: a map without a fluorescence image).

Cancel: ``run_sample`` has no cancel hook, but it reports progress after every chunk of
curves and at the start of every stage, and lets an exception raised by the progress
callback propagate. The callback raises :class:`AnalysisCancelled` once ``cancel()`` turns
True, so a run stops at the next chunk or stage boundary.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from cellmech.config import Settings
from cellmech.errors import CellmechError

__all__ = ["AnalysisCancelled", "run_analysis"]

Progress = Callable[[str, float], object]
Cancel = Callable[[], bool]


class AnalysisCancelled(CellmechError):
    """The user cancelled the run (raised from the progress callback)."""


def run_analysis(
    afm_path: str | Path,
    fluorescence_path: str | Path | None = None,
    settings: Settings | None = None,
    *,
    landmarks: str | Path | None = None,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
):
    """Analyse one AFM map, with its fluorescence stack when given.

    Parameters
    ----------
    afm_path : path-like
        The force map (any format :func:`cellmech.io.read_force_map` reads).
    fluorescence_path : path-like, optional
        The fluorescence stack of the same field; runs the full pipeline.
    settings : Settings, optional
        All options (:func:`cellmech.pipeline.make_settings`; defaults when None).
    landmarks : path-like, optional
        Landmark pairs CSV for the registration (see :mod:`cellmech.alignment.landmarks`).
    progress : callable, optional
        ``progress(stage, fraction)`` with fraction in [0, 1].
    cancel : callable, optional
        Polled at every progress report; True stops the run with :class:`AnalysisCancelled`.

    Returns
    -------
    cellmech.pipeline.SampleResult
    """
    from cellmech.pipeline import run_sample

    report = progress or (lambda stage, fraction: None)
    stop = cancel or (lambda: False)

    def relay(stage: str, fraction: float) -> None:
        report(stage, fraction)
        if stop():
            raise AnalysisCancelled(f"{afm_path}: cancelled during {stage}")

    if stop():
        raise AnalysisCancelled(f"{afm_path}: cancelled before the start")
    return run_sample(afm_path, fluorescence_path, settings, landmarks=landmarks, progress=relay)
