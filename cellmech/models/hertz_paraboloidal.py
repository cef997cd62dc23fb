r"""Hertz contact of a paraboloidal (spherical, small-indentation) tip.

.. math:: F = \frac{4}{3} \frac{E}{1 - \nu^2} \sqrt{R}\, \delta^{3/2}

Assumptions: linear-elastic, isotropic, homogeneous, infinitely thick half-space; frictionless
contact; the sphere of radius R is approximated by a paraboloid, valid for δ << R.

References
----------
H. Hertz, "Über die Berührung fester elastischer Körper", J. Reine Angew. Math. 92, 156 (1881).
I. N. Sneddon, "The relation between load and penetration in the axisymmetric Boussinesq problem
for a punch of arbitrary profile", Int. J. Eng. Sci. 3, 47 (1965).
"""

from __future__ import annotations

import numpy as np

from cellmech.models import ParameterSpec

KEY = "hertz_paraboloidal"
NAME = "Hertz, paraboloidal (spherical) tip"
EQUATION = "F = 4/3 * E/(1-nu^2) * sqrt(R) * delta^(3/2)"
REFERENCE = "Hertz, J. Reine Angew. Math. 92, 156 (1881); Sneddon, Int. J. Eng. Sci. 3, 47 (1965)"
TIP_FAMILY = "spherical"

PARAMETERS = (
    ParameterSpec("tip_radius_m", "m", 10e-6, (1e-9, 1e-3), "radius R of the spherical tip"),
)


def force_per_modulus(
    indentation_m: np.ndarray, *, poisson_ratio: float, tip_radius_m: float
) -> np.ndarray:
    """F/E in m² for indentations ``indentation_m`` (m, any shape; 0 where <= 0)."""
    delta = np.clip(indentation_m, 0.0, None)
    return 4.0 / 3.0 / (1.0 - poisson_ratio**2) * np.sqrt(tip_radius_m) * delta**1.5
