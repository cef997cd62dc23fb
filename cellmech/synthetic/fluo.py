"""Synthetic widefield fluorescence stack of a :class:`~cellmech.synthetic.scene.Scene`.

Image formation (e.g. Sage et al., "DeconvolutionLab2", Methods 115, 28 (2017), for the
noise/blur model): fluorophore density per voxel (the fraction of the voxel's z extent that
lies inside the stained compartment, so thin caps are anti-aliased in z) times a per-channel
brightness, blurred by an anisotropic Gaussian point-spread function (σ_z > σ_xy), plus a
uniform background; photon (Poisson) shot noise, Gaussian read noise and a camera offset are
applied in photo-electrons and stored as uint16.

Channels: ``cytoplasm`` (whole cell, dimmer over the nucleus), ``nucleus`` and optionally
``stiffness_marker``, whose brightness grows with log(cytoplasm modulus) so a correlation
analysis has something to find.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tifffile
from scipy import ndimage

from cellmech.outputs import atomic_path
from cellmech.synthetic.scene import Scene

__all__ = ["FluoGeometry", "Optics", "render_stack", "write_ome_tiff"]

_CAMERA_OFFSET_E = 100.0


@dataclass(frozen=True)
class FluoGeometry:
    """Where the stack's voxels are, in the sample frame.

    Parameters
    ----------
    shape_zyx : (int, int, int)
        Planes, rows, columns.
    pixel_size_m : float
        Square pixel pitch, m.
    z_step_m : float
        Plane spacing, m.
    origin_m : (float, float)
        Sample-frame ``(x, y)`` of the centre of pixel (row 0, col 0), m.
    z_first_m : float
        Height of the first plane above the substrate plane, m.
    """

    shape_zyx: tuple[int, int, int]
    pixel_size_m: float
    z_step_m: float
    origin_m: tuple[float, float]
    z_first_m: float

    def pixel_centres_m(self) -> tuple[np.ndarray, np.ndarray]:
        """Sample-frame ``(x, y)`` of every pixel centre, each of shape (rows, cols)."""
        rr, cc = np.indices(self.shape_zyx[1:], dtype=float)
        return self.origin_m[0] + cc * self.pixel_size_m, self.origin_m[1] + rr * self.pixel_size_m

    @property
    def plane_heights_m(self) -> np.ndarray:
        """Heights of the planes above the substrate, m, shape (Z,)."""
        return self.z_first_m + np.arange(self.shape_zyx[0]) * self.z_step_m


@dataclass(frozen=True)
class Optics:
    """Blur and camera model.

    Parameters
    ----------
    psf_sigma_xy_m, psf_sigma_z_m : float
        Gaussian PSF standard deviations, m.
    peak_photons : float
        Photo-electrons per voxel fully inside a compartment of brightness 1.
    background_photons : float
        Uniform background, photo-electrons.
    read_noise_e : float
        RMS read noise, electrons.
    """

    psf_sigma_xy_m: float = 0.3e-6
    psf_sigma_z_m: float = 0.9e-6
    peak_photons: float = 600.0
    background_photons: float = 40.0
    read_noise_e: float = 3.0


def _z_fraction(bottom: np.ndarray, top: np.ndarray, geo: FluoGeometry) -> np.ndarray:
    """Fraction of each voxel's z extent inside ``[bottom, top]`` (Y, X) -> (Z, Y, X)."""
    z0 = geo.plane_heights_m[:, None, None] - geo.z_step_m / 2
    lo = np.clip((bottom[None] - z0) / geo.z_step_m, 0.0, 1.0)
    hi = np.clip((top[None] - z0) / geo.z_step_m, 0.0, 1.0)
    return np.clip(hi - lo, 0.0, 1.0)


def _marker_brightness(scene: Scene, label: np.ndarray) -> np.ndarray:
    """Per-pixel stiffness-marker brightness in [0.2, 1] from log(cytoplasm modulus)."""
    lut = np.zeros(max((c.label for c in scene.cells), default=0) + 1)
    for c in scene.cells:
        frac = np.log(c.cytoplasm_modulus_pa / 300.0) / np.log(20e3 / 300.0)
        lut[c.label] = 0.2 + 0.8 * np.clip(frac, 0.0, 1.0)
    return lut[label]


