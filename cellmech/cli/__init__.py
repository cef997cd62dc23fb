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


def _grid_shape(text: str) -> tuple[int, int]:
    """Parse ``ROWSxCOLS`` (e.g. ``48x48``)."""
    try:
        rows, cols = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected ROWSxCOLS such as 48x48, got {text!r}"
        ) from None
    return rows, cols


def _um(value: float) -> float:
    """µm -> m by division, so 2.5 µm gives the same float as the literal 2.5e-6 m."""
    return value / (1 / M_PER_UM)


def _cmd_sample_data(args: argparse.Namespace) -> int:
    import time

    from cellmech.models import get_model
    from cellmech.synthetic import SampleOptions, make_sample_data

    keys = {p.key for p in get_model(args.model).PARAMETERS}
    tip = {"tip_radius_m": _um(args.tip_radius_um), "half_angle_deg": args.half_angle_deg}
    options = SampleOptions(
        seed=args.seed,
        grid_shape=args.grid,
        map_size_m=_um(args.size_um),
        n_cells=args.cells,
        n_cells_outside=args.cells_outside,
        model=args.model,
        geometry={k: v for k, v in tip.items() if k in keys},
        approach_points=args.points,
        retract_points=args.retract_points,
        noise_free=args.noise_free,
        reflect=args.reflect,
        marker=not args.no_marker,
        fluo_pixel_size_m=_um(args.fluo_pixel_um),
        fluo_z_planes=args.z_planes,
        measured_height=not args.no_measured_height,
        virtual_deflection_slope=args.virtual_deflection_slope,
        grid_theta_deg=args.grid_theta_deg,
    )
    start = time.perf_counter()
    paths = make_sample_data(args.out_dir, options)
    for role, path in paths.items():
        print(f"{role:<13} {path}")
    print(f"written in {time.perf_counter() - start:.1f} s (seed {args.seed})")
    return 0


def _add_sample_data(sub: argparse._SubParsersAction) -> None:
    from cellmech.synthetic.options import SampleOptions

    d = SampleOptions()
    p = sub.add_parser(
        "sample-data",
        help="write a synthetic correlative AFM + fluorescence dataset with its ground truth",
    )
    p.add_argument("out_dir", type=Path, help="output folder (created if needed)")
    p.add_argument("--seed", type=int, default=d.seed, help="random seed (default %(default)s)")
    p.add_argument(
        "--grid",
        type=_grid_shape,
        default=d.grid_shape,
        metavar="ROWSxCOLS",
        help="AFM grid (default 48x48)",
    )
    p.add_argument(
        "--size-um",
        type=float,
        default=d.map_size_m / M_PER_UM,
        help="side of the AFM map in µm (default %(default)g)",
    )
    p.add_argument(
        "--cells", type=int, default=d.n_cells, help="cells inside the map (default %(default)s)"
    )
    p.add_argument(
        "--cells-outside",
        type=int,
        default=d.n_cells_outside,
        help="extra cells in the fluorescence field only (default %(default)s)",
    )
    p.add_argument("--model", default=d.model, help="contact model (default %(default)s)")
    p.add_argument(
        "--tip-radius-um",
        type=float,
        default=2.5,
        help="tip radius in µm for spherical tips (default %(default)g)",
    )
    p.add_argument(
        "--half-angle-deg",
        type=float,
        default=20.0,
        help="half opening angle for conical/pyramidal tips (default %(default)g)",
    )
    p.add_argument(
        "--points",
        type=int,
        default=d.approach_points,
        help="points of a full-length approach (default %(default)s)",
    )
    p.add_argument(
        "--retract-points",
        type=int,
        default=d.retract_points,
        help="points of every retract (default %(default)s)",
    )
    p.add_argument(
        "--fluo-pixel-um",
        type=float,
        default=d.fluo_pixel_size_m / M_PER_UM,
        help="fluorescence pixel size in µm (default %(default)g)",
    )
    p.add_argument(
        "--z-planes",
        type=int,
        default=d.fluo_z_planes,
        help="fluorescence planes (default %(default)s)",
    )
    p.add_argument(
        "--noise-free", action="store_true", help="no noise, baseline artefacts or bad curves"
    )
    p.add_argument(
        "--reflect",
        action="store_true",
        help="the AFM -> fluorescence transform includes a reflection",
    )
    p.add_argument(
        "--no-marker", action="store_true", help="omit the stiffness-correlated third channel"
    )
    p.add_argument(
        "--grid-theta-deg",
        type=float,
        default=d.grid_theta_deg,
        help="grid rotation in the scanner frame, degrees (default %(default)g)",
    )
    p.add_argument(
        "--virtual-deflection-slope",
        type=float,
        default=d.virtual_deflection_slope,
        metavar="SLOPE",
        help="baseline slope common to all curves, deflection per piezo height "
        "(default %(default)g)",
    )
    p.add_argument(
        "--no-measured-height",
        action="store_true",
        help="do not record the sensor (measured) height channel",
    )
    p.set_defaults(func=_cmd_sample_data)


