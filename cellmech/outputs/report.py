"""``report.html``: one self-contained page that lets a person check a sample's results.

The page holds, in this order: a title (sample files, date, cellmech version); a warnings box
(registration not accepted, cells with few ok curves, suspicious curves inside cells, plus the
warnings of the run); a short summary; the fluorescence image with the registered AFM map
outline and the cell outlines; the Young's modulus map (log colour scale, kPa) and the height
map (µm); the per-cell modulus distributions (nucleus vs cytoplasm); the per-cell table in
kPa/µm/µm²/µm³ (3 significant digits); example curves with their fits; the registration
checks and error estimate; the curve status counts; the run parameters and timings.

Figures are PNGs drawn with matplotlib's Agg canvas (:mod:`cellmech.outputs.figures`) and
embedded as ``data:`` URIs; the style sheet is inline; the page loads nothing from elsewhere.
Parts whose stage did not run (an AFM-only run, a failed stage: ``stack``, ``segmentation``,
``registration``, ``assignment`` or ``cells`` is None) are left out with a note.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from cellmech import __version__
from cellmech.containers import CurveStatus
from cellmech.gridmaps import fit_maps
from cellmech.outputs import figures
from cellmech.outputs import report_views as views
from cellmech.outputs.files import atomic_path
from cellmech.outputs.htmltext import (
    STYLE,
    escape,
    figure,
    format_number,
    human_column,
    note,
    section,
    table,
)
from cellmech.transforms import rotation_deg, scale_factor
from cellmech.units import M_PER_UM

if TYPE_CHECKING:
    from cellmech.pipeline import SampleResult

__all__ = ["render_report", "write_report"]

#: readable names of the per-cell columns (others: the column name without its unit)
CELL_LABELS = {
    "cell_id": "cell",
    "n_curves": "curves",
    "n_curves_ok": "ok curves",
    "youngs_modulus_median_pa": "E median",
    "youngs_modulus_iqr_pa": "E IQR",
    "youngs_modulus_nucleus_median_pa": "E nucleus",
    "youngs_modulus_cytoplasm_median_pa": "E cytoplasm",
    "youngs_modulus_geomean_pa": "E geometric mean",
    "youngs_modulus_median_se_pa": "E median SE",
    "height_max_m": "max height",
    "height_mean_m": "mean height",
    "volume_m3": "volume",
    "area_m2": "AFM area",
    "fluorescence_area_m2": "fluorescence area",
    "edge_cell": "edge cell",
    "registration_accepted": "registration accepted",
    "registration_error_m": "registration error",
}
#: columns of the main per-cell table (all columns follow, folded)
MAIN_CELL_COLUMNS = (
    "cell_id",
    "n_curves",
    "n_curves_ok",
    "youngs_modulus_median_pa",
    "youngs_modulus_iqr_pa",
    "youngs_modulus_nucleus_median_pa",
    "youngs_modulus_cytoplasm_median_pa",
    "height_max_m",
    "volume_m3",
    "area_m2",
    "edge_cell",
)
#: readable names of the fit parameters shown
PARAMETER_LABELS = {
    "poisson_ratio": "Poisson ratio",
    "fit_range": "fit range",
    "weight_cp_m": "contact-point weighting distance",
    "min_r_squared": "lowest R² of an ok fit",
    "tip_radius_m": "tip radius",
    "half_angle_deg": "tip half angle",
}


def write_report(path: str | Path, result: SampleResult) -> Path:
    """Write ``report.html`` for ``result`` atomically; returns the path.

    Parameters
    ----------
    path : path-like
        Target file (its folder is created if needed).
    result : SampleResult
        What the sample produced; stages that did not run (None) are left out with a note.
    """
    path = Path(path)
    text = render_report(result)
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def render_report(result: SampleResult, created: datetime | None = None) -> str:
    """The report as one HTML string (see the module notes for its content)."""
    created = created or datetime.now().astimezone()
    names = [result.force_map.path.name]
    if result.stack is not None:
        names.append(Path(result.stack.source).name)
    title = "cellmech report: " + " + ".join(names)
    parts = [
        f"<h1>{escape(title)}</h1>",
        f'<p class="meta">{created:%Y-%m-%d %H:%M %Z} · cellmech {escape(__version__)}</p>',
        _nav(),
        _warnings_box(views.report_warnings(result), result.needs_review),
        _summary(result),
        _overview(result),
        _maps(result),
        _distributions(result),
        _cells(result),
        _curves(result),
        _registration(result),
        _statuses(result),
        _parameters(result),
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>\n"
        + "\n".join(parts)
        + "\n</body></html>\n"
    )


SECTIONS = {
    "overview": "Fluorescence and AFM map",
    "maps": "Stiffness and height maps",
    "distributions": "Stiffness per cell",
    "cells": "Per-cell table",
    "curves": "Example curves",
    "registration": "Registration",
    "statuses": "Curve status counts",
    "parameters": "Run parameters and timings",
}


def _nav() -> str:
    return (
        "<nav>" + "".join(f'<a href="#{k}">{escape(v)}</a>' for k, v in SECTIONS.items()) + "</nav>"
    )


def _warnings_box(warnings: list[str], severe: bool) -> str:
    """The warnings at the top of the page; red when the results need review."""
    if not warnings:
        return '<div class="box fine" id="warnings">No warnings.</div>'
    items = "".join(f"<li>{escape(w)}</li>" for w in warnings)
    head = f"<h2>⚠ Warnings ({len(warnings)})</h2>"
    kind = "warn severe" if severe else "warn"
    return f'<div class="box {kind}" id="warnings">{head}<ul>{items}</ul></div>'


# --------------------------------------------------------------------------- sections


def _summary(result: SampleResult) -> str:
    fit = result.fit
    ok = fit.status == CurveStatus.OK
    e_ok = fit.youngs_modulus_pa[ok & views.in_cells(result)]
    where = "inside cells" if result.assignment is not None else "over the map"
    items = [
        f"{fit.n_curves} curves, {int(ok.sum())} fitted ok ({100 * ok.mean():.0f} %)",
        f"median E of the ok curves {where}: "
        + (f"{format_number(np.median(e_ok) / 1e3)} kPa" if e_ok.size else "–"),
    ]
    if result.cells is not None:
        items.append(f"{len(result.cells.to_frame())} cells in the table")
    if result.registration is not None:
        verdict = "accepted" if result.registration.accepted else "NOT accepted"
        items.append(f"registration {verdict} (method: {result.registration.method})")
    if result.stack is None:
        items.append("AFM-only run: no fluorescence image, no cells")
    return "<ul>" + "".join(f"<li>{escape(i)}</li>" for i in items) + "</ul>"


def _overview(result: SampleResult) -> str:
    if result.stack is None:
        return section("overview", SECTIONS["overview"], note("No fluorescence stack."))
    image, channel = views.cell_image(result.stack, result.segmentation)
    outlines = (
        [] if result.segmentation is None else views.fluorescence_outlines(result.segmentation)
    )
    corners = None
    if result.registration is not None:
        corners = views.grid_corners_px(result.registration, result.force_map.grid.shape)
    uri = figures.fluorescence_figure(
        image, result.stack.pixel_size_m, f"{channel}: maximum projection", outlines, corners
    )
    caption = (
        f"Channel <b>{escape(channel)}</b> (maximum over z, contrast stretched). Yellow: cell "
        "outlines with their ids; cyan: nuclei; magenta dashed: the AFM map as placed by the "
        "registration. If the map outline does not sit where the cells were measured, the "
        "registration is wrong."
    )
    return section("overview", SECTIONS["overview"], figure(uri, caption, "fluorescence"))


def _maps(result: SampleResult) -> str:
    modulus = fit_maps(result.force_map, result.fit)["youngs_modulus_pa"]
    height, label = views.height_map(result)
    outlines = []
    if result.segmentation is not None and result.registration is not None:
        cells = [o for o in views.fluorescence_outlines(result.segmentation) if not o.nucleus]
        outlines = views.afm_outlines(cells, result.registration)
    grid = result.force_map.grid
    uri = figures.maps_figure(
        modulus, height, grid.pixel_size_m, label, outlines, views.modulus_range(result)
    )
    cells = result.assignment is not None
    caption = (
        "Left: Young's modulus E of every ok curve on a logarithmic colour scale spanning the "
        f"moduli measured {'in the cells' if cells else 'over the map'} (values beyond it take "
        "the end colours; grey: no curve or no ok fit, e.g. the dish or failed curves). "
        "Right: zero-force "
        f"height ({escape(label.split(' (')[0])}) of the curves whose contact point is trusted. "
        f"Both on the AFM grid (first scan line at the top, {grid.shape[0]} × {grid.shape[1]} "
        "points)" + ("; yellow: registered cell outlines." if outlines else ".")
    )
    return section("maps", SECTIONS["maps"], figure(uri, caption, "maps"))


def _distributions(result: SampleResult) -> str:
    if result.assignment is None:
        return section("distributions", SECTIONS["distributions"], note("No cell assignment."))
    cells = views.cell_moduli(result)
    if not cells:
        return section("distributions", SECTIONS["distributions"], note("No cell under the map."))
    if not any(c.nucleus_pa.size or c.cytoplasm_pa.size for c in cells):
        text = (
            "No ok curve lies clear of the cell edges and nucleus outlines (no compartment median)."
        )
        return section("distributions", SECTIONS["distributions"], note(text))
    uri = figures.cell_moduli_figure(cells)
    caption = (
        "Young's modulus of the ok curves in each cell, nucleus (blue) and cytoplasm (orange); "
        "boxes: quartiles and median, whiskers 1.5 IQR, dots: single curves. These are the curves "
        "of the table's compartment medians: curves near the cell edge or the nucleus outline "
        "(within the tip flank's reach of a taller nucleus) are left out. The small numbers are "
        "the curves in each box."
    )
    return section("distributions", SECTIONS["distributions"], figure(uri, caption, "moduli"))


def _cell_rows(frame, columns: Sequence[str]) -> tuple[list[str], list[list[str]]]:
    header, divisors = zip(*(human_column(c, CELL_LABELS) for c in columns), strict=True)
    rows = []
    for record in frame[list(columns)].itertuples(index=False):
        rows.append([
            format_number(v / d if d != 1.0 and isinstance(v, float | np.floating) else v)
            for v, d in zip(record, divisors, strict=True)
        ])  # fmt: skip
    return list(header), rows


def _cells(result: SampleResult) -> str:
    if result.cells is None:
        return section("cells", SECTIONS["cells"], note("No per-cell table (no measurement)."))
    frame = result.cells.to_frame()
    main = [c for c in MAIN_CELL_COLUMNS if c in frame.columns]
    main += [c for c in frame.columns if c.startswith("intensity_mean_")]
    bad = (
        list(~frame["registration_accepted"].astype(bool))
        if "registration_accepted" in frame
        else []
    )
    header, rows = _cell_rows(frame, main)
    full_header, full_rows = _cell_rows(frame, list(frame.columns))
    body = (
        table(header, rows, "cell-table", bad)
        + "<p class=note>E: Young's modulus of the ok curves (median, interquartile range, "
        "per compartment); heights above the substrate; AFM area and volume over the cell's "
        "AFM footprint. Red rows: registration not accepted.</p>"
        + "<details><summary>All columns</summary>"
        + table(full_header, full_rows, "cell-table-full")
        + "</details>"
    )
    return section("cells", SECTIONS["cells"], body)


def _curves(result: SampleResult) -> str:
    panels, problem = views.load_example_curves(result)
    if not panels:
        return section("curves", SECTIONS["curves"], note(problem or "No curves."))
    where = "inside cells " if result.assignment is not None else ""
    caption = (
        f"Force against indentation of a typical ok curve {where}(median R²), the worst ok "
        f"curve {where}and one curve of every other status; grey: preprocessed data, red: fitted "
        f"{escape(result.fit.model)} model. Curves without a fitted contact point are drawn "
        "against the preprocessing's contact estimate."
    )
    return section(
        "curves", SECTIONS["curves"], figure(figures.curves_figure(panels), caption, "curves")
    )


def _registration(result: SampleResult) -> str:
    reg = result.registration
    if reg is None:
        return section("registration", SECTIONS["registration"], note("No registration."))
    pitch = float(np.mean(result.force_map.grid.pixel_size_m))
    error = reg.error_estimate_m
    facts = [
        ["method", reg.method],
        ["accepted", format_number(reg.accepted)],
        ["reason / summary", reg.reason or "–"],
        ["error estimate (µm)", format_number(error / M_PER_UM)],
        ["error estimate (AFM pixels)", format_number(error / pitch) if pitch > 0 else "–"],
        [
            "rotation AFM → fluorescence (°)",
            format_number(rotation_deg(reg.afm_m_to_fluorescence_m)),
        ],
        ["scale AFM → fluorescence", format_number(scale_factor(reg.afm_m_to_fluorescence_m))],
    ]
    body = table(["", "value"], facts, "registration-facts", [False, not reg.accepted])
    checks = [
        [name, _check_value(c.get("value")), _check_value(c.get("threshold")),
         "passed" if c.get("passed") else "FAILED"]
        for name, c in reg.checks.items()
    ]  # fmt: skip
    if checks:
        failed = [row[3] == "FAILED" for row in checks]
        body += table(
            ["check", "value", "threshold", "result"], checks, "registration-checks", failed
        )
    else:
        body += note("No checks recorded.")
    return section("registration", SECTIONS["registration"], body)


def _check_value(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(format_number(v) for v in value)
    return "–" if value is None else format_number(value)


def _statuses(result: SampleResult) -> str:
    labels = result.fit.status_labels
    columns = {"all curves": np.ones(labels.size, bool)}
    if result.assignment is not None:
        inside = views.in_cells(result)
        columns |= {"in cells": inside, "on the dish": ~inside}
    header = ["status"]
    for name in columns:
        header += [name, "%"]
    rows = []
    for status in CurveStatus:
        row = [status.label]
        for mask in columns.values():
            count = int((labels[mask] == status.label).sum())
            row += [str(count), f"{100 * count / max(int(mask.sum()), 1):.1f}"]
        rows.append(row)
    body = table(header, rows, "status-counts")
    body += note(
        "ok: fitted and trusted; no_contact: the tip never indented (expected on the stiff dish); "
        "poor_fit: the model explains the curve badly (values not used); others: the curve "
        "could not be fitted."
    )
    return section("statuses", SECTIONS["statuses"], body)


def _parameters(result: SampleResult) -> str:
    fit, fm = result.fit, result.force_map
    params = dict(fit.parameters)
    rows = [["contact model", fit.model]]
    shown = {
        **dict(params.get("geometry", {})),
        **{k: params[k] for k in PARAMETER_LABELS if k in params},
    }
    for key, value in shown.items():
        header, div = human_column(key, PARAMETER_LABELS)
        rows.append([header, format_number(value / div if isinstance(value, float) else value)])
    rows += [
        ["spring constant (N/m)", format_number(fm.spring_constant_n_per_m)],
        ["AFM grid (rows × cols)", " × ".join(str(v) for v in fm.grid.shape)],
        ["AFM pitch (µm)", " × ".join(format_number(v / M_PER_UM) for v in fm.grid.pixel_size_m)],
        [
            "bottom-effect correction",
            "refit present" if result.corrected_fit is not None else "off",
        ],
    ]
    if result.stack is not None:
        size = " × ".join(format_number(v / M_PER_UM) for v in result.stack.pixel_size_m)
        rows.append(["fluorescence pixel (µm)", size])
    if result.segmentation is not None:
        rows.append(["segmentation", result.segmentation.method])
    timing = [[k, format_number(float(v))] for k, v in result.timing_s.items()]
    if timing and "total" not in result.timing_s:
        timing.append(["total", format_number(float(sum(result.timing_s.values())))])
    body = table(["parameter", "value"], rows, "parameters")
    body += table(["stage", "time (s)"], timing, "timings") if timing else note("No timings.")
    return section("parameters", SECTIONS["parameters"], body)
