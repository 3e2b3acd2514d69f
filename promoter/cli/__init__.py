"""The ``promoter`` command line: parses flags into settings, calls the pipeline, prints
results. No logic lives here."""

from __future__ import annotations

import functools
import logging
import os
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from promoter import __version__
from promoter.errors import PromoterError
from promoter.runs.base import Progress, RunListing, RunStore
from promoter.settings import Settings, resolve_settings

if TYPE_CHECKING:
    from promoter.forges.base import Forge
    from promoter.forges.registry import ForgeName
    from promoter.promotion.record import TriggerInfo

log = logging.getLogger("promoter")

BUG_EXIT = 3


def _with_settings(f: Callable[..., None]) -> Callable[..., None]:
    """Add the options every command shares and hand the command resolved ``settings``."""

    @functools.wraps(f)
    def wrapper(
        project: Path | None,
        config_path: Path | None,
        guild_home: Path | None,
        no_cache: bool,
        track: str | None,
        **kwargs: Any,
    ) -> None:
        options = {"guild_home": str(guild_home)} if guild_home else {}
        settings = resolve_settings(
            project, config_path, options, use_cache=not no_cache, track=track
        )
        log.debug("config: %s", settings.config_path or "(defaults: no config file)")
        f(settings=settings, **kwargs)

    options = [
        click.option(
            "--project",
            type=click.Path(path_type=Path, file_okay=False),
            help="Project directory (default: the current directory).",
        ),
        click.option(
            "--config",
            "config_path",
            type=click.Path(path_type=Path, dir_okay=False),
            help="Config file (default: .promoter.yml, then .github/promoter.yml).",
        ),
        click.option(
            "--guild-home",
            type=click.Path(path_type=Path, file_okay=False),
            help="Guild home (default: source.guild_home, then $GUILD_HOME, then ~/.guild).",
        ),
        click.option(
            "--no-cache", is_flag=True, help="Read every run afresh (also: PROMOTER_NO_CACHE=1)."
        ),
        click.option(
            "--track", metavar="NAME", help="Only this track of the config's tracks: (models)."
        ),
    ]
    decorated: Callable[..., None] = wrapper
    for option in reversed(options):
        decorated = option(decorated)
    return decorated


def _forge_options(purpose: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """``--forge`` and ``--forge-dir``, the same for every command that talks to a forge."""

    def decorate(f: Callable[..., None]) -> Callable[..., None]:
        f = click.option(
            "--forge-dir",
            type=click.Path(path_type=Path, file_okay=False),
            envvar="PROMOTER_FORGE_DIR",
            help="The local forge's directory (default: <git dir>/promoter/pulls).",
        )(f)
        return click.option(
            "--forge",
            type=click.Choice(["local", "github", "gitlab"]),
            default="local",
            show_default=True,
            help=f"{purpose} (local: files under --forge-dir; github: GITHUB_REPOSITORY "
            "with GITHUB_TOKEN, GITHUB_API_URL for Enterprise; gitlab: CI_PROJECT_PATH with "
            "PROMOTER_TOKEN or GITLAB_TOKEN, CI_SERVER_URL for self-managed).",
        )(f)

    return decorate


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="promoter")
@click.option("-v", "--verbose", is_flag=True, help="Log debug detail to stderr.")
@click.option("-q", "--quiet", is_flag=True, help="Log only warnings and errors.")
def cli(verbose: bool, quiet: bool) -> None:
    """Turn the best Guild AI training run into a reviewed pull request."""
    level = logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    log.handlers[:] = [handler]
    log.setLevel(level)
    log.propagate = False


def _progress() -> Progress | None:
    if not sys.stderr.isatty():
        return None
    started = time.monotonic()

    def report(done: int, total: int) -> None:
        if total >= 1000 and time.monotonic() - started > 0.5:
            end = "\n" if done == total else "\r"
            sys.stderr.write(f"read {done}/{total} runs{end}")

    return report


def _store(settings: Settings) -> RunStore:
    from promoter.runs.registry import open_store

    return open_store(settings)


def _log_listing(store: RunStore, listing: RunListing, started: float) -> None:
    for skipped in listing.skipped:
        log.warning("warning: skipped run %s: %s", skipped.run_id, skipped.reason)
    log.info(
        "read %d runs%s from %s in %.2fs",
        len(listing.runs),
        f" ({len(listing.skipped)} skipped)" if listing.skipped else "",
        store.location,
        time.monotonic() - started,
    )


