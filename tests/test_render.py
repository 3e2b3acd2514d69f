"""The PR body: decision first, every value inert in GitHub Markdown and HTML, size cap, HTML."""

from __future__ import annotations

import math
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from promoter.errors import ConfigError, PromoterError
from promoter.forges.github import GitHubForge
from promoter.promotion.record import (
    CandidateRow,
    ChampionInfo,
    CriterionRow,
    DependencyRow,
    DvcRow,
    FileRow,
    FlagRow,
    ModelCard,
    ObjectiveInfo,
    PlotRow,
    PrInfo,
    PromotionRecord,
    Reproduce,
    ScalarRow,
    TriggerInfo,
)
from promoter.render.escape import code_block, code_span, link, md_escape, safe_url
from promoter.render.format import fmt_delta, fmt_number, fmt_size, fmt_time, fmt_value, short
from promoter.render.html import render_html
from promoter.render.markdown import builtin_template, render_body
from tests.records import CHAMPION_ID, CI_URL, RUN_ID, replace_run, sample_record

MARKER = f"<!-- promoter:op=train run={RUN_ID} -->"
MARKER_RE = re.compile(r"<!-- promoter:op=(?P<op>[^ ]+) run=(?P<run>[0-9a-f]{32}) -->")
RECORD_URL = "https://github.com/acme/ml/blob/0123abcd/.promoter/promotions/x/record.yaml"
ZWSP = "\u200b"


def image_url(path: str) -> str:
    return f"https://github.com/acme/ml/raw/0123abcd/{path}"


def no_champion() -> PromotionRecord:
    record = sample_record(
        champion=None,
        summary="run 3f2a9c1b has val_acc 0.9312; no champion yet",
        objective=ObjectiveInfo(name="val_acc", direction="max", value=0.9312),
        scalars=[ScalarRow("val_acc", 0.9312, None, None, 20)],
    )
    flags = [FlagRow(f.name, f.value) for f in record.flags]
    criteria = [msgspec.structs.replace(c, champion_passed=None) for c in record.criteria]
    return msgspec.structs.replace(record, flags=flags, criteria=criteria)


def failed_criterion() -> PromotionRecord:
    record = sample_record()
    bad = CriterionRow("latency_ms <= 40", False, {"latency_ms": 52.5}, champion_passed=True)
    return msgspec.structs.replace(record, criteria=[record.criteria[0], bad])


def many_flags(n: int) -> PromotionRecord:
    flags = [FlagRow(f"flag_{i:05d}", i * 0.5, i * 0.25, True, i % 7 == 0) for i in range(n)]
    return sample_record(flags=flags)


def render(record: PromotionRecord, **kw: Any) -> str:
    args: dict[str, Any] = {
        "image_url": image_url,
        "record_url": RECORD_URL,
        "marker": MARKER,
        "max_chars": GitHubForge.body_limit,
    }
    return render_body(record, **(args | kw))


def to_html(markdown: str) -> str:
    md = MarkdownIt("commonmark", {"html": True}).enable("table").enable("strikethrough")
    return md.render(markdown)


class Page(HTMLParser):
    """Every element (tag and attributes) and the visible text of an HTML fragment."""

    # GitHub links @mentions and #refs in text, except under these (html-pipeline's
    # IGNORE_PARENTS), which is why code spans may keep an exact "@org/team".
    NO_LINKING = frozenset({"pre", "code", "a"})

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.chunks: list[str] = []
        self.prose_chunks: list[str] = []
        self.open: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))
        if tag in self.NO_LINKING:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.NO_LINKING and tag in self.open:
            del self.open[len(self.open) - 1 - self.open[::-1].index(tag)]

    def handle_data(self, data: str) -> None:
        self.chunks.append(data)
        self.prose_chunks.append(" " if self.open else data)

    @property
    def text(self) -> str:
        return "".join(self.chunks)

    @property
    def prose(self) -> str:
        """The text GitHub scans for mentions and references."""
        return "".join(self.prose_chunks)

    def tags(self, name: str) -> list[dict[str, str | None]]:
        return [attrs for tag, attrs in self.elements if tag == name]


