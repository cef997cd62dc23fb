"""Command-line flags derived from the stage table (one flag per option field).

Values are SI; lengths, forces, moduli and times also take a unit suffix (``5um``,
``20nm``, ``4kPa``). Precedence: defaults < preset < ``--config`` file < flags.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from cellmech.config import PRESET_KEY, check_preset, check_section
from cellmech.flags import FlagSpec, cli_flags
from cellmech.units import QUANTITY_SUFFIXES, parse_quantity

__all__ = ["add_option_flags", "materialise_flags", "settings_from_args"]

_UNIT_METAVARS = {"m": "M", "N": "N", "Pa": "PA", "deg": "DEG", "N/m": "N_PER_M", "m/V": "M_PER_V"}


def _flag_parser(spec: FlagSpec):
    """argparse ``type`` for a derived flag; "none" unsets optional values."""

    def parse(text: str):
        if spec.optional and text.lower() == "none":
            return None
        try:
            if spec.type is float and spec.unit in QUANTITY_SUFFIXES:
                return parse_quantity(text, spec.unit)
            return spec.type(text)
        except ValueError as exc:
            detail = exc if spec.type is float and spec.unit in QUANTITY_SUFFIXES else ""
            raise argparse.ArgumentTypeError(
                f"{spec.flag} expects {spec.type.__name__}, got {text!r} {detail}".rstrip()
            ) from None

    return parse


def add_option_flags(
    p: argparse.ArgumentParser,
    sections: tuple[str, ...],
    reserved: set[str],
    table: Callable[[], dict[str, type]] | None = None,
) -> None:
    """Declare that ``p`` takes ``--config``, ``--preset`` and one flag per option of
    ``sections``. The flags are added by :func:`materialise_flags` only for the command being
    run, so building the parser never imports the stage modules (``cellmech --version``,
    ``formats`` and ``info`` stay light).

    ``table`` (a callable returning ``{section: OptionsClass}``) replaces the pipeline's stage
    table for options outside it (the synthetic generator); such commands take no config file
    or preset."""
    p.set_defaults(option_sections=sections, option_table=None)
    p._cellmech_option_flags = (sections, reserved, table)  # type: ignore[attr-defined]


def materialise_flags(p: argparse.ArgumentParser) -> None:
    """Add the option flags declared by :func:`add_option_flags` to ``p`` (once)."""
    declared = getattr(p, "_cellmech_option_flags", None)
    if declared is not None:
        del p._cellmech_option_flags  # type: ignore[attr-defined]
        sections, reserved, table = declared
        _add_flags(p, sections, reserved, None if table is None else table())


def _add_flags(
    p: argparse.ArgumentParser,
    sections: tuple[str, ...],
    reserved: set[str],
    table: dict[str, type] | None,
) -> None:
    from cellmech.pipeline import PRESETS, stage_table

    if table is None:
        p.add_argument("--config", metavar="FILE.toml", help="TOML configuration file")
    if PRESETS and table is None:
        p.add_argument(
            "--preset",
            choices=sorted(PRESETS),
            default=None,
            help="a named set of options applied over the defaults (config and flags win)",
        )
    specs = cli_flags(table or stage_table(sections), reserved | {"--config", "--preset"})
    groups: dict[str, argparse._ArgumentGroup] = {}
    for spec in specs:
        group = groups.get(spec.section) or groups.setdefault(
            spec.section, p.add_argument_group(f"[{spec.section}] options")
        )
        names = (spec.flag, *spec.aliases)
        help_text = spec.help.replace("%", "%%")  # argparse formats help with %
        common = {"dest": spec.dest, "default": argparse.SUPPRESS, "help": help_text}
        if spec.is_bool:
            group.add_argument(*names, action=argparse.BooleanOptionalAction, **common)
            continue
        metavar = _UNIT_METAVARS.get(spec.unit, spec.type.__name__.upper())
        group.add_argument(
            *names,
            type=_flag_parser(spec),
            nargs=spec.nargs,
            choices=spec.choices,
            metavar=None if spec.choices else metavar,
            **common,
        )
    p.set_defaults(option_specs=specs, option_sections=sections, option_table=table)


def _flag_level(args: argparse.Namespace, table) -> dict:
    """The option values given on the command line, as checked config sections."""
    given: dict[str, dict] = {}
    for spec in args.option_specs:
        if hasattr(args, spec.dest):
            value = getattr(args, spec.dest)
            value = tuple(value) if spec.nargs and value is not None else value
            section = given.setdefault(spec.section, {})
            if spec.subtable:
                section.setdefault(spec.subtable, {})[spec.key] = value
            else:
                section[spec.key] = value
    level = {
        name: check_section(table, name, values, "command line") for name, values in given.items()
    }
    if getattr(args, "preset", None) is not None:
        level[PRESET_KEY] = args.preset
    return level


def settings_from_args(args: argparse.Namespace, base: dict | None = None):
    """Validated :class:`~cellmech.config.Settings`: defaults < preset < ``base`` (a
    command's own defaults, e.g. the demo sample's tip) < config < flags."""
    from cellmech.config import load_config, merge_settings
    from cellmech.pipeline import PRESETS, make_settings, stage_table

    if args.option_table is not None:
        return merge_settings(args.option_table, _flag_level(args, args.option_table))
    table = stage_table(args.option_sections)
    # a config file may hold every stage's section: all are checked, the command uses its own
    levels = [load_config(args.config, stage_table(), PRESETS)] if args.config else []
    level = _flag_level(args, table)
    if PRESET_KEY in level:
        check_preset(level[PRESET_KEY], PRESETS, "--preset")
    return make_settings(*([base] if base else []), *levels, level, sections=args.option_sections)
