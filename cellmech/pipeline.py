"""The one composer: the stage table and the runs that chain the stages.

:data:`STAGES` maps every config section to its options class (the single source of the TOML
sections, CLI flags and the napari widget); :func:`settings` builds validated options from
config levels. :func:`run_fit` reads a map and fits it (sequentially or on Dask, as the
``[run]`` options say). The command line, the batch runner and the napari plugin all call
these functions, so the sequence of stages lives here only.
"""

from __future__ import annotations

import importlib
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cellmech.config import Settings, merge_settings
from cellmech.containers import FitResult, ForceMap

__all__ = [
    "FIT_SECTIONS",
    "PRESETS",
    "STAGES",
    "FitRun",
    "SampleResult",
    "make_settings",
    "run_fit",
    "run_sample",
]


class _StageTable(Mapping):
    """Section -> options class, importing a stage module only when its class is asked for
    (so ``cellmech fit`` never loads the segmentation or registration libraries)."""

    def __init__(self, paths: Mapping[str, str]):
        self._paths = dict(paths)

    def __getitem__(self, section: str) -> type:
        module, name = self._paths[section].split(":")
        return getattr(importlib.import_module(module), name)

    def __iter__(self) -> Iterator[str]:
        return iter(self._paths)

    def __len__(self) -> int:
        return len(self._paths)


#: section -> options class, in config-file order
STAGES: Mapping[str, type] = _StageTable(
    {
        "read": "cellmech.io.options:ReadOptions",
        "preprocess": "cellmech.preprocess:PreprocessOptions",
        "fit": "cellmech.fit:FitOptions",
        "image": "cellmech.io.options:ImageOptions",
        "segment": "cellmech.segment:SegmentOptions",
        "register": "cellmech.register:RegisterOptions",
        "measure": "cellmech.measure:MeasureOptions",
        "run": "cellmech.runtime:RunOptions",
    }
)
#: the sections a map fit uses (``cellmech fit``)
FIT_SECTIONS = ("read", "preprocess", "fit", "run")
#: named sets of section values applied over the defaults (``--preset``, ``preset = ...``):
#: "nanite" is nanite's standard workflow (Müller et al. 2019): no baseline-tilt correction
#: and residuals weighted linearly up to 1 µm from the contact point, so results compare with
#: the literature that used it (biased low on shallow indentations, see the README)
PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "nanite": {
        "preprocess": {
            "height_source": "auto",
            "compute_tip_position": True,
            "contact_method": "deviation_from_baseline",
            "baseline_fraction": 0.1,
            "correct_force_offset": True,
            "tilt_axis": "none",
            "correct_tip_offset": True,
            "split_at_turning_point": True,
            "keep_approach_peak": False,
            "skip_baseline_spikes": False,
            "smooth_window": 1,
        },
        "fit": {
            "fit_range": "approach",
            "weight_cp_m": 1e-6,
        },
    },
}


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
    image : ndarray, shape (Y, X), or None
        The z-reduced cell channel (or first channel): what overlays are drawn on.
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
    image: Any = None

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


def run_sample(
    afm_path: str | Path,
    fluorescence_path: str | Path | None = None,
    settings: Settings | None = None,
    *,
    labels: str | Path | None = None,
    landmarks: str | Path | None = None,
    calibration: str | Path | None = None,
    progress: Callable[[str, float], object] | None = None,
) -> SampleResult:
    """Fit -> segment -> register -> measure one correlative sample.

    Parameters
    ----------
    afm_path : path-like
        The AFM map.
    fluorescence_path : path-like, optional
        The fluorescence stack of the same field; without it only the fit runs.
    settings : Settings, optional
        Options of every stage (:func:`make_settings`); defaults when None.
    labels : path-like, optional
        A label image made elsewhere, replacing the segmentation.
    landmarks, calibration : path-like, optional
        Point pairs (CSV) or a previous ``registration.json`` for the registration.
    progress : callable, optional
        ``progress(stage, fraction)`` with stage in "fit", "segment", "register", "measure".
    """
    from cellmech.measure import assign_curves, measure_cells

    settings = settings or make_settings()
    report = progress or (lambda stage, fraction: None)
    n_done, total = [0], [1]

    def fit_progress(n: int) -> None:
        n_done[0] += n
        report("fit", n_done[0] / max(total[0], 1))

    fitted = run_fit(
        afm_path,
        settings,
        progress=fit_progress,
        on_read=lambda fm: total.__setitem__(0, fm.n_curves),
    )
    if fluorescence_path is None:
        return SampleResult(fitted.force_map, fitted.result, settings, timing_s=fitted.timing_s)
    placed = locate(fitted, fluorescence_path, settings, labels=labels, landmarks=landmarks,
                    calibration=calibration, progress=report)  # fmt: skip
    clock = time.perf_counter()
    report("measure", 0.0)
    seg, reg = placed.segmentation, placed.registration
    assignment = assign_curves(fitted.force_map, fitted.result, seg, reg, settings.measure)
    corrected = _bottom_effect_refit(fitted, assignment, settings)
    cells = measure_cells(
        fitted.force_map, fitted.result, seg, reg, placed.stack, settings.measure,
        assignment=assignment, corrected=corrected,
    )  # fmt: skip
    timing = {**fitted.timing_s, **placed.timing_s, "measure": time.perf_counter() - clock}
    report("measure", 1.0)
    return SampleResult(
        fitted.force_map, fitted.result, settings, placed.stack, seg, reg, assignment, cells,
        corrected, timing, tuple(cells.warnings), placed.image,
    )  # fmt: skip


