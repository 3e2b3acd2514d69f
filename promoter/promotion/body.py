"""``promoter render``: the PR body for any run, from a merge preview (nothing written)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from promoter.api import Settings, open_store, select_best
from promoter.errors import UsageError
from promoter.forges.base import marker
from promoter.promotion.build import user_template
from promoter.promotion.merge.apply import file_digest
from promoter.promotion.merge.plan import Copy, plan_merge
from promoter.promotion.promote import branch_name, title_of
from promoter.promotion.record import FileRow, PrInfo, TriggerInfo
from promoter.promotion.record_builder import PromotionFacts, build_record


def render_run(settings: Settings, run_id: str, html: bool = False) -> str:
    """The body (Markdown, or an HTML page) of promoting ``run_id`` as things stand."""
    from promoter.render.markdown import render_body

    selection, listing = select_best(settings, run=run_id)
    if not selection.verdicts:
        raise UsageError(f"run {run_id} is not a candidate")
    verdict = selection.verdicts[0]
    run = verdict.run
    store = open_store(settings)
    run_dir = store.runs_dir / run.id
    files = store.run_files(run)
    plan = plan_merge(files, settings.config.merge, run.flags)
    champion = selection.champion.champion if selection.champion else None
    facts = PromotionFacts(
        provenance=store.provenance(run),
        run_files=files,
        # As in a promotion: DVC outputs are not hashed here (DVC's md5 is their identity).
        files=[_row(run_dir, c) for c in plan.copies if not c.dvc],
        dvc=[],
        plots=[],
        trigger=TriggerInfo(event="render"),
        pr=PrInfo(
            branch=branch_name(settings, selection, verdict),
            base=settings.config.pr.base,
            title=title_of(settings, selection, verdict),
        ),
        tools={},
        champion_run=next((r for r in listing.runs if champion and r.id == champion.run_id), None),
    )
    record = build_record(selection, facts, verdict)
    body = render_body(
        record,
        image_url=lambda p: p,
        record_url=None,
        marker=marker(run.op, run.id),
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
