"""Contact-model fit: ground-truth recovery for every model, ranges, weighting, bad curves."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import least_squares

from cellmech.containers import CurveBlock, CurveSegment, CurveStatus, FitResult, IndentationCurves
from cellmech.errors import ConfigError
from cellmech.fit import FitOptions, fit_curves
from cellmech.io import read_force_map
from cellmech.models import MODEL_KEYS, force_per_modulus, get_model
from cellmech.pipeline import PRESETS
from cellmech.preprocess import PreprocessOptions, preprocess
from tests.conftest import real_afm_file
from tests.helpers import synthetic_block

K = 0.02  # spring constant of the synthetic curves, N/m
TILTED = PreprocessOptions(tilt_axis="height")
NANITE_PRE = PreprocessOptions(**PRESETS["nanite"]["preprocess"])
NANITE_FIT = FitOptions(**PRESETS["nanite"]["fit"])


def fitted(block: CurveBlock, options: FitOptions = FitOptions(), **kw) -> FitResult:  # noqa: B008
    return fit_curves(preprocess(block, K, kw.pop("pre", PreprocessOptions())), options, **kw)


@pytest.mark.parametrize("model", MODEL_KEYS)
@pytest.mark.parametrize("modulus_pa", [1e3, 10e3])
def test_recovers_modulus_and_contact_for_every_model(model: str, modulus_pa: float) -> None:
    """E within 1 % and the contact point within 20 nm, through noise (20 pN), a force offset
    (0.3 nN) and a baseline tilt (1 nN over 10 µm); 1.5 µm indentation for spheres, 3 µm for
    the sharp tips (0.9 nN at 1 kPa and 1.5 µm would leave a ~1.5 % statistical scatter)."""
    depth_m = 1.5e-6 if get_model(model).TIP_FAMILY == "spherical" else 3e-6
    block, truth = synthetic_block(
        8,
        model=model,
        youngs_modulus_pa=modulus_pa,
        depth_m=depth_m,
        noise_n=20e-12,
        offset_n=0.3e-9,
        tilt_n_per_m=1e-4,
        n_points=4000,
    )
    curves = preprocess(block, K, TILTED)
    res = fit_curves(curves, FitOptions(model=model))
    assert np.all(res.status == CurveStatus.OK)
    np.testing.assert_allclose(res.youngs_modulus_pa, modulus_pa, rtol=0.01)
    cp = res.contact_point_m + curves.tip_offset_m
    np.testing.assert_allclose(cp, truth["contact_point_m"], rtol=0, atol=20e-9)
    np.testing.assert_allclose(res.indentation_max_m, depth_m, rtol=0.03)
    assert np.all(res.r_squared > 0.99)
    np.testing.assert_allclose(res.rms_residual_n, 20e-12, rtol=0.15)


def test_matches_independent_least_squares() -> None:
    """Same optimum as scipy's least_squares on the same weighted residuals (started at the
    truth): E within 0.1 %, and our weighted sum of squares is not larger."""
    block, truth = synthetic_block(1, youngs_modulus_pa=3e3, noise_n=50e-12)
    curves = preprocess(block, K, NANITE_PRE)
    res = fit_curves(curves, NANITE_FIT)
    x, y = curves.curve(0)

    def residual(p: np.ndarray) -> np.ndarray:
        e, cp, b = p[0] * 1e3, p[1] * 1e-6, p[2] * 1e-12
        weight = np.minimum(np.abs(x - cp) / 1e-6, 1.0)
        return weight * (y - b - e * force_per_modulus("hertz_paraboloidal", cp - x)) * 1e12

    start = [3.0, (truth["contact_point_m"][0] - curves.tip_offset_m[0]) * 1e6, 0.0]
    ref = least_squares(residual, start, x_scale=[1, 0.01, 1], xtol=1e-12, ftol=1e-12).x
    ours = [res.youngs_modulus_pa[0] / 1e3, res.contact_point_m[0] * 1e6, res.baseline_n[0] * 1e12]
    assert res.youngs_modulus_pa[0] == pytest.approx(ref[0] * 1e3, rel=1e-3)
    assert np.sum(residual(np.array(ours)) ** 2) <= np.sum(residual(ref) ** 2) * (1 + 1e-6)


@pytest.mark.parametrize(
    ("options", "depth_m"),
    [
        (FitOptions(fit_range="indentation", range_min_m=-3e-6, range_max_m=0.6e-6), 0.6e-6),
        (FitOptions(fit_range="tip_position", range_min_m=-0.7e-6, range_max_m=4e-6), 0.7e-6),
        (FitOptions(fit_range="force", force_max_n=20e-9), 0.796e-6),
    ],
)
def test_fit_ranges_limit_the_indentation(options: FitOptions, depth_m: float) -> None:
    """Partial ranges still recover E (1 %) and stop at the asked depth (or force)."""
    block, _ = synthetic_block(4, youngs_modulus_pa=5e3, depth_m=1.5e-6, n_points=4000)
    res = fitted(block, options)
    assert np.all(res.status == CurveStatus.OK)
    np.testing.assert_allclose(res.youngs_modulus_pa, 5e3, rtol=0.01)
    np.testing.assert_allclose(res.indentation_max_m, depth_m, rtol=0.06)


def test_weighting_can_be_switched_off() -> None:
    """Unweighted fits recover E too, and give different numbers than the weighted ones."""
    block, _ = synthetic_block(4, youngs_modulus_pa=5e3)
    weighted, plain = fitted(block, NANITE_FIT), fitted(block, FitOptions(weight_cp_m=0.0))
    np.testing.assert_allclose(plain.youngs_modulus_pa, 5e3, rtol=0.01)
    assert not np.allclose(plain.youngs_modulus_pa, weighted.youngs_modulus_pa, rtol=1e-6, atol=0)


def test_zero_force_height_is_the_contact_height() -> None:
    """The measured height where the tip touches (zero force) is the true contact height."""
    block, truth = synthetic_block(4, noise_n=10e-12)
    res = fitted(block)
    np.testing.assert_allclose(res.zero_force_height_m, truth["contact_point_m"], atol=10e-9)


def test_finite_thickness_correction() -> None:
    """A thin (4 µm) bonded layer: corrected fit recovers E, the uncorrected one is > 10 %
    too stiff; infinite thickness equals no correction; h <= 0 is invalid input."""
    block, truth = synthetic_block(4, youngs_modulus_pa=5e3, noise_n=10e-12)
    # rebuild the forces with the bottom-effect correction of a 4 µm layer
    curves = preprocess(block, K)
    x = np.where(curves.mask, curves.tip_position_m, 0.0)
    cp = truth["contact_point_m"] - curves.tip_offset_m
    force = 5e3 * force_per_modulus("hertz_paraboloidal", cp[:, None] - x, thickness_m=4e-6)
    rng = np.random.default_rng(1)
    thin = _with_force(curves, force + rng.normal(0, 10e-12, force.shape))
    corrected = fit_curves(thin, sample_thickness_m=np.full(4, 4e-6))
    np.testing.assert_allclose(corrected.youngs_modulus_pa, 5e3, rtol=0.01)
    assert np.all(fit_curves(thin).youngs_modulus_pa > 5.5e3)
    infinite = fit_curves(thin, sample_thickness_m=np.inf)
    np.testing.assert_allclose(infinite.youngs_modulus_pa, fit_curves(thin).youngs_modulus_pa)
    bad = fit_curves(thin, sample_thickness_m=np.array([4e-6, 0.0, -1.0, 4e-6]))
    assert bad.status.tolist() == [0, 4, 4, 0]
    assert np.isnan(bad.youngs_modulus_pa[1])


def _with_force(curves: IndentationCurves, force: np.ndarray) -> IndentationCurves:
    return IndentationCurves(
        curves.curve_index,
        curves.tip_position_m,
        np.where(curves.mask, force, np.nan),
        curves.n_points,
        curves.tip_offset_m,
        curves.contact_index,
        curves.status,
        curves.spring_constant_n_per_m,
    )


def test_bad_curves_get_status_codes_never_exceptions() -> None:
    """1-4 approach points, NaN, a flat (noise-only) curve and a curve stopping before contact
    give non-OK codes with NaN values; the good curve in the same block is unaffected."""
    block, _ = synthetic_block(6, youngs_modulus_pa=5e3)
    curves = [block.approach.curve(i) for i in range(6)]
    curves[1] = {k: v[:3] for k, v in curves[1].items()}
    curves[2]["force_n"] = np.where(np.arange(2000) == 50, np.nan, curves[2]["force_n"])
    rng = np.random.default_rng(3)
    curves[3]["force_n"] = rng.normal(0, 20e-12, 2000)  # flat
    curves[4] = {k: v[:1500] for k, v in curves[4].items()}  # stops 1 µm above the sample
    curves[5] = {k: v[:1670] for k, v in curves[5].items()}  # touches for only 3 points
    res = fitted(CurveBlock(block.curve_index, CurveSegment.from_curves(curves), None))
    status = [CurveStatus(s) for s in res.status]
    assert status[:3] == [CurveStatus.OK, CurveStatus.TOO_FEW_POINTS, CurveStatus.INVALID_INPUT]
    assert status[3] in (CurveStatus.POOR_FIT, CurveStatus.NO_CONTACT)
    assert status[4] in (CurveStatus.POOR_FIT, CurveStatus.NO_CONTACT)
    assert status[5] in (CurveStatus.POOR_FIT, CurveStatus.NO_CONTACT)
    assert res.youngs_modulus_pa[0] == pytest.approx(5e3, rel=0.01)
    failed = (res.status != CurveStatus.OK) & (res.status != CurveStatus.POOR_FIT)
    assert np.all(np.isnan(res.youngs_modulus_pa[failed]))


@pytest.mark.realdata
def test_single_bad_recording_is_poor_fit() -> None:
    fmap = read_force_map(real_afm_file("fmt-jpk-fd_single_bad_2017-01-16_1.jpk-force"))
    res = fit_curves(preprocess(fmap.curves(), fmap.spring_constant_n_per_m))
    # the force never rises 6 noise units above the baseline: no contact (was poor_fit before
    # the honest statuses of issue 8)
    assert res.status_labels.tolist() == ["no_contact"]


def test_result_records_model_and_parameters() -> None:
    block, _ = synthetic_block(2)
    res = fitted(block, FitOptions(geometry={"tip_radius_m": 5e-6}))
    assert res.model == "hertz_paraboloidal"
    assert res.parameters["geometry"] == {"tip_radius_m": 5e-6}
    assert res.parameters["poisson_ratio"] == 0.5
    assert res.parameters["preprocessing"]["correct_tip_offset"] is True
    # half the radius, same forces: E scales with R^-1/2
    ref = fitted(block)
    np.testing.assert_allclose(res.youngs_modulus_pa, ref.youngs_modulus_pa * 2**0.5, rtol=1e-3)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"model": "hertz"}, "model"),
        ({"fit_range": "all"}, "fit_range"),
        ({"poisson_ratio": 0.7}, "poisson_ratio"),
        ({"geometry": {"radius": 1e-6}}, "radius"),
        ({"geometry": {"tip_radius_m": -1.0}}, "tip_radius_m"),
        ({"range_min_m": 1e-6, "range_max_m": 0.0}, "range_min_m"),
        ({"weight_cp_m": -1e-6}, "weight_cp_m"),
    ],
)
def test_invalid_options_raise_config_error(kwargs: dict, field: str) -> None:
    with pytest.raises(ConfigError, match=field):
        FitOptions(**kwargs)


def test_every_option_documents_help_and_unit() -> None:
    """Config and CLI are derived from the fields: each needs help text and a unit."""
    from dataclasses import fields

    for f in fields(FitOptions) + fields(PreprocessOptions):
        assert f.metadata["help"] and f.metadata["unit"], f.name
    assert get_model(FitOptions().model).KEY == "hertz_paraboloidal"


def test_empty_and_degenerate_blocks() -> None:
    """No curves, all-NaN curves and single points pass through with status codes."""
    empty = CurveBlock(np.arange(0), CurveSegment(np.empty((0, 0)), np.empty((0, 0)), np.zeros(0)))
    assert fitted(empty).n_curves == 0
    blank = np.full((2, 9), np.nan)
    nan = CurveBlock(np.arange(2), CurveSegment(blank, blank, [9, 9]))
    assert fitted(nan).status_labels.tolist() == ["invalid_input"] * 2
    single = CurveBlock(np.arange(2), CurveSegment(np.zeros((2, 1)), np.zeros((2, 1)), [1, 0]))
    assert fitted(single).status_labels.tolist() == ["too_few_points"] * 2
    ramp = np.linspace(1e-5, 0, 100)[None]
    zero = CurveBlock(np.arange(1), CurveSegment(ramp, np.zeros((1, 100)), [100]))
    res = fitted(zero)
    assert res.status_labels.tolist() == ["poor_fit"]
    assert res.youngs_modulus_pa[0] == 0.0


def test_each_curve_is_independent_of_its_block() -> None:
    """Fitting a curve alone or among others gives bitwise the same numbers (so any Dask
    chunking of a map gives the same result)."""
    block, _ = synthetic_block(5, youngs_modulus_pa=[1e3, 2e3, 5e3, 8e3, 20e3])
    together = fitted(block)
    alone = fitted(block.take([3]))
    for name in FitResult.FLOAT_FIELDS:
        assert getattr(alone, name)[0] == getattr(together, name)[3], name


def test_options_pickle_hash_and_stay_read_only() -> None:
    """Options and results travel to Dask workers (pickle) and cannot be changed in place."""
    import pickle

    opts = FitOptions(geometry={"tip_radius_m": 5e-6})
    again = pickle.loads(pickle.dumps(opts))
    assert again == opts
    assert hash(again) == hash(opts)
    assert pickle.loads(pickle.dumps(PreprocessOptions())) == PreprocessOptions()
    with pytest.raises(TypeError, match="read-only"):
        opts.geometry["tip_radius_m"] = 1e-6
    block, _ = synthetic_block(2)
    curves = preprocess(block, K)
    res = fit_curves(curves, opts)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(curves)).force_n, curves.force_n)
    back = pickle.loads(pickle.dumps(res))
    np.testing.assert_array_equal(back.youngs_modulus_pa, res.youngs_modulus_pa)
    assert back.parameters == res.parameters
