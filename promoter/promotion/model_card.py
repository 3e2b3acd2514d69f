"""The run's model card (``pr.model_card``): a file of the run, read for the record and the PR
body, where it is escaped like every other value from a run."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Final

from promoter.promotion.merge.apply import inside
from promoter.promotion.record import ModelCard

MAX_BYTES: Final = 1_048_576
MISSING: Final = "the run has no file {path}"
NOT_A_FILE: Final = "{path} in the run is a symlink or not a regular file: not read"
TOO_LARGE: Final = "{path} is {size:,} bytes, over the {limit:,} a model card may have"


def read_model_card(run_dir: Path, path: str) -> ModelCard:
    """The card at ``path`` in the run directory, or a card naming why it could not be read
    (a missing card is said in the PR, never a failure of the promotion)."""
    source = run_dir / path
    if not source.exists() and not source.is_symlink():
        return ModelCard(path=path, problem=MISSING.format(path=path))
    if source.is_symlink() or not source.is_file() or not inside(run_dir.resolve(), source):
        return ModelCard(path=path, problem=NOT_A_FILE.format(path=path))
    size = source.stat().st_size
    if size > MAX_BYTES:
        return ModelCard(
            path=path, size=size, problem=TOO_LARGE.format(path=path, size=size, limit=MAX_BYTES)
        )
    data = source.read_bytes()
    return ModelCard(
        path=path,
        text=data.decode("utf-8", errors="replace"),
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
    )
