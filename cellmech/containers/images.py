"""Images: the fluorescence stack (C, Z, Y, X) with its physical calibration."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cellmech.containers._base import frozen_array, frozen_mapping, set_field

__all__ = ["FluorescenceStack"]


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
