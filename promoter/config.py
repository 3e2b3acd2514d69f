"""``.promoter.yml``: found, loaded and validated into one typed object.

Every key is checked at load time, expressions included, so a mistake fails at once with the
file, the key and the reason (exit 2), never halfway through a promotion.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from promoter.errors import ConfigError
from promoter.expr import ExpressionError, parse_criterion, parse_objective, parse_tie_break
from promoter.models import RunStatus

CONFIG_CANDIDATES = (".promoter.yml", ".github/promoter.yml")
_DURATION = re.compile(r"(\d+)\s*([mhdw])\Z")
_DURATION_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceConfig(_Strict):
    """Where runs come from."""

    type: Literal["guild"] = "guild"
    guild_home: str | None = None
    operation: str | list[str] | None = None

    @property
    def operations(self) -> tuple[str, ...]:
        """The operation filter as a tuple (empty: every operation)."""
        if self.operation is None:
            return ()
        return (self.operation,) if isinstance(self.operation, str) else tuple(self.operation)


class SelectConfig(_Strict):
    """How the best run is chosen and when it is promoted."""

    objective: str | None = None
    where: list[str] = Field(default_factory=list)
    min_improvement: float | str = 0.0
    tie_break: list[str] = Field(default_factory=lambda: ["newest"])
    status: list[RunStatus] = Field(default_factory=lambda: [RunStatus.COMPLETED])
    label: str | None = None
    tags: list[str] = Field(default_factory=list)
    started_after: str | datetime | None = None
    require_clean_source: bool = False

    @field_validator("objective")
    @classmethod
    def _objective(cls, value: str | None) -> str | None:
        if value is not None:
            _expression(parse_objective, value)
        return value

    @field_validator("where")
    @classmethod
    def _where(cls, value: list[str]) -> list[str]:
        for text in value:
            _expression(parse_criterion, text)
        return value

    @field_validator("tie_break")
    @classmethod
    def _tie_break(cls, value: list[str]) -> list[str]:
        for text in value:
            _expression(parse_tie_break, text)
        return value

    @field_validator("min_improvement")
    @classmethod
    def _min_improvement(cls, value: float | str) -> float | str:
        amount = value if isinstance(value, float | int) else _percent(value)
        if amount < 0:
            raise ValueError("must not be negative")
        return value

    @field_validator("started_after")
    @classmethod
    def _started_after(cls, value: str | datetime | None) -> str | datetime | None:
        if isinstance(value, str):
            resolve_started_after(value, datetime.now(UTC))
        return value


class ArtifactConfig(_Strict):
    """A generated file of the run and where it goes in the project."""

    from_: str = Field(alias="from")
    to: str
    dvc: bool = False


class MergeConfig(_Strict):
    """What the Guild-merge copies into the project."""

    sourcecode: bool = True
    dependencies: bool = False
    exclude: list[str] = Field(default_factory=list)
    flags_file: str | None = None
    artifacts: list[ArtifactConfig] = Field(default_factory=list)
    plots: list[str] = Field(default_factory=lambda: ["*.png", "*.svg"])


class DvcConfig(_Strict):
    """Where models are pushed."""

    remote: str | None = None
    push: bool = True


class PrConfig(_Strict):
    """The pull request promoter opens or updates."""

    base: str = "main"
    branch: str = "promote/{op}"
    title: str = "Promote {op} run {run_short}: {objective_name} {objective_value:.4f}"
    labels: list[str] = Field(default_factory=lambda: ["model-promotion"])
    reviewers: list[str] = Field(default_factory=list)
    assignees: list[str] = Field(default_factory=list)
    draft: bool = False
    template: str | None = None


class CommandsConfig(_Strict):
    """Slash commands on pull requests and issues."""

    prefix: str = "/promote"
    min_permission: Literal["read", "triage", "write", "maintain", "admin"] = "write"


class Config(_Strict):
    """The whole configuration; every key is optional."""

    source: SourceConfig = Field(default_factory=SourceConfig)
    select: SelectConfig = Field(default_factory=SelectConfig)
    merge: MergeConfig = Field(default_factory=MergeConfig)
    dvc: DvcConfig = Field(default_factory=DvcConfig)
    pr: PrConfig = Field(default_factory=PrConfig)
    commands: CommandsConfig = Field(default_factory=CommandsConfig)


def _expression(parse: Any, text: str) -> None:
    try:
        parse(text)
    except ExpressionError as e:
        raise ValueError(str(e)) from None


def _percent(text: str) -> float:
    m = re.fullmatch(r"\s*(-?\d+(?:\.\d+)?)\s*%\s*", text)
    if m is None:
        raise ValueError(f"{text!r} is neither a number nor a percentage like '1%'")
    return float(m.group(1)) / 100


def improvement_setting(value: float | str) -> tuple[float, bool]:
    """``0.002`` -> (0.002, absolute); ``'1%'`` -> (0.01, relative)."""
    if isinstance(value, str):
        return _percent(value), True
    return float(value), False


def resolve_started_after(value: str | datetime, now: datetime) -> datetime:
    """An ISO date/time, or a duration back from now such as ``7d``, ``12h``, ``30m``."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    m = _DURATION.match(value.strip())
    if m:
        return now - timedelta(**{_DURATION_UNITS[m.group(2)]: int(m.group(1))})
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(
            f"{value!r} is neither an ISO date (2026-01-31) nor a duration (7d, 12h, 30m)"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def find_config(project: Path, explicit: Path | None = None) -> Path | None:
    """The config file to use: ``explicit`` (must exist), else the first candidate present."""
    if explicit is not None:
        if not explicit.is_file():
            raise ConfigError(str(explicit), None, "no such file")
        return explicit
    for name in CONFIG_CANDIDATES:
        if (project / name).is_file():
            return project / name
    return None


def load_config(path: Path | None) -> Config:
    """Read and validate a config file; ``None`` gives the defaults."""
    if path is None:
        return Config()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(str(path), None, f"cannot read: {e}") from e
    except yaml.YAMLError as e:
        raise ConfigError(str(path), None, f"not valid YAML: {_yaml_problem(e)}") from e
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(str(path), None, "must be a mapping of sections (source, select, ...)")
    return parse_config(data, str(path))


def parse_config(data: dict[str, Any], origin: str) -> Config:
    """Validate already-loaded data; errors name ``origin`` and the first bad key."""
    try:
        return Config.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        raise ConfigError(origin, _key(first["loc"]), _reason(first)) from None


def _key(loc: tuple[int | str, ...]) -> str:
    key = ""
    for part in loc:
        if isinstance(part, int):
            key += f"[{part}]"
        elif part not in _UNION_TAGS and "[" not in part:
            name = "from" if part == "from_" else part
            key += f".{name}" if key else name
    return key or "(top level)"


_UNION_TAGS = frozenset({"str", "float", "int", "bool", "datetime", "list", "none"})


def _reason(error: Any) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "unknown key (check the spelling; see README 'Configuration')"
    message = str(error["msg"])
    return message.removeprefix("Value error, ")


def _yaml_problem(e: yaml.YAMLError) -> str:
    mark = getattr(e, "problem_mark", None)
    problem = getattr(e, "problem", None) or str(e)
    if mark is not None:
        return f"{problem} (line {mark.line + 1}, column {mark.column + 1})"
    return str(problem)
