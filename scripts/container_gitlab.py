"""The promoter image in a real GitLab CI runner: gitlab-ci-local runs
examples/gitlab/.gitlab-ci.yml against the fake GitLab on this host.

Makes a demo project (the test Guild project, real Guild runs, a local DVC remote, its git
``origin`` on the fake GitLab over HTTP, so that gitlab-ci-local derives ``CI_SERVER_URL``,
``CI_PROJECT_PATH`` and the rest from it as a runner would), commits the example pipeline as
its ``.gitlab-ci.yml``, then runs five pipelines, each with the image's jobs in containers:

1. ``schedule`` (the nightly): a merge request is opened; the ``report`` job reads the
   dotenv report;
2. ``web`` with ``PROMOTER_DRY_RUN=true`` from the Run pipeline form: nothing is pushed;
3. ``trigger`` with a ``/promote`` note in ``TRIGGER_PAYLOAD`` (a file variable), after a
   better run: 👀 then 🚀 on the note, a reply, the merge request updated in place;
4. ``schedule`` again, with the CI/CD component (templates/promoter/template.yml) included
   at the project's commit instead of the example: nothing new, nothing changed;
5. ``push`` to ``main`` after the merge request is merged: the ``register`` job tags the
   merge commit ``train@v0.1.0`` (``PROMOTER_TAG``) and keeps the history's plot.

The token is a project variable from a variables file and must not appear in any log.

    python scripts/container_gitlab.py --image promoter-action:ci \\
        --docker-host unix:///path/docker.sock --work /tmp/gitlab-e2e

Needs a running container engine at ``--docker-host`` with the image and
``debian:bookworm-slim`` (scripts/container_ci.sh makes both), node and npm (gitlab-ci-local
4.55.0 is installed into ``--tools``), and rsync. Where the engine or a tool is missing it
prints one line, ``gitlab-ci-local checks skipped: <reason>``, and exits 0. Exits 1 when a
check fails.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fakegitlab import DEFAULT_TOKEN, DEFAULT_USER, DEVELOPER, FakeGitLab  # noqa: E402
from tests.guildrun import guild_run  # noqa: E402
from tests.merging import merge_pull  # noqa: E402
from tests.promotion import make_promotion_repo  # noqa: E402
from tests.repos import commit_all, git  # noqa: E402

GCL_VERSION = "4.55.0"
UTIL_IMAGE = "docker.io/firecow/gitlab-ci-local-util"
PATH_IN_GITLAB = "ml/churn-model"
EXAMPLE = ROOT / "examples" / "gitlab" / ".gitlab-ci.yml"
COMPONENT = ROOT / "templates" / "promoter" / "template.yml"
VARIABLES_FILE = ".gitlab-ci-local-variables.yml"  # untracked: never copied into a job


class Failed(Exception):
    """A check that did not hold."""


class Skipped(Exception):
    """What this machine lacks to run the checks."""


def check(condition: object, message: str) -> None:
    if not condition:
        raise Failed(message)


def run(cmd: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, check=False, **kw)  # type: ignore[call-overload]


# --- tools ------------------------------------------------------------------------------------


def ensure_engine(image: str) -> None:
    done = run(["docker", "info", "--format", "{{.ServerVersion}}"])
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or ["no answer"])[-1]
        raise Skipped(f"no container engine at {os.environ.get('DOCKER_HOST', '')}: {reason}")
    for name in (image, "debian:bookworm-slim"):
        if run(["docker", "image", "inspect", name]).returncode != 0:
            raise Skipped(f"image {name} is not in the engine (scripts/container_ci.sh builds it)")


def ensure_rsync() -> None:
    if shutil.which("rsync"):
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise Skipped("rsync is missing and cannot be installed here (needs root and apt-get)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    done = run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", "rsync"], env=env)
    if done.returncode != 0 or not shutil.which("rsync"):
        raise Skipped(f"apt-get install rsync failed: {done.stderr.strip()[-200:]}")


def ensure_gitlab_ci_local(tools: Path) -> Path:
    exe = tools / "node_modules" / ".bin" / "gitlab-ci-local"
    if exe.exists() and run([str(exe), "--version"]).stdout.strip() == GCL_VERSION:
        return exe
    if not shutil.which("npm") or not shutil.which("node"):
        raise Skipped("node and npm are needed for gitlab-ci-local")
    tools.mkdir(parents=True, exist_ok=True)
    package = f"gitlab-ci-local@{GCL_VERSION}"
    done = run(["npm", "install", "--no-audit", "--no-fund", "--prefix", str(tools), package])
    if done.returncode != 0 or not exe.exists():
        raise Skipped(f"npm install gitlab-ci-local@{GCL_VERSION} failed: {done.stderr[-300:]}")
    return exe


def ensure_util_image() -> None:
    """gitlab-ci-local's helper image copies file variables and artifacts with bash and rsync;
    no registry is reachable here, so it is made from the local Debian base."""
    if run(["docker", "image", "inspect", UTIL_IMAGE]).returncode == 0:
        return
    dockerfile = (
        "FROM debian:bookworm-slim\n"
        "RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends rsync "
        "&& rm -rf /var/lib/apt/lists/*\n"
    )
    env = {**os.environ, "DOCKER_BUILDKIT": "0"}
    cmd = ["docker", "build", "--network", "host", "-q", "-t", UTIL_IMAGE, "-"]
    done = run(cmd, input=dockerfile, env=env)
    if done.returncode != 0:
        raise Failed(f"could not build {UTIL_IMAGE}: {done.stderr[-500:]}")


# --- the project and its GitLab ----------------------------------------------------------------


class World:
    """The demo project on the fake GitLab, its runs, and gitlab-ci-local to run its pipeline."""

    def __init__(self, work: Path, gcl: Path, image: str) -> None:
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        self.work, self.gcl, self.image = work, gcl, image
        repo = make_promotion_repo(work)
        self.project, self.bare, self.dvc_remote = repo.work, repo.bare, repo.dvc_remote
        self.home = work / "guild-home"
        self.home.mkdir()
        shutil.copy(EXAMPLE, self.project / ".gitlab-ci.yml")
        (self.project / "templates" / "promoter").mkdir(parents=True)
        shutil.copy(COMPONENT, self.project / "templates" / "promoter" / "template.yml")
        with (self.project / ".git" / "info" / "exclude").open("a") as exclude:
            exclude.write(f"{VARIABLES_FILE}\n.gitlab-ci-local/\npromoter.env\n")
        commit_all(self.project, "the promoter pipeline")
        git(self.project, "push", "-q", "origin", "main")
        self.runs = {
            "candidate": guild_run(self.project, self.home, "train", "acc=0.90", "lr=0.2"),
            "best": guild_run(self.project, self.home, "train", "acc=0.93", "lr=0.3"),
        }
        self.server = FakeGitLab().start()
        state = self.server.state
        self.gl_project = state.add_project(PATH_IN_GITLAB, bare=self.bare)
        for name in ("alice", "reviewer-1"):
            state.set_access(self.gl_project, name, DEVELOPER)
        self.discussion = state.add_merge_request(
            self.gl_project, "experiment", "main", "Model quality", author="alice"
        )
        # As a GitLab checkout: origin is the project's HTTP URL (no credentials in it).
        git(self.project, "remote", "set-url", "origin", f"{self.server.url}/{PATH_IN_GITLAB}.git")
        git(self.project, "fetch", "-q", str(self.bare), "+refs/heads/*:refs/remotes/origin/*")
        git(self.project, "remote", "set-head", "origin", "main")
        self.count = 0

    def pipeline(
        self, source: str, variables: dict[str, str], files: dict[str, str] | None = None
    ) -> tuple[dict[str, str], str, float]:
        """One pipeline of ``source``: the dotenv report, gitlab-ci-local's output, seconds."""
        self.count += 1
        project_vars: dict[str, object] = {"PROMOTER_TOKEN": DEFAULT_TOKEN}
        for name, content in (files or {}).items():
            project_vars[name] = {"type": "file", "values": {"*": content}}
        (self.project / VARIABLES_FILE).write_text(json.dumps(project_vars))
        shutil.rmtree(self.project / ".gitlab-ci-local", ignore_errors=True)
        (self.project / "promoter.env").unlink(missing_ok=True)
        given = {
            "CI_PIPELINE_SOURCE": source,
            "GITLAB_CI": "true",  # gitlab-ci-local says false; GitLab's runners say true
            "CI_PROJECT_ID": str(self.gl_project.id),
            "PROMOTER_IMAGE": self.image,
            "PROMOTER_GUILD_HOME": str(self.home),
            **variables,
        }
        cmd = [str(self.gcl), "--variables-file", VARIABLES_FILE]  # run in the project
        for key, value in given.items():
            cmd += ["--variable", f"{key}={value}"]
        cmd += ["--network", "host", "--pull-policy", "if-not-present", "--no-color"]
        for path in (self.home, self.dvc_remote):
            cmd += ["--volume", f"{path}:{path}"]
        started = time.monotonic()
        home = {**os.environ, "HOME": str(self.work / "gcl-home")}
        done = run(cmd, timeout=900, cwd=self.project, env=home)
        seconds = time.monotonic() - started
        output = done.stdout + done.stderr
        (self.work / f"gitlab-ci-local-{self.count}-{source}.log").write_text(output)
        check(DEFAULT_TOKEN not in output, "the token is in gitlab-ci-local's output")
        if done.returncode != 0:
            tail = "\n".join(output.splitlines()[-40:])
            raise Failed(f"gitlab-ci-local ({source}) exited {done.returncode}:\n{tail}")
        artifacts = self.project / ".gitlab-ci-local" / "artifacts"
        reports = list(artifacts.glob("*/.gitlab-ci-reports/dotenv/promoter.env"))
        check(len(reports) == 1, f"{len(reports)} dotenv reports after the {source} pipeline")
        text = reports[0].read_text()
        check(DEFAULT_TOKEN not in text, "the token is in the dotenv report")
        report = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
        return report, output, seconds

    def promotions(self) -> list:
        mrs = self.gl_project.merge_requests.values()
        return [mr for mr in mrs if mr is not self.discussion]

    def branch(self) -> str:
        return git(self.bare, "branch", "--list", "promote/train", "--format=%(objectname)").strip()

    def note(self, body: str, author: str = "alice") -> tuple[dict, int]:
        """A note on the discussion MR and the webhook payload GitLab would send for it."""
        state = self.server.state
        note = state.add_note(self.gl_project, self.discussion, body, author=author)
        user = state.add_user(author)
        web = f"{self.server.url}/{PATH_IN_GITLAB}"
        payload = {
            "object_kind": "note",
            "event_type": "note",
            "user": {"id": user.id, "name": user.name, "username": author},
            "project_id": self.gl_project.id,
            "project": {"id": self.gl_project.id, "path_with_namespace": PATH_IN_GITLAB},
            "object_attributes": {
                "id": note.id,
                "note": body,
                "noteable_type": "MergeRequest",
                "noteable_id": self.discussion.id,
                "system": False,
                "action": "create",
                "url": f"{web}/-/merge_requests/{self.discussion.iid}#note_{note.id}",
            },
            "merge_request": {"id": self.discussion.id, "iid": self.discussion.iid},
        }
        return payload, note.id


