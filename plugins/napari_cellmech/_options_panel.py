"""The dock's option fields (Qt): the key options of :data:`~napari_cellmech._options_form.
KEY_OPTIONS` and the tip geometry of the chosen model, read back as validated Settings."""

from __future__ import annotations

from typing import Any

from qtpy.QtWidgets import QCheckBox, QComboBox, QFormLayout, QLabel, QLineEdit, QWidget

from cellmech.models import get_model
from cellmech.pipeline import STAGES, make_settings
from napari_cellmech._options_form import KEY_OPTIONS, FormField, form_fields, parse_value, shown

__all__ = ["GEOMETRY", "OptionsPanel"]

#: geometry parameters shown, with (display unit, SI per display unit)
GEOMETRY = {"tip_radius_m": ("µm", 1e-6), "half_angle_deg": ("deg", 1.0)}


class OptionsPanel(QWidget):
    """``fields[(section, name)] = (FormField, control)``; :meth:`settings` reads them."""

    def __init__(self) -> None:
        super().__init__()
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        self.fields: dict[tuple[str, str], tuple[FormField, QWidget]] = {}
        for section, names in KEY_OPTIONS.items():
            for f in form_fields(section, STAGES[section], names):
                control = _control(f)
                control.setToolTip(f.help)
                form.addRow(f.label, control)
                self.fields[(section, f.name)] = (f, control)
                if f.name == "model":
                    control.currentTextChanged.connect(self._update_geometry)
        self._geometry: dict[str, tuple[QLabel, QLineEdit]] = {}
        for key, (unit, _) in GEOMETRY.items():
            label = QLabel(f"{key.rsplit('_', 1)[0].replace('_', ' ')} ({unit})")
            form.addRow(label, line := QLineEdit())
            self._geometry[key] = (label, line)
        self._update_geometry(self.fields[("fit", "model")][1].currentText())

    def _update_geometry(self, model_key: str) -> None:
        params = {p.key: p for p in get_model(model_key).PARAMETERS}
        for key, (label, line) in self._geometry.items():
            label.setVisible(key in params)
            line.setVisible(key in params)
            if key in params:
                line.setText(f"{params[key].default / GEOMETRY[key][1]:g}")

    def set_tip(self, model: str, geometry: dict[str, float]) -> None:
        """Show ``model`` and its tip ``geometry`` (SI units, as in ``[fit.geometry]``)."""
        self.fields[("fit", "model")][1].setCurrentText(model)
        self._update_geometry(model)
        for key, value in geometry.items():
            if key in self._geometry:
                self._geometry[key][1].setText(f"{value / GEOMETRY[key][1]:g}")

    def settings(self):
        """The :class:`~cellmech.config.Settings` of the form (raises ConfigError)."""
        levels: dict[str, dict[str, Any]] = {s: {} for s in KEY_OPTIONS}
        for (section, name), (f, control) in self.fields.items():
            if f.kind == "choice":
                value = control.currentText()
            elif f.kind == "bool":
                value = control.isChecked()
            else:
                value = parse_value(f, control.text())
            levels[section][name] = value
        geometry = {}
        for p in get_model(levels["fit"]["model"]).PARAMETERS:
            unit_factor = GEOMETRY.get(p.key, ("", 1.0))[1]
            line = self._geometry.get(p.key, (None, None))[1]
            if line is not None:
                text = FormField("fit.geometry", p.key, p.key, "float", 0, "", unit_factor, "")
                geometry[p.key] = parse_value(text, line.text())
        levels["fit"]["geometry"] = geometry
        return make_settings(levels)


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
