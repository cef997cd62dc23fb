"""``cellmech sample-data``: write a synthetic correlative dataset with its ground truth."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from cellmech.cli.options import add_option_flags, settings_from_args

__all__ = ["add_sample_data"]


def _cmd_sample_data(args: argparse.Namespace) -> int:
    from cellmech.synthetic import make_sample_data

    options = settings_from_args(args).sample
    start = time.perf_counter()
    paths = make_sample_data(args.out_dir, options)
    for role, path in paths.items():
        print(f"{role:<13} {path}")
    print(f"written in {time.perf_counter() - start:.1f} s (seed {options.seed})")
    return 0


def _sample_table() -> dict[str, type]:
    from cellmech.synthetic.options import SampleOptions

    return {"sample": SampleOptions}


def add_sample_data(sub: argparse._SubParsersAction) -> None:
    """Declare ``cellmech sample-data``: one flag per :class:`SampleOptions` field."""
    p = sub.add_parser(
        "sample-data",
        help="write a synthetic correlative AFM + fluorescence dataset with its ground truth",
        description="Write a JPK force map over synthetic cells, the fluorescence stack of a "
        "larger field and the ground truth (truth.json, truth_cells.csv, truth_curves.csv, "
        "truth_labels.tif; see sample_data/README.md). Values are SI or carry a unit suffix "
        "(--map-size 72um, --tip-radius 2.5um).",
    )
    p.add_argument("out_dir", type=Path, help="output folder (created if needed)")
    add_option_flags(p, ("sample",), {"-h", "--help", "--debug"}, _sample_table)
    p.set_defaults(func=_cmd_sample_data)
