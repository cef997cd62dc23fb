"""The ``cellmech`` command line: one module per command family, each thin (parse, call the
pipeline, print).

Every command module exposes ``add_<name>(subparsers)`` declaring its arguments and setting
``func``, which does the work and returns an exit code. Exit codes, the same for every command:
0 done; 2 bad input or usage; 3 done but needs review (e.g. a registration that was not
accepted); 4 a batch finished with some samples failed; 130 interrupted; 1 a bug. Errors
derived from :class:`~cellmech.errors.CellmechError` print one line (``--debug`` shows the
traceback instead).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from cellmech import __version__
from cellmech.cli.batch import add_batch
from cellmech.cli.config import add_config
from cellmech.cli.fit import add_fit
from cellmech.cli.inspect import add_formats, add_info, add_models
from cellmech.cli.options import materialise_flags
from cellmech.cli.register import add_register
from cellmech.cli.run import add_demo, add_run
from cellmech.cli.segment import add_segment
from cellmech.cli.synthetic import add_sample_data
from cellmech.errors import CellmechError
from cellmech.interrupts import sigterm_interrupts
from cellmech.runtime import keep_freed_memory

__all__ = ["EXIT_BAD_INPUT", "EXIT_NEEDS_REVIEW", "EXIT_OK", "EXIT_SOME_FAILED", "main"]

EXIT_OK = 0
EXIT_BUG = 1
EXIT_BAD_INPUT = 2
EXIT_NEEDS_REVIEW = 3
EXIT_SOME_FAILED = 4
EXIT_INTERRUPTED = 130

#: sub-command declarations, in the order ``--help`` lists them
COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    add_formats,
    add_info,
    add_sample_data,
    add_fit,
    add_segment,
    add_register,
    add_run,
    add_demo,
    add_batch,
    add_config,
    add_models,
]


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line (exit 2), like every other error."""

    def error(self, message: str) -> None:  # type: ignore[override]
        message = " ".join(message.split())
        self.exit(2, f"cellmech: error: {message}; see `{self.prog} --help`\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every sub-command."""
    parser = _Parser(
        prog="cellmech",
        description="Correlative AFM + fluorescence analysis of cell mechanics. "
        "Numbers on the command line are SI (m, N, Pa, s); lengths, forces and moduli also "
        "take a unit suffix (5um, 20nm, 4kPa).",
    )
    parser.add_argument("--version", action="version", version=f"cellmech {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for add in COMMANDS:
        add(sub)
    parser.set_defaults(commands=sub.choices)
    return parser


def _command(parser: argparse.ArgumentParser, argv: Sequence[str]) -> argparse.ArgumentParser:
    """The sub-command parser named in ``argv`` (the first word that is not a top-level
    option), or the top-level parser."""
    commands = parser.get_default("commands")
    word = next((a for a in argv if not a.startswith("-")), None)
    return commands.get(word, parser)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    keep_freed_memory()
    try:
        with sigterm_interrupts():
            return _main(argv)
    except KeyboardInterrupt:  # one delivered as the command ended, after _main's handler
        print("cellmech: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _main(argv: Sequence[str] | None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in argv
    try:  # an interrupt while the parser imports the stages is an interrupt too
        parser = build_parser()
        materialise_flags(_command(parser, argv))  # only the command being run imports its stages
        args = parser.parse_args(argv)
        return int(args.func(args) or 0)
    except CellmechError as exc:
        if debug:
            raise
        message = " ".join(str(exc).split())  # one line, whatever a library put in it
        print(f"cellmech: error: {message}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as exc:  # a file system refusal on an input or output path
        if debug:
            raise
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"cellmech: error: {where}{exc.strerror or exc}; check the path", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("cellmech: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
