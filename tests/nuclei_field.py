"""Dense fields of touching nuclei with exact instance labels, for the segmentation tests.

The sample generator (:mod:`cellmech.synthetic`) puts one nucleus inside each cell, so its nuclei
never touch. This field is the hard case of the real-nuclei target instead (GFP-tagged nuclei,
dense, uneven brightness, 0.24-0.65 µm pixels): irregular ellipses (semi-axes in µm, aspect
ratio up to ``max_aspect``, outline harmonics of orders 2-4 with relative amplitude
``outline_roughness``) placed so that neighbours press into each other by up to
``max_overlap`` of their radii. Where two nuclei claim a pixel it belongs to the one whose own
normalised radius is smaller, so touching nuclei share a border and do not add up. A nucleus is
brightest in its middle (intensity ~ thickness ``sqrt(1 - rho^2)`` to ``thickness_power``, an
ellipsoid seen in a widefield image with limited depth of field); brightness differs by up to
``brightness_range`` between nuclei and a smooth gradient runs across the field; the image is
blurred by a Gaussian PSF and carries Poisson and read noise. Everything is in µm and drawn on
any pixel grid, so the same scene can be imaged at 0.24 and at 0.65 µm.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage


@dataclass(frozen=True)
class NucleusField:
    """Parameters of :func:`nuclei_field` (lengths in m)."""

    field_m: float = 80e-6
    n_nuclei: int = 40
    semi_major_m: tuple[float, float] = (4e-6, 7e-6)
    max_aspect: float = 1.8
    max_overlap: float = 0.2
    outline_roughness: float = 0.03
    thickness_power: float = 0.5
    brightness_range: float = 2.0
    psf_sigma_m: float = 0.4e-6
    photons: float = 400.0
    read_noise: float = 3.0


def nuclei_field(
    pixel_size_m: float, seed: int, spec: NucleusField = NucleusField()
) -> tuple[np.ndarray, np.ndarray]:
    """A (Y, X) float image and its int32 instance labels (0 = background)."""
    rng = np.random.default_rng(seed)
    n_px = round(spec.field_m / pixel_size_m)
    y, x = (np.mgrid[:n_px, :n_px] + 0.5) * pixel_size_m
    nuclei = _place(rng, spec)
    best = np.full((n_px, n_px), np.inf)
    labels = np.zeros((n_px, n_px), np.int32)
    for k, nucleus in enumerate(nuclei, start=1):
        rho = _normalised_radius(nucleus, y, x)
        take = (rho < 1) & (rho < best)
        labels[take], best[take] = k, rho[take]
    brightness = np.concatenate([[0.0], rng.uniform(1, spec.brightness_range, len(nuclei))])
    thickness = np.sqrt(np.clip(1 - best**2, 0, None)) ** spec.thickness_power
    gradient = 1 + 0.5 * (x + y) / (2 * spec.field_m)
    clean = ndimage.gaussian_filter(
        brightness[labels] * thickness * gradient + 0.05, spec.psf_sigma_m / pixel_size_m
    )
    photons = rng.poisson(clean * spec.photons / spec.brightness_range)
    image = photons + rng.normal(0, spec.read_noise, clean.shape)
    return image, labels


def _place(rng, spec: NucleusField) -> list[tuple]:
    """Nuclei ``(cy, cx, a, b, angle, harmonics)`` placed at random; neighbours may overlap
    by up to ``max_overlap`` of the sum of their mean radii, none leaves the field."""
    placed: list[tuple] = []
    for _ in range(200 * spec.n_nuclei):
        if len(placed) == spec.n_nuclei:
            break
        a = rng.uniform(*spec.semi_major_m)
        b = a / rng.uniform(1, spec.max_aspect)
        cy, cx = rng.uniform(a, spec.field_m - a, 2)
        reach = (1 - spec.max_overlap) * np.sqrt(a * b)
        if all(
            np.hypot(cy - p[0], cx - p[1]) >= reach + (1 - spec.max_overlap) * np.sqrt(p[2] * p[3])
            for p in placed
        ):
            harmonics = rng.normal(0, spec.outline_roughness, (3, 2))  # orders 2-4: cos, sin
            placed.append((cy, cx, a, b, rng.uniform(0, np.pi), harmonics))
    return placed


def _normalised_radius(nucleus: tuple, y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Elliptical radius of every pixel (< 1 inside), outline modulated by the harmonics."""
    cy, cx, a, b, angle, harmonics = nucleus
    u = (x - cx) * np.cos(angle) + (y - cy) * np.sin(angle)
    v = -(x - cx) * np.sin(angle) + (y - cy) * np.cos(angle)
    phi = np.arctan2(v, u)
    outline = 1 + sum(
        c * np.cos(order * phi) + s * np.sin(order * phi)
        for order, (c, s) in enumerate(harmonics, start=2)
    )
    return np.hypot(u / a, v / b) / outline
