"""The pipeline loads only the channels preprocessing reads, with identical results."""

from __future__ import annotations

import numpy as np
import pytest

from cellmech.errors import ConfigError
from cellmech.fit import FitOptions, fit_curves
from cellmech.io import read_force_map
from cellmech.mapfit import fit_block
from cellmech.preprocess import PreprocessOptions, preprocess, required_fields
from tests.conftest import real_afm_file


def test_required_fields_follow_the_options():
    auto = PreprocessOptions()
    assert required_fields(auto, has_measured_height=True) == {"measured_height_m"}
    assert required_fields(auto, has_measured_height=False) == {"height_m"}
    piezo = PreprocessOptions(height_source="piezo", tilt_axis="time")
    assert required_fields(piezo, has_measured_height=True) == {"height_m", "time_s"}


@pytest.mark.parametrize(
    "options",
    [PreprocessOptions(), PreprocessOptions(height_source="piezo", tilt_axis="time")],
    ids=["defaults", "piezo+time-tilt"],
)
def test_lean_loading_gives_the_same_fit_as_loading_everything(options):
    fm = read_force_map(real_afm_file("fmt-jpk-fd_map2x2_extracted.jpk-force-map"))
    idx = np.arange(fm.n_curves)
    lean = fit_block(fm, idx, options, FitOptions())
    full = fit_curves(preprocess(fm.curves(idx), fm.spring_constant_n_per_m, options))
    for name in ("status", *type(lean).FLOAT_FIELDS):
        np.testing.assert_array_equal(getattr(lean, name), getattr(full, name), err_msg=name)
    assert (lean.status == 0).all()


def test_preprocess_refuses_a_block_without_the_height_it_needs():
    fm = read_force_map(real_afm_file("fmt-jpk-fd_map2x2_extracted.jpk-force-map"))
    block = fm.curves([0], fields={"measured_height_m"})
    with pytest.raises(ConfigError, match="without the piezo height"):
        preprocess(block, fm.spring_constant_n_per_m, PreprocessOptions(height_source="piezo"))
