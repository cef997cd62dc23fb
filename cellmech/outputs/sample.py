"""Outputs of a correlative sample (``cellmech run``): tables, maps on both grids, labels,
registration, report and ``run.json``, written as one transaction."""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from cellmech.gridmaps import MAP_QUANTITIES, fit_maps, to_grid
from cellmech.outputs.cells import annotate_curve_table, write_cell_tables
from cellmech.outputs.files import (
    file_sha256,
    manifest,
    write_json,
    write_ome_tiff,
    write_table_pair,
)
from cellmech.outputs.fit import curve_table, human_columns, run_report

__all__ = ["fluorescence_frame_maps", "sample_report", "write_sample_outputs"]


def afm_grid_planes(result) -> tuple[np.ndarray, list[str]]:
    """The fit maps plus height above the substrate plane and cell labels, on the AFM grid,
    shape (q, rows, cols) float32, with their names."""
    fm, fit, assignment = result.force_map, result.fit, result.assignment
    maps = fit_maps(fm, fit)
    names = list(MAP_QUANTITIES)
    if assignment is not None:
        idx = assignment.curve_index
        maps["height_above_substrate_m"] = to_grid(fm, idx, assignment.height_above_substrate_m)
        maps["cell_id"] = to_grid(fm, idx, assignment.cell_id)
        names += ["height_above_substrate_m", "cell_id"]
    return np.stack([maps[n] for n in names]).astype(np.float32), names


def fluorescence_frame_maps(result) -> tuple[np.ndarray, list[str]]:
    """E (ok curves) and height above the substrate resampled onto the fluorescence pixel
    grid (nearest AFM pixel through the registration; NaN outside the map), shape (2, Y, X).
    """
    fm, reg = result.force_map, result.registration
    ny, nx = result.segmentation.shape
    to_afm = np.linalg.inv(reg.afm_px_to_fluorescence_px)
    rr, cc = np.mgrid[0:ny, 0:nx].astype(np.float64)
    arow = to_afm[0, 0] * rr + to_afm[0, 1] * cc + to_afm[0, 2]
    acol = to_afm[1, 0] * rr + to_afm[1, 1] * cc + to_afm[1, 2]
    ir, ic = np.rint(arow).astype(np.int64), np.rint(acol).astype(np.int64)
    rows, cols = fm.grid.shape
    inside = (ir >= 0) & (ir < rows) & (ic >= 0) & (ic < cols)
    planes, names = afm_grid_planes(result)
    wanted = ["youngs_modulus_pa"]
    if "height_above_substrate_m" in names:
        wanted.append("height_above_substrate_m")
    out = np.full((len(wanted), ny, nx), np.nan, dtype=np.float32)
    for k, name in enumerate(wanted):
        plane = planes[names.index(name)]
        out[k][inside] = plane[ir[inside], ic[inside]]
    return out, wanted


def sample_report(result, command: list[str] | None = None) -> dict[str, Any]:
    """The content of ``run.json`` for a sample: the fit run report plus the fluorescence
    input, registration verdict, cell count, warnings and timings per stage."""
    report = run_report(
        result.force_map,
        result.fit,
        settings=result.settings.to_dict(),
        timing_s=result.timing_s,
        command=sys.argv if command is None else command,
    )
    if result.stack is not None:
        source = Path(result.stack.source)
        report["fluorescence"] = {
            "path": str(source.resolve()),
            "sha256": file_sha256(source),
            "shape_czyx": list(result.stack.shape),
            "pixel_size_m": list(result.stack.pixel_size_m),
            "channels": list(result.stack.channel_names),
        }
    if result.registration is not None:
        reg = result.registration
        report["registration"] = {
            "accepted": reg.accepted,
            "reason": reg.reason,
            "method": reg.method,
            "error_estimate_m": reg.error_estimate_m,
        }
    if result.cells is not None:
        report["n_cells"] = int(result.cells.n_cells)
    report["warnings"] = list(result.warnings)
    return report


def write_sample_outputs(out_dir: str | Path, result, report: Mapping[str, Any]) -> list[Path]:
    """Write every output of a sample into ``out_dir`` (a staging folder), ``run.json`` last.

    Files: ``curves.csv/.parquet`` (+ cell_id, compartment, edge_distance_m,
    height_above_substrate_m), ``cells.csv/.parquet``, ``maps/afm_grid.ome.tif``,
    ``maps/fluorescence_frame.ome.tif``, ``labels.ome.tif``, ``labels.csv``, ``overlay.png``,
    ``registration.json``, ``registration_overlay.png``, ``report.html``, ``run.json``.
    """
    from cellmech.outputs.register import write_registration_outputs
    from cellmech.outputs.report import write_report
    from cellmech.outputs.segment import write_segmentation_outputs

    out = Path(out_dir)
    t0 = time.perf_counter()
    table = curve_table(result.force_map, result.fit)
    if result.assignment is not None:
        table = annotate_curve_table(table, result.assignment)
    paths = [*write_table_pair(out, "curves", table, human_columns(table))]
    planes, names = afm_grid_planes(result)
    paths.append(
        write_ome_tiff(
            out / "maps" / "afm_grid.ome.tif", planes, names, result.force_map.grid.pixel_size_m
        )
    )
    if result.segmentation is not None:
        seg = result.segmentation
        paths += write_segmentation_outputs(out, seg, result.stack).values()
        frame, frame_names = fluorescence_frame_maps(result)
        paths.append(
            write_ome_tiff(
                out / "maps" / "fluorescence_frame.ome.tif", frame, frame_names, seg.pixel_size_m
            )
        )
    if result.registration is not None:
        paths += write_registration_outputs(
            out,
            result.registration,
            result.force_map,
            result.fit,
            result.segmentation,
            result.image,
        ).values()
    if result.cells is not None:
        paths += write_cell_tables(out, result.cells)
    paths.append(write_report(out / "report.html", result))
    timing = {**report.get("timing_s", {}), "write": time.perf_counter() - t0}
    names_out = [str(p.relative_to(out)) for p in paths] + ["run.json"]
    final = {**report, "timing_s": timing, "outputs": names_out, "sha256": manifest(paths, out)}
    paths.append(write_json(out / "run.json", final))
    return paths
