"""The layers of a :class:`cellmech.pipeline.SampleResult` (pure: no napari, no Qt).

World frame: the fluorescence stage frame in µm. The fluorescence channels and the label
images are placed by the segmentation's pixel size and stage origin
(:func:`~napari_cellmech._layers.pixel_to_world`); the AFM layers (E map, zero-force height,
footprint outline) by the grid's pixel -> scanner m affine composed with the registration's
``afm_m_to_fluorescence_m`` (:func:`~napari_cellmech._layers.afm_to_world`), so both land on
the same stage coordinates. An AFM-only result keeps the AFM scanner frame.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cellmech.alignment.footprint import height_above_substrate
from cellmech.containers import FitResult, ForceMap
from cellmech.gridmaps import fit_maps, to_grid
from cellmech.transforms import apply_affine, grid_px_to_m, scale_factor
from napari_cellmech import _layers

__all__ = [
    "CELLS_LAYER",
    "CELL_E_LAYER",
    "FOOTPRINT_LAYER",
    "NUCLEI_LAYER",
    "afm_placement",
    "cell_modulus_layer",
    "footprint_layer",
    "footprint_outlines_px",
    "result_layers",
]

CELLS_LAYER = "cells"
CELL_E_LAYER = "Young's modulus on cells log10(E/kPa)"
NUCLEI_LAYER = "nuclei"
FOOTPRINT_LAYER = "AFM footprint (registered)"


def afm_placement(result: Any) -> np.ndarray | None:
    """The registration's AFM m -> fluorescence m (None for an AFM-only result)."""
    reg = result.registration
    return None if reg is None else reg.afm_m_to_fluorescence_m


def footprint_outlines_px(
    force_map: ForceMap, fit: FitResult, options: Any
) -> tuple[list[np.ndarray], np.ndarray]:
    """Outlines of the AFM cell footprint on the AFM grid.

    The footprint is what the registration aligns: zero-force height above a robust substrate
    level (``options.substrate_percentile``) higher than ``options.height_threshold_m``,
    small blobs removed and holes filled (:func:`cellmech.alignment.footprint.
    height_above_substrate`); outlines are its iso-lines at the threshold (marching squares,
    sub-pixel).

    Parameters
    ----------
    force_map : ForceMap
    fit : FitResult
    options : RegisterOptions
        ``height_threshold_m``, ``substrate_percentile``, ``min_cell_area_m2``.

    Returns
    -------
    outlines : list of ndarray, shape (k, 2)
        Closed paths in AFM pixel ``(row, col)``.
    above : ndarray, shape (rows, cols)
        Height above the substrate in m (0 off the footprint).
    """
    from skimage.measure import find_contours

    heights = to_grid(force_map, fit.curve_index, fit.zero_force_height_m)
    pitch = scale_factor(grid_px_to_m(force_map.grid))
    threshold = options.height_threshold_m
    above, _ = height_above_substrate(
        heights, threshold, options.substrate_percentile, options.min_cell_area_m2 / pitch**2
    )
    padded = np.pad(above, 1)  # closes outlines that touch the map edge
    outlines = [c - 1.0 for c in find_contours(padded, threshold)]
    return outlines, above


def footprint_layer(
    force_map: ForceMap,
    fit: FitResult,
    options: Any,
    afm_m_to_world_m: np.ndarray | None = None,
) -> _layers.LayerData:
    """A Shapes layer of the AFM footprint outlines in world µm (through the registration).

    The shapes hold world coordinates (no layer transform), so they stay where the
    registration put them whatever the grid's rotation.
    """
    outlines, _ = footprint_outlines_px(force_map, fit, options)
    to_world = _layers.afm_to_world(force_map.grid, afm_m_to_world_m)
    paths = [np.column_stack(apply_affine(to_world, c[:, 0], c[:, 1])) for c in outlines]
    kwargs = {
        "name": FOOTPRINT_LAYER,
        "shape_type": "path",
        "edge_color": "white",
        "edge_width": 0.5,
        "face_color": "transparent",
        "ndim": 2,
        "units": _layers.WORLD_UNITS,
        "metadata": {"cellmech": {"kind": "footprint", "threshold_m": options.height_threshold_m}},
    }
    return (paths, kwargs, "shapes")


def cell_modulus_layer(result: Any, afm_m_to_world_m: np.ndarray | None) -> _layers.LayerData:
    """The E map of the curves on cells (``assignment.cell_id > 0``; NaN elsewhere).

    Over the dish the fit reports the stiffness of a rigid substrate (kPa to GPa, noise), which
    is not a modulus of the sample; leaving it out shows the fluorescence between the cells
    and gives the colour scale (2nd-98th percentile) to the cells.
    """
    fm, a = result.force_map, result.assignment
    on_cells = to_grid(fm, a.curve_index, a.cell_id.astype(float)) > 0
    e = fit_maps(fm, result.fit)["youngs_modulus_pa"]
    return _layers.modulus_layer(
        fm, np.where(on_cells, e, np.nan), afm_m_to_world_m=afm_m_to_world_m, name=CELL_E_LAYER
    )


def result_layers(result: Any) -> list[_layers.LayerData]:
    """Every layer of a run, bottom to top.

    Full pipeline: fluorescence channels, zero-force height and E map of every curve (hidden),
    the E map on cells (:func:`cell_modulus_layer`), all registered, the registered footprint
    outline, nucleus and cell labels (outlines; the per-cell table as the cells' ``features``).
    AFM-only: the zero-force height and the E map in the scanner frame.
    """
    afm_m = afm_placement(result)
    seg = result.segmentation
    if seg is None:
        return _layers.fit_layers(result.force_map, result.fit)
    where = (seg.pixel_size_m, seg.origin_m)
    out = _layers.fluorescence_layers(result.stack, *where)
    for data, kwargs, kind in _layers.fit_layers(result.force_map, result.fit, afm_m):
        out.append((data, kwargs | {"visible": False}, kind))  # they would hide the image
    out.append(cell_modulus_layer(result, afm_m))
    register_options = result.settings.register
    out.append(footprint_layer(result.force_map, result.fit, register_options, afm_m))
    cells = None if result.cells is None else result.cells.to_frame()
    out.append(_layers.labels_layer(seg.nucleus_labels, *where, name=NUCLEI_LAYER))
    out.append(_layers.labels_layer(seg.cell_labels, *where, name=CELLS_LAYER, features=cells))
    return out
