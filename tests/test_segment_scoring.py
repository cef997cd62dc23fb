"""Tests of the independent segmentation scoring helpers (tests/segment_scoring.py)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from tests.segment_scoring import edge_offset, match_labels

CENTRES = [(30, 30), (30, 75), (75, 40), (80, 90)]
RADIUS = 11.0


def _discs(radius: float) -> np.ndarray:
    rows, cols = np.mgrid[:120, :120]
    labels = np.zeros(rows.shape, np.int32)
    for k, (r, c) in enumerate(CENTRES, start=1):
        labels[np.hypot(rows - r, cols - c) <= radius] = k
    return labels


@pytest.mark.parametrize("grow_px", [-1.0, 0.0, 2.0])
def test_edge_offset_recovers_how_far_labels_sit_outside_the_half_maximum(grow_px):
    """Blurred uniform discs of unequal brightness on an uneven background: labels drawn
    ``grow_px`` outside the true edge are reported ``grow_px`` outside the half-maximum
    (tolerance 0.3 px: pixelation and the inward shift sigma^2 / 2r ~ 0.1 px of a blurred disc)."""
    truth = _discs(RADIUS)
    brightness = np.array([0.0, 100.0, 40.0, 70.0, 25.0])
    background = 10.0 + np.linspace(0.0, 8.0, truth.shape[1])[None, :]
    image = ndimage.gaussian_filter(brightness[truth], 1.5) + background
    offsets = edge_offset(image, _discs(RADIUS + grow_px))
    assert offsets.shape == (len(CENTRES),)
    np.testing.assert_allclose(offsets, grow_px, atol=0.3)


def test_match_labels_counts_a_missed_and_a_spurious_object():
    truth = _discs(RADIUS)
    pred = truth.copy()
    pred[truth == 4] = 0
    pred[100:110, 5:15] = 9
    score = match_labels(truth, pred)
    assert (score["tp"], score["n_true"], score["n_pred"]) == (3, 4, 4)
    assert score["f1"] == pytest.approx(0.75)
