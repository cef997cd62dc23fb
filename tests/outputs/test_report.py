"""report.html: self-contained, every section, warnings, units of the per-cell table, partial
results (AFM only, failed measurement), atomic writing, the fitted model curve."""

from __future__ import annotations

import base64
import re
import struct
import subprocess
import sys
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from cellmech import __version__
from cellmech.containers import CurveStatus
from cellmech.models import fitted_force
from cellmech.outputs.htmltext import format_number, human_column
from cellmech.outputs.report import SECTIONS, render_report, write_report
from cellmech.outputs.report_views import example_curves, report_warnings
from cellmech.preprocess import PreprocessOptions, preprocess

from .conftest import FakeCells


class _Page(HTMLParser):
    """Collects image sources, link targets, element ids and the text of tables by id."""

    def __init__(self):
        super().__init__()
        self.srcs, self.hrefs, self.ids, self.tags = [], [], set(), set()
        self.tables: dict[str, list[list[str]]] = {}
        self._table = None
        self._cell = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.add(tag)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if "src" in attrs:
            self.srcs.append(attrs["src"])
        if "href" in attrs:
            self.hrefs.append(attrs["href"])
        if tag == "table":
            self._table = self.tables.setdefault(attrs.get("id", f"t{len(self.tables)}"), [])
        elif tag == "tr" and self._table is not None:
            self._table.append([])
        elif tag in ("td", "th") and self._table is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._table[-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def parse(text: str) -> _Page:
    page = _Page()
    page.feed(text)
    return page


def png_size(uri: str) -> tuple[int, int]:
    data = base64.b64decode(uri.split(",", 1)[1])
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


@pytest.fixture(scope="module")
def page_text(sample_result) -> str:
    return render_report(sample_result)


def test_self_contained_with_embedded_pngs_of_readable_size(page_text):
    page = parse(page_text)
    assert not re.search(r"(src|href)\s*=\s*[\"']?\s*(https?:)?//", page_text, re.I)
    assert "<script" not in page_text and "<link" not in page_text and "@import" not in page_text
    assert len(page.srcs) == 4  # overview, maps, per-cell moduli, curves
    for src in page.srcs:
        assert src.startswith("data:image/png;base64,")
        width, height = png_size(src)
        assert 500 <= width <= 1000 and 200 <= height <= 1200, (width, height)
    assert all(h.startswith("#") for h in page.hrefs)


def test_every_section_title_and_versions(page_text, sample_result):
    page = parse(page_text)
    assert set(SECTIONS) | {"warnings"} <= page.ids
    assert {"cell-table", "registration-checks", "status-counts", "parameters"} <= page.ids
    title = re.search(r"<h1>(.*?)</h1>", page_text).group(1)
    assert sample_result.force_map.path.name in title
    assert Path(sample_result.stack.source).name in title
    assert f"cellmech {__version__}" in page_text


def test_registration_warning_when_not_accepted(rejected_result, page_text):
    text = render_report(rejected_result)
    box = re.search(r'<div class="box ([^"]*)" id="warnings">(.*?)</div>', text, re.S)
    assert "severe" in box.group(1)
    assert "NOT accepted" in box.group(2)
    assert "mask overlap 0.42 below 0.6" in box.group(2)
    checks = parse(text).tables["registration-checks"]
    assert ["mask_overlap", "0.42", "0.6", "FAILED"] in checks
    frame = rejected_result.cells.to_frame()
    frame["registration_accepted"] = np.arange(len(frame)) % 2 == 0
    text = render_report(replace(rejected_result, cells=FakeCells(frame)))
    table = re.search(r'<table id="cell-table">(.*?)</table>', text, re.S).group(1)
    assert table.count('<tr class="bad">') == len(frame) // 2  # rows flagged in red
    assert "NOT accepted" not in page_text  # the accepted registration raises no warning


def test_error_estimate_in_um_and_afm_pixels(page_text, sample_result):
    facts = dict(parse(page_text).tables["registration-facts"][1:])
    error = sample_result.registration.error_estimate_m
    pitch = np.mean(sample_result.force_map.grid.pixel_size_m)
    assert float(facts["error estimate (µm)"]) == pytest.approx(error * 1e6, rel=5e-3)
    assert float(facts["error estimate (AFM pixels)"]) == pytest.approx(error / pitch, rel=5e-3)


def test_cell_table_in_kpa_and_um_units(page_text, sample_result):
    rows = parse(page_text).tables["cell-table"]
    header, body = rows[0], rows[1:]
    frame = sample_result.cells.to_frame()
    assert len(body) == len(frame)
    checked = {
        "E median (kPa)": ("youngs_modulus_median_pa", 1e3),
        "E nucleus (kPa)": ("youngs_modulus_nucleus_median_pa", 1e3),
        "E cytoplasm (kPa)": ("youngs_modulus_cytoplasm_median_pa", 1e3),
        "E IQR (kPa)": ("youngs_modulus_iqr_pa", 1e3),
        "max height (µm)": ("height_max_m", 1e-6),
        "volume (µm³)": ("volume_m3", 1e-18),
        "AFM area (µm²)": ("area_m2", 1e-12),
    }
    for label, (column, unit) in checked.items():
        shown = [row[header.index(label)] for row in body]
        expected = frame[column].to_numpy() / unit
        for text, value in zip(shown, expected, strict=True):
            if np.isnan(value):
                assert text == "–"
            else:  # 3 significant digits
                assert float(text) == pytest.approx(value, rel=5e-3, abs=1e-12)
    assert np.isfinite(frame["youngs_modulus_median_pa"]).sum() >= 3  # the test saw numbers


def test_derived_warnings_few_ok_curves_and_curves_inside_cells(sample_result):
    frame = sample_result.cells.to_frame()
    frame.loc[0, ["n_curves", "n_curves_ok"]] = (40, 1)
    no_contact = np.flatnonzero(sample_result.fit.status == CurveStatus.NO_CONTACT)
    assert no_contact.size
    cell_id = np.array(sample_result.assignment.cell_id)
    cell_id[no_contact[:2]] = 77
    result = replace(
        sample_result,
        cells=FakeCells(frame, warnings=("from measure",)),
        assignment=replace(sample_result.assignment, cell_id=cell_id),
        warnings=("from the run", "from measure"),
    )
    found = report_warnings(result)
    assert found[:2] == ["from the run", "from measure"]  # run's own first, no duplicates
    cell = frame.loc[0, "cell_id"]
    assert any(f"Cell {cell}: only 1 ok curve(s) of 40" in w for w in found)
    assert any("status 'no_contact' lie inside cells" in w and "cell 77: 2" in w for w in found)
    text = render_report(result)
    assert f"Cell {cell}: only 1 ok curve(s) of 40" in text


@pytest.mark.parametrize("missing", ["afm_only", "no_measurement"])
def test_partial_results_render(sample_result, missing):
    if missing == "afm_only":
        gone = dict(stack=None, segmentation=None, registration=None, assignment=None, cells=None)
    else:
        gone = dict(assignment=None, cells=None)
    text = render_report(replace(sample_result, **gone))
    page = parse(text)
    assert set(SECTIONS) <= page.ids
    assert "cell-table" not in page.ids
    assert "No per-cell table" in text and "No cell assignment" in text
    n_images = 2 if missing == "afm_only" else 3  # maps and curves (+ fluorescence)
    assert len(page.srcs) == n_images
    assert ("No fluorescence stack" in text) == (missing == "afm_only")
    assert ("registration-facts" in page.ids) == (missing != "afm_only")


def test_write_is_atomic(sample_result, tmp_path, monkeypatch):
    target = write_report(tmp_path / "out" / "report.html", sample_result)
    assert target.read_text("utf-8").startswith("<!DOCTYPE html>")
    before = target.read_bytes()

    def broken(self, text, encoding=None):
        Path.write_bytes(self, text[:100].encode())
        raise OSError("disk full")

    monkeypatch.setattr(Path, "write_text", broken)
    with pytest.raises(OSError, match="disk full"):
        write_report(target, sample_result)
    monkeypatch.undo()
    assert target.read_bytes() == before
    assert sorted(p.name for p in target.parent.iterdir()) == ["report.html"]


def test_fitted_force_reproduces_the_fit_residual(sample_result):
    """The model curve drawn (baseline + E g(cp - x)) is the one the fit made: its RMS
    residual over the fitted approach equals the fit's own (fit range: whole approach, no
    contact-point weighting)."""
    fit, fm = sample_result.fit, sample_result.force_map
    ok = np.flatnonzero(fit.status == CurveStatus.OK)[:12]
    options = PreprocessOptions(**dict(fit.parameters["preprocessing"]))
    curves = preprocess(fm.curves(fit.curve_index[ok]), fm.spring_constant_n_per_m, options)
    for i, pos in enumerate(ok):
        tip, force = curves.curve(i)
        rms = np.sqrt(np.mean((force - fitted_force(fit, pos, tip)) ** 2))
        assert rms == pytest.approx(fit.rms_residual_n[pos], rel=0.02)


def test_example_curves_typical_worst_and_one_per_status(sample_result):
    panels = example_curves(sample_result)
    fit = sample_result.fit
    others = {CurveStatus(s).label for s in np.unique(fit.status)} - {"ok"}
    assert len(panels) == 2 + len(others)
    assert panels[0].title.startswith("typical") and panels[1].title.startswith("worst")
    r2 = [float(re.search(r"R² = ([0-9.]+)", p.title).group(1)) for p in panels[:2]]
    inside = (fit.status == CurveStatus.OK) & (np.asarray(sample_result.assignment.cell_id) > 0)
    assert r2[1] == pytest.approx(np.nanmin(fit.r_squared[inside]), abs=1e-3)
    assert r2[0] == pytest.approx(np.nanmedian(fit.r_squared[inside]), abs=0.02)
    assert {p.title.split("\n")[0].removeprefix("status ") for p in panels[2:]} == others
    for p in panels[:2]:
        assert p.fit_force_n is not None and np.all(np.isfinite(p.fit_force_n))


def test_a_fitted_curve_that_is_not_ok_shows_its_whole_approach(sample_result):
    """ok panels zoom on the contact; a poor_fit panel shows every approach point, since the
    cause of its status (spikes microns before contact) lies outside that zoom."""
    fit, fm = sample_result.fit, sample_result.force_map
    pos = int(np.flatnonzero(fit.status == CurveStatus.OK)[0])
    status = fit.status.copy()
    status[pos] = CurveStatus.POOR_FIT
    result = replace(sample_result, fit=replace(fit, status=status))
    poor = next(p for p in example_curves(result) if p.title.startswith("status poor_fit"))
    options = PreprocessOptions(**dict(fit.parameters["preprocessing"]))
    tip, _ = preprocess(
        fm.curves(fit.curve_index[[pos]]), fm.spring_constant_n_per_m, options
    ).curve(0)
    assert poor.indentation_m.size == np.isfinite(tip).sum()
    zoom = fit.contact_point_m[pos] - tip >= -max(fit.indentation_max_m[pos], 0.2e-6)
    assert zoom.sum() < 0.5 * poor.indentation_m.size  # the zoom would have hidden most of it


def test_human_units_and_numbers():
    assert human_column("volume_m3") == ("volume (µm³)", pytest.approx(1e-18))
    assert human_column("youngs_modulus_median_pa", {"youngs_modulus_median_pa": "E"}) == (
        "E (kPa)",
        1e3,
    )
    assert human_column("spring_constant_n_per_m")[0] == "spring constant (N/m)"
    assert human_column("intensity_mean_dapi")[0] == "intensity mean dapi (a.u.)"
    assert [format_number(v) for v in (1234.5, 0.012345, 7.0, np.nan, True, 3)] == [
        "1230",
        "0.0123",
        "7",
        "–",
        "yes",
        "3",
    ]
    assert format_number(2.5e-5) == "2.5e-05"


def test_importing_the_report_draws_nothing():
    code = (
        "import sys, cellmech.outputs.report;"
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[2])
