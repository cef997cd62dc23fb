"""Contact models, the registry entry point and the finite-thickness corrections.

Accuracy is checked against closed forms evaluated by hand, against the paper formulas, and
against nanite's independent model functions (nanite is GPL: imported here only, never by
cellmech).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from cellmech import models
from cellmech.cli import main
from cellmech.errors import ConfigError
from cellmech.models import finite_thickness, sneddon_spherical

KEYS = models.MODEL_KEYS
SHARP = ("hertz_conical", "bilodeau_pyramidal", "three_sided_pyramidal")
R = 5e-6  # tip radius used below, m


def _indentations(n: int = 400) -> np.ndarray:
    """0 .. 20 R, reaching beyond the sphere's tabulated range (16 R)."""
    return np.concatenate([np.linspace(0.0, 1e-6, n), np.linspace(1e-6, 20 * R, n)[1:]])


# --- module contract --------------------------------------------------------------------------


@pytest.mark.parametrize("key", KEYS)
def test_module_contract(key):
    model = models.get_model(key)
    assert model.KEY == key == model.__name__.rsplit(".", 1)[1]
    assert model.NAME and model.EQUATION and model.REFERENCE
    assert model.TIP_FAMILY in finite_thickness.FAMILIES
    if model.TIP_FAMILY == "conical":
        assert model.FORCE_COEFFICIENT > 0
    for spec in model.PARAMETERS:
        lo, hi = spec.bounds
        assert lo <= spec.default <= hi
        assert spec.unit and spec.description
        assert spec.key.endswith(("_m", "_deg"))


# --- generic physics, every model -------------------------------------------------------------


@pytest.mark.parametrize("key", KEYS)
def test_zero_for_non_positive_indentation(key):
    g = models.force_per_modulus(key, np.array([-1e-6, -1e-12, 0.0, -np.inf]))
    np.testing.assert_array_equal(g, 0.0)


def _geometry(key: str) -> dict[str, float]:
    """Tip radius R for the spherical models, defaults otherwise."""
    return {"tip_radius_m": R} if models.get_model(key).TIP_FAMILY == "spherical" else {}


@pytest.mark.parametrize("key", KEYS)
def test_positive_and_monotonic(key):
    g = models.force_per_modulus(key, _indentations(), **_geometry(key))
    assert np.all(g[1:] > 0)
    assert np.all(np.diff(g) > 0)


@pytest.mark.parametrize("key", KEYS)
def test_force_linear_in_modulus(key):
    delta = _indentations()
    f1 = models.model_force(key, delta, 1234.5)
    f2 = models.model_force(key, delta, 3 * 1234.5)
    np.testing.assert_allclose(f2, 3 * f1, rtol=1e-15, atol=0)
    np.testing.assert_allclose(f1, 1234.5 * models.force_per_modulus(key, delta), rtol=1e-15)


@pytest.mark.parametrize("key", KEYS)
def test_poisson_scaling(key):
    delta = np.linspace(0, 2e-6, 50)
    g0 = models.force_per_modulus(key, delta, poisson_ratio=0.0)
    g5 = models.force_per_modulus(key, delta, poisson_ratio=0.5)
    np.testing.assert_allclose(g0, 0.75 * g5, rtol=1e-14)


@pytest.mark.parametrize("key", KEYS)
def test_shape_nan_and_no_input_mutation(key):
    delta = np.linspace(-1e-7, 2e-6, 12).reshape(3, 4)
    delta[1, 2] = np.nan
    before = delta.copy()
    g = models.force_per_modulus(key, delta)
    assert g.shape == (3, 4) and g.dtype == np.float64
    assert np.isnan(g[1, 2]) and np.isfinite(np.delete(g.ravel(), 6)).all()
    np.testing.assert_array_equal(delta, before)


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("thickness", [None, 4e-6])
def test_scalar_indentation(key, thickness):
    g = models.force_per_modulus(key, 1.5e-6, thickness_m=thickness)
    assert np.ndim(g) == 0
    expected = models.force_per_modulus(key, np.array([1.5e-6]), thickness_m=thickness)
    assert float(g) == expected[0] > 0
    assert float(models.model_force(key, 1.5e-6, 2.0, thickness_m=thickness)) == 2.0 * float(g)


