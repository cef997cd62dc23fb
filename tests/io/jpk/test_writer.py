"""The JPK writer: afmformats and the fast reader read back what was written."""

from __future__ import annotations

import zipfile

import afmformats
import numpy as np
import pytest

from cellmech.io.jpk import properties as jpk_properties
from cellmech.io.jpk import reader as jpk_reader
from cellmech.io.jpk.writer import HEIGHT_NOMINAL_M_PER_V, write_jpk_force_map
from tests.helpers import GRID, POSITIONS, SENS, K, synthetic_map, synthetic_segments
from tests.io.jpk_tolerance import assert_matches_afmformats


def quantum(values: np.ndarray) -> float:
    """Half an int32 encoder step over the finite range of ``values``."""
    v = values[np.isfinite(values)]
    return (v.max() - v.min()) / (2**32 - 2) / 2 * (1 + 1e-6) + 1e-300


@pytest.mark.parametrize("kind", ["force-map", "qi-map"])
def test_afmformats_reads_written_map(tmp_path, kind):
    suffix = ".jpk-force-map" if kind == "force-map" else ".jpk-qi-data"
    path, app, ret = synthetic_map(tmp_path / f"m{suffix}", kind=kind)
    data = afmformats.load_data(path)
    assert len(data) == app.n_curves
    tol_f = quantum(np.concatenate([app.force_n.ravel(), ret.force_n.ravel()]))
    tol_h = quantum(np.concatenate([app.height_m.ravel(), ret.height_m.ravel()]))
    tol_m = quantum(np.concatenate([app.measured_height_m.ravel(), ret.measured_height_m.ravel()]))
    for i, d in enumerate(data):
        seg = d["segment"]
        for s, part in ((0, app.curve(i)), (1, ret.curve(i))):
            sel = seg == s
            np.testing.assert_allclose(d["force"][sel], part["force_n"], rtol=0, atol=tol_f)
            np.testing.assert_allclose(
                d["height (piezo)"][sel], part["height_m"], rtol=0, atol=tol_h
            )
            np.testing.assert_allclose(
                d["height (measured)"][sel], part["measured_height_m"], rtol=0, atol=tol_m
            )
        duration = 0.5 / app.n_points[i]
        np.testing.assert_allclose(d["time"][1], duration, rtol=1e-12)
        md = d.metadata
        assert md["spring constant"] == K and md["sensitivity"] == SENS
        row, col = GRID.index_to_rowcol(POSITIONS[i])
        assert md["enum"] == i
        x, y = GRID.grid_to_scanner(row, col)
        assert md["position x"] == pytest.approx(float(x)) and md["position y"] == pytest.approx(
            float(y)
        )


def test_fast_reader_reads_written_map_identically(tmp_path):
    path, app, ret = synthetic_map(tmp_path / "m.jpk-force-map")
    fm = jpk_reader.read(path)
    assert fm.kind == "force-map" and fm.n_curves == 5
    assert fm.grid == GRID
    np.testing.assert_array_equal(fm.position_index, POSITIONS)
    row, col = GRID.index_to_rowcol(POSITIONS)
    np.testing.assert_array_equal(fm.row, row)
    np.testing.assert_array_equal(fm.col, col)
    assert fm.spring_constant_n_per_m == K and fm.sensitivity_m_per_v == SENS
    block = fm.curves()
    ref = afmformats.load_data(path)
    for i, d in enumerate(ref):
        sel = d["segment"] == 0
        assert_matches_afmformats(block.approach.curve(i)["force_n"], d["force"][sel])
        assert_matches_afmformats(block.approach.curve(i)["height_m"], d["height (piezo)"][sel])
    np.testing.assert_array_equal(block.approach.n_points, app.n_points)
    np.testing.assert_allclose(block.retract.height_m, ret.height_m, atol=quantum(ret.height_m))


def test_qi_layout_and_approach_only(tmp_path):
    path, app, _ = synthetic_map(tmp_path / "q.jpk-qi-data", kind="qi-map", retract=False)
    fm = jpk_reader.read(path)
    assert fm.kind == "qi-map"
    block = fm.curves([4, 0])
    assert block.retract is None
    np.testing.assert_array_equal(block.approach.n_points, app.n_points[[4, 0]])


def test_header_content_and_atomic_write(tmp_path):
    path, _, _ = synthetic_map(
        tmp_path / "m.jpk-force-map", measured=False, metadata={"force-scan-map.note": "a=b"}
    )
    assert [p.name for p in tmp_path.iterdir()] == ["m.jpk-force-map"]  # no temp file left
    with zipfile.ZipFile(path) as zf:
        root = jpk_properties.parse_properties(zf.read("header.properties"))
        names = zf.namelist()
        curve = jpk_properties.parse_properties(zf.read("index/2/header.properties"))
    assert root["force-scan-map.note"] == "a=b"
    assert root["force-scan-map.position-pattern.grid.theta"] == repr(0.3)
    assert root["force-scan-map.position-pattern.grid.reflect"] == "true"
    assert curve["force-scan-series.header.position-index"] == "5"
    assert not any("capacitiveSensorHeight" in n for n in names)
    assert "index/4/segments/1/channels/vDeflection.dat" in names
    assert HEIGHT_NOMINAL_M_PER_V > 0


def test_writer_rejects_bad_input(tmp_path):
    app, ret = synthetic_segments()
    common = dict(grid=GRID, approach=app, retract=ret, sensitivity_m_per_v=SENS)
    with pytest.raises(ValueError, match="spring_constant"):
        write_jpk_force_map(
            tmp_path / "a", position_index=POSITIONS, spring_constant_n_per_m=0, **common
        )
    with pytest.raises(ValueError, match="unique"):
        write_jpk_force_map(
            tmp_path / "b", position_index=[0, 0, 1, 2, 3], spring_constant_n_per_m=K, **common
        )
    with pytest.raises(ValueError, match="outside"):
        write_jpk_force_map(
            tmp_path / "c", position_index=[0, 1, 2, 3, 12], spring_constant_n_per_m=K, **common
        )
    assert list(tmp_path.iterdir()) == []
