"""The CellMech dock widget: choose inputs and options, run, inspect, export.

Long work runs in a napari ``thread_worker`` (``threaded=False`` runs it in the calling thread,
for tests and scripts); the worker never touches layers: results are added in the main thread
when it returns. Errors become napari notifications.
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
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from cellmech.config import _stage_classes, merge_settings
from cellmech.errors import CellmechError
from cellmech.models import get_model
from napari_cellmech import _layers
from napari_cellmech._inspect import curve_at, curve_view, plot_curve
from napari_cellmech._options_form import KEY_OPTIONS, FormField, form_fields, parse_value, shown
from napari_cellmech._worker import Analysis, AnalysisCancelled, run_analysis

__all__ = ["CellmechWidget"]

#: geometry parameters shown, with (display unit, SI per display unit)
GEOMETRY = {"tip_radius_m": ("µm", 1e-6), "half_angle_deg": ("deg", 1.0)}
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
        self.analysis: Analysis | None = None
        self.worker: Any = None
        self._cancel = False
        self._relay = _Relay()
        self._relay.progressed.connect(self._on_progress)
        self._fields: dict[tuple[str, str], tuple[FormField, QWidget]] = {}
        self._map_layers: list[Any] = []
        self._build()
        self.viewer.layers.events.inserted.connect(self._refresh_sources)
        self.viewer.layers.events.removed.connect(self._refresh_sources)
        self.viewer.mouse_drag_callbacks.append(self._on_click)
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
        classes = _stage_classes()
        for section, names in KEY_OPTIONS.items():
            for f in form_fields(section, classes[section], names):
                control = self._control(f)
                control.setToolTip(f.help)
                form.addRow(f.label, control)
                self._fields[(section, f.name)] = (f, control)
                if f.name == "model":
                    control.currentTextChanged.connect(self._update_geometry)
        self._geometry: dict[str, tuple[QLabel, QLineEdit]] = {}
        for key, (unit, _) in GEOMETRY.items():
            label = QLabel(f"{key.rsplit('_', 1)[0].replace('_', ' ')} ({unit})")
            form.addRow(label, line := QLineEdit())
            self._geometry[key] = (label, line)
        layout.addLayout(form)
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
        self.table = QTableWidget()
        self.figure = Figure(figsize=(5, 2.6))
        self.canvas = FigureCanvasQTAgg(self.figure)
        for w in (self.progress, self.status, self.legend, self.table, self.canvas):
            layout.addWidget(w)
        self._update_geometry(self._fields[("fit", "model")][1].currentText())

    @staticmethod
    def _control(f: FormField) -> QWidget:
        if f.kind == "choice":
            box = QComboBox()
            box.addItems([str(c) for c in f.choices])
            box.setCurrentText(str(f.default))
            return box
        if f.kind == "bool":
            check = QCheckBox()
            check.setChecked(bool(f.default))
            return check
        return QLineEdit(shown(f, f.default))

    def _update_geometry(self, model_key: str) -> None:
        params = {p.key: p for p in get_model(model_key).PARAMETERS}
        for key, (label, line) in self._geometry.items():
            label.setVisible(key in params)
            line.setVisible(key in params)
            if key in params:
                line.setText(f"{params[key].default / GEOMETRY[key][1]:g}")

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

    # ------------------------------------------------------------------ inputs
    def settings(self):
        """The :class:`~cellmech.config.Settings` of the form (raises ConfigError)."""
        levels: dict[str, dict[str, Any]] = {s: {} for s in KEY_OPTIONS}
        for (section, name), (f, control) in self._fields.items():
            if f.kind == "choice":
                value = control.currentText()
            elif f.kind == "bool":
                value = control.isChecked()
            else:
                value = parse_value(f, control.text())
            levels[section][name] = value
        model = get_model(levels["fit"]["model"])
        geometry = {}
        for p in model.PARAMETERS:
            unit_factor = GEOMETRY.get(p.key, ("", 1.0))[1]
            line = self._geometry.get(p.key, (None, None))[1]
            if line is not None:
                text = FormField("fit.geometry", p.key, p.key, "float", 0, "", unit_factor, "")
                geometry[p.key] = parse_value(text, line.text())
        levels["fit"]["geometry"] = geometry
        return merge_settings(levels)

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

        def job() -> Analysis:
            return run_analysis(
                afm, fluo, settings, progress=self._relay.progressed.emit, cancel=self._cancelled
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
        """Ask the running analysis to stop after its current block."""
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

    def _on_result(self, analysis: Analysis) -> None:
        self.analysis = analysis
        self.progress.setValue(1000)
        self.status.setText(f"done: {analysis.fit.n_curves} curves")
        for layer in result_layers(analysis):
            self._add_layer(layer)
        self.export_button.setEnabled(True)

    def _add_layer(self, layer_data: _layers.LayerData) -> None:
        data, kwargs, kind = layer_data
        name = kwargs.get("name")
        if name in self.viewer.layers:
            self.viewer.layers.remove(name)
        layer = getattr(self.viewer, f"add_{kind}")(data, **kwargs)
        meta = layer.metadata.get("cellmech", {})
        if meta.get("kind") == "youngs_modulus":
            layer.colorbar.visible = True
            self.legend.setText(layer.metadata["legend"])
        if kind == "labels" and "features" in kwargs:
            self._show_table(kwargs["features"])

    def _show_table(self, frame: Any) -> None:
        self.table.setRowCount(len(frame))
        self.table.setColumnCount(len(frame.columns))
        self.table.setHorizontalHeaderLabels([str(c) for c in frame.columns])
        for i, row in enumerate(frame.itertuples(index=False)):
            for j, value in enumerate(row):
                text = f"{value:.4g}" if isinstance(value, float) else str(value)
                self.table.setItem(i, j, QTableWidgetItem(text))

    # ------------------------------------------------------------------ inspector
    def _on_click(self, viewer: Any, event: Any) -> None:
        try:
            self.inspect(event.position)
        except CellmechError as exc:
            show_error(str(exc))

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
        a = self.analysis
        if a is not None and str(a.force_map.path) == str(afm_path):
            return a.force_map, a.fit
        from cellmech.io import read_force_map

        return read_force_map(afm_path), None

    # ------------------------------------------------------------------ export
    def _browse_export(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export cellmech outputs to")
        if folder:
            self.export(folder)

    def export(self, out_dir: str | Path) -> list[Path]:
        """Write the outputs of the last run (the files ``cellmech run``/``fit`` write)."""
        a = self.analysis
        if a is None:
            show_error("nothing to export: run the analysis first")
            return []
        try:
            paths = export_outputs(out_dir, a)
        except (CellmechError, OSError) as exc:
            show_error(f"export to {out_dir} failed: {exc}")
            return []
        show_info(f"wrote {len(paths)} files to {out_dir}")
        return paths


def _kind(layer: Any) -> str | None:
    return getattr(layer, "metadata", {}).get("cellmech", {}).get("kind")


def result_layers(analysis: Analysis) -> list[_layers.LayerData]:
    """The layers of a run: fluorescence (full pipeline), fit maps placed with the
    registration, cell and nucleus labels with the per-cell table as features."""
    sample = analysis.sample
    if sample is None:
        return _layers.fit_layers(analysis.force_map, analysis.fit)
    out: list[_layers.LayerData] = []
    if sample.stack is not None:
        out += _layers.fluorescence_layers(sample.stack)
    reg = sample.registration
    afm_m = None if reg is None else reg.afm_m_to_fluorescence_m
    out += _layers.fit_layers(analysis.force_map, analysis.fit, afm_m)
    seg = sample.segmentation
    if seg is not None:
        cells = None if sample.cells is None else sample.cells.to_frame()
        args = (seg.pixel_size_m, seg.origin_m)
        out.append(_layers.labels_layer(seg.cell_labels, *args, name="cells", features=cells))
        out.append(_layers.labels_layer(seg.nucleus_labels, *args, name="nuclei"))
    return out


def export_outputs(out_dir: str | Path, analysis: Analysis) -> list[Path]:
    """Write a run's outputs: ``write_sample_outputs`` for the full pipeline, the
    ``cellmech fit`` files for an AFM-only run."""
    if analysis.sample is not None:
        from cellmech.pipeline import write_sample_outputs

        return write_sample_outputs(out_dir, analysis.sample)
    from cellmech.outputs import run_report, write_fit_outputs

    report = run_report(
        analysis.force_map,
        analysis.fit,
        settings=analysis.settings.to_dict(),
        timing_s=analysis.timing_s,
        command=["napari-cellmech"],
    )
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    return write_fit_outputs(out_dir, analysis.force_map, analysis.fit, report)
