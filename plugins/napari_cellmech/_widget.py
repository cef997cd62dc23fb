"""The CellMech dock widget: choose inputs and options, run, inspect, export.

Long work runs in a napari ``thread_worker`` (``threaded=False`` runs it in the calling thread,
for tests and scripts); the worker never touches layers: results are added in the main thread
when it returns. Errors become napari notifications. A click in the viewer shows the curve
under it (curve inspector) and selects the cell under it (linked to the per-cell table);
the landmark panel re-registers the map from point pairs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from matplotlib.figure import Figure
from napari.qt.threading import create_worker
from napari.utils.notifications import show_error, show_info
from qtpy.QtCore import QObject, Signal
from qtpy.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from cellmech.errors import CellmechError
from napari_cellmech import _layers
from napari_cellmech._cell_table import CellTableView
from napari_cellmech._inspect import curve_at, curve_view, plot_curve
from napari_cellmech._landmark_panel import LandmarkPanel
from napari_cellmech._options_panel import OptionsPanel
from napari_cellmech._result import CELLS_LAYER, FOOTPRINT_LAYER, footprint_layer, result_layers
from napari_cellmech._worker import AnalysisCancelled, run_analysis

__all__ = ["CellmechWidget"]

FROM_FILE = "(file below)"
NO_FLUORESCENCE = "(none: AFM-only fit)"


class _Relay(QObject):
    """Carries progress from the worker thread to the GUI thread (queued signal)."""

    progressed = Signal(str, float)


class CellmechWidget(QWidget):
    """Dock widget running the cellmech analysis on the viewer's AFM map."""

    def __init__(self, napari_viewer: Any, threaded: bool = True):
        super().__init__()
        self.viewer = napari_viewer
        self.threaded = threaded
        #: the last run's :class:`cellmech.pipeline.SampleResult`
        self.result: Any = None
        #: AFM m -> world m of the AFM layers shown (the registration; None = scanner frame)
        self.afm_m_to_world: np.ndarray | None = None
        self.worker: Any = None
        self._cancel = False
        self._relay = _Relay()
        self._relay.progressed.connect(self._on_progress)
        self._build()
        self.viewer.layers.events.inserted.connect(self._refresh_sources)
        self.viewer.layers.events.removed.connect(self._refresh_sources)
        self.viewer.mouse_drag_callbacks.append(self._on_click)
        self.afm_combo.currentTextChanged.connect(self._adopt_recorded_tip)
        self._refresh_sources()

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.afm_combo, self.afm_path = QComboBox(), QLineEdit()
        self.fluo_combo, self.fluo_path = QComboBox(), QLineEdit()
        for label, combo, line, browse in (
            ("AFM map", self.afm_combo, self.afm_path, self._browse_afm),
            ("fluorescence", self.fluo_combo, self.fluo_path, self._browse_fluo),
        ):
            form.addRow(label, combo)
            row = QHBoxLayout()
            button = QPushButton("…")
            button.clicked.connect(browse)
            row.addWidget(line)
            row.addWidget(button)
            form.addRow("  file", row)
        layout.addLayout(form)
        self.options = OptionsPanel()
        layout.addWidget(self.options)
        buttons = QHBoxLayout()
        self.run_button, self.cancel_button = QPushButton("Run"), QPushButton("Cancel")
        self.export_button = QPushButton("Export…")
        self.cancel_button.setEnabled(False)
        self.export_button.setEnabled(False)
        self.run_button.clicked.connect(self.run)
        self.cancel_button.clicked.connect(self.cancel)
        self.export_button.clicked.connect(self._browse_export)
        for b in (self.run_button, self.cancel_button, self.export_button):
            buttons.addWidget(b)
        layout.addLayout(buttons)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.status = QLabel("")
        self.legend = QLabel("")
        self.table = CellTableView()
        self.landmarks = LandmarkPanel(self)
        self.figure = Figure(figsize=(5, 2.6))
        self.canvas = FigureCanvasQTAgg(self.figure)
        for w in (self.progress, self.status, self.legend, self.table, self.landmarks, self.canvas):
            layout.addWidget(w)

    def _refresh_sources(self, event: Any = None) -> None:
        for combo, kinds, first in (
            (self.afm_combo, ("height_at_setpoint",), FROM_FILE),
            (self.fluo_combo, ("fluorescence",), NO_FLUORESCENCE),
        ):
            current = combo.currentText()
            combo.clear()
            combo.addItem(first)
            if combo is self.fluo_combo:
                combo.addItem(FROM_FILE)
            combo.addItems([ly.name for ly in self.viewer.layers if _kind(ly) in kinds])
            if combo.findText(current) >= 0:
                combo.setCurrentText(current)
            elif combo.count() > (2 if combo is self.fluo_combo else 1):
                combo.setCurrentIndex(combo.count() - 1)

    def _adopt_recorded_tip(self, name: str) -> None:
        """Fill the tip fields from an AFM layer that knows its tip (the bundled sample)."""
        if name in self.viewer.layers:
            fit = self.viewer.layers[name].metadata.get("cellmech", {}).get("fit")
            if fit is not None:
                self.options.set_tip(fit["model"], fit["geometry"])

    # ------------------------------------------------------------------ inputs
    def settings(self):
        """The :class:`~cellmech.config.Settings` of the form (raises ConfigError)."""
        return self.options.settings()

    def inputs(self) -> tuple[Path, Path | None]:
        """The AFM file and the fluorescence file (None for an AFM-only run)."""
        afm = self._source(self.afm_combo, self.afm_path, "afm_path")
        if afm is None:
            raise CellmechError("choose an AFM map: open one in napari or pick its file")
        fluo = None
        if self.fluo_combo.currentText() != NO_FLUORESCENCE:
            fluo = self._source(self.fluo_combo, self.fluo_path, "path")
        return afm, fluo

    def _source(self, combo: QComboBox, line: QLineEdit, key: str) -> Path | None:
        if combo.currentText() == FROM_FILE:
            return Path(line.text()) if line.text().strip() else None
        layer = self.viewer.layers[combo.currentText()]
        return Path(layer.metadata["cellmech"][key])

    def _browse_afm(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "AFM map")
        if path:
            self.afm_path.setText(path)
            self.afm_combo.setCurrentText(FROM_FILE)

    def _browse_fluo(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Fluorescence stack")
        if path:
            self.fluo_path.setText(path)
            self.fluo_combo.setCurrentText(FROM_FILE)

    # ------------------------------------------------------------------ running
    def run(self) -> None:
        """Start the analysis (in a worker thread when ``threaded``)."""
        try:
            settings = self.settings()
            afm, fluo = self.inputs()
        except CellmechError as exc:
            show_error(str(exc))
            return
        self._cancel = False
        landmarks = self.landmarks.csv_path if fluo is not None else None

        def job() -> Any:
            return run_analysis(
                afm,
                fluo,
                settings,
                landmarks=landmarks,
                progress=self._relay.progressed.emit,
                cancel=self._cancelled,
            )

        self.run_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.status.setText("running…")
        if not self.threaded:
            try:
                self._on_result(job())
            except Exception as exc:
                self._on_error(exc)
            self._on_finished()
            return
        self.worker = create_worker(job, _start_thread=False)
        self.worker.returned.connect(self._on_result)
        self.worker.errored.connect(self._on_error)
        self.worker.finished.connect(self._on_finished)
        self.worker.start()

    def cancel(self) -> None:
        """Ask the running analysis to stop at its next progress report (chunk or stage)."""
        self._cancel = True

    def _cancelled(self) -> bool:
        return self._cancel

    def _on_progress(self, stage: str, fraction: float) -> None:
        self.progress.setValue(round(1000 * min(max(fraction, 0.0), 1.0)))
        self.status.setText(f"{stage}: {100 * fraction:.0f} %")

    def _on_error(self, exc: Exception) -> None:
        if isinstance(exc, AnalysisCancelled):
            self.status.setText("cancelled")
            show_info(str(exc))
        elif isinstance(exc, CellmechError):
            self.status.setText("failed")
            show_error(str(exc))
        else:
            self.status.setText("failed")
            show_error(f"cellmech failed unexpectedly ({type(exc).__name__}: {exc})")

    def _on_finished(self) -> None:
        self.run_button.setEnabled(True)
        self.cancel_button.setEnabled(False)

    def _on_result(self, result: Any) -> None:
        """Show a :class:`~cellmech.pipeline.SampleResult`: its layers, legend and table."""
        self.result = result
        reg = result.registration
        self.afm_m_to_world = None if reg is None else reg.afm_m_to_fluorescence_m
        self.progress.setValue(1000)
        text = f"done: {result.fit.n_curves} curves"
        if reg is not None:
            verdict = "accepted" if reg.accepted else "NOT accepted"
            text += (
                f", {result.cells.n_cells} cells; registration {reg.method} {verdict} "
                f"(error ≈ {reg.error_estimate_m * 1e6:.1f} µm)"
            )
        self.status.setText(text)
        for layer in result_layers(result):
            self._add_layer(layer)
        if reg is not None:  # the input map joins the stage frame, under the results
            self.place_afm_layers(reg.afm_m_to_fluorescence_m)
            for layer in self._afm_layers():
                if _kind(layer) == "height_at_setpoint":
                    layer.visible = False
        if result.warnings:
            show_info("cellmech: " + "; ".join(result.warnings))
        self.export_button.setEnabled(True)

    def _add_layer(self, layer_data: _layers.LayerData) -> Any:
        data, kwargs, kind = layer_data
        name = kwargs.get("name")
        if name in self.viewer.layers:
            self.viewer.layers.remove(name)
        layer = getattr(self.viewer, f"add_{kind}")(data, **kwargs)
        meta = layer.metadata.get("cellmech", {})
        if "contour" in meta:
            layer.contour = meta["contour"]
        if meta.get("kind") == "youngs_modulus" and layer.visible:
            layer.colorbar.visible = True
            layer.colorbar.box = True  # readable over the fluorescence
            self.legend.setText(layer.metadata["legend"])
            overlay = self.viewer.canvas.overlays.text  # the legend in kPa, on the canvas too
            overlay.text = f"{layer.metadata['legend']} (colour bar: log10 E/kPa)"
            overlay.visible = True
        if kind == "labels" and "features" in kwargs:
            self.table.show_cells(kwargs["features"].drop(columns="index"), layer)
        return layer

    def place_afm_layers(self, afm_m_to_world_m: np.ndarray) -> None:
        """Move the AFM layers of the last run (maps and footprint outline) to a new
        registration ``afm_m_to_world_m`` (AFM m -> fluorescence stage m)."""
        result = self.result
        self.afm_m_to_world = np.asarray(afm_m_to_world_m, float)
        matrix = _layers.afm_to_world(result.force_map.grid, self.afm_m_to_world)
        for layer in self._afm_layers():
            layer.scale, layer.translate = (1.0, 1.0), (0.0, 0.0)
            layer.affine = matrix
        if FOOTPRINT_LAYER in self.viewer.layers:
            options = result.settings.register
            paths, *_ = footprint_layer(result.force_map, result.fit, options, self.afm_m_to_world)
            self.viewer.layers[FOOTPRINT_LAYER].data = paths

    def _afm_layers(self) -> list[Any]:
        """The layers on the grid of the last run's AFM map (input and results)."""
        path = Path(self.result.force_map.path).resolve()
        return [
            layer
            for layer in self.viewer.layers
            if "curve_index" in layer.metadata.get("cellmech", {})
            and Path(layer.metadata["cellmech"]["afm_path"]).resolve() == path
        ]

    # ------------------------------------------------------------------ clicks
    def _on_click(self, viewer: Any, event: Any) -> None:
        try:
            self.inspect(event.position)
            self.pick_cell(event.position)
        except CellmechError as exc:
            show_error(str(exc))

    def pick_cell(self, world_position: Any) -> int:
        """Select the cell under ``world_position`` in the cells layer and the table; returns
        its id (0 on the background or without a run)."""
        if CELLS_LAYER not in self.viewer.layers:
            return 0
        layer = self.viewer.layers[CELLS_LAYER]
        row, col = np.rint(layer.world_to_data(tuple(world_position)[-layer.ndim :])[-2:])
        rows, cols = layer.data.shape
        cell = int(layer.data[int(row), int(col)]) if 0 <= row < rows and 0 <= col < cols else 0
        self.table.select_cell(cell)
        return cell

    def inspect(self, world_position: Any) -> Any:
        """Show the curve under ``world_position`` (world coordinates, last two axes y, x);
        returns its :class:`~napari_cellmech._inspect.CurveView` or None."""
        for layer in reversed(list(self.viewer.layers)):
            meta = layer.metadata.get("cellmech", {}) if hasattr(layer, "metadata") else {}
            if "curve_index" not in meta or not layer.visible:
                continue
            data_position = np.asarray(
                layer.world_to_data(tuple(world_position)[-layer.ndim :]), float
            )
            hit = curve_at(data_position[-2:], np.eye(3), meta["curve_index"])
            if hit is None:
                continue
            force_map, fit = self._map_and_fit(meta["afm_path"])
            view = curve_view(force_map, hit[2], fit)
            plot_curve(view, self.figure)
            self.canvas.draw_idle()
            return view
        return None

    def _map_and_fit(self, afm_path: str):
        r = self.result
        if r is not None and Path(r.force_map.path).resolve() == Path(afm_path).resolve():
            return r.force_map, r.fit
        from cellmech.io import read_force_map

        return read_force_map(afm_path), None

    # ------------------------------------------------------------------ export
    def _browse_export(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export cellmech outputs to")
        if folder:
            self.export(folder)

    def export(self, out_dir: str | Path) -> list[Path]:
        """Write the outputs of the last run: what ``cellmech run`` writes for the full
        pipeline, what ``cellmech fit`` writes for an AFM-only run (one transaction)."""
        from cellmech.pipeline import FitRun, write_fit_run, write_sample_run

        r = self.result
        if r is None:
            show_error("nothing to export: run the analysis first")
            return []
        try:
            if r.segmentation is None:
                write_fit_run(out_dir, FitRun(r.force_map, r.fit, r.timing_s), r.settings)
            else:
                write_sample_run(out_dir, r)
        except (CellmechError, OSError, ImportError) as exc:
            show_error(f"export to {out_dir} failed: {exc}")
            return []
        paths = sorted(p for p in Path(out_dir).rglob("*") if p.is_file())
        show_info(f"wrote {len(paths)} files to {out_dir}")
        return paths


def _kind(layer: Any) -> str | None:
    return getattr(layer, "metadata", {}).get("cellmech", {}).get("kind")
