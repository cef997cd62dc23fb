"""The AFM tip's shape: its profile and its lateral reach.

A height map recorded with a tip of profile ``t`` (height of the tip surface above its apex
versus lateral distance) is the grey-scale dilation of the true surface by the tip,
``I(p) = max_q [s(q) - t(|q - p|)]`` (Villarrubia, J. Res. Natl. Inst. Stand. Technol. 102,
425 (1997)): a cell's footprint thresholded at ``h`` above the dish extends beyond a steep edge
of height ``H`` by the distance at which the tip surface is ``H - h`` above its apex.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

__all__ = ["lateral_reach", "tip_profile"]


def tip_profile(geometry: Mapping[str, float]) -> tuple[Callable[[np.ndarray], np.ndarray], float]:
    """Height of the tip surface above its apex versus lateral distance, and its reach.

    Parameters
    ----------
    geometry : mapping
        Contact-model geometry: ``tip_radius_m`` (sphere) or ``half_angle_deg`` (cone; a
        pyramid is approximated by the cone of its half angle).

    Returns
    -------
    profile : callable
        ``profile(r_m) -> height_m`` (inf beyond a sphere's radius).
    reach_m : float
        Largest lateral distance worth searching, m (sphere radius; 20 µm for a cone).
    """
    if "tip_radius_m" in geometry:
        radius = float(geometry["tip_radius_m"])

        def sphere(r: np.ndarray) -> np.ndarray:
            inside = r <= radius
            return np.where(inside, radius - np.sqrt(np.clip(radius**2 - r**2, 0, None)), np.inf)

        return sphere, radius
    if "half_angle_deg" in geometry:
        cot = 1.0 / np.tan(np.radians(float(geometry["half_angle_deg"])))
        return (lambda r: r * cot), 20e-6
    return (lambda r: np.where(r == 0, 0.0, np.inf)), 0.0


def lateral_reach(geometry: Mapping[str, float], height_m):
    """Largest lateral distance at which the tip surface is at most ``height_m`` above its apex.

    How far beyond a steep edge of height ``H`` a recorded footprint thresholded at ``h``
    extends: ``lateral_reach(geometry, H - h)``; ``sqrt(2 R d - d²)`` (``R`` for ``d >= R``)
    for a sphere, ``d tan(alpha)`` for a cone, 0 for an unknown tip. ``height_m`` a float (a
    float is returned) or an array (an array of the same shape).
    """
    d = np.maximum(np.asarray(height_m, float), 0.0)
    if "tip_radius_m" in geometry:
        radius = float(geometry["tip_radius_m"])
        reach = np.where(d >= radius, radius, np.sqrt(np.clip(2 * radius * d - d**2, 0, None)))
    elif "half_angle_deg" in geometry:
        reach = d * float(np.tan(np.radians(float(geometry["half_angle_deg"]))))
    else:
        reach = np.zeros_like(d)
    return float(reach) if reach.ndim == 0 else reach
