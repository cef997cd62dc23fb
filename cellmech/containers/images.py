"""Images: the fluorescence stack (C, Z, Y, X) with its physical calibration."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cellmech.containers._base import frozen_array, frozen_mapping, set_field

__all__ = ["FluorescenceStack", "Segmentation"]


@dataclass(frozen=True)
class FluorescenceStack:
    """A fluorescence image stack with its physical calibration.

    Parameters
    ----------
    data : array_like, shape (C, Z, Y, X)
        Intensities; a NumPy array or a lazy array (dask/zarr) with the same shape semantics.
    channel_names : tuple of str
        One name per channel (C entries).
    pixel_size_m : (float, float)
        Pixel pitch ``(y, x)`` in m.
    z_step_m : float
        Distance between planes in m (NaN for a single plane or when unknown).
    source : Path
        The file the stack was read from.
    stage_position_m : (float, float) or None
        Stage position ``(x, y)`` of the field (first plane) in m, when recorded.
    plane_positions_m : ndarray, shape (Z, 3), optional
        Per-plane ``(x, y, z)`` position in m, when recorded (NaN where a component is absent).
    metadata : mapping
        Anything else worth keeping (flat str -> value).
    """

    data: Any
    channel_names: tuple[str, ...]
    pixel_size_m: tuple[float, float]
    z_step_m: float
    source: Path
    stage_position_m: tuple[float, float] | None = None
    plane_positions_m: np.ndarray | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        shape = tuple(getattr(self.data, "shape", ()))
        if len(shape) != 4:
            raise ValueError(f"fluorescence data must be (C, Z, Y, X), got shape {shape}")
        if min(shape) < 1:
            raise ValueError(f"fluorescence stack is empty: shape {shape}")
        if isinstance(self.data, np.ndarray) and self.data.flags.writeable:
            data = self.data.view()
            data.flags.writeable = False
            set_field(self, "data", data)
        names = tuple(str(c) for c in self.channel_names)
        if len(names) != shape[0]:
            raise ValueError(f"{len(names)} channel names for {shape[0]} channels")
        set_field(self, "channel_names", names)
        px = tuple(float(v) for v in self.pixel_size_m)
        if len(px) != 2 or not all(np.isfinite(px)) or min(px) <= 0:
            raise ValueError(f"pixel size must be two finite positive lengths in m, got {px}")
        set_field(self, "pixel_size_m", px)
        set_field(self, "z_step_m", float(self.z_step_m))
        set_field(self, "source", Path(self.source))
        if self.stage_position_m is not None:
            set_field(self, "stage_position_m", tuple(float(v) for v in self.stage_position_m))
        if self.plane_positions_m is not None:
            pos = frozen_array(self.plane_positions_m, np.float64, "plane_positions_m", 2)
            if pos.shape != (shape[1], 3):
                raise ValueError(f"plane_positions_m must be ({shape[1]}, 3), got {pos.shape}")
            set_field(self, "plane_positions_m", pos)
        set_field(self, "metadata", frozen_mapping(self.metadata))

    @property
    def shape(self) -> tuple[int, int, int, int]:
        """``(C, Z, Y, X)``."""
        return tuple(self.data.shape)  # type: ignore[return-value]


@dataclass(frozen=True)
class Segmentation:
    """Cell and nucleus instance labels of a fluorescence field, on its pixel grid.

    Parameters
    ----------
    cell_labels : ndarray of int32, shape (Y, X)
        0 = background, ``k > 0`` = cell ``k``.
    nucleus_labels : ndarray of int32, shape (Y, X)
        0 = no nucleus; a nucleus carries the id of the cell it belongs to.
    pixel_size_m : (float, float)
        Pixel pitch ``(row, col)`` = ``(y, x)`` in m.
    origin_m : (float, float)
        Stage position ``(x, y)`` in m of the centre of pixel (0, 0) ((0, 0) when the file
        records none).
    method : str
        How the labels were made ("watershed", "nuclei_grown", "labels_file").
    cell_channel, nucleus_channel : str or None
        Channel names used (None when that role was absent or labels came from a file).
    parameters : mapping
        The options used (JSON-ready).
    source : str
        The fluorescence (or label) file.
    """

    cell_labels: np.ndarray
    nucleus_labels: np.ndarray
    pixel_size_m: tuple[float, float]
    origin_m: tuple[float, float] = (0.0, 0.0)
    method: str = "watershed"
    cell_channel: str | None = None
    nucleus_channel: str | None = None
    parameters: Mapping[str, Any] = field(default_factory=dict)
    source: str = ""

    def __post_init__(self) -> None:
        cells = frozen_array(self.cell_labels, np.int32, "cell_labels", 2)
        nuclei = frozen_array(self.nucleus_labels, np.int32, "nucleus_labels", 2)
        if cells.shape != nuclei.shape:
            raise ValueError(f"cell labels {cells.shape} and nucleus labels {nuclei.shape} differ")
        if cells.size and (cells.min() < 0 or nuclei.min() < 0):
            raise ValueError("labels must be >= 0")
        set_field(self, "cell_labels", cells)
        set_field(self, "nucleus_labels", nuclei)
        px = tuple(float(v) for v in self.pixel_size_m)
        if len(px) != 2 or not all(np.isfinite(px)) or min(px) <= 0:
            raise ValueError(f"pixel size must be two finite positive lengths in m, got {px}")
        set_field(self, "pixel_size_m", px)
        set_field(self, "origin_m", tuple(float(v) for v in self.origin_m))
        set_field(self, "parameters", frozen_mapping(self.parameters))

    @property
    def shape(self) -> tuple[int, int]:
        """``(Y, X)``."""
        return tuple(self.cell_labels.shape)  # type: ignore[return-value]

    @property
    def cell_ids(self) -> np.ndarray:
        """Sorted ids of the cells present, shape (n,)."""
        ids = np.unique(self.cell_labels)
        return ids[ids > 0]

    @property
    def has_nucleus(self) -> np.ndarray:
        """Per cell of :attr:`cell_ids`: True if a nucleus carries its id, shape (n,)."""
        return np.isin(self.cell_ids, self.nucleus_labels[self.nucleus_labels > 0])

    @property
    def touches_border(self) -> np.ndarray:
        """Per cell of :attr:`cell_ids`: True if it touches the image border, shape (n,)."""
        lab = self.cell_labels
        edge = np.concatenate([lab[0], lab[-1], lab[:, 0], lab[:, -1]])
        return np.isin(self.cell_ids, edge[edge > 0])