_UNIT_METAVARS = {"m": "M", "N": "N", "Pa": "PA", "deg": "DEG", "N/m": "N_PER_M", "m/V": "M_PER_V"}


def _flag_parser(spec):
    """argparse ``type`` for a derived flag; "none" unsets optional values."""

    def parse(text: str):
        if spec.optional and text.lower() == "none":
            return None
        try:
            return spec.type(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{spec.flag} expects {spec.type.__name__}, got {text!r}"
            ) from None

    return parse


def _add_option_flags(p: argparse.ArgumentParser, reserved: set[str]) -> list:
    """Add one flag per options field (cellmech.config.cli_flags); returns their specs."""
    from cellmech.config import cli_flags

    specs = cli_flags(reserved)
    groups = {}
    for spec in specs:
        group = groups.get(spec.section) or groups.setdefault(
            spec.section, p.add_argument_group(f"[{spec.section}] options")
        )
        names = (spec.flag, *spec.aliases)
        common = {"dest": spec.dest, "default": argparse.SUPPRESS, "help": spec.help}
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
    return specs


def _flag_levels(args: argparse.Namespace, specs: list) -> dict:
    """The option values given on the command line, as checked config sections."""
    from cellmech.config import check_section

    given: dict[str, dict] = {}
    for spec in specs:
        if hasattr(args, spec.dest):
            value = getattr(args, spec.dest)
            value = tuple(value) if spec.nargs and value is not None else value
            section = given.setdefault(spec.section, {})
            if spec.geometry:
                section.setdefault("geometry", {})[spec.key] = value
            else:
                section[spec.key] = value
    return {name: check_section(name, values, "command line") for name, values in given.items()}


def _fit_settings(args: argparse.Namespace):
    from cellmech.config import load_config, merge_settings
    from cellmech.errors import ConfigError

    levels = [load_config(args.config)] if args.config else []
    settings = merge_settings(*levels, _flag_levels(args, args.option_specs))
    if settings.run.workers is not None and "://" in settings.run.scheduler:
        raise ConfigError(
            "--workers applies to the local schedulers; a cluster at "
            f"{settings.run.scheduler} has its own workers: drop --workers"
        )
    return settings


def _cmd_fit(args: argparse.Namespace) -> int:
    import time

    from tqdm import tqdm

    from cellmech.io.registry import check_input_file
    from cellmech.outputs import run_report, write_fit_outputs
    from cellmech.parallel import MapSource, fit_force_map

    t0 = time.perf_counter()
    path = check_input_file(args.afm_file)
    settings = _fit_settings(args)
    if args.output.exists() and not args.output.is_dir():
        raise CellmechError(f"{args.output}: exists and is not a folder; give an output folder")
    read = settings.read
    source = MapSource(
        str(path.resolve()), read.reader, read.spring_constant_n_per_m, read.sensitivity_m_per_v
    )
    force_map = source.open()
    t_read = time.perf_counter()
    quiet = args.quiet or not sys.stderr.isatty()
    with tqdm(total=force_map.n_curves, unit="curve", desc=path.name, disable=quiet) as bar:
        result = fit_force_map(
            source,
            preprocess_options=settings.preprocess,
            fit_options=settings.fit,
            chunks=settings.run.chunks,
            scheduler=settings.run.scheduler,
            workers=settings.run.workers,
            progress=bar.update,
        )
    t_fit = time.perf_counter()
    timing = {"read": t_read - t0, "fit": t_fit - t_read}
    report = run_report(
        force_map, result, settings=settings.to_dict(), timing_s=timing, command=sys.argv
    )
    write_fit_outputs(args.output, force_map, result, report)
    ok = report["status_counts"]["ok"]
    if not args.quiet:
        print(
            f"{path.name}: {result.n_curves} curves fitted ({ok} ok) in "
            f"{time.perf_counter() - t0:.1f} s -> {args.output}"
        )
    return 0


