"""The per-cell table in the dock, linked both ways to the cells Labels layer.

Selecting a row selects that label (``selected_label``) and shows it alone
(``show_selected_label``); selecting a label in the layer (clicking a cell, napari's pick
tool, the layer controls) selects its row. A guard stops the two updates from echoing.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from qtpy.QtWidgets import QAbstractItemView, QTableWidget, QTableWidgetItem

from cellmech.units import M_PER_UM, PA_PER_KPA

__all__ = ["CellTableView", "display_columns"]

#: SI column suffix -> (display suffix, SI per display unit)
_DISPLAY = {"_pa": ("kPa", PA_PER_KPA), "_m": ("µm", M_PER_UM), "_m2": ("µm²", M_PER_UM**2),
            "_m3": ("µm³", M_PER_UM**3)}  # fmt: skip


def display_columns(frame: Any) -> tuple[list[str], list[np.ndarray]]:
    """Headers with display units and the converted columns (kPa, µm, µm², µm³)."""
    headers, columns = [], []
    for name in frame.columns:
        values = frame[name].to_numpy()
        for suffix in ("_m3", "_m2", "_pa", "_m"):
            if name.endswith(suffix) and np.issubdtype(values.dtype, np.number):
                unit, factor = _DISPLAY[suffix]
                name, values = f"{name[: -len(suffix)]} ({unit})", values / factor
                break
        headers.append(str(name))
        columns.append(values)
    return headers, columns


class CellTableView(QTableWidget):
    """One row per cell; ``cell_ids[i]`` is the label of row ``i``."""

    def __init__(self) -> None:
        super().__init__()
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.cell_ids = np.zeros(0, dtype=np.int64)
        self.layer: Any = None
        self._syncing = False
        self.itemSelectionChanged.connect(self._row_selected)

    def show_cells(self, frame: Any, layer: Any) -> None:
        """Fill the table from ``frame`` (a ``CellTable.to_frame()``) and link it to the
        Labels ``layer``."""
        if self.layer is not None:
            self.layer.events.selected_label.disconnect(self._label_selected)
        self.layer = layer
        self.cell_ids = frame["cell_id"].to_numpy().astype(np.int64)
        headers, columns = display_columns(frame)
        self.clearSelection()
        self.setRowCount(len(frame))
        self.setColumnCount(len(headers))
        self.setHorizontalHeaderLabels(headers)
        for j, values in enumerate(columns):
            for i, value in enumerate(values):
                text = f"{value:.4g}" if isinstance(value, float | np.floating) else str(value)
                self.setItem(i, j, QTableWidgetItem(text))
        layer.events.selected_label.connect(self._label_selected)

    def select_cell(self, cell_id: int) -> None:
        """Highlight ``cell_id`` in the layer and its row in the table (0 clears)."""
        if self.layer is None or self._syncing:
            return
        self._syncing = True
        try:
            rows = np.flatnonzero(self.cell_ids == cell_id)
            if rows.size:
                self.selectRow(int(rows[0]))
            else:
                self.clearSelection()
            if cell_id > 0:
                self.layer.selected_label = int(cell_id)
            self.layer.show_selected_label = cell_id > 0
        finally:
            self._syncing = False

    def _row_selected(self) -> None:
        rows = {i.row() for i in self.selectedIndexes()}
        if len(rows) == 1:
            self.select_cell(int(self.cell_ids[rows.pop()]))

    def _label_selected(self, event: Any = None) -> None:
        self.select_cell(int(self.layer.selected_label))
