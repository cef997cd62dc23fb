"""``cellmech config dump``: write the default configuration of every stage."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["add_config"]


def _cmd_config_dump(args: argparse.Namespace) -> int:
    from cellmech.config import dump_defaults
    from cellmech.outputs import atomic_path
    from cellmech.pipeline import PRESETS, stage_table

    text = dump_defaults(stage_table(), PRESETS)
    if args.output is None:
        sys.stdout.write(text)
        return 0
    with atomic_path(args.output) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return 0


def add_config(sub: argparse._SubParsersAction) -> None:
    """Declare ``cellmech config dump``."""
    p = sub.add_parser("config", help="configuration files (TOML): dump the defaults")
    actions = p.add_subparsers(dest="config_action", metavar="ACTION", required=True)
    dump = actions.add_parser(
        "dump", help="write the default configuration, commented with help and units"
    )
    dump.add_argument(
        "-o", "--output", type=Path, default=None, metavar="FILE", help="default: standard output"
    )
    dump.set_defaults(func=_cmd_config_dump)
