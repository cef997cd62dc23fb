"""Preprocessing: nanite's standard workflow reproduced, contact estimators, tilt, bad curves."""

from __future__ import annotations

import numpy as np
import pytest

from cellmech.containers import CurveBlock, CurveSegment, CurveStatus, IndentationCurves
from cellmech.errors import ConfigError
from cellmech.io import read_force_map
from cellmech.kernels.precore import assemble, contact_estimate, finish, spike_proof_peak
from cellmech.pipeline import PRESETS
from cellmech.preprocess import PreprocessOptions, preprocess
from tests.conftest import REAL_SPRING_CONSTANTS, real_afm_file
from tests.helpers import nanite_approach, synthetic_block

REAL_FILES = sorted(REAL_SPRING_CONSTANTS)


@pytest.mark.realdata
@pytest.mark.parametrize("name", REAL_FILES)
def test_defaults_reproduce_nanite_preprocessing(name: str) -> None:
    """Same approach length, tip position and force as nanite on every real curve."""
    path = real_afm_file(name)
    fmap = read_force_map(path)
    nanite = PreprocessOptions(**PRESETS["nanite"]["preprocess"])
    curves = preprocess(fmap.curves(), fmap.spring_constant_n_per_m, nanite)
    assert np.all(curves.status == CurveStatus.OK)
    for i in range(fmap.n_curves):
        tip_ref, force_ref = nanite_approach(path, i)
        tip, force = curves.curve(i)
        assert tip.size == tip_ref.size
        # nanite keeps float32 files (Igor) in float32: compare to its rounding
        rel = 1e-5 if tip_ref.dtype == np.float32 else 1e-12
        np.testing.assert_allclose(tip, tip_ref, rtol=0, atol=rel * np.ptp(tip_ref))
        np.testing.assert_allclose(force, force_ref, rtol=0, atol=rel * np.ptp(force_ref))


@pytest.mark.realdata
def test_flipped_height_axis_is_detected() -> None:
    """A block whose heights have the opposite sign gives the same indentation curves."""
    fmap = read_force_map(real_afm_file("fmt-jpk-fd_spot3-0192.jpk-force"))
    block = fmap.curves()
    flipped = CurveBlock(
        curve_index=block.curve_index,
        approach=_negated(block.approach),
        retract=_negated(block.retract),
    )
    k = fmap.spring_constant_n_per_m
    ref, out = preprocess(block, k), preprocess(flipped, k)
    assert out.n_points[0] == ref.n_points[0]
    np.testing.assert_allclose(out.tip_position_m, ref.tip_position_m, atol=1e-15)
    np.testing.assert_allclose(out.tip_offset_m, ref.tip_offset_m)


def _negated(seg: CurveSegment) -> CurveSegment:
    return CurveSegment(
        -seg.height_m, seg.force_n, seg.n_points, -seg.measured_height_m, seg.time_s
    )


@pytest.mark.parametrize(
    ("method", "late_m"), [("deviation_from_baseline", 50e-9), ("piecewise_linear", 250e-9)]
)
def test_contact_estimators_find_the_contact(method: str, late_m: float) -> None:
    """Estimates lie at or just past the true contact (a line fitted to the convex Hertz
    curve meets the baseline inside the contact region: <= 250 nm of 1 µm here)."""
    block, truth = synthetic_block(6, noise_n=10e-12)
    curves = preprocess(block, 0.02, PreprocessOptions(contact_method=method))
    late = truth["contact_point_m"] - curves.tip_offset_m
    assert np.all((late > -10e-9) & (late < late_m))
    assert np.all(curves.contact_index > 0)


@pytest.mark.parametrize(
    ("options", "passes_over"),
    [
        ({}, True),
        ({"contact_method": "piecewise_linear"}, True),
        (PRESETS["nanite"]["preprocess"], False),
    ],
)
def test_contact_estimates_skip_a_spike_in_the_baseline(options: dict, passes_over: bool) -> None:
    """A single spike early in the baseline, 4.2 µm before the contact, is not the contact:
    the threshold rule passes over a point that stands that far above both its neighbours,
    the piecewise-linear fit is not pulled by one point. nanite's rule (the nanite preset)
    stops at the spike."""
    block, truth = synthetic_block(1, noise_n=10e-12)
    force = block.approach.force_n.copy()
    force[0, 300] += 2e-9
    spiked = CurveBlock(
        block.curve_index,
        CurveSegment(block.approach.height_m, force, block.approach.n_points),
        block.retract,
    )
    fitted = preprocess(spiked, 0.02, PreprocessOptions(**options))
    late = truth["contact_point_m"][0] - fitted.tip_offset_m[0]
    if passes_over:
        assert 0 < late < 250e-9
    else:
        assert late < -4e-6


@pytest.mark.parametrize("axis", ["height", "time"])
def test_tilt_correction_flattens_the_baseline(axis: str) -> None:
    """A 2 nN/10 µm baseline tilt and 0.5 nN offset leave < 20 pN mean and < 2 pN/µm slope."""
    block, _ = synthetic_block(3, offset_n=0.5e-9, tilt_n_per_m=2e-4, noise_n=10e-12)
    if axis == "time":  # time runs linearly with the ramp, so the tilt is linear in time too
        t = np.broadcast_to(np.arange(block.approach.height_m.shape[1]) * 1e-3, (3, 2000))
        block = CurveBlock(
            block.curve_index,
            CurveSegment(*_fields(block.approach), time_s=t),
            CurveSegment(*_fields(block.retract), time_s=t + 2.0),
        )
    curves = preprocess(block, 0.02, PreprocessOptions(tilt_axis=axis))
    for i in range(3):
        tip, force = curves.curve(i)
        base = tip > 0.5e-6
        slope = np.polyfit(tip[base], force[base], 1)[0]
        assert abs(force[base].mean()) < 20e-12
        assert abs(slope) < 2e-12 / 1e-6


