r"""Per-cell measurement: curves onto cells, the substrate plane, one row per cell.

Stage inputs: a force map and its :class:`~cellmech.containers.FitResult`, the
:class:`~cellmech.containers.Segmentation` of the fluorescence field, the
:class:`~cellmech.containers.Registration` (AFM -> fluorescence) and the
:class:`~cellmech.containers.FluorescenceStack`.

**Curve positions.** A curve's recorded scanner position ``(x, y)`` (``ForceMap.x_m/y_m``,
falling back to its grid cell where not recorded) is turned into fractional AFM grid pixels by
the inverse grid geometry (:func:`cellmech.transforms.grid_px_to_m`) and mapped into
fluorescence pixels by the registration's pixel-to-pixel matrix
``afm_px_to_fluorescence_px``. This equals ``fluorescence_m_to_px @ afm_m_to_fluorescence_m``
whenever segmentation and registration share the fluorescence frame, but does not depend on
the segmentation's recorded stage origin. Labels are read at the nearest fluorescence pixel.

**Compartments.** ``substrate`` (no cell), ``edge`` (in a cell, closer than
``edge_distance_m`` to its outline: steep slope, tip flank touches first), ``nucleus`` (in the
cell's nucleus label), ``cytoplasm`` (the rest of the cell) and ``outside_image`` (outside the
fluorescence field). The outline distance is the Euclidean distance transform (in m) to the
nearest pixel on a label boundary, corrected by half a pixel to the boundary itself. The curve
status stays separate: a ``rigid`` curve in a cell is reported in the warnings.

**Substrate plane.** ``z = z0 + a (x - x0) + b (y - y0)`` fitted to the zero-force heights of
substrate curves at least ``substrate_margin_m`` from every cell (any status with a finite
height) by iteratively reweighted least squares: a least-absolute-deviation start (weights
``1/|r|``) then Tukey's biweight with ``c = 4.685 σ``, ``σ = 1.4826 MAD`` of the residuals
(Holland & Welsch, Commun. Stat. Theory Methods 6, 813 (1977)). Heights above the plane are
reported for every curve.

**Per-cell moduli** use ``ok`` curves of the cell's ``nucleus`` and ``cytoplasm``
compartments (edge curves are left out). The standard error of the median is

.. math:: SE = \sqrt{\frac{\pi}{2}\,\frac{\max(s^2, \overline{se^2})}{n}}

with ``s = 1.4826 MAD`` the robust scatter of the n moduli and ``se`` the per-curve standard
errors when the fit provides them (asymptotic variance of the median of a normal sample,
Kenney & Keeping, Mathematics of Statistics (1962); the observed scatter cannot be below the
measurement error, which bounds it from below for small n). One curve gives its own ``se``.

**Per-compartment medians** also leave out curves near a nucleus outline
(:mod:`cellmech.margins`): every curve keeps ``nucleus_margin_m`` from it (the contact disc
straddles the outline; registration error and the drawn edge shift it), and a cytoplasm curve
also the lateral reach at which the tip's flank meets the top of its cell's nucleus (from the
tip geometry and the tip-deconvolved heights: the tip radius for a nucleus taller than it). A
nucleus smaller than the margin plus the grid pitch keeps its innermost curves instead of
giving NaN; a cytoplasm rim narrower than the flank reach gives NaN (its curves may have
measured the nucleus).

**Topography.** Heights of ``ok``/``rigid`` curves are tip-deconvolved (grey erosion by the tip,
:mod:`cellmech.topography`). The AFM footprint of a cell is its curves whose deconvolved height
above the plane exceeds ``footprint_height_m``; ``area_m2`` = points x AFM pixel area (in the
fluorescence stage frame, ``|det|`` of the registration times the fluorescence pixel area),
``volume_m3`` = sum of the heights x pixel area, ``height_mean_m`` their mean;
``height_max_m`` is the largest measured (not deconvolved) height of a trusted curve in the
cell.

**Intensities.** Per channel the z planes are summed; the background is the median of that
projection over pixels farther than ``background_margin_m`` from every cell (all cell-free
pixels if none is that far); ``intensity_mean_<channel>`` and ``intensity_integrated_<channel>``
are the mean and sum over the cell's pixels of the projection minus the background, in camera
counts.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from cellmech.cellstats import MAD_SIGMA, cell_columns, outline_distance_m, trusted_statuses
from cellmech.containers import (
    CellTable,
    CurveAssignment,
    CurveStatus,
    FitResult,
    FluorescenceStack,
    ForceMap,
    Registration,
    Segmentation,
    SubstratePlane,
)
from cellmech.errors import ConfigError
from cellmech.options import check_range, option
from cellmech.topography import tip_deconvolve
from cellmech.transforms import apply_affine, grid_px_to_m

__all__ = [
    "SECTION",
    "MeasureOptions",
    "assign_curves",
    "measure_cells",
    "sample_thickness_m",
    "substrate_plane",
]

#: configuration section of :class:`MeasureOptions`
SECTION = "measure"
#: Tukey biweight tuning constant (95 % efficiency under normal errors)
_TUKEY_C = 4.685
_IRLS_ITERATIONS = 30


@dataclass(frozen=True)
class MeasureOptions:
    """Options of the measurement stage (section ``[measure]``)."""

    edge_distance_m: float = option(
        2e-6, "curves closer than this to the cell outline are 'edge', left out of statistics", "m"
    )
    substrate_margin_m: float = option(
        3e-6, "substrate curves closer than this to a cell are left out of the plane fit", "m"
    )
    footprint_height_m: float = option(
        0.2e-6, "cell grid points higher than this above the substrate form its footprint", "m"
    )
    background_margin_m: float = option(
        3e-6, "fluorescence background pixels lie at least this far from every cell", "m"
    )
    bottom_effect: bool = option(
        False, "refit with the finite-thickness correction and report corrected moduli", ""
    )
    nucleus_margin_m: float = option(
        1.5e-6,
        "curves this close to a nucleus outline (cytoplasm curves: or within the reach of the "
        "tip flank) stay out of the compartment medians; a nucleus with no curve that far keeps "
        "its innermost ones",
        "m",
    )
    min_ok_curves: int = option(3, "cells with fewer ok curves are flagged in the warnings", "1")

    def __post_init__(self) -> None:
        for name in (
            "edge_distance_m",
            "substrate_margin_m",
            "footprint_height_m",
            "background_margin_m",
            "nucleus_margin_m",
        ):
            check_range(SECTION, name, getattr(self, name), low=0.0, high=1e-3)
        check_range(SECTION, "min_ok_curves", self.min_ok_curves, low=0, integer=True)
        if not isinstance(self.bottom_effect, bool):
            raise ConfigError(
                f"[{SECTION}] bottom_effect={self.bottom_effect!r} must be true or false"
            )


def _scanner_positions(force_map: ForceMap, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Recorded scanner (x, y) of curves ``idx``, m; the grid cell centre where not recorded."""
    gx, gy = force_map.grid.grid_to_scanner(force_map.row[idx], force_map.col[idx])
    x, y = np.asarray(force_map.x_m, float)[idx], np.asarray(force_map.y_m, float)[idx]
    known = np.isfinite(x) & np.isfinite(y)
    return np.where(known, x, gx), np.where(known, y, gy)


