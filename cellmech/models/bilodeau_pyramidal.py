r"""Four-sided (square) pyramidal tip, Bilodeau's approximate solution.

.. math:: F = \frac{1.4906}{2} \frac{E}{1 - \nu^2} \tan\alpha \, \delta^2
          = 0.7453 \frac{E}{1 - \nu^2} \tan\alpha \, \delta^2

with α the face angle (between the pyramid axis and each face; the half-angle between opposite
faces). Typical for Bruker MLCT / Olympus silicon-nitride pyramids.

Assumptions: linear-elastic, isotropic, homogeneous, infinitely thick half-space; frictionless
contact; rigid, infinitely sharp regular pyramid; Bilodeau's approximate solution of the
non-axisymmetric contact, valid for small face angles; Rico et al. (2005) use it for AFM on cells.

References
----------
G. G. Bilodeau, "Regular pyramid punch problem", J. Appl. Mech. 59, 519 (1992).
F. Rico, P. Roca-Cusachs, N. Gavara, R. Farré, M. Rotger, D. Navajas, "Probing mechanical
properties of living cells by atomic force microscopy with blunted pyramidal cantilever tips",
Phys. Rev. E 72, 021914 (2005).
"""

from __future__ import annotations

from cellmech.models.hertz_conical import half_angle_parameter, sharp_tip_model

KEY = "bilodeau_pyramidal"
NAME = "Bilodeau, four-sided pyramidal tip"
EQUATION = "F = 1.4906/2 * E/(1-nu^2) * tan(alpha) * delta^2"
REFERENCE = "Bilodeau, J. Appl. Mech. 59, 519 (1992); Rico et al., Phys. Rev. E 72, 021914 (2005)"
TIP_FAMILY = "conical"

#: C in F = C tan(alpha) E/(1-nu^2) delta^2
FORCE_COEFFICIENT = 1.4906 / 2.0

PARAMETERS = (half_angle_parameter(17.5, "face angle alpha of the pyramid (axis to face)"),)
force_per_modulus = sharp_tip_model(FORCE_COEFFICIENT)
