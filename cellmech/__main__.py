"""``python -m cellmech`` runs the command line."""

import sys

from cellmech.interrupts import redeliver_lost_interrupts

# an interrupt swallowed by a finaliser while the command line imports is not lost either
sys.unraisablehook = redeliver_lost_interrupts
try:
    from cellmech.cli import main
except KeyboardInterrupt:  # Ctrl-C while Python imports cellmech: no traceback
    print("cellmech: interrupted", file=sys.stderr)
    sys.exit(130)

status = main()
sys.unraisablehook = sys.__unraisablehook__  # the command is over: nothing left to interrupt
sys.exit(status)
