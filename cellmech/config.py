"""Configuration: one source of truth for every parameter.

The options dataclasses of the stages (:class:`~cellmech.preprocess.PreprocessOptions`,
:class:`~cellmech.fit.FitOptions`) and the two defined here (:class:`ReadOptions`,
:class:`RunOptions`) are the only place where a parameter, its type, default, unit and help
live. Everything else is derived from their ``dataclasses.fields``:

- the TOML sections ``[read]``, ``[preprocess]``, ``[fit]``, ``[fit.geometry]`` (the contact
  model's :class:`~cellmech.models.ParameterSpec` list) and ``[run]``;
- ``cellmech config dump`` (the defaults, commented with help and units);
- the ``cellmech fit`` command-line flags (:func:`cli_flags`).

Precedence is defaults < config file < command-line flags. Unknown keys fail with a
:class:`~cellmech.errors.ConfigError` listing the valid ones.
"""

from __future__ import annotations

import dataclasses
import enum
import math
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cellmech.errors import ConfigError
from cellmech.models import available_models, get_model

__all__ = [
    "SECTIONS",
    "FlagSpec",
    "ReadOptions",
    "RunOptions",
    "Settings",
    "check_section",
    "cli_flags",
    "coerce",
    "dump_defaults",
    "load_config",
    "merge_settings",
]

#: suffixes naming a unit; stripped from a field name to make its command-line flag
_UNIT_SUFFIXES = ("_n_per_m", "_m_per_v", "_deg", "_pa", "_m", "_n", "_s")
#: extra spellings of derived flags, (section, field) -> aliases
_FLAG_ALIASES = {("preprocess", "contact_method"): ("--contact-point",)}


def _meta(help: str, unit: str = "") -> dict[str, str]:
    return {"help": help, "unit": unit}


