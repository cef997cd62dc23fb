r"""Sneddon's exact solution for a rigid sphere (no paraboloidal approximation).

Parametric in the contact radius a (0 <= a < R):

.. math::

    \delta = \frac{a}{2} \ln\frac{R + a}{R - a}, \qquad
    F = \frac{E}{1 - \nu^2} \left[\frac{a^2 + R^2}{2} \ln\frac{R + a}{R - a} - a R\right]

With y = artanh(a/R) = ½ ln((R+a)/(R-a)) and x = a/R = tanh(y), the dimensionless indentation
is d = δ/R = x y and F/E = R²/(1 - ν²) [(1 + x²) y - x]. For d -> 0, F tends to the Hertz
paraboloid 4/3 E/(1-ν²) √R δ^{3/2}; the ratio to Hertz (:func:`hertz_ratio`) is
1 - d/10 - d²/840 + O(d³): -1.00 % at δ = 0.1 R, -5.02 % at δ = 0.5 R, -10.02 % at δ = R.
For d -> ∞ the sphere is buried (a -> R) and F/E -> R²/(1-ν²) (2d - 1), a flat punch of radius R.

Assumptions: linear-elastic, isotropic, homogeneous, infinitely thick half-space; frictionless
contact; rigid sphere of radius R; small strains (the solution is used beyond δ ~ R only as a
mathematical continuation).

Numerics: δ(a) has no closed-form inverse. The ratio to Hertz, c(d), is tabulated on
d ∈ [0, 16] (cells of width 1/512) as a piecewise cubic Hermite interpolant whose node values and
slopes are exact (slope from the contact stiffness relation dF/dδ = 2 a E/(1-ν²)); evaluating it
costs four table look-ups and multiply-adds per point (about 4x the cost of the Hertz law). Its
relative error against the exact solution is below 2e-15 (measured on 10⁶ random points in
[0, 16]; tests/models/test_models.py asserts 1e-13). Indentations beyond 16 R are solved exactly
by safeguarded Newton iteration (:func:`solve_contact`).

References
----------
I. N. Sneddon, "The relation between load and penetration in the axisymmetric Boussinesq problem
for a punch of arbitrary profile", Int. J. Eng. Sci. 3, 47 (1965), eqs. 6.13 and 6.15.
"""

from __future__ import annotations

import math

import numpy as np

from cellmech.models import ParameterSpec

KEY = "sneddon_spherical"
NAME = "Sneddon, spherical tip (exact)"
EQUATION = (
    "F = E/(1-nu^2) * [(a^2+R^2)/2 * ln((R+a)/(R-a)) - a*R], delta = a/2 * ln((R+a)/(R-a)), a < R"
)
REFERENCE = "Sneddon, Int. J. Eng. Sci. 3, 47 (1965), eqs. 6.13, 6.15"
TIP_FAMILY = "spherical"

PARAMETERS = (
    ParameterSpec("tip_radius_m", "m", 10e-6, (1e-9, 1e-3), "radius R of the spherical tip"),
)

#: max of y (1 - tanh y) over y >= 0 (0.2785 at y = 0.64), rounded up: bracket width for large d
_TANH_GAP = 0.2786
#: tabulated range of d = δ/R and cells per unit d
_TABLE_MAX = 16.0
_CELLS_PER_UNIT = 512
_MAX_ITER = 60


def solve_contact(d: np.ndarray) -> np.ndarray:
    """Exact y = artanh(a/R) for dimensionless indentations ``d`` = δ/R >= 0 (any shape).

    Solves y tanh(y) = d by Newton iteration kept inside the bracket
    max(d, √d) <= y <= min(d + 0.2786, (d + √(d² + 4d))/2), bisecting whenever a step leaves it;
    converges to machine precision. The contact radius is a = R tanh(y).
    """
    d = np.asarray(d, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):  # d = 0 or non-finite d
        lo = np.maximum(d, np.sqrt(d))
        hi = np.minimum(d + _TANH_GAP, 0.5 * (d + np.sqrt(d * d + 4.0 * d)))
        y = 0.5 * (lo + hi)
        for _ in range(_MAX_ITER):
            t = np.tanh(y)
            g = y * t - d
            above = g > 0
            hi = np.where(above, y, hi)
            lo = np.where(above, lo, y)
            step = y - g / (t + y * (1.0 - t * t))
            y_new = np.where((step > lo) & (step < hi), step, 0.5 * (lo + hi))
            moving = np.abs(y_new - y) > 4.0 * np.finfo(float).eps * y_new
            y = y_new
            if not moving.any():
                break
    return y


