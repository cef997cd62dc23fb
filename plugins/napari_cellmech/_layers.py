"""Pure converters from cellmech containers and outputs to napari layer data.

No napari import: every function returns plain ``(data, kwargs, layer_type)`` tuples (napari's
``LayerDataTuple``), so they are tested without a viewer.

World frame
-----------
napari's world axes are ``(y, x)`` in µm (``units=('um', 'um')``), i.e. the fluorescence stage
frame when a fluorescence stack is shown, else the AFM scanner frame. Layers keep their native
pixels; a layer's placement is its pixel ``(row, col)`` -> world ``(y, x)`` affine, written as
``scale``/``translate`` (pixel centres: index 0 sits at ``translate``) when the grid is axis
aligned and as ``affine`` when it is rotated or reflected (see :func:`placement`).

Young's modulus colour scale
----------------------------
napari has no logarithmic colormap, so the modulus layer holds ``log10(E / 1 kPa)``
(:func:`log_modulus_kpa`) with contrast limits in the same unit and napari's colour bar shown;
:func:`modulus_legend` turns the limits back into kPa for the dock widget's legend.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from cellmech.containers import FitResult, ForceMap, GridGeometry
from cellmech.gridmaps import fit_maps
from cellmech.transforms import grid_px_to_m
from cellmech.units import M_PER_UM, PA_PER_KPA

__all__ = [
    "MODULUS_CLIP_LOG_KPA",
    "WORLD_UNITS",
    "afm_to_world",
    "curve_index_grid",
    "fit_layers",
    "fluorescence_layers",
    "height_layer",
    "labels_layer",
    "log_modulus_kpa",
    "modulus_contrast_limits",
    "modulus_layer",
    "modulus_legend",
    "pixel_to_world",
    "placement",
]

LayerData = tuple[Any, dict[str, Any], str]

#: world axis units of every layer
WORLD_UNITS = ("um", "um")
#: (row, col) <-> (x, y) swap, in homogeneous coordinates
_SWAP = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
#: metres -> micrometres, homogeneous
_TO_UM = np.diag([1 / M_PER_UM, 1 / M_PER_UM, 1.0])
#: the automatic colour scale of the modulus stays within 10 Pa .. 10 MPa (log10 kPa), so an
#: effectively rigid dish (GPa) saturates the top colour instead of squeezing the cells
MODULUS_CLIP_LOG_KPA = (-2.0, 4.0)


def afm_to_world(grid: GridGeometry, afm_m_to_world_m: np.ndarray | None = None) -> np.ndarray:
    """AFM grid pixel ``(row, col, 1)`` -> world ``(y, x, 1)`` in µm.

    Parameters
    ----------
    grid : GridGeometry
        The map's grid (centre, size, rotation, reflection).
    afm_m_to_world_m : ndarray, shape (3, 3), optional
        AFM scanner ``(x, y, 1)`` m -> world ``(x, y, 1)`` m, e.g. a registration's
        ``afm_m_to_fluorescence_m``; None keeps the scanner frame.
    """
    metric = grid_px_to_m(grid)
    if afm_m_to_world_m is not None:
        metric = np.asarray(afm_m_to_world_m, float) @ metric
    return _SWAP @ _TO_UM @ metric


def pixel_to_world(pixel_size_m: Sequence[float], origin_m: Sequence[float]) -> np.ndarray:
    """Image pixel ``(row, col, 1)`` -> world ``(y, x, 1)`` in µm.

    ``pixel_size_m`` is ``(row, col)`` = ``(y, x)``; ``origin_m`` the stage ``(x, y)`` of the
    centre of pixel (0, 0), both in m.
    """
    py, px = (float(v) / M_PER_UM for v in pixel_size_m)
    x0, y0 = (float(v) / M_PER_UM for v in origin_m)
    return np.array([[py, 0.0, y0], [0.0, px, x0], [0.0, 0.0, 1.0]])


def placement(matrix: np.ndarray) -> dict[str, Any]:
    """napari keyword arguments placing a 2-D layer by its pixel -> world affine.

    Axis-aligned matrices with positive diagonal become ``scale`` and ``translate`` (pixel
    centres at ``translate + index * scale``; a degenerate matrix, the 0 m grid of a single
    curve, gets a 1 µm pixel at its position); anything else (a rotated or reflected grid, a
    registration) is passed whole as ``affine``. ``units`` is always ``('um', 'um')``.
    """
    m = np.asarray(matrix, float)
    linear = m[:2, :2]
    if not np.abs(np.linalg.det(linear)) > 0:  # a single curve: a 0 m grid, shown 1 µm wide
        return {"scale": (1.0, 1.0), "translate": tuple(m[:2, 2]), "units": WORLD_UNITS}
    tol = 1e-9 * np.abs(linear).max()
    if abs(linear[0, 1]) <= tol and abs(linear[1, 0]) <= tol and np.all(np.diag(linear) > 0):
        return {
            "scale": tuple(np.diag(linear)),
            "translate": tuple(m[:2, 2]),
            "units": WORLD_UNITS,
        }
    return {"affine": m, "units": WORLD_UNITS}


def log_modulus_kpa(youngs_modulus_pa: np.ndarray) -> np.ndarray:
    """``log10(E / 1 kPa)`` as float32; NaN where E is NaN or not positive."""
    e = np.asarray(youngs_modulus_pa, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(e > 0, np.log10(e / PA_PER_KPA), np.nan)
    return out.astype(np.float32)


def modulus_contrast_limits(log_kpa: np.ndarray) -> tuple[float, float]:
    """2nd-98th percentile of the finite ``log10(E/kPa)`` values, clipped to
    :data:`MODULUS_CLIP_LOG_KPA` and widened to at least 0.1 decade."""
    finite = np.asarray(log_kpa, float)[np.isfinite(log_kpa)]
    lo_clip, hi_clip = MODULUS_CLIP_LOG_KPA
    if finite.size == 0:
        return (0.0, 1.0)
    lo, hi = np.clip(np.percentile(finite, [2, 98]), lo_clip, hi_clip)
    if hi - lo < 0.1:
        lo, hi = lo - 0.05, hi + 0.05
    return (float(lo), float(hi))


def modulus_legend(contrast_limits: Sequence[float]) -> str:
    """The colour scale of a ``log10(E/kPa)`` layer in kPa, e.g. ``"0.3 kPa – 20 kPa (log)"``."""
    lo, hi = (10.0 ** float(v) for v in contrast_limits)
    return f"E: {lo:.3g} kPa (dark) – {hi:.3g} kPa (bright), log scale"


def curve_index_grid(force_map: ForceMap) -> np.ndarray:
    """Curve index of every grid cell, shape (rows, cols), -1 where no curve was recorded."""
    grid = np.full(force_map.grid.shape, -1, dtype=np.int64)
    grid[force_map.row, force_map.col] = np.arange(force_map.n_curves)
    return grid


def _afm_meta(force_map: ForceMap, kind: str) -> dict[str, Any]:
    return {
        "cellmech": {
            "kind": kind,
            "afm_path": str(force_map.path),
            "curve_index": curve_index_grid(force_map),
        }
    }


def height_layer(
    force_map: ForceMap,
    height_m: np.ndarray,
    *,
    name: str,
    afm_m_to_world_m: np.ndarray | None = None,
    kind: str = "height",
) -> LayerData:
    """An image layer of a height map in µm on the AFM grid.

    Parameters
    ----------
    force_map : ForceMap
        Gives the grid placement and the curve index of every pixel (layer ``metadata``,
        used by the curve inspector).
    height_m : ndarray, shape (rows, cols)
        Heights in m (NaN where no curve).
    name : str
        Layer name.
    afm_m_to_world_m : ndarray, shape (3, 3), optional
        Registration of the AFM frame onto the world frame (see :func:`afm_to_world`).
    kind : str
        ``metadata["cellmech"]["kind"]``.
    """
    data = (np.asarray(height_m, float) / M_PER_UM).astype(np.float32)
    finite = data[np.isfinite(data)]
    limits = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    if limits[1] <= limits[0]:
        limits = (limits[0] - 0.5, limits[0] + 0.5)
    kwargs = {
        "name": name,
        "colormap": "gray",
        "contrast_limits": limits,
        "metadata": _afm_meta(force_map, kind) | {"unit": "um"},
        **placement(afm_to_world(force_map.grid, afm_m_to_world_m)),
    }
    return (data, kwargs, "image")


def modulus_layer(
    force_map: ForceMap,
    youngs_modulus_pa: np.ndarray,
    *,
    afm_m_to_world_m: np.ndarray | None = None,
    name: str = "Young's modulus log10(E/kPa)",
) -> LayerData:
    """The Young's modulus map as ``log10(E / 1 kPa)`` (see the module docstring).

    ``youngs_modulus_pa`` has shape (rows, cols), NaN where no reportable fit; the layer
    ``metadata`` holds the legend in kPa under ``"legend"``.
    """
    data = log_modulus_kpa(youngs_modulus_pa)
    limits = modulus_contrast_limits(data)
    meta = _afm_meta(force_map, "youngs_modulus") | {
        "unit": "log10 kPa",
        "legend": modulus_legend(limits),
    }
    kwargs = {
        "name": name,
        "colormap": "viridis",
        "contrast_limits": limits,
        "opacity": 0.7,  # the fluorescence under it stays visible
        "metadata": meta,
        **placement(afm_to_world(force_map.grid, afm_m_to_world_m)),
    }
    return (data, kwargs, "image")


def fit_layers(
    force_map: ForceMap, result: FitResult, afm_m_to_world_m: np.ndarray | None = None
) -> list[LayerData]:
    """The zero-force height (µm) and Young's modulus layers of a fit, on the AFM grid."""
    maps = fit_maps(force_map, result)
    return [
        height_layer(
            force_map,
            maps["zero_force_height_m"],
            name="zero-force height (µm)",
            afm_m_to_world_m=afm_m_to_world_m,
            kind="zero_force_height",
        ),
        modulus_layer(force_map, maps["youngs_modulus_pa"], afm_m_to_world_m=afm_m_to_world_m),
    ]


