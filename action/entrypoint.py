"""The container's entrypoint: ``promoter event`` with the runner's environment."""

from __future__ import annotations

import sys

from promoter.cli import main

if __name__ == "__main__":
    sys.exit(main(["event", *sys.argv[1:]]))
