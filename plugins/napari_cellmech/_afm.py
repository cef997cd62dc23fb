"""The quick look at an AFM map: the height where each approach ended (at the setpoint).

Showing a map must not wait for a fit, so the reader shows the height of the last approach
point of every curve: with a force setpoint, it is the height of the sample surface indented
to the setpoint force (close to the zero-force topography on stiff regions, lower by the
indentation on soft ones). Only the approach segment's height channel is used, loaded in
blocks through :meth:`ForceMap.curves` (the fast JPK reader inflates the requested channels
only).
"""

from __future__ import annotations

import numpy as np

from cellmech.containers import ForceMap
from cellmech.gridmaps import to_grid

__all__ = ["approach_end_height"]

#: curves per load: bounds memory on big QI maps (4096 curves of 2 x 1000 points ~ 130 MB)
BLOCK_CURVES = 4096


def approach_end_height(force_map: ForceMap, block_curves: int = BLOCK_CURVES) -> np.ndarray:
    """Height at the last approach point of every curve, on the grid.

    Parameters
    ----------
    force_map : ForceMap
        The map; the sensor-measured height is used when every curve records one, else the
        piezo height.
    block_curves : int
        Curves loaded at once.

    Returns
    -------
    ndarray, shape (rows, cols)
        Heights in m, NaN where no curve was recorded or the approach is empty.
    """
    measured = force_map.has_measured_height
    fields = ("measured_height_m",) if measured else ("height_m",)
    values = np.full(force_map.n_curves, np.nan)
    for start in range(0, force_map.n_curves, block_curves):
        idx = np.arange(start, min(start + block_curves, force_map.n_curves))
        seg = force_map.curves(idx, fields=fields).approach
        height = seg.measured_height_m if measured else seg.height_m
        last = seg.n_points - 1
        has = last >= 0
        values[idx[has]] = height[np.flatnonzero(has), last[has]]
    return to_grid(force_map, np.arange(force_map.n_curves), values)