@dataclass(frozen=True)
class Placement:
    """The fluorescence side of a sample: the stack, its segmentation, the z-reduced cell
    channel and the registration of the AFM map onto it, with the seconds each took."""

    stack: Any
    segmentation: Any
    image: np.ndarray
    registration: Any
    timing_s: Mapping[str, float]


def locate(
    fitted: FitRun,
    fluorescence_path: str | Path,
    settings: Settings,
    *,
    labels: str | Path | None = None,
    landmarks: str | Path | None = None,
    calibration: str | Path | None = None,
    progress: Callable[[str, float], object] | None = None,
) -> Placement:
    """Read the stack, segment it (or take ``labels``) and register the fitted map onto it
    (the part of :func:`run_sample` that ``cellmech register`` runs alone)."""
    from cellmech.io import read_fluorescence
    from cellmech.register import load_calibration, read_landmarks, register
    from cellmech.segment import load_labels, segment

    report = progress or (lambda stage, fraction: None)
    clock = time.perf_counter()
    stack = read_fluorescence(fluorescence_path, pixel_size_m=settings.image.pixel_size_m)
    report("segment", 0.0)
    seg = load_labels(labels, stack) if labels is not None else segment(stack, settings.segment)
    timing = {"segment": time.perf_counter() - clock}
    clock = time.perf_counter()
    report("register", 0.0)
    image = cell_plane(stack, seg, settings.segment.plane)
    reg = register(
        fitted.force_map,
        fitted.result,
        seg,
        settings.register,
        landmarks=None if landmarks is None else read_landmarks(landmarks),
        initial=None if calibration is None else load_calibration(calibration),
        image=image,
    )
    timing["register"] = time.perf_counter() - clock
    return Placement(stack, seg, image, reg, timing)


def cell_plane(stack, seg, plane: str) -> np.ndarray:
    """The z-reduced cell channel (or the first channel): the intensity image of the
    registration's refinement and of the overlays."""
    from cellmech.segment import project

    names = list(stack.channel_names)
    channel = names.index(seg.cell_channel) if seg.cell_channel in names else 0
    return project(np.asarray(stack.data[channel]), plane)


def _bottom_effect_refit(fitted: FitRun, assignment, settings: Settings) -> FitResult | None:
    """The refit with per-curve sample thickness (height above the substrate plane) when
    ``[measure] bottom_effect`` is on, else None."""
    from cellmech.mapfit import fit_map
    from cellmech.measure import sample_thickness_m

    if not settings.measure.bottom_effect:
        return None
    thickness = np.full(fitted.force_map.n_curves, np.nan)
    thickness[assignment.curve_index] = sample_thickness_m(assignment)
    return fit_map(
        fitted.force_map,
        preprocess_options=settings.preprocess,
        fit_options=settings.fit,
        threads=settings.run.thread_policy(),
        sample_thickness_m=thickness,
    )


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


def write_sample_run(
    out_dir: str | Path, result: SampleResult, extra: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Write every output of :func:`run_sample` as one transaction; returns ``run.json``'s
    content. An AFM-only result writes what ``cellmech fit`` writes plus the report.
    ``extra`` entries are added to ``run.json`` (the batch stores its input key there)."""
    from cellmech.outputs.sample import sample_report, write_sample_outputs
    from cellmech.outputs.transaction import output_transaction

    report = {**sample_report(result), **(extra or {})}
    with output_transaction(out_dir) as staging:
        write_sample_outputs(staging, result, report)
    return report
