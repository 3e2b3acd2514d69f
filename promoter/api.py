"""The operations behind the CLI and the CI entrypoint: settings in, typed results out."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from promoter.config import (
    Config,
    find_config,
    improvement_setting,
    load_config,
    resolve_started_after,
)
from promoter.core.champion import load_champion
from promoter.core.expr import (
    ExpressionError,
    parse_criterion,
    parse_objective,
    parse_tie_break,
)
from promoter.core.models import Champion, Run
from promoter.core.selection import Filters, Policy, Selection, op_matches, select
from promoter.errors import ConfigError, UsageError
from promoter.runs.base import Progress, RunListing

if TYPE_CHECKING:
    from promoter.forges.github import GitHubForge
    from promoter.promotion.merge.run import MergeOutcome
    from promoter.promotion.record import TriggerInfo
    from promoter.runs.guild.store import GuildRunStore


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything a command needs, resolved once from flags, config file and environment."""

    project: Path
    config: Config
    config_path: Path | None
    guild_home: Path
    guild_home_origin: str
    cache_dir: Path | None = None


def resolve_settings(
    project: Path | None = None,
    config_path: Path | None = None,
    guild_home: Path | None = None,
    env: Mapping[str, str] | None = None,
    use_cache: bool = True,
) -> Settings:
    """Resolve the project, its config, GUILD_HOME (flag, config, $GUILD_HOME, ~/.guild) and
    the run cache ($PROMOTER_CACHE_DIR, else $XDG_CACHE_HOME/promoter, else ~/.cache/promoter).
    """
    env = os.environ if env is None else env
    root = (project or Path.cwd()).resolve()
    if not root.is_dir():
        raise UsageError(f"project directory {root} does not exist")
    path = find_config(root, config_path)
    config = load_config(path)
    home, origin = _guild_home(root, config, guild_home, env)
    cache = _cache_dir(env) if use_cache and env.get("PROMOTER_NO_CACHE") != "1" else None
    return Settings(root, config, path, home, origin, cache)


def _cache_dir(env: Mapping[str, str]) -> Path:
    if env.get("PROMOTER_CACHE_DIR"):
        return Path(env["PROMOTER_CACHE_DIR"]).expanduser()
    if env.get("XDG_CACHE_HOME"):
        return Path(env["XDG_CACHE_HOME"]).expanduser() / "promoter"
    return Path.home() / ".cache" / "promoter"


def _guild_home(
    project: Path, config: Config, flag: Path | None, env: Mapping[str, str]
) -> tuple[Path, str]:
    if flag is not None:
        return flag.expanduser().resolve(), "--guild-home"
    if config.source.guild_home:
        return (project / Path(config.source.guild_home).expanduser()).resolve(), (
            "source.guild_home"
        )
    if env.get("GUILD_HOME"):
        return Path(env["GUILD_HOME"]).expanduser().resolve(), "$GUILD_HOME"
    return Path.home() / ".guild", "the default ~/.guild"


def open_store(settings: Settings) -> GuildRunStore:
    """The run store the settings point at."""
    from promoter.runs.guild.store import GuildRunStore

    return GuildRunStore(settings.guild_home, settings.cache_dir)


def list_runs(settings: Settings, progress: Progress | None = None) -> RunListing:
    """Every readable run of the configured GUILD_HOME, newest first."""
    try:
        return open_store(settings).list_runs(progress)
    except UsageError as e:
        raise UsageError(f"{e} (from {settings.guild_home_origin})") from None


def build_policy(config: Config, now: datetime, objective: str | None = None) -> Policy:
    """Turn the validated ``select`` and ``source`` sections into a selection policy."""
    sel = config.select
    text = objective or sel.objective
    if not text:
        raise UsageError(
            "no objective: set select.objective in .promoter.yml (e.g. 'max val_acc') "
            "or pass --objective"
        )
    try:
        parsed = parse_objective(text)
    except ExpressionError as e:
        raise UsageError(f"--objective: {e}") from None
    amount, relative = improvement_setting(sel.min_improvement)
    started_after = (
        resolve_started_after(sel.started_after, now) if sel.started_after is not None else None
    )
    filters = Filters(
        operations=config.source.operations,
        statuses=tuple(sel.status),
        label=sel.label,
        tags=tuple(sel.tags),
        started_after=started_after,
        require_clean_source=sel.require_clean_source,
    )
    return Policy(
        objective=parsed,
        criteria=tuple(parse_criterion(c) for c in sel.where),
        min_improvement=amount,
        relative_improvement=relative,
        tie_breaks=tuple(parse_tie_break(t) for t in sel.tie_break),
        filters=filters,
    )


