"""``cellmech formats``, ``cellmech info`` and ``cellmech models``: what cellmech reads, what a
file holds, which contact models exist."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from cellmech.units import M_PER_UM

__all__ = ["add_formats", "add_info", "add_models"]


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


def add_formats(sub: argparse._SubParsersAction) -> None:
    """Declare ``cellmech formats``."""
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
    return lines + _describe_segments(fm.metadata.get("segments", ()))


def _describe_segments(layouts) -> list[str]:
    """Lines listing each distinct segment layout of a map (the readers' ``SegmentInfo``
    tuples, one per curve): how many curves share it and, for the first of them, every
    segment's style, type, points, duration and whether it is read as approach or retract."""
    groups: dict[tuple, list[int]] = {}
    for c, layout in enumerate(layouts):
        groups.setdefault(tuple(i.style for i in layout), []).append(c)
    lines = []
    for styles, curves in groups.items():
        what = ", ".join(styles) if styles else "unreadable"
        lines.append(f"segments           {what}: {len(curves)} curve(s), first curve {curves[0]}")
        for info in layouts[curves[0]]:
            role = f" -> {info.role}" if info.role else " (not fitted)"
            lines.append(
                f"  segment {info.index:<9d}{info.style or '?'} ({info.settings_type or '?'}), "
                f"{info.n_points} points, {info.duration_s:g} s{role}"
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
    from cellmech.io import identify, read_fluorescence, read_force_map

    path = args.path
    if identify(path) == "afm":
        lines = _describe_force_map(
            read_force_map(path, spring_constant_n_per_m=args.spring_constant)
        )
    else:
        lines = _describe_stack(read_fluorescence(path, pixel_size_m=args.pixel_size))
    print(f"file               {path}")
    print("\n".join(lines))
    return 0


def add_info(sub: argparse._SubParsersAction) -> None:
    """Declare ``cellmech info``."""
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


def add_models(sub: argparse._SubParsersAction) -> None:
    """Declare ``cellmech models``."""
    p = sub.add_parser(
        "models", help="list the contact models, their equations, references and parameters"
    )
    p.add_argument("--json", action="store_true", help="machine-readable JSON output")
    p.set_defaults(func=_cmd_models)
