"""Per-cell columns of the measurement stage (:mod:`cellmech.measure` documents the methods).

Plain NumPy helpers, one per group of columns; every cell of the segmentation gets a row, cells
without curves get NaN in the AFM columns and ``n_curves = 0``.
"""

from __future__ import annotations

import re

import numpy as np
from scipy import ndimage
from skimage.segmentation import find_boundaries

from cellmech.containers import (
    CurveAssignment,
    CurveStatus,
    FitResult,
    FluorescenceStack,
    ForceMap,
    Registration,
    Segmentation,
)
from cellmech.margins import COMPARTMENTS, clear_of_nucleus
from cellmech.transforms import apply_affine, grid_px_to_m

__all__ = [
    "cell_columns",
    "channel_identifier",
    "median_standard_error",
    "modulus_columns",
    "outline_distance_m",
    "trusted_statuses",
]

#: MAD -> standard deviation of a normal distribution
MAD_SIGMA = 1.4826
#: compartments whose curves enter the cell statistics
STAT_COMPARTMENTS = COMPARTMENTS
#: columns without a unit
_FLAGS = ("cell_id", "edge_cell", "registration_accepted")
#: column suffix -> unit
_SUFFIX_UNITS = (("_pa", "Pa"), ("_m2", "m^2"), ("_m3", "m^3"), ("_m", "m"), ("_px", "px"))


def outline_distance_m(labels: np.ndarray, pixel_size_m: tuple[float, float]) -> np.ndarray:
    """Distance from every pixel centre to the nearest cell outline, m.

    Parameters
    ----------
    labels : ndarray of int, shape (Y, X)
        Cell labels (0 = background).
    pixel_size_m : (float, float)
        Pixel pitch ``(row, col)`` in m.

    Returns
    -------
    ndarray of float, shape (Y, X)
        Distance to the nearest boundary pixel of a cell plus half a pixel inside cells,
        minus half a pixel outside (clipped at 0); inf when there is no cell.
    """
    boundary = find_boundaries(labels, connectivity=1, mode="inner") & (labels > 0)
    if not boundary.any():
        return np.full(labels.shape, np.inf)
    dist = ndimage.distance_transform_edt(~boundary, sampling=pixel_size_m)
    half = 0.5 * min(pixel_size_m)
    return np.where(labels > 0, dist + half, np.clip(dist - half, 0.0, None))


def median_standard_error(values: np.ndarray, se: np.ndarray | None = None) -> float:
    """Standard error of the median of ``values`` (see the module docstring), NaN if empty.

    Parameters
    ----------
    values : ndarray, shape (n,)
        Finite values.
    se : ndarray, shape (n,), optional
        Their standard errors (NaN entries are ignored).
    """
    n = values.size
    mean_se2 = np.nan
    if se is not None and np.any(np.isfinite(se)):
        mean_se2 = float(np.nanmean(np.square(se)))
    if n == 0:
        return np.nan
    if n == 1:
        return float(np.sqrt(mean_se2))
    scatter2 = (MAD_SIGMA * np.median(np.abs(values - np.median(values)))) ** 2
    variance = scatter2 if np.isnan(mean_se2) else max(scatter2, mean_se2)
    return float(np.sqrt(np.pi / 2 * variance / n))


def channel_identifier(name: str, taken: set[str] | None = None) -> str:
    """A lower-case Python identifier for a channel name, unique among ``taken``."""
    ident = re.sub(r"[^0-9a-zA-Z]+", "_", name).strip("_").lower() or "channel"
    if ident[0].isdigit():
        ident = f"c{ident}"
    base, k = ident, 2
    while taken is not None and ident in taken:
        ident, k = f"{base}_{k}", k + 1
    return ident


def column_unit(name: str) -> str:
    """Unit of a cell-table column, from its name."""
    if name in _FLAGS:
        return ""
    if name.startswith("intensity_"):
        return "counts"
    return next((unit for suffix, unit in _SUFFIX_UNITS if name.endswith(suffix)), "1")


def _per_cell(ids: np.ndarray, cell_of: np.ndarray, mask: np.ndarray, values: np.ndarray, fun):
    """``fun(values[mask & (cell_of == k)])`` for every k of ``ids`` (NaN when empty)."""
    out = np.full(ids.size, np.nan)
    for i, k in enumerate(ids):
        v = values[mask & (cell_of == k)]
        if v.size:
            out[i] = fun(v)
    return out


def _iqr(v: np.ndarray) -> float:
    q25, q75 = np.percentile(v, [25, 75])
    return float(q75 - q25)


