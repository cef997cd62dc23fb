"""Atomic file writing: every file appears complete or not at all.

A file is written to a temporary name in its target folder and moved into place with
``os.replace``; a failure removes the temporary file and leaves any previous file intact.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import math
import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from cellmech.units import M_PER_UM

__all__ = [
    "atomic_path",
    "file_sha256",
    "json_ready",
    "manifest",
    "write_column_pair",
    "write_json",
    "write_ome_tiff",
    "write_table_pair",
]


def _process_umask() -> int:
    """The process umask, read without changing it (``/proc/self/status`` on Linux)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o022


#: mode of written files (what ``open`` would give): 0o666 less the umask at import
FILE_MODE = 0o666 & ~_process_umask()


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to ``target``; on success move it onto ``target``.

    The temporary file is removed if the block raises. The process umask is never touched
    (it is read once, at import, from ``/proc``), so concurrent writers in threads are safe.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, FILE_MODE)  # mkstemp creates 0600; give the usual mode
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


def manifest(paths: Sequence[str | Path], root: str | Path | None = None) -> dict[str, str]:
    """``{relative name: sha256}`` of written files (run.json lists the set it describes)."""
    base = Path(root) if root is not None else None
    return {
        (str(Path(p).relative_to(base)) if base else Path(p).name): file_sha256(p) for p in paths
    }


def json_ready(obj: Any) -> Any:
    """JSON-ready copy: NumPy values to Python, paths to str, non-finite floats to strings."""
    if isinstance(obj, Mapping):
        return {str(k): json_ready(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | np.ndarray):
        return [json_ready(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return str(obj)  # "inf", "-inf", "nan": strict JSON has no such numbers
    if isinstance(obj, Path):
        return str(obj)
    return obj


def write_json(path: str | Path, content: Mapping[str, Any]) -> Path:
    """Write ``content`` as indented strict JSON, atomically."""
    path = Path(path)
    text = json.dumps(json_ready(content), indent=2, allow_nan=False)
    with atomic_path(path) as tmp:
        tmp.write_text(text + "\n", "utf-8")
    return path


def write_table_pair(out_dir: str | Path, stem: str, table, human_table=None) -> tuple[Path, Path]:
    """Write ``<stem>.csv`` (``human_table`` when given: µm/kPa columns added for people)
    and ``<stem>.parquet`` (SI columns only), atomically."""
    out_dir = Path(out_dir)
    csv_path, parquet_path = out_dir / f"{stem}.csv", out_dir / f"{stem}.parquet"
    with atomic_path(csv_path) as tmp:
        (table if human_table is None else human_table).to_csv(
            tmp, index=False, float_format="%.10g"
        )
    with atomic_path(parquet_path) as tmp:
        table.to_parquet(tmp, index=False)
    return csv_path, parquet_path


def write_column_pair(
    out_dir: str | Path,
    stem: str,
    columns: Mapping[str, np.ndarray],
    human_columns: Mapping[str, np.ndarray] | None = None,
) -> tuple[Path, Path]:
    """:func:`write_table_pair` for a table given as ``{name: 1-D array}``, without pandas
    (what a fit run writes: importing pandas would cost more than writing the table).

    The CSV reads as pandas writes it: floats as ``%.10g``, NaN as an empty field, other values
    as ``str``; the Parquet file holds the arrays' own types.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    out_dir = Path(out_dir)
    csv_path, parquet_path = out_dir / f"{stem}.csv", out_dir / f"{stem}.parquet"
    shown = columns if human_columns is None else human_columns
    with atomic_path(csv_path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(shown)
        writer.writerows(zip(*(_csv_cells(np.asarray(v)) for v in shown.values()), strict=True))
    table = pa.Table.from_arrays([_arrow(np.asarray(v)) for v in columns.values()], list(columns))
    with atomic_path(parquet_path) as tmp:
        pq.write_table(table, tmp)
    return csv_path, parquet_path


def _arrow(values: np.ndarray):
    """A 1-D numeric or string array as an Arrow array, built from its buffers (``pa.array``
    would import pandas to check for pandas types)."""
    import pyarrow as pa

    if values.dtype.kind in "iuf":
        data = np.ascontiguousarray(values)
        buffers = [None, pa.py_buffer(data)]
        return pa.Array.from_buffers(pa.from_numpy_dtype(data.dtype), data.size, buffers)
    if values.dtype.kind not in "UO":
        raise TypeError(f"no Parquet column for dtype {values.dtype}")
    encoded = [str(v).encode() for v in values.tolist()]
    offsets = np.cumsum([0] + [len(b) for b in encoded], dtype=np.int32)
    buffers = [None, pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded))]
    return pa.Array.from_buffers(pa.string(), len(encoded), buffers)


def _csv_cells(values: np.ndarray) -> list[str]:
    """CSV fields of one column, as pandas' ``to_csv(float_format="%.10g")`` writes them."""
    if values.dtype.kind == "f":
        return ["" if v != v else "%.10g" % v for v in values.tolist()]  # noqa: UP031
    return [str(v) for v in values.tolist()]


def write_ome_tiff(
    path: str | Path,
    planes: np.ndarray,
    channel_names: Sequence[str],
    pixel_size_m: Sequence[float],
) -> Path:
    """Write ``planes`` (C, Y, X) as an OME-TIFF with channel names and physical pixel size.

    Parameters
    ----------
    path : path-like
        Target file.
    planes : ndarray, shape (C, Y, X)
        One plane per channel, (row, col) order.
    channel_names : sequence of str
        C names (OME ``Channel Name``).
    pixel_size_m : (float, float)
        Pixel pitch ``(row, col)`` in m, written as PhysicalSizeY/X in µm so Fiji and napari
        open the image to scale; a zero size (a single AFM curve) is left out.
    """
    import tifffile

    planes = np.asarray(planes)
    if planes.ndim != 3 or len(channel_names) != planes.shape[0]:
        raise ValueError(f"need (C, Y, X) planes and C names, got {planes.shape}")
    metadata: dict[str, Any] = {"axes": "CYX", "Channel": {"Name": list(channel_names)}}
    for axis, size_m in zip("YX", pixel_size_m, strict=True):
        if size_m > 0:
            metadata[f"PhysicalSize{axis}"] = size_m / M_PER_UM
            metadata[f"PhysicalSize{axis}Unit"] = "µm"
    with atomic_path(path) as tmp:
        # minisblack: a last axis of length 3 or 4 is never read as colour samples
        tifffile.imwrite(tmp, planes, ome=True, photometric="minisblack", metadata=metadata)
    return Path(path)
