r"""Finite-thickness ("bottom-effect") corrections for a sample layer of thickness h.

A cell is a layer of finite height h on a rigid dish; the dish stiffens the response, so the
infinite-half-space force laws underestimate F (and overestimate E when fitted). The corrections
below multiply the half-space force:

.. math:: F_h(\delta) = F_\infty(\delta)\,[1 + c_1 \chi + c_2 \chi^2 + c_3 \chi^3 + c_4 \chi^4]

They are expansions in powers of χ, i.e. accurate only while χ is small (χ <~ 1); beyond, the
truncated series is an extrapolation and can even turn over (the bonded spherical series for
ν = 0.3 peaks near χ = 1.7), so keep indentations well below the sample thickness.

Spherical / paraboloidal tips (``TIP_FAMILY = "spherical"``), Dimitriadis et al. (2002):
χ = √(R δ) / h (the Hertz contact radius over the thickness) and, for Poisson's ratio ν,

.. math::

    c_1 = -\frac{2\alpha_0}{\pi}, \quad c_2 = \frac{4\alpha_0^2}{\pi^2}, \quad
    c_3 = -\frac{8}{\pi^3}\left(\alpha_0^3 + \frac{4\pi^2}{15}\beta_0\right), \quad
    c_4 = \frac{16\alpha_0}{\pi^4}\left(\alpha_0^3 + \frac{3\pi^2}{5}\beta_0\right)

bonded to the dish: α₀ = -(1.2876 - 1.4678ν + 1.3442ν²)/(1 - ν),
β₀ = (0.6387 - 1.0277ν + 1.5164ν²)/(1 - ν);
free to slip (non-bonded): α₀ = -0.347(3 - 2ν)/(1 - ν), β₀ = 0.056(5 - 2ν)/(1 - ν).
At ν = 0.5 this gives 1 + 1.133χ + 1.283χ² + 0.769χ³ - 0.0975χ⁴ (bonded) and
1 + 0.884χ + 0.781χ² + 0.386χ³ + 0.0048χ⁴ (non-bonded). Note: the paper's numerical bonded
equation prints the χ⁴ coefficient as +0.0975, which disagrees in sign with its own general
expression above (the non-bonded numbers agree with it to every digit); we implement the general
expression. The difference is 0.195 χ⁴ (4.6 % of the correction at χ = 1).
The correction is applied to both the paraboloidal and the exact spherical model (derived for
the paraboloid, i.e. δ << R).

Conical and pyramidal tips (``TIP_FAMILY = "conical"``), Garcia & Garcia (2018), bonded sample,
ν = 0.5: χ = δ tanθ / h with c = (0.721, 0.650, 0.491, 0.225). A pyramid with force law
F = C tanα E/(1-ν²) δ² is replaced by the cone of the same force law,
tanθ = (π/2) C tanα (same contact stiffness, hence the same effective contact radius, which is
what the leading-order correction depends on). The coefficients are those for an incompressible
sample (ν = 0.5) and are used unchanged for other ν; no non-bonded series is published for
sharp tips, so ``bonded=False`` raises :class:`~cellmech.errors.ConfigError` for them.

Thickness: any shape broadcastable against the indentation (e.g. (n, 1) per curve for an (n, m)
block); ``inf`` or NaN (unknown) means an infinitely thick sample (factor 1); zero or negative
thickness gives NaN (the fitter reports such curves as invalid input).

References
----------
E. K. Dimitriadis, F. Horkay, J. Maresca, B. Kachar, R. S. Chadwick, "Determination of elastic
moduli of thin layers of soft material using the atomic force microscope", Biophys. J. 82, 2798
(2002), eqs. 11-13.
P. D. Garcia, R. Garcia, "Determination of the elastic moduli of a single cell cultured on a
rigid support by force microscopy", Biophys. J. 114, 2923 (2018).
"""

from __future__ import annotations

import math
from functools import cache
from types import ModuleType

import numpy as np

from cellmech.errors import ConfigError

__all__ = ["FAMILIES", "correction", "dimitriadis_coefficients"]

#: bottom-effect families a model may declare as ``TIP_FAMILY``
FAMILIES = ("spherical", "conical")

#: Garcia & Garcia (2018), conical tip, bonded, ν = 0.5: coefficients of (δ tanθ / h)^k
GARCIA_CONE_BONDED = (0.721, 0.650, 0.491, 0.225)


