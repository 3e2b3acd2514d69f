"""A project repository ready for promotions, shared by the promote, action and container
tests: the test Guild project, a config, a bare git remote and a local DVC remote."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from tests.guildrun import PROJECT_TEMPLATE
from tests.repos import commit_all, git, make_dvc_remote, make_repo_with_bare_remote

PROMOTION_CONFIG = """\
source: {operation: train}
select:
  objective: max val_acc
  where: ["latency_ms <= 50"]
merge:
  flags_file: params.yml
  artifacts: [{from: model.pkl, to: models/model.pkl, dvc: true}]
pr:
  labels: [model-promotion]
  reviewers: [reviewer-1]
"""


@dataclass(frozen=True)
class PromotionRepo:
    """The working tree, its bare ``origin`` and the DVC remote directory."""

    work: Path
    bare: Path
    dvc_remote: Path


def make_promotion_repo(where: Path, config: str = PROMOTION_CONFIG) -> PromotionRepo:
    """``where/work`` holding the test Guild project and ``config`` as ``.promoter.yml``, with
    DVC set up (default remote ``where/dvc-remote``), committed and pushed to ``where/remote.git``.
    """
    work, bare = make_repo_with_bare_remote(where)
    for name in ("guild.yml", "train.py", "prepare.py"):
        shutil.copy(PROJECT_TEMPLATE / name, work / name)
    (work / ".promoter.yml").write_text(config)
    dvc_remote = where / "dvc-remote"
    make_dvc_remote(work, dvc_remote)
    commit_all(work, "project")
    git(work, "push", "-q", "origin", "main")
    return PromotionRepo(work, bare, dvc_remote)


def read_output_file(text: str) -> dict[str, str]:
    """``$GITHUB_OUTPUT`` as the Linux runner reads it: lines end at "\\n" only."""
    outputs: dict[str, str] = {}
    index = 0

    def read_line() -> tuple[str | None, int]:
        nonlocal index
        if index >= len(text):
            return None, 0
        start = index
        end = text.find("\n", index)
        if end < 0:
            index = len(text)
            return text[start:], 0
        index = end + 1
        return text[start:end], 1

    line, _ = read_line()
    while line is not None:
        if line:
            equals, heredoc = line.find("="), line.find("<<")
            if equals >= 0 and (heredoc < 0 or equals < heredoc):
                name, value = line.split("=", 1)
            else:
                assert heredoc >= 0
                name, delimiter = line.split("<<", 1)
                start = end = index
                inner, newline = read_line()
                while inner != delimiter:
                    assert inner is not None, "delimiter not found"
                    assert newline, "EOF marker missing new line"
                    end = index - newline
                    inner, newline = read_line()
                value = text[start:end] if end > start else ""
            assert name
            outputs[name] = value
        line, _ = read_line()
    return outputs


def action_env(
    event: str,
    event_file: Path,
    repository: str,
    api_url: str,
    workspace: Path,
    guild_home: Path,
    output: Path,
    summary: Path,
    run_id: str = "4242",
    inputs: dict[str, str] | None = None,
) -> dict[str, str]:
    """The environment GitHub's runner gives the action for one event (``inputs`` by their
    ``action.yml`` names, ``_`` for ``-``), pointed at a fake GitHub at ``api_url``."""
    env = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": event,
        "GITHUB_EVENT_PATH": str(event_file),
        "GITHUB_REPOSITORY": repository,
        "GITHUB_SERVER_URL": "https://github.example",
        "GITHUB_API_URL": api_url,
        "GITHUB_WORKSPACE": str(workspace),
        "GITHUB_OUTPUT": str(output),
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_RUN_ID": run_id,
        "GITHUB_REF": "refs/heads/main",
        "GITHUB_ACTOR": "octocat",
        "INPUT_TOKEN": "t",
        "INPUT_GUILD-HOME": str(guild_home),
        "INPUT_DRY-RUN": "false",
        "INPUT_FORGE": "github",
        "INPUT_RUN": "",
        "INPUT_OBJECTIVE": "",
        "INPUT_CONFIG": "",
        "PROMOTER_GITHUB_PACING": "0",
    }
    return env | {f"INPUT_{k.upper().replace('_', '-')}": v for k, v in (inputs or {}).items()}