def gfm_cells(row: str) -> int:
    """Cells in a table row as GitHub splits it: at every pipe not escaped by a backslash."""
    cells, i, text = 1, 0, row.strip().removeprefix("|").removesuffix("|")
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        cells += text[i] == "|"
        i += 1
    return cells


def assert_tables_whole(markdown: str) -> int:
    """Every row of every table has as many cells as its header; returns the table count."""
    tables = 0
    lines = markdown.splitlines()
    for i, line in enumerate(lines[:-1]):
        if line.startswith("|") and re.fullmatch(r"\|(\s*:?-+:?\s*\|)+", lines[i + 1]):
            tables += 1
            width = gfm_cells(line)
            assert gfm_cells(lines[i + 1]) == width
            for row in lines[i + 2 :]:
                if not row.startswith("|"):
                    break
                assert gfm_cells(row) == width, row
    return tables


# --- decision first, and the variants a reviewer meets ---------------------------------------


def test_decision_comes_first_with_the_run_and_the_numbers() -> None:
    body = render(sample_record())
    first = next(line for line in body.splitlines() if line.strip())
    assert first.startswith("## ✅ Promote run `3f2a9c1b` of `train`")
    assert "0.9312 vs champion 0.925" in first
    assert "+0.0062 ≥ 0.002 required" in first
    assert body.index("### Acceptance criteria") < body.index("### Scalars")
    assert body.index("### Scalars") < body.index("<details>")
    assert body.rstrip("\n").endswith(MARKER)
    assert [m.group("run") for m in MARKER_RE.finditer(body)] == [RUN_ID]


def test_not_better_says_so_first() -> None:
    record = sample_record(decision="not-better")
    record = msgspec.structs.replace(
        record, objective=msgspec.structs.replace(record.objective, improvement=0.0005)
    )
    first = render(record).splitlines()[0]
    assert first.startswith("## ⛔ Do not promote run `3f2a9c1b`")
    assert "+0.0005 < 0.002 required" in first


def test_complete_record_shows_what_a_regulated_reviewer_needs() -> None:
    body = render(sample_record())
    for needle in (
        "| `val_acc >= 0.90` | val\\_acc = 0.9312 | ✅ pass | ✅ pass |",
        "| `latency_ms <= 40` | latency\\_ms = 38.2 | ✅ pass | ❌ fail |",
        "| `val_acc` 🎯 | 0.9312 | 0.925 | +0.0062 ✅ better | 20 |",
        "| `latency_ms` | 38.2 | 41 | -2.8 ✅ better | 20 |",
        "| `loss` | 0.1873 | 0.2011 | -0.0138 | 20 |",
        "| `lr` | `0.01` | `0.001` | ✏️ changed |",
        "| `train.py` | source | `c0ffeec0ffee` | 4.11 KiB |",
        "| `models/model.pkl` | `d41d8cd98f00b204e9800998ecf8427e` | 11.8 MiB |",
        f"| Run | `{RUN_ID}` (completed) |",
        "`git:1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b` clean",
        "| `data/train.csv` | `" + "aa" * 20 + "` |",
        "```sh\ndvc pull models/model.pkl\nguild run train batch_size=64 epochs=20 lr=0.01\n```",
        f"Reverting this PR restores run `{CHAMPION_ID}`",
        "| `models/model.pkl` | `0cc175b9c0f1b6a831c399e269772661` |",
        f"| CI run | [{md_escape(CI_URL)}]({CI_URL}) |",
        "| Started / stopped | 2024-05-01 12:00:00 UTC / 2024-05-01 12:42:10 UTC |",
        f"![val\\_acc]({image_url('.promoter/promotions/x/plots/val_acc.png')})",
        "- [ ] I am not the author of this run (run by alice on gpu\\-box\\-1)",
        "- **Run by**: alice on gpu\\-box\\-1, 2024-05-01 12:00:00 UTC\n",
        "`promoter verify`",
    ):
        assert needle in body
    assert "[!WARNING]" not in body
    assert "[!CAUTION]" not in body
    assert assert_tables_whole(body) == 10


