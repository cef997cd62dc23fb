"""A reference fit that shares no code with cellmech's preprocessing, fit or models.

Used by ``benchmarks/accuracy_fit.py --oracle`` and ``tests/test_fit_defaults.py``. For every
curve it fits, with SciPy's Levenberg-Marquardt (``scipy.optimize.least_squares``), the
generator's contact model to the approach as the generator made it (piezo height ``z``, force
``F``; no file, no preprocessing), all four parameters jointly:

    F = a + b z + E K δ^p,   δ = max(c - t, 0),   t = z + (F - a - b z) / k,

with the baseline offset ``a`` and tilt ``b`` (the generator's artefacts), the contact height
``c`` in the piezo frame, the tip position ``t`` of the baseline-corrected deflection and the
contact law written out anew: Hertz's paraboloid ``K = 4 sqrt(R) / (3 (1 - ν²))``, ``p = 3/2``
(Hertz, J. reine angew. Math. 92, 156 (1881)), or Bilodeau's four-sided pyramid
``K = 0.7453 tan(α) / (1 - ν²)``, ``p = 2`` (Bilodeau, J. Appl. Mech. 59, 519 (1992)), with
the generator's ν = 0.5. It starts at the true modulus and contact height (and the baseline
line of the points the truth puts off contact); a start 20 % and 30 nm away ends at the same
optimum. It is the same kind of objective as cellmech's (the measured deflection, noise
included, enters the tip position), so it checks that cellmech finds that objective's optimum
on every curve. With ``series=True`` it fits the explicit series problem instead
(:func:`series_indentation`: ``k d = E K (c - z - d)^p`` solved for the deflection ``d``), the
generator's own forward model, where the deflection noise stays out of the indentation: the
maximum-likelihood fit for the generator's white force noise, a different estimator to
compare with (README, "Fit defaults").
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import least_squares

POISSON_RATIO = 0.5
#: Bilodeau's coefficient for a four-sided pyramid of face angle α
BILODEAU = 0.7453


def contact_law(tip) -> tuple[float, float]:
    """``(K, p)`` of ``F = E K δ^p`` for a ``tests.fit_population.Tip``."""
    reduced = 1.0 - POISSON_RATIO**2
    if tip.model == "hertz_paraboloidal":
        return 4.0 * np.sqrt(tip.geometry["tip_radius_m"]) / (3.0 * reduced), 1.5
    if tip.model == "bilodeau_pyramidal":
        return BILODEAU * np.tan(np.radians(tip.geometry["half_angle_deg"])) / reduced, 2.0
    raise ValueError(f"no independent contact law for {tip.model}")


def series_indentation(travel, alpha, power):
    """Indentation δ (m) of the cantilever and sample in series: ``δ + alpha δ^power = travel``
    (``alpha = E K / k``, ``travel`` the piezo travel past contact, m), 0 where ``travel <=
    0``. Newton's method from above (the larger of the two bounds ``travel`` and
    ``(travel / alpha)^(1 / power)`` is the smaller of them at the root's right), monotone for
    this convex increasing function."""
    u = np.maximum(travel, 0.0)
    delta = np.minimum(u, (u / alpha) ** (1.0 / power))
    for _ in range(40):
        slope = 1.0 + alpha * power * np.maximum(delta, 1e-300) ** (power - 1.0)
        delta = np.maximum(delta - (delta + alpha * delta**power - u) / slope, 0.0)
    return delta


def fit_curve(z, force, k, law, e0, c0, noise_n, series=False) -> tuple[float, float]:
    """Young's modulus (Pa) and contact height (m, the zero-force height) of the joint
    four-parameter fit of one approach (arrays in m, N) started at ``e0`` (Pa) and ``c0``
    (m); NaN where it does not converge. ``series``: the explicit series model
    (:func:`series_indentation` of the piezo travel ``c - z``), where the measured deflection
    and its noise stay out of the indentation, instead of the tip position."""
    gain, power = law
    off = z > c0
    a0, b0 = 0.0, 0.0
    if off.sum() >= 10:
        b0, a0 = np.polyfit(z[off], force[off], 1)
    step_c, step_b = 1e-7, noise_n / 1e-6

    def residuals(u):
        e, c = e0 * u[0], c0 + step_c * u[1]
        a, b = a0 + noise_n * u[2], b0 + step_b * u[3]
        base = a + b * z
        if series:
            delta = series_indentation(c - z, e * gain / k, power)
        else:
            delta = np.maximum(c - (z + (force - base) / k), 0.0)
        return (force - base - e * gain * delta**power) / noise_n

    fitted = least_squares(residuals, np.array([1.0, 0.0, 0.0, 0.0]), method="lm")
    if not fitted.success:
        return np.nan, np.nan
    return e0 * fitted.x[0], c0 + step_c * fitted.x[1]


def truth_started_fit(block, truth, tip, k, noise_n, mask, series=False) -> np.ndarray:
    """Modulus (Pa) and contact height (m) of :func:`fit_curve`, shape (2, n_curves), for every
    curve where ``mask`` (NaN elsewhere)."""
    law = contact_law(tip)
    seg = block.approach
    e_true = truth["youngs_modulus_pa"].to_numpy(float)
    c_true = truth["contact_piezo_height_m"].to_numpy(float)
    out = np.full((2, mask.size), np.nan)
    for i in np.flatnonzero(mask):
        n = seg.n_points[i]
        out[:, i] = fit_curve(
            seg.height_m[i, :n], seg.force_n[i, :n], k, law, e_true[i], c_true[i], noise_n, series
        )
    return out
