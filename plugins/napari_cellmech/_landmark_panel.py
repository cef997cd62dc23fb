"""Landmark mode of the dock: two Points layers, the landmark registration, its residuals.

"Add landmark layers" creates ``landmarks AFM`` (points on AFM features, placed on the AFM
maps as shown) and ``landmarks fluorescence`` (the same features on the fluorescence image,
in the same order). "Register with landmarks" runs :func:`cellmech.register.register` with
``method="landmarks"`` on the last run, lists every pair's residual (outliers marked), moves
the AFM layers and footprint outline to the new registration, and saves the pairs as a
landmark CSV that the next Run uses (so the cells are measured with it).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from napari.utils.notifications import show_error
from qtpy.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from cellmech.errors import CellmechError
from napari_cellmech import _layers
from napari_cellmech._landmarks import (
    landmarks_from_world,
    register_with_landmarks,
    residual_lines,
    write_landmarks,
)

__all__ = ["AFM_POINTS", "FLUO_POINTS", "LandmarkPanel"]

AFM_POINTS = "landmarks AFM"
FLUO_POINTS = "landmarks fluorescence"


class LandmarkPanel(QWidget):
    """Landmark controls; ``owner`` is the dock widget (its ``result`` and ``viewer``)."""

    def __init__(self, owner: Any) -> None:
        super().__init__()
        self.owner = owner
        self.registration: Any = None
        self.csv_path: Path | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        buttons = QHBoxLayout()
        self.add_button = QPushButton("Add landmark layers")
        self.apply_button = QPushButton("Register with landmarks")
        self.add_button.clicked.connect(self.add_layers)
        self.apply_button.clicked.connect(self._apply_clicked)
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.apply_button)
        layout.addLayout(buttons)
        self.residuals = QLabel("")
        self.residuals.setWordWrap(True)
        layout.addWidget(self.residuals)

    def add_layers(self) -> None:
        """Create the two (empty) Points layers, if absent."""
        viewer = self.owner.viewer
        for name, colour in ((AFM_POINTS, "orange"), (FLUO_POINTS, "cyan")):
            if name not in viewer.layers:
                viewer.add_points(
                    ndim=2, name=name, face_color=colour, size=2.0, units=_layers.WORLD_UNITS
                )

    def _apply_clicked(self) -> None:
        try:
            self.apply()
        except CellmechError as exc:
            show_error(str(exc))

    def apply(self):
        """Register the last run's map from the two Points layers; returns the
        :class:`~cellmech.containers.Registration`."""
        result, viewer = self.owner.result, self.owner.viewer
        if result is None or result.segmentation is None:
            raise CellmechError("landmarks: run the analysis with a fluorescence stack first")
        if AFM_POINTS not in viewer.layers or FLUO_POINTS not in viewer.layers:
            raise CellmechError("landmarks: add the landmark layers and place points first")
        seg = result.segmentation
        afm_to_world = _layers.afm_to_world(result.force_map.grid, self.owner.afm_m_to_world)
        fluo_to_world = _layers.pixel_to_world(seg.pixel_size_m, seg.origin_m)
        landmarks = landmarks_from_world(
            viewer.layers[AFM_POINTS].data, viewer.layers[FLUO_POINTS].data,
            afm_to_world, fluo_to_world,
        )  # fmt: skip
        self.registration = register_with_landmarks(result, landmarks)
        self.residuals.setText("\n".join(residual_lines(self.registration)))
        folder = Path(tempfile.mkdtemp(prefix="cellmech-landmarks-"))
        self.csv_path = write_landmarks(folder / "landmarks.csv", landmarks)
        self.owner.place_afm_layers(self.registration.afm_m_to_fluorescence_m)
        self.owner.status.setText("landmark registration shown; Run again to measure with it")
        return self.registration