def test_changed_flags_come_first() -> None:
    body = render(sample_record())
    assert body.index("`batch_size`") < body.index("`lr`") < body.index("`epochs`")


def test_no_champion() -> None:
    body = render(no_champion())
    assert body.splitlines()[0].endswith("(first promotion: no champion)")
    assert "This is the first promotion of `train`" in body
    assert "changed from the champion" not in body
    assert "| `lr` | `0.01` | — |  |" in body
    assert_tables_whole(body)


def test_no_criteria_still_shows_the_objective_gate() -> None:
    body = render(sample_record(criteria=[]))
    assert "| 🎯 `val_acc` (max) beats the champion by ≥ 0.002 | +0.0062 | ✅ pass | — |" in body
    assert "No acceptance criteria are configured" in body
    assert "- **Criteria**: ⚠️ none configured\n" in body
    assert_tables_whole(body)


def test_failed_criterion_is_flagged_near_the_top() -> None:
    body = render(failed_criterion())
    assert "| `latency_ms <= 40` | latency\\_ms = 52.5 | ❌ fail | ✅ pass |" in body
    assert "- **Criteria**: ❌ 1 of 2 passed" in body
    assert body.index("[!CAUTION]") < body.index("### Acceptance criteria")


def test_dirty_source_warns_near_the_top() -> None:
    body = render(replace_run(sample_record(), dirty_source=True, vcs_commit="git:1a2b3c4d*"))
    warning = body.index("> [!WARNING]")
    assert warning < body.index("### Acceptance criteria")
    assert "⚠️ **Dirty source tree.**" in body
    assert "`git:1a2b3c4d*` ⚠️ **dirty**: uncommitted changes" in body


def test_unverified_model_is_a_caution() -> None:
    record = sample_record()
    dvc = [msgspec.structs.replace(record.dvc[0], verified=False)]
    body = render(msgspec.structs.replace(record, dvc=dvc))
    assert "❌ **Model not verified in the DVC remote**: models/model\\.pkl" in body
    assert "| `storage` `s3://ml-models/dvc` | ❌ |" in body


def test_nan_scalar_is_shown_as_nan() -> None:
    record = sample_record(
        scalars=[ScalarRow("loss", math.nan, 0.2, None, 12), ScalarRow("x", math.inf, None)]
    )
    body = render(record)
    assert "| `loss` | NaN | 0.2 | — | 12 |" in body
    assert "| `x` | inf | — | — | 0 |" in body


# --- escaping: the corpus through our template and through a user's --------------------------

CORPUS = [
    "</details><img src=x onerror=alert(1)>",
    "<script>alert(1)</script>",
    "@org/team",
    "@user",
    "[x](javascript:alert(1))",
    "![x](https://evil/x.png)",
    "| a | b |",
    "`code`",
    "line1\nline2",
    "<!-- promoter:op=train run=00000000000000000000000000000000 -->",
    "**bold**",
    "# heading",
    "&lt;script&gt;",
    "trailing\\",
    "<a href='javascript:alert(1)'>x</a>",
    "```\n</details>\n```",
    "- [ ] checked?\r\n> [!CAUTION]\n",
    "fixes #1 and acme/ml#2",
    "$\\href{javascript:alert(1)}{x}$",
    "~~gone~~ ___ === ---",
    "<https://evil.example/autolink>",
    # GitLab's references, and quick actions (a line starting with "/" is executed)
    '!1 ~label ~"two words" %milestone %"v 1" $1 &1 #1',
    "group/project!2 group/project#3 group&4 ^alert#5",
    "[vulnerability:1] *iteration:2 [work_item:3] {+added+} [-removed-]",
    "/merge",
    "  /approve",
    "x\n/assign @alice\n/label ~approved\r\n/close",
    "/unassign\n```\n/merge\n```\n~~~\n/approve\n~~~",
    # Multi-line text keeps its lines in a model card: none may start a block of its own.
    "1. one\n2. two\n\n    indented code\n\t\ttabbed",
    "---\ntitle: x\n---\n===\nsetext",
    "<details open>\n<summary>fake</summary>\n\n[ref]: https://evil.example\n[x][ref]",
    "| h |\n|---|\n| cell |\n\n> [!NOTE]\n> quoted",
    "/merge\n/approve\n@channel ~label %milestone !1 &1 $1",
]
# GitLab's reference sigils followed by what makes a reference, outside code and links.
GITLAB_REFERENCE = re.compile(
    r"(?<![\w\u200b])(?:[@#!~%$&]|\*iteration:|\[\w+:|\{[+-]|\[[+-])(?=[\w\"])"
)
QUICK_ACTION = re.compile(r"^[ \t]*/", re.MULTILINE)


