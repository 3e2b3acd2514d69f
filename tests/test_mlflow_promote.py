"""``promoter promote`` of MLflow runs end to end: a real tracking server, runs logged from a
real git project, real DVC, the local forge. The run's commit is merged onto the moved base,
only the promoted run's artifacts are fetched, the lineage tag is checked, and a run whose
commit cannot be had is promoted with its artifacts only, saying so."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import yaml

from promoter.cli import main
from tests.mlflowserver import MlflowWorld
from tests.repos import dvc_exe, git

pytestmark = pytest.mark.slow

CONFIG = """\
source: {{type: mlflow, tracking_uri: "{url}", experiment: {experiment}}}
select:
  objective: max val_acc
  where: ["latency_ms <= 50"]
merge:
  flags_file: params.yml
  artifacts: [{{from: model.pkl, to: models/model.pkl, dvc: true}}]
"""


class Repo:
    def __init__(self, world: MlflowWorld, tmp_path: Path, experiment: str) -> None:
        if dvc_exe() is None:
            pytest.skip("dvc is not installed")
        self.world = world
        self.work, self.bare = world.copy_repo(tmp_path)
        self.dvc_remote = tmp_path / "dvc-remote"
        (self.work / ".promoter.yml").write_text(
            CONFIG.format(url=world.server.url, experiment=experiment)
        )
        self.forge = tmp_path / "forge"

    def promote(self, capsys) -> dict:
        capsys.readouterr()
        code = main(
            ["promote", "--project", str(self.work), "--forge-dir", str(self.forge), "--json"]
        )
        out = capsys.readouterr()
        assert code == 0, out.err
        return json.loads(out.out)

    def show(self, path: str, ref: str) -> str:
        return git(self.bare, "show", f"{ref}:{path}")

    def record(self, result: dict, ref: str) -> dict:
        return yaml.safe_load(self.show(result["record"], ref))

    def body(self) -> str:
        return (self.forge / "pull-1.md").read_text()


def _model_md5(world: MlflowWorld, run: str) -> str:
    from mlflow import MlflowClient

    tags = MlflowClient(world.server.url).get_run(world[run]).data.tags
    return tags["dvc_model_md5"]


def test_promote_merges_the_runs_commit_and_fetches_only_its_model(
    mlflow_world: MlflowWorld, tmp_path: Path, capsys
) -> None:
    repo = Repo(mlflow_world, tmp_path, "train")
    server = mlflow_world.server
    since = server.settled()
    result = repo.promote(capsys)
    server.settled()
    assert result["decision"] == "promoted" and result["run_id"] == mlflow_world["best"]
    branch = result["branch"]
    assert branch == "promote/train"
    md5 = _model_md5(mlflow_world, "best")
    assert result["model_md5"] == {"models/model.pkl": md5}
    pointer = yaml.safe_load(repo.show("models/model.pkl.dvc", branch))
    assert pointer["outs"][0]["md5"] == md5
    assert (repo.dvc_remote / "files" / "md5" / md5[:2] / md5[2:]).is_file()
    # The run's commit (a feature branch) merged onto the base, which moved on after the run.
    assert "# feature: a better initialisation" in repo.show("train.py", branch)
    assert repo.show("NOTES.md", branch).startswith("notes added on main")
    assert yaml.safe_load(repo.show("params.yml", branch)) == {"epochs": 3, "lr": 0.05, "seed": 7}
    # Only the promoted run's artifacts were listed or fetched, and only the model.
    assert server.artifact_runs(since) == {mlflow_world["best"]}
    downloads = server.downloads(since)
    assert downloads and all(d.endswith("/artifacts/model.pkl") for d in downloads)
    record = repo.record(result, branch)
    assert record["checks"] == [
        {"name": "dvc_model_md5", "passed": True, "detail": record["checks"][0]["detail"]}
    ]
    assert record["run"]["lineage"]["dvc_model_md5"] == md5
    assert record["source_merge"]["mode"] == "three-way"
    assert record["reproduce"]["command"].startswith(
        f"git checkout {mlflow_world.commits['feature']}\ndvc pull\n"
    )
    body = repo.body()
    assert "Lineage `dvc_model_md5`" in body and "✅ matches the model" in body
    assert "Failed check" not in body
    assert "(uncommitted changes not recorded by the run store)" in body
    assert record["run"]["dirty_known"] is False
    scalar = next(s for s in record["scalars"] if s["name"] == "val_acc")
    assert scalar["steps"] == 3  # the whole history, read for the promoted run
    git(repo.work, "fetch", "-q", "origin", branch)
    assert main(["verify", "--project", str(repo.work), "FETCH_HEAD"]) == 0


def test_a_disagreeing_lineage_tag_is_a_failed_check_shown_first(
    mlflow_world: MlflowWorld, tmp_path: Path, capsys
) -> None:
    repo = Repo(mlflow_world, tmp_path, "lineage")
    result = repo.promote(capsys)
    assert result["run_id"] == mlflow_world["wrong_md5"]
    record = repo.record(result, result["branch"])
    (check,) = record["checks"]
    assert check["passed"] is False and "0" * 32 in check["detail"]
    assert list(record)[:4] == ["schema", "decision", "summary", "checks"]
    body = repo.body()
    first_block = body.split("\n\n")[1]
    assert first_block.startswith("> [!CAUTION]") and "Failed check" in first_block
    assert "❌ disagrees with the model" in body


@pytest.mark.parametrize(
    ("experiment", "reason"),
    [("nogit", "recorded no git commit"), ("unpushed", "is not in the remote")],
)
def test_a_run_without_a_commit_to_merge_brings_artifacts_only(
    mlflow_world: MlflowWorld, tmp_path: Path, capsys, experiment: str, reason: str
) -> None:
    repo = Repo(mlflow_world, tmp_path, experiment)
    # The run was made on another machine: its commit is neither here nor in the remote.
    git(repo.work, "branch", "-D", "local-only")
    git(repo.work, "reflog", "expire", "--expire=now", "--all")
    git(repo.work, "gc", "-q", "--prune=now")
    result = repo.promote(capsys)
    assert result["decision"] == "promoted"
    branch = result["branch"]
    record = repo.record(result, branch)
    assert record["source_merge"]["mode"] == "copy"
    assert record["source_merge"]["snapshot"] is False
    assert reason in record["source_merge"]["reason"]
    files = set(git(repo.bare, "ls-tree", "-r", "--name-only", branch).split())
    assert "local.txt" not in files  # nothing of the unpushed commit
    assert "models/model.pkl.dvc" in files and "params.yml" in files
    body = repo.body()
    assert "Artifacts only: the code that trained this model is not in this PR" in body
    assert "artifacts only: the run's code is not in this PR" in body
    md5 = hashlib.md5(f"model acc=0.9 lr=0.1 name={experiment}\n".encode()).hexdigest()
    assert result["model_md5"] == {"models/model.pkl": md5}


def test_a_missing_artifact_lists_the_artifacts_the_run_has(
    mlflow_world: MlflowWorld, tmp_path: Path, capsys
) -> None:
    repo = Repo(mlflow_world, tmp_path, "train")
    config = repo.work / ".promoter.yml"
    config.write_text(config.read_text().replace("from: model.pkl", "from: model.onnx"))
    capsys.readouterr()
    code = main(["merge", mlflow_world["best"], "--project", str(repo.work), "--preview"])
    err = capsys.readouterr().err
    assert code == 1
    assert "model.onnx: the run has no such generated file; it has: " in err
    assert "checkpoints/model.pkl, model.pkl" in err
