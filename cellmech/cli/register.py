"""``cellmech register``: register an AFM map onto a fluorescence field."""

from __future__ import annotations

import argparse
import sys
import time

from cellmech.cli.fit import check_output_dir
from cellmech.cli.options import add_option_flags, settings_from_args
from cellmech.cli.run import add_sample_inputs

__all__ = ["add_register"]

SECTIONS = ("read", "preprocess", "fit", "image", "segment", "register", "run")
EXIT_NEEDS_REVIEW = 3


def _cmd_register(args: argparse.Namespace) -> int:
    from cellmech.io.registry import check_input_file
    from cellmech.outputs.files import manifest, write_json
    from cellmech.outputs.register import write_registration_outputs
    from cellmech.outputs.sample import sample_report
    from cellmech.outputs.transaction import output_transaction
    from cellmech.pipeline import SampleResult, locate, run_fit

    t0 = time.perf_counter()
    check_input_file(args.afm)
    check_input_file(args.fluorescence)
    settings = settings_from_args(args)
    check_output_dir(args.output)
    fitted = run_fit(args.afm, settings)
    placed = locate(fitted, args.fluorescence, settings, labels=args.labels,
                    landmarks=args.landmarks, calibration=args.calibration)  # fmt: skip
    stack, seg, image, reg = placed.stack, placed.segmentation, placed.image, placed.registration
    result = SampleResult(fitted.force_map, fitted.result, settings, stack, seg, reg)
    report = sample_report(result)
    with output_transaction(args.output) as staging:
        paths = list(
            write_registration_outputs(
                staging, reg, fitted.force_map, fitted.result, seg, image
            ).values()
        )
        report["outputs"] = [p.name for p in paths] + ["run.json"]
        report["sha256"] = manifest(paths)
        write_json(staging / "run.json", report)
    if not args.quiet:
        verdict = "accepted" if reg.accepted else f"NOT accepted: {reg.reason}"
        print(
            f"registration {reg.method}: error estimate {reg.error_estimate_m * 1e6:.2f} µm, "
            f"{verdict} ({time.perf_counter() - t0:.1f} s) -> {args.output}"
        )
    if not reg.accepted:
        print("cellmech: registration not accepted (exit 3 = needs review)", file=sys.stderr)
        return EXIT_NEEDS_REVIEW
    return 0


def add_register(sub: argparse._SubParsersAction) -> None:
    """Declare ``cellmech register``."""
    p = sub.add_parser(
        "register",
        help="register an AFM map onto a fluorescence field; write registration.json + overlay",
        description="Fit the AFM map (for its zero-force topography), segment the fluorescence "
        "stack (or take --labels) and find the AFM -> fluorescence transform. Writes "
        "OUT/registration.json (afm_px_to_fluorescence_px, afm_m_to_fluorescence_m, "
        "error_estimate_m, accepted, reason, method, checks) and OUT/registration_overlay.png. "
        "Exit 3 when the registration is not accepted.",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no summary line")
    reserved = {"-q", "--quiet", "-h", "--help", "--debug"}
    reserved |= add_sample_inputs(p, fluorescence_required=True)
    add_option_flags(p, SECTIONS, reserved)
    p.set_defaults(func=_cmd_register)