def modulus_columns(
    result: FitResult,
    assignment: CurveAssignment,
    ids: np.ndarray,
    prefix: str,
    nucleus_margin_m: float,
) -> dict[str, np.ndarray]:
    """Median, IQR, geometric mean, SE of the median and per-compartment medians (Pa).

    Uses ``ok`` curves with a positive finite modulus in the nucleus and cytoplasm
    compartments; the per-curve ``youngs_modulus_se_pa`` is used when the result has it. The
    compartment medians leave out curves near a nucleus outline
    (:func:`cellmech.margins.clear_of_nucleus`, with the tip geometry of ``result``).

    Parameters
    ----------
    result : FitResult
        Per-curve moduli (Pa) and statuses.
    assignment : CurveAssignment
        Cell, compartment and nucleus-outline distance (m) of the same curves.
    ids : ndarray of int, shape (k,)
        Cell ids, one row each.
    prefix : str
        Column name prefix.
    nucleus_margin_m : float
        Distance from a nucleus outline inside which curves stay out of the compartment
        medians, m (see :mod:`cellmech.margins`).

    Returns
    -------
    dict of str to ndarray, shape (k,)
        The columns, NaN for a cell without usable curves.
    """
    if not np.array_equal(result.curve_index, assignment.curve_index):
        raise ValueError("fit result and curve assignment cover different curves")
    e = result.youngs_modulus_pa
    ok = (result.status == CurveStatus.OK) & np.isfinite(e) & (e > 0)
    used = ok & np.isin(assignment.compartment, STAT_COMPARTMENTS)
    se = getattr(result, "youngs_modulus_se_pa", None)
    cell = assignment.cell_id
    median_se = np.full(ids.size, np.nan)
    for i, k in enumerate(ids):
        mine = used & (cell == k)
        median_se[i] = median_standard_error(e[mine], None if se is None else se[mine])
    comp = assignment.compartment
    geometry = result.parameters.get("geometry", {})
    clear = clear_of_nucleus(assignment, ok, ids, nucleus_margin_m, geometry)
    return {
        f"{prefix}_median_pa": _per_cell(ids, cell, used, e, np.median),
        f"{prefix}_iqr_pa": _per_cell(ids, cell, used, e, _iqr),
        f"{prefix}_geomean_pa": _per_cell(ids, cell, used, e, lambda v: np.exp(np.log(v).mean())),
        f"{prefix}_median_se_pa": median_se,
        f"{prefix}_nucleus_median_pa": _per_cell(
            ids, cell, ok & clear & (comp == "nucleus"), e, np.median
        ),
        f"{prefix}_cytoplasm_median_pa": _per_cell(
            ids, cell, ok & clear & (comp == "cytoplasm"), e, np.median
        ),
    }


def _count_columns(result, assignment, ids) -> dict[str, np.ndarray]:
    cell = assignment.cell_id
    used = (result.status == CurveStatus.OK) & np.isin(assignment.compartment, STAT_COMPARTMENTS)
    used &= np.isfinite(result.youngs_modulus_pa)
    return {
        "n_curves": np.array([np.count_nonzero(cell == k) for k in ids], np.int64),
        "n_curves_ok": np.array([np.count_nonzero(used & (cell == k)) for k in ids], np.int64),
    }


def trusted_statuses() -> list[int]:
    """Statuses whose zero-force heights describe the sample: ``ok`` and ``rigid``."""
    return [int(s) for s in CurveStatus if s.name in ("OK", "RIGID")]


def _topography_columns(result, assignment, ids, pixel_area_m2, threshold_m) -> dict:
    """Height max (trusted raw heights), and mean, volume and area of each cell's AFM
    footprint (tip-deconvolved heights above ``threshold_m``)."""
    trusted = np.isin(result.status, trusted_statuses())
    raw = np.where(trusted, assignment.height_above_substrate_m, np.nan)
    h = assignment.surface_height_m
    cell = assignment.cell_id
    foot = np.isfinite(h) & (h > threshold_m)
    has_curves = np.array([np.any(cell == k) for k in ids])
    n_foot = np.array([np.count_nonzero(foot & (cell == k)) for k in ids])
    volume = np.array([h[foot & (cell == k)].sum() for k in ids]) * pixel_area_m2
    return {
        "height_max_m": _per_cell(ids, cell, np.isfinite(raw), raw, np.max),
        "height_mean_m": _per_cell(ids, cell, foot, h, np.mean),
        "volume_m3": np.where(has_curves, volume, np.nan),
        "area_m2": np.where(has_curves, n_foot * pixel_area_m2, np.nan),
    }


