"""``promoter register`` and ``promoter history``: after the merge. No logic lives here."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from promoter.cli import _forge, _forge_options, _with_settings, cli
from promoter.settings import Settings

if TYPE_CHECKING:
    from promoter.forges.registry import ForgeName


@cli.command()
@_with_settings
@click.option("--dry-run", is_flag=True, help="Say which tag would be made; make none.")
@_forge_options("Where the merged promotion PR is looked up, for the tag's message")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def register(
    settings: Settings, dry_run: bool, forge: ForgeName, forge_dir: Path | None, as_json: bool
) -> None:
    """Tag the commit of pr.base that made each track's champion <track>@v<version>
    (annotated, read by GTO) and push the tag; a second run adds nothing."""
    from promoter.registry.register import RegisterRequest, register_tracks
    from promoter.registry.report import registration_json

    results = register_tracks(
        settings, _forge(settings, forge, forge_dir), RegisterRequest(dry_run=dry_run)
    )
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