def check_scalar_names(policy: Policy, runs: Iterable[Run], origin: str) -> None:
    """Fail when the policy names a scalar that no run of the selected operations has."""
    operations = policy.filters.operations
    candidates = [r for r in runs if not operations or op_matches(r.op, operations)]
    wanted = [] if policy.objective.newest else [("select.objective", policy.objective.scalar.name)]
    wanted += [
        (f"select.where[{i}]", ref.name)
        for i, c in enumerate(policy.criteria)
        for ref in c.scalars()
    ]
    wanted += [
        (f"select.tie_break[{i}]", t.objective.scalar.name)
        for i, t in enumerate(policy.tie_breaks)
        if t.objective is not None
    ]
    for key, name in wanted:
        if any(run.scalar(name) is not None for run in candidates):
            continue
        known = sorted(
            {s.display_name for run in candidates for s in run.scalars.values() if not s.system}
        )
        reason = f"no run has a scalar {name!r}; runs have: {', '.join(known) or 'no scalars'}"
        if origin.startswith("--"):
            raise UsageError(f"{origin}: {reason}")
        raise ConfigError(origin, key, reason)


def chosen_scalars(config: Config) -> list[str]:
    """The scalars the config names (objective, then criteria), as columns for listings."""
    names: list[str] = []
    if config.select.objective:
        objective = parse_objective(config.select.objective)
        if not objective.newest:  # a start time, not a scalar
            names.append(str(objective.scalar))
    for text in config.select.where:
        names.extend(str(ref) for ref in parse_criterion(text).scalars())
    return list(dict.fromkeys(names))


def resolve_run_id(runs: Iterable[Run], text: str) -> str:
    """A full run id from a unique prefix of it, as Guild accepts."""
    wanted = text.strip().lower()
    if not wanted or any(c not in "0123456789abcdef" for c in wanted) or len(wanted) > 32:
        raise UsageError(f"{text!r} is not a run id (hexadecimal, up to 32 characters)")
    matches = [r.id for r in runs if r.id.startswith(wanted)]
    if not matches:
        raise UsageError(f"no run {text!r} in this GUILD_HOME")
    if len(matches) > 1:
        shown = ", ".join(m[:12] for m in matches[:5])
        raise UsageError(f"run {text!r} is ambiguous: it matches {shown}")
    return matches[0]


def select_best(
    settings: Settings,
    run: str | None = None,
    objective: str | None = None,
    progress: Progress | None = None,
    now: datetime | None = None,
    champion: Callable[[], Champion | None] | None = None,
) -> tuple[Selection, RunListing]:
    """Read the runs and the champion (default: the working tree's), then rank and decide."""
    policy = build_policy(settings.config, now or datetime.now(UTC), objective)
    listing = list_runs(settings, progress)
    origin = "--objective" if objective else str(settings.config_path or ".promoter.yml")
    check_scalar_names(policy, listing.runs, origin)
    only = resolve_run_id(listing.runs, run) if run else None
    current = champion() if champion is not None else load_champion(settings.project)
    return select(listing.runs, policy, current, only=only), listing


def find_run(settings: Settings, run_id: str) -> tuple[Run, Path]:
    """A run by id or unique prefix, and its directory."""
    listing = list_runs(settings)
    full = resolve_run_id(listing.runs, run_id)
    run = next(r for r in listing.runs if r.id == full)
    return run, open_store(settings).runs_dir / run.id


def merge(
    settings: Settings, run_id: str, preview: bool = False, replace_changed: bool = False
) -> MergeOutcome:
    """The Guild-merge of one run into the project (``promoter merge``)."""
    from promoter.promotion.merge.run import merge_run

    run, run_dir = find_run(settings, run_id)
    files = open_store(settings).run_files(run)
    return merge_run(
        settings.project,
        run,
        run_dir,
        files,
        settings.config.merge,
        preview=preview,
        replace_changed=replace_changed,
    )


def default_forge_dir(settings: Settings) -> Path:
    """Where the local forge keeps its PRs: beside the repository's git data."""
    from promoter.tools.git import Git

    return Git(settings.project).git_common_dir() / "promoter" / "pulls"


def cli_trigger() -> TriggerInfo:
    """A promotion started by hand: who (the OS user) and when."""
    import getpass

    from promoter.promotion.record import TriggerInfo

    try:
        actor: str | None = getpass.getuser()
    except (KeyError, OSError):
        actor = None
    return TriggerInfo(
        event="cli", actor=actor, time=datetime.now(UTC).isoformat(timespec="seconds")
    )


def github_forge_from_env(env: Mapping[str, str]) -> GitHubForge:
    """``promote --forge github`` outside Actions: repository and token from the environment."""
    from promoter.forges.github import GitHubForge, GitHubSettings

    repository, token = env.get("GITHUB_REPOSITORY"), env.get("GITHUB_TOKEN")
    if not repository or not token:
        raise UsageError("--forge github needs GITHUB_REPOSITORY (owner/name) and GITHUB_TOKEN")
    return GitHubForge(
        GitHubSettings(
            repository=repository,
            token=token,
            api_url=env.get("GITHUB_API_URL") or "https://api.github.com",
            server_url=env.get("GITHUB_SERVER_URL") or "https://github.com",
        ).paced(env)
    )