@dataclass(frozen=True)
class ReadOptions:
    """How to read the AFM file (``[read]`` section).

    Parameters
    ----------
    reader : str or None
        Reader name (see ``cellmech formats``); None picks the first that recognises the file.
    spring_constant_n_per_m : float or None
        Cantilever spring constant k in N/m, overriding (or supplying) the file's value.
    sensitivity_m_per_v : float or None
        Deflection sensitivity in m/V, overriding (or supplying) the file's value.
    """

    reader: str | None = field(
        default=None, metadata=_meta("reader name (see `cellmech formats`); unset = automatic")
    )
    spring_constant_n_per_m: float | None = field(
        default=None, metadata=_meta("spring constant, overrides the file; unset = file", "N/m")
    )
    sensitivity_m_per_v: float | None = field(
        default=None, metadata=_meta("deflection sensitivity, overrides the file", "m/V")
    )

    def __post_init__(self) -> None:
        for name in ("spring_constant_n_per_m", "sensitivity_m_per_v"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ConfigError(f"[read] {name} must be > 0, got {value!r}")


@dataclass(frozen=True)
class RunOptions:
    """How to run the fit (``[run]`` section).

    Parameters
    ----------
    scheduler : str
        "threads", "processes", "synchronous", "numpy" (plain sequential loop, no Dask) or the
        address of a Dask distributed scheduler ("tcp://host:8786").
    workers : int or None
        Worker threads/processes for the local schedulers; None = one per core.
    chunks : (int, int) or None
        Grid chunk ``(rows, cols)`` processed by one task; None = whole grid rows, about 64
        curves per chunk.
    """

    scheduler: str = field(
        default="threads",
        metadata=_meta("threads | processes | synchronous | numpy | tcp://scheduler-address"),
    )
    workers: int | None = field(
        default=None, metadata=_meta("workers of the local scheduler; unset = one per core")
    )
    chunks: tuple[int, int] | None = field(
        default=None,
        metadata=_meta("grid chunk (rows, cols) per task; unset = whole rows, ~64 curves"),
    )

    LOCAL = ("threads", "processes", "synchronous", "numpy")

    def __post_init__(self) -> None:
        if self.scheduler not in self.LOCAL and "://" not in self.scheduler:
            raise ConfigError(
                f"[run] scheduler={self.scheduler!r}: use one of {', '.join(self.LOCAL)} "
                "or a scheduler address such as tcp://host:8786"
            )
        if self.workers is not None and self.workers < 1:
            raise ConfigError(f"[run] workers must be >= 1, got {self.workers}")
        if self.chunks is not None and (len(self.chunks) != 2 or min(self.chunks) < 1):
            raise ConfigError(f"[run] chunks must be two positive integers, got {self.chunks}")


def _stage_classes() -> dict[str, type]:
    """Section name -> options dataclass (stage modules imported lazily)."""
    from cellmech.fit import FitOptions
    from cellmech.preprocess import PreprocessOptions

    return {
        "read": ReadOptions,
        "preprocess": PreprocessOptions,
        "fit": FitOptions,
        "run": RunOptions,
    }


#: section names in file order; ``[fit.geometry]`` is nested under ``[fit]``
SECTIONS = ("read", "preprocess", "fit", "run")
GEOMETRY_FIELD = "geometry"


@dataclass(frozen=True)
class Settings:
    """Every option of a ``cellmech fit`` run, one dataclass per section."""

    read: Any
    preprocess: Any
    fit: Any
    run: RunOptions

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """JSON-ready ``{section: {key: value}}``."""
        return {name: _as_plain(getattr(self, name)) for name in SECTIONS}


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


def _unwrap_optional(tp: Any) -> tuple[Any, bool]:
    """``(inner type, optional?)`` for ``X | None``."""
    args = typing.get_args(tp)
    if typing.get_origin(tp) in (typing.Union, types.UnionType) and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        return (rest[0] if len(rest) == 1 else typing.Union[tuple(rest)]), True  # noqa: UP007
    return tp, False


def _choices(tp: Any) -> tuple[Any, ...] | None:
    if typing.get_origin(tp) is typing.Literal:
        return typing.get_args(tp)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return tuple(m.value for m in tp)
    return None


def _coerce_scalar(tp: Any, value: Any, choices: tuple[Any, ...] | None = None) -> Any:
    choices = choices or _choices(tp)
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
    inner, optional = _unwrap_optional(tp)
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


def _option_fields(cls: type) -> list[dataclasses.Field]:
    """The configurable fields of an options dataclass (the geometry mapping is separate)."""
    return [f for f in dataclasses.fields(cls) if f.init and f.name != GEOMETRY_FIELD]


def _geometry_specs() -> dict[str, Any]:
    """Every model's geometry :class:`~cellmech.models.ParameterSpec`, by key."""
    specs: dict[str, Any] = {}
    for model in available_models():
        for spec in model.PARAMETERS:
            specs.setdefault(spec.key, spec)
    return specs


# ---------------------------------------------------------------------------------------------
# reading and merging


def _fail_unknown(where: str, unknown: set[str], valid: list[str]) -> None:
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {', '.join(sorted(unknown))}; valid keys: {', '.join(valid)}"
        )


def check_section(section: str, values: Mapping[str, Any], where: str) -> dict[str, Any]:
    """Validate and convert the keys of one section (``geometry`` handled for ``fit``).

    Parameters
    ----------
    section : str
        One of :data:`SECTIONS`.
    values : mapping
        Raw key -> value (TOML types or command-line values).
    where : str
        Where the values come from, for messages ("config.toml", "command line").

    Returns
    -------
    dict
        Converted values; ``fit`` may hold a ``geometry`` dict.
    """
    cls = _stage_classes()[section]
    fields = {f.name: f for f in _option_fields(cls)}
    allowed = list(fields) + ([GEOMETRY_FIELD] if section == "fit" else [])
    _fail_unknown(f"{where} [{section}]", set(values) - set(allowed), allowed)
    hints = typing.get_type_hints(cls)
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key == GEOMETRY_FIELD:
            out[key] = _check_geometry(value, where)
            continue
        try:
            out[key] = coerce(hints[key], value, fields[key].metadata.get("choices"))
        except ValueError as exc:
            raise ConfigError(f"{where} [{section}] {key}={value!r}: {exc}") from None
    return out


