"""Declaring options: one field factory for every stage's frozen options dataclass.

Each stage has one frozen options dataclass whose fields carry their help text, unit and
valid choices in ``dataclasses.field`` metadata. The TOML config sections, the command-line
flags, ``cellmech config dump`` and the napari widget are all derived from these fields (see
:mod:`cellmech.config`), so a parameter is declared exactly once.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from cellmech.errors import ConfigError

__all__ = ["SubTable", "check_choices", "check_range", "option"]


def option(
    default: Any = dataclasses.MISSING,
    help: str = "",
    unit: str = "1",
    *,
    choices: tuple[Any, ...] = (),
    default_factory: Any = dataclasses.MISSING,
    **extra: Any,
) -> Any:
    """A dataclass field with the metadata the config, CLI and GUI read.

    Parameters
    ----------
    default : any
        Default value (SI units).
    help : str
        One line for ``--help``, the config file comment and the GUI tooltip.
    unit : str
        SI unit ("m", "N", "Pa", "s", "N/m", "m/V", "deg"; "1" for dimensionless, "" none).
    choices : tuple
        Valid values, when the option is one of a few.
    default_factory : callable, optional
        For mutable defaults.
    **extra
        More metadata (e.g. ``gui=False`` to keep an option out of the napari widget).
    """
    metadata = {"help": help, "unit": unit, **extra}
    if choices:
        metadata["choices"] = tuple(choices)
    if default_factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def check_choices(options: Any, section: str) -> None:
    """Raise :class:`ConfigError` if a field with ``choices`` holds another value."""
    for f in dataclasses.fields(options):
        choices = f.metadata.get("choices")
        value = getattr(options, f.name)
        if choices and value not in choices:
            raise ConfigError(
                f"[{section}] {f.name}={value!r} is invalid; valid values: "
                f"{', '.join(map(str, choices))}"
            )


def check_range(
    section: str,
    name: str,
    value: Any,
    *,
    low: float = -math.inf,
    high: float = math.inf,
    low_open: bool = False,
    high_open: bool = False,
    integer: bool = False,
    optional: bool = False,
) -> None:
    """Raise :class:`ConfigError` unless ``value`` is a real number in the stated range
    (NaN always fails; None passes only when ``optional``)."""
    if value is None and optional:
        return
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    ok = ok and not math.isnan(value)
    if ok and integer:
        ok = float(value).is_integer()
    if ok:
        ok = (value > low if low_open else value >= low) and (
            value < high if high_open else value <= high
        )
    if not ok:
        lo = "(" if low_open else "["
        hi = ")" if high_open else "]"
        kind = "an integer" if integer else "a number"
        raise ConfigError(f"[{section}] {name}={value!r} must be {kind} in {lo}{low}, {high}{hi}")


@dataclass(frozen=True)
class SubTable:
    """A nested table of an options dataclass whose valid keys depend on another field.

    The contact model's geometry is one: ``[fit.geometry]`` takes ``tip_radius_m`` for a
    sphere and ``half_angle_deg`` for a cone. Declare the field with
    ``option(..., subtable=SubTable(...))``; the config, flags and dump handle it generically.

    Parameters
    ----------
    specs : callable
        ``specs() -> {key: spec}`` of every key any selector value takes; a spec has
        ``description``, ``unit``, ``default`` and ``validate(value) -> float``.
    selector : str
        The field whose value decides which keys apply (``"model"``).
    accepts : callable
        ``accepts(selector_value) -> set of keys``.
    help : str
        One line describing the table.
    notes : callable
        ``notes(selector_value) -> list of str``: comment lines for ``config dump``.
    """

    specs: Callable[[], Mapping[str, Any]]
    selector: str
    accepts: Callable[[Any], set[str]]
    help: str
    notes: Callable[[Any], list[str]] = lambda value: []
