"""Fixtures of the napari plugin tests: the bundled sample and its AFM-only fit."""

from __future__ import annotations

from pathlib import Path

import pytest

SAMPLE_DIR = Path(__file__).resolve().parents[2] / "sample_data"
SAMPLE_AFM = SAMPLE_DIR / "sample.jpk-force-map"
SAMPLE_FLUO = SAMPLE_DIR / "sample.ome.tif"


@pytest.fixture(scope="session")
def sample_fit():
    """``(force_map, fit)`` of the sample map with default options."""
    from cellmech.io import read_force_map
    from cellmech.mapfit import fit_map

    force_map = read_force_map(SAMPLE_AFM)
    return force_map, fit_map(force_map)


@pytest.fixture(scope="session")
def sample_result():
    """The full pipeline's :class:`~cellmech.pipeline.SampleResult` of the sample pair."""
    from napari_cellmech._worker import run_analysis

    return run_analysis(SAMPLE_AFM, SAMPLE_FLUO)


def open_sample(make_napari_viewer, threaded: bool = True):
    """``(viewer, widget)``: a shown viewer holding File > Open Sample > cellmech and the dock
    widget on it (a hidden canvas screenshots black)."""
    from napari_cellmech._sample import make_sample_data
    from napari_cellmech._widget import CellmechWidget

    viewer = make_napari_viewer(show=True)
    for data, kwargs, kind in make_sample_data():
        getattr(viewer, f"add_{kind}")(data, **kwargs)
    return viewer, CellmechWidget(viewer, threaded=threaded)