def _fluorescence_columns(force_map, segmentation, registration, ids) -> dict[str, np.ndarray]:
    """Area, centroid (fluorescence px and AFM stage m) and the edge-cell flag."""
    labels = segmentation.cell_labels
    rr, cc = np.nonzero(labels)
    lab = labels[rr, cc]
    count = np.bincount(lab, minlength=ids.max(initial=0) + 1)[ids]
    crow = np.bincount(lab, rr)[ids] / count
    ccol = np.bincount(lab, cc)[ids] / count
    to_grid = np.linalg.inv(registration.afm_px_to_fluorescence_px)
    grow, gcol = apply_affine(to_grid, rr, cc)
    rows, cols = force_map.grid.shape
    off_map = (np.abs(grow - (rows - 1) / 2) > rows / 2) | (
        np.abs(gcol - (cols - 1) / 2) > cols / 2
    )
    beyond = np.bincount(lab, off_map, minlength=ids.max(initial=0) + 1)[ids] > 0
    x, y = apply_affine(grid_px_to_m(force_map.grid) @ to_grid, crow, ccol)
    return {
        "fluorescence_area_m2": count * np.prod(segmentation.pixel_size_m),
        "centroid_row_px": crow,
        "centroid_col_px": ccol,
        "centroid_x_m": x,
        "centroid_y_m": y,
        "edge_cell": segmentation.touches_border | beyond,
    }


def _intensity_columns(stack, segmentation, ids, margin_m) -> dict[str, np.ndarray]:
    """Background-subtracted mean and integrated sum projection per cell and channel."""
    labels = segmentation.cell_labels
    dist = outline_distance_m(labels, segmentation.pixel_size_m)
    background = (labels == 0) & (dist >= margin_m)
    if not background.any():
        background = labels == 0
    rr, cc = np.nonzero(labels)
    lab = labels[rr, cc]
    count = np.bincount(lab, minlength=ids.max(initial=0) + 1)[ids]
    out: dict[str, np.ndarray] = {}
    taken: set[str] = set()
    for c, name in enumerate(stack.channel_names):
        proj = np.zeros(labels.shape)
        for z in range(stack.shape[1]):
            proj += np.asarray(stack.data[c, z], dtype=np.float64)
        level = float(np.median(proj[background])) if background.any() else 0.0
        total = np.bincount(lab, proj[rr, cc] - level, minlength=ids.max(initial=0) + 1)[ids]
        ident = channel_identifier(name, taken)
        taken.add(ident)
        out[f"intensity_mean_{ident}"] = total / count
        out[f"intensity_integrated_{ident}"] = total
    return out


def cell_columns(
    force_map: ForceMap,
    result: FitResult,
    segmentation: Segmentation,
    registration: Registration,
    stack: FluorescenceStack,
    options,
    assignment: CurveAssignment,
    corrected: FitResult | None,
) -> tuple[dict[str, np.ndarray], dict[str, str], list[str]]:
    """Every column of the cell table (issue order), their units and the warnings."""
    ids = segmentation.cell_ids
    pixel_area = abs(np.linalg.det(registration.afm_px_to_fluorescence_px[:2, :2]))
    pixel_area *= float(np.prod(segmentation.pixel_size_m))
    counts = _count_columns(result, assignment, ids)
    columns: dict[str, np.ndarray] = {"cell_id": ids.astype(np.int64), **counts}
    columns |= modulus_columns(result, assignment, ids, "youngs_modulus", options.nucleus_margin_m)
    columns |= _topography_columns(result, assignment, ids, pixel_area, options.footprint_height_m)
    columns |= _fluorescence_columns(force_map, segmentation, registration, ids)
    columns |= _intensity_columns(stack, segmentation, ids, options.background_margin_m)
    n = ids.size
    columns["edge_cell"] = columns.pop("edge_cell")
    columns["registration_accepted"] = np.full(n, registration.accepted)
    columns["registration_error_m"] = np.full(n, registration.error_estimate_m)
    if corrected is not None:
        columns |= modulus_columns(
            corrected, assignment, ids, "youngs_modulus_corrected", options.nucleus_margin_m
        )
    units = {name: column_unit(name) for name in columns}
    return columns, units, _warnings(registration, assignment, ids, counts, options)


def _warnings(registration, assignment, ids, counts, options) -> list[str]:
    out = []
    if not registration.accepted:
        out.append(
            f"registration not accepted ({registration.reason or 'no reason given'}): "
            "curve-to-cell assignment is uncertain; check the overlay"
        )
    if assignment.plane.n_points == 0:
        out.append("no substrate curves for the substrate plane: heights and volumes are NaN")
    few = (counts["n_curves"] > 0) & (counts["n_curves_ok"] < options.min_ok_curves)
    for k, n_ok in zip(ids[few], counts["n_curves_ok"][few], strict=True):
        out.append(f"cell {k}: only {n_ok} ok curve(s) in its statistics")
    return out