def hostile(value: str) -> PromotionRecord:
    """Every string of the record that comes from a run, a config or an event set to ``value``."""
    base = sample_record()
    run = msgspec.structs.replace(
        base.run,
        label=value,
        tags=[value, "ok"],
        host=value,
        user=value,
        vcs_commit=value,
        sourcecode_digest=value,
        python=value,
        packages_sha256=value,
        status=value,
    )
    return msgspec.structs.replace(
        base,
        summary=value,
        run=msgspec.structs.replace(run, ci_job_url=value),
        candidates=[
            CandidateRow(value, value, value, value, 0.5, 2, 1, 2, [value, value]),
            CandidateRow(value, value, value, None, None, None, 0, 2, [value]),
        ],
        model_card=ModelCard(path=value, text=f"{value}\n\n# {value}\n{value}", sha256=value),
        criteria=[
            CriterionRow(value, True, {value: 1.0}, problem=value, champion_passed=False),
            *base.criteria,
        ],
        scalars=[ScalarRow(value, 1.5, 1.0, 0.5, 3), *base.scalars],
        flags=[FlagRow(value, value, value, True, True), FlagRow("lr", [value, 1], {value: value})],
        files=[FileRow(value, value, value, 10), *base.files],
        dvc=[DvcRow(value, value, 10, 1, value, value, True)],
        dependencies=[DependencyRow(value, value)],
        plots=[PlotRow(value, "plots/p.png", value)],
        champion=ChampionInfo(
            run_id=value, op=value, objective_value=1.0, model_md5={value: value}
        ),
        reproduce=Reproduce(command=value, dvc_pull=value),
        trigger=TriggerInfo(value, value, value, value),
        pr=PrInfo(branch=value, base=value, title=value),
        tools={value: value},
    )


ALLOWED_TAGS = {
    "h1", "h2", "h3", "p", "ul", "li", "strong", "em", "code", "pre", "table", "thead", "tbody",
    "tr", "th", "td", "details", "summary", "b", "img", "a", "blockquote", "br", "hr",
}  # fmt: skip


def assert_inert(markdown: str, value: str, details: int, links: set[str]) -> None:
    """``value`` shows as text in ``markdown`` and never becomes an element, link or marker."""
    assert [m.group("run") for m in MARKER_RE.finditer(markdown)] == [RUN_ID]
    page = Page(to_html(markdown))
    assert {tag for tag, _ in page.elements} <= ALLOWED_TAGS
    assert len(page.tags("details")) == details
    assert page.tags("script") == []
    for _, attrs in page.elements:
        assert not [name for name in attrs if name.startswith("on")]
        for name in ("href", "src"):
            url = attrs.get(name)
            if url is not None:
                assert urlsplit(url).scheme in ("https", ""), url
                assert url in links, url
    text = page.text.replace(ZWSP, "")
    shown = re.sub(r"\s+", " ", value).strip()
    assert shown in re.sub(r"\s+", " ", text)
    assert "@org/team" not in page.prose
    assert "@user" not in page.prose
    assert not re.search(r"(?<![\w\u200b])#\d", page.prose)
    assert_gitlab_inert(markdown, page)
    if "onerror" in value:
        assert "onerror=alert(1)" in page.text