def _afm_m_to_fluorescence_px(force_map: ForceMap, registration: Registration) -> np.ndarray:
    """Scanner (x, y, 1) in m -> fluorescence (row, col, 1): inverse grid, then registration."""
    return registration.afm_px_to_fluorescence_px @ np.linalg.inv(grid_px_to_m(force_map.grid))


def substrate_plane(x_m: np.ndarray, y_m: np.ndarray, height_m: np.ndarray) -> SubstratePlane:
    """Robust plane through substrate heights (IRLS: LAD start, then Tukey's biweight).

    Parameters
    ----------
    x_m, y_m : ndarray, shape (n,)
        Scanner positions in m.
    height_m : ndarray, shape (n,)
        Zero-force heights in m; non-finite entries are ignored.

    Returns
    -------
    SubstratePlane
        NaN coefficients (and ``n_points = 0``) when fewer than 3 finite, non-collinear
        points remain.
    """
    x, y, z = (np.asarray(a, float) for a in (x_m, y_m, height_m))
    keep = np.isfinite(x) & np.isfinite(y) & np.isfinite(z)
    x, y, z = x[keep], y[keep], z[keep]
    center = (float(np.mean(x)), float(np.mean(y))) if x.size else (0.0, 0.0)
    design = np.column_stack([np.ones(x.size), x - center[0], y - center[1]])
    if x.size < 3 or np.linalg.matrix_rank(design) < 3:
        return SubstratePlane(np.nan, np.nan, np.nan, center, np.nan, 0)
    weights = np.ones(x.size)
    for iteration in range(_IRLS_ITERATIONS):
        sw = np.sqrt(weights)
        coef = np.linalg.lstsq(design * sw[:, None], z * sw, rcond=None)[0]
        resid = z - design @ coef
        sigma = MAD_SIGMA * np.median(np.abs(resid - np.median(resid)))
        floor = max(sigma, 1e-12) * 1e-3
        if iteration < _IRLS_ITERATIONS // 3:  # least absolute deviations
            weights = 1.0 / np.maximum(np.abs(resid), floor)
        else:  # Tukey's biweight
            u = resid / max(_TUKEY_C * sigma, floor)
            weights = np.where(np.abs(u) < 1, (1 - u**2) ** 2, 0.0)
            if np.count_nonzero(weights) < 3:
                weights = np.ones(x.size)
    return SubstratePlane(*coef, center, sigma, int(np.count_nonzero(weights)))


