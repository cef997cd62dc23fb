"""``python -m cellmech`` runs the command line."""

import sys

try:
    from cellmech.cli import main
except KeyboardInterrupt:  # Ctrl-C while Python imports cellmech: no traceback
    print("cellmech: interrupted", file=sys.stderr)
    sys.exit(130)

sys.exit(main())
