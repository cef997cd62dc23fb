"""Atomic writers for the results of a fit: per-curve tables, OME-TIFF maps, run report.

Every file is written to a temporary name in the target folder and moved into place with
``os.replace``, so a reader never sees a half-written file and an interrupted run leaves the
previous outputs intact.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import platform
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cellmech import __version__
from cellmech.containers import CurveStatus, FitResult, ForceMap
from cellmech.units import M_PER_UM, PA_PER_KPA

__all__ = [
    "MAP_QUANTITIES",
    "atomic_path",
    "curve_table",
    "file_sha256",
    "package_versions",
    "quantity_maps",
    "run_report",
    "write_curve_tables",
    "write_fit_outputs",
    "write_maps",
    "write_run_json",
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
)

#: quantities written as map pages, with their SI unit
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


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to ``target``; on success move it onto ``target``.

    The temporary file is removed if the block raises.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_path, 0o666 & ~umask)  # mkstemp creates 0600; give the usual mode
        os.replace(tmp_path, target)
    finally:
        tmp_path.unlink(missing_ok=True)


def file_sha256(path: str | Path, chunk_bytes: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk_bytes):
            digest.update(block)
    return digest.hexdigest()


def curve_table(force_map: ForceMap, result: FitResult) -> pd.DataFrame:
    """One row per fitted curve, SI columns named with their unit.

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
    data["model"] = result.model
    return pd.DataFrame(data)


def _human_columns(table: pd.DataFrame) -> pd.DataFrame:
    """Add ``youngs_modulus_kpa`` and ``zero_force_height_um`` for people reading the CSV."""
    out = table.copy()
    pos = out.columns.get_loc("youngs_modulus_pa") + 1
    out.insert(pos, "youngs_modulus_kpa", out["youngs_modulus_pa"] / PA_PER_KPA)
    pos = out.columns.get_loc("zero_force_height_m") + 1
    out.insert(pos, "zero_force_height_um", out["zero_force_height_m"] / M_PER_UM)
    return out


def write_curve_tables(out_dir: str | Path, table: pd.DataFrame) -> tuple[Path, Path]:
    """Write ``curves.csv`` (with µm/kPa columns added) and ``curves.parquet`` atomically."""
    out_dir = Path(out_dir)
    csv_path, parquet_path = out_dir / "curves.csv", out_dir / "curves.parquet"
    with atomic_path(csv_path) as tmp:
        _human_columns(table).to_csv(tmp, index=False, float_format="%.10g")
    with atomic_path(parquet_path) as tmp:
        table.to_parquet(tmp, index=False)
    return csv_path, parquet_path


def quantity_maps(force_map: ForceMap, result: FitResult) -> np.ndarray:
    """The :data:`MAP_QUANTITIES` on the grid, shape (q, rows, cols), float32, NaN where no
    curve was recorded or the fit failed (status is NaN only where no curve was recorded).

    The modulus map shows ``ok`` curves only: a ``poor_fit`` modulus (the rigid dish, noise)
    is not a modulus to report, while its contact point and zero-force height (the dish
    topography) stay in their maps.
    """
    rows, cols = force_map.grid.shape
    maps = np.full((len(MAP_QUANTITIES), rows, cols), np.nan, dtype=np.float32)
    r, c = force_map.row[result.curve_index], force_map.col[result.curve_index]
    for q, name in enumerate(MAP_QUANTITIES):
        values = getattr(result, name)
        if name == "youngs_modulus_pa":
            values = np.where(result.status == CurveStatus.OK, values, np.nan)
        maps[q, r, c] = values
    return maps


def write_maps(out_dir: str | Path, force_map: ForceMap, result: FitResult) -> Path:
    """Write ``maps.ome.tif``: one page (OME channel) per quantity on the (rows, cols) grid.

    The OME metadata carries the grid pitch as PhysicalSizeX (columns, u) and PhysicalSizeY
    (rows, v) in µm, so Fiji and napari display the maps in µm (left out for a single curve,
    whose grid has no extent); channel names are the quantity names (with their SI unit in
    the name). Pixels are the grid cells in (row, col) order, not rotated by the grid angle.
    """
    import tifffile

    path = Path(out_dir) / "maps.ome.tif"
    metadata: dict[str, Any] = {"axes": "CYX", "Channel": {"Name": list(MAP_QUANTITIES)}}
    for axis, size_m in zip("YX", force_map.grid.pixel_size_m, strict=True):
        if size_m > 0:  # OME wants a positive size; a single curve (0 m grid) has none
            metadata[f"PhysicalSize{axis}"] = size_m / M_PER_UM
            metadata[f"PhysicalSize{axis}Unit"] = "µm"
    with atomic_path(path) as tmp:
        tifffile.imwrite(tmp, quantity_maps(force_map, result), ome=True, metadata=metadata)
    return path


def _plain(obj: Any) -> Any:
    """JSON-ready copy: NumPy values to Python, paths to str, non-finite floats to strings."""
    if isinstance(obj, Mapping):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | np.ndarray):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return str(obj)  # "inf", "-inf", "nan": strict JSON has no such numbers
    if isinstance(obj, Path):
        return str(obj)
    return obj


def write_run_json(out_dir: str | Path, report: Mapping[str, Any]) -> Path:
    """Write ``run.json`` (indented, strict JSON) atomically."""
    path = Path(out_dir) / "run.json"
    text = json.dumps(_plain(report), indent=2, allow_nan=False)
    with atomic_path(path) as tmp:
        tmp.write_text(text + "\n", "utf-8")
    return path


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
    labels, counts = np.unique(result.status_labels, return_counts=True)
    status_counts = {s.label: 0 for s in CurveStatus} | dict(zip(labels, counts, strict=True))
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
        "status_counts": status_counts,
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
    paths = [*write_curve_tables(out_dir, curve_table(force_map, result))]
    paths.append(write_maps(out_dir, force_map, result))
    timing = {**report.get("timing_s", {}), "write": time.perf_counter() - t0}
    outputs = [p.name for p in paths] + ["run.json"]
    paths.append(write_run_json(out_dir, {**report, "timing_s": timing, "outputs": outputs}))
    return paths
