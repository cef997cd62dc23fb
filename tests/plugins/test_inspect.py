"""Curve inspector: click -> curve, and the fitted model curve of the fit."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
from napari_cellmech import _layers
from napari_cellmech._inspect import curve_at, curve_view, plot_curve

from cellmech.containers import CurveStatus, GridGeometry
from cellmech.models import fitted_force
from cellmech.preprocess import PreprocessOptions, preprocess

matplotlib.use("Agg")


@pytest.mark.parametrize("theta, reflect", [(0.0, False), (0.7, False), (2.0, True)])
def test_click_finds_the_pixel_through_the_affine(theta, reflect):
    grid = GridGeometry((6, 9), (3e-6, -4e-6), (45e-6, 30e-6), theta, reflect)
    index = np.arange(54).reshape(6, 9)
    index[2, 3] = -1
    matrix = _layers.afm_to_world(grid)
    rng = np.random.default_rng(int(theta * 10))
    for row, col in [(0, 0), (5, 8), (4, 1)]:
        offset = rng.uniform(-0.45, 0.45, 2)  # anywhere inside the pixel
        y, x, _ = matrix @ np.array([row + offset[0], col + offset[1], 1.0])
        assert curve_at((y, x), matrix, index) == (row, col, index[row, col])
        assert curve_at((7.0, y, x), matrix, index) == (row, col, index[row, col])  # 3-D world
    y, x, _ = matrix @ np.array([2.0, 3.0, 1.0])
    assert curve_at((y, x), matrix, index) is None  # no curve there
    y, x, _ = matrix @ np.array([-1.0, 3.0, 1.0])
    assert curve_at((y, x), matrix, index) is None  # outside the grid


def test_fitted_curve_reproduces_the_fit_residual(sample_fit):
    force_map, fit = sample_fit
    ok = np.flatnonzero(fit.status == CurveStatus.OK)[::10][:12]
    assert ok.size >= 10
    curves = preprocess(
        force_map.curves(ok), force_map.spring_constant_n_per_m, PreprocessOptions()
    )
    for j, i in enumerate(ok):
        x, force = curves.curve(j)
        residual = fitted_force(fit, int(i), x) - force
        # the whole approach is fitted (default range): the model's RMS residual is the fit's
        assert np.sqrt(np.mean(residual**2)) == pytest.approx(fit.rms_residual_n[i], rel=1e-9)


def test_curve_view_and_plot(sample_fit):
    from matplotlib.figure import Figure

    force_map, fit = sample_fit
    i = int(np.flatnonzero(fit.status == CurveStatus.OK)[3])
    view = curve_view(force_map, i, fit)
    assert (view.row, view.col) == (force_map.row[i], force_map.col[i])
    assert view.model_nn is not None and view.model_nn.shape == view.force_nn.shape
    assert view.retract is not None
    assert view.values["status"] == "ok" and view.values["E"].endswith("kPa")
    assert np.nanmax(view.indentation_um) == pytest.approx(fit.indentation_max_m[i] * 1e6, rel=1e-6)
    fig = Figure()
    plot_curve(view, fig)
    assert len(fig.axes) == 2 and len(fig.axes[1].lines) == 2
    unfitted = curve_view(force_map, i)
    assert unfitted.model_nn is None and "status (preprocessing)" in unfitted.values
