"""The champion: the run the repository promotes now, read from ``.promoter/champion.yaml``."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any

import msgspec
import yaml

from promoter.config import split_validation_error
from promoter.core.models import Champion, FlagValue
from promoter.errors import ConfigError

CHAMPION_FILE = Path(".promoter") / "champion.yaml"


_RunId = Annotated[str, msgspec.Meta(pattern=r"^[0-9a-f]{8,32}$")]


class _ObjectiveRecord(msgspec.Struct, kw_only=True):
    name: str | None = None
    direction: str | None = None
    value: float | None = None


class _ChampionRecord(msgspec.Struct, kw_only=True):
    """The fields promoter reads back; a record may hold more (they are ignored here)."""

    run_id: _RunId
    op: str | None = None
    objective: _ObjectiveRecord = msgspec.field(default_factory=_ObjectiveRecord)
    scalars: dict[str, float | None] = msgspec.field(default_factory=dict)
    flags: dict[str, Any] = msgspec.field(default_factory=dict)
    model_md5: dict[str, str] = msgspec.field(default_factory=dict)


def load_champion(project: Path) -> Champion | None:
    """The champion of a project's working tree, or ``None`` when nothing was promoted yet."""
    path = project / CHAMPION_FILE
    if not path.is_file():
        return None
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(str(CHAMPION_FILE), None, f"unreadable: {e}") from e
    return parse_champion(text, str(CHAMPION_FILE))


def parse_champion(text: str, origin: str) -> Champion:
    """A champion from the text of a ``champion.yaml`` (read from a file or a git ref)."""
    try:
        data = yaml.safe_load(text)
        record = msgspec.convert(data, _ChampionRecord, strict=False)
    except yaml.YAMLError as e:
        raise ConfigError(origin, None, f"unreadable: {e}") from e
    except msgspec.ValidationError as e:
        key, reason = split_validation_error(str(e))
        raise ConfigError(origin, key, reason) from None
    scalars = {k: v for k, v in record.scalars.items() if v is not None and math.isfinite(v)}
    flags: dict[str, FlagValue] = dict(record.flags)
    return Champion(
        run_id=record.run_id,
        op=record.op,
        objective_name=record.objective.name,
        objective_value=record.objective.value,
        scalars=scalars,
        flags=flags,
        model_md5=dict(record.model_md5),
    )
