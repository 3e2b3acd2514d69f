"""`promoter promote` and `promoter verify` end to end: real Guild runs, real git with a bare
remote, real DVC with a local remote, and the local forge."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import yaml

from promoter.cli import main
from tests.promotion import PROMOTION_CONFIG, make_promotion_repo
from tests.repos import commit_all, dvc, dvc_exe, git, make_dvc_remote, make_repo_with_bare_remote
from tests.test_render import Page, to_html

pytestmark = pytest.mark.slow


class Promo:
    """A project repository ready for promotions, and what it talks to."""

    def __init__(self, tmp_path: Path, home: Path) -> None:
        repo = make_promotion_repo(tmp_path)
        self.work, self.bare, self.dvc_remote = repo.work, repo.bare, repo.dvc_remote
        self.home = home
        self.forge = tmp_path / "forge"

    def promoter(self, *args: str) -> int:
        return main(
            [
                *args[:1],
                "--project",
                str(self.work),
                "--guild-home",
                str(self.home),
                *args[1:],
            ]
        )

    def promote_json(self, capsys, *args: str) -> tuple[int, dict]:
        capsys.readouterr()
        code = self.promoter("promote", "--forge-dir", str(self.forge), "--json", *args)
        captured = capsys.readouterr()
        self.stderr = captured.err
        return code, json.loads(captured.out) if captured.out.strip() else {"err": captured.err}

    def remote_sha(self, branch: str) -> str | None:
        out = git(self.bare, "branch", "--list", branch, "--format=%(objectname)").strip()
        return out or None

    def branch_files(self, branch: str) -> set[str]:
        return set(git(self.bare, "ls-tree", "-r", "--name-only", branch).split())

    def show(self, branch: str, path: str) -> str:
        return git(self.bare, "show", f"{branch}:{path}")

    def state(self) -> tuple[str, str, str]:
        """The user's checkout: HEAD, branches and status (must never change). The DVC cache
        is shared with promotion worktrees on purpose, so it is left out."""
        status = git(self.work, "status", "--porcelain", "--ignored").splitlines()
        return (
            git(self.work, "rev-parse", "HEAD"),
            git(self.work, "branch", "--format=%(refname)"),
            "\n".join(line for line in status if line != "!! .dvc/cache/"),
        )


@pytest.fixture
def promo(guild_world, tmp_path):
    if dvc_exe() is None:
        pytest.skip("dvc is not installed")
    return Promo(tmp_path, guild_world.home)


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def test_full_promotion_then_rerun_is_unchanged(guild_world, promo, capsys):
    before = promo.state()
    code, result = promo.promote_json(capsys)
    assert code == 0, result
    best = guild_world["best"]
    model = guild_world.home / "runs" / best / "model.pkl"
    assert result["decision"] == "promoted"
    assert result["run_id"] == best
    assert result["branch"] == "promote/train"
    assert result["model_md5"] == {"models/model.pkl": _md5(model)}

    files = promo.branch_files("promote/train")
    record_dir = f".promoter/promotions/{best}"
    assert {
        "train.py",
        "params.yml",
        "models/model.pkl.dvc",
        ".promoter/champion.yaml",
        f"{record_dir}/record.yaml",
    } <= files
    assert "models/model.pkl" not in files
    assert any(f.startswith(record_dir) and f.endswith(".png") for f in files)
    md5 = _md5(model)
    assert (promo.dvc_remote / "files" / "md5" / md5[:2] / md5[2:]).is_file()
    # The worktree used the checkout's DVC cache: `dvc checkout` after the merge needs no pull.
    assert (promo.work / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:]).is_file()
    assert yaml.safe_load(promo.show("promote/train", "params.yml"))["acc"] == 0.93

    record = yaml.safe_load(promo.show("promote/train", f"{record_dir}/record.yaml"))
    assert record["run"]["id"] == best
    assert record["dvc"][0]["md5"] == md5
    assert record["dvc"][0]["verified"] is True
    assert [c["passed"] for c in record["criteria"]] == [True]
    champion = yaml.safe_load(promo.show("promote/train", ".promoter/champion.yaml"))
    assert champion["run_id"] == best
    assert champion["model_md5"] == {"models/model.pkl": md5}
    message = git(promo.bare, "log", "-1", "--format=%B", "promote/train")
    assert f"Promoter-Run: {best}" in message

    pr = json.loads((promo.forge / "pull-1.json").read_text())
    assert pr["branch"] == "promote/train"
    assert pr["base"] == "main"
    assert pr["labels"] == ["model-promotion"]
    assert f"run={best} -->" in pr["body"]
    assert result["pr_path"] == str(promo.forge / "pull-1.md")
    assert (promo.forge / "pull-1.html").read_text().startswith("<!")
    linked = promo.forge / "files" / "promote-train" / record_dir / "record.yaml"
    assert yaml.safe_load(linked.read_text())["run"]["id"] == best
    assert promo.state() == before
    assert len(git(promo.work, "worktree", "list").splitlines()) == 1

    sha = promo.remote_sha("promote/train")
    code, again = promo.promote_json(capsys)
    assert code == 0
    assert again["decision"] == "unchanged"
    assert promo.remote_sha("promote/train") == sha
    assert sorted(p.name for p in promo.forge.glob("pull-*.json")) == ["pull-1.json"]

    git(promo.work, "fetch", "-q", "origin", "promote/train")
    capsys.readouterr()
    assert promo.promoter("verify", "FETCH_HEAD") == 0
    assert "present in DVC remote" in capsys.readouterr().out


def test_after_merging_the_champion_is_not_beaten(guild_world, promo, capsys):
    code, _ = promo.promote_json(capsys)
    assert code == 0
    git(promo.bare, "update-ref", "refs/heads/main", "refs/heads/promote/train")
    code, result = promo.promote_json(capsys)
    assert code == 0
    assert result["decision"] == "not-better"
    assert "already the champion" in result["summary"]
    # The champion is read from the base branch, not from what happens to be checked out:
    # this checkout still has no champion.yaml.
    assert not (promo.work / ".promoter" / "champion.yaml").exists()


def test_failed_dvc_push_leaves_everything_as_it_was(guild_world, promo, tmp_path, capsys):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the remote's directory should be")
    dvc(promo.work, "remote", "modify", "storage", "url", str(blocker / "x"))
    commit_all(promo.work, "broken remote")
    git(promo.work, "push", "-q", "origin", "main")
    before = promo.state()
    code, _ = promo.promote_json(capsys)
    assert code == 1
    assert "dvc push" in promo.stderr
    assert promo.remote_sha("promote/train") is None
    assert not list(promo.forge.glob("pull-*"))
    assert promo.state() == before
    assert len(git(promo.work, "worktree", "list").splitlines()) == 1


def test_dry_run_pushes_and_opens_nothing(guild_world, promo, capsys):
    before = promo.state()
    capsys.readouterr()
    code = promo.promoter("promote", "--forge-dir", str(promo.forge), "--dry-run")
    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith("DRY-RUN")
    assert f"run={guild_world['best']} -->" in out
    assert promo.remote_sha("promote/train") is None
    assert not promo.forge.exists()
    assert not (promo.dvc_remote / "files").exists()
    assert promo.state() == before


def test_commits_by_someone_else_on_the_branch_are_never_overwritten(guild_world, promo, capsys):
    code, _ = promo.promote_json(capsys)
    assert code == 0
    other = promo.work.parent / "other"
    git(promo.work.parent, "clone", "-q", "-b", "promote/train", str(promo.bare), str(other))
    (other / "NOTES.md").write_text("reviewer notes\n")
    git(other, "add", "NOTES.md")
    subject = "notes for @boss: !1 ~approved"  # anyone's text, posted back in a comment
    git(other, "-c", "user.name=R", "-c", "user.email=r@example.com", "commit", "-qm", subject)
    git(other, "push", "-q", "origin", "promote/train")
    sha = promo.remote_sha("promote/train")

    code, result = promo.promote_json(capsys, "--run", guild_world["dirty"])
    assert code == 0
    assert result["decision"] == "refused"
    assert "NOTES" not in result["summary"]
    assert "notes" in result["summary"]
    assert promo.remote_sha("promote/train") == sha
    comments = json.loads((promo.forge / "pull-1.json").read_text())["comments"]
    assert "holds commits promoter did not make" in comments[-1]["body"]
    page = Page(to_html(comments[-1]["body"]))
    assert subject in page.text and "@boss" not in page.prose and "!1" not in page.prose


def test_verify_names_what_the_remote_lacks(guild_world, promo, capsys):
    code, result = promo.promote_json(capsys)
    assert code == 0
    md5 = result["model_md5"]["models/model.pkl"]
    (promo.dvc_remote / "files" / "md5" / md5[:2] / md5[2:]).unlink()
    git(promo.work, "fetch", "-q", "origin", "promote/train")
    capsys.readouterr()
    assert promo.promoter("verify", "FETCH_HEAD") == 1
    captured = capsys.readouterr()
    assert "models/model.pkl: not in DVC remote" in captured.out + captured.err

    git(promo.work, "checkout", "-q", "FETCH_HEAD")
    pointer = promo.work / "models" / "model.pkl.dvc"
    pointer.write_text(pointer.read_text().replace(md5, "0" * 32))
    commit_all(promo.work, "someone edits the pointer")
    capsys.readouterr()
    assert promo.promoter("verify", "--json") == 1
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False
    assert report["problems"] == [
        f"models/model.pkl: record md5 {md5} but models/model.pkl.dvc says {'0' * 32}"
    ]
    assert promo.promoter("verify", "main") == 2
    assert "main has no promotion" in capsys.readouterr().err


def test_a_better_run_updates_the_open_pr_in_place_and_says_so(guild_world, promo, capsys):
    code, first = promo.promote_json(capsys, "--run", guild_world["tagged"])
    assert (code, first["decision"]) == (0, "promoted"), first
    old_sha = promo.remote_sha("promote/train")

    code, second = promo.promote_json(capsys)
    assert (code, second["decision"]) == (0, "updated"), second
    assert second["pr_number"] == first["pr_number"] == 1
    assert promo.remote_sha("promote/train") != old_sha
    log = git(
        promo.bare, "log", "--format=%(trailers:key=Promoter-Run,valueonly)", "main..promote/train"
    )
    assert log.split() == [guild_world["best"]]
    pr = json.loads((promo.forge / "pull-1.json").read_text())
    assert f"run={guild_world['best']} -->" in pr["body"]
    assert f"Run {guild_world['tagged'][:8]} is superseded by run" in pr["comments"][0]["body"]
    assert sorted(p.name for p in promo.forge.glob("pull-*.json")) == ["pull-1.json"]


def test_render_prints_the_body_without_writing(guild_world, promo, capsys):
    before = promo.state()
    capsys.readouterr()
    assert promo.promoter("render", guild_world["failed"][:8]) == 0
    body = capsys.readouterr().out
    assert guild_world["failed"][:8] in body.splitlines()[0]
    assert f"run={guild_world['failed']} -->" in body
    assert promo.promoter("render", guild_world["best"], "--format", "html") == 0
    page = capsys.readouterr().out
    assert page.lstrip().lower().startswith("<!doctype html")
    assert "<details" in page
    assert promo.state() == before
    assert promo.remote_sha("promote/train") is None


def test_a_project_in_a_subdirectory_with_its_own_dvc(guild_world, tmp_path, capsys):
    if dvc_exe() is None:
        pytest.skip("dvc is not installed")
    work, bare = make_repo_with_bare_remote(tmp_path)
    project = work / "ml"
    project.mkdir()
    (project / ".promoter.yml").write_text(PROMOTION_CONFIG)
    dvc(project, "init", "--subdir")
    make_dvc_remote(project, tmp_path / "dvc-remote")
    commit_all(work, "ml project")
    git(work, "push", "-q", "origin", "main")
    forge = tmp_path / "forge"
    args = ["--project", str(project), "--guild-home", str(guild_world.home)]
    assert main(["promote", *args, "--forge-dir", str(forge)]) == 0
    files = set(git(bare, "ls-tree", "-r", "--name-only", "promote/train").split())
    assert {"ml/models/model.pkl.dvc", "ml/params.yml", "ml/.promoter/champion.yaml"} <= files
    body = (forge / "pull-1.md").read_text()
    assert "files/promote-train/ml/.promoter/promotions/" in body
    git(work, "fetch", "-q", "origin", "promote/train")
    capsys.readouterr()
    assert main(["verify", *args, "FETCH_HEAD"]) == 0
    assert "present in DVC remote" in capsys.readouterr().out


def test_render_uses_the_projects_own_template_and_refuses_one_outside(
    guild_world, promo, tmp_path, capsys
):
    (promo.work / "body.j2").write_text(
        "Our form: {{ run.id }} {{ run.label }}\n"
        "{% for c in criteria %}{{ c.criterion }}{% endfor %}"
    )
    config = PROMOTION_CONFIG.replace("pr:\n", "pr:\n  template: body.j2\n")
    (promo.work / ".promoter.yml").write_text(config)
    capsys.readouterr()
    assert promo.promoter("render", guild_world["tagged"]) == 0
    body = capsys.readouterr().out
    assert body.startswith(f"Our form: {guild_world['tagged']} candidate")
    assert "latency\\_ms &lt;\\= 50" in body
    assert f"<!-- promoter:op=train run={guild_world['tagged']} -->" in body

    outside = PROMOTION_CONFIG.replace("pr:\n", "pr:\n  template: ../outside.j2\n")
    (promo.work / ".promoter.yml").write_text(outside)
    (tmp_path / "outside.j2").write_text("{{ run.id }}")
    assert promo.promoter("render", guild_world["tagged"]) == 2
    assert "pr.template: ../outside.j2 is not a file in the project" in capsys.readouterr().err


def test_an_open_pr_whose_run_no_longer_wins_is_closed_with_a_reason(guild_world, promo, capsys):
    code, first = promo.promote_json(capsys, "--run", guild_world["tagged"])
    assert (code, first["decision"]) == (0, "promoted")
    champion = {
        "run_id": guild_world["best"],
        "op": "train",
        "objective": {"name": "val_acc", "direction": "max", "value": 0.93},
    }
    (promo.work / ".promoter").mkdir()
    (promo.work / ".promoter" / "champion.yaml").write_text(yaml.safe_dump(champion))
    commit_all(promo.work, "champion merged elsewhere")
    git(promo.work, "push", "-q", "origin", "main")

    code, result = promo.promote_json(capsys)
    assert (code, result["decision"]) == (0, "not-better")
    pr = json.loads((promo.forge / "pull-1.json").read_text())
    assert pr["state"] == "closed"
    assert f"run {guild_world['tagged'][:8]} is no longer" in pr["comments"][-1]["body"]
