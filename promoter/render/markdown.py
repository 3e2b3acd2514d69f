"""The PR body: the promotion record through a sandboxed Jinja template, every value escaped."""

from __future__ import annotations

import re
from collections.abc import Callable
from importlib import resources
from types import TracebackType
from typing import Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

from promoter.core.expr import ExpressionError, parse_scalar
from promoter.errors import ConfigError, PromoterError
from promoter.promotion.record import PlotRow, PromotionRecord
from promoter.render.blocks import code_link, text_block
from promoter.render.escape import MdSafe, code_block, code_span, image, link, md_escape, safe_url
from promoter.render.format import (
    fmt_delta,
    fmt_number,
    fmt_size,
    fmt_time,
    fmt_value,
    short,
)

BUILTIN_TEMPLATE = "pr_body.md.j2"
_MARKER = re.compile(r"<!--[^\n]*-->")


def builtin_template() -> str:
    """The text of the built-in PR body template, shipped inside the package."""
    return resources.files("promoter").joinpath("templates", BUILTIN_TEMPLATE).read_text("utf-8")


def render_body(
    record: PromotionRecord,
    *,
    image_url: Callable[[str], str],
    record_url: str | None,
    marker: str,
    max_chars: int,
    template_text: str | None = None,
    template_name: str | None = None,
    commit_url: Callable[[str], str | None] | None = None,
) -> str:
    """The PR body for ``record``; long tables fold into ``record_url`` when over ``max_chars``
    (the forge's body limit); ``commit_url`` links a commit on the forge, where it can."""
    if not _MARKER.fullmatch(marker) or "-->" in marker[4:-3]:
        raise ValueError(f"not a one-line HTML comment: {marker!r}")
    user = template_text is not None
    name = template_name or ("pr.template" if user else BUILTIN_TEMPLATE)
    source = template_text if template_text is not None else builtin_template()
    template = _load(source, name, user=user)
    context = _context(
        record, image_url=image_url, record_url=record_url, marker=marker, commit_url=commit_url
    )
    body = ""
    for compact in (False, True):
        body = _render(template, {**context, "compact": compact}, name, user=user)
        if marker not in body:
            body = body.rstrip("\n") + "\n\n" + marker + "\n"
        if len(body) <= max_chars:
            return body
    raise PromoterError(
        f"the PR body is {len(body):,} characters even with its long tables folded into the "
        f"committed record, over the limit of {max_chars:,} ({name})"
    )


def environment() -> ImmutableSandboxedEnvironment:
    """The Jinja environment of PR body templates: sandboxed, strict, Markdown-escaping."""
    env = ImmutableSandboxedEnvironment(
        autoescape=False,
        undefined=jinja2.StrictUndefined,
        finalize=md_escape,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        {
            "md": lambda v: MdSafe(md_escape(v)),
            "e": lambda v: MdSafe(md_escape(v)),
            "escape": lambda v: MdSafe(md_escape(v)),
            "code": code_span,
            "fence": code_block,
            "link": link,
            "image": image,
            "fmt_number": fmt_number,
            "fmt_delta": fmt_delta,
            "fmt_size": fmt_size,
            "fmt_time": fmt_time,
            "fmt_value": fmt_value,
            "short": short,
            "text_block": text_block,
            "code_link": code_link,
        }
    )
    return env


def _context(
    record: PromotionRecord,
    *,
    image_url: Callable[[str], str],
    record_url: str | None,
    marker: str,
    commit_url: Callable[[str], str | None] | None = None,
) -> dict[str, Any]:
    # The record's structs, not dicts: `criterion.values` would be dict.values on a dict.
    fields = {name: getattr(record, name) for name in record.__struct_fields__}
    record_link = safe_url(record_url) if record_url else None
    return {
        **fields,
        "record": record,
        "image_url": image_url,
        "record_url": record_link,
        "marker": MdSafe(marker),
        "objective_plot": _objective_plot(record),
        "links": {
            "source": _source_url(record, commit_url),
            "record": record_link,
            "ci_run": record.trigger.ci_run_url,
            "ci_job": record.run.ci_job_url,
        },
    }


_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


def _objective_plot(record: PromotionRecord) -> PlotRow | None:
    """The drawn curve of the objective's scalar (its name without the aggregate)."""
    try:
        name = parse_scalar(record.objective.name).name
    except ExpressionError:  # ``newest``, or a name from a record of another version
        name = record.objective.name
    return next((p for p in record.plots if p.source == "curve" and p.scalar == name), None)


def _source_url(
    record: PromotionRecord, commit_url: Callable[[str], str | None] | None
) -> str | None:
    """The forge's page of the run's source commit, when the forge has the commit: not when
    the run's source had to be copied because its commit never reached the remote."""
    commit = (record.run.vcs_commit or "").removeprefix("git:").rstrip("*")
    merged = record.source_merge
    if commit_url is None or not _SHA.fullmatch(commit):
        return None
    if merged is not None and merged.mode != "three-way":
        return None
    return commit_url(commit)


def _load(source: str, name: str, *, user: bool) -> jinja2.Template:
    env = environment()
    env.loader = jinja2.FunctionLoader(lambda n: (source, n, lambda: True) if n == name else None)
    try:
        return env.get_template(name)
    except jinja2.TemplateSyntaxError as e:
        raise _template_error(name, e.lineno, e.message or str(e), user=user) from e


def _render(template: jinja2.Template, context: dict[str, Any], name: str, *, user: bool) -> str:
    try:
        return template.render(context)
    except (
        jinja2.TemplateError,
        ArithmeticError,
        AttributeError,
        LookupError,
        TypeError,
        ValueError,
    ) as e:
        message = e.message if isinstance(e, jinja2.TemplateError) and e.message else str(e)
        line = _template_line(e.__traceback__, name)
        raise _template_error(name, line, message, user=user) from e


def _template_line(tb: TracebackType | None, name: str) -> int | None:
    line = None
    while tb is not None:
        # Jinja rewrites tracebacks so a template's frames carry its name and its line numbers.
        if tb.tb_frame.f_code.co_filename == name:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _template_error(name: str, line: int | None, message: str, *, user: bool) -> PromoterError:
    where = f"line {line}" if line else None
    if user:
        return ConfigError(name, where, message)
    return PromoterError(f"{name}: {where or 'template'}: {message}")