@cli.command()
@_with_settings
@click.option("--json", "as_json", is_flag=True, help="Print JSON (fields: see README).")
def runs(settings: Settings, as_json: bool) -> None:
    """List runs: id, op, status, started, flags and the chosen scalars."""
    from promoter.candidates import list_with_series
    from promoter.core.expr import parse_scalar
    from promoter.core.policy import aggregated_names, chosen_scalars

    started = time.monotonic()
    store = _store(settings)
    columns = chosen_scalars(settings.config)
    needed = aggregated_names(parse_scalar(c) for c in columns)
    listing = list_with_series(store, needed, _progress())
    _log_listing(store, listing, started)
    if as_json:
        from promoter.cli.report import listing_json

        click.echo(listing_json(listing))
        return
    from promoter.cli.tables import console, print_runs

    print_runs(console(), listing, columns)


@cli.command()
@_with_settings
@click.option("--run", "run_id", metavar="ID", help="Judge this run (an id or unique prefix).")
@click.option("--objective", help="Override select.objective, e.g. 'min loss'.")
@click.option("--all", "show_all", is_flag=True, help="Show every run, not the first 20.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (fields: see README).")
def select(
    settings: Settings,
    run_id: str | None,
    objective: str | None,
    show_all: bool,
    as_json: bool,
) -> None:
    """Rank the runs and explain: the winner, the champion, each criterion, why others lost
    (for each track of the config)."""
    from promoter.candidates import select_best, settings_for_run
    from promoter.cli.report import selection_json, tracks_json
    from promoter.cli.tables import console, print_selection

    started = time.monotonic()
    store = _store(settings)
    tracks = [settings_for_run(settings, store, run_id)] if run_id else settings.tracks()
    selections = []
    for each in tracks:
        selection, listing = select_best(each, store, run_id, objective, _progress())
        selections.append((each.track, selection))
    _log_listing(store, listing, started)
    if as_json:
        if len(selections) == 1:
            click.echo(selection_json(selections[0][1]))
        else:
            click.echo(tracks_json([(t, selection_json(s)) for t, s in selections]))
        return
    for track, selection in selections:
        if track is not None:
            click.echo(f"track {track}")
        print_selection(console(), selection, show_all)


@cli.command()
@_with_settings
@click.argument("run_id", metavar="RUN")
@click.option("--preview", is_flag=True, help="Show what would be copied; change nothing.")
@click.option(
    "--replace", "replace_changed", is_flag=True, help="Overwrite targets with uncommitted changes."
)
def merge(settings: Settings, run_id: str, preview: bool, replace_changed: bool) -> None:
    """Copy a run's source, flags and mapped artifacts into the project (the Guild-merge)."""
    from promoter.cli.tables import console, print_merge
    from promoter.promotion.merge.apply import MergeRefused
    from promoter.promotion.merge.run import merge_into_project
    from promoter.promotion.merge.source import check_merge

    outcome = merge_into_project(
        settings, _store(settings), run_id, preview=preview, replace_changed=replace_changed
    )
    print_merge(console(), outcome.plan, preview, outcome.source)
    if preview and outcome.source is not None:
        check_merge(outcome.source, "HEAD")
    if preview and not outcome.plan.ok:
        raise MergeRefused(outcome.plan.refusals)


@cli.command()
@_with_settings
@click.option("--run", "run_id", metavar="ID", help="Promote this run (it must still win).")
@click.option("--objective", help="Override select.objective, e.g. 'min loss'.")
@click.option("--dry-run", is_flag=True, help="Do everything but store, push and open the PR.")
@_forge_options("Where the PR is opened")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def promote(
    settings: Settings,
    run_id: str | None,
    objective: str | None,
    dry_run: bool,
    forge: ForgeName,
    forge_dir: Path | None,
    as_json: bool,
) -> None:
    """Select the best run, merge it on a branch, store its model with DVC, open the PR."""
    from promoter.cli.report import promote_json, tracks_json
    from promoter.promotion.promote import PromoteRequest, promote_tracks

    chosen = _forge(settings, forge, forge_dir)
    request = PromoteRequest(run_id, objective, dry_run, _cli_trigger())
    results = promote_tracks(settings, _store(settings), chosen, request)
    local = forge == "local"
    if as_json:
        if len(results) == 1:
            click.echo(promote_json(results[0], local_forge=local))
        else:
            click.echo(tracks_json([(r.track, promote_json(r, local)) for r in results]))
        return
    for result in results:
        track = f"track {result.track}: " if result.track else ""
        click.echo(f"{track}{result.decision.value.upper()}  {result.summary}")
        if result.pr_url:
            click.echo(f"pull request #{result.pr_number}: {result.pr_url}")
            if local:
                click.echo(f"  as a web page: {Path(result.pr_url).with_suffix('.html')}")
        if result.decision.value == "dry-run" and result.body:
            click.echo("\n" + result.body)


