"""Tolerance of the fast JPK reader against afmformats.

The fast reader folds a channel's encoder and conversion steps into one multiply-add
(:attr:`cellmech.io.jpk.properties.ChannelRecipe.affine`) where afmformats applies them one by
one, so values differ by a few units in the last place. The issue allows 1e-12 relative: every
value must lie within ``1e-12 * max|expected|`` of afmformats' (NaN padding must match).
"""

from __future__ import annotations

import numpy as np

RELATIVE = 1e-12


def assert_matches_afmformats(actual, expected) -> None:
    """Assert ``actual`` equals ``expected`` to :data:`RELATIVE` of ``expected``'s range."""
    if expected is None or actual is None:
        assert actual is None and expected is None
        return
    expected = np.asarray(expected)
    scale = np.nanmax(np.abs(expected)) if expected.size else 0.0
    np.testing.assert_allclose(actual, expected, rtol=0, atol=RELATIVE * scale)
