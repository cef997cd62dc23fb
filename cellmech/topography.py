"""Tip deconvolution of the zero-force topography on the AFM grid.

An AFM records the apex height where the tip first touches the sample: the surface dilated by
the tip shape, so slopes steeper than the tip flank come out too wide and too high (cell edges
by ~1 µm in height for a 2.5 µm sphere). The best estimate of the surface that the recorded
heights allow is their grey-scale erosion by the tip, ``s(p) = min_q [z(q) + t(|q - p|)]``
with ``t`` the height of the tip surface above its apex (Villarrubia, J. Res. Natl. Inst.
Stand. Technol. 102, 425 (1997), eq. 13). The grid is usually coarser than the tip, so the
heights are first interpolated bilinearly onto a grid ``FINE`` times finer (pitch at most a
quarter of the tip radius) and the erosion runs there; the result is read back at the grid
points.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from scipy import ndimage

from cellmech.containers import ForceMap

__all__ = ["tip_deconvolve", "tip_height_m"]

#: reach (m) of a conical tip's structuring element: beyond, its flank is far above any cell
_CONE_REACH_M = 5e-6
#: limits of the upsampling factor of the grid
_FINE_MIN, _FINE_MAX = 4, 16


def tip_height_m(geometry: Mapping[str, float], r_m: np.ndarray) -> tuple[np.ndarray, float]:
    """Height of the tip surface above its apex at lateral distances ``r_m``, and its reach.

    A sphere (``tip_radius_m``) or a cone (``half_angle_deg``; pyramids as the cone of their
    half angle); inf beyond the reach. An unknown geometry gives inf everywhere and reach 0
    (no deconvolution).
    """
    r = np.asarray(r_m, float)
    if "tip_radius_m" in geometry:
        radius = float(geometry["tip_radius_m"])
        cap = radius - np.sqrt(np.clip(radius**2 - r**2, 0, None))
        return np.where(r <= radius, cap, np.inf), radius
    if "half_angle_deg" in geometry:
        cot = 1.0 / np.tan(np.radians(float(geometry["half_angle_deg"])))
        return np.where(r <= _CONE_REACH_M, r * cot, np.inf), _CONE_REACH_M
    return np.full(r.shape, np.inf), 0.0


def _fill_nearest(grid: np.ndarray) -> np.ndarray:
    """Replace NaN cells by the nearest finite one (all NaN stays NaN)."""
    missing = np.isnan(grid)
    if not missing.any() or missing.all():
        return grid
    _, (ri, ci) = ndimage.distance_transform_edt(missing, return_indices=True)
    return grid[ri, ci]


def tip_deconvolve(
    force_map: ForceMap,
    curve_index: np.ndarray,
    heights_m: np.ndarray,
    geometry: Mapping[str, float],
) -> np.ndarray:
    """Tip-deconvolved heights at the curves' grid points.

    Parameters
    ----------
    force_map : ForceMap
        Gives the grid and each curve's (row, col).
    curve_index : ndarray of int, shape (n,)
        Curves of ``heights_m``.
    heights_m : ndarray, shape (n,)
        Heights (e.g. above the substrate plane) in m; NaN entries (untrusted or failed
        curves) take the nearest grid neighbour's value before the erosion.
    geometry : mapping
        Tip geometry of the contact model (``tip_radius_m`` or ``half_angle_deg``).

    Returns
    -------
    ndarray, shape (n,)
        Eroded heights (never above the input where it was finite); the input unchanged for
        an unknown tip geometry; NaN where no height at all is known.
    """
    shape = force_map.grid.shape
    pitch = np.asarray(force_map.grid.pixel_size_m, float)
    _, reach = tip_height_m(geometry, np.zeros(1))
    if reach <= 0 or min(shape) < 2 or not np.all(pitch > 0):
        return np.asarray(heights_m, float).copy()
    grid = np.full(shape, np.nan)
    rows, cols = force_map.row[curve_index], force_map.col[curve_index]
    grid[rows, cols] = heights_m
    grid = _fill_nearest(grid)
    fine = int(np.clip(np.ceil(4 * pitch.max() / reach), _FINE_MIN, _FINE_MAX))
    rr, cc = np.meshgrid(
        np.arange((shape[0] - 1) * fine + 1) / fine,
        np.arange((shape[1] - 1) * fine + 1) / fine,
        indexing="ij",
    )
    surface = ndimage.map_coordinates(grid, [rr, cc], order=1, mode="nearest")
    step = pitch / fine
    kr = np.arange(-int(reach // step[0]), int(reach // step[0]) + 1) * step[0]
    kc = np.arange(-int(reach // step[1]), int(reach // step[1]) + 1) * step[1]
    lift, _ = tip_height_m(geometry, np.hypot(*np.meshgrid(kr, kc, indexing="ij")))
    footprint = np.isfinite(lift)
    eroded = ndimage.grey_erosion(
        surface, footprint=footprint, structure=np.where(footprint, -lift, 0.0), mode="nearest"
    )
    return eroded[rows * fine, cols * fine]
