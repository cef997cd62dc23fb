"""The afmformats backbone reader: contract over every real file, grids, overrides."""

from __future__ import annotations

import afmformats
import numpy as np
import pytest

from cellmech.errors import MissingMetadataError
from cellmech.io import afm_afmformats, read_force_map
from cellmech.io.jpk import reader as jpk_reader
from tests.conftest import REAL_SPRING_CONSTANTS, real_afm_file, real_afm_files
from tests.helpers import GRID, POSITIONS, synthetic_map
from tests.io.jpk_tolerance import assert_matches_afmformats

pytestmark = pytest.mark.realdata

WORKSHOP = "fmt-afm-workshop-fd_single_2021-10-22_14.16.csv"
IGOR = "fmt-igor-fd_U3_3_p10004.ibw"
ALL = [p.name for p in real_afm_files()] or [IGOR]


@pytest.mark.parametrize("name", ALL)
def test_contract_every_real_file(name):
    path = real_afm_file(name)
    k = 0.05 if name == WORKSHOP else None
    fm = read_force_map(path, reader="afmformats", spring_constant_n_per_m=k)
    ref = afmformats.load_data(path, modality="force-distance")
    assert fm.n_curves == len(ref) >= 1
    expected_k = REAL_SPRING_CONSTANTS.get(name, k)
    assert fm.spring_constant_n_per_m == pytest.approx(expected_k, rel=2e-3)
    block = fm.curves()
    for i, d in enumerate(ref):
        approach = block.approach.curve(i)
        sel = d["segment"] == 0
        np.testing.assert_array_equal(approach["force_n"], d["force"][sel])
        height = "height (piezo)" if "height (piezo)" in d.columns else "height (measured)"
        np.testing.assert_array_equal(approach["height_m"], d[height][sel])
    if fm.kind == "single-curve":
        assert fm.grid.shape == (1, 1) and fm.n_curves == 1


@pytest.mark.parametrize("name", [p.name for p in real_afm_files("*.jpk-*")] or ["x.jpk-force"])
def test_jpk_files_match_fast_reader(name):
    path = real_afm_file(name)
    slow, fast = afm_afmformats.read(path), jpk_reader.read(path)
    assert (slow.kind, slow.grid, slow.n_curves) == (fast.kind, fast.grid, fast.n_curves)
    for attr in ("position_index", "row", "col", "x_m", "y_m"):
        np.testing.assert_array_equal(getattr(slow, attr), getattr(fast, attr))
    a, b = slow.curves(), fast.curves()
    for seg in ("approach", "retract"):
        for field in ("time_s", "n_points"):
            np.testing.assert_array_equal(
                getattr(getattr(a, seg), field), getattr(getattr(b, seg), field)
            )
        for field in ("height_m", "force_n", "measured_height_m"):
            assert_matches_afmformats(
                getattr(getattr(b, seg), field), getattr(getattr(a, seg), field)
            )


def test_meander_rows_match_afmformats_grid_index():
    path = real_afm_file("fmt-jpk-fd_map-data-reference-points.jpk-force-map")
    fm = afm_afmformats.read(path)
    ref = afmformats.load_data(path)
    assert fm.grid.back_and_forth
    for i, d in enumerate(ref):
        assert (fm.row[i], fm.col[i]) == (d.metadata["grid index y"], d.metadata["grid index x"])
    # position index 129 = row 5 (odd: right to left), column 25 - 1 - 4 = 20
    assert 129 in fm.position_index.tolist()
    i = fm.position_index.tolist().index(129)
    assert (fm.row[i], fm.col[i]) == (5, 20)


def test_grid_theta_reflect_from_headers(tmp_path):
    path, _, _ = synthetic_map(tmp_path / "m.jpk-force-map")
    fm = afm_afmformats.read(path)
    assert fm.grid == GRID  # theta, reflect, scanner kept (afmformats drops them)
    np.testing.assert_array_equal(fm.position_index, POSITIONS)


def test_workshop_csv_needs_a_spring_constant():
    path = real_afm_file(WORKSHOP)
    with pytest.raises(MissingMetadataError, match="spring_constant_n_per_m") as info:
        read_force_map(path)
    assert str(path) in str(info.value) and "--spring-constant" in str(info.value)
    fm = read_force_map(path, spring_constant_n_per_m=0.1)
    assert fm.spring_constant_n_per_m == 0.1 and np.isnan(fm.sensitivity_m_per_v)
    block = fm.curves()
    # only a measured (Z sensor) height is recorded: used as the height
    np.testing.assert_array_equal(block.approach.height_m, block.approach.measured_height_m)
    assert block.approach.force_n[0, 0] == pytest.approx(0.0531e-9)  # force stored in nN


def test_igor_override_rescales_force():
    path = real_afm_file(IGOR)
    base = afm_afmformats.read(path)
    new = afm_afmformats.read(path, spring_constant_n_per_m=2 * base.spring_constant_n_per_m)
    f0, f1 = base.curves().approach.force_n, new.curves().approach.force_n
    np.testing.assert_allclose(f1, 2 * f0, rtol=1e-12)
    assert base.curves().retract is None  # this file holds the approach only
