"""The dock widget on the sample (AFM-only run, cancel and errors), headless under Xvfb.

Needs napari and a Qt binding (skipped without them); pytest-xvfb starts Xvfb
(QT_QPA_PLATFORM=offscreen crashes once an image layer is drawn).
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("napari")
pytest.importorskip("pytestqt")

from napari_cellmech._widget import FROM_FILE, NO_FLUORESCENCE, CellmechWidget

from cellmech.gridmaps import fit_maps
from cellmech.synthetic import SAMPLE_DATA_OPTIONS
from tests.plugins.conftest import SAMPLE_AFM, open_sample

E_LAYER = "Young's modulus log10(E/kPa)"


@pytest.fixture
def viewer_widget(make_napari_viewer):
    return open_sample(make_napari_viewer)


def test_sample_data_layers(viewer_widget):
    viewer, widget = viewer_widget
    assert [ly.name for ly in viewer.layers][:3] == ["cytoplasm", "nucleus", "stiffness_marker"]
    afm = viewer.layers[-1]
    assert afm.metadata["cellmech"]["afm_path"] == str(SAMPLE_AFM)
    assert widget.afm_combo.currentText() == afm.name  # offered as the AFM source
    # the sample's tip (the JPK file does not store it) fills the tip fields
    fit = widget.settings().fit
    assert fit.model == SAMPLE_DATA_OPTIONS.model
    assert fit.geometry == pytest.approx(dict(SAMPLE_DATA_OPTIONS.geometry), rel=1e-12)


def test_widget_runs_the_afm_fit_and_inspects_a_click(viewer_widget, qtbot, tmp_path):
    viewer, widget = viewer_widget
    assert widget.fluo_combo.currentText() == "stiffness_marker"  # the sample's stack offered
    widget.fluo_combo.setCurrentText(NO_FLUORESCENCE)  # AFM-only fit
    widget.run()
    assert widget.worker is not None  # threaded by default
    qtbot.waitUntil(lambda: widget.run_button.isEnabled(), timeout=180_000)
    assert widget.result is not None, widget.status.text()
    assert widget.progress.value() == 1000
    layer = viewer.layers[E_LAYER]
    fm, fit = widget.result.force_map, widget.result.fit
    expected = np.log10(fit_maps(fm, fit)["youngs_modulus_pa"] / 1e3)
    np.testing.assert_allclose(layer.data, expected, rtol=1e-5, equal_nan=True)
    xs, ys = fm.grid.pixel_centres_m()
    np.testing.assert_allclose(layer.translate, (ys[0, 0] * 1e6, xs[0, 0] * 1e6))
    np.testing.assert_allclose(layer.scale, np.array(fm.grid.pixel_size_m) * 1e6)
    assert [str(u) for u in layer.units] == ["micrometer", "micrometer"]
    np.testing.assert_allclose(layer.affine.affine_matrix, np.eye(3))
    assert layer.colorbar.visible and "kPa" in widget.legend.text()
    # the world position of a pixel centre (row 5, col 7) shows that curve and its fit
    i = int(np.flatnonzero((fm.row == 5) & (fm.col == 7))[0])
    view = widget.inspect((1.0, ys[5, 7] * 1e6 + 0.4, xs[5, 7] * 1e6 - 0.4))  # z of the stack
    assert view is not None and view.curve == i
    assert len(widget.figure.axes) == 2
    viewer.reset_view()
    shot = viewer.screenshot(str(tmp_path / "viewer.png"), canvas_only=True)
    assert shot.ndim == 3 and shot.shape[2] == 4
    assert shot[..., :3].std() > 10  # something was drawn (a hidden canvas gives all black)
    paths = widget.export(tmp_path / "out")
    assert {p.name for p in paths} >= {"maps.ome.tif", "curves.csv", "run.json"}


def test_cancel_and_errors_become_notifications(make_napari_viewer, monkeypatch):
    import napari_cellmech._widget as w

    shown = []
    monkeypatch.setattr(w, "show_error", shown.append)
    monkeypatch.setattr(w, "show_info", shown.append)
    viewer = make_napari_viewer()
    widget = CellmechWidget(viewer, threaded=False)
    widget.afm_combo.setCurrentText(FROM_FILE)
    widget.afm_path.setText(str(SAMPLE_AFM))
    reports = []
    widget._relay.progressed.connect(lambda stage, fraction: reports.append(stage))
    widget._relay.progressed.connect(lambda stage, fraction: widget.cancel())  # first report
    widget.run()
    assert widget.status.text() == "cancelled" and widget.result is None
    assert reports == ["fit"] and "cancelled during fit" in shown[-1]  # stopped at chunk 1
    assert widget.run_button.isEnabled() and not widget.cancel_button.isEnabled()
    widget._relay.progressed.disconnect()
    widget.afm_path.setText("/nonexistent/map.jpk-force-map")
    widget.run()
    assert widget.status.text() == "failed" and "map.jpk-force-map" in shown[-1]
    widget.options.fields[("fit", "poisson_ratio")][1].setText("0.9")
    widget.run()
    assert "poisson_ratio" in shown[-1]
    assert len(viewer.layers) == 0
