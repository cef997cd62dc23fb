"""Tip profile and lateral reach (:mod:`cellmech.tipshape`)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from cellmech.tipshape import lateral_reach, tip_profile

SPACING = 0.2e-6
TIPS = [{"tip_radius_m": 10e-6}, {"tip_radius_m": 2.5e-6}, {"half_angle_deg": 25.0}]


def _dilate(surface: np.ndarray, geometry) -> np.ndarray:
    """The image a tip records: ``max_q [s(q) - t(|q - p|)]`` (tip convolution)."""
    profile, reach = tip_profile(geometry)
    half = int(reach / SPACING)
    d = np.arange(-half, half + 1) * SPACING
    lift = profile(np.abs(d))
    footprint = np.isfinite(lift)
    return ndimage.grey_dilation(
        surface, footprint=footprint, structure=np.where(footprint, -lift, 0.0)
    )


@pytest.mark.parametrize("geometry", TIPS)
@pytest.mark.parametrize("height_m", [1e-6, 4e-6, 12e-6])
def test_reach_is_how_far_a_footprint_extends_beyond_a_steep_edge(geometry, height_m):
    """A step of height ``H`` recorded with the tip (1-D tip convolution): the recorded
    heights stay above ``h = 0.3 µm`` for ``lateral_reach(geometry, H - h)`` beyond the edge,
    to a sample."""
    x = np.arange(-600, 601) * SPACING
    image = _dilate(np.where(x <= 0, height_m, 0.0), geometry)
    beyond = x[(image > 0.3e-6) & (x > 0)]
    widening = beyond.max() if beyond.size else 0.0
    assert widening == pytest.approx(lateral_reach(geometry, height_m - 0.3e-6), abs=SPACING)


def test_reach_inverts_the_profile_and_is_zero_for_an_unknown_tip():
    for geometry in TIPS:
        profile, _ = tip_profile(geometry)
        assert profile(np.asarray(lateral_reach(geometry, 0.7e-6))) == pytest.approx(0.7e-6)
    assert lateral_reach({"tip_radius_m": 2.5e-6}, 5e-6) == 2.5e-6  # the equator
    assert lateral_reach({}, 5e-6) == 0.0
    assert lateral_reach({"tip_radius_m": 10e-6}, -1e-6) == 0.0
