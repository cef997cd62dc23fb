"""napari readers: the sample map, every real JPK file, output folders, foreign files."""

from __future__ import annotations

import numpy as np
import pytest
from napari_cellmech._afm import approach_end_height
from napari_cellmech._reader import get_reader

from cellmech.io import read_force_map
from tests.conftest import real_afm_files
from tests.plugins.conftest import SAMPLE_AFM, SAMPLE_FLUO


def test_sample_map_opens_as_height_at_setpoint():
    layers = get_reader(str(SAMPLE_AFM))(str(SAMPLE_AFM))
    assert len(layers) == 1
    data, kw, kind = layers[0]
    fm = read_force_map(SAMPLE_AFM)
    block = fm.curves()
    last = block.approach.n_points - 1
    expected = np.full(fm.grid.shape, np.nan)
    expected[fm.row, fm.col] = block.approach.height_m[np.arange(fm.n_curves), last]
    assert kind == "image" and data.shape == fm.grid.shape
    np.testing.assert_allclose(data, expected * 1e6, rtol=1e-6)
    assert kw["units"] == ("um", "um")
    xs, ys = fm.grid.pixel_centres_m()
    np.testing.assert_allclose(kw["translate"], (ys[0, 0] * 1e6, xs[0, 0] * 1e6))
    assert kw["metadata"]["cellmech"]["afm_path"] == str(SAMPLE_AFM)


def test_height_blocks_do_not_change_the_image():
    fm = read_force_map(SAMPLE_AFM)
    np.testing.assert_array_equal(approach_end_height(fm), approach_end_height(fm, 37))


JPK = real_afm_files("*.jpk-*")


@pytest.mark.realdata
@pytest.mark.skipif(not JPK, reason="real AFM data not available (../shared/data/real-afm)")
@pytest.mark.parametrize("path", JPK, ids=[p.name for p in JPK])
def test_every_real_jpk_file_opens(path):
    reader = get_reader(str(path))
    assert reader is not None
    (data, kw, kind), *rest = reader(str(path))
    fm = read_force_map(path)
    assert not rest and kind == "image" and data.shape == fm.grid.shape
    assert np.isfinite(data[fm.row, fm.col]).all()
    assert kw["units"] == ("um", "um")
    assert ("affine" in kw) or ("scale" in kw and min(kw["scale"]) > 0)


def test_foreign_paths_get_no_reader(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "empty").mkdir()
    foreign = [
        tmp_path / "notes.txt",
        tmp_path / "empty",
        tmp_path / "missing.jpk-force-map",
        *real_afm_files("*.csv"),
        *real_afm_files("*.ibw"),
    ]
    for path in foreign:
        assert get_reader(str(path)) is None, path
    assert get_reader([str(SAMPLE_AFM), str(SAMPLE_AFM)]) is None


def test_corrupt_jpk_file_reports_instead_of_raising(tmp_path, monkeypatch):
    pytest.importorskip("napari")
    import napari.utils.notifications as notes

    shown = []
    monkeypatch.setattr(notes, "show_error", shown.append)
    bad = tmp_path / "broken.jpk-force-map"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    assert get_reader(str(bad))(str(bad)) == []
    assert len(shown) == 1 and "broken.jpk-force-map" in shown[0]


def test_fluorescence_ome_tiff_opens_per_channel():
    layers = get_reader(str(SAMPLE_FLUO))(str(SAMPLE_FLUO))
    assert [kind for *_, kind in layers] == ["image"] * 3
    assert layers[0][0].shape == (8, 216, 216)


def test_fit_output_folder_opens_with_the_grid_placement(tmp_path, sample_fit):
    from cellmech.outputs import run_report, write_fit_outputs

    force_map, fit = sample_fit
    write_fit_outputs(
        tmp_path, force_map, fit, run_report(force_map, fit, settings={}, timing_s={})
    )
    for path in (tmp_path, tmp_path / "run.json"):
        layers = get_reader(str(path))(str(path))
        names = [kw["name"] for _, kw, _ in layers]
        assert "Young's modulus log10(E/kPa)" in names and "zero_force_height (µm)" in names
        data, kw, _ = layers[names.index("zero_force_height (µm)")]
        np.testing.assert_allclose(
            data[force_map.row, force_map.col], fit.zero_force_height_m * 1e6, rtol=1e-5
        )
        xs, ys = force_map.grid.pixel_centres_m()
        np.testing.assert_allclose(kw["translate"], (ys[0, 0] * 1e6, xs[0, 0] * 1e6))
    maps_only = get_reader(str(tmp_path / "maps.ome.tif"))(str(tmp_path / "maps.ome.tif"))
    assert len(maps_only) == 8 and maps_only[0][1]["scale"] == pytest.approx((3.0, 3.0))


def test_run_output_folder_opens_in_the_fluorescence_frame(tmp_path, sample_result):
    from napari_cellmech import _layers

    from cellmech.pipeline import write_sample_run

    write_sample_run(tmp_path / "run", sample_result)
    layers = get_reader(str(tmp_path / "run"))(str(tmp_path / "run"))
    by_name = {kw["name"]: (data, kw, kind) for data, kw, kind in layers}
    seg, reg = sample_result.segmentation, sample_result.registration
    assert {"cytoplasm", "nucleus", "stiffness_marker"} <= set(by_name)
    data, kw, kind = by_name["cells"]
    assert kind == "labels"
    np.testing.assert_array_equal(data, seg.cell_labels)
    x0, y0 = seg.origin_m
    np.testing.assert_allclose(kw["translate"], (y0 * 1e6, x0 * 1e6))  # stage frame
    np.testing.assert_allclose(by_name["cytoplasm"][1]["translate"][1:], kw["translate"])
    data, kw, _ = by_name["Young's modulus log10(E/kPa)"]  # the AFM grid, registered
    expected = _layers.afm_to_world(sample_result.force_map.grid, reg.afm_m_to_fluorescence_m)
    np.testing.assert_allclose(kw["affine"], expected, atol=1e-9)
    assert data.shape == sample_result.force_map.grid.shape
    assert not by_name["Young's modulus log10(E/kPa) (fluorescence grid)"][1]["visible"]
    # a labels file alone opens as Labels too (no stage position recorded: at the origin)
    (cells, kw, kind), _ = get_reader(str(tmp_path / "run" / "labels.ome.tif"))(
        str(tmp_path / "run" / "labels.ome.tif")
    )
    assert kind == "labels" and kw["name"] == "cells" and cells.max() == seg.cell_labels.max()
