"""The PR body for the reviewer (issue 14): the first screen, the other candidates, deltas
that say which way is better, links, who ran the run, the model card, and the size limit
with 200 candidates and 500 scalars."""

from __future__ import annotations

import re

import msgspec
import pytest

from promoter.promotion.record import (
    CandidateRow,
    ModelCard,
    PrInfo,
    ScalarRow,
    SourceMergeInfo,
)
from promoter.render.blocks import code_link, text_block
from promoter.render.html import render_html
from tests.records import RUN_ID, replace_run, sample_candidates, sample_record
from tests.test_render import (
    MARKER,
    RECORD_URL,
    Page,
    assert_tables_whole,
    image_url,
    no_champion,
    render,
    to_html,
)

COMMIT = "1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b"


def commit_url(sha: str) -> str:
    return f"https://github.com/acme/ml/commit/{sha}"


def section(body: str, heading: str) -> str:
    """The text of a ``###`` section, up to the next heading or folded section."""
    start = body.index(f"### {heading}")
    ends = [i for i in (body.find("\n### ", start + 4), body.find("<details>", start)) if i > 0]
    return body[start : min(ends)]


# -- the first screen -----------------------------------------------------------------------


def test_the_first_screen_has_the_decision_criteria_and_the_objective_s_curve_unfolded() -> None:
    body = render(sample_record())
    curve = f"![val\\_acc]({image_url('.promoter/promotions/x/plots/val_acc.png')})"
    first_details = body.index("<details>")
    assert body.index("## ✅ Promote") < body.index("### Acceptance criteria")
    assert body.index("### Acceptance criteria") < body.index(curve) < first_details
    assert body.index(curve) < body.index("### Other candidates") < body.index("### Scalars")
    # Rendered: the curve is an image outside every <details>.
    html = to_html(body)
    before_fold = html[: html.index("<details>")]
    assert '<img src="' + image_url(".promoter/promotions/x/plots/val_acc.png") in before_fold


def test_the_objective_s_curve_is_found_through_its_aggregate_and_only_if_drawn() -> None:
    record = sample_record()
    objective = msgspec.structs.replace(record.objective, name="max:val_acc")
    body = render(msgspec.structs.replace(record, objective=objective))
    assert body.count("val_acc.png") == 2  # the first screen and the folded plots
    assert render(sample_record(plots=[])).count(".png") == 0
    newest = msgspec.structs.replace(record.objective, name="newest")
    assert render(msgspec.structs.replace(record, objective=newest)).count("val_acc.png") == 1


# -- the other candidates --------------------------------------------------------------------


def test_the_other_candidates_say_why_each_lost() -> None:
    body = render(sample_record())
    table = section(body, "Other candidates")
    assert (
        "- **Candidates**: 5 runs of `train` considered: 2 other eligible runs rank below " in body
    )
    assert "2 are not eligible" in body
    for row in (
        "| 2 | `02c0ffee` | completed | 0.9301 | -0.0011 | 2/2 | val\\_acc 0\\.9301, winner "
        "3f2a9c1b has 0\\.9312 |",
        "| — | `9e1d0b2a` | completed | 0.9405 | +0.0093 | 1/2 | fails latency\\_ms &lt;\\= 40 "
        "(latency\\_ms \\= 52\\.5) |",
        "| — | `5b6c7d8e` | error | — | — | 0/2 | status error (candidates must be completed); "
        "objective val\\_acc is missing |",
    ):
        assert row.replace("(", "\\(").replace(")", "\\)") in table or row in table, row
    assert "the first" not in table  # all of them are listed
    assert_tables_whole(body)


def test_only_the_top_candidates_are_listed_the_record_has_them_all() -> None:
    record = sample_record(candidates=sample_candidates(40))
    record = msgspec.structs.replace(record, pr=msgspec.structs.replace(record.pr, candidates=3))
    table = section(render(record), "Other candidates")
    listed = "the first 3 of 40 here, all of them with their reasons in [the committed record]"
    assert f"{listed}({RECORD_URL})" in table
    assert len(re.findall(r"^\| (\d+|—) \| `", table, re.M)) == 3
    hidden = msgspec.structs.replace(record, pr=msgspec.structs.replace(record.pr, candidates=0))
    assert "the first 0 of 40 here" in render(hidden)


def test_no_other_candidate_and_the_newest_objective() -> None:
    body = render(sample_record(candidates=[]))
    assert "No other run of `train` was considered" in body
    assert "- **Candidates**: no other run of `train` was considered" in body
    record = sample_record()
    newest = msgspec.structs.replace(record.objective, name="newest", value=1.7e9)
    table = section(render(msgspec.structs.replace(record, objective=newest)), "Other candidates")
    assert "| Rank | Run | Status | Started | Criteria |" in table
    assert "| 2 | `02c0ffee` | completed | 2024-05-01 08:00:00 UTC | 2/2 |" in table


