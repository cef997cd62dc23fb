"""The registration error estimate's terms (:mod:`cellmech.alignment.estimate`)."""

from __future__ import annotations

import numpy as np
import pytest

from cellmech.alignment.estimate import K, error_estimate, pose_covariance
from cellmech.alignment.footprint import AfmFootprint

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


def _quadratic(hess_native: np.ndarray, s0: float):
    """Mean squares ``s0 + p^T H p / 2`` about zero, ``H`` given in the score's own units."""

    def score(params: np.ndarray) -> np.ndarray:
        return s0 + 0.5 * np.einsum("ki,ij,kj->k", params, hess_native, params)

    return score


def test_pose_covariance_marginalises_the_nuisance_parameter():
    """A quadratic score in (angle deg, x, y, widening): the covariance returned is the pose
    block of ``2 S / n * inv(H)`` (H in rad and m), wider than the conditional one (the
    inverse of the pose block alone) when the widening is correlated with the shift."""
    a = np.array([[4.0, 0.0, 0.0, 0.0], [0.0, 2.0, 0.3, 1.2], [0.0, 0.3, 3.0, 0.0]])
    hess = a.T @ a + np.diag([0.5, 0.1, 0.1, 0.4])  # positive definite, (rad, m) units
    units = np.array([np.pi / 180, 1.0, 1.0, 1.0])
    score = _quadratic(hess * np.outer(units, units), 0.02)
    cov = pose_covariance(score, np.zeros(4), np.array([0.1, 1e-2, 1e-2, 1e-2]), 100)
    expected = 2 * 0.02 / 100 * np.linalg.inv(hess)
    np.testing.assert_allclose(cov, expected[:3, :3], rtol=1e-6)
    conditional = 2 * 0.02 / 100 * np.linalg.inv(hess[:3, :3])
    assert cov[1, 1] > 1.2 * conditional[1, 1]
    three = pose_covariance(
        _quadratic(hess[:3, :3] * np.outer(units, units)[:3, :3], 0.02),
        np.zeros(3),
        np.array([0.1, 1e-2, 1e-2]),
        100,
    )
    np.testing.assert_allclose(three, conditional, rtol=1e-6)


def test_pose_covariance_is_infinite_at_a_saddle():
    hess = np.diag([1.0, -1.0, 1.0, 1.0])
    cov = pose_covariance(_quadratic(hess, 0.1), np.zeros(4), np.full(4, 0.1), 10)
    assert np.all(np.isinf(cov))


@pytest.mark.parametrize("shrink_m", [-1.5e-6, -0.4e-6, 0.4e-6, 1.5e-6])
def test_footprint_shrink_moves_every_edge_by_that_distance(shrink_m):
    """A disc footprint of radius 12 µm on a 0.5 µm fine grid: shrunk by ``u`` (grown when
    negative) its smoothed area is that of a disc of radius ``12 µm - u`` within 0.15 µm (the
    distance transform places a pixelated edge to ~0.3 spacing); ``u = 0`` is the binary
    footprint smoothed."""
    spacing, radius = 0.5e-6, 12e-6
    rows, cols = np.indices((100, 100))
    inside = np.hypot(rows - 49.5, cols - 49.5) * spacing < radius
    points = np.column_stack([rows.ravel(), cols.ravel()]) * spacing
    fp = AfmFootprint(points, inside.ravel(), inside.shape, points / spacing, points[0], 0.0)
    binary = fp.smoothed(1e-6, spacing)
    np.testing.assert_array_equal(fp.smoothed(1e-6, spacing, 0.0), binary)
    area = fp.smoothed(1e-6, spacing, shrink_m).sum() * spacing**2
    assert np.sqrt(area / np.pi) == pytest.approx(radius - shrink_m, abs=0.15e-6)
