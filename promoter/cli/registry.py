"""``promoter register`` and ``promoter history``: after the merge. No logic lives here."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from promoter.cli import _default_forge_dir, _with_settings, cli
from promoter.settings import Settings

if TYPE_CHECKING:
    from promoter.forges.registry import ForgeName


@cli.command()
@_with_settings
@click.option("--dry-run", is_flag=True, help="Say which tag would be made; make none.")
@click.option(
    "--forge",
    type=click.Choice(["local", "github", "gitlab"]),
    default="local",
    show_default=True,
    help="Where the merged promotion PR is looked up, for the tag's message (the same "
    "variables as promote's --forge).",
)
@click.option(
    "--forge-dir",
    type=click.Path(path_type=Path, file_okay=False),
    envvar="PROMOTER_FORGE_DIR",
    help="The local forge's directory (default: <git dir>/promoter/pulls).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def register(
    settings: Settings, dry_run: bool, forge: ForgeName, forge_dir: Path | None, as_json: bool
) -> None:
    """Tag the commit of pr.base that made each track's champion <track>@v<version>
    (annotated, read by GTO) and push the tag; a second run adds nothing."""
    from promoter.forges.registry import make_forge, target_from_env
    from promoter.registry.register import RegisterRequest, register_tracks
    from promoter.registry.report import registration_json

    directory = (forge_dir or _default_forge_dir(settings)) if forge == "local" else None
    chosen = make_forge(target_from_env(forge, settings.env, directory))
    results = register_tracks(settings, chosen, RegisterRequest(dry_run=dry_run))
    if as_json:
        click.echo(registration_json(results))
        return
    for result in results:
        click.echo(f"{result.name}: {result.decision.value.upper()}  {result.summary}")


@cli.command()
@_with_settings
@click.option("--json", "as_json", is_flag=True, help="Print JSON (fields: see README).")
@click.option(
    "--plot",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Also draw the objective of each champion over time to this PNG file.",
)
def history(settings: Settings, as_json: bool, plot: Path | None) -> None:
    """Each track's champions over pr.base's history: commit, date, run, objective,
    criteria and version tag."""
    from promoter.registry.champions import histories
    from promoter.registry.report import history_json, history_lines

    tracks = histories(settings)
    if plot is not None:
        from promoter.registry.plot import draw_history

        png = draw_history(tracks)
        if png is None:
            click.echo("no champion with a value for its objective yet: no plot", err=True)
        else:
            plot.write_bytes(png)
    if as_json:
        click.echo(history_json(tracks))
        return
    for line in history_lines(tracks):
        click.echo(line)
