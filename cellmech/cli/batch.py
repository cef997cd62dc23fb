"""``cellmech batch``: every sample of a folder of exports, fault-isolated and resumable."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from cellmech.cli.fit import check_output_dir
from cellmech.cli.options import add_option_flags, settings_from_args
from cellmech.cli.progress import progress_bar
from cellmech.errors import CellmechError

__all__ = ["add_batch"]

#: the sections of a batch's options: [run] is replaced by the batch's own flags
SECTIONS = ("read", "preprocess", "fit", "image", "segment", "register", "measure")


def _pairing(args: argparse.Namespace):
    from cellmech.pairing import pair_folder, read_pairs_csv

    folder = args.input_dir
    if not folder.is_dir():
        raise CellmechError(f"{folder}: not a folder; give the folder holding the exports")
    pairing = read_pairs_csv(args.pairs, folder) if args.pairs else pair_folder(folder)
    if not pairing.pairs:
        left = f" ({len(pairing.unpaired)} files without a partner)" if pairing.unpaired else ""
        raise CellmechError(
            f"{folder}: no AFM map pairs with a fluorescence stack{left}; see `cellmech batch "
            "--help` for the naming rule, or give --pairs pairs.csv"
        )
    return pairing


def _print_plan(pairing, plan) -> None:
    for pair, action in plan:
        labels = f" + labels {pair.labels.name}" if pair.labels else ""
        extra = "".join(f" {k}={v}" for k, v in pair.extra.items())
        print(
            f"{action:5} {pair.sample}: {pair.afm.name} + {pair.fluorescence.name}{labels}{extra}"
        )
    for path, reason in pairing.unpaired:
        print(f"unpaired {path.name}: {reason}")
    for path in pairing.ignored:
        print(f"ignored {path.name}: no reader recognises it")
    n_run = sum(a == "run" for _, a in plan)
    print(f"{len(plan)} samples: {n_run} would run, {len(plan) - n_run} would be skipped")


def _summary(result, out: Path, pairing) -> list[str]:
    counts = result.report["counts"]
    lines = [
        f"{len(result.outcomes)} samples: "
        + ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in counts.items() if n)
    ]
    for o in result.outcomes:
        if o.status == "failed":
            lines.append(f"failed {o.sample}: {o.error}")
        elif o.needs_review:
            lines.append(f"needs review {o.sample}: registration not accepted")
    lines += [f"unpaired {p}: {reason}" for p, reason in pairing.unpaired]
    lines.append(f"report: {out / 'batch_report.html'}")
    return lines


def _cmd_batch(args: argparse.Namespace) -> int:
    from cellmech.batch import run_batch
    from cellmech.batch_sample import plan_batch

    if args.verbose:
        logging.basicConfig(
            level=logging.DEBUG if args.verbose > 1 else logging.INFO,
            format="%(asctime)s %(name)s %(levelname)s: %(message)s",
        )
    settings = settings_from_args(args)
    pairing = _pairing(args)
    check_output_dir(args.output)
    if args.dry_run:
        _print_plan(pairing, plan_batch(pairing, args.output, settings, force=args.force))
        return 0
    quiet = args.quiet or not sys.stderr.isatty()
    with progress_bar(quiet, total=len(pairing.pairs), unit="sample") as bar:

        def progress(outcome) -> None:
            bar.set_postfix_str(f"{outcome.sample}: {outcome.status}")
            bar.update(1)

        result = run_batch(
            pairing,
            args.output,
            settings,
            scheduler=args.scheduler,
            workers=args.workers,
            threads_per_worker=args.threads_per_worker,
            force=args.force,
            calibration=args.calibration,
            progress=progress,
            meta={"command": sys.argv, "input_dir": str(args.input_dir.resolve())},
        )
    if not args.quiet:
        print("\n".join(_summary(result, args.output, pairing)))
    return result.exit_code


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expects a positive integer, got {text!r}")
    return value


_DESCRIPTION = """\
Run `cellmech run` on every AFM map + fluorescence stack pair of INPUT_DIR, each into
OUT/<sample>/, then write OUT/cells.csv (+ .parquet) and OUT/curves.parquet with a `sample`
column, OUT/batch_report.json, OUT/batch_report.html and OUT/config.toml.

Pairing by name: files are told apart by their content (`cellmech formats`); a map and a stack
with the same name stem pair (cell3.jpk-force-map + cell3.ome.tif), else the longest common
name prefix up to a separator (_ - . space) pairs them when it is unique and mutual
(day1_cell3_afm.jpk-force-map + day1_cell3_gfp.ome.tif -> sample day1_cell3). A stack named
<stem>_labels.tif is a label image for that sample. Or give --pairs pairs.csv with columns
sample,afm,fluorescence[,labels][,condition,...]; extra columns go into the tables.

A re-run skips samples whose outputs are complete and whose inputs and options are unchanged
(--force recomputes). Exit codes: 0 all ok; 3 some need review (registration not accepted)
or a map found no partner, none failed; 4 some samples failed; 2 bad input, nothing ran;
130 interrupted (finished samples are kept: re-run to finish the rest).
"""


def add_batch(sub: argparse._SubParsersAction) -> None:
    """Declare ``cellmech batch``."""
    p = sub.add_parser(
        "batch",
        help="every sample of a folder: fault-isolated, resumable, on Dask locally or a cluster",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("input_dir", type=Path, metavar="INPUT_DIR", help="folder of exports")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="OUT", help="output folder")
    p.add_argument("--pairs", type=Path, metavar="CSV", help="explicit pairing (see above)")
    p.add_argument(
        "--scheduler", default=None, metavar="KIND",
        help="processes (default: a local cluster of worker processes), threads, synchronous, "
        "or a Dask scheduler address tcp://host:8786",
    )  # fmt: skip
    p.add_argument(
        "--workers", type=_positive, default=None, metavar="N",
        help="samples at once on this machine (default: one per core)",
    )  # fmt: skip
    p.add_argument(
        "--threads-per-worker", type=_positive, default=None, metavar="N",
        help="numba threads per sample (default: cores / workers; 1 on a cluster)",
    )  # fmt: skip
    p.add_argument(
        "--calibration", type=Path, metavar="registration.json",
        help="a registration of the same setup: the initial transform of every sample",
    )  # fmt: skip
    p.add_argument("--force", action="store_true", help="recompute up-to-date samples too")
    p.add_argument("--dry-run", action="store_true", help="print the pairing and the plan only")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar, no summary")
    p.add_argument("-v", "--verbose", action="count", default=0, help="log (-vv: debug)")
    reserved = {"-o", "--output", "-q", "--quiet", "-v", "--verbose", "-h", "--help", "--debug"}
    reserved |= {"--pairs", "--scheduler", "--workers", "--threads-per-worker", "--calibration"}
    reserved |= {"--force", "--dry-run"}
    add_option_flags(p, SECTIONS, reserved)
    p.set_defaults(func=_cmd_batch)