def _check_geometry(values: Any, where: str) -> dict[str, float]:
    if not isinstance(values, Mapping):
        raise ConfigError(f"{where} [fit.geometry] must be a table of model parameters")
    specs = _geometry_specs()
    _fail_unknown(f"{where} [fit.geometry]", set(values) - set(specs), list(specs))
    try:
        return {k: specs[k].validate(v) for k, v in values.items()}
    except (ConfigError, TypeError, ValueError) as exc:
        raise ConfigError(f"{where} [fit.geometry] {exc}") from None


def load_config(path: str | Path) -> dict[str, dict[str, Any]]:
    """Read a TOML config file into validated ``{section: {key: value}}``.

    Raises
    ------
    ConfigError
        If the file is missing or not TOML, or holds an unknown section or key.
    """
    p = Path(path)
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{p}: config file not found; check the path") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: not a valid TOML file ({exc}); fix the syntax") from None
    _fail_unknown(str(p), set(raw) - set(SECTIONS), list(SECTIONS))
    out = {}
    for section, values in raw.items():
        if not isinstance(values, Mapping):
            raise ConfigError(f"{p}: [{section}] must be a table of key = value lines")
        out[section] = check_section(section, values, str(p))
    return out


def _merge_fit(defaults: Any, levels: list[Mapping[str, Any]]) -> Any:
    """Build the fit options; geometry keys of a lower level that a model chosen at a higher
    level does not take are dropped (so ``--model`` works with a config file written for
    another tip)."""
    cls = type(defaults)
    kwargs: dict[str, Any] = {}
    geometry: dict[str, float] = {}
    for level in levels:
        if "model" in level:
            takes = {p.key for p in get_model(level["model"]).PARAMETERS}
            geometry = {k: v for k, v in geometry.items() if k in takes}
        kwargs.update({k: v for k, v in level.items() if k != GEOMETRY_FIELD})
        geometry.update(level.get(GEOMETRY_FIELD, {}))
    return _build(cls, {**kwargs, GEOMETRY_FIELD: geometry}, "fit")


def _build(cls: type, kwargs: Mapping[str, Any], section: str) -> Any:
    try:
        return cls(**kwargs)
    except ConfigError:
        raise
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"[{section}] {exc}") from None


def merge_settings(*levels: Mapping[str, Mapping[str, Any]]) -> Settings:
    """Combine validated ``{section: {key: value}}`` levels, later ones winning, over defaults.

    Parameters
    ----------
    *levels : mapping
        E.g. ``load_config(file)`` then the command-line values, each already checked with
        :func:`check_section` / :func:`load_config`.

    Returns
    -------
    Settings
    """
    classes = _stage_classes()
    built = {}
    for section in SECTIONS:
        given = [lvl.get(section, {}) for lvl in levels]
        if section == "fit":
            built[section] = _merge_fit(classes[section](), given)
        else:
            merged: dict[str, Any] = {}
            for g in given:
                merged.update(g)
            built[section] = _build(classes[section], merged, section)
    return Settings(**built)


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
    for f in _option_fields(type(obj)):
        meta = f.metadata
        lines.append(_comment(meta.get("help", ""), meta.get("unit", ""), meta.get("choices")))
        value = getattr(obj, f.name)
        lines.append(f"# {f.name} =" if value is None else f"{f.name} = {_toml_value(value)}")
    return lines


def dump_defaults() -> str:
    """The default configuration as commented TOML text (what ``cellmech config dump`` writes)."""
    classes = _stage_classes()
    out = [
        "# cellmech configuration: defaults. SI units (m, N, Pa, s) unless a comment says",
        "# otherwise. Commented-out keys are unset. Precedence: defaults < this file < flags.",
    ]
    for section in SECTIONS:
        defaults = classes[section]()
        out += ["", f"[{section}]", *_field_lines(defaults)]
        if section == "fit":
            out += _geometry_lines(defaults)
    return "\n".join(out) + "\n"


def _geometry_lines(fit_defaults: Any) -> list[str]:
    model = fit_defaults.model
    lines = ["", "[fit.geometry]", f"# parameters of the contact model ({model} here):"]
    for key, value in dict(getattr(fit_defaults, GEOMETRY_FIELD)).items():
        spec = next(p for p in get_model(model).PARAMETERS if p.key == key)
        lines += [_comment(spec.description, spec.unit), f"{key} = {_toml_value(value)}"]
    for other in available_models():
        if model != other.KEY and other.PARAMETERS:
            keys = ", ".join(f"{p.key} [{p.unit}]" for p in other.PARAMETERS)
            lines.append(f"# model {other.KEY} takes: {keys}")
    return lines