def _add_fit(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "fit",
        help="fit a contact model to every curve of an AFM map; write tables, maps, run.json",
        description="Fit every force curve of AFM_FILE and write OUT/curves.csv, "
        "OUT/curves.parquet, OUT/maps.ome.tif and OUT/run.json. All values on the command "
        "line are in SI units: lengths in m (--tip-radius 10e-6 is 10 µm), forces in N, "
        "moduli in Pa; angles in degrees. Precedence: defaults < --config file < flags. "
        "`cellmech config dump` writes every option with its default.",
    )
    p.add_argument("afm_file", type=Path, help="AFM force map or curve file")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="OUT", help="output folder")
    p.add_argument("--config", type=Path, metavar="FILE.toml", help="TOML configuration file")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar, no summary")
    reserved = {"-o", "--output", "--config", "-q", "--quiet", "-h", "--help", "--debug"}
    specs = _add_option_flags(p, reserved)
    p.set_defaults(func=_cmd_fit, option_specs=specs)


def _cmd_config_dump(args: argparse.Namespace) -> int:
    from cellmech.config import dump_defaults
    from cellmech.outputs import atomic_path

    text = dump_defaults()
    if args.output is None:
        sys.stdout.write(text)
        return 0
    with atomic_path(args.output) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return 0


def _add_config(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("config", help="configuration files (TOML): dump the defaults")
    actions = p.add_subparsers(dest="config_action", metavar="ACTION", required=True)
    dump = actions.add_parser(
        "dump", help="write the default configuration, commented with help and units"
    )
    dump.add_argument(
        "-o", "--output", type=Path, default=None, metavar="FILE", help="default: standard output"
    )
    dump.set_defaults(func=_cmd_config_dump)


def _spec_dict(spec) -> dict:
    return {
        "key": spec.key,
        "unit": spec.unit,
        "default": spec.default,
        "bounds": list(spec.bounds),
        "description": spec.description,
    }


def _spec_line(spec) -> str:
    lo, hi = spec.bounds
    return (
        f"    {spec.key} [{spec.unit}]  default {spec.default:g}, bounds [{lo:g}, {hi:g}]  "
        f"{spec.description}"
    )


def _cmd_models(args: argparse.Namespace) -> int:
    import json

    from cellmech.models import POISSON_RATIO, available_models

    if args.json:
        listing = [
            {
                "key": m.KEY,
                "name": m.NAME,
                "equation": m.EQUATION,
                "reference": m.REFERENCE,
                "tip_family": m.TIP_FAMILY,
                "parameters": [_spec_dict(p) for p in m.PARAMETERS],
            }
            for m in available_models()
        ]
        print(json.dumps({"common_parameters": [_spec_dict(POISSON_RATIO)], "models": listing}))
        return 0
    print("common to every model (E, contact point and baseline are fitted):")
    print(_spec_line(POISSON_RATIO))
    for m in available_models():
        print(f"\n{m.KEY}: {m.NAME}")
        print(f"  equation      {m.EQUATION}")
        print(f"  reference     {m.REFERENCE}")
        print(f"  bottom effect {m.TIP_FAMILY} tip (see cellmech.models.finite_thickness)")
        print("  parameters")
        print("\n".join(_spec_line(p) for p in m.PARAMETERS))
    return 0


def _add_models(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "models", help="list the contact models, their equations, references and parameters"
    )
    p.add_argument("--json", action="store_true", help="machine-readable JSON output")
    p.set_defaults(func=_cmd_models)


#: sub-command declarations, in the order ``--help`` lists them
COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    _add_formats,
    _add_info,
    _add_sample_data,
    _add_fit,
    _add_config,
    _add_models,
]


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
