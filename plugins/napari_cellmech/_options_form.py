"""The widget's option fields, derived from the stage options dataclasses (no Qt).

Every field shown comes from a dataclass field of the config's stage table (its help text,
unit, choices and default live in the field metadata, the one source of parameters); lengths,
forces and moduli are shown in µm, nN and kPa and converted back to SI here.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from dataclasses import dataclass
from typing import Any

from cellmech.errors import ConfigError

__all__ = ["DISPLAY_UNITS", "KEY_OPTIONS", "FormField", "form_fields", "parse_value", "shown"]

#: SI unit -> (display unit, SI per display unit)
DISPLAY_UNITS: dict[str, tuple[str, float]] = {
    "m": ("µm", 1e-6),
    "N": ("nN", 1e-9),
    "Pa": ("kPa", 1e3),
}
#: the options the dock shows, per config section (the rest keep their defaults)
KEY_OPTIONS: dict[str, tuple[str, ...]] = {
    "read": ("spring_constant_n_per_m",),
    "preprocess": ("contact_method", "tilt_axis", "smooth_window"),
    "fit": (
        "model",
        "poisson_ratio",
        "fit_range",
        "range_min_m",
        "range_max_m",
        "force_max_n",
        "weight_cp_m",
    ),
    "register": ("method",),
}


@dataclass(frozen=True)
class FormField:
    """One option as the dock shows it.

    ``kind`` is "choice", "bool", "int" or "float"; ``factor`` is SI per display unit;
    ``optional`` fields may be left empty (None).
    """

    section: str
    name: str
    label: str
    kind: str
    default: Any
    unit: str
    factor: float
    help: str
    choices: tuple[Any, ...] = ()
    optional: bool = False


def _kind(tp: Any, choices: tuple) -> tuple[str, bool]:
    optional = False
    if typing.get_origin(tp) in (typing.Union, __import__("types").UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        optional, tp = True, args[0]
    if choices:
        return "choice", optional
    return {bool: "bool", int: "int"}.get(tp, "float"), optional


def form_fields(section: str, cls: type, names: tuple[str, ...]) -> list[FormField]:
    """The :class:`FormField` of each field ``names`` of options dataclass ``cls``."""
    hints = typing.get_type_hints(cls)
    by_name = {f.name: f for f in dataclasses.fields(cls)}
    out = []
    for name in names:
        f = by_name[name]
        choices = tuple(f.metadata.get("choices", ()))
        kind, optional = _kind(hints[name], choices)
        si_unit = f.metadata.get("unit", "")
        unit, factor = DISPLAY_UNITS.get(si_unit, (si_unit if si_unit != "1" else "", 1.0))
        label = name
        for suffix in ("_n_per_m", "_m_per_v", "_pa", "_m", "_n"):
            if label.endswith(suffix):
                label = label[: -len(suffix)]
                break
        label = label.replace("_", " ") + (f" ({unit})" if unit else "")
        out.append(
            FormField(
                section=section,
                name=name,
                label=label,
                kind=kind,
                default=f.default,
                unit=unit,
                factor=factor,
                help=f.metadata.get("help", ""),
                choices=choices,
                optional=optional,
            )
        )
    return out


def shown(field: FormField, value: Any) -> str:
    """``value`` (SI) as the text of a float/int field in display units ("" for None)."""
    if value is None:
        return ""
    if field.kind == "int":
        return str(int(value))
    return f"{float(value) / field.factor:g}"


def parse_value(field: FormField, text: str) -> Any:
    """The SI value of a float/int field's text ("inf", "-inf" accepted; "" = None when
    optional).

    Raises
    ------
    ConfigError
        Naming ``[section] name`` and the text, when it is not a number.
    """
    text = text.strip()
    if not text and field.optional:
        return None
    try:
        if field.kind == "int":
            return int(text)
        value = float(text)
    except ValueError:
        raise ConfigError(
            f"[{field.section}] {field.name}={text!r} is not a number"
            + (f" in {field.unit}" if field.unit else "")
        ) from None
    return value * field.factor if math.isfinite(value) else value
