"""The dock widget running the full pipeline on the sample pair, headless under Xvfb: the
layers' placement (label centroids vs AFM curve centroids in world coordinates), the cell
table linked to the labels, the landmark registration and a screenshot."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

pytest.importorskip("napari")
pytest.importorskip("pytestqt")

from napari_cellmech import _layers
from napari_cellmech._landmark_panel import AFM_POINTS, FLUO_POINTS
from napari_cellmech._result import CELL_E_LAYER, CELLS_LAYER, FOOTPRINT_LAYER, NUCLEI_LAYER

from cellmech.register import read_landmarks
from tests.plugins.conftest import SAMPLE_DIR, open_sample

E_LAYER = "Young's modulus log10(E/kPa)"
HEIGHT_LAYER = "zero-force height (µm)"
SHOT = "/tmp/cellmech-napari-shot.png"


@pytest.fixture
def viewer_widget(make_napari_viewer):
    return open_sample(make_napari_viewer, threaded=False)


def _world(layer, rows, cols):
    """World (y, x) of data positions (rows, cols) through the layer's own transform."""
    return np.array([layer.data_to_world((r, c))[-2:] for r, c in zip(rows, cols, strict=True)])


def test_full_pipeline_layers_line_up(viewer_widget, tmp_path):
    viewer, widget = viewer_widget
    assert widget.fluo_combo.currentText() == "stiffness_marker"
    widget.run()
    result = widget.result
    assert result is not None and result.segmentation is not None, widget.status.text()
    assert widget.progress.value() == 1000 and "cells" in widget.status.text()
    seg, fm, a = result.segmentation, result.force_map, result.assignment
    names = [ly.name for ly in viewer.layers]
    for name in ("cytoplasm", "nucleus", E_LAYER, HEIGHT_LAYER, FOOTPRINT_LAYER, CELLS_LAYER):
        assert name in names
    assert names.index(CELLS_LAYER) > names.index(E_LAYER)  # outlines on top
    e_layer, cells = viewer.layers[E_LAYER], viewer.layers[CELLS_LAYER]
    assert [str(u) for u in e_layer.units] == ["micrometer", "micrometer"]
    assert not e_layer.visible and not viewer.layers[HEIGHT_LAYER].visible  # not over the image
    on_cells = viewer.layers[CELL_E_LAYER]
    assert on_cells.visible and on_cells.colorbar.visible and "kPa" in widget.legend.text()
    np.testing.assert_allclose(on_cells.affine.affine_matrix, e_layer.affine.affine_matrix)
    finite = np.isfinite(on_cells.data)
    np.testing.assert_array_equal(on_cells.data[finite], e_layer.data[finite])
    cell_grid = np.zeros(fm.grid.shape, int)
    cell_grid[fm.row[a.curve_index], fm.col[a.curve_index]] = a.cell_id
    assert not finite[cell_grid == 0].any() and finite[cell_grid > 0].mean() > 0.9
    text = viewer.canvas.overlays.text
    assert "kPa" in text.text and text.visible
    np.testing.assert_array_equal(cells.data, seg.cell_labels)
    np.testing.assert_array_equal(viewer.layers[NUCLEI_LAYER].data, seg.nucleus_labels)
    assert cells.contour == 2
    # the fluorescence, labels and AFM layers share the stage frame (µm)
    fluo = viewer.layers["cytoplasm"]
    np.testing.assert_allclose(fluo.data_to_world((0, 5, 7))[1:], cells.data_to_world((5, 7)))
    x0, y0 = seg.origin_m
    np.testing.assert_allclose(cells.data_to_world((0, 0)), (y0 * 1e6, x0 * 1e6))
    # every measured cell: label centroid within one AFM pixel of its curves' centroid
    pitch_um = float(np.mean(fm.grid.pixel_size_m)) * 1e6
    checked = 0
    for cell_id in seg.cell_ids:
        curves = a.curve_index[a.cell_id == cell_id]
        if curves.size < 5:
            continue
        rr, cc = np.nonzero(seg.cell_labels == cell_id)
        label_world = _world(cells, [rr.mean()], [cc.mean()])[0]
        curve_world = _world(e_layer, fm.row[curves], fm.col[curves]).mean(axis=0)
        assert np.hypot(*(label_world - curve_world)) < pitch_um, cell_id
        checked += 1
    assert checked >= 3  # the sample's three cells inside the map
    # the input height map joined the stage frame (hidden); a click shows the curve there
    (source,) = [ly for ly in viewer.layers if ly.name.endswith("height at setpoint (µm)")]
    assert not source.visible
    np.testing.assert_allclose(source.data_to_world((4, 9)), e_layer.data_to_world((4, 9)))
    i = int(a.curve_index[a.cell_id == seg.cell_ids[0]][0])
    y, x = on_cells.data_to_world((fm.row[i] + 0.3, fm.col[i] - 0.3))
    view = widget.inspect((2.0, y, x))
    assert view is not None and view.curve == i and view.model_nn is not None
    # the table is the per-cell table, in display units
    assert widget.table.rowCount() == result.cells.n_cells
    headers = [
        widget.table.horizontalHeaderItem(j).text() for j in range(widget.table.columnCount())
    ]
    assert "youngs_modulus_median (kPa)" in headers and "area (µm²)" in headers
    assert cells.features["cell_id"].tolist() == result.cells.to_frame()["cell_id"].tolist()
    # the screenshot of the overlay (looked at by eye: see docs/napari.md)
    viewer.dims.set_point(0, 0.0)
    viewer.reset_view()
    shot = viewer.screenshot(str(tmp_path / "pipeline.png"), canvas_only=True)
    shutil.copy(tmp_path / "pipeline.png", SHOT)
    assert shot.ndim == 3 and shot[..., :3].std() > 10  # not blank
    names = {p.name for p in widget.export(tmp_path / "out")}  # what `cellmech run` writes
    assert {"cells.csv", "labels.ome.tif", "registration.json", "report.html", "run.json"} <= names