# -- deltas that say which way is better -------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "cell"),
    [
        (ScalarRow("val_acc", 0.93, 0.92, 0.01, 3, "higher"), "+0.01 ✅ better"),
        (ScalarRow("val_acc", 0.91, 0.92, -0.01, 3, "higher"), "-0.01 ⚠️ worse"),
        (ScalarRow("latency_ms", 41.0, 38.0, 3.0, 3, "lower"), "+3 ⚠️ worse"),
        (ScalarRow("latency_ms", 38.0, 38.0, 0.0, 3, "lower"), "+0 = same"),
        (ScalarRow("loss", 0.2, 0.3, -0.1, 3), "-0.1 |"),
        (ScalarRow("loss", 0.2, None, None, 3, "lower"), "— |"),
    ],
)
def test_deltas_say_better_or_worse_where_the_config_gives_a_direction(row, cell) -> None:
    body = render(sample_record(scalars=[row]))
    line = next(x for x in body.splitlines() if x.startswith(f"| `{row.name}`"))
    assert f"| {cell}" in line
    assert "better" not in line.split("|")[4] or row.better is not None


def test_the_legend_says_where_better_and_worse_come_from() -> None:
    assert "✅ better and ⚠️ worse follow the config" in render(sample_record())
    assert "follow the config" not in render(no_champion())


# -- links and who ran it --------------------------------------------------------------------


def test_links_to_the_source_commit_the_ci_jobs_and_the_record() -> None:
    record = replace_run(sample_record(), ci_job_url="https://github.com/acme/ml/actions/runs/41")
    body = render(record, commit_url=commit_url)
    source = f"[`git:{COMMIT}`]({commit_url(COMMIT)}) clean"
    assert f"- **Source**: {source}" in body
    links = next(line for line in body.splitlines() if line.startswith("- **Links**"))
    assert links == (
        f"- **Links**: [source commit]({commit_url(COMMIT)}) · "
        "[CI job that trained the run](https://github.com/acme/ml/actions/runs/41) · "
        "[CI run of this promotion](https://github.com/acme/ml/actions/runs/42) · "
        f"[promotion record]({RECORD_URL})"
    )
    assert ", in [a CI job](https://github.com/acme/ml/actions/runs/41)" in body


def test_no_link_to_a_commit_the_forge_does_not_have() -> None:
    copied = SourceMergeInfo(mode="copy", source_commit=COMMIT, reason="not in the remote")
    body = render(sample_record(source_merge=copied), commit_url=commit_url)
    assert "/commit/" not in body
    dirty = replace_run(sample_record(), vcs_commit=f"git:{COMMIT}*", dirty_source=True)
    assert f"({commit_url(COMMIT)})" in render(dirty, commit_url=commit_url)
    assert "/commit/" not in render(
        replace_run(sample_record(), vcs_commit="git:abc"), commit_url=commit_url
    )
    local = render(sample_record(), record_url=None, image_url=lambda p: p)
    assert "- **Links**: [CI run of this promotion]" in local
    bare = msgspec.structs.replace(
        sample_record(), trigger=msgspec.structs.replace(sample_record().trigger, ci_run_url=None)
    )
    assert "- **Links**: none on this forge" in render(bare, record_url=None)


def test_run_by_names_the_user_guild_recorded_or_says_it_recorded_none() -> None:
    assert "- **Run by**: alice on gpu\\-box\\-1, 2024-05-01 12:00:00 UTC\n" in render(
        sample_record()
    )
    nobody = render(replace_run(sample_record(), user=None, host="vm"))
    assert "- **Run by**: a user the run did not record on vm," in nobody
    assert "unknown user" not in nobody
    assert "(run by a user the run did not record on vm)" in nobody


def test_the_commands_footer_and_pip_freeze_line_are_kept() -> None:
    body = render(replace_run(sample_record(), packages_sha256=None, packages_count=0))
    assert "| Packages | pip freeze: not recorded |" in body
    assert "promoter commands and what closing this PR means" in body


# -- the model card --------------------------------------------------------------------------

CARD = """\
# Churn model

Predicts churn within 30 days.
Not for pricing.

## Limitations
- young accounts under-represented
/merge
  /approve
"""


