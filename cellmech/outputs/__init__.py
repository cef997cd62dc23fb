"""Atomic writers: :mod:`.files` (atomic files, JSON, table pairs, OME-TIFF) and one module
per kind of run output (:mod:`.fit`: per-curve tables, grid maps, ``run.json``; :mod:`.segment`:
label image, per-cell table and overlay of a segmentation).

The names below are imported from their module on first use, so writing a fit's outputs never
loads the segmentation's imaging libraries.
"""

import importlib

_HOMES = {
    "atomic_path": "files",
    "file_sha256": "files",
    "write_json": "files",
    "write_ome_tiff": "files",
    "curve_table": "fit",
    "run_report": "fit",
    "write_fit_outputs": "fit",
    "segmentation_table": "segment",
    "write_segmentation_outputs": "segment",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str):
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
    globals()[name] = value
    return value
