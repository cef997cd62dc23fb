"""Configuration: TOML load / merge / dump and command-line flags over a stage table.

Every function here is generic: it takes a **stage table** ``{section: OptionsClass}`` (the
one table is :data:`cellmech.pipeline.STAGES`; a command uses the sections it needs) and reads
everything else from the options dataclasses' fields (type, default, and the ``help``,
``unit`` and ``choices`` metadata of :func:`cellmech.options.option`). A field declared with a
:class:`~cellmech.options.SubTable` (the contact model's ``[fit.geometry]``) is a nested table
whose valid keys depend on another field. So adding a stage is one options dataclass plus one
table entry: its TOML section, ``cellmech config dump`` lines and CLI flags follow.

Precedence is defaults < preset < config file < command-line flags. A top-level ``preset``
key (or ``--preset``) names a set of section values applied over the defaults. Unknown keys
fail with a :class:`~cellmech.errors.ConfigError` listing the valid ones.
"""

from __future__ import annotations

import dataclasses
import enum
import math
import os
import stat
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cellmech.containers import FrozenMapping
from cellmech.errors import ConfigError
from cellmech.options import SubTable

__all__ = [
    "MAX_CONFIG_BYTES",
    "PRESET_KEY",
    "Settings",
    "check_section",
    "coerce",
    "dump_defaults",
    "dump_settings",
    "load_config",
    "merge_settings",
]

StageTable = Mapping[str, type]

#: top-level key naming a preset
PRESET_KEY = "preset"
#: config files above this size are refused (a config is a few kB; this guards /dev/zero)
MAX_CONFIG_BYTES = 1 << 20