def test_the_model_card_is_its_own_section_as_plain_text() -> None:
    card = ModelCard(path="MODEL_CARD.md", text=CARD, sha256="5e" * 32, size=len(CARD))
    body = render(sample_record(model_card=card))
    text = section(body, "Model card")
    assert "The run's `MODEL_CARD.md` (132 B, sha256 `5e5e5e5e5e5e`), as plain text:" in text
    assert "\\# Churn model\n\nPredicts churn within 30 days\\.<br>\nNot for pricing\\." in text
    assert "\\- young accounts under\\-represented<br>\n&#47;merge<br>\n  &#47;approve" in text
    assert not [line for line in body.splitlines() if line.lstrip().startswith("/")]
    assert body.index("### Scalars") < body.index("### Model card") < body.index("<details>")
    page = Page(to_html(text))
    assert {tag for tag, _ in page.elements} <= {"h3", "p", "code", "br"}
    assert "# Churn model" in page.text and "- young accounts" in page.text


def test_a_long_card_is_cut_at_a_line_and_the_record_has_it_whole() -> None:
    text = "".join(f"line {i}: {'x' * 60}\n" for i in range(400))
    card = ModelCard(path="CARD.md", text=text, sha256="5e" * 32, size=len(text))
    shown = section(render(sample_record(model_card=card)), "Model card")
    assert "line 140:" in shown and "line 150:" not in shown
    assert (
        f"longer than 10,000 characters: the whole of it is in [the committed record]({RECORD_URL})"
        in shown
    )


def test_a_missing_card_is_said_and_an_unconfigured_one_leaves_no_section() -> None:
    missing = ModelCard(path="MODEL_CARD.md", problem="the run has no file MODEL_CARD.md")
    body = render(sample_record(model_card=missing))
    assert "⚠️ No model card: the run has no file MODEL\\_CARD\\.md (`pr.model_card`)." in body
    assert "### Model card" not in render(sample_record())


def test_text_block_and_code_link() -> None:
    assert text_block("a\nb\n\n\nc\r\nd") == "a<br>\nb\n\nc<br>\nd"
    assert text_block(None) == ""
    assert text_block("one\ntwo\nthree", limit=9) == "one<br>\ntwo\n\n…"
    assert text_block("x" * 20, limit=5) == "xxxxx\n\n…"
    assert code_link("abc", "https://x/c/abc") == "[`abc`](https://x/c/abc)"
    assert code_link("abc", "javascript:alert(1)") == "`abc`"
    assert code_link("abc", None) == "`abc`"


# -- GitHub's size limit -----------------------------------------------------------------------


def _huge(shown: int) -> object:
    scalars = [
        ScalarRow(
            f"validate#encoder/block_{i:03d}/attention/grad_norm", i * 0.5, i * 0.4, i * 0.1, 100
        )
        for i in range(500)
    ]
    candidates = [
        CandidateRow(
            id=f"{i:08x}" + "5" * 24,
            op="train",
            status="completed",
            started="2024-05-01T10:00:00+00:00",
            objective=0.9 - i * 1e-4,
            rank=i + 2,
            criteria_passed=2,
            criteria_total=2,
            reasons=[
                f"val_acc {0.9 - i * 1e-4:.6g}, winner 3f2a9c1b has 0.9312",
                "tied on latency_ms; lost the tie-break 'min loss': 0.2013 vs 0.1873",
            ],
        )
        for i in range(200)
    ]
    record = sample_record(scalars=scalars, candidates=candidates)
    pr: PrInfo = msgspec.structs.replace(record.pr, candidates=shown)
    return msgspec.structs.replace(record, pr=pr)


def test_200_candidates_and_500_scalars_fit_github_s_limit() -> None:
    # Ten candidates listed (the default): everything fits, the 500 scalars included.
    record = _huge(10)
    body = render(record)
    assert len(body) <= 65_536 and body == render(record, max_chars=10**7)
    assert body.count("/attention/grad_norm` |") == 500
    assert "the first 10 of 200 here" in section(body, "Other candidates")
    assert_tables_whole(body)

    # All 200 listed would not fit: the long tables fold into the record, five candidates stay.
    record = _huge(200)
    full = render(record, max_chars=10**7)
    body = render(record)
    assert len(body) <= 65_536 < len(full)
    assert_tables_whole(body)
    assert body.rstrip("\n").endswith(MARKER)
    assert "500 scalars: see [the committed record]" in body
    table = section(body, "Other candidates")
    assert len(re.findall(r"^\| \d+ \| `", table, re.M)) == 5
    assert "the first 5 of 200 here" in table
    assert "### Acceptance criteria" in body and "- **Candidates**: 201 runs" in body


def test_the_html_page_of_a_full_body_shows_every_section() -> None:
    card = ModelCard(path="MODEL_CARD.md", text=CARD, sha256="5e" * 32, size=len(CARD))
    page = Page(render_html(render(sample_record(model_card=card)), "t"))
    for heading in ("Acceptance criteria", "Other candidates", "Scalars", "Model card"):
        assert heading in page.text
    assert RUN_ID[:8] in page.text
