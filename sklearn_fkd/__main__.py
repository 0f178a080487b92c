"""``python -m sklearn_fkd`` runs the command-line interface."""

import sys

from .cli import main

sys.exit(main())