@dataclass(frozen=True)
class Settings:
    """Every option of a run: one options object per section of the stage table.

    Sections are attributes (``settings.fit``); :meth:`to_dict` gives plain JSON-ready data.
    """

    sections: Mapping[str, Any]
    preset: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "sections", FrozenMapping(self.sections))

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["sections"][name]
        except KeyError:
            raise AttributeError(name) from None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready ``{section: {key: value}}`` (plus ``preset`` when one was used)."""
        out: dict[str, Any] = {name: _as_plain(obj) for name, obj in self.sections.items()}
        if self.preset is not None:
            out[PRESET_KEY] = self.preset
        return out


def _as_plain(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj):
        return {f.name: _as_plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, Mapping):
        return {str(k): _as_plain(v) for k, v in obj.items()}
    if isinstance(obj, tuple | list):
        return [_as_plain(v) for v in obj]
    if isinstance(obj, enum.Enum):
        return obj.value
    return obj


# ---------------------------------------------------------------------------------------------
# field types


def unwrap_optional(tp: Any) -> tuple[Any, bool]:
    """``(inner type, optional?)`` for ``X | None``."""
    args = typing.get_args(tp)
    if typing.get_origin(tp) in (typing.Union, types.UnionType) and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        return (rest[0] if len(rest) == 1 else typing.Union[tuple(rest)]), True  # noqa: UP007
    return tp, False


def type_choices(tp: Any) -> tuple[Any, ...] | None:
    if typing.get_origin(tp) is typing.Literal:
        return typing.get_args(tp)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return tuple(m.value for m in tp)
    return None


def _coerce_scalar(tp: Any, value: Any, choices: tuple[Any, ...] | None = None) -> Any:
    choices = choices or type_choices(tp)
    if choices:
        if value not in choices:
            raise ValueError(f"must be one of {', '.join(map(str, choices))}")
        return tp(value) if isinstance(tp, type) else value
    if tp is bool:
        if not isinstance(value, bool):
            raise ValueError("must be true or false")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError("must be an integer")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError("must be a number")
        if math.isnan(value):
            raise ValueError("must be a number, not NaN")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ValueError("must be a string")
        return value
    return value


def coerce(tp: Any, value: Any, choices: tuple[Any, ...] | None = None) -> Any:
    """Check and convert ``value`` (from TOML or the command line) to the field type ``tp``
    (and to one of ``choices`` when given).

    Raises
    ------
    ValueError
        With a short reason when ``value`` does not fit.
    """
    inner, optional = unwrap_optional(tp)
    if value is None:
        if not optional:
            raise ValueError("must not be empty")
        return None
    if typing.get_origin(inner) is tuple:
        args = [a for a in typing.get_args(inner) if a is not Ellipsis]
        if not isinstance(value, list | tuple):
            raise ValueError("must be a list")
        if Ellipsis not in typing.get_args(inner) and len(value) != len(args):
            raise ValueError(f"must be a list of {len(args)} values")
        return tuple(_coerce_scalar(args[min(i, len(args) - 1)], v) for i, v in enumerate(value))
    return _coerce_scalar(inner, value, choices)


def option_fields(cls: type) -> list[dataclasses.Field]:
    """The scalar configurable fields of an options dataclass (sub-tables excluded)."""
    return [f for f in dataclasses.fields(cls) if f.init and "subtable" not in f.metadata]


def subtable_fields(cls: type) -> dict[str, SubTable]:
    """Field name -> :class:`SubTable` of the nested tables of an options dataclass."""
    return {
        f.name: f.metadata["subtable"] for f in dataclasses.fields(cls) if "subtable" in f.metadata
    }


# ---------------------------------------------------------------------------------------------
# reading and merging


def _fail_unknown(where: str, unknown: set[str], valid: list[str]) -> None:
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {', '.join(sorted(unknown))}; valid keys: {', '.join(valid)}"
        )


def check_section(
    table: StageTable, section: str, values: Mapping[str, Any], where: str
) -> dict[str, Any]:
    """Validate and convert the keys of one section (nested sub-tables included).

    Parameters
    ----------
    table : mapping
        The stage table ``{section: OptionsClass}``.
    section : str
        A key of ``table``.
    values : mapping
        Raw key -> value (TOML types or command-line values).
    where : str
        Where the values come from, for messages ("config.toml", "command line").

    Returns
    -------
    dict
        Converted values; a sub-table key holds a dict.
    """
    cls = table[section]
    fields = {f.name: f for f in option_fields(cls)}
    subtables = subtable_fields(cls)
    allowed = list(fields) + list(subtables)
    _fail_unknown(f"{where} [{section}]", set(values) - set(allowed), allowed)
    hints = typing.get_type_hints(cls)
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key in subtables:
            out[key] = _check_subtable(subtables[key], value, f"{where} [{section}.{key}]")
            continue
        try:
            out[key] = coerce(hints[key], value, fields[key].metadata.get("choices"))
        except ValueError as exc:
            raise ConfigError(f"{where} [{section}] {key}={value!r}: {exc}") from None
    return out


def _check_subtable(sub: SubTable, values: Any, where: str) -> dict[str, float]:
    if not isinstance(values, Mapping):
        raise ConfigError(f"{where} must be a table of key = value lines")
    specs = sub.specs()
    _fail_unknown(where, set(values) - set(specs), list(specs))
    try:
        return {k: specs[k].validate(v) for k, v in values.items()}
    except (ConfigError, TypeError, ValueError) as exc:
        raise ConfigError(f"{where} {exc}") from None


def _read_config_text(p: Path) -> str:
    """The file's text, refusing what is not a small regular file (FIFO, device, directory)."""
    try:
        info = os.stat(p)
    except FileNotFoundError:
        raise ConfigError(f"{p}: config file not found; check the path") from None
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read the config file ({exc.strerror})") from None
    if not stat.S_ISREG(info.st_mode):
        raise ConfigError(f"{p}: not a regular file; give a TOML config file")
    if info.st_size > MAX_CONFIG_BYTES:
        raise ConfigError(
            f"{p}: {info.st_size} bytes is too large for a config file "
            f"(at most {MAX_CONFIG_BYTES} bytes); check the path"
        )
    try:
        return p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read the config file ({exc.strerror})") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{p}: not a valid TOML file ({exc}); fix the encoding") from None


def load_config(path: str | Path, table: StageTable, presets: Mapping[str, Any] = ()) -> dict:
    """Read a TOML config file into validated ``{section: {key: value}}``.

    A top-level ``preset = "NAME"`` is kept under ``"preset"`` (checked against ``presets``).

    Raises
    ------
    ConfigError
        If the file is missing, unreadable, not a regular file, too large or not TOML, or
        holds an unknown section, key or preset.
    """
    p = Path(path)
    try:
        raw = tomllib.loads(_read_config_text(p))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: not a valid TOML file ({exc}); fix the syntax") from None
    valid = list(table) + ([PRESET_KEY] if presets else [])
    _fail_unknown(str(p), set(raw) - set(valid), valid)
    out: dict[str, Any] = {}
    for section, values in raw.items():
        if section == PRESET_KEY:
            out[PRESET_KEY] = check_preset(values, presets, str(p))
            continue
        if not isinstance(values, Mapping):
            raise ConfigError(f"{p}: [{section}] must be a table of key = value lines")
        out[section] = check_section(table, section, values, str(p))
    return out


def check_preset(name: Any, presets: Mapping[str, Any], where: str) -> str:
    """``name`` if it is a known preset, else a :class:`ConfigError` listing them."""
    if name not in presets:
        raise ConfigError(
            f"{where}: unknown preset {name!r}; valid presets: {', '.join(presets) or 'none'}"
        )
    return name


