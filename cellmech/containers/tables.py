"""Results of the measurement stage: per-curve cell assignment, the substrate plane and the
per-cell table."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cellmech.containers._base import frozen_array, frozen_mapping, set_field

__all__ = ["COMPARTMENTS", "CellTable", "CurveAssignment", "SubstratePlane"]

#: compartment labels of a curve: on the dish, in a cell (cytoplasm, nucleus, or within the
#: edge distance of the outline), or outside the fluorescence field (nothing known)
COMPARTMENTS = ("substrate", "cytoplasm", "nucleus", "edge", "outside_image")


@dataclass(frozen=True)
class SubstratePlane:
    """The dish plane ``z = offset_m + slope_x * (x - x0) + slope_y * (y - y0)``.

    Parameters
    ----------
    offset_m : float
        Height of the plane at ``(x0, y0)``, in m (frame of the zero-force heights).
    slope_x, slope_y : float
        ``dz/dx`` and ``dz/dy`` (1).
    center_m : (float, float)
        ``(x0, y0)`` in the AFM scanner frame (the curves' recorded x/y), m.
    rms_m : float
        Robust (MAD-based) RMS of the substrate heights about the plane, m.
    n_points : int
        Curves that carried weight in the fit.
    """

    offset_m: float
    slope_x: float
    slope_y: float
    center_m: tuple[float, float]
    rms_m: float
    n_points: int

    def __post_init__(self) -> None:
        for name in ("offset_m", "slope_x", "slope_y", "rms_m"):
            set_field(self, name, float(getattr(self, name)))
        set_field(self, "center_m", tuple(float(v) for v in self.center_m))
        set_field(self, "n_points", int(self.n_points))

    def height_m(self, x_m: np.ndarray, y_m: np.ndarray) -> np.ndarray:
        """Plane height at scanner positions ``(x_m, y_m)`` (arrays of one shape), m."""
        dx = np.asarray(x_m, float) - self.center_m[0]
        dy = np.asarray(y_m, float) - self.center_m[1]
        return self.offset_m + self.slope_x * dx + self.slope_y * dy

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary."""
        return {
            "offset_m": self.offset_m,
            "slope_x": self.slope_x,
            "slope_y": self.slope_y,
            "center_m": list(self.center_m),
            "rms_m": self.rms_m,
            "n_points": self.n_points,
        }


@dataclass(frozen=True)
class CurveAssignment:
    """Where every curve of a force map lies relative to the segmented cells.

    All arrays have shape (n,) and are aligned with ``curve_index``.

    Parameters
    ----------
    curve_index : ndarray of int
        Curve positions in the force map.
    cell_id : ndarray of int32
        Cell under the curve (0 = substrate or outside the fluorescence field).
    compartment : ndarray of str
        One of :data:`COMPARTMENTS`.
    edge_distance_m : ndarray of float
        Distance from the curve to the nearest cell outline, m (inside or outside the cell;
        NaN outside the fluorescence field).
    nucleus_distance_m : ndarray of float
        Distance from the curve to the nearest nucleus outline, m (inf without nuclei).
    fluorescence_row_px, fluorescence_col_px : ndarray of float
        The curve's position in fluorescence pixels ``(row, col)``.
    height_above_substrate_m : ndarray of float
        Zero-force height above the substrate plane, m (NaN where the fit gave no height).
    surface_height_m : ndarray of float
        Tip-deconvolved sample height above the plane under the curve, m, from the trusted
        heights (``ok`` and ``rigid`` curves; see :mod:`cellmech.topography`).
    plane : SubstratePlane
        The fitted dish plane.
    parameters : mapping
        Options used (JSON-ready).
    """

    curve_index: np.ndarray
    cell_id: np.ndarray
    compartment: np.ndarray
    edge_distance_m: np.ndarray
    nucleus_distance_m: np.ndarray
    fluorescence_row_px: np.ndarray
    fluorescence_col_px: np.ndarray
    height_above_substrate_m: np.ndarray
    surface_height_m: np.ndarray
    plane: SubstratePlane
    parameters: Mapping[str, Any] = field(default_factory=dict)

    FLOAT_FIELDS = (
        "edge_distance_m",
        "nucleus_distance_m",
        "fluorescence_row_px",
        "fluorescence_col_px",
        "height_above_substrate_m",
        "surface_height_m",
    )

    def __post_init__(self) -> None:
        idx = frozen_array(self.curve_index, np.int64, "curve_index", 1)
        set_field(self, "curve_index", idx)
        arrays = {"cell_id": frozen_array(self.cell_id, np.int32, "cell_id", 1)}
        arrays["compartment"] = frozen_array(self.compartment, "<U16", "compartment", 1)
        for name in self.FLOAT_FIELDS:
            arrays[name] = frozen_array(getattr(self, name), np.float64, name, 1)
        for name, arr in arrays.items():
            if arr.size != idx.size:
                raise ValueError(f"{name} has {arr.size} entries, curve_index has {idx.size}")
            set_field(self, name, arr)
        unknown = set(np.unique(arrays["compartment"]).tolist()) - set(COMPARTMENTS)
        if unknown:
            raise ValueError(f"unknown compartments {sorted(unknown)}; valid: {COMPARTMENTS}")
        if np.any(arrays["cell_id"] < 0):
            raise ValueError("cell_id must be >= 0")
        set_field(self, "parameters", frozen_mapping(self.parameters))

    @property
    def n_curves(self) -> int:
        """Number of curves."""
        return int(self.curve_index.size)


@dataclass(frozen=True)
class CellTable:
    """One row per cell: read-only columns with their units.

    Parameters
    ----------
    columns : mapping of str to array_like
        Column name -> 1-D array, all of one length; must include ``cell_id``.
    units : mapping of str to str
        Column name -> SI unit ("1" dimensionless, "" for flags and ids, "px", "a.u.").
    warnings : tuple of str
        Things a person should check (registration not accepted, few ok curves ...).
    parameters : mapping
        Options used (JSON-ready).
    """

    columns: Mapping[str, np.ndarray]
    units: Mapping[str, str]
    warnings: tuple[str, ...] = ()
    parameters: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if "cell_id" not in self.columns:
            raise ValueError("a CellTable needs a cell_id column")
        if set(self.units) != set(self.columns):
            missing = sorted(set(self.columns) ^ set(self.units))
            raise ValueError(f"units and columns differ in {missing}")
        cols = {}
        for name, values in self.columns.items():
            arr = np.array(values, copy=True)
            if arr.ndim != 1:
                raise ValueError(f"column {name} must be 1-D, got shape {arr.shape}")
            arr.flags.writeable = False
            cols[str(name)] = arr
        lengths = {arr.size for arr in cols.values()}
        if len(lengths) > 1:
            raise ValueError(f"columns differ in length: {sorted(lengths)}")
        set_field(self, "columns", frozen_mapping(cols))
        set_field(self, "units", frozen_mapping({str(k): str(v) for k, v in self.units.items()}))
        set_field(self, "warnings", tuple(str(w) for w in self.warnings))
        set_field(self, "parameters", frozen_mapping(self.parameters))

    @property
    def n_cells(self) -> int:
        """Number of rows."""
        return int(self.columns["cell_id"].size)

    def to_frame(self):
        """The table as a new pandas DataFrame (SI columns, in column order)."""
        import pandas as pd  # imported on use: the containers stay light to import

        return pd.DataFrame({name: np.array(arr) for name, arr in self.columns.items()})
