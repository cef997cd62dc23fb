"""The AFM tip's shape: its profile, and the surface reconstruction that undoes tip convolution.

A height map recorded with a tip of profile ``t`` (height of the tip surface above its apex
versus lateral distance) is the grey-scale dilation of the true surface ``s`` by the tip,
``I(p) = max_q [s(q) - t(|q - p|)]``: steps and cell edges appear wider by the tip's lateral
reach (``sqrt(2 R h - h²)`` at height ``h`` for a sphere of radius ``R`` against a steep edge).
The grey-scale erosion of the image by the same tip, ``s_r(p) = min_q [I(q) + t(|q - p|)]``,
is the reconstruction of Villarrubia (J. Res. Natl. Inst. Stand. Technol. 102, 425 (1997),
eq. 11): the tightest upper bound on the surface that the image allows, equal to it wherever
the tip touched it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

__all__ = ["reconstruct_surface", "tip_profile"]


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


def reconstruct_surface(
    image_m: np.ndarray, spacing_m: tuple[float, float], geometry: Mapping[str, float]
) -> np.ndarray:
    """Grey-scale erosion of a height image by the tip (Villarrubia's reconstruction).

    Parameters
    ----------
    image_m : ndarray, shape (rows, cols)
        Tip-convolved heights in m sampled on a regular grid (finite).
    spacing_m : (float, float)
        Row and column spacing of the samples, m.
    geometry : mapping
        Tip geometry (:func:`tip_profile`); without a known shape nothing is eroded.

    Returns
    -------
    ndarray, shape (rows, cols)
        ``min_q [I(q) + t(|q - p|)]`` over the samples ``q`` within the tip's reach of each
        sample ``p`` (samples beyond the image do not constrain it). Tip heights above the
        image's height range cannot lower any value and are left out.
    """
    image = np.asarray(image_m, float)
    rows, cols = image.shape
    profile, reach = tip_profile(geometry)
    span = float(np.ptp(image)) if image.size else 0.0
    half = [int(np.floor(reach / s)) for s in spacing_m]
    padded = np.pad(image, [(h, h) for h in half], constant_values=np.inf)
    out = image.copy()
    for kr in range(-half[0], half[0] + 1):
        for kc in range(-half[1], half[1] + 1):
            lift = float(profile(np.asarray(np.hypot(kr * spacing_m[0], kc * spacing_m[1]))))
            if lift <= span:
                r0, c0 = half[0] + kr, half[1] + kc
                np.minimum(out, padded[r0 : r0 + rows, c0 : c0 + cols] + lift, out=out)
    return out
