"""The champion: the run the repository promotes now, read from ``.promoter/champion.yaml``."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from promoter.errors import ConfigError
from promoter.models import Champion, FlagValue

CHAMPION_FILE = Path(".promoter") / "champion.yaml"


class _ObjectiveRecord(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str | None = None
    direction: str | None = None
    value: float | None = None


class _ChampionRecord(BaseModel):
    model_config = ConfigDict(extra="ignore")

    run_id: str = Field(pattern=r"^[0-9a-f]{8,32}$")
    op: str | None = None
    objective: _ObjectiveRecord = Field(default_factory=_ObjectiveRecord)
    scalars: dict[str, float | None] = Field(default_factory=dict)
    flags: dict[str, Any] = Field(default_factory=dict)


def load_champion(project: Path) -> Champion | None:
    """The champion of a project, or ``None`` when nothing has been promoted yet."""
    path = project / CHAMPION_FILE
    if not path.is_file():
        return None
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        record = _ChampionRecord.model_validate(data)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        raise ConfigError(str(CHAMPION_FILE), None, f"unreadable: {e}") from e
    except ValidationError as e:
        first = e.errors()[0]
        key = ".".join(str(p) for p in first["loc"]) or None
        raise ConfigError(str(CHAMPION_FILE), key, str(first["msg"])) from None
    scalars = {k: v for k, v in record.scalars.items() if v is not None and math.isfinite(v)}
    flags: dict[str, FlagValue] = dict(record.flags)
    return Champion(
        run_id=record.run_id,
        op=record.op,
        objective_name=record.objective.name,
        objective_value=record.objective.value,
        scalars=scalars,
        flags=flags,
    )
