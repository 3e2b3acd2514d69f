"""``.promoter.yml``: found, loaded and validated into one typed object.

Every key is checked at load time, expressions included, so a mistake fails at once with the
file, the key and the reason (exit 2), never halfway through a promotion.

The schema is msgspec structs: types, enums and unknown keys are checked by msgspec in C
(pydantic measured ~0.2 s of import and model building, a third of a ``select`` on 2,000
runs); the expressions are then parsed by :func:`check_semantics`.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, get_args, get_origin, get_type_hints

import msgspec
import yaml

from promoter.core.expr import ExpressionError, parse_criterion, parse_objective, parse_tie_break
from promoter.core.models import RunStatus
from promoter.errors import ConfigError

CONFIG_CANDIDATES = (".promoter.yml", ".github/promoter.yml")
_DURATION = re.compile(r"(\d+)\s*([mhdw])\Z")
_DURATION_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_PERCENT = re.compile(r"\s*(\d+(?:\.\d+)?)\s*%\s*\Z")


class _Strict(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    pass


class RemoteConfig(_Strict, frozen=True):
    """A Guild remote given inline: the S3 layout ``guild push`` writes."""

    type: Literal["s3"]
    bucket: str
    root: str = ""
    region: str | None = None
    endpoint_url: str | None = None


class SourceConfig(_Strict, frozen=True):
    """Where runs come from."""

    type: Literal["guild", "mlflow"] = "guild"
    guild_home: str | None = None
    remote: str | RemoteConfig | None = None
    operation: str | list[str] | None = None
    tracking_uri: str | None = None
    """MLflow: a server's URL or a local store (``mlruns/``, ``sqlite:``); else
    ``$MLFLOW_TRACKING_URI``, else the project's ``mlruns/``."""
    experiment: str | list[str] | None = None
    """MLflow: the experiment(s) whose runs are candidates; else ``$MLFLOW_EXPERIMENT_NAME``,
    else ``Default``."""

    @property
    def experiments(self) -> tuple[str, ...]:
        """The experiment names as a tuple (empty: not configured)."""
        if self.experiment is None:
            return ()
        return (self.experiment,) if isinstance(self.experiment, str) else tuple(self.experiment)

    @property
    def operations(self) -> tuple[str, ...]:
        """The operation filter as a tuple (empty: every operation)."""
        if self.operation is None:
            return ()
        return (self.operation,) if isinstance(self.operation, str) else tuple(self.operation)


class SelectConfig(_Strict, frozen=True):
    """How the best run is chosen and when it is promoted."""

    objective: str | None = None
    where: list[str] = msgspec.field(default_factory=list)
    min_improvement: float | str = 0.0
    tie_break: list[str] = msgspec.field(default_factory=lambda: ["newest"])
    status: list[RunStatus] = msgspec.field(default_factory=lambda: [RunStatus.COMPLETED])
    label: str | None = None
    tags: list[str] = msgspec.field(default_factory=list)
    started_after: str | None = None
    require_clean_source: bool = False


class ArtifactConfig(_Strict, frozen=True, rename={"from_": "from"}):
    """A generated file of the run and where it goes in the project."""

    from_: str
    to: str
    dvc: bool = False


class MergeConfig(_Strict, frozen=True):
    """What the Guild-merge copies into the project."""

    sourcecode: bool = True
    dependencies: bool = False
    exclude: list[str] = msgspec.field(default_factory=list)
    allow: list[str] = msgspec.field(default_factory=list)
    """Automation paths (CI, git attributes, CODEOWNERS, ...) a run may change: globs."""
    on_conflict: Literal["stop", "run"] = "stop"
    """A file the run and the base both changed: stop (decision conflict), or take the run's."""
    flags_file: str | None = None
    artifacts: list[ArtifactConfig] = msgspec.field(default_factory=list)
    plots: list[str] = msgspec.field(default_factory=lambda: ["*.png", "*.svg"])


class DvcConfig(_Strict, frozen=True):
    """Where models are pushed."""

    remote: str | None = None
    push: bool = True


class PrConfig(_Strict, frozen=True):
    """The pull request promoter opens or updates."""

    base: str = "main"
    branch: str | None = None
    """``promote/{op}`` by default; ``promote/{track}`` for a track of ``tracks:``."""
    title: str = "Promote {op} run {run_short}: {objective_name} {objective_value:.4f}"
    labels: list[str] = msgspec.field(default_factory=lambda: ["model-promotion"])
    reviewers: list[str] = msgspec.field(default_factory=list)
    assignees: list[str] = msgspec.field(default_factory=list)
    draft: bool = False
    template: str | None = None
    fail_on_refusal: bool = True
    """A promotion that needs a human (refused, conflict) fails the CI job after saying why."""
    model_card: str | None = None
    """A file of the run (e.g. ``MODEL_CARD.md``) shown in its own section of the PR body."""
    candidates: int = 10
    """How many other candidates the PR body lists, each with why it lost (0: none)."""


class CommandsConfig(_Strict, frozen=True):
    """Slash commands on pull requests and issues."""

    prefix: str = "/promote"
    min_permission: Literal["read", "triage", "write", "maintain", "admin"] = "write"
    on_issues: bool = False
    """Take commands on plain issues too (by default only in pull request conversations)."""


