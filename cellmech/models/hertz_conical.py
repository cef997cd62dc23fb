r"""Sneddon contact of a conical tip (the "Hertz cone" of AFM software).

.. math:: F = \frac{2}{\pi} \frac{E}{1 - \nu^2} \tan\alpha \, \delta^2

with α the half-opening angle of the cone (angle between its axis and its flank).

Assumptions: linear-elastic, isotropic, homogeneous, infinitely thick half-space; frictionless
contact; rigid cone with an infinitely sharp apex (tip rounding neglected, so valid for
indentations much larger than the apex radius). The contact radius is a = 2 δ tanα / π.

This module also provides :func:`quadratic_law`, the force law F/E = C tanα δ²/(1 - ν²) shared
by every sharp (conical and pyramidal) tip; the models differ only in the constant C
(:data:`FORCE_COEFFICIENT`), which :mod:`cellmech.models.finite_thickness` uses to map a pyramid
onto the cone of equal force.

References
----------
A. E. H. Love, "Boussinesq's problem for a rigid cone", Q. J. Math. 10, 161 (1939).
I. N. Sneddon, "The relation between load and penetration in the axisymmetric Boussinesq problem
for a punch of arbitrary profile", Int. J. Eng. Sci. 3, 47 (1965), eq. 6.4.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from cellmech.models import ParameterSpec

KEY = "hertz_conical"
NAME = "Sneddon, conical tip"
EQUATION = "F = 2/pi * E/(1-nu^2) * tan(alpha) * delta^2"
REFERENCE = "Love, Q. J. Math. 10, 161 (1939); Sneddon, Int. J. Eng. Sci. 3, 47 (1965), eq. 6.4"
TIP_FAMILY = "conical"

#: C in F = C tan(alpha) E/(1-nu^2) delta^2
FORCE_COEFFICIENT = 2.0 / math.pi


def quadratic_law(
    indentation_m: np.ndarray, *, coefficient: float, half_angle_deg: float, poisson_ratio: float
) -> np.ndarray:
    """F/E in m² of a sharp tip, ``coefficient * tan(alpha) / (1 - nu²) * delta²``.

    Parameters
    ----------
    indentation_m : ndarray
        Indentation δ in m, any shape; values <= 0 give 0.
    coefficient : float
        Dimensionless constant C of the tip shape (2/π for a cone).
    half_angle_deg : float
        Half-opening (cone) or face (pyramid) angle α in degrees.
    poisson_ratio : float
        Poisson's ratio ν of the sample.

    Returns
    -------
    ndarray
        F/E in m², same shape as ``indentation_m`` (a new float64 array).
    """
    prefactor = coefficient * math.tan(math.radians(half_angle_deg)) / (1.0 - poisson_ratio**2)
    out = np.array(indentation_m, dtype=float)  # a copy; 0-d input stays an array
    np.maximum(out, 0.0, out=out)
    np.multiply(out, out, out=out)
    out *= prefactor
    return out


def half_angle_parameter(default_deg: float, description: str) -> ParameterSpec:
    """The ``half_angle_deg`` parameter of a sharp tip (1–89°)."""
    return ParameterSpec("half_angle_deg", "deg", default_deg, (1.0, 89.0), description)


def sharp_tip_model(coefficient: float) -> Callable[..., np.ndarray]:
    """The ``force_per_modulus`` of a sharp tip whose force law has the constant C."""

    def force_per_modulus(
        indentation_m: np.ndarray, *, poisson_ratio: float, half_angle_deg: float
    ) -> np.ndarray:
        """F/E in m² for indentations ``indentation_m`` (m, any shape; 0 where <= 0)."""
        return quadratic_law(
            indentation_m,
            coefficient=coefficient,
            half_angle_deg=half_angle_deg,
            poisson_ratio=poisson_ratio,
        )

    return force_per_modulus


PARAMETERS = (half_angle_parameter(25.0, "half-opening angle alpha of the cone (axis to flank)"),)
force_per_modulus = sharp_tip_model(FORCE_COEFFICIENT)