# --- closed forms at known points -------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "coefficient"),
    [
        ("hertz_conical", 2 / math.pi),
        ("bilodeau_pyramidal", 1.4906 / 2),
        ("three_sided_pyramidal", 0.8887),
    ],
)
def test_sharp_tips_closed_form(key, coefficient):
    # tan(45°) = 1, tan(30°) = 1/sqrt(3); ν = 0.3
    delta = np.array([1e-6, 2.5e-6])
    for angle, tan in ((45.0, 1.0), (30.0, 1 / math.sqrt(3))):
        g = models.force_per_modulus(key, delta, poisson_ratio=0.3, half_angle_deg=angle)
        np.testing.assert_allclose(g, coefficient * tan / 0.91 * delta**2, rtol=1e-14)


def test_hertz_paraboloidal_closed_form():
    g = models.force_per_modulus("hertz_paraboloidal", np.array([1e-6]), tip_radius_m=4e-6)
    # 4/3 / (1 - 0.25) * sqrt(4e-6) * (1e-6)^1.5 = 16/9 * 2e-3 * 1e-9
    np.testing.assert_allclose(g, 16 / 9 * 2e-12, rtol=1e-14)


@pytest.mark.parametrize("a_over_r", [0.05, 0.1, 0.5, 0.9, 0.999])
def test_sneddon_sphere_parametric_closed_form(a_over_r):
    # pick the contact radius a, compute δ(a) and F(a) from Sneddon's parametric equations
    # (a/R >= 0.05: below, the textbook form itself loses digits to cancellation, ~eps R²/a²)
    a = a_over_r * R
    log = 2 * math.atanh(a_over_r)  # = ln((R + a)/(R - a))
    delta = a / 2 * log
    expected = ((a * a + R * R) / 2 * log - a * R) / (1 - 0.25)
    g = models.force_per_modulus("sneddon_spherical", np.array([delta]), tip_radius_m=R)
    np.testing.assert_allclose(g, expected, rtol=2e-12)


def test_sneddon_sphere_tends_to_hertz():
    delta = np.array([1e-4 * R])
    ratio = models.force_per_modulus(
        "sneddon_spherical", delta, tip_radius_m=R
    ) / models.force_per_modulus("hertz_paraboloidal", delta, tip_radius_m=R)
    np.testing.assert_allclose(ratio, 1.0, rtol=1e-4)
    # the leading correction is -δ/(10 R)
    np.testing.assert_allclose(ratio - 1.0, -1e-5, rtol=1e-3)


@pytest.mark.parametrize(("d", "deviation"), [(0.1, -0.0100), (0.5, -0.0502), (1.0, -0.1002)])
def test_sneddon_sphere_documented_deviation_from_hertz(d, deviation):
    delta = np.array([d * R])
    ratio = models.force_per_modulus(
        "sneddon_spherical", delta, tip_radius_m=R
    ) / models.force_per_modulus("hertz_paraboloidal", delta, tip_radius_m=R)
    assert abs(ratio[0] - 1.0 - deviation) < 1e-4


def test_sneddon_sphere_large_indentation_is_flat_punch():
    # a -> R: F/E -> R²/(1-ν²) (2δ/R - 1), up to exp(-2δ/R) terms
    d = np.array([40.0, 400.0])
    g = models.force_per_modulus("sneddon_spherical", d * R, tip_radius_m=R, poisson_ratio=0.0)
    np.testing.assert_allclose(g, R * R * (2 * d - 1), rtol=1e-14)


# --- sneddon inversion numerics ---------------------------------------------------------------