def _merge_section(cls: type, levels: list[Mapping[str, Any]], section: str) -> Any:
    """Build one section's options; sub-table keys of a lower level that a selector value
    chosen at a higher level does not accept are dropped (so ``--model`` works with a config
    file written for another tip)."""
    subtables = subtable_fields(cls)
    kwargs: dict[str, Any] = {}
    nested: dict[str, dict[str, float]] = {name: {} for name in subtables}
    for level in levels:
        for name, sub in subtables.items():
            if sub.selector in level:
                takes = sub.accepts(level[sub.selector])
                nested[name] = {k: v for k, v in nested[name].items() if k in takes}
            nested[name].update(level.get(name, {}))
        kwargs.update({k: v for k, v in level.items() if k not in subtables})
    try:
        return cls(**kwargs, **nested)
    except ConfigError:
        raise
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"[{section}] {exc}") from None


def merge_settings(
    table: StageTable, *levels: Mapping[str, Any], presets: Mapping[str, Any] = ()
) -> Settings:
    """Combine validated levels, later ones winning, over defaults (and a preset).

    Parameters
    ----------
    table : mapping
        The stage table ``{section: OptionsClass}``.
    *levels : mapping
        E.g. ``load_config(file, table)`` then the command-line values, each already checked
        with :func:`check_section` / :func:`load_config`; a level may name a ``preset``.
    presets : mapping
        Preset name -> ``{section: {key: value}}``; the last level naming one wins, and its
        values sit between the defaults and the levels.
    """
    preset = next((lvl[PRESET_KEY] for lvl in reversed(levels) if PRESET_KEY in lvl), None)
    stack = ([presets[preset]] if preset is not None else []) + list(levels)
    built = {
        section: _merge_section(cls, [lvl.get(section, {}) for lvl in stack], section)
        for section, cls in table.items()
    }
    return Settings(built, preset)


# ---------------------------------------------------------------------------------------------
# writing


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, enum.Enum):
        return _toml_value(value.value)
    if isinstance(value, int):
        return repr(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} to TOML")


def _comment(help: str, unit: str, choices: tuple[Any, ...] | None = None) -> str:
    text = f"# {help}" + (f" [{unit}]" if unit and unit != "1" else "")
    return text + (f"; one of: {' | '.join(map(str, choices))}" if choices else "")


def _field_lines(obj: Any) -> list[str]:
    lines = []
    for f in option_fields(type(obj)):
        meta = f.metadata
        lines.append(_comment(meta.get("help", ""), meta.get("unit", ""), meta.get("choices")))
        value = getattr(obj, f.name)
        lines.append(f"# {f.name} =" if value is None else f"{f.name} = {_toml_value(value)}")
    return lines


def _subtable_lines(section: str, name: str, sub: SubTable, defaults: Any) -> list[str]:
    selector = getattr(defaults, sub.selector)
    specs = sub.specs()
    lines = ["", f"[{section}.{name}]", f"# {sub.help} ({sub.selector} = {selector} here):"]
    for key, value in dict(getattr(defaults, name)).items():
        lines += [
            _comment(specs[key].description, specs[key].unit),
            f"{key} = {_toml_value(value)}",
        ]
    return lines + [f"# {line}" for line in sub.notes(selector)]


def dump_defaults(table: StageTable, presets: Mapping[str, Any] = ()) -> str:
    """The default configuration as commented TOML (what ``cellmech config dump`` writes)."""
    out = [
        "# cellmech configuration: defaults. SI units (m, N, Pa, s) unless a comment says",
        "# otherwise. Commented-out keys are unset. Precedence: defaults < preset < this file",
        "# < command-line flags.",
    ]
    if presets:
        out += [f"# preset = one of: {' | '.join(presets)} (top-level key, before any section)"]
    for section, cls in table.items():
        out += _section_lines(section, cls())
    return "\n".join(out) + "\n"


def _section_lines(section: str, obj: Any) -> list[str]:
    lines = ["", f"[{section}]", *_field_lines(obj)]
    for name, sub in subtable_fields(type(obj)).items():
        lines += _subtable_lines(section, name, sub, obj)
    return lines


def dump_settings(settings: Settings, title: str = "the options of a run") -> str:
    """``settings`` as commented TOML that :func:`load_config` reads back to the same values
    (e.g. the ``config.toml`` a batch leaves in its output folder)."""
    out = [f"# cellmech configuration: {title}. SI units (m, N, Pa, s) unless a comment says"]
    out.append("# otherwise. Commented-out keys are unset.")
    if settings.preset is not None:
        out.append(f"# built over preset {settings.preset!r} (every value is written below)")
    for section, obj in settings.sections.items():
        out += _section_lines(section, obj)
    return "\n".join(out) + "\n"