@cache
def dimitriadis_coefficients(poisson_ratio: float, bonded: bool) -> tuple[float, ...]:
    """(c1, c2, c3, c4) of the Dimitriadis et al. (2002) series in χ = √(Rδ)/h."""
    nu = poisson_ratio
    if bonded:
        alpha = -(1.2876 - 1.4678 * nu + 1.3442 * nu**2) / (1.0 - nu)
        beta = (0.6387 - 1.0277 * nu + 1.5164 * nu**2) / (1.0 - nu)
    else:
        alpha = -0.347 * (3.0 - 2.0 * nu) / (1.0 - nu)
        beta = 0.056 * (5.0 - 2.0 * nu) / (1.0 - nu)
    pi = math.pi
    return (
        -2.0 * alpha / pi,
        4.0 * alpha**2 / pi**2,
        -8.0 / pi**3 * (alpha**3 + 4.0 * pi**2 / 15.0 * beta),
        16.0 * alpha / pi**4 * (alpha**3 + 3.0 * pi**2 / 5.0 * beta),
    )


def _series(chi: np.ndarray, coefficients: tuple[float, ...]) -> np.ndarray:
    """1 + Σ c_k χ^k (k = 1..4) by Horner's rule (a new array)."""
    c1, c2, c3, c4 = coefficients
    out = chi * c4
    out += c3
    out *= chi
    out += c2
    out *= chi
    out += c1
    out *= chi
    out += 1.0
    return out


def _inverse_thickness(thickness_m: float | np.ndarray) -> np.ndarray:
    """1/h: 0 (no correction) where h is inf or NaN (unknown), NaN where h <= 0 (invalid)."""
    h = np.asarray(thickness_m, dtype=float)
    with np.errstate(divide="ignore"):
        return np.where(h > 0, 1.0 / h, np.where(np.isnan(h), 0.0, np.nan))


def _scaled(values: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """``values * scale``, in place in ``values`` when the broadcast shape allows it."""
    if np.broadcast_shapes(values.shape, scale.shape) == values.shape:
        return np.multiply(values, scale, out=values)
    return values * scale


def correction(
    model: ModuleType,
    indentation_m: np.ndarray,
    thickness_m: float | np.ndarray,
    *,
    poisson_ratio: float,
    bonded: bool,
    **geometry: float,
) -> np.ndarray:
    """Bottom-effect factor F_h / F_∞ (dimensionless, 1 at χ = 0) of ``model`` on a layer.

    Parameters
    ----------
    model : module
        A contact model declaring ``TIP_FAMILY`` (and ``FORCE_COEFFICIENT`` for "conical").
    indentation_m : ndarray
        Indentation δ in m, any shape; values <= 0 give a factor of 1.
    thickness_m : float or ndarray
        Layer thickness h in m, broadcastable against ``indentation_m``.
    poisson_ratio : float
        Poisson's ratio ν of the sample.
    bonded : bool
        Whether the layer adheres to the rigid support (True for cells on a dish).
    **geometry : float
        The model's validated geometry (``tip_radius_m`` or ``half_angle_deg``).

    Returns
    -------
    ndarray
        Correction factor, shape of ``indentation_m`` broadcast with ``thickness_m``.

    Raises
    ------
    ConfigError
        For an unknown tip family, or ``bonded=False`` with a conical/pyramidal tip.
    """
    family = getattr(model, "TIP_FAMILY", None)
    inv_h = _inverse_thickness(thickness_m)
    delta = np.array(indentation_m, dtype=float)  # a copy; 0-d input stays an array
    np.maximum(delta, 0.0, out=delta)
    if family == "spherical":
        np.sqrt(delta, out=delta)
        chi = _scaled(delta, math.sqrt(geometry["tip_radius_m"]) * inv_h)
        return _series(chi, dimitriadis_coefficients(float(poisson_ratio), bool(bonded)))
    if family == "conical":
        if not bonded:
            raise ConfigError(
                f"model {model.KEY}: no finite-thickness correction is published for a "
                "non-bonded layer under a conical/pyramidal tip; set bonded=True or use a "
                "spherical tip model"
            )
        cone_tan = (
            math.pi
            / 2.0
            * model.FORCE_COEFFICIENT
            * math.tan(math.radians(geometry["half_angle_deg"]))
        )
        return _series(_scaled(delta, cone_tan * inv_h), GARCIA_CONE_BONDED)
    raise ConfigError(
        f"model {getattr(model, 'KEY', model.__name__)}: TIP_FAMILY={family!r} has no "
        f"finite-thickness correction; valid families: {', '.join(FAMILIES)}"
    )
