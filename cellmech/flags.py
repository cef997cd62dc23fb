"""Command-line flags derived from the options dataclasses of a stage table.

One :class:`FlagSpec` per option field (``--tip-radius`` from ``tip_radius_m``: the field name
without its unit suffix) and per sub-table key; the CLI (:mod:`cellmech.cli.options`) turns
them into argparse arguments.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass
from typing import Any

from cellmech.config import (
    StageTable,
    option_fields,
    subtable_fields,
    type_choices,
    unwrap_optional,
)

__all__ = ["FlagSpec", "cli_flags"]

#: suffixes naming a unit; stripped from a field name to make its command-line flag
_UNIT_SUFFIXES = ("_n_per_m", "_m_per_v", "_deg", "_pa", "_m2", "_m", "_n", "_s")
#: extra spellings of derived flags, (section, field) -> aliases
_FLAG_ALIASES = {("preprocess", "contact_method"): ("--contact-point",)}


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
        Field name (``tip_radius_m``); sub-table keys live in ``section.<subtable>``.
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
    subtable : str or None
        Name of the sub-table field (``geometry``) for nested keys, else None.
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
    subtable: str | None = None
    aliases: tuple[str, ...] = ()
    unit: str = ""

    @property
    def geometry(self) -> bool:
        """True for a nested (sub-table) key such as a contact-model geometry parameter."""
        return self.subtable is not None

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
    unit_txt = f" [{unit}{', SI' if unit in ('m', 'N', 'Pa', 's', 'N/m', 'm/V', 'm2') else ''}]"
    return f"{text}{unit_txt if unit not in ('', '1') else ''} (default: {default})"


def _field_flag(section: str, f: dataclasses.Field, hint: Any, default: Any, flag: str):
    inner, optional = unwrap_optional(hint)
    is_tuple = typing.get_origin(inner) is tuple
    return FlagSpec(
        flag=flag,
        section=section,
        key=f.name,
        type=typing.get_args(inner)[0] if is_tuple else inner,
        optional=optional,
        help=_help(f.metadata.get("help", ""), f.metadata.get("unit", ""), default),
        nargs=len(typing.get_args(inner)) if is_tuple else None,
        choices=f.metadata.get("choices") or type_choices(inner),
        is_bool=inner is bool,
        aliases=_FLAG_ALIASES.get((section, f.name), ()),
        unit=f.metadata.get("unit", ""),
    )


def cli_flags(table: StageTable, reserved: set[str] = frozenset()) -> list[FlagSpec]:
    """One :class:`FlagSpec` per option field and sub-table key of every section.

    Parameters
    ----------
    table : mapping
        The stage table ``{section: OptionsClass}``.
    reserved : set of str
        Flags already used by the command (never reused).
    """
    taken = set(reserved)
    specs = []
    for section, cls in table.items():
        hints = typing.get_type_hints(cls)
        defaults = cls()
        for f in option_fields(cls):
            flag = _flag_name(f.name, taken, section)
            taken.update((flag, *_FLAG_ALIASES.get((section, f.name), ())))
            specs.append(_field_flag(section, f, hints[f.name], getattr(defaults, f.name), flag))
        for name, sub in subtable_fields(cls).items():
            for key, spec in sub.specs().items():
                flag = _flag_name(key, taken, name)
                taken.add(flag)
                text = f"{spec.description} ({sub.help}; only where it applies)"
                specs.append(
                    FlagSpec(
                        flag,
                        section,
                        key,
                        float,
                        False,
                        _help(text, spec.unit, spec.default),
                        subtable=name,
                        unit=spec.unit,
                    )
                )
    return specs