# ---------------------------------------------------------------------------------------------
# command-line flags


@dataclass(frozen=True)
class FlagSpec:
    """A command-line flag derived from an options field.

    Parameters
    ----------
    flag : str
        ``--tip-radius`` (the field name without its unit suffix, dashes for underscores).
    section : str
        Config section the value belongs to ("fit", "preprocess", ...).
    key : str
        Field name (``tip_radius_m``); ``geometry`` parameters live in ``fit.geometry``.
    type : Any
        The field type (inner type for optionals).
    optional : bool
        True if "none" is accepted to unset the value.
    help : str
        Help text including the unit.
    nargs : int or None
        Number of values for tuple fields.
    choices : tuple or None
        Valid values.
    is_bool : bool
        Boolean switch (``--x`` / ``--no-x``).
    geometry : bool
        True for contact-model geometry parameters.
    aliases : tuple of str
        Other spellings of the flag.
    unit : str
        Unit of the value ("" when none).
    """

    flag: str
    section: str
    key: str
    type: Any
    optional: bool
    help: str
    nargs: int | None = None
    choices: tuple[Any, ...] | None = None
    is_bool: bool = False
    geometry: bool = False
    aliases: tuple[str, ...] = ()
    unit: str = ""

    @property
    def dest(self) -> str:
        """argparse destination name."""
        return f"cfg__{self.section}__{self.key}"


def _flag_name(key: str, taken: set[str], section: str) -> str:
    base = key
    for suffix in _UNIT_SUFFIXES:
        if key.endswith(suffix) and len(key) > len(suffix):
            base = key[: -len(suffix)]
            break
    name = "--" + base.replace("_", "-")
    if name in taken:
        name = f"--{section}-{base.replace('_', '-')}"
    return name


def _help(text: str, unit: str, default: Any) -> str:
    unit_txt = f" [{unit}{', SI' if unit in ('m', 'N', 'Pa', 's', 'N/m', 'm/V') else ''}]"
    return f"{text}{unit_txt if unit not in ('', '1') else ''} (default: {default})"


def cli_flags(reserved: set[str] = frozenset()) -> list[FlagSpec]:
    """One :class:`FlagSpec` per option field and geometry parameter.

    Parameters
    ----------
    reserved : set of str
        Flags already used by the command (never reused).
    """
    taken = set(reserved)
    specs = []
    for section, cls in _stage_classes().items():
        hints = typing.get_type_hints(cls)
        defaults = cls()
        for f in _option_fields(cls):
            inner, optional = _unwrap_optional(hints[f.name])
            flag = _flag_name(f.name, taken, section)
            taken.update((flag, *_FLAG_ALIASES.get((section, f.name), ())))
            is_tuple = typing.get_origin(inner) is tuple
            elem = typing.get_args(inner)[0] if is_tuple else inner
            specs.append(
                FlagSpec(
                    flag=flag,
                    section=section,
                    key=f.name,
                    type=elem,
                    optional=optional,
                    help=_help(
                        f.metadata.get("help", ""),
                        f.metadata.get("unit", ""),
                        getattr(defaults, f.name),
                    ),
                    nargs=len(typing.get_args(inner)) if is_tuple else None,
                    choices=f.metadata.get("choices") or _choices(inner),
                    is_bool=inner is bool,
                    aliases=_FLAG_ALIASES.get((section, f.name), ()),
                    unit=f.metadata.get("unit", ""),
                )
            )
    for key, spec in _geometry_specs().items():
        flag = _flag_name(key, taken, "geometry")
        taken.add(flag)
        text = f"{spec.description} (contact-model geometry; only models that take {key})"
        specs.append(
            FlagSpec(
                flag,
                "fit",
                key,
                float,
                False,
                _help(text, spec.unit, spec.default),
                geometry=True,
                unit=spec.unit,
            )
        )
    return specs
