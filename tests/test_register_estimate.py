"""The registration error estimate's terms (:mod:`cellmech.alignment.estimate`)."""

from __future__ import annotations

import numpy as np
import pytest

from cellmech.alignment.estimate import K, error_estimate

PITCH = 2.8e-6
RADIUS = 25e-6
#: four cell centroids (fluorescence m) about (40, 30) µm
CENTROIDS = np.array([[30e-6, 20e-6], [52e-6, 22e-6], [48e-6, 41e-6], [29e-6, 37e-6]])
NO_COV = np.zeros((3, 3))


def _estimate(residuals, cov=NO_COV, scaled=True):
    return error_estimate(cov, CENTROIDS, residuals, PITCH, RADIUS, scaled)


def test_rotation_term_measures_a_rotational_disagreement():
    """Residuals that are a pure rotation ``omega`` about the centroids' centre: the measured
    rotation is ``omega``; the rotation term is ``r * sqrt(omega^2 + se^2)`` with
    ``se^2 = s^2 / 2 / L = omega^2 / (2 k)`` for these residuals; the translation part is 0."""
    omega = 2e-3
    arm = CENTROIDS - CENTROIDS.mean(axis=0)
    residuals = omega * np.column_stack([-arm[:, 1], arm[:, 0]])
    est, parts = _estimate(residuals)
    assert parts["centroid_rotation_rad"] == pytest.approx(omega, rel=1e-9)
    k = len(CENTROIDS)
    assert parts["rotation_term_m"] == pytest.approx(RADIUS * omega * np.sqrt(1 + 1 / (2 * k)))
    assert parts["centroid_bias_m"] == pytest.approx(0.0, abs=1e-15)
    terms = [parts[n] for n in ("centroid_term_m", "rotation_term_m", "scale_term_m")]
    assert est == pytest.approx(K * np.sqrt(np.sum(np.square(terms))))


def test_translation_only_residuals_leave_no_rotation():
    est, parts = _estimate(np.tile([0.3e-6, -0.1e-6], (len(CENTROIDS), 1)))
    assert parts["centroid_rotation_rad"] == pytest.approx(0.0, abs=1e-12)
    assert parts["rotation_term_m"] == pytest.approx(0.0, abs=1e-15)
    assert est == pytest.approx(K * np.hypot(0.3e-6, 0.1e-6))


def test_without_cells_the_terms_fall_back_to_the_pixel_and_scale_bound():
    """No matched cell: one AFM pixel for the centroid term, no rotation term, and the prior
    scale bound (not multiplied by K) when the scale was not estimated; a flat optimum's
    infinite curvature is capped at one pixel."""
    empty = np.empty((0, 2))
    est, parts = error_estimate(np.full((3, 3), np.inf), empty, empty, PITCH, RADIUS, False)
    assert parts["rotation_term_m"] == 0.0 and parts["matched_cells"] == 0
    assert est == pytest.approx(np.sqrt(K**2 * 2 * PITCH**2 + (0.03 * RADIUS) ** 2))