def render_stack(
    rng: np.random.Generator,
    scene: Scene,
    geo: FluoGeometry,
    optics: Optics = Optics(),
    *,
    marker: bool = True,
) -> tuple[np.ndarray, tuple[str, ...], dict[str, np.ndarray]]:
    """Render the (C, Z, Y, X) uint16 stack and the 2-D ground-truth fields.

    Returns
    -------
    data : ndarray of uint16, shape (C, Z, Y, X)
    channel_names : tuple of str
    fields : dict of ndarray, each (Y, X)
        ``label`` (cell labels), ``nucleus_label`` and the other fields of
        :meth:`Scene.fields` at the pixel centres.
    """
    x, y = geo.pixel_centres_m()
    f = scene.fields(x, y)
    base = scene.substrate_height_m(x, y)
    cell = _z_fraction(base, base + f["cell_height_m"], geo)
    nuc_bottom = np.where(f["nucleus"], base + 0.3e-6, base)
    nuc = _z_fraction(nuc_bottom, base + np.where(f["nucleus"], f["nucleus_top_m"], 0.0), geo)
    densities = [cell - 0.7 * nuc, nuc]
    names = ["cytoplasm", "nucleus"]
    if marker:
        densities.append((cell - nuc) * _marker_brightness(scene, f["label"])[None])
        names.append("stiffness_marker")
    sigma = (
        optics.psf_sigma_z_m / geo.z_step_m,
        optics.psf_sigma_xy_m / geo.pixel_size_m,
        optics.psf_sigma_xy_m / geo.pixel_size_m,
    )
    data = np.empty((len(names), *geo.shape_zyx), np.uint16)
    for c, dens in enumerate(densities):
        mean = ndimage.gaussian_filter(dens, sigma, mode="nearest") * optics.peak_photons
        electrons = rng.poisson(np.clip(mean, 0, None) + optics.background_photons)
        counts = electrons + rng.normal(_CAMERA_OFFSET_E, optics.read_noise_e, electrons.shape)
        data[c] = np.clip(np.rint(counts), 0, 65535).astype(np.uint16)
    f["nucleus_label"] = np.where(f["nucleus"], f["label"], 0).astype(np.int32)
    return data, tuple(names), f


def write_ome_tiff(
    path: str | os.PathLike,
    data: np.ndarray,
    *,
    channel_names: tuple[str, ...],
    geo: FluoGeometry,
    stage_origin_m: tuple[float, float],
    axes: str = "CZYX",
) -> Path:
    """Write ``data`` as OME-TIFF with pixel sizes and per-plane stage positions.

    Parameters
    ----------
    path : path-like
        Output file (``.ome.tif``), written atomically.
    data : ndarray, shape (C, Z, Y, X)
    channel_names : tuple of str
    geo : FluoGeometry
        Pixel size and plane heights.
    stage_origin_m : (float, float)
        Stage ``(x, y)`` written as ``Plane PositionX/Y`` (centre of pixel (0, 0)), m.
    axes : str
        OME axes of ``data``.

    Returns
    -------
    Path
    """
    c, z = data.shape[0], data.shape[1]
    um = 1e6
    plane_z = np.tile(geo.plane_heights_m * um, c).tolist()
    metadata = {
        "axes": axes,
        "PhysicalSizeX": geo.pixel_size_m * um,
        "PhysicalSizeXUnit": "µm",
        "PhysicalSizeY": geo.pixel_size_m * um,
        "PhysicalSizeYUnit": "µm",
        "PhysicalSizeZ": geo.z_step_m * um,
        "PhysicalSizeZUnit": "µm",
        "Channel": {"Name": list(channel_names)},
        "Plane": {
            "PositionX": [stage_origin_m[0] * um] * (c * z),
            "PositionXUnit": ["µm"] * (c * z),
            "PositionY": [stage_origin_m[1] * um] * (c * z),
            "PositionYUnit": ["µm"] * (c * z),
            "PositionZ": plane_z,
            "PositionZUnit": ["µm"] * (c * z),
        },
    }
    with atomic_path(path) as tmp:
        tifffile.imwrite(tmp, data, ome=True, metadata=metadata, compression="zlib", predictor=True)
    return Path(path)
