"""The PR body as Markdown (from the promotion record) and as a standalone HTML page."""

from __future__ import annotations

from promoter.render.escape import MdSafe, code_span, md_escape
from promoter.render.markdown import builtin_template, render_body

__all__ = ["MdSafe", "builtin_template", "code_span", "md_escape", "render_body"]