class RegistryConfig(_Strict, frozen=True):
    """Registration of a merged champion as a GTO-readable tag ``<track>@v<semver>``."""

    bump: Literal["major", "minor", "patch"] = "minor"
    """Which part of the version each registration bumps (the first is this bump of 0.0.0)."""


class TrackConfig(_Strict, frozen=True):
    """One model of a repository with several: its name, and the keys of ``source``,
    ``select``, ``merge`` and ``pr`` it sets over the file's own (validated per track)."""

    name: str
    source: dict[str, Any] = msgspec.field(default_factory=dict)
    select: dict[str, Any] = msgspec.field(default_factory=dict)
    merge: dict[str, Any] = msgspec.field(default_factory=dict)
    pr: dict[str, Any] = msgspec.field(default_factory=dict)


class Config(_Strict, frozen=True):
    """The whole configuration; every key is optional."""

    source: SourceConfig = msgspec.field(default_factory=SourceConfig)
    select: SelectConfig = msgspec.field(default_factory=SelectConfig)
    merge: MergeConfig = msgspec.field(default_factory=MergeConfig)
    dvc: DvcConfig = msgspec.field(default_factory=DvcConfig)
    pr: PrConfig = msgspec.field(default_factory=PrConfig)
    commands: CommandsConfig = msgspec.field(default_factory=CommandsConfig)
    registry: RegistryConfig = msgspec.field(default_factory=RegistryConfig)
    tracks: list[TrackConfig] = msgspec.field(default_factory=list)


def improvement_setting(value: float | str) -> tuple[float, bool]:
    """``0.002`` -> (0.002, absolute); ``'1%'`` -> (0.01, relative)."""
    if isinstance(value, str):
        m = _PERCENT.match(value)
        if m is None:
            raise ValueError(f"{value!r} is neither a number nor a percentage like '1%'")
        return float(m.group(1)) / 100, True
    if value < 0:
        raise ValueError("must not be negative")
    return float(value), False


def resolve_started_after(value: str, now: datetime) -> datetime:
    """An ISO date/time, or a duration back from now such as ``7d``, ``12h``, ``30m``."""
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


_BUCKET = re.compile(r"[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]\Z")


def check_remote(source: SourceConfig) -> None:
    """``source.remote``: a remote name, or an inline S3 remote with a valid bucket name."""
    remote = source.remote
    if remote is None:
        return
    if source.guild_home is not None:
        raise ValueError("set source.guild_home or source.remote, not both")
    if isinstance(remote, str):
        if not remote.strip():
            raise ValueError("the name of a remote in Guild's user config, not empty text")
        return
    if not _BUCKET.match(remote.bucket):
        raise ValueError(f"bucket {remote.bucket!r} is not an S3 bucket name")
    if remote.endpoint_url is not None and not remote.endpoint_url.startswith(
        ("http://", "https://")
    ):
        raise ValueError(f"endpoint_url {remote.endpoint_url!r} is not an http:// or https:// URL")


PR_TEMPLATE_FIELDS = ("op", "track", "run_id", "run_short", "objective_name", "objective_value")


