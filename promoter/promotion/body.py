"""The PR body: a promotion record rendered for a forge, and ``promoter render`` for any run
from a merge preview (nothing written, nothing fetched)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from promoter.candidates import select_best, winner_series
from promoter.errors import UsageError
from promoter.forges.base import Forge
from promoter.forges.links import commit_url
from promoter.forges.local import LocalForge
from promoter.forges.markers import marker
from promoter.promotion.merge.apply import file_digest, inside
from promoter.promotion.merge.plan import Copy, plan_merge
from promoter.promotion.model_card import read_model_card
from promoter.promotion.naming import branch_name, title_of
from promoter.promotion.record import FileRow, PrInfo, PromotionRecord, TriggerInfo
from promoter.promotion.record_builder import RecordFacts, build_record, record_path
from promoter.runs.base import RunStore
from promoter.settings import Settings


def user_template(settings: Settings) -> str | None:
    """The text of ``pr.template`` (a file inside the project), or ``None`` for the default."""
    name = settings.config.pr.template
    if not name:
        return None
    path = settings.project / name
    if not inside(settings.project.resolve(), path) or not path.is_file():
        raise UsageError(f"pr.template: {name} is not a file in the project")
    return path.read_text(encoding="utf-8")


def render_record_body(
    settings: Settings,
    record: PromotionRecord,
    forge: Forge,
    branch: str,
    commit: str,
    prefix: str,
) -> str:
    """The PR body for a record, images and the record linked the way ``forge`` shows them,
    within the forge's size limit; ``prefix`` is the project's directory in the repository
    (``""`` or ``"sub/"``)."""
    from promoter.render.markdown import render_body

    return render_body(
        record,
        image_url=lambda p: forge.image_url(commit, prefix + p, branch),
        record_url=forge.file_url(commit, prefix + record_path(record.run.id), branch),
        marker=marker(record.run.op, record.run.id),
        max_chars=forge.body_limit,
        template_text=user_template(settings),
        template_name=settings.config.pr.template,
        commit_url=lambda sha: commit_url(forge, sha),
    )


def render_run(settings: Settings, store: RunStore, run_id: str, html: bool = False) -> str:
    """The body (Markdown, or an HTML page) of promoting ``run_id`` as things stand, as the
    default (local) forge would show it."""
    from promoter.candidates import settings_for_run
    from promoter.render.markdown import render_body

    settings = settings_for_run(settings, store, run_id)
    selection, listing = select_best(settings, store, run=run_id)
    if not selection.verdicts:
        raise UsageError(f"run {run_id} is not a candidate")
    champion = selection.champion.champion if selection.champion else None
    champion_run = next((r for r in listing.runs if champion and r.id == champion.run_id), None)
    selection, verdict, champion_run = winner_series(
        store, selection, selection.verdicts[0], champion_run
    )
    run = verdict.run
    files = store.run_files(run)
    plan = plan_merge(files, settings.config.merge, run.flags)
    # As in a promotion: DVC outputs are not hashed here (DVC's md5 is their identity).
    hashed = [c for c in plan.copies if not c.dvc]
    card = [settings.config.pr.model_card] if settings.config.pr.model_card else []
    needed = [c.run_path for c in hashed if c.run_path is not None]
    run_dir = store.materialize(run, [*needed, *card])
    facts = RecordFacts(
        provenance=store.provenance(run),
        reproduce=store.reproduce(run),
        run_files=files,
        files=[_row(run_dir, c) for c in hashed],
        dvc=[],
        plots=[],
        trigger=TriggerInfo(event="render"),
        pr=PrInfo(
            branch=branch_name(settings, selection, verdict),
            base=settings.config.pr.base,
            title=title_of(settings, selection, verdict),
            command_prefix=settings.config.commands.prefix,
            candidates=settings.config.pr.candidates,
        ),
        tools={},
        champion_run=champion_run,
        model_card=read_model_card(run_dir, card[0]) if card else None,
    )
    record = build_record(selection, facts, verdict)
    body = render_body(
        record,
        image_url=lambda p: p,
        record_url=None,
        marker=marker(run.op, run.id),
        max_chars=LocalForge.body_limit,
        template_text=user_template(settings),
        template_name=settings.config.pr.template,
    )
    if not html:
        return body
    from promoter.render.html import render_html

    return render_html(body, record.pr.title)


def _row(run_dir: Path, copy: Copy) -> FileRow:
    if copy.content is not None:
        digest, size = hashlib.sha256(copy.content).hexdigest(), len(copy.content)
    else:
        source = run_dir / (copy.run_path or "")
        safe = source.is_file() and not source.is_symlink()
        digest = file_digest(source, "sha256") if safe else ""
        size = source.stat().st_size if safe else 0
    return FileRow(path=copy.project_path, kind=copy.kind.value, sha256=digest, size=size)