def test_contact_solver_residual():
    d = np.logspace(-12, 4, 5001)
    y = sneddon_spherical.solve_contact(d)
    np.testing.assert_allclose(y * np.tanh(y), d, rtol=4e-15)


def test_table_matches_exact_solution():
    rng = np.random.default_rng(1)
    d = np.concatenate(
        [rng.uniform(0, 16, 200_000), rng.uniform(0, 1e-2, 20_000), np.logspace(-10, 1.2, 2000)]
    )
    d = d[d > 0]
    exact = sneddon_spherical.hertz_ratio_exact(d)
    np.testing.assert_allclose(sneddon_spherical.hertz_ratio(d), exact, rtol=1e-13, atol=0)
    # continuity across the table end (16) into the exact path
    edge = np.array([16.0 - 1e-9, 16.0, 16.0 + 1e-9])
    np.testing.assert_allclose(np.diff(sneddon_spherical.hertz_ratio(edge)), 0.0, atol=1e-9)


def test_hertz_ratio_series_small_indentation():
    # Sneddon's power series of the ratio: 1 - d/10 - d²/840 + 11 d³/15120 + 1357 d⁴/6652800
    d = np.array([1e-6, 1e-3, 1e-2])
    series = 1 - d / 10 - d**2 / 840 + 11 * d**3 / 15120 + 1357 * d**4 / 6652800
    np.testing.assert_allclose(sneddon_spherical.hertz_ratio(d), series, rtol=1e-12)


# --- independent reference: nanite ------------------------------------------------------------


def _nanite(key):
    import nanite.model as model

    return model.models_available[key].module.model_func


@pytest.mark.parametrize(
    ("ours", "theirs", "geometry", "nanite_geometry", "d_max"),
    [
        ("hertz_paraboloidal", "hertz_para", {"tip_radius_m": R}, R, 0.5),
        ("sneddon_spherical", "sneddon_spher_approx", {"tip_radius_m": R}, R, 0.4),
        ("hertz_conical", "hertz_cone", {"half_angle_deg": 22.5}, 22.5, 0.5),
        ("three_sided_pyramidal", "hertz_pyr3s", {"half_angle_deg": 17.5}, 17.5, 0.5),
    ],
)
@pytest.mark.parametrize("nu", [0.5, 0.3])
def test_against_nanite(ours, theirs, geometry, nanite_geometry, d_max, nu):
    # nanite's sneddon_spher_approx truncates Sneddon's series after d⁴ (error ~ 7e-7 at d = 0.5)
    func = _nanite(theirs)
    delta = np.linspace(1e-9, d_max * R, 500)
    youngs = 2.5e3
    expected = func(-delta, youngs, nanite_geometry, nu, 0.0, 0.0)  # nanite: tip position < 0
    got = models.model_force(ours, delta, youngs, poisson_ratio=nu, **geometry)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=0)


# --- finite thickness -------------------------------------------------------------------------


def _dimitriadis_by_hand(chi, nu, bonded):
    """Dimitriadis et al. 2002 eqs. 11-12 written out independently."""
    if bonded:
        a0 = -(1.2876 - 1.4678 * nu + 1.3442 * nu * nu) / (1 - nu)
        b0 = (0.6387 - 1.0277 * nu + 1.5164 * nu * nu) / (1 - nu)
    else:
        a0 = -0.347 * (3 - 2 * nu) / (1 - nu)
        b0 = 0.056 * (5 - 2 * nu) / (1 - nu)
    p = math.pi
    return (
        1
        - 2 * a0 / p * chi
        + 4 * a0**2 / p**2 * chi**2
        - 8 / p**3 * (a0**3 + 4 * p**2 / 15 * b0) * chi**3
        + 16 * a0 / p**4 * (a0**3 + 3 * p**2 / 5 * b0) * chi**4
    )