def assign_curves(
    force_map: ForceMap,
    fit_result: FitResult,
    segmentation: Segmentation,
    registration: Registration,
    options: MeasureOptions | None = None,
) -> CurveAssignment:
    """Cell, compartment, outline distance and height above the substrate of every curve.

    Parameters
    ----------
    force_map : ForceMap
        Gives the curves' recorded positions and the grid geometry.
    fit_result : FitResult
        Zero-force heights; the assignment is aligned with its ``curve_index``.
    segmentation : Segmentation
        Cell and nucleus labels on the fluorescence pixel grid.
    registration : Registration
        AFM grid pixel -> fluorescence pixel.
    options : MeasureOptions, optional

    Returns
    -------
    CurveAssignment
        See the module docstring for the method.
    """
    opt = options or MeasureOptions()
    idx = fit_result.curve_index
    x, y = _scanner_positions(force_map, idx)
    row, col = apply_affine(_afm_m_to_fluorescence_px(force_map, registration), x, y)
    ri, ci = np.rint(row), np.rint(col)
    shape = segmentation.shape
    inside = (ri >= 0) & (ri < shape[0]) & (ci >= 0) & (ci < shape[1])
    ri, ci = np.where(inside, ri, 0).astype(np.intp), np.where(inside, ci, 0).astype(np.intp)
    cells = np.where(inside, segmentation.cell_labels[ri, ci], 0)
    nucleus = inside & (segmentation.nucleus_labels[ri, ci] == cells) & (cells > 0)
    dist, nuc_dist = (
        np.where(inside, outline_distance_m(lab, segmentation.pixel_size_m)[ri, ci], np.nan)
        for lab in (segmentation.cell_labels, segmentation.nucleus_labels)
    )
    compartment = np.select(
        [~inside, cells == 0, dist < opt.edge_distance_m, nucleus],
        ["outside_image", "substrate", "edge", "nucleus"],
        "cytoplasm",
    )
    on_dish = (compartment == "substrate") & (dist >= opt.substrate_margin_m)
    heights = fit_result.zero_force_height_m
    plane = substrate_plane(x[on_dish], y[on_dish], heights[on_dish])
    above = heights - plane.height_m(x, y)
    trusted = np.isin(fit_result.status, trusted_statuses())
    geometry = fit_result.parameters.get("geometry", {})
    surface = tip_deconvolve(force_map, idx, np.where(trusted, above, np.nan), geometry)
    return CurveAssignment(
        curve_index=idx,
        cell_id=cells,
        compartment=compartment,
        edge_distance_m=dist,
        nucleus_distance_m=nuc_dist,
        fluorescence_row_px=row,
        fluorescence_col_px=col,
        height_above_substrate_m=above,
        surface_height_m=surface,
        plane=plane,
        parameters=asdict(opt),
    )


def sample_thickness_m(assignment: CurveAssignment) -> np.ndarray:
    """Sample thickness under every curve for the bottom-effect refit, m, shape (n,).

    The height above the substrate plane for curves in a cell (any compartment); NaN (an
    infinitely thick sample: no correction) on the substrate, outside the image and where the
    height is unknown or not positive. Pass it to ``fit_curves(..., sample_thickness_m=...)``
    for the curves of ``assignment.curve_index``.
    """
    h = assignment.height_above_substrate_m
    in_cell = (assignment.cell_id > 0) & (h > 0)
    return np.where(in_cell, h, np.nan)


def measure_cells(
    force_map: ForceMap,
    fit_result: FitResult,
    segmentation: Segmentation,
    registration: Registration,
    stack: FluorescenceStack,
    options: MeasureOptions | None = None,
    *,
    assignment: CurveAssignment | None = None,
    corrected: FitResult | None = None,
) -> CellTable:
    """One row per segmented cell: stiffness, topography, fluorescence, flags.

    Parameters
    ----------
    force_map, fit_result, segmentation, registration
        As for :func:`assign_curves`.
    stack : FluorescenceStack
        The (C, Z, Y, X) stack the segmentation was made from (intensities).
    options : MeasureOptions, optional
    assignment : CurveAssignment, optional
        From :func:`assign_curves` (computed when not given).
    corrected : FitResult, optional
        The bottom-effect refit (same curves); adds ``youngs_modulus_corrected_*`` columns.

    Returns
    -------
    CellTable
        Columns in the order of the issue's list (:mod:`cellmech.cellstats` computes them).
    """
    opt = options or MeasureOptions()
    if assignment is None:
        assignment = assign_curves(force_map, fit_result, segmentation, registration, opt)
    if stack.shape[2:] != segmentation.shape:
        raise ValueError(f"stack {stack.shape} and segmentation {segmentation.shape} differ")
    columns, units, warnings = cell_columns(
        force_map, fit_result, segmentation, registration, stack, opt, assignment, corrected
    )
    rigid = getattr(CurveStatus, "RIGID", None)
    if rigid is not None:
        in_cell = (assignment.cell_id > 0) & (fit_result.status == rigid)
        for cid in np.unique(assignment.cell_id[in_cell]):
            n = int(np.count_nonzero(in_cell & (assignment.cell_id == cid)))
            warnings.append(f"cell {cid}: {n} rigid curve(s) inside the cell")
    return CellTable(columns, units, tuple(warnings), parameters=asdict(opt))
