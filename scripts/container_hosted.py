"""The hosted-runner workflow (examples/github/promote-hosted.yml) under act, from the image:
nothing on the runner but the checkout. The runs are read from a Guild remote on S3 (moto on
loopback, filled by a real ``guild push``), the model goes to an S3 DVC remote, the AWS keys
come from the workflow's secrets, the PR is opened on the fake GitHub.

The example is used as it is, with two changes only: ``uses: ./`` (the action.yml at the
repository's root, naming the image under test) instead of the published action, and the
commented ``env:`` of keys from secrets instead of the OIDC step, which needs AWS itself.
Called by scripts/container_e2e.py after its other checks.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from tests.fakegithub import FakeGitHub
from tests.guildrun import guild_run
from tests.promotion import make_promotion_repo
from tests.repos import commit_all, dvc, git
from tests.s3server import guild_on_s3, object_gets, s3_server, write_guild_config

if TYPE_CHECKING:
    from collections.abc import Callable

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "github" / "promote-hosted.yml"
REPO = "acme/churn-hosted"
RUNS_BUCKET, RUNS_ROOT, MODELS_BUCKET = "team-guild-runs", "guild", "team-models"
# Steps that talk to AWS or GitHub's artifact service themselves: nothing here answers them.
OFFLINE_ONLY = ("aws-actions/configure-aws-credentials", "actions/upload-artifact")
PROMOTE_OUTPUTS = ("decision", "run-id", "pr-number", "pr-url", "model-md5")
SECRETS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def from_example(
    example: str, marker: str, outputs: tuple[str, ...], env: dict[str, str] | None = None
) -> str:
    """An example workflow run here: its promoter step says ``uses: ./`` (the action.yml at
    the repository's root), with ``env``; steps that need GitHub or AWS themselves (OIDC,
    artifact upload) are left out; the last step echoes ``outputs`` after ``marker``."""
    # YAML 1.1 reads the key `on` as true: put it back.
    loaded: dict[Any, Any] = yaml.safe_load(example)
    workflow: dict[str, Any] = {("on" if k is True else k): v for k, v in loaded.items()}
    (job,) = workflow["jobs"].values()
    steps = [s for s in job["steps"] if not str(s.get("uses", "")).startswith(OFFLINE_ONLY)]
    promoter = next(s for s in steps if s.get("id") == "promoter")
    promoter["uses"] = "./"
    if env:
        promoter["env"] = env
    echo = [f"echo '{marker} {name}=${{{{ steps.promoter.outputs.{name} }}}}'" for name in outputs]
    steps[-1] = {"name": "outputs", "if": "always()", "run": "\n".join(echo) + "\n"}
    job["steps"] = steps
    return yaml.safe_dump(workflow, sort_keys=False)


def hosted_workflow(example: str, marker: str) -> str:
    """The hosted-runner example with the AWS keys from secrets."""
    env = {name: f"${{{{ secrets.{name} }}}}" for name in SECRETS} | {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    return from_example(example, marker, PROMOTE_OUTPUTS, env)


def hosted_config(endpoint: str) -> str:
    """``.promoter.yml``: the runs from the S3 remote, given inline as the example's header says."""
    source = {
        "remote": {
            "type": "s3",
            "bucket": RUNS_BUCKET,
            "root": RUNS_ROOT,
            "region": "us-east-1",
            "endpoint_url": endpoint,
        },
        "operation": "train",
    }
    config = {
        "source": source,
        "select": {"objective": "max val_acc", "where": ["latency_ms <= 50"]},
        "merge": {
            "flags_file": "params.yml",
            "artifacts": [{"from": "model.pkl", "to": "models/model.pkl", "dvc": True}],
        },
        "pr": {"labels": ["model-promotion"]},
    }
    return yaml.safe_dump(config, sort_keys=False)


def hosted_runner(
    work: Path,
    action_yml: str,
    run_act: Callable[..., tuple[dict[str, str], str, float]],
    check: Callable[[object, str], None],
    marker: str,
) -> dict[str, object]:
    """Promote through the example workflow on a schedule; returns what was measured.

    ``run_act(project, workflow, repo, api_url, event, payload, volumes, secrets)`` runs act
    as the caller does for its own workflows.
    """
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    with s3_server(work / "s3") as s3:
        for bucket in (RUNS_BUCKET, MODELS_BUCKET):
            s3.make_bucket(bucket)
        repo = make_promotion_repo(work, hosted_config(s3.endpoint))
        project = repo.work
        dvc(project, "remote", "add", "--default", "--force", "models", f"s3://{MODELS_BUCKET}/dvc")
        dvc(project, "remote", "modify", "models", "endpointurl", s3.endpoint)
        (project / "action.yml").write_text(action_yml)
        workflows = project / ".github" / "workflows"
        workflows.mkdir(parents=True)
        workflow = workflows / "promote.yml"
        workflow.write_text(hosted_workflow(EXAMPLE.read_text(), marker))
        commit_all(project, "promote from the S3 remote on a hosted runner")
        git(project, "push", "-q", "origin", "main")

        # Trained elsewhere (a GPU box), shared by `guild push`; this home never reaches CI.
        home = work / "trainer-guild-home"
        home.mkdir()
        runs = {
            "low": guild_run(project, home, "train", "acc=0.85", "lr=0.1"),
            "best": guild_run(project, home, "train", "acc=0.94", "lr=0.3"),
        }
        spec = {"type": "s3", "bucket": RUNS_BUCKET, "root": RUNS_ROOT, "region": "us-east-1"}
        config = write_guild_config(work / "guild-config.yml", {"team": spec})
        guild_on_s3(project, home, s3, config, "push", "team", "-y")
        pushed = s3.keys(RUNS_BUCKET, f"{RUNS_ROOT}/runs/")
        check(all(any(f"/{r}/" in k for k in pushed) for r in runs.values()), "guild push")

        server = FakeGitHub().start()
        try:
            server.state.add_repo(REPO, bare=repo.bare)
            payload = {
                "schedule": "17 3 * * *",
                "repository": {"full_name": REPO, "default_branch": "main"},
                "workflow": ".github/workflows/promote.yml",
            }
            with s3.record() as requests:
                outputs, summary, seconds = run_act(
                    project, workflow, REPO, server.url, "schedule", payload, (repo.bare,), SECRETS
                )
            check(outputs.get("decision") == "promoted", f"decision {outputs.get('decision')!r}")
            check(outputs.get("run-id") == runs["best"], f"run-id {outputs.get('run-id')!r}")
            md5 = json.loads(outputs.get("model-md5") or "{}").get("models/model.pkl")
            check(md5, f"model-md5 {outputs.get('model-md5')!r}")
            (pull,) = server.state.repo(REPO).pulls
            check(f"run={runs['best']} -->" in pull.body, "the PR names another run")
            check(summary.startswith("## "), f"job summary {summary[:80]!r}")
            stored = s3.keys(MODELS_BUCKET, "dvc/")
            check(any(k.replace("/", "").endswith(str(md5)) for k in stored), "model not in S3")
            gets = object_gets(requests, RUNS_BUCKET)
            models = [k for k in gets if k.endswith("model.pkl")]
            check(any(f"/{runs['best']}/" in k for k in models), f"winner's model not read: {gets}")
            check(len(models) == 1, f"another run's model was downloaded: {models}")
            check(not server.unknown_requests, f"unknown: {server.unknown_requests}")
        finally:
            server.stop()
    return {
        "act_hosted_schedule_s": round(seconds, 1),
        "hosted_objects_read": len(gets),
        "hosted_runs": len(runs),
    }
