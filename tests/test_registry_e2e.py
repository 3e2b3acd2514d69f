"""After the merge, with the real tools: a promotion merged with a merge commit, registered as
an annotated tag that ``gto`` reads, pushed to the bare remote; an inference repository that
``dvc import``s the registered version and gets the record's md5; a second promotion merged
later gets the next version, and ``dvc update`` there gets it."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from promoter.cli import main
from tests.guildrun import PROJECT_TEMPLATE, guild_exe, guild_run
from tests.merging import merge_pull, push_commit
from tests.repos import commit_all, dvc, dvc_exe, git, make_dvc_remote, make_repo_with_bare_remote

pytestmark = pytest.mark.slow

CONFIG = """\
source: {operation: train}
select:
  objective: max val_acc
  where: ["latency_ms <= 50"]
merge:
  flags_file: params.yml
  artifacts: [{from: model.pkl, to: models/model.pkl, dvc: true}]
pr: {model_card: MODEL_CARD.md}
"""
# The run writes its own model card, one line of it hostile.
CARD_WRITER = """
with open("MODEL_CARD.md", "w") as card:
    card.write(f"# Churn model (acc={acc})\\n\\nIntended use: ranking.\\n")
    card.write("</details><img src=x onerror=alert(1)>\\n")
"""


def gto(cwd: Path, *args: str) -> str:
    """Run GTO (PyPI ``gto``, installed with dvc) in ``cwd``."""
    exe = Path(sys.executable).with_name("gto")
    done = subprocess.run([str(exe), *args], cwd=cwd, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


class Team:
    """The training repository (bare remote, DVC remote, local forge) and its runs."""

    def __init__(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        if guild_exe() is None or dvc_exe() is None:
            pytest.skip("guild and dvc are needed")
        self.tmp, self.capsys = tmp_path, capsys
        self.work, self.bare = make_repo_with_bare_remote(tmp_path)
        for name in ("guild.yml", "train.py"):
            shutil.copy(PROJECT_TEMPLATE / name, self.work / name)
        with (self.work / "train.py").open("a") as train:
            train.write(CARD_WRITER)
        (self.work / ".promoter.yml").write_text(CONFIG)
        make_dvc_remote(self.work, tmp_path / "dvc-remote")
        commit_all(self.work, "the project")
        git(self.work, "push", "-q", "origin", "main")
        self.home = tmp_path / "guild-home"
        self.home.mkdir()
        self.forge = tmp_path / "forge"
        self.pulls = 0

    def cli(self, *args: str) -> dict:  # type: ignore[type-arg]
        self.capsys.readouterr()
        project = ("--project", str(self.work))
        code = main([args[0], *project, *args[1:], "--json"])
        out = self.capsys.readouterr()
        assert code == 0, out.err
        return json.loads(out.out)  # type: ignore[no-any-return]

    def promote_and_merge(self, acc: float) -> tuple[str, str]:
        run = guild_run(self.work, self.home, "train", f"acc={acc}")
        result = self.cli("promote", "--guild-home", str(self.home), "--forge-dir", str(self.forge))
        assert (result["decision"], result["run_id"]) == ("promoted", run)
        self.pulls += 1
        merged = merge_pull(
            self.bare, self.tmp / "merger", "promote/train", self.pulls, forge_dir=self.forge
        )
        return run, merged

    def register(self, *args: str) -> dict:  # type: ignore[type-arg]
        return self.cli("register", "--forge-dir", str(self.forge), *args)

    def remote_tags(self) -> dict[str, str]:
        out = git(self.bare, "for-each-ref", "--format=%(refname:short) %(objecttype)", "refs/tags")
        return dict(line.split() for line in out.splitlines())

    def record(self, ref: str, run: str) -> dict:  # type: ignore[type-arg]
        text = git(self.bare, "show", f"{ref}:.promoter/promotions/{run}/record.yaml")
        return yaml.safe_load(text)  # type: ignore[no-any-return]


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest()


def test_registered_versions_are_what_gto_lists_and_what_a_consumer_imports(
    tmp_path, capsys
) -> None:
    team = Team(tmp_path, capsys)
    first, merge_1 = team.promote_and_merge(0.8)

    result = team.register()
    assert result["decision"] == "registered"
    (track,) = result["tracks"]
    assert track["tag"] == "train@v0.1.0" and track["created"] is True
    assert (track["run_id"], track["commit"], track["pr_number"]) == (first, merge_1, 1)
    assert team.remote_tags() == {"train@v0.1.0": "tag"}
    assert git(team.bare, "rev-parse", "train@v0.1.0^{commit}").strip() == merge_1
    message = git(team.bare, "tag", "-l", "--format=%(contents)", "train@v0.1.0")
    assert f"Run: {first} (train)" in message
    assert "Pull request: #1" in message and "Objective: max val_acc = 0.8" in message
    assert f"Promoter-Run: {first}" in message

    # A second registration adds nothing, and says which tag holds the run.
    again = team.register()
    assert again["decision"] == "registered"
    assert again["tracks"][0]["created"] is False
    assert "registered already as train@v0.1.0" in again["tracks"][0]["summary"]
    assert team.remote_tags() == {"train@v0.1.0": "tag"}

    reader = tmp_path / "reader"
    git(tmp_path, "clone", "-q", str(team.bare), str(reader))
    shown = json.loads(gto(reader, "show", "--json"))
    assert shown["train"]["version"] == "v0.1.0" and shown["train"]["registered"] is True

    # The inference repository imports the registered version: exactly the record's model.
    consumer = tmp_path / "inference"
    git(tmp_path, "init", "-q", "-b", "main", str(consumer))
    dvc(consumer, "init", "-q")
    dvc(
        consumer,
        "import",
        str(team.bare),
        "models/model.pkl",
        "--rev",
        "train@v0.1.0",
        "-o",
        "model.pkl",
    )
    wanted = team.record("train@v0.1.0", first)["dvc"][0]["md5"]
    pointer = yaml.safe_load((consumer / "model.pkl.dvc").read_text())
    assert pointer["outs"][0]["md5"] == wanted == _md5(consumer / "model.pkl")
    assert pointer["deps"][0]["repo"]["rev"] == "train@v0.1.0"

    # A commit on main without a promotion changes nothing; the next promotion is v0.2.0.
    push_commit(team.bare, tmp_path / "merger", "NOTES.md", "notes\n")
    git(team.work, "pull", "-q", "--ff-only", "origin", "main")
    second, merge_2 = team.promote_and_merge(0.85)
    result = team.register()
    assert result["tracks"][0]["tag"] == "train@v0.2.0"
    assert result["tracks"][0]["commit"] == merge_2
    assert team.remote_tags() == {"train@v0.1.0": "tag", "train@v0.2.0": "tag"}
    git(reader, "fetch", "-q", "--tags", "origin")
    assert json.loads(gto(reader, "show", "--json"))["train"]["version"] == "v0.2.0"

    dvc(consumer, "update", "--rev", "train@v0.2.0", "model.pkl.dvc")
    wanted = team.record("train@v0.2.0", second)["dvc"][0]["md5"]
    pointer = yaml.safe_load((consumer / "model.pkl.dvc").read_text())
    assert pointer["outs"][0]["md5"] == wanted == _md5(consumer / "model.pkl")
    assert wanted != team.record("train@v0.1.0", first)["dvc"][0]["md5"]

    # The second PR's body: the first champion listed among the other candidates, the card.
    body = (team.forge / "pull-2.md").read_text()
    assert f"| 2 | `{first[:8]}` | completed | 0.8 | -0.05 | 1/1 | val\\_acc 0\\.8, winner" in body
    assert "### Model card" in body and "\\# Churn model \\(acc\\=0\\.85\\)" in body
    assert "&lt;/details&gt;&lt;img src\\=x onerror\\=alert\\(1\\)&gt;" in body
    assert "unknown user" not in body
    card = team.record("train@v0.2.0", second)["model_card"]
    assert card["path"] == "MODEL_CARD.md" and card["text"].startswith("# Churn model (acc=0.85)")

    history = team.cli("history", "--plot", str(tmp_path / "history.png"))
    (track,) = history["tracks"]
    assert track["name"] == "train" and track["base"] == "main"
    champions = track["champions"]
    assert [(c["run_id"], c["tag"], c["commit"]) for c in champions] == [
        (first, "train@v0.1.0", merge_1),
        (second, "train@v0.2.0", merge_2),
    ]
    # float32, as Guild logs scalars: 0.85 reads back as 0.8500000238418579
    assert [c["objective"]["value"] for c in champions] == pytest.approx([0.8, 0.85])
    assert champions[1]["objective"]["name"] == "val_acc"
    assert champions[1]["objective"]["direction"] == "max"
    assert champions[1]["criteria"][0]["criterion"] == "latency_ms <= 50"
    assert champions[1]["criteria"][0]["passed"] is True
    assert champions[1]["pull_request"] == 2
    assert (tmp_path / "history.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
