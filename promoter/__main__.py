"""``python -m promoter``."""

import sys

from promoter.cli import main

sys.exit(main())
