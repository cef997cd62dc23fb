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

from cellmech.models.hertz_conical import half_angle_parameter, sharp_tip_model

KEY = "three_sided_pyramidal"
NAME = "Bilodeau, three-sided pyramidal tip"
EQUATION = "F = 0.8887 * E/(1-nu^2) * tan(alpha) * delta^2"
REFERENCE = "Bilodeau, J. Appl. Mech. 59, 519 (1992); Rico et al., Phys. Rev. E 72, 021914 (2005)"
TIP_FAMILY = "conical"

#: C in F = C tan(alpha) E/(1-nu^2) delta^2
FORCE_COEFFICIENT = 0.8887

PARAMETERS = (half_angle_parameter(17.5, "face angle alpha of the pyramid (axis to face)"),)
force_per_modulus = sharp_tip_model(FORCE_COEFFICIENT)
