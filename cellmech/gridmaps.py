"""Per-curve values onto the force map's (row, col) grid.

Segmentation checks, registration (the zero-force-height footprint), measurement, the
outputs and the napari plugin all need fit results as images on the AFM grid; this is the one
place that places them.
"""

from __future__ import annotations

import numpy as np

from cellmech.containers import CurveStatus, FitResult, ForceMap

__all__ = ["MAP_QUANTITIES", "fit_maps", "to_grid"]

#: quantities of a fit placed on the grid, with their SI unit
MAP_QUANTITIES: dict[str, str] = {
    "youngs_modulus_pa": "Pa",
    "contact_point_m": "m",
    "baseline_n": "N",
    "zero_force_height_m": "m",
    "indentation_max_m": "m",
    "rms_residual_n": "N",
    "r_squared": "1",
    "status": "CurveStatus code",
}


def to_grid(
    force_map: ForceMap, curve_index: np.ndarray, values: np.ndarray, dtype=np.float64
) -> np.ndarray:
    """Place per-curve ``values`` at their grid cells.

    Parameters
    ----------
    force_map : ForceMap
        Gives each curve's (row, col).
    curve_index : ndarray of int, shape (n,)
        Curve positions in the map.
    values : ndarray, shape (n,)
        One value per curve.

    Returns
    -------
    ndarray, shape (rows, cols)
        NaN where no curve was recorded.
    """
    grid = np.full(force_map.grid.shape, np.nan, dtype=dtype)
    grid[force_map.row[curve_index], force_map.col[curve_index]] = values
    return grid


def fit_maps(force_map: ForceMap, result: FitResult) -> dict[str, np.ndarray]:
    """Every :data:`MAP_QUANTITIES` entry as a (rows, cols) float64 map.

    NaN where no curve was recorded or the fit failed. The modulus map shows ``ok`` curves
    only: a modulus of any other status is not one to report, while contact point and
    zero-force height (e.g. the dish topography) keep whatever the fit gives.
    """
    out = {}
    for name in MAP_QUANTITIES:
        values = getattr(result, name)
        if name == "youngs_modulus_pa":
            values = np.where(result.status == CurveStatus.OK, values, np.nan)
        out[name] = to_grid(force_map, result.curve_index, values)
    return out
