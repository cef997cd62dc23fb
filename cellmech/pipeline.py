"""The one composer: the stage table and the runs that chain the stages.

:data:`STAGES` maps every config section to its options class (the single source of the TOML
sections, CLI flags and the napari widget); :func:`settings` builds validated options from
config levels. :func:`run_fit` reads a map and fits it (sequentially or on Dask, as the
``[run]`` options say). The command line, the batch runner and the napari plugin all call
these functions, so the sequence of stages lives here only.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cellmech.config import Settings, merge_settings
from cellmech.containers import FitResult, ForceMap
from cellmech.fit import FitOptions
from cellmech.io.options import ImageOptions, ReadOptions
from cellmech.measure import MeasureOptions
from cellmech.preprocess import PreprocessOptions
from cellmech.runtime import RunOptions
from cellmech.segment import SegmentOptions

__all__ = [
    "FIT_SECTIONS",
    "PRESETS",
    "STAGES",
    "FitRun",
    "SampleResult",
    "make_settings",
    "run_fit",
]

#: section -> options class, in config-file order
STAGES: dict[str, type] = {
    "read": ReadOptions,
    "preprocess": PreprocessOptions,
    "fit": FitOptions,
    "image": ImageOptions,
    "segment": SegmentOptions,
    "measure": MeasureOptions,
    "run": RunOptions,
}
#: the sections a map fit uses (``cellmech fit``)
FIT_SECTIONS = ("read", "preprocess", "fit", "run")
#: named sets of section values applied over the defaults (``--preset``, ``preset = ...``)
PRESETS: dict[str, dict[str, dict[str, Any]]] = {}


def stage_table(sections: tuple[str, ...] | None = None) -> dict[str, type]:
    """The stage table, or the part of it naming ``sections``."""
    return dict(STAGES) if sections is None else {s: STAGES[s] for s in sections}


def make_settings(*levels: Mapping[str, Any], sections: tuple[str, ...] | None = None) -> Settings:
    """Validated options of every section from config levels (defaults < preset < levels)."""
    return merge_settings(stage_table(sections), *levels, presets=PRESETS)


@dataclass(frozen=True)
class FitRun:
    """A fitted map with the bookkeeping of the run.

    Parameters
    ----------
    force_map : ForceMap
    result : FitResult
    timing_s : mapping
        Wall-clock seconds per step ("read", "fit").
    """

    force_map: ForceMap
    result: FitResult
    timing_s: Mapping[str, float]


@dataclass(frozen=True)
class SampleResult:
    """Everything one correlative sample produced (what ``cellmech run`` writes).

    Parameters
    ----------
    force_map : ForceMap
        The AFM map.
    fit : FitResult
        Per-curve fit (the headline moduli).
    stack : FluorescenceStack or None
        The fluorescence stack (None for an AFM-only run).
    segmentation : Segmentation or None
        Cell and nucleus labels on the fluorescence grid.
    registration : Registration or None
        AFM -> fluorescence transform with its verdict.
    assignment : object or None
        Per-curve cell id, compartment, edge distance and height above the substrate
        (:class:`cellmech.measure.CurveAssignment`).
    cells : object or None
        One row per cell (:class:`cellmech.containers.CellTable`).
    corrected_fit : FitResult or None
        Refit with the bottom-effect correction, when enabled.
    settings : Settings
        Every option used.
    timing_s : mapping
        Wall-clock seconds per stage.
    warnings : tuple of str
        What a person should check (registration not accepted, few ok curves in a cell ...).
    """

    force_map: ForceMap
    fit: FitResult
    settings: Settings
    stack: Any = None
    segmentation: Any = None
    registration: Any = None
    assignment: Any = None
    cells: Any = None
    corrected_fit: FitResult | None = None
    timing_s: Mapping[str, float] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    @property
    def needs_review(self) -> bool:
        """True when the registration was not accepted (exit code 3 on the command line)."""
        return self.registration is not None and not self.registration.accepted


def run_fit(
    afm_path: str | Path,
    settings: Settings,
    *,
    progress: Callable[[int], object] | None = None,
    on_read: Callable[[ForceMap], object] | None = None,
) -> FitRun:
    """Read an AFM file and fit every curve, as ``settings`` say.

    Parameters
    ----------
    afm_path : path-like
        The AFM map or curve file.
    settings : Settings
        Needs the ``read``, ``preprocess``, ``fit`` and ``run`` sections.
    progress : callable, optional
        Called with the number of curves finished after each chunk.
    on_read : callable, optional
        Called with the map once it is open (e.g. to size a progress bar).
    """
    from cellmech.parallel import MapSource, fit_force_map

    t0 = time.perf_counter()
    read, run = settings.read, settings.run
    source = MapSource(
        str(Path(afm_path).resolve()),
        read.reader,
        read.spring_constant_n_per_m,
        read.sensitivity_m_per_v,
    )
    force_map = source.open()
    if on_read is not None:
        on_read(force_map)
    t_read = time.perf_counter()
    result = fit_force_map(
        source,
        preprocess_options=settings.preprocess,
        fit_options=settings.fit,
        chunks=run.chunks,
        scheduler=run.scheduler,
        workers=run.workers,
        progress=progress,
        threads=run.thread_policy(),
    )
    timing = {"read": t_read - t0, "fit": time.perf_counter() - t_read}
    return FitRun(force_map, result, timing)


def write_fit_run(out_dir: str | Path, run: FitRun, settings: Settings) -> dict[str, Any]:
    """Write the outputs of :func:`run_fit` (tables, maps, ``run.json`` last) as one
    transaction (:func:`~cellmech.outputs.transaction.output_transaction`); returns the run
    report."""
    from cellmech.outputs import run_report, write_fit_outputs
    from cellmech.outputs.transaction import output_transaction

    report = run_report(
        run.force_map,
        run.result,
        settings=settings.to_dict(),
        timing_s=run.timing_s,
        command=sys.argv,
    )
    with output_transaction(out_dir) as staging:
        write_fit_outputs(staging, run.force_map, run.result, report)
    return report