def fluorescence_layers(
    stack: Any,
    pixel_size_m: Sequence[float] | None = None,
    origin_m: Sequence[float] | None = None,
) -> list[LayerData]:
    """One image layer per channel of a :class:`~cellmech.containers.FluorescenceStack`.

    The data keep their (Z, Y, X) pixels (loaded into memory); the z axis is placed at the
    plane step in µm, y/x at ``origin_m``, the stage ``(x, y)`` of pixel (0, 0) (default: the
    stack's stage position, 0 when unrecorded), with ``pixel_size_m`` ``(y, x)`` (default:
    the stack's). A run passes its segmentation's, so channels and labels share one frame.
    """
    data = np.asarray(stack.data)
    origin = origin_m if origin_m is not None else (stack.stage_position_m or (0.0, 0.0))
    plane = pixel_to_world(pixel_size_m or stack.pixel_size_m, origin)
    z_um = stack.z_step_m / M_PER_UM if np.isfinite(stack.z_step_m) else 1.0
    colormaps = ("green", "magenta", "cyan", "yellow", "red", "blue")
    layers = []
    for c, channel in enumerate(stack.channel_names):
        kwargs = {
            "name": channel,
            "colormap": colormaps[c % len(colormaps)],
            "blending": "additive",
            "scale": (z_um, plane[0, 0], plane[1, 1]),
            "translate": (0.0, plane[0, 2], plane[1, 2]),
            "units": ("um", *WORLD_UNITS),
            "metadata": {"cellmech": {"kind": "fluorescence", "path": str(stack.source)}},
        }
        layers.append((data[c], kwargs, "image"))
    return layers


