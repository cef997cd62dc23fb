"""Outputs of a map fit: the per-curve tables, the grid maps and ``run.json``."""

from __future__ import annotations

import platform
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np

from cellmech import __version__
from cellmech.containers import FitResult, ForceMap
from cellmech.containers.status import status_counts
from cellmech.gridmaps import MAP_QUANTITIES, fit_maps
from cellmech.outputs.files import (
    file_sha256,
    manifest,
    write_column_pair,
    write_json,
    write_ome_tiff,
)
from cellmech.units import M_PER_UM, PA_PER_KPA

__all__ = [
    "curve_columns",
    "curve_table",
    "human_columns",
    "package_versions",
    "quantity_maps",
    "run_report",
    "write_fit_outputs",
    "write_maps",
]

#: packages whose versions go into run.json
VERSIONED = (
    "cellmech",
    "numpy",
    "scipy",
    "numba",
    "afmformats",
    "dask",
    "distributed",
    "pandas",
    "pyarrow",
    "tifffile",
    "scikit-image",
    "SimpleITK",
)

#: SI column -> (human column, divisor) added to the CSV tables for people
HUMAN_UNITS = {
    "youngs_modulus_pa": ("youngs_modulus_kpa", PA_PER_KPA),
    "zero_force_height_m": ("zero_force_height_um", M_PER_UM),
}


def curve_columns(force_map: ForceMap, result: FitResult) -> dict[str, np.ndarray]:
    """One entry per fitted curve, SI columns named with their unit (name -> values).

    Columns: ``curve_index, row, col, x_m, y_m`` (grid cell and recorded scanner position),
    every :attr:`FitResult.FLOAT_FIELDS` quantity, ``status`` (label), ``status_code`` and
    ``model``.
    """
    idx = result.curve_index
    data: dict[str, Any] = {
        "curve_index": idx,
        "row": force_map.row[idx],
        "col": force_map.col[idx],
        "x_m": force_map.x_m[idx],
        "y_m": force_map.y_m[idx],
    }
    data.update({name: getattr(result, name) for name in FitResult.FLOAT_FIELDS})
    data["status"] = result.status_labels
    data["status_code"] = result.status.astype(np.int8)
    data["model"] = np.full(idx.size, result.model)
    return data


def curve_table(force_map: ForceMap, result: FitResult):
    """:func:`curve_columns` as a pandas DataFrame."""
    import pandas as pd

    return pd.DataFrame(curve_columns(force_map, result))


def with_human_units(
    columns: Mapping[str, Any], units: Mapping[str, tuple[str, float]] = HUMAN_UNITS
) -> dict[str, Any]:
    """``columns`` with a µm/kPa column after each SI column named in ``units``."""
    out = {}
    for name, values in columns.items():
        out[name] = values
        if name in units:
            human, divisor = units[name]
            out[human] = values / divisor
    return out


def human_columns(table, units: Mapping[str, tuple[str, float]] = HUMAN_UNITS):
    """A copy of the DataFrame ``table`` with a µm/kPa column after each SI column named in
    ``units``."""
    import pandas as pd

    return pd.DataFrame(with_human_units({c: table[c] for c in table.columns}, units))


def quantity_maps(force_map: ForceMap, result: FitResult) -> np.ndarray:
    """The :data:`~cellmech.gridmaps.MAP_QUANTITIES` on the grid, shape (q, rows, cols),
    float32 (see :func:`cellmech.gridmaps.fit_maps`)."""
    return np.stack(list(fit_maps(force_map, result).values())).astype(np.float32)


def write_maps(out_dir: str | Path, force_map: ForceMap, result: FitResult) -> Path:
    """Write ``maps.ome.tif``: one page (OME channel) per quantity on the (rows, cols) grid,
    with the grid pitch as physical pixel size. Pixels are the grid cells in (row, col)
    order, not rotated by the grid angle."""
    return write_ome_tiff(
        Path(out_dir) / "maps.ome.tif",
        quantity_maps(force_map, result),
        list(MAP_QUANTITIES),
        force_map.grid.pixel_size_m,
    )


def package_versions() -> dict[str, str]:
    """Versions of Python and of the packages in :data:`VERSIONED` ("absent" if missing)."""
    out = {"python": platform.python_version(), "cellmech": __version__}
    for name in VERSIONED[1:]:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "absent"
    return out


def run_report(
    force_map: ForceMap,
    result: FitResult,
    *,
    settings: Mapping[str, Any],
    timing_s: Mapping[str, float],
    command: Sequence[str] = (),
) -> dict[str, Any]:
    """Everything needed to reproduce and audit a fit run (the content of ``run.json``).

    Parameters
    ----------
    force_map : ForceMap
        The map that was fitted (its file is hashed).
    result : FitResult
        The fit.
    settings : mapping
        All options, ``{section: {key: value}}`` (:meth:`cellmech.config.Settings.to_dict`).
    timing_s : mapping
        Wall-clock durations in s ("read", "fit", ...).
    command : sequence of str
        The command line, if run from it.
    """
    grid = force_map.grid
    return {
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": list(command),
        "input": {
            "path": str(force_map.path.resolve()),
            "sha256": file_sha256(force_map.path),
            "size_bytes": force_map.path.stat().st_size,
            "kind": force_map.kind,
            "n_curves": force_map.n_curves,
            "grid_shape": grid.shape,
            "grid_size_m": grid.size_m,
            "pixel_size_m": grid.pixel_size_m,
            "spring_constant_n_per_m": force_map.spring_constant_n_per_m,
            "sensitivity_m_per_v": force_map.sensitivity_m_per_v,
        },
        "parameters": settings,
        "fit_parameters": result.parameters,
        "model": result.model,
        "status_counts": status_counts(result.status),
        "timing_s": dict(timing_s),
        "versions": package_versions(),
    }


def write_fit_outputs(
    out_dir: str | Path, force_map: ForceMap, result: FitResult, report: Mapping[str, Any]
) -> list[Path]:
    """Write ``curves.csv``, ``curves.parquet``, ``maps.ome.tif`` and, last, ``run.json``.

    ``report`` (see :func:`run_report`) gets the list of outputs and the time spent writing
    the others (``timing_s["write"]``) added.
    """
    out_dir = Path(out_dir)
    t0 = time.perf_counter()
    columns = curve_columns(force_map, result)
    paths = [*write_column_pair(out_dir, "curves", columns, with_human_units(columns))]
    paths.append(write_maps(out_dir, force_map, result))
    timing = {**report.get("timing_s", {}), "write": time.perf_counter() - t0}
    outputs = [p.name for p in paths] + ["run.json"]
    report = {**report, "timing_s": timing, "outputs": outputs, "sha256": manifest(paths)}
    paths.append(write_json(out_dir / "run.json", report))
    return paths
