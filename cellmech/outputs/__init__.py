"""Atomic writers: :mod:`.files` (atomic files, JSON, table pairs, OME-TIFF) and one module
per kind of run output (:mod:`.fit`: per-curve tables, grid maps, ``run.json``; :mod:`.segment`:
label image, per-cell table and overlay of a segmentation)."""

from cellmech.outputs.files import atomic_path, file_sha256, write_json, write_ome_tiff
from cellmech.outputs.fit import curve_table, run_report, write_fit_outputs
from cellmech.outputs.segment import segmentation_table, write_segmentation_outputs

__all__ = [
    "atomic_path",
    "curve_table",
    "file_sha256",
    "run_report",
    "segmentation_table",
    "write_fit_outputs",
    "write_json",
    "write_ome_tiff",
    "write_segmentation_outputs",
]
