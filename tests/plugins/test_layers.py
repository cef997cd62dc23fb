"""Pure layer converters: placement, units, colour scale, labels (no viewer needed)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from napari_cellmech import _layers

from cellmech.containers import GridGeometry
from cellmech.gridmaps import fit_maps
from cellmech.io import read_fluorescence
from tests.plugins.conftest import SAMPLE_FLUO


def _grids():
    rng = np.random.default_rng(7)
    for theta, reflect in ((0.0, False), (0.4, False), (-1.2, True), (np.pi / 2, False)):
        yield GridGeometry(
            shape=(int(rng.integers(2, 40)), int(rng.integers(2, 40))),
            center_m=tuple(rng.normal(0, 50e-6, 2)),
            size_m=tuple(rng.uniform(10e-6, 100e-6, 2)),
            theta_rad=theta,
            reflect=reflect,
        )


@pytest.mark.parametrize("grid", list(_grids()))
def test_afm_to_world_puts_pixel_centres_at_scanner_positions(grid):
    matrix = _layers.afm_to_world(grid)
    rr, cc = np.indices(grid.shape)
    y = matrix[0, 0] * rr + matrix[0, 1] * cc + matrix[0, 2]
    x = matrix[1, 0] * rr + matrix[1, 1] * cc + matrix[1, 2]
    xs, ys = grid.pixel_centres_m()
    np.testing.assert_allclose(x, xs * 1e6, atol=1e-9)
    np.testing.assert_allclose(y, ys * 1e6, atol=1e-9)


@pytest.mark.parametrize("grid", list(_grids()))
def test_placement_is_scale_translate_only_for_axis_aligned_grids(grid):
    where = _layers.placement(_layers.afm_to_world(grid))
    assert where["units"] == ("um", "um")
    if grid.theta_rad == 0 and not grid.reflect:
        assert "affine" not in where
        pitch = grid.pixel_size_m
        np.testing.assert_allclose(where["scale"], (pitch[0] * 1e6, pitch[1] * 1e6))
        xs, ys = grid.pixel_centres_m()
        np.testing.assert_allclose(where["translate"], (ys[0, 0] * 1e6, xs[0, 0] * 1e6))
    else:
        np.testing.assert_allclose(where["affine"], _layers.afm_to_world(grid))


def test_registration_is_composed_after_the_grid():
    grid = next(_grids())
    shift = np.array([[1.0, 0, 5e-6], [0, 1.0, -3e-6], [0, 0, 1]])
    moved = _layers.afm_to_world(grid, shift)
    plain = _layers.afm_to_world(grid)
    np.testing.assert_allclose(moved[:2, 2] - plain[:2, 2], (-3.0, 5.0))  # (y, x) in µm


def test_single_curve_grid_gets_a_one_micrometre_pixel():
    grid = GridGeometry(shape=(1, 1), center_m=(2e-6, 3e-6), size_m=(0.0, 0.0))
    where = _layers.placement(_layers.afm_to_world(grid))
    assert where["scale"] == (1.0, 1.0)
    np.testing.assert_allclose(where["translate"], (3.0, 2.0))


def test_log_modulus_and_legend_in_kpa():
    e = np.array([[100.0, 1e3, np.nan], [1e4, -5.0, 1e9]])
    log = _layers.log_modulus_kpa(e)
    np.testing.assert_allclose(log[0, :2], (-1.0, 0.0))
    assert np.isnan(log[0, 2]) and np.isnan(log[1, 1])
    lo, hi = _layers.modulus_contrast_limits(log)
    assert hi == _layers.MODULUS_CLIP_LOG_KPA[1]  # the 1 GPa dish saturates
    assert lo == pytest.approx(np.percentile(log[np.isfinite(log)], 2))
    assert "0.1 kPa" in _layers.modulus_legend((-1.0, 1.0))
    assert "10 kPa" in _layers.modulus_legend((-1.0, 1.0))


def test_fit_layers_hold_the_grid_maps(sample_fit):
    force_map, fit = sample_fit
    (height, h_kw, h_type), (modulus, e_kw, e_type) = _layers.fit_layers(force_map, fit)
    maps = fit_maps(force_map, fit)
    assert h_type == e_type == "image"
    np.testing.assert_allclose(height, maps["zero_force_height_m"] * 1e6, rtol=1e-6)
    np.testing.assert_allclose(
        modulus, np.log10(maps["youngs_modulus_pa"] / 1e3), rtol=1e-5, equal_nan=True
    )
    assert np.isnan(modulus).sum() == np.isnan(maps["youngs_modulus_pa"]).sum()
    for kw in (h_kw, e_kw):
        assert kw["units"] == ("um", "um")
        np.testing.assert_allclose(kw["scale"], (3.0, 3.0))
        grid = kw["metadata"]["cellmech"]["curve_index"]
        assert grid[force_map.row[10], force_map.col[10]] == 10
    assert e_kw["colormap"] == "viridis"
    assert "kPa" in e_kw["metadata"]["legend"]


def test_fluorescence_layers_sit_at_the_stage_position():
    stack = read_fluorescence(SAMPLE_FLUO)
    layers = _layers.fluorescence_layers(stack)
    assert [kw["name"] for _, kw, _ in layers] == list(stack.channel_names)
    data, kw, kind = layers[1]
    assert kind == "image" and data.shape == stack.shape[1:]
    x0, y0 = stack.stage_position_m
    np.testing.assert_allclose(kw["translate"], (0.0, y0 * 1e6, x0 * 1e6))
    np.testing.assert_allclose(kw["scale"][1:], np.array(stack.pixel_size_m) * 1e6)
    assert kw["units"] == ("um", "um", "um")


def test_labels_layer_features_are_indexed_by_label():
    labels = np.zeros((5, 6), int)
    labels[1:3, 1:3], labels[3:, 4:] = 2, 5
    cells = pd.DataFrame({"cell_id": [2, 5], "youngs_modulus_median_pa": [1e3, 2e3]})
    data, kw, kind = _layers.labels_layer(
        labels, (0.5e-6, 0.25e-6), (10e-6, 20e-6), name="cells", features=cells
    )
    assert kind == "labels" and data.dtype == np.int32
    assert kw["features"]["index"].tolist() == [2, 5]
    np.testing.assert_allclose(kw["scale"], (0.5, 0.25))
    np.testing.assert_allclose(kw["translate"], (20.0, 10.0))


def test_result_layers_of_a_full_run(sample_result):
    from napari_cellmech._result import CELL_E_LAYER, FOOTPRINT_LAYER, result_layers

    layers = result_layers(sample_result)
    by_name = {kw["name"]: (data, kw, kind) for data, kw, kind in layers}
    seg, reg = sample_result.segmentation, sample_result.registration
    assert [kw["name"] for *_, kw, _ in layers][-2:] == ["nuclei", "cells"]  # outlines on top
    expected = _layers.afm_to_world(sample_result.force_map.grid, reg.afm_m_to_fluorescence_m)
    np.testing.assert_allclose(by_name[CELL_E_LAYER][1]["affine"], expected)
    assert by_name[CELL_E_LAYER][1].get("visible", True)
    assert by_name["zero-force height (µm)"][1]["visible"] is False
    # every registered footprint outline encloses a segmented cell: its centre is inside one
    paths, _, kind = by_name[FOOTPRINT_LAYER]
    assert kind == "shapes" and len(paths) >= 3
    to_px = np.linalg.inv(_layers.pixel_to_world(seg.pixel_size_m, seg.origin_m))
    for path in paths:
        if len(path) < 10:  # a stray curve or two above the dish
            continue
        row, col, _ = to_px @ np.array([*path.mean(axis=0), 1.0])
        assert seg.cell_labels[round(row), round(col)] > 0


def test_result_layers_of_an_afm_only_run(sample_fit):
    from napari_cellmech._result import result_layers

    from cellmech.pipeline import SampleResult, make_settings

    force_map, fit = sample_fit
    layers = result_layers(SampleResult(force_map, fit, make_settings()))
    assert [kind for *_, kind in layers] == ["image", "image"]
    assert all("affine" not in kw for _, kw, _ in layers)  # the scanner frame
