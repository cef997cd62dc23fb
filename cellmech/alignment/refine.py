"""Mutual-information affine refinement of a rigid AFM -> fluorescence transform (SimpleITK).

The fixed image is the fluorescence image (an intensity plane, or the smoothed cell mask
when none is given) in stage metres; the moving image is the AFM height above the substrate
in scanner metres. Mattes mutual information (Mattes et al. 2003, IEEE TMI 22(1), 120-128)
tolerates the different contrasts; the affine starts at the rigid answer and is only proposed
here -- :mod:`cellmech.register` keeps it only if it passes the sanity checks.
"""

from __future__ import annotations

import numpy as np

__all__ = ["mi_affine"]


def _image(array: np.ndarray, px_to_m: np.ndarray):
    """A SimpleITK image whose physical space is the metric frame of ``px_to_m``.

    SimpleITK indexes (col, row); ``px_to_m`` maps (row, col, 1) -> (x, y, 1).
    """
    import SimpleITK as sitk

    image = sitk.GetImageFromArray(np.ascontiguousarray(array, dtype=np.float32))
    col_axis, row_axis = px_to_m[:2, 1], px_to_m[:2, 0]
    spacing = (float(np.linalg.norm(col_axis)), float(np.linalg.norm(row_axis)))
    direction = np.column_stack([col_axis / spacing[0], row_axis / spacing[1]])
    image.SetSpacing(spacing)
    image.SetOrigin(tuple(float(v) for v in px_to_m[:2, 2]))
    image.SetDirection(tuple(float(v) for v in direction.ravel()))
    return image


def mi_affine(
    fluo_image: np.ndarray,
    fluo_px_to_m: np.ndarray,
    afm_heights: np.ndarray,
    afm_px_to_m: np.ndarray,
    initial: np.ndarray,
    *,
    iterations: int = 100,
    seed: int = 0,
) -> np.ndarray:
    """Affine AFM m -> fluorescence m maximising Mattes MI, started from ``initial``.

    Parameters
    ----------
    fluo_image : ndarray, shape (Y, X)
        Fixed image (fluorescence intensity or smoothed mask).
    fluo_px_to_m, afm_px_to_m : ndarray, shape (3, 3)
        Pixel (row, col, 1) -> metric (x, y, 1) of each image.
    afm_heights : ndarray, shape (rows, cols)
        Moving image: height above the substrate in m (finite everywhere).
    initial : ndarray, shape (3, 3)
        Starting AFM m -> fluorescence m transform.

    Returns
    -------
    ndarray, shape (3, 3)
        The refined AFM m -> fluorescence m affine.
    """
    import SimpleITK as sitk

    fixed = _image(fluo_image, fluo_px_to_m)
    moving = _image(afm_heights / max(float(np.max(np.abs(afm_heights))), 1e-12), afm_px_to_m)
    inverse = np.linalg.inv(initial)  # SimpleITK maps fixed (fluorescence) -> moving (AFM)
    transform = sitk.AffineTransform(2)
    transform.SetMatrix(tuple(float(v) for v in inverse[:2, :2].ravel()))
    transform.SetTranslation(tuple(float(v) for v in inverse[:2, 2]))
    method = sitk.ImageRegistrationMethod()
    method.SetMetricAsMattesMutualInformation(numberOfHistogramBins=32)
    method.SetMetricSamplingStrategy(method.REGULAR)
    method.SetMetricSamplingPercentage(0.25, seed)
    method.SetInterpolator(sitk.sitkLinear)
    method.SetOptimizerAsRegularStepGradientDescent(
        learningRate=1e-6, minStep=1e-9, numberOfIterations=iterations
    )
    method.SetOptimizerScalesFromPhysicalShift()  # steps below are physical shifts in m
    method.SetInitialTransform(transform, inPlace=True)
    method.Execute(fixed, moving)
    out = np.eye(3)
    out[:2, :2] = np.reshape(transform.GetMatrix(), (2, 2))
    out[:2, 2] = transform.GetTranslation()
    centre = np.asarray(transform.GetCenter())
    out[:2, 2] += centre - out[:2, :2] @ centre
    return np.linalg.inv(out)