def _dimensionless_force(y: np.ndarray) -> np.ndarray:
    """f = F (1-ν²) / (E R²) = (y - x) + x² y with x = tanh(y), free of cancellation.

    For y < 1, y - tanh(y) = (y cosh y - sinh y)/cosh y with the numerator summed as the
    positive series Σ_k 2k y^(2k+1)/(2k+1)! (k = 1..9, truncation < 1e-17 relative).
    """
    x = np.tanh(y)
    y2 = y * y
    series = np.zeros_like(y)
    for k in range(9, 0, -1):
        series += 2 * k / math.factorial(2 * k + 1)
        series *= y2
    y_minus_x = np.where(y < 1.0, y * series / np.cosh(np.fmin(y, 1.0)), y - x)
    return y_minus_x + x * x * y


def hertz_ratio_exact(d: np.ndarray) -> np.ndarray:
    """Exact ratio of the sphere force to the Hertz paraboloid force at d = δ/R > 0."""
    d = np.asarray(d, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return _dimensionless_force(solve_contact(d)) / (4.0 / 3.0 * d * np.sqrt(d))


def _hermite_table() -> tuple[np.ndarray, ...]:
    """Cubic coefficients (c0, c1, c2, c3) per cell of c(d) in the local coordinate s ∈ [0, 1]."""
    h = 1.0 / _CELLS_PER_UNIT
    d = np.arange(int(_TABLE_MAX * _CELLS_PER_UNIT) + 1) * h
    value = np.empty_like(d)
    slope = np.empty_like(d)
    value[0], slope[0] = 1.0, -0.1  # c(d) = 1 - d/10 + O(d²)
    y = solve_contact(d[1:])
    hertz = 4.0 / 3.0 * d[1:] ** 1.5
    value[1:] = _dimensionless_force(y) / hertz
    # dF/dδ = 2 a E/(1-ν²)  ->  df/dd = 2 tanh(y);  c = f/hertz  ->  c' = (2x - 1.5 c hertz/d)/hertz
    slope[1:] = (2.0 * np.tanh(y) - 1.5 * value[1:] * hertz / d[1:]) / hertz
    p0, p1 = value[:-1], value[1:]
    m0, m1 = slope[:-1] * h, slope[1:] * h
    return p0, m0, 3.0 * (p1 - p0) - 2.0 * m0 - m1, 2.0 * (p0 - p1) + m0 + m1


#: Hermite coefficients c0..c3 per cell, separate contiguous arrays (np.take is fast on those)
_TABLE = _hermite_table()
_LAST_CELL = len(_TABLE[0]) - 1


def hertz_ratio(d: np.ndarray) -> np.ndarray:
    """Ratio c(d) of the exact sphere force to the Hertz paraboloid force at d = δ/R >= 0.

    Tabulated (relative error < 2e-15) for d <= 16, exact beyond; NaN for NaN or infinite d.
    Returns a new float64 array.
    """
    shape = np.shape(d)
    d = np.asarray(d, dtype=float).reshape(-1)
    t = d * float(_CELLS_PER_UNIT)
    cell = np.fmin(t, _LAST_CELL).astype(np.intp)  # fmin maps NaN to the last cell
    t -= cell  # local coordinate in [0, 1]; NaN stays NaN
    c0, c1, c2, c3 = _TABLE
    with np.errstate(invalid="ignore"):
        out = np.take(c3, cell)
        out *= t
        out += np.take(c2, cell)
        out *= t
        out += np.take(c1, cell)
        out *= t
        out += np.take(c0, cell)
    beyond = d > _TABLE_MAX
    if beyond.any():
        out[beyond] = hertz_ratio_exact(d[beyond])
    return out.reshape(shape)


def force_per_modulus(
    indentation_m: np.ndarray, *, poisson_ratio: float, tip_radius_m: float
) -> np.ndarray:
    """F/E in m² for indentations ``indentation_m`` (m, any shape; 0 where <= 0)."""
    delta = np.array(indentation_m, dtype=float)  # a copy; 0-d input stays an array
    np.maximum(delta, 0.0, out=delta)
    out = hertz_ratio(delta * (1.0 / tip_radius_m))
    out *= delta
    np.sqrt(delta, out=delta)
    out *= delta
    out *= 4.0 / 3.0 / (1.0 - poisson_ratio**2) * math.sqrt(tip_radius_m)
    return out