def assert_gitlab_inert(markdown: str, page: Page | None = None) -> None:
    """No GitLab reference in the rendered text, and no line GitLab would run as a quick
    action, whatever fence or HTML block it is in (GitLab's parser skips only some)."""
    page = page or Page(to_html(markdown))
    found = [page.prose[m.start() : m.end() + 12] for m in GITLAB_REFERENCE.finditer(page.prose)]
    assert found == []
    assert QUICK_ACTION.findall(markdown) == []


def our_links(record: PromotionRecord) -> set[str]:
    return {RECORD_URL, CI_URL} | {image_url(p.path) for p in record.plots}


@pytest.mark.parametrize("value", CORPUS)
def test_corpus_is_inert_in_the_builtin_template(value: str) -> None:
    details = len(Page(to_html(render(sample_record()))).tags("details"))
    record = hostile(value)
    body = render(record)
    assert_tables_whole(body)
    assert_inert(body, value, details, our_links(record))
    assert MARKER in body


USER_TEMPLATE = """\
# {{ run.label }}
{{ run.host }}
{{ run.user | e }} {{ run.user | safe }} {{ run.user | tojson }} {{ run.user | upper }}
{{ run.label | code | truncate(6) }} {{ run.label ~ "!" }} {{ run.label | forceescape }}

| label | host | code |
|---|---|---|
| {{ run.label }} | {{ run.host }} | {{ run.label | code }} |
{% for f in flags %}
| {{ f.name }} | {{ f.value | fmt_value }} | {{ f.value | fmt_value | code }} |
{% endfor %}

<details>
<summary>Run</summary>

{{ run.label }}
{{ run.label | urlize }}

</details>
{{ marker }}
"""


@pytest.mark.parametrize("value", CORPUS)
def test_corpus_is_inert_in_a_user_template(value: str) -> None:
    body = render(hostile(value), template_text=USER_TEMPLATE)
    assert_tables_whole(body)
    assert_inert(body, value, 1, set())


TABLE_TAGS = {"p", "table", "thead", "tbody", "tr", "th", "td"}


@given(st.text(alphabet=st.sampled_from("`*_{}[]()#+-.!|~<>&\"'\\@/:=$^ \n\tab1é€"), max_size=40))
def test_md_escape_renders_the_literal_text_and_nothing_else(value: str) -> None:
    expected = re.sub(r"[\r\n]", " ", value).strip(" \t")
    for context, wrap in (("p", "{}"), ("p", "x {} x"), ("td", "| h |\n|---|\n| {} |\n")):
        page = Page(to_html(wrap.format(md_escape(value))))
        assert {tag for tag, _ in page.elements} <= TABLE_TAGS
        text = page.text.replace(ZWSP, "").strip()
        if context == "td":
            text = text.removeprefix("h").strip()
        assert text.strip(" \t").removeprefix("x ").removesuffix(" x").strip(" \t") == expected


TABLE_TAGS = {"p", "table", "thead", "tbody", "tr", "th", "td"}


@given(st.text(alphabet=st.sampled_from("`|\\<>&@ *_[]()#x\n"), min_size=1, max_size=30))
def test_code_span_shows_exact_text_in_prose_and_in_tables(value: str) -> None:
    expected = value.replace("\n", " ")
    for wrap in ("a {} b", "| h |\n|---|\n| {} |\n"):
        page = Page(to_html(wrap.format(code_span(value))))
        codes = [t for t, _ in page.elements if t == "code"]
        assert codes == ["code"], page.elements
        assert {t for t, _ in page.elements} <= TABLE_TAGS | {"code"}
        assert expected in page.text


