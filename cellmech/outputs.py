"""Atomic writers for the results of a fit: per-curve tables, OME-TIFF maps, run report.

Every file is written to a temporary name in the target folder and moved into place with
``os.replace``, so a reader never sees a half-written file and an interrupted run leaves the
previous outputs intact.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cellmech.containers import FitResult, ForceMap
from cellmech.units import M_PER_UM, PA_PER_KPA

__all__ = [
    "MAP_QUANTITIES",
    "atomic_path",
    "curve_table",
    "file_sha256",
    "quantity_maps",
    "write_curve_tables",
    "write_maps",
    "write_run_json",
]

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
    curve was recorded or the fit failed (status is NaN only where no curve was recorded)."""
    rows, cols = force_map.grid.shape
    maps = np.full((len(MAP_QUANTITIES), rows, cols), np.nan, dtype=np.float32)
    r, c = force_map.row[result.curve_index], force_map.col[result.curve_index]
    for q, name in enumerate(MAP_QUANTITIES):
        maps[q, r, c] = getattr(result, name)
    return maps


def write_maps(out_dir: str | Path, force_map: ForceMap, result: FitResult) -> Path:
    """Write ``maps.ome.tif``: one page (OME channel) per quantity on the (rows, cols) grid.

    The OME metadata carries the grid pitch as PhysicalSizeX (columns, u) and PhysicalSizeY
    (rows, v) in µm, so Fiji and napari display the maps in µm; channel names are the
    quantity names (with their SI unit in the name).
    """
    import tifffile

    path = Path(out_dir) / "maps.ome.tif"
    row_m, col_m = force_map.grid.pixel_size_m
    metadata = {
        "axes": "CYX",
        "PhysicalSizeX": col_m / M_PER_UM,
        "PhysicalSizeXUnit": "µm",
        "PhysicalSizeY": row_m / M_PER_UM,
        "PhysicalSizeYUnit": "µm",
        "Channel": {"Name": list(MAP_QUANTITIES)},
    }
    with atomic_path(path) as tmp:
        tifffile.imwrite(tmp, quantity_maps(force_map, result), ome=True, metadata=metadata)
    return path


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, Mapping):
        return dict(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def write_run_json(out_dir: str | Path, report: Mapping[str, Any]) -> Path:
    """Write ``run.json`` (indented JSON; NumPy values and paths converted) atomically."""
    path = Path(out_dir) / "run.json"
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(report, indent=2, default=_json_default) + "\n", "utf-8")
    return path
