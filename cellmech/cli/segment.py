"""``cellmech segment``: cell and nucleus labels of a fluorescence stack."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from cellmech.cli.fit import check_output_dir
from cellmech.cli.options import add_option_flags, settings_from_args

__all__ = ["add_segment"]

SECTIONS = ("image", "segment")


def _cmd_segment(args: argparse.Namespace) -> int:
    from cellmech.io import read_fluorescence
    from cellmech.outputs import write_segmentation_outputs
    from cellmech.outputs.transaction import output_transaction
    from cellmech.segment import load_labels, segment

    t0 = time.perf_counter()
    settings = settings_from_args(args)
    check_output_dir(args.output)
    stack = read_fluorescence(args.fluorescence, pixel_size_m=settings.image.pixel_size_m)
    if args.labels is not None:
        seg = load_labels(args.labels, stack)
    else:
        seg = segment(stack, settings.segment)
    with output_transaction(args.output) as staging:
        write_segmentation_outputs(staging, seg, stack)
        _write_run_json(staging, args, settings, time.perf_counter() - t0)
    if not args.quiet:
        n = seg.cell_ids.size
        print(
            f"{Path(args.fluorescence).name}: {n} cells ({int(seg.has_nucleus.sum())} with a "
            f"nucleus, {int(seg.touches_border.sum())} at the border), method {seg.method} "
            f"-> {args.output}"
        )
    return 0


def _write_run_json(out: Path, args: argparse.Namespace, settings, seconds: float) -> None:
    import sys

    from cellmech.outputs.files import file_sha256, manifest, write_json
    from cellmech.outputs.fit import package_versions

    files = sorted(p for p in out.iterdir() if p.is_file())
    write_json(
        out / "run.json",
        {
            "command": sys.argv,
            "input": {"path": str(args.fluorescence), "sha256": file_sha256(args.fluorescence)},
            "parameters": settings.to_dict(),
            "timing_s": {"total": seconds},
            "outputs": [p.name for p in files] + ["run.json"],
            "sha256": manifest(files),
            "versions": package_versions(),
        },
    )


def add_segment(sub: argparse._SubParsersAction) -> None:
    """Declare ``cellmech segment``."""
    p = sub.add_parser(
        "segment",
        help="segment cells and nuclei of a fluorescence stack; write labels, table, overlay",
        description="Segment the cells and nuclei of FLUO_FILE and write OUT/labels.ome.tif "
        "(channel 0 cells, channel 1 nuclei carrying their cell's id), OUT/labels.csv (one row "
        "per cell) and OUT/overlay.png. Channel roles come from dye names (DAPI/Hoechst -> "
        "nucleus; CellMask/WGA/phalloidin/actin/tubulin -> cell) unless --cell-channel / "
        "--nucleus-channel say. --labels uses a label image made elsewhere (Cellpose, "
        "StarDist, napari) instead.",
    )
    p.add_argument("fluorescence", type=Path, metavar="FLUO_FILE", help="fluorescence stack")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="OUT", help="output folder")
    p.add_argument(
        "--labels",
        type=Path,
        default=None,
        metavar="LABELS.tif",
        help="cell labels (2-D) or a cell/nucleus pair (2, Y, X) made elsewhere",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no summary line")
    reserved = {"-o", "--output", "-q", "--quiet", "-h", "--help", "--debug", "--labels"}
    add_option_flags(p, SECTIONS, reserved)
    p.set_defaults(func=_cmd_segment)
