"""Bring your own labels: a label image made elsewhere replaces the segmentation.

Part of the ``segment`` stage (re-exported by :mod:`cellmech.segment`). A label image from
Cellpose, StarDist, ilastik or a napari annotation is a TIFF of any integer dtype holding either
the cell labels (Y, X) or the pair cell / nucleus labels (2, Y, X). It is read with the
fluorescence TIFF reader, so its pixel size comes from the same metadata (OME, ImageJ or TIFF
resolution tags); a label image without one takes the stack's when the shapes match.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy import ndimage

from cellmech.containers import FluorescenceStack, Segmentation
from cellmech.errors import CellmechError, MissingMetadataError

__all__ = ["LabelsError", "load_labels", "nuclei_to_cells"]

#: relative difference of pixel sizes tolerated between a label image and its stack
PIXEL_SIZE_RTOL = 0.01


class LabelsError(CellmechError, ValueError):
    """A label image does not fit its fluorescence stack or is not a label image."""


def load_labels(
    path: str | Path,
    stack: FluorescenceStack | None = None,
    *,
    pixel_size_m: float | tuple[float, float] | None = None,
) -> Segmentation:
    """Read a label image (TIFF) as a :class:`~cellmech.containers.Segmentation`.

    Parameters
    ----------
    path : path-like
        TIFF of any integer dtype: cell labels (Y, X), or cell and nucleus labels (2, Y, X)
        (0 = background).
    stack : FluorescenceStack, optional
        The stack the labels belong to: shapes must match, pixel sizes agree within
        :data:`PIXEL_SIZE_RTOL`; its pixel size and stage position are used when the label
        image records none.
    pixel_size_m : float or (float, float), optional
        Pixel pitch ``(y, x)`` in m, overriding the file.

    Returns
    -------
    Segmentation
        ``method="labels_file"``. Cells keep their ids; each nucleus takes the id of the cell
        that covers most of it, nucleus pixels outside that cell are dropped, and a nucleus
        lying on no cell is dropped.

    Raises
    ------
    LabelsError
        Not integer, negative labels, neither 2-D nor a pair, or a shape or pixel-size mismatch
        with ``stack``; the message names the file.
    MissingMetadataError
        No pixel size in the file, none given and no stack of the same shape.
    """
    from cellmech.io import read_fluorescence

    path = Path(path)
    try:
        image = read_fluorescence(path, pixel_size_m=pixel_size_m)
    except MissingMetadataError:
        if stack is None:
            raise
        image = read_fluorescence(path, pixel_size_m=stack.pixel_size_m)
    planes = _planes(path, image.data)
    if stack is not None:
        _check_fits(path, planes.shape[1:], image.pixel_size_m, stack)
    cells = planes[0].astype(np.int32)
    nuclei = planes[1].astype(np.int32) if len(planes) == 2 else np.zeros_like(cells)
    origin = stack.stage_position_m if stack is not None else image.stage_position_m
    if origin is None or not np.all(np.isfinite(origin)):
        origin = (0.0, 0.0)
    return Segmentation(
        cell_labels=cells,
        nucleus_labels=nuclei_to_cells(cells, nuclei),
        pixel_size_m=image.pixel_size_m,
        origin_m=origin,
        method="labels_file",
        parameters={"labels_file": str(path), "pixel_size_m": list(image.pixel_size_m)},
        source=str(path),
    )


def _planes(path: Path, data) -> np.ndarray:
    """The (1 or 2, Y, X) label planes of a (C, Z, Y, X) read, checked."""
    arr = np.asarray(data)
    if arr.dtype.kind not in "iu":
        raise LabelsError(f"{path}: a label image must have an integer dtype, not {arr.dtype}")
    planes = arr.reshape(-1, *arr.shape[2:])
    if len(planes) not in (1, 2):
        raise LabelsError(
            f"{path}: a label image must be (Y, X) cell labels or a (2, Y, X) cell/nucleus "
            f"pair, got {len(planes)} planes of {arr.shape[2:]}"
        )
    if planes.size and planes.min() < 0:
        raise LabelsError(f"{path}: labels must be >= 0 (0 = background)")
    if planes.max(initial=0) > np.iinfo(np.int32).max:
        raise LabelsError(f"{path}: label ids beyond the int32 range")
    return planes


def _check_fits(path: Path, shape, pixel_size_m, stack: FluorescenceStack) -> None:
    if tuple(shape) != tuple(stack.shape[2:]):
        raise LabelsError(
            f"{path}: label image is {tuple(shape)} pixels but the fluorescence stack is "
            f"{tuple(stack.shape[2:])}; labels must be on the stack's pixel grid"
        )
    if not np.allclose(pixel_size_m, stack.pixel_size_m, rtol=PIXEL_SIZE_RTOL, atol=0):
        um = [f"{v * 1e6:.4g}" for v in pixel_size_m]
        st = [f"{v * 1e6:.4g}" for v in stack.pixel_size_m]
        raise LabelsError(
            f"{path}: pixel size ({', '.join(um)}) µm differs from the fluorescence stack's "
            f"({', '.join(st)}) µm; export the labels on the stack's grid or pass its pixel "
            "size for the labels"
        )


def nuclei_to_cells(cells: np.ndarray, nuclei: np.ndarray) -> np.ndarray:
    """Relabel ``nuclei`` (Y, X) with the id of the cell covering most of each nucleus.

    Nucleus pixels outside that cell and nuclei on no cell become 0.
    """
    ids = np.unique(nuclei[nuclei > 0])
    if ids.size == 0:
        return np.zeros_like(cells)
    host = np.zeros(int(ids.max()) + 1, np.int32)
    slices = ndimage.find_objects(nuclei)
    for nid in ids:
        sl = slices[nid - 1]
        under = cells[sl][nuclei[sl] == nid]
        under = under[under > 0]
        if under.size:
            host[nid] = np.bincount(under).argmax()
    out = host[nuclei]
    return np.where(out == cells, out, 0).astype(np.int32)