def expect_report(report: dict[str, str], decision: str, run_id: str) -> None:
    check(
        report.get("PROMOTER_DECISION") == decision,
        f"decision {report.get('PROMOTER_DECISION')!r}, not {decision}",
    )
    check(report.get("PROMOTER_RUN_ID") == run_id, f"run id {report.get('PROMOTER_RUN_ID')!r}")


def scenarios(world: World) -> dict[str, float]:
    results: dict[str, float] = {}
    best = world.runs["best"]

    # 1. The nightly: one merge request, and the report job reads the dotenv report.
    report, output, seconds = world.pipeline("schedule", {})
    expect_report(report, "promoted", best)
    (mr,) = world.promotions()
    check(report.get("PROMOTER_MR_IID") == str(mr.iid), f"MR iid {report.get('PROMOTER_MR_IID')}")
    check(f"run={best} -->" in (mr.description or ""), "the MR has no marker for the best run")
    check(json.loads(report["PROMOTER_MODEL_MD5"]).get("models/model.pkl"), "no model md5")
    check(world.branch(), "no promote/train branch on the remote")
    check(f"promoter decided promoted for run {best}" in output, "the report job did not run")
    check("section_start:" in output and "promoter_body" in output, "no MR body section")
    results["schedule_s"] = round(seconds, 1)
    print(f"  schedule: promoted !{mr.iid} in {seconds:.1f}s")

    # 2. Run pipeline, PROMOTER_DRY_RUN=true: report only.
    sha, description = world.branch(), mr.description
    report, output, seconds = world.pipeline(
        "web", {"PROMOTER_DRY_RUN": "true", "PROMOTER_RUN": world.runs["candidate"][:8]}
    )
    expect_report(report, "dry-run", world.runs["candidate"])
    check(world.branch() == sha and mr.description == description, "a dry run changed the MR")
    check(len(world.promotions()) == 1, "a dry run opened a merge request")
    results["web_dry_run_s"] = round(seconds, 1)
    print(f"  web, PROMOTER_DRY_RUN=true PROMOTER_RUN=<candidate>: dry-run in {seconds:.1f}s")

    # 3. A better run, then /promote in a note on a merge request (the webhook's pipeline).
    better = guild_run(world.project, world.home, "train", "acc=0.95", "lr=0.4")
    payload, note_id = world.note("/promote")
    report, output, seconds = world.pipeline(
        "trigger", {}, files={"TRIGGER_PAYLOAD": json.dumps(payload)}
    )
    expect_report(report, "updated", better)
    note = world.gl_project.notes[note_id]
    awards = [a.name for a in note.awards]
    check(awards == ["eyes", "rocket"], f"award emoji {awards}")
    bot = world.server.state.user_named(DEFAULT_USER)
    replies = [
        n.body
        for n in world.gl_project.notes_on("MergeRequest", world.discussion.iid)
        if bot is not None and n.author_id == bot.id
    ]
    check(len(replies) == 1 and replies[0].startswith("> `/promote`"), f"replies {replies}")
    check(f"merge request !{mr.iid}" in replies[0], "the reply does not name the MR")
    check(len(world.promotions()) == 1 and world.branch() != sha, "the MR was not updated")
    superseded = world.gl_project.notes_on("MergeRequest", mr.iid)
    check(any("superseded" in n.body for n in superseded), "no note on the updated MR")
    results["trigger_note_s"] = round(seconds, 1)
    print(f"  trigger, /promote note: updated !{mr.iid}, {awards}, in {seconds:.1f}s")

    # 4. The CI/CD component instead of the example: included at this commit, as GitLab would.
    head = git(world.project, "rev-parse", "HEAD").strip()
    host = world.server.url.split("://", 1)[1]
    (world.project / ".gitlab-ci.yml").write_text(
        "include:\n"
        f"  - component: {host}/{PATH_IN_GITLAB}/promoter@{head}\n"
        "    inputs:\n"
        "      image: $PROMOTER_IMAGE\n"
        "      guild-home: $PROMOTER_GUILD_HOME\n"
        "      job-name: nightly-promotion\n"
    )
    report, output, seconds = world.pipeline("schedule", {})
    expect_report(report, "unchanged", better)
    check("nightly-promotion" in output, "the component's job did not run")
    check(len(world.promotions()) == 1, "the component opened another merge request")
    results["component_schedule_s"] = round(seconds, 1)
    print(f"  component, schedule: unchanged (nothing new) in {seconds:.1f}s")

    # 5. The MR merged: the push pipeline on main registers the champion (the register job).
    git(world.project, "checkout", "-q", "--", ".gitlab-ci.yml")
    before = git(world.bare, "rev-parse", "main").strip()
    merged = merge_pull(world.bare, world.work / "merger", "promote/train", mr.iid)
    mr.state = "merged"
    git(world.project, "fetch", "-q", str(world.bare), "+refs/heads/*:refs/remotes/origin/*")
    git(world.project, "reset", "-q", "--hard", merged)  # the runner checks out the push
    push = {"CI_COMMIT_BRANCH": "main", "CI_DEFAULT_BRANCH": "main", "CI_COMMIT_SHA": merged}
    report, output, seconds = world.pipeline("push", push | {"CI_COMMIT_BEFORE_SHA": before})
    expect_report(report, "registered", better)
    check(report.get("PROMOTER_TAG") == "train@v0.1.0", f"tag {report.get('PROMOTER_TAG')!r}")
    tagged = git(world.bare, "rev-parse", "--verify", "-q", "train@v0.1.0^{commit}").strip()
    check(tagged == merged, f"train@v0.1.0 is on {tagged[:12]}, not the merge {merged[:12]}")
    check("tag train@v0.1.0" in output, "the report job did not read the tag")
    plots = list((world.project / ".gitlab-ci-local" / "artifacts").rglob("promoter-history.png"))
    check(plots, "no promoter-history.png artifact")
    results["push_register_s"] = round(seconds, 1)
    print(f"  push to main after the merge: registered train@v0.1.0 in {seconds:.1f}s")
    check(not world.server.unknown_requests, f"unknown: {world.server.unknown_requests}")
    check(not world.server.errors, f"the fake failed: {world.server.errors!r}")
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", required=True, help="the promoter image")
    parser.add_argument("--docker-host", required=True, help="DOCKER_HOST of a running engine")
    parser.add_argument("--work", type=Path, required=True, help="scratch dir (emptied)")
    parser.add_argument("--tools", type=Path, help="where gitlab-ci-local is installed")
    parser.add_argument("--results", type=Path, help="write the timings here (JSON)")
    args = parser.parse_args()
    os.environ["DOCKER_HOST"] = args.docker_host
    os.environ.setdefault("DVC_NO_ANALYTICS", "1")
    work = args.work.resolve()
    tools = (args.tools or work.parent / "gitlab-ci-local").resolve()
    try:
        ensure_engine(args.image)
        ensure_rsync()
        gcl = ensure_gitlab_ci_local(tools)
        ensure_util_image()
    except Skipped as e:
        print(f"gitlab-ci-local checks skipped: {e}")
        return 0
    except Failed as e:
        print(f"FAIL: {e}", file=sys.stderr)
        return 1
    started = time.monotonic()
    world = World(work, gcl, args.image)
    print(f"  gitlab-ci-local {GCL_VERSION}, demo project on the fake GitLab at {world.server.url}")
    try:
        results = scenarios(world)
    except Failed as e:
        print(f"FAIL: {e}", file=sys.stderr)
        return 1
    finally:
        world.server.stop()
    results["total_s"] = round(time.monotonic() - started, 1)
    if args.results:
        args.results.write_text(json.dumps(results, indent=2) + "\n")
    print(f"  gitlab-ci-local: 5 pipelines passed in {results['total_s']}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
