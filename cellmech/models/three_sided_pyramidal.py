r"""Three-sided (triangular) pyramidal tip, Bilodeau's approximate solution.

.. math:: F = 0.8887 \frac{E}{1 - \nu^2} \tan\alpha \, \delta^2

with α the face angle (between the pyramid axis and each face). Typical for sharp silicon tips
with a triangular cross-section. (The constant is sometimes quoted rounded as 0.887.)

Assumptions: linear-elastic, isotropic, homogeneous, infinitely thick half-space; frictionless
contact; rigid, infinitely sharp regular three-sided pyramid; Bilodeau's approximation of the
non-axisymmetric contact, valid for small face angles.

References
----------
G. G. Bilodeau, "Regular pyramid punch problem", J. Appl. Mech. 59, 519 (1992).
F. Rico, P. Roca-Cusachs, N. Gavara, R. Farré, M. Rotger, D. Navajas, Phys. Rev. E 72, 021914
(2005).
"""

from __future__ import annotations

import numpy as np

from cellmech.models import ParameterSpec
from cellmech.models.hertz_conical import quadratic_law

KEY = "three_sided_pyramidal"
NAME = "Bilodeau, three-sided pyramidal tip"
EQUATION = "F = 0.8887 * E/(1-nu^2) * tan(alpha) * delta^2"
REFERENCE = "Bilodeau, J. Appl. Mech. 59, 519 (1992); Rico et al., Phys. Rev. E 72, 021914 (2005)"
TIP_FAMILY = "conical"

#: C in F = C tan(alpha) E/(1-nu^2) delta^2
FORCE_COEFFICIENT = 0.8887

PARAMETERS = (
    ParameterSpec(
        "half_angle_deg",
        "deg",
        17.5,
        (1.0, 89.0),
        "face angle alpha of the pyramid (axis to face)",
    ),
)


def force_per_modulus(
    indentation_m: np.ndarray, *, poisson_ratio: float, half_angle_deg: float
) -> np.ndarray:
    """F/E in m² for indentations ``indentation_m`` (m, any shape; 0 where <= 0)."""
    return quadratic_law(
        indentation_m,
        coefficient=FORCE_COEFFICIENT,
        half_angle_deg=half_angle_deg,
        poisson_ratio=poisson_ratio,
    )