def test_table_and_labels_select_each_other(viewer_widget, sample_result):
    viewer, widget = viewer_widget
    widget._on_result(sample_result)
    cells, table = viewer.layers[CELLS_LAYER], widget.table
    ids = table.cell_ids
    assert ids.tolist() == sample_result.cells.to_frame()["cell_id"].tolist()
    table.selectRow(1)  # row -> label
    assert cells.selected_label == ids[1] and cells.show_selected_label
    target = int(ids[0])
    rr, cc = np.nonzero(cells.data == target)
    world = (2.0, *cells.data_to_world((rr[len(rr) // 2], cc[len(cc) // 2])))  # z of the stack
    assert widget.pick_cell(world) == target  # click -> label and row
    assert cells.selected_label == target
    assert {i.row() for i in table.selectedIndexes()} == {0}
    cells.selected_label = int(ids[2])  # napari's own selection -> row
    assert {i.row() for i in table.selectedIndexes()} == {2}
    background = cells.data_to_world(tuple(np.argwhere(cells.data == 0)[0]))
    assert widget.pick_cell(background) == 0
    assert not cells.show_selected_label and not table.selectedIndexes()


def test_landmarks_register_from_points(viewer_widget, sample_result):
    viewer, widget = viewer_widget
    widget._on_result(sample_result)
    truth = json.loads((SAMPLE_DIR / "truth.json").read_text())["transform"]
    afm_to_fluo_px = np.asarray(truth["afm_px_to_fluo_px"])
    seg, grid = sample_result.segmentation, sample_result.force_map.grid
    afm_px = np.array([[2, 3], [21, 4], [4, 21], [19, 19], [11, 12], [3, 12], [16, 9]], float)
    fluo_px = (afm_to_fluo_px @ np.column_stack([afm_px, np.ones(len(afm_px))]).T).T[:, :2]
    fluo_px[-1] += (12.0, -9.0)  # one outlier: 7.5 µm off
    shown = _layers.afm_to_world(grid, widget.afm_m_to_world)  # as the AFM maps are shown
    widget.landmarks.add_layers()
    viewer.layers[AFM_POINTS].data = _apply(shown, afm_px)
    viewer.layers[FLUO_POINTS].data = _apply(
        _layers.pixel_to_world(seg.pixel_size_m, seg.origin_m), fluo_px
    )
    reg = widget.landmarks.apply()
    info = reg.parameters["landmarks"]
    assert reg.method == "landmarks" and info["outliers"] == [6] and info["n_inliers"] == 6
    assert max(info["residuals_m"][:6]) < 1e-9  # the truth is a similarity
    assert info["residuals_m"][6] > 5e-6
    rows, cols = np.mgrid[0:24:23j, 0:24:23j]
    corners = np.column_stack([rows.ravel(), cols.ravel()])
    np.testing.assert_allclose(_apply(reg.afm_px_to_fluorescence_px, corners),
                               _apply(afm_to_fluo_px, corners), atol=1e-6)  # fmt: skip
    text = widget.landmarks.residuals.text()
    assert "pair 7" in text and "outlier" in text and "6/7 inliers" in text
    # the AFM layers moved to the landmark registration
    e_layer = viewer.layers[E_LAYER]
    expected = _apply(_layers.pixel_to_world(seg.pixel_size_m, seg.origin_m),
                      _apply(afm_to_fluo_px, corners))  # fmt: skip
    np.testing.assert_allclose(_world(e_layer, *corners.T), expected, atol=1e-6)
    assert len(viewer.layers[FOOTPRINT_LAYER].data) >= 3
    pairs = read_landmarks(widget.landmarks.csv_path)  # what the next Run uses
    np.testing.assert_allclose(pairs.fluo, fluo_px, atol=1e-9)


def _apply(matrix, points):
    pts = np.column_stack([np.asarray(points, float), np.ones(len(points))])
    return (np.asarray(matrix) @ pts.T).T[:, :2]