def labels_layer(
    labels: np.ndarray,
    pixel_size_m: Sequence[float],
    origin_m: Sequence[float] = (0.0, 0.0),
    *,
    name: str,
    features: Any = None,
    id_column: str = "cell_id",
) -> LayerData:
    """A Labels layer on a fluorescence pixel grid.

    Parameters
    ----------
    labels : ndarray of int, shape (Y, X)
        0 = background.
    pixel_size_m, origin_m
        Pixel pitch ``(y, x)`` and stage ``(x, y)`` of pixel (0, 0), in m.
    name : str
        Layer name.
    features : pandas.DataFrame, optional
        One row per label, with the label value in ``id_column``; becomes the layer's
        ``features`` (napari looks labels up through its ``index`` column).
    """
    kwargs: dict[str, Any] = {
        "name": name,
        "opacity": 0.7,
        # drawn as outlines this many pixels wide (napari's Labels.contour, set after creation)
        "metadata": {"cellmech": {"kind": "labels", "contour": 2}},
        **placement(pixel_to_world(pixel_size_m, origin_m)),
    }
    if features is not None and id_column in features:
        kwargs["features"] = features.assign(index=features[id_column].to_numpy())
    return (np.asarray(labels).astype(np.int32, copy=False), kwargs, "labels")


def output_maps_layers(
    planes: np.ndarray,
    names: Sequence[str],
    pixel_to_world_um: np.ndarray,
    meta: Mapping[str, Any],
) -> list[LayerData]:
    """Layers of a ``maps.ome.tif`` (one plane per quantity, SI units as written).

    Heights/lengths are shown in µm and the modulus as ``log10(E/kPa)``; other planes as
    written. ``pixel_to_world_um`` places the (rows, cols) grid.
    """
    layers = []
    where = placement(pixel_to_world_um)
    for plane, name in zip(planes, names, strict=True):
        data = np.asarray(plane, float)
        kwargs: dict[str, Any] = {"name": name, "metadata": {"cellmech": dict(meta)}, **where}
        if name == "youngs_modulus_pa":
            data = log_modulus_kpa(data)
            limits = modulus_contrast_limits(data)
            kwargs |= {
                "name": "Young's modulus log10(E/kPa)",
                "colormap": "viridis",
                "contrast_limits": limits,
            }
            kwargs["metadata"]["legend"] = modulus_legend(limits)
        elif name.endswith("_m"):
            data = data / M_PER_UM
            kwargs["name"] = f"{name[:-2]} (µm)"
        kwargs["visible"] = name in ("youngs_modulus_pa", "zero_force_height_m")
        layers.append((data.astype(np.float32), kwargs, "image"))
    return layers
