"""``python -m cellmech`` runs the command line."""

import sys

from cellmech.cli import main

sys.exit(main())