def _fields(seg: CurveSegment) -> tuple:
    return seg.height_m, seg.force_n, seg.n_points, seg.measured_height_m


def test_offset_only_leaves_the_tilt() -> None:
    """Without tilt correction the baseline keeps its slope (the option does something)."""
    block, _ = synthetic_block(1, tilt_n_per_m=2e-4, noise_n=10e-12)
    tip, force = preprocess(block, 0.02, PreprocessOptions(tilt_axis="none")).curve(0)
    base = tip > 0.5e-6
    assert np.polyfit(tip[base], force[base], 1)[0] == pytest.approx(2e-4, rel=0.05)


def test_smoothing_reduces_noise() -> None:
    """A 9-point moving average cuts white baseline noise by about 3."""
    block, _ = synthetic_block(2, noise_n=50e-12)
    raw = preprocess(block, 0.02)
    smooth = preprocess(block, 0.02, PreprocessOptions(smooth_window=9))
    ratio = np.std(raw.force_n[:, 100:1000]) / np.std(smooth.force_n[:, 100:1000])
    assert 2.5 < ratio < 3.5


def test_ragged_block_equals_curve_by_curve() -> None:
    """Padding does not leak: a ragged block gives what each curve gives alone."""
    block, _ = synthetic_block(3)
    lengths = np.array([2000, 1500, 1800])
    ragged = CurveBlock(
        block.curve_index,
        CurveSegment.from_curves(
            [{k: v[: lengths[i]] for k, v in block.approach.curve(i).items()} for i in range(3)]
        ),
        block.retract,
    )
    together = preprocess(ragged, 0.02)
    for i in range(3):
        alone = preprocess(ragged.take([i]), 0.02)
        # every curve is processed on its own, with sums in a fixed order: bitwise equal
        np.testing.assert_array_equal(alone.curve(0)[0], together.curve(i)[0])
        np.testing.assert_array_equal(alone.curve(0)[1], together.curve(i)[1])
        assert alone.tip_offset_m[0] == together.tip_offset_m[i]


@pytest.mark.parametrize("method", [0, 1])
def test_fused_kernel_equals_assemble_then_finish(method: int) -> None:
    """The one-launch path (assemble with every step: contact estimator, tilt, offsets,
    re-split) equals assemble followed by finish, the path taken when smoothing or a tilt
    versus time intervene."""
    block, _ = synthetic_block(5, offset_n=1e-10, tilt_n_per_m=2e-4, noise_n=10e-12)
    app, ret = block.approach, block.retract
    args = (app.height_m, app.force_n, ret.height_m, ret.force_n, app.n_points, ret.n_points)
    steps = (method, True, (True, True, True))
    rule = (0.1, True)
    fused = assemble(*args, 0.02, True, rule, steps)
    tip, force, _, _, contact, offset, turn, _ = assemble(
        *args, 0.02, True, rule, (0, False, (False,) * 3)
    )
    assert np.all(offset == 0) and np.all(turn == -1)
    n_tot = app.n_points + ret.n_points
    n_clip = spike_proof_peak(force, n_tot)
    if method:
        contact = contact_estimate(tip, force, n_clip, rule, method)
    split = finish(tip, force, tip, contact, n_clip, n_tot, app.n_points, rule, steps, 0.02, 50.0)
    for a, b in zip(fused, (tip, force, None, None, *split), strict=True):
        if b is not None:
            np.testing.assert_array_equal(a, b)
    assert np.all(split[2] > 0) and np.all(split[1] != 0)


def test_bad_curves_get_status_codes() -> None:
    """1-4 approach points -> too_few_points, NaN -> invalid_input; good curves unaffected."""
    block, _ = synthetic_block(6)
    curves = [block.approach.curve(i) for i in range(6)]
    for i, n in ((1, 1), (2, 4)):
        curves[i] = {k: v[:n] for k, v in curves[i].items()}
    curves[3]["force_n"] = curves[3]["force_n"].copy()
    curves[3]["force_n"][100] = np.nan
    curves[4]["measured_height_m"] = np.full_like(curves[4]["height_m"], np.inf)
    bad = CurveBlock(block.curve_index, CurveSegment.from_curves(curves), None)
    out = preprocess(bad, 0.02)
    assert isinstance(out, IndentationCurves)
    ok, few, invalid = CurveStatus.OK, CurveStatus.TOO_FEW_POINTS, CurveStatus.INVALID_INPUT
    assert out.status.tolist() == [ok, few, few, invalid, invalid, ok]
    assert out.contact_index[1] == -1


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("contact_method", "guess"),
        ("height_source", "laser"),
        ("tilt_axis", "x"),
        ("baseline_fraction", 0.0),
        ("smooth_window", 0),
    ],
)
def test_invalid_options_raise_config_error(field: str, value: object) -> None:
    with pytest.raises(ConfigError, match=field):
        PreprocessOptions(**{field: value})


def test_time_tilt_without_time_raises() -> None:
    block, _ = synthetic_block(1)
    with pytest.raises(ConfigError, match="tilt_axis"):
        preprocess(block, 0.02, PreprocessOptions(tilt_axis="time"))


def test_bad_spring_constant_raises() -> None:
    block, _ = synthetic_block(1)
    with pytest.raises(ConfigError, match="spring_constant"):
        preprocess(block, 0.0)