@cli.command()
@_with_settings
@click.argument("run_id", metavar="RUN")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["md", "html"]),
    default="md",
    show_default=True,
    help="Markdown (as the PR shows it) or a standalone HTML page.",
)
def render(settings: Settings, run_id: str, fmt: str) -> None:
    """Print the PR body promoter would write for RUN (nothing is stored or pushed)."""
    from promoter.promotion.body import render_run

    click.echo(render_run(settings, _store(settings), run_id, html=fmt == "html"), nl=False)


@cli.command()
@_with_settings
@click.argument("ref", default="HEAD")
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
def verify(settings: Settings, ref: str, as_json: bool) -> None:
    """Check a promotion at REF: record hashes == .dvc pointers == objects in the DVC remote."""
    from promoter.promotion.verify import VerifyFailed, tracks_json, verify_tracks

    reports = verify_tracks(settings, ref)
    if as_json:
        click.echo(reports[0].to_json() if len(reports) == 1 else tracks_json(reports))
    else:
        for report in reports:
            for line in report.lines():
                click.echo(line)
    problems = [p for report in reports for p in report.problems]
    if problems:
        raise VerifyFailed(problems)


@cli.command()
def event() -> None:
    """The CI entrypoint: read the CI host's environment and handle its event."""
    from promoter.hosts.base import run_event
    from promoter.hosts.registry import detect_host

    code = run_event(detect_host(os.environ))
    if code:
        raise click.exceptions.Exit(code)


def _forge(settings: Settings, name: ForgeName, forge_dir: Path | None) -> Forge:
    """The forge ``--forge`` names, the local one in ``--forge-dir`` or beside git's data."""
    from promoter.forges.registry import make_forge, target_from_env

    directory = (forge_dir or _default_forge_dir(settings)) if name == "local" else None
    return make_forge(target_from_env(name, settings.env, directory))


def _default_forge_dir(settings: Settings) -> Path:
    """Where the local forge keeps its PRs: beside the repository's git data."""
    from promoter.tools.git import Git

    return Git(settings.project).git_common_dir() / "promoter" / "pulls"


def _cli_trigger() -> TriggerInfo:
    """A promotion started by hand: who (the OS user) and when."""
    import getpass
    from datetime import UTC, datetime

    from promoter.promotion.record import TriggerInfo

    try:
        actor: str | None = getpass.getuser()
    except (KeyError, OSError):
        actor = None
    return TriggerInfo(
        event="cli", actor=actor, time=datetime.now(UTC).isoformat(timespec="seconds")
    )


# After the merge: `register` and `history` (their own module, registered on the group).
from promoter.cli import registry as _registry  # noqa: E402, F401


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; map errors to exit codes (1 job failure, 2 usage or config, 3 bug)."""
    try:
        # Outside standalone mode click returns the code of a raised Exit instead of raising.
        code = cli.main(args=argv, prog_name="promoter", standalone_mode=False)
    except PromoterError as e:
        click.echo(f"promoter: error: {e}", err=True)
        return e.exit_code
    except click.exceptions.Exit as e:
        return int(e.exit_code)
    except click.ClickException as e:
        e.show()
        return 2
    except click.exceptions.Abort:
        click.echo("promoter: aborted", err=True)
        return 1
    except Exception as e:
        click.echo(f"promoter: internal error (a bug, please report it): {e!r}", err=True)
        log.debug("".join(traceback.format_exception(e)))
        traceback.print_exc(file=sys.stderr)
        return BUG_EXIT
    return code if isinstance(code, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
