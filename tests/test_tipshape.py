"""Tip profile and Villarrubia surface reconstruction (:mod:`cellmech.tipshape`)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from cellmech.tipshape import reconstruct_surface, tip_profile

SPACING = 0.4e-6
_R = (np.arange(151) - 75) * SPACING
RADIUS = np.hypot(*np.meshgrid(_R, _R, indexing="ij"))
#: a smooth bump the tip touches everywhere, and a cell-like cap with vertical edges
BUMP = 3e-6 * np.exp(-(RADIUS**2) / 2 / (5e-6) ** 2)
CAP = 4e-6 * np.clip(1 - (RADIUS / 12e-6) ** 2, 0, None) ** 0.5
TIPS = [{"tip_radius_m": 10e-6}, {"tip_radius_m": 2.5e-6}, {"half_angle_deg": 25.0}]


def _dilate(surface: np.ndarray, geometry) -> np.ndarray:
    """The image a tip records: ``max_q [s(q) - t(|q - p|)]`` (tip convolution)."""
    profile, reach = tip_profile(geometry)
    half = int(reach / SPACING)
    d = np.arange(-half, half + 1) * SPACING
    lift = profile(np.hypot(*np.meshgrid(d, d, indexing="ij")))
    footprint = np.isfinite(lift)
    structure = np.where(footprint, -lift, 0.0)
    return ndimage.grey_dilation(surface, footprint=footprint, structure=structure)


def _footprint_radius(heights: np.ndarray) -> float:
    """Radius of the disc with the area above 0.3 µm, m."""
    return float(np.sqrt(np.sum(heights > 0.3e-6) * SPACING**2 / np.pi))


@pytest.mark.parametrize("geometry", TIPS)
@pytest.mark.parametrize("surface", [BUMP, CAP], ids=["bump", "cap"])
def test_reconstruction_is_an_upper_bound_below_the_image(surface, geometry):
    """``s <= s_r <= I`` everywhere (Villarrubia 1997), so the reconstructed footprint is never
    smaller than the true one nor larger than the recorded one."""
    image = _dilate(surface, geometry)
    rebuilt = reconstruct_surface(image, (SPACING, SPACING), geometry)
    assert np.all(rebuilt >= surface - 1e-12) and np.all(rebuilt <= image + 1e-12)


@pytest.mark.parametrize("geometry", TIPS[:2])
def test_reconstruction_undoes_the_widening_where_the_tip_touches(geometry):
    """On a bump the sphere touches everywhere the reconstruction is exact: the footprint at
    0.3 µm is the true one to a grid step although the image's is wider (by 0.8 µm for the
    10 µm tip); on the vertical-edged cap the tip never reaches the foot of the edge, so the
    widening (4 µm, 10 µm tip) is only partly undone, and never overdone."""
    image = _dilate(BUMP, geometry)
    rebuilt = reconstruct_surface(image, (SPACING, SPACING), geometry)
    assert _footprint_radius(image) > _footprint_radius(BUMP)
    assert _footprint_radius(rebuilt) == pytest.approx(_footprint_radius(BUMP), abs=SPACING / 4)
    image = _dilate(CAP, geometry)
    rebuilt = reconstruct_surface(image, (SPACING, SPACING), geometry)
    assert _footprint_radius(CAP) <= _footprint_radius(rebuilt) < _footprint_radius(image) - 0.5e-6


def test_without_a_known_tip_the_image_is_unchanged():
    assert np.array_equal(reconstruct_surface(CAP, (SPACING, SPACING), {}), CAP)


def test_sphere_profile_is_the_cap_height_and_infinite_beyond_the_radius():
    profile, reach = tip_profile({"tip_radius_m": 10e-6})
    assert reach == 10e-6
    h = 0.3e-6
    assert profile(np.sqrt(2 * 10e-6 * h - h**2)) == pytest.approx(h)
    assert np.isinf(profile(10.5e-6))
