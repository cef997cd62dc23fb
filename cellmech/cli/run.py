"""``cellmech run`` and ``cellmech demo``: one correlative sample end to end (fit -> segment ->
register -> measure), one row per cell."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from cellmech.cli.fit import check_output_dir
from cellmech.cli.options import add_option_flags, settings_from_args
from cellmech.cli.progress import progress_bar

__all__ = ["add_demo", "add_run", "add_sample_inputs"]

#: every section of the stage table
SECTIONS = ("read", "preprocess", "fit", "image", "segment", "register", "measure", "run")
#: exit code of a finished run whose registration was not accepted
EXIT_NEEDS_REVIEW = 3


def _summary(result, out: Path, seconds: float) -> list[str]:
    """A few lines for the terminal: cells, moduli, registration verdict, where the report is."""
    from cellmech.units import M_PER_UM, PA_PER_KPA

    lines = [f"{result.force_map.path.name}: {result.fit.n_curves} curves in {seconds:.1f} s"]
    if result.registration is not None:
        reg = result.registration
        verdict = "accepted" if reg.accepted else f"NOT accepted ({reg.reason})"
        lines.append(
            f"registration {reg.method}: error estimate {reg.error_estimate_m / M_PER_UM:.2f} µm, "
            f"{verdict}"
        )
    if result.cells is not None:
        cells = result.cells.to_frame()
        lines.append(f"{'cell':>5} {'curves ok':>9} {'E median':>10} {'height':>8}")
        for _, c in cells[cells["n_curves"] > 0].iterrows():
            lines.append(
                f"{int(c['cell_id']):>5} {int(c['n_curves_ok']):>9} "
                f"{c['youngs_modulus_median_pa'] / PA_PER_KPA:>7.2f} kPa "
                f"{c['height_max_m'] / M_PER_UM:>5.2f} µm"
            )
    lines += [f"warning: {w}" for w in result.warnings]
    lines.append(f"report: {out / 'report.html'}")
    return lines


def _run(
    args: argparse.Namespace, afm: Path, fluorescence: Path | None, base: dict | None = None
) -> int:
    from cellmech.io.registry import check_input_file
    from cellmech.outputs.transaction import output_lock
    from cellmech.pipeline import run_sample, write_sample_run

    t0 = time.perf_counter()
    check_input_file(afm)
    if fluorescence is not None:
        check_input_file(fluorescence)
    settings = settings_from_args(args, base)
    check_output_dir(args.output)
    quiet = args.quiet or not sys.stderr.isatty()
    bar_options = {"total": 100, "unit": "%", "desc": afm.name}
    with output_lock(args.output), progress_bar(quiet, **bar_options) as bar:

        def progress(stage: str, fraction: float) -> None:
            bar.set_description(f"{afm.name} [{stage}]")
            bar.n = int(100 * fraction) if stage == "fit" else bar.n
            bar.refresh()

        result = run_sample(
            afm,
            fluorescence,
            settings,
            labels=getattr(args, "labels", None),
            landmarks=getattr(args, "landmarks", None),
            calibration=getattr(args, "calibration", None),
            progress=progress,
        )
        write_sample_run(args.output, result)
    if not args.quiet:
        print("\n".join(_summary(result, args.output, time.perf_counter() - t0)))
    if result.needs_review:
        print(
            "cellmech: the registration was not accepted: every output is written and flagged; "
            "check registration_overlay.png (exit 3 = needs review)",
            file=sys.stderr,
        )
        return EXIT_NEEDS_REVIEW
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    return _run(args, args.afm, args.fluorescence)


def _cmd_demo(args: argparse.Namespace) -> int:
    from cellmech.synthetic import sample_data_dir, sample_tip

    folder = sample_data_dir()
    # the sample was recorded with this tip and model: the demo's own defaults
    fit = {"fit": sample_tip()}
    return _run(args, folder / "sample.jpk-force-map", folder / "sample.ome.tif", fit)


_RESERVED = {"-o", "--output", "-q", "--quiet", "-h", "--help", "--debug"}


def add_sample_inputs(p: argparse.ArgumentParser, fluorescence_required: bool) -> set[str]:
    """The inputs of a correlative command (AFM map, fluorescence stack, output folder, labels,
    landmarks, calibration); returns the flags it took."""
    p.add_argument("--afm", type=Path, required=True, metavar="AFM_FILE", help="AFM force map")
    p.add_argument(
        "--fluorescence", type=Path, required=fluorescence_required, default=None,
        metavar="FLUO_FILE", help="fluorescence stack of the same field"
        + ("" if fluorescence_required else " (without it: fit and report only)"),
    )  # fmt: skip
    p.add_argument("-o", "--output", type=Path, required=True, metavar="OUT", help="output folder")
    p.add_argument("--labels", type=Path, metavar="LABELS.tif", help="labels made elsewhere")
    p.add_argument("--landmarks", type=Path, metavar="CSV", help="AFM/fluorescence point pairs")
    p.add_argument(
        "--calibration", type=Path, metavar="registration.json",
        help="a previous registration of the same setup as the initial transform",
    )  # fmt: skip
    return {"--afm", "--fluorescence", "-o", "--output", "--labels", "--landmarks",
            "--calibration"}  # fmt: skip


def add_run(sub: argparse._SubParsersAction) -> None:
    """Declare ``cellmech run``."""
    p = sub.add_parser(
        "run",
        help="one correlative sample end to end: per-cell table, maps, labels, report",
        description="Fit every curve of --afm, segment the cells of --fluorescence, register "
        "the AFM map onto the fluorescence field and measure every cell. Writes OUT/cells.csv "
        "(+ .parquet), OUT/curves.csv (+ .parquet), OUT/maps/, OUT/labels.ome.tif, "
        "OUT/registration.json, OUT/report.html and OUT/run.json. Exit 3 when the "
        "registration is not accepted (every output written, flagged).",
    )
    reserved = _RESERVED | add_sample_inputs(p, fluorescence_required=False)
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar, no summary")
    add_option_flags(p, SECTIONS, reserved)
    p.set_defaults(func=_cmd_run)


def add_demo(sub: argparse._SubParsersAction) -> None:
    """Declare ``cellmech demo``."""
    p = sub.add_parser(
        "demo",
        help="run the whole pipeline on the bundled synthetic sample and print a summary",
        description="Runs `cellmech run` on the bundled synthetic sample (a 24x24 JPK force map "
        "over three cells and its fluorescence stack), prints a per-cell summary and where "
        "the report is.",
    )
    p.add_argument(
        "-o", "--output", type=Path, default=Path("cellmech-demo"), metavar="OUT",
        help="output folder (default: ./cellmech-demo)",
    )  # fmt: skip
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar, no summary")
    add_option_flags(p, SECTIONS, set(_RESERVED))
    p.set_defaults(func=_cmd_demo)
