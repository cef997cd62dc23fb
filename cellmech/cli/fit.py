"""``cellmech fit``: fit a contact model to every curve of an AFM map."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from cellmech.cli.options import add_option_flags, settings_from_args
from cellmech.cli.progress import progress_bar
from cellmech.errors import CellmechError

__all__ = ["add_fit", "check_output_dir"]


def check_output_dir(path: Path) -> Path:
    """``path`` if it can be an output folder, else a one-line :class:`CellmechError`."""
    from cellmech.outputs.transaction import check_output_name

    check_output_name(path)  # before any work: '' (argparse makes it '.'), '.' or '..'
    if path.exists() and not path.is_dir():
        raise CellmechError(f"{path}: exists and is not a folder; give an output folder")
    return path


def _cmd_fit(args: argparse.Namespace) -> int:
    from cellmech.io.registry import check_input_file
    from cellmech.outputs.transaction import output_lock
    from cellmech.pipeline import run_fit, write_fit_run

    t0 = time.perf_counter()
    path = check_input_file(args.afm_file)
    settings = settings_from_args(args)
    check_output_dir(args.output)
    quiet = args.quiet or not sys.stderr.isatty()
    with output_lock(args.output):  # a second run into OUT is refused before any work
        with progress_bar(quiet, unit="curve", desc=path.name) as bar:
            run = run_fit(
                path, settings, progress=bar.update, on_read=lambda fm: bar.reset(fm.n_curves)
            )
        report = write_fit_run(args.output, run, settings)
    if not args.quiet:
        counts = report["status_counts"]
        corrupt = f", {counts['corrupt']} corrupt" if counts.get("corrupt") else ""
        print(
            f"{path.name}: {run.result.n_curves} curves fitted ({counts['ok']} ok{corrupt}) in "
            f"{time.perf_counter() - t0:.1f} s -> {args.output}"
        )
    return 0


def add_fit(sub: argparse._SubParsersAction) -> None:
    """Declare ``cellmech fit``."""
    p = sub.add_parser(
        "fit",
        help="fit a contact model to every curve of an AFM map; write tables, maps, run.json",
        description="Fit every force curve of AFM_FILE and write OUT/curves.csv, "
        "OUT/curves.parquet, OUT/maps.ome.tif and OUT/run.json. Values on the command "
        "line are SI (lengths in m: --tip-radius 10e-6 is 10 µm) or carry a unit suffix "
        "(--tip-radius 10um); angles in degrees. Precedence: defaults < --preset < --config "
        "file < flags. `cellmech config dump` writes every option with its default.",
    )
    p.add_argument("afm_file", type=Path, help="AFM force map or curve file")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="OUT", help="output folder")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar, no summary")
    reserved = {"-o", "--output", "-q", "--quiet", "-h", "--help", "--debug"}
    add_option_flags(p, ("read", "preprocess", "fit", "run"), reserved)
    p.set_defaults(func=_cmd_fit)
