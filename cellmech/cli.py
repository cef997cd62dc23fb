"""The ``cellmech`` command line.

Every sub-command is a small function pair: ``_add_<name>(subparsers)`` declares its arguments
and sets ``func``; the function does the work and returns an exit code. Errors derived from
:class:`~cellmech.errors.CellmechError` print one line and exit with status 2; ``--debug``
shows the traceback instead.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from cellmech import __version__
from cellmech.errors import CellmechError, UnsupportedFormatError
from cellmech.units import M_PER_UM

__all__ = ["main"]

EXIT_ERROR = 2


def _cmd_formats(args: argparse.Namespace) -> int:
    from cellmech.io import readers

    rows = [(r.name, r.kind, " ".join(r.suffixes), r.description) for r in readers()]
    widths = [
        max(len(row[i]) for row in [*rows, ("reader", "kind", "suffixes", "")]) for i in (0, 1)
    ]
    print(f"{'reader':<{widths[0]}}  {'kind':<{widths[1]}}  suffixes / description")
    for name, kind, suffixes, description in rows:
        print(f"{name:<{widths[0]}}  {kind:<{widths[1]}}  {suffixes}")
        print(f"{'':<{widths[0]}}  {'':<{widths[1]}}    {description}")
    return 0


def _add_formats(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("formats", help="list the readers and the file suffixes they handle")
    p.set_defaults(func=_cmd_formats)


def _describe_force_map(fm) -> list[str]:
    g = fm.grid
    rows, cols = g.shape
    lines = [
        f"kind               {fm.kind}",
        f"curves             {fm.n_curves} present of {rows * cols} grid positions",
        f"grid shape         {rows} rows x {cols} cols",
        f"grid size          {g.size_m[0] / M_PER_UM:g} µm x {g.size_m[1] / M_PER_UM:g} µm "
        f"(u x v; pixel {g.pixel_size_m[1] / M_PER_UM:g} µm x {g.pixel_size_m[0] / M_PER_UM:g} µm)",
        f"grid centre        x={g.center_m[0] / M_PER_UM:g} µm, y={g.center_m[1] / M_PER_UM:g} µm",
        f"grid rotation      theta={g.theta_rad:g} rad, reflect={g.reflect}, "
        f"scan={'back-and-forth' if g.back_and_forth else 'line by line'}",
        f"xy scanner         {g.xy_scanner}",
        f"spring constant    {fm.spring_constant_n_per_m:.6g} N/m",
        f"sensitivity        {fm.sensitivity_m_per_v:.6g} m/V",
    ]
    if fm.n_curves:
        first = fm.curves([0])
        n_ret = "none" if first.retract is None else str(int(first.retract.n_points[0]))
        lines.append(
            f"first curve        {int(first.approach.n_points[0])} approach points, "
            f"{n_ret} retract points, measured height: "
            f"{'yes' if first.approach.measured_height_m is not None else 'no'}"
        )
    return lines


def _describe_stack(st) -> list[str]:
    c, z, y, x = st.shape
    lines = [
        "kind               fluorescence stack",
        f"shape (C, Z, Y, X) {c} x {z} x {y} x {x}",
        f"channels           {', '.join(st.channel_names)}",
        f"pixel size         {st.pixel_size_m[1] / M_PER_UM:g} µm (x) x "
        f"{st.pixel_size_m[0] / M_PER_UM:g} µm (y)",
        f"field of view      {x * st.pixel_size_m[1] / M_PER_UM:g} µm x "
        f"{y * st.pixel_size_m[0] / M_PER_UM:g} µm",
        f"z step             {st.z_step_m / M_PER_UM:g} µm"
        if math.isfinite(st.z_step_m)
        else "z step             none (single plane or not recorded)",
        f"dtype              {st.data.dtype}",
    ]
    if st.stage_position_m is not None:
        sx, sy = st.stage_position_m
        lines.append(f"stage position     x={sx / M_PER_UM:g} µm, y={sy / M_PER_UM:g} µm")
    return lines


def _cmd_info(args: argparse.Namespace) -> int:
    from cellmech.io import read_fluorescence, read_force_map
    from cellmech.io.registry import check_input_file, find_reader

    path = check_input_file(args.path)
    try:
        find_reader(path, "afm")
        is_afm = True
    except UnsupportedFormatError as afm_error:
        try:
            find_reader(path, "fluorescence")
        except UnsupportedFormatError as fluo_error:  # report every reader and suffix asked
            raise UnsupportedFormatError(
                path, afm_error.tried + fluo_error.tried, afm_error.suffixes + fluo_error.suffixes
            ) from None
        is_afm = False
    if is_afm:
        lines = _describe_force_map(
            read_force_map(path, spring_constant_n_per_m=args.spring_constant)
        )
    else:
        lines = _describe_stack(read_fluorescence(path, pixel_size_m=args.pixel_size))
    print(f"file               {path}")
    print("\n".join(lines))
    return 0


def _add_info(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("info", help="describe what an AFM or fluorescence file holds")
    p.add_argument("path", type=Path, help="AFM or fluorescence file")
    p.add_argument(
        "--spring-constant",
        type=float,
        default=None,
        metavar="N_PER_M",
        help="spring constant in N/m, for files that do not store it",
    )
    p.add_argument(
        "--pixel-size",
        type=float,
        default=None,
        metavar="M",
        help="fluorescence pixel size in m (square pixels), for files that do not store it",
    )
    p.set_defaults(func=_cmd_info)


#: sub-command declarations, in the order ``--help`` lists them
COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [_add_formats, _add_info]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every sub-command."""
    parser = argparse.ArgumentParser(
        prog="cellmech",
        description="Correlative AFM + fluorescence analysis of cell mechanics. "
        "All lengths on the command line are in SI units (m), forces in N, moduli in Pa.",
    )
    parser.add_argument("--version", action="version", version=f"cellmech {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for add in COMMANDS:
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except CellmechError as exc:
        if args.debug:
            raise
        print(f"cellmech: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("cellmech: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