@pytest.mark.parametrize("key", ["hertz_paraboloidal", "sneddon_spherical"])
@pytest.mark.parametrize("bonded", [True, False])
@pytest.mark.parametrize("nu", [0.5, 0.4])
def test_dimitriadis_at_known_chi(key, bonded, nu):
    h = 4e-6
    chi = np.array([0.1, 0.5, 1.0])
    delta = (chi * h) ** 2 / R  # χ = sqrt(R δ) / h
    corrected = models.force_per_modulus(
        key, delta, tip_radius_m=R, poisson_ratio=nu, thickness_m=h, bonded=bonded
    )
    plain = models.force_per_modulus(key, delta, tip_radius_m=R, poisson_ratio=nu)
    expected = [_dimitriadis_by_hand(c, nu, bonded) for c in chi]
    np.testing.assert_allclose(corrected / plain, expected, rtol=1e-13)


def test_dimitriadis_numbers_at_incompressible():
    # the paper's numerical series for ν = 0.5 (eqs. 11, 12); the bonded χ⁴ term is printed
    # +0.0975 but the general expression gives -0.0975 (see finite_thickness docstring)
    bonded = finite_thickness.dimitriadis_coefficients(0.5, True)
    free = finite_thickness.dimitriadis_coefficients(0.5, False)
    np.testing.assert_allclose(bonded, [1.133, 1.283, 0.769, -0.0975], atol=6e-4)
    np.testing.assert_allclose(free, [0.884, 0.781, 0.386, 0.0048], atol=6e-4)


@pytest.mark.parametrize("key", SHARP)
def test_garcia_cone_at_known_chi(key):
    h, angle = 3e-6, 20.0
    model = models.get_model(key)
    cone_tan = math.pi / 2 * model.FORCE_COEFFICIENT * math.tan(math.radians(angle))
    chi = np.array([0.1, 0.5, 1.0])
    delta = chi * h / cone_tan  # χ = δ tanθ / h
    ratio = models.force_per_modulus(
        key, delta, half_angle_deg=angle, thickness_m=h
    ) / models.force_per_modulus(key, delta, half_angle_deg=angle)
    expected = 1 + 0.721 * chi + 0.650 * chi**2 + 0.491 * chi**3 + 0.225 * chi**4
    np.testing.assert_allclose(ratio, expected, rtol=1e-13)
    if key == "hertz_conical":  # the equivalent cone of a cone is itself
        assert cone_tan == pytest.approx(math.tan(math.radians(angle)), rel=1e-15)


@pytest.mark.parametrize("key", KEYS)
def test_correction_vanishes_for_thick_samples(key):
    delta = np.linspace(0, 2e-6, 30)
    plain = models.force_per_modulus(key, delta)
    for h in (np.inf, np.nan):
        np.testing.assert_array_equal(models.force_per_modulus(key, delta, thickness_m=h), plain)
    thick = models.force_per_modulus(key, delta, thickness_m=1.0)
    np.testing.assert_allclose(thick, plain, rtol=1e-5)
    assert np.all(thick[1:] > plain[1:])


@pytest.mark.parametrize("nu", [0.3, 0.4, 0.5])
def test_bonded_stiffer_than_non_bonded(nu):
    h = 2e-6
    chi = np.linspace(0.0, 1.0, 41)[1:]  # the series' range of use (χ <~ 1)
    delta = (chi * h) ** 2 / R
    kw = {"tip_radius_m": R, "poisson_ratio": nu, "thickness_m": h}
    bonded = models.force_per_modulus("hertz_paraboloidal", delta, bonded=True, **kw)
    free = models.force_per_modulus("hertz_paraboloidal", delta, bonded=False, **kw)
    plain = models.force_per_modulus("hertz_paraboloidal", delta, tip_radius_m=R, poisson_ratio=nu)
    assert np.all(bonded > free) and np.all(free > plain)
    assert np.all(np.diff(bonded / plain) > 0) and np.all(np.diff(free / plain) > 0)


