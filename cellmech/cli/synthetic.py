"""``cellmech sample-data``: write a synthetic correlative dataset with its ground truth."""

from __future__ import annotations

import argparse
from pathlib import Path

from cellmech.units import M_PER_UM

__all__ = ["add_sample_data"]


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


def add_sample_data(sub: argparse._SubParsersAction) -> None:
    """Declare ``cellmech sample-data``."""
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