def test_md_escape_examples() -> None:
    assert md_escape("a\nb\r\nc") == "a b c"
    assert md_escape("@org/team") == "@&#8203;org/team"
    assert md_escape("a | b") == "a &#124; b"
    assert md_escape("x\\") == "x&#92;"
    assert md_escape("<b>") == "&lt;b&gt;"
    assert md_escape("fixes #12") == "fixes \\#&#8203;12"
    assert md_escape("v1.2-rc_1") == "v1\\.2\\-rc\\_1"
    assert md_escape(None) == ""
    assert md_escape(0.5) == "0\\.5"
    assert md_escape("rtl\u202eevil") == "rtl&lt;U\\+202E&gt;evil"
    assert md_escape("!1 ~l %m $1 &1") == (
        "\\!&#8203;1 \\~&#8203;l %&#8203;m \\$&#8203;1 &amp;&#8203;1"
    )
    assert md_escape("a & b, 5 % off, wow!") == "a &amp; b, 5 % off, wow\\!"
    assert md_escape(" /merge") == " &#47;merge"
    assert md_escape("a/b /c") == "a/b /c"


def test_a_code_block_never_holds_a_quick_action() -> None:
    assert code_block("guild run train") == "```\nguild run train\n```"
    assert code_block("a\n /merge\n@x <b>") == (
        "<pre><code>a\n &#47;merge\n@x &lt;b&gt;</code></pre>"
    )


def test_code_span_fences() -> None:
    assert code_span("a`b") == "``a`b``"
    assert code_span("`x`") == "`` `x` ``"
    assert code_span(" a ") == "`  a  `"
    assert code_span("a|b") == "<code>a&#124;b</code>"
    assert code_span("@org/team") == "`@org/team`"
    assert code_span(None) == "—"
    assert code_span("") == ""


def test_urls_must_be_web_or_relative() -> None:
    assert safe_url("https://x/a b(1).png") == "https://x/a%20b%281%29.png"
    assert safe_url("plots/a:b.png") == "plots/a:b.png"
    assert safe_url("a:b.png") is None
    assert safe_url("JavaScript:alert(1)") is None
    assert safe_url(" java\tscript:alert(1)") is None
    assert safe_url("data:image/png;base64,xx") is None
    assert link("CI", "javascript:alert(1)") == "CI"
    body = render(sample_record(), image_url=lambda p: "javascript:alert(1)")
    assert "javascript" not in body
    assert "val\\_acc loss" in body


def test_numbers_and_sizes() -> None:
    assert [fmt_number(v) for v in (0.93123456, math.nan, math.inf, -math.inf, None, 3)] == [
        "0.931235", "NaN", "inf", "-inf", "—", "3"
    ]  # fmt: skip
    assert [fmt_delta(v) for v in (0.0062, -2.8, 0.0, None)] == ["+0.0062", "-2.8", "+0", "—"]
    assert [fmt_size(v) for v in (512, 1536, 12_345_678, 3 * 2**30, None)] == [
        "512 B", "1.5 KiB", "11.8 MiB", "3 GiB", "—"
    ]  # fmt: skip
    assert short("d41d8cd98f00b204e9800998ecf8427e") == "d41d8cd98f00"
    assert short(None) == "—"
    assert fmt_value(True) == "true"
    assert fmt_value([1, "a"]) == '[1, "a"]'
    assert fmt_time("2024-05-01T12:00:00+02:00") == "2024-05-01 12:00:00 UTC+0200"


def test_the_repository_template_is_the_packaged_one() -> None:
    root = Path(__file__).resolve().parents[1] / "templates" / "pr_body.md.j2"
    assert root.read_text(encoding="utf-8") == builtin_template()
    assert render(sample_record(), template_text=builtin_template()) == render(sample_record())


# --- user templates: sandboxed, errors named by template and line -----------------------------


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("ok\n{% if %}\n", 2),
        ("ok\n\n{{ nope }}\n", 3),
        ("{{ run.nope }}\n", 1),
        ("a\n{% for x in criteria %}{{ x.values.nope }}{% endfor %}\n", 2),
        ("a\nb\n{{ run.__class__.__mro__ }}\n", 3),
        ("{{ (1).__class__ }}\n", 1),
    ],
)
def test_user_template_errors_name_the_template_and_line(text: str, line: int) -> None:
    with pytest.raises(PromoterError) as caught:
        render(sample_record(), template_text=text, template_name=".github/pr_body.md.j2")
    assert isinstance(caught.value, ConfigError)
    assert str(caught.value).startswith(f".github/pr_body.md.j2: line {line}: ")


