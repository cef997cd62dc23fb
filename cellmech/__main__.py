"""``python -m cellmech`` runs the command line."""

import sys

from cellmech.interrupts import interrupts_redelivered

status = 130
try:
    with interrupts_redelivered():  # also while the command line imports
        from cellmech.cli import main

        status = main()
except KeyboardInterrupt:  # Ctrl-C while Python imports cellmech: no traceback
    print("cellmech: interrupted", file=sys.stderr)
    status = 130
sys.exit(status)