def check_template_fields(template: str) -> None:
    """Only plain named fields from PR_TEMPLATE_FIELDS (no attribute or index access)."""
    import string

    try:
        fields = [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
    except ValueError as e:
        raise ValueError(f"{template!r}: {e}") from None
    for name in fields:
        if name not in PR_TEMPLATE_FIELDS:
            allowed = ", ".join("{" + f + "}" for f in PR_TEMPLATE_FIELDS)
            raise ValueError(f"unknown field {{{name}}} (allowed: {allowed})")


def check_semantics(config: Config, origin: str) -> None:
    """Parse every expression and value that the schema cannot check by type alone."""
    sel = config.select
    checks: list[tuple[str, Callable[[Any], object], Any]] = []
    if sel.objective is not None:
        checks.append(("select.objective", parse_objective, sel.objective))
    checks += [(f"select.where[{i}]", parse_criterion, w) for i, w in enumerate(sel.where)]
    checks += [(f"select.tie_break[{i}]", parse_tie_break, t) for i, t in enumerate(sel.tie_break)]
    checks.append(("select.min_improvement", improvement_setting, sel.min_improvement))
    if sel.started_after is not None:
        checks.append(
            (
                "select.started_after",
                lambda v: resolve_started_after(v, datetime.now(UTC)),
                sel.started_after,
            )
        )
    checks += _source_checks(config.source)
    checks.append(("source.remote", check_remote, config.source))
    if config.pr.branch is not None:
        checks.append(("pr.branch", check_template_fields, config.pr.branch))
    checks.append(("pr.title", check_template_fields, config.pr.title))
    if config.pr.candidates < 0:
        raise ConfigError(origin, "pr.candidates", "must not be negative")
    if config.pr.model_card is not None:
        checks.append(("pr.model_card", _run_relative_path, config.pr.model_card))
    for key, check, value in checks:
        try:
            check(value)
        except (ExpressionError, ValueError) as e:
            raise ConfigError(origin, key, str(e)) from None


_SOURCE_KEYS = {"guild": ("guild_home", "remote"), "mlflow": ("tracking_uri", "experiment")}


def _source_checks(source: SourceConfig) -> list[tuple[str, Callable[[Any], object], Any]]:
    """Keys of one store's kind given for another (``tracking_uri`` with ``type: guild``)."""
    checks: list[tuple[str, Callable[[Any], object], Any]] = []
    for kind, keys in _SOURCE_KEYS.items():
        for key in keys:
            if kind != source.type and getattr(source, key) is not None:
                reason = f"only for type: {kind} (source.type is {source.type})"
                checks.append((f"source.{key}", _fail(reason), None))
    if source.type == "mlflow" and source.experiment is not None and not source.experiments:
        checks.append(("source.experiment", _fail("name at least one experiment"), None))
    return checks


def _fail(reason: str) -> Callable[[Any], object]:
    def fail(_: Any) -> object:
        raise ValueError(reason)

    return fail


def _run_relative_path(value: str) -> None:
    """A path inside a run directory: relative, no ``..``."""
    parts = Path(value).parts
    if not value.strip() or Path(value).is_absolute() or ".." in parts or value.startswith("~"):
        raise ValueError(f"{value!r} is not a relative path inside the run directory")


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
        config = msgspec.convert(_dates_as_text(data), Config, strict=True)
    except msgspec.ValidationError as e:
        key, reason = split_validation_error(str(e), Config)
        raise ConfigError(origin, key, reason) from None
    check_semantics(config, origin)
    if config.tracks:
        from promoter.tracks import check_tracks

        check_tracks(config, origin)
    return config


def _dates_as_text(value: Any) -> Any:
    """YAML reads ``2026-11-01`` as a date; the schema takes dates as ISO text."""
    if isinstance(value, dict):
        return {k: _dates_as_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_dates_as_text(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    return value


_AT = re.compile(r"(?P<reason>.*) - at `\$(?P<path>[^`]*)`\Z", re.DOTALL)
_UNKNOWN = re.compile(r"Object contains unknown field `(?P<field>[^`]+)`")
_MISSING = re.compile(r"Object missing required field `(?P<field>[^`]+)`")


def split_validation_error(message: str, schema: type | None = None) -> tuple[str | None, str]:
    """msgspec's ``reason - at `$.a.b[0]``` to (``a.b[0]``, a reason a person can act on)."""
    m = _AT.match(message)
    path, reason = (m.group("path").lstrip("."), m.group("reason")) if m else ("", message)
    unknown, missing = _UNKNOWN.match(reason), _MISSING.match(reason)
    expected = _EXPECTED.match(reason)
    if unknown:
        path = f"{path}.{unknown.group('field')}" if path else unknown.group("field")
        reason = "unknown key (check the spelling; see README 'Configuration')"
    elif missing:
        path = f"{path}.{missing.group('field')}" if path else missing.group("field")
        reason = "required key is missing"
    elif reason.startswith("Invalid enum value"):
        allowed = _allowed_values(schema, path) if schema else ()
        if allowed:
            reason = f"{reason[len('Invalid enum value ') :]} is not one of: {', '.join(allowed)}"
    elif expected:
        want = " or ".join(_TYPE_WORDS.get(t.strip("`"), t) for t in expected["want"].split(" | "))
        reason = f"expected {want}, got {_TYPE_WORDS.get(expected['got'], expected['got'])}"
    return path or None, reason


_EXPECTED = re.compile(r"Expected `(?P<want>[^`]+)`, got `(?P<got>[^`]+)`")
_TYPE_WORDS = {
    "array": "a list",
    "object": "a mapping",
    "str": "text",
    "bool": "true or false",
    "int": "an integer",
    "float": "a number",
    "null": "nothing",
}


def _allowed_values(schema: type, path: str) -> tuple[str, ...]:
    """The allowed values of the enum or Literal at ``path`` in a struct type, if any."""
    hint: Any = schema
    for part in re.findall(r"[^.\[\]]+", path):
        if part.isdigit():
            hint = next(iter(get_args(hint)), hint)
            continue
        structs = (h for h in (hint, *get_args(hint)) if _is_struct(h))
        hint = next(structs, hint)
        if not isinstance(hint, type) or not issubclass(hint, msgspec.Struct):
            return ()
        hint = get_type_hints(hint).get(part)
    candidates = (hint, *get_args(hint))
    for candidate in candidates:
        if isinstance(candidate, type) and issubclass(candidate, enum.Enum):
            return tuple(str(e.value) for e in candidate)
        if get_origin(candidate) is Literal:
            return tuple(str(a) for a in get_args(candidate))
    return ()


def _is_struct(hint: Any) -> bool:
    return isinstance(hint, type) and issubclass(hint, msgspec.Struct)


def _yaml_problem(e: yaml.YAMLError) -> str:
    mark = getattr(e, "problem_mark", None)
    problem = getattr(e, "problem", None) or str(e)
    if mark is not None:
        return f"{problem} (line {mark.line + 1}, column {mark.column + 1})"
    return str(problem)
