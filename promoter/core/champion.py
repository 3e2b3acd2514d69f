"""The champion: the run the repository promotes now, kept in ``.promoter/champion.yaml``.

One schema both writes the file (from a promotion record) and reads it back (from the base
branch, or a working tree), so what the next promotion must beat is what was written.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any

import msgspec
import yaml

from promoter.config import split_validation_error
from promoter.core.models import Champion, FlagValue
from promoter.core.runids import MAX_CHARS, MIN_CHARS
from promoter.errors import ConfigError

CHAMPION_FILE = Path(".promoter") / "champion.yaml"

_RunId = Annotated[str, msgspec.Meta(pattern=f"^[0-9a-f]{{{MIN_CHARS},{MAX_CHARS}}}$")]


class ChampionObjective(msgspec.Struct, kw_only=True):
    """The objective the champion was promoted on, and its value then."""

    name: str | None = None
    direction: str | None = None
    value: float | None = None


class ChampionDocument(msgspec.Struct, kw_only=True):
    """``champion.yaml``: what the next promotion must beat, and the rollback target.

    Reading ignores keys it does not know, so a newer promoter's file stays readable.
    """

    run_id: _RunId
    op: str | None = None
    objective: ChampionObjective = msgspec.field(default_factory=ChampionObjective)
    scalars: dict[str, float | None] = msgspec.field(default_factory=dict)
    flags: dict[str, Any] = msgspec.field(default_factory=dict)
    model_md5: dict[str, str] = msgspec.field(default_factory=dict)
    record: str | None = None
    promoted_by: str | None = None
    previous: str | None = None


def champion_yaml(document: ChampionDocument) -> str:
    """The text of ``champion.yaml``, keys in schema order."""
    data = msgspec.to_builtins(document)
    text: str = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    return text


def load_champion(project: Path, file: Path = CHAMPION_FILE) -> Champion | None:
    """The champion in a project's working tree (``file`` inside it), or ``None`` when
    nothing was promoted yet."""
    path = project / file
    if not path.is_file():
        return None
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(str(file), None, f"unreadable: {e}") from e
    return parse_champion(text, str(file))


def parse_champion(text: str, origin: str) -> Champion:
    """A champion from the text of a ``champion.yaml`` (read from a file or a git ref)."""
    try:
        data = yaml.safe_load(text)
        document = msgspec.convert(data, ChampionDocument, strict=False)
    except yaml.YAMLError as e:
        raise ConfigError(origin, None, f"unreadable: {e}") from e
    except msgspec.ValidationError as e:
        key, reason = split_validation_error(str(e))
        raise ConfigError(origin, key, reason) from None
    scalars = {k: v for k, v in document.scalars.items() if v is not None and math.isfinite(v)}
    flags: dict[str, FlagValue] = dict(document.flags)
    return Champion(
        run_id=document.run_id,
        op=document.op,
        objective_name=document.objective.name,
        objective_value=document.objective.value,
        scalars=scalars,
        flags=flags,
        model_md5=dict(document.model_md5),
    )