def test_user_template_cannot_reach_python() -> None:
    for text in ("{{ tools.clear() }}", "{{ image_url.__globals__ }}", "{{ record.__init__ }}"):
        with pytest.raises(PromoterError, match=r"pr\.template"):
            render(sample_record(), template_text=text)


def test_user_template_without_marker_gets_one() -> None:
    body = render(sample_record(), template_text="Promote {{ run.short_id }}\n")
    assert body == f"Promote 3f2a9c1b\n\n{MARKER}\n"


def test_marker_must_be_a_one_line_comment() -> None:
    for bad in ("promoter", "<!-- a --> <img src=x> <!-- b -->", "<!-- a\n -->"):
        with pytest.raises(ValueError, match="HTML comment"):
            render(sample_record(), marker=bad)


# --- the size cap ---------------------------------------------------------------------------


def test_long_tables_fold_into_the_record_under_the_cap() -> None:
    record = many_flags(5000)
    assert len(render(record, max_chars=10**7)) > 65_536
    body = render(record)
    assert len(body) <= 65_536
    assert_tables_whole(body)
    assert f"[the committed record]({RECORD_URL})" in body
    assert "5000 flags (715 changed): see [the committed record]" in body
    assert "flag\\_00007" not in body
    assert "### Acceptance criteria" in body
    assert body.rstrip("\n").endswith(MARKER)
    page = Page(to_html(body))
    assert RECORD_URL in [a.get("href") for a in page.tags("a")]


def test_compact_body_without_a_record_url_still_names_the_record() -> None:
    body = render(many_flags(5000), record_url=None)
    assert "see the committed record." in body


def test_a_body_too_long_even_folded_is_an_error() -> None:
    with pytest.raises(PromoterError, match=r"even with its long tables folded.*limit of 2,000"):
        render(many_flags(10), max_chars=2000)


# --- the HTML page --------------------------------------------------------------------------


def test_html_page_is_standalone_with_checkboxes_alerts_and_details() -> None:
    body = render(replace_run(sample_record(), dirty_source=True))
    page_html = render_html(body, "Promote <train> & co")
    page = Page(page_html)
    assert "<title>Promote &lt;train&gt; &amp; co</title>" in page_html
    assert len(page.tags("input")) == 6
    assert all(a.get("type") == "checkbox" and "disabled" in a for a in page.tags("input"))
    assert len(page.tags("details")) == 8  # seven sections and the commands footer
    assert any(a.get("class") == "alert alert-warning" for a in page.tags("blockquote"))
    assert "[!WARNING]" not in page.text
    assert page.tags("script") == [] and page.tags("link") == []
    srcs = [a.get("src") for a in page.tags("img")]
    plots = sample_record().plots
    # The objective's curve on the first screen, then every plot in the folded section.
    assert srcs == [image_url(plots[0].path)] + [image_url(p.path) for p in plots]


def test_html_does_not_make_escaped_brackets_into_checkboxes() -> None:
    page = Page(render_html("- \\[ \\] no\n- [x] yes\n\n> \\[!NOTE\\]\n> quoted\n", "t"))
    assert len(page.tags("input")) == 1
    assert "checked" in page.tags("input")[0]
    assert page.tags("blockquote") == [{}]


def test_html_of_the_corpus_is_inert() -> None:
    for value in CORPUS:
        page = Page(render_html(render(hostile(value)), value))
        assert page.tags("script") == []
        assert value.splitlines()[0] in page.text.replace(ZWSP, "") or "\n" in value


def test_the_footer_lists_the_commands_and_what_closing_means() -> None:
    record = sample_record()
    record = msgspec.structs.replace(
        record, pr=msgspec.structs.replace(record.pr, command_prefix="/ship")
    )
    body = render(record)
    footer = body[body.index("promoter commands and what closing") :]
    for command in ("/ship", "/ship <run-id>", "/ship --dry-run", "/ship recreate", "/ship help"):
        assert f"`{command}`" in footer
    assert f"declines run {RUN_ID[:8]}" in footer and f"`/ship {RUN_ID[:8]}`" in footer