@pytest.mark.parametrize("key", KEYS)
def test_per_curve_thickness_broadcasts(key):
    delta = np.tile(np.linspace(-1e-7, 1.5e-6, 9), (4, 1))
    h = np.array([[2e-6], [5e-6], [np.inf], [-1.0]])
    g = models.force_per_modulus(key, delta, thickness_m=h)
    assert g.shape == (4, 9)
    for i in range(3):
        np.testing.assert_array_equal(
            g[i], models.force_per_modulus(key, delta[i], thickness_m=float(h[i, 0]))
        )
    assert np.isnan(g[3]).all()  # a non-positive thickness is invalid input, not an exception
    # a (n, 1) thickness broadcasts against a (1, m) indentation row as well
    wide = models.force_per_modulus(key, delta[:1], thickness_m=h[:3])
    np.testing.assert_array_equal(wide, g[:3])


@pytest.mark.parametrize("key", SHARP)
def test_non_bonded_sharp_tip_is_a_config_error(key):
    with pytest.raises(ConfigError, match="bonded=True"):
        models.force_per_modulus(key, np.array([1e-6]), thickness_m=3e-6, bonded=False)


# --- validation -------------------------------------------------------------------------------


def test_unknown_model_lists_valid_keys():
    with pytest.raises(ConfigError) as err:
        models.force_per_modulus("hertz_cylinder", np.array([1e-6]))
    assert all(k in str(err.value) for k in KEYS)


def test_unknown_parameter_lists_valid_ones():
    with pytest.raises(ConfigError, match=r"tip_radius_m.*valid: half_angle_deg"):
        models.force_per_modulus("hertz_conical", np.array([1e-6]), tip_radius_m=1e-6)


@pytest.mark.parametrize(
    ("key", "geometry"),
    [
        ("hertz_paraboloidal", {"tip_radius_m": -1e-6}),
        ("sneddon_spherical", {"tip_radius_m": 1.0}),
        ("sneddon_spherical", {"tip_radius_m": float("nan")}),
        ("hertz_conical", {"half_angle_deg": 90.0}),
        ("bilodeau_pyramidal", {"half_angle_deg": 0.0}),
        ("three_sided_pyramidal", {"half_angle_deg": float("inf")}),
    ],
)
def test_out_of_bounds_geometry(key, geometry):
    (name,) = geometry
    with pytest.raises(ConfigError, match=name):
        models.force_per_modulus(key, np.array([1e-6]), **geometry)


@pytest.mark.parametrize("nu", [-0.1, 0.51, float("nan")])
def test_poisson_ratio_bounds(nu):
    with pytest.raises(ConfigError, match="poisson_ratio"):
        models.force_per_modulus("hertz_conical", np.array([1e-6]), poisson_ratio=nu)


def test_parameter_spec_validate():
    spec = models.ParameterSpec("tip_radius_m", "m", 1e-6, (1e-9, 1e-3), "radius")
    assert spec.validate(2e-6) == 2e-6
    assert spec.validate(1e-3) == 1e-3  # bounds are inclusive
    with pytest.raises(ConfigError, match=r"tip_radius_m=0.002 outside \[1e-09, 0.001\] m"):
        spec.validate(2e-3)


# --- `cellmech models` ------------------------------------------------------------------------


def test_cli_models_text(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    for model in models.available_models():
        assert model.KEY in out and model.EQUATION in out and model.REFERENCE in out
        for spec in model.PARAMETERS:
            assert spec.key in out and f"[{spec.unit}]" in out


def test_cli_models_json(capsys):
    assert main(["models", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert [p["key"] for p in listing["common_parameters"]] == ["poisson_ratio"]
    assert [m["key"] for m in listing["models"]] == list(KEYS)
    for entry in listing["models"]:
        model = models.get_model(entry["key"])
        assert entry["tip_family"] == model.TIP_FAMILY
        assert [p["key"] for p in entry["parameters"]] == [p.key for p in model.PARAMETERS]
        for p, spec in zip(entry["parameters"], model.PARAMETERS, strict=True):
            assert p["unit"] == spec.unit and p["default"] == spec.default
            assert p["bounds"] == list(spec.bounds)
