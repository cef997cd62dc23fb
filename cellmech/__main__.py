"""``python -m cellmech`` runs the command line."""

import sys

from cellmech.interrupts import interrupts_redelivered

try:
    with interrupts_redelivered():  # also while the command line imports
        from cellmech.cli import main

        status = main()
except KeyboardInterrupt:  # Ctrl-C while Python imports cellmech, or as main() returns
    print("cellmech: interrupted", file=sys.stderr)
    status = 130
sys.exit(status)
