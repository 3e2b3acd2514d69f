"""The action's image end to end under `act`, against the fake GitHub on this host.

Makes a demo repository (bare git remote, local DVC remote, the test Guild project and three
real Guild runs), puts an action.yml at its root that names the image as
``docker://IMAGE`` (no Dockerfile: the action is started from the image, as a published
action is) with a workflow that says `uses: ./`, starts ``tests.fakegithub.FakeGitHub`` on
127.0.0.1, then runs act three times (workflow_dispatch, schedule, issue_comment) and checks
the pull request, the action's outputs and its job summary; then the hosted-runner example
workflow (scripts/container_hosted.py: runs from a Guild remote on S3, the model to S3).
Then times the image's cold start with plain `docker run`: to its first line of output, and
to its first reaction on a
`/promote help` comment. Last, GitHub's own layout: the checkout owned by uid 1001 must hold
no file of any other owner after the action wrote its branch, git objects and DVC cache.

Run by scripts/container_ci.sh with the image its release run pushed into a registry on
loopback (``--digest``: the engine must have pulled exactly that). Exits non-zero when a check
fails.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fakegithub import ACTIONS_TOKEN, Comment, FakeGitHub  # noqa: E402
from tests.guildrun import guild_run  # noqa: E402
from tests.promotion import make_promotion_repo, read_output_file  # noqa: E402
from tests.repos import (  # noqa: E402
    commit_all,
    git,
)

REPO = "acme/churn-model"
MARKER = "E2E-OUTPUT"
WORKFLOW = """\
name: promote
on:
  schedule:
    - cron: "17 3 * * *"
  workflow_dispatch:
    inputs:
      run: {{description: Run id to promote, required: false, default: ""}}
      dry_run: {{description: Build and report only, type: boolean, default: false}}
      objective: {{description: Objective override, required: false, default: ""}}
  issue_comment:
    types: [created]
jobs:
  promote:
    if: github.event_name != 'issue_comment' || startsWith(github.event.comment.body, '/promote')
    runs-on: ubuntu-latest
    steps:
      # act copies the local repository here (no download), as GitHub's checkout would.
      - uses: actions/checkout@v4
        with:
          fetch-depth: 0
      - uses: ./
        id: promoter
        with:
          guild-home: {guild_home}
          dry-run: ${{{{ inputs.dry_run || false }}}}
          run: ${{{{ inputs.run }}}}
          objective: ${{{{ inputs.objective }}}}
      - name: outputs
        if: always()
        run: |
          echo "{marker} decision=${{{{ steps.promoter.outputs.decision }}}}"
          echo "{marker} run-id=${{{{ steps.promoter.outputs.run-id }}}}"
          echo "{marker} pr-number=${{{{ steps.promoter.outputs.pr-number }}}}"
          echo "{marker} pr-url=${{{{ steps.promoter.outputs.pr-url }}}}"
          echo '{marker} model-md5=${{{{ steps.promoter.outputs.model-md5 }}}}'
          echo "{marker} workspace-uid=$(stat -c %u .)"
          echo "{marker} foreign=$(find . ! -uid "$(stat -c %u .)" | wc -l)"
"""


RUNNER_UID = 1001


def not_owned_by(top: Path, uid: int) -> list[str]:
    """Paths under ``top`` (itself included) whose owner is not ``uid``."""
    return [str(p.relative_to(top)) for p in (top, *top.rglob("*")) if p.lstat().st_uid != uid]


def open_to_all(top: Path) -> None:
    """Let any user write in ``top``: the local remotes stand for servers, which take pushes
    from whoever runs the action (root in act's root-owned workspace, uid 1001 in GitHub's
    layout). They stay root's: the fake GitHub reads the bare repository with the host's git,
    which refuses a repository of another owner."""
    for path in (top, *top.rglob("*")):
        if not path.is_symlink():
            path.chmod(path.stat().st_mode | 0o666 | (0o111 if path.is_dir() else 0))


def chown_tree(top: Path, uid: int) -> None:
    """Give ``top`` to ``uid`` (when we may), as a runner's checkout is."""
    if os.geteuid() != 0:
        return
    for path in (top, *top.rglob("*")):
        os.lchown(path, uid, uid)


class Failed(Exception):
    """A check that did not hold."""


def check(condition: object, message: str) -> None:
    if not condition:
        raise Failed(message)


class World:
    """The demo repository, its remotes and runs, and the fake GitHub serving it."""

    def __init__(self, work: Path, image: str, action_yml: Path) -> None:
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        self.work = work
        repo = make_promotion_repo(work)
        self.project, self.bare, self.dvc_remote = repo.work, repo.bare, repo.dvc_remote
        self.home = work / "guild-home"
        self.home.mkdir()
        # The action itself, as `uses: ./` finds it at the repository's root, started from
        # the image it names.
        action, count = re.subn(
            r"(?m)^  image: .*$", f"  image: docker://{image}", action_yml.read_text()
        )
        check(count == 1, f"{action_yml} has no `  image:` line")
        (self.project / "action.yml").write_text(action)
        workflows = self.project / ".github" / "workflows"
        workflows.mkdir(parents=True)
        self.workflow = workflows / "promote.yml"
        self.workflow.write_text(WORKFLOW.format(guild_home=self.home, marker=MARKER))
        commit_all(self.project, "the promoter action")
        git(self.project, "push", "-q", "origin", "main")
        self.runs = {
            "low": guild_run(self.project, self.home, "train", "acc=0.80", "lr=0.1"),
            "candidate": guild_run(self.project, self.home, "train", "acc=0.90", "lr=0.2"),
            "best": guild_run(self.project, self.home, "train", "acc=0.93", "lr=0.3"),
        }
        # GitHub's runner checks out as its own user (uid 1001) and runs Docker actions as root.
        chown_tree(self.project, RUNNER_UID)
        self.server = FakeGitHub().start()
        state = self.server.state
        state.add_repo(REPO, bare=self.bare)
        for login, role in (("octocat", "admin"), ("reviewer-1", "write")):
            state.set_permission(REPO, login, role)
        self.api_url = self.server.url
        self.count = 0

    def comment(self, body: str, author: str = "octocat") -> dict:
        """An issue with a comment on the fake server, and its issue_comment payload."""
        state = self.server.state
        issue = state.add_issue(REPO, "Model quality")
        comment_id = 9000 + issue.number
        with state.lock:
            state.repo(REPO).comments[comment_id] = Comment(comment_id, issue.number, author, body)
        return {
            "action": "created",
            # A pull request's conversation: commands on plain issues are only answered.
            "issue": {
                "number": issue.number,
                "title": "Model quality",
                "pull_request": {"url": f"{self.api_url}/repos/{REPO}/pulls/{issue.number}"},
            },
            "comment": {
                "id": comment_id,
                "body": body,
                "user": {"login": author, "type": "User"},
                "author_association": "OWNER",
            },
            "repository": {"full_name": REPO, "default_branch": "main"},
            "sender": {"login": author},
        }

    def reactions(self, comment_id: int) -> list[str]:
        return [r.content for r in self.server.state.repo(REPO).comments[comment_id].reactions]

    def pulls(self) -> list:
        return list(self.server.state.repo(REPO).pulls)


def act(world: World, exe: str, event: str, payload: dict) -> tuple[dict[str, str], str, float]:
    """Run the workflow for one event; returns the outputs the next step echoed, the job
    summary, and the seconds act took."""
    volumes = (world.home, world.bare, world.dvc_remote)
    return run_act(
        exe, world.work, world.project, world.workflow, REPO, world.api_url, event, payload, volumes
    )


def run_act(
    exe: str,
    work: Path,
    project: Path,
    workflow: Path,
    repo: str,
    api_url: str,
    event: str,
    payload: dict,
    volumes: tuple[Path, ...] = (),
    secrets: dict[str, str] | None = None,
) -> tuple[dict[str, str], str, float]:
    """act on ``workflow`` of ``project`` for one event, ``volumes`` mounted at their own
    paths in the job; the outputs the workflow echoed after MARKER, the job summary, and the
    seconds act took."""
    count = len(list(work.glob("event-*.json"))) + 1
    event_file = work / f"event-{count}-{event}.json"
    event_file.write_text(json.dumps(payload))
    act_home = work / "act-home"
    act_home.mkdir(exist_ok=True)
    cmd = [
        exe,
        event,
        "-e",
        str(event_file),
        "-W",
        str(workflow),
        "-C",
        str(project),
        "-P",
        "ubuntu-latest=debian:bookworm-slim",
        "--pull=false",  # pulls the action's image only when the engine lacks it
        "--network",
        "host",
        "--container-daemon-socket",
        "-",  # no docker socket inside the job: the action needs none
        "--actor",
        "octocat",
        "-s",
        f"GITHUB_TOKEN={ACTIONS_TOKEN}",
        "--env",
        f"GITHUB_API_URL={api_url}",
        "--env",
        "GITHUB_SERVER_URL=https://github.example",
        "--env",
        f"GITHUB_REPOSITORY={repo}",
        "--env",
        "GITHUB_RUN_ID=4242",
        "--env",
        "PROMOTER_GITHUB_PACING=0",
        "--json",
    ]
    if volumes:
        cmd += ["--container-options", " ".join(f"-v {p}:{p}" for p in volumes)]
    for name, value in (secrets or {}).items():
        cmd += ["-s", f"{name}={value}"]
    # act's own config and cache stay in the work dir (no ~/.actrc, no ~/.cache/act).
    env = {**os.environ, "HOME": str(act_home), "XDG_CONFIG_HOME": str(act_home / ".config")}
    env["XDG_CACHE_HOME"] = str(act_home / ".cache")
    started = time.monotonic()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600, check=False)
    seconds = time.monotonic() - started
    log = work / f"act-{count}-{event}.log"
    log.write_text(done.stdout + done.stderr)
    outputs: dict[str, str] = {}
    summary = ""
    for line in done.stdout.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        msg = str(entry.get("msg", ""))
        if entry.get("command") == "summary":
            summary += str(entry.get("content", ""))
        if msg.startswith(MARKER + " "):
            key, _, value = msg[len(MARKER) + 1 :].rstrip("\n").partition("=")
            outputs[key] = value
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-40:])
        raise Failed(f"act {event} exited {done.returncode} (log: {log}):\n{tail}")
    return outputs, summary, seconds


def expect_pr(world: World, run_id: str) -> dict:
    pulls = world.pulls()
    check(len(pulls) == 1, f"one promotion PR expected, the fake has {len(pulls)}")
    pull = pulls[0]
    check(f"run={run_id} -->" in pull.body, f"the PR body has no marker for run {run_id}")
    check(pull.pull.head_ref == "promote/train", f"head branch {pull.pull.head_ref!r}")
    check(pull.labels == ["model-promotion"], f"labels {pull.labels!r}")
    branch = git(world.bare, "branch", "--list", "promote/train", "--format=%(objectname)")
    check(branch.strip(), "no promote/train branch in the bare remote")
    return {"number": pull.number, "title": pull.title}


def expect_outputs(outputs: dict[str, str], decision: str, run_id: str, summary: str) -> None:
    got = outputs.get("decision")
    check(got == decision, f"decision {got!r}, not {decision}")
    check(outputs.get("run-id") == run_id, f"run-id {outputs.get('run-id')!r}, not {run_id}")
    check(outputs.get("pr-number"), "no pr-number output")
    check(outputs.get("pr-url", "").endswith("/pull/" + outputs["pr-number"]), "bad pr-url")
    md5 = json.loads(outputs.get("model-md5") or "{}")
    check(md5.get("models/model.pkl"), f"model-md5 {outputs.get('model-md5')!r}")
    check(summary.startswith("## "), f"job summary {summary[:80]!r}")


def check_owners(outputs: dict[str, str]) -> None:
    """Nothing in act's workspace belongs to anyone but the workspace's owner."""
    owner = outputs.get("workspace-uid")
    foreign = outputs.get("foreign")
    check(foreign == "0", f"{foreign} paths in the workspace are not owned by uid {owner}")


def check_pulled(image: str, digest: str) -> None:
    """The engine holds ``image`` as pulled from its registry, at ``digest``."""
    done = subprocess.run(
        ["docker", "image", "inspect", "-f", "{{json .RepoDigests}}", image],
        capture_output=True,
        text=True,
        check=False,
    )
    check(done.returncode == 0, f"{image} is not in the engine: {done.stderr.strip()}")
    repo = image.rsplit(":", 1)[0]
    check(f"{repo}@{digest}" in json.loads(done.stdout), f"{image}: {done.stdout.strip()}")


def cold_start(world: World, image: str) -> dict[str, float]:
    """`docker run` of the image on a `/promote help` comment: seconds to the first line of
    output and to the first reaction the fake GitHub receives."""
    payload = world.comment("/promote help")
    comment_id = payload["comment"]["id"]
    event_file = world.work / f"event-cold-{comment_id}.json"
    event_file.write_text(json.dumps(payload))
    out_dir = world.work / f"cold-{comment_id}"
    out_dir.mkdir()
    env = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": "issue_comment",
        "GITHUB_EVENT_PATH": str(event_file),
        "GITHUB_REPOSITORY": REPO,
        "GITHUB_SERVER_URL": "https://github.example",
        "GITHUB_API_URL": world.api_url,
        "GITHUB_WORKSPACE": str(world.project),
        "GITHUB_OUTPUT": str(out_dir / "output"),
        "GITHUB_STEP_SUMMARY": str(out_dir / "summary"),
        "GITHUB_RUN_ID": "4242",
        "GITHUB_REF": "refs/heads/main",
        "GITHUB_ACTOR": "octocat",
        "INPUT_TOKEN": ACTIONS_TOKEN,
        "INPUT_GUILD-HOME": str(world.home),
        "INPUT_FORGE": "github",
        "INPUT_DRY-RUN": "false",
        "PROMOTER_GITHUB_PACING": "0",
    }
    cmd = ["docker", "run", "--rm", "--network", "host"]
    for path in (world.work,):
        cmd += ["-v", f"{path}:{path}"]
    for key, value in env.items():
        cmd += ["-e", f"{key}={value}"]
    cmd.append(image)
    reacted: list[float] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            if world.server.calls("POST", rf"/comments/{comment_id}/reactions$"):
                reacted.append(time.monotonic())
                return
            time.sleep(0.005)

    watcher = threading.Thread(target=watch, daemon=True)
    started = time.monotonic()
    watcher.start()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    first = proc.stdout.readline()
    first_line = time.monotonic()
    rest = proc.stdout.read()
    code = proc.wait(timeout=120)
    finished = time.monotonic()
    watcher.join(timeout=2)
    stop.set()
    check(code == 0, f"docker run on /promote help exited {code}:\n{first}{rest}")
    check(first.strip(), "the container printed nothing")
    check(reacted, "no reaction reached the fake GitHub")
    check("eyes" in world.reactions(comment_id), f"reactions {world.reactions(comment_id)}")
    return {
        "first_line_s": round(first_line - started, 2),
        "first_reaction_s": round(reacted[0] - started, 2),
        "exit_s": round(finished - started, 2),
    }


def compare(world: World, images: list[str], repeat: int) -> dict[str, dict[str, float]]:
    """Cold starts of each image, taken in turns so that load on the machine hits all alike;
    the median of each measure, per image."""
    runs: dict[str, list[dict[str, float]]] = {image: [] for image in images}
    for _ in range(repeat):
        for image in images:
            runs[image].append(cold_start(world, image))
    medians = {
        image: {key: statistics.median(r[key] for r in times) for key in times[0]}
        for image, times in runs.items()
    }
    for image, m in medians.items():
        print(
            f"  {image}: median of {repeat}: first line {m['first_line_s']}s, "
            f"first reaction {m['first_reaction_s']}s, exit {m['exit_s']}s"
        )
    return medians


def github_layout(world: World, image: str) -> dict[str, object]:
    """The image run the way GitHub's runner runs a Docker action: the checkout (owned by the
    runner's uid) at /github/workspace, the event under /github/workflow, file commands under
    /github/file_commands, the Guild home inside the workspace, and runs trained at the
    runner's path of the checkout, not at /github/workspace. A better run arrives: the PR is
    updated."""
    checkout = world.work / "runner" / "work" / "churn-model"
    checkout.parent.mkdir(parents=True)
    git(world.work, "clone", "-q", str(world.bare), str(checkout))
    with (checkout / ".git" / "info" / "exclude").open("a") as f:
        f.write(".guild-home/\n")
    home = checkout / ".guild-home"
    home.mkdir()
    run = guild_run(checkout, home, "train", "acc=0.95", "lr=0.4")
    sha = git(checkout, "rev-parse", "HEAD").strip()
    chown_tree(checkout, RUNNER_UID)
    for remote in (world.bare, world.dvc_remote):
        open_to_all(remote)
    workflow, commands = world.work / "runner" / "workflow", world.work / "runner" / "commands"
    workflow.mkdir()
    commands.mkdir()
    (workflow / "event.json").write_text(
        json.dumps({"schedule": "17 3 * * *", "repository": {"full_name": REPO}})
    )
    env = {
        "HOME": "/github/home",
        "GITHUB_ACTIONS": "true",
        "CI": "true",
        "GITHUB_EVENT_NAME": "schedule",
        "GITHUB_EVENT_PATH": "/github/workflow/event.json",
        "GITHUB_REPOSITORY": REPO,
        "GITHUB_SERVER_URL": "https://github.example",
        "GITHUB_API_URL": world.api_url,
        "GITHUB_WORKSPACE": "/github/workspace",
        "GITHUB_OUTPUT": "/github/file_commands/output",
        "GITHUB_STEP_SUMMARY": "/github/file_commands/summary",
        "GITHUB_RUN_ID": "4243",
        "GITHUB_REF": "refs/heads/main",
        "GITHUB_SHA": sha,
        "GITHUB_ACTOR": "octocat",
        "RUNNER_TEMP": "/github/runner_temp",
        "INPUT_TOKEN": ACTIONS_TOKEN,
        "INPUT_GUILD-HOME": "/github/workspace/.guild-home",
        "INPUT_FORGE": "github",
        "INPUT_DRY-RUN": "false",
        "INPUT_RUN": "",
        "INPUT_OBJECTIVE": "",
        "INPUT_CONFIG": "",
        "PROMOTER_GITHUB_PACING": "0",
    }
    cmd = ["docker", "run", "--rm", "--network", "host", "--workdir", "/github/workspace"]
    mounts = {
        checkout: "/github/workspace",
        workflow: "/github/workflow",
        commands: "/github/file_commands",
        world.bare: world.bare,  # origin, and the DVC remote, at their own paths
        world.dvc_remote: world.dvc_remote,
    }
    for source, target in mounts.items():
        cmd += ["-v", f"{source}:{target}"]
    for key, value in env.items():
        cmd += ["-e", f"{key}={value}"]
    cmd.append(image)
    started = time.monotonic()
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    seconds = time.monotonic() - started
    (world.work / "github-layout.log").write_text(done.stdout + done.stderr)
    output_file, summary_file = commands / "output", commands / "summary"
    outputs = read_output_file(output_file.read_text()) if output_file.exists() else {}
    summary = summary_file.read_text() if summary_file.exists() else ""
    if done.returncode != 0 or outputs.get("decision") != "updated":
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-30:])
        raise Failed(f"GitHub layout: exit {done.returncode}, outputs {outputs}:\n{tail}")
    expect_outputs(outputs, "updated", run, summary)
    expect_pr(world, run)
    foreign = not_owned_by(checkout, RUNNER_UID)
    check(not foreign, f"{len(foreign)} paths in the checkout are not uid 1001's: {foreign[:5]}")
    created = [".git/promoter", ".dvc/cache", ".git/refs/remotes/origin/promote/train"]
    check(all((checkout / p).exists() for p in created), "the run left none of " + str(created))
    return {"github_layout_s": round(seconds, 1), "decision": outputs["decision"]}


def hosted(world: World, exe: str) -> dict[str, object]:
    """scripts/container_hosted.py with this world's act and action.yml."""
    from container_hosted import hosted_runner

    def act_hosted(project, workflow, repo, api_url, event, payload, volumes, secrets):  # type: ignore[no-untyped-def]
        return run_act(
            exe,
            world.work / "hosted",
            project,
            workflow,
            repo,
            api_url,
            event,
            payload,
            volumes,
            secrets,
        )

    action_yml = (world.project / "action.yml").read_text()
    try:
        return hosted_runner(world.work / "hosted", action_yml, act_hosted, check, MARKER)
    except (RuntimeError, AssertionError) as e:
        raise Failed(f"hosted runner: {e}") from e


def register_on_push(world: World, exe: str) -> dict[str, object]:
    """PR #1 merged as GitHub's button does, then examples/github/register.yml under act on
    the push to main: the champion is tagged ``train@v0.1.0`` on the merge commit, in the
    bare remote, and the history is in the summary and the plot output."""
    from container_hosted import from_example

    from tests.fakegithub.state import now
    from tests.merging import merge_pull

    before = git(world.bare, "rev-parse", "main").strip()
    merged = merge_pull(world.bare, world.work / "merger", "promote/train", 1)
    (issue,) = world.pulls()
    issue.state, issue.closed_at = "closed", now()
    issue.pull.merged = True
    checkout = world.work / "register-checkout"  # what actions/checkout leaves: the merge
    git(world.work, "clone", "-q", str(world.bare), str(checkout))
    example = (ROOT / "examples" / "github" / "register.yml").read_text()
    workflow = world.work / "register.yml"
    workflow.write_text(
        from_example(example, MARKER, ("decision", "run-id", "tag", "history-plot"))
    )
    payload = {
        "ref": "refs/heads/main",
        "before": before,
        "after": merged,
        "head_commit": {"id": merged},
        "repository": {"full_name": REPO, "default_branch": "main"},
        "sender": {"login": "octocat", "type": "User"},
    }
    outputs, summary, seconds = run_act(
        exe, world.work, checkout, workflow, REPO, world.api_url, "push", payload, (world.bare,)
    )
    check(outputs.get("decision") == "registered", f"push: decision {outputs.get('decision')!r}")
    check(outputs.get("tag") == "train@v0.1.0", f"push: tag {outputs.get('tag')!r}")
    check(outputs.get("history-plot") == "promoter-history.png", "push: no history plot")
    tagged = git(world.bare, "rev-parse", "--verify", "-q", "train@v0.1.0^{commit}").strip()
    check(tagged == merged, f"train@v0.1.0 is on {tagged[:12]}, not the merge {merged[:12]}")
    check("| `train@v0.1.0` |" in summary, f"the summary has no history: {summary[:200]!r}")
    return {"act_push_register_s": round(seconds, 1), "tag": outputs["tag"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--act", required=True, help="the act executable")
    parser.add_argument("--image", required=True, help="the action's image, REGISTRY/NAME:TAG")
    parser.add_argument("--digest", help="the digest the registry gives the image")
    parser.add_argument(
        "--action-yml", type=Path, default=ROOT / "action.yml", help="the action.yml to use"
    )
    parser.add_argument("--work", type=Path, required=True, help="scratch dir (emptied)")
    parser.add_argument("--results", type=Path, help="write the measurements here (JSON)")
    parser.add_argument(
        "--compare",
        action="append",
        default=[],
        metavar="IMAGE",
        help="also time IMAGE's cold start, alternating with --image (docs/benchmarks.md)",
    )
    parser.add_argument("--repeat", type=int, default=5, help="cold starts per image to compare")
    args = parser.parse_args()
    os.environ.setdefault("DVC_NO_ANALYTICS", "1")
    results: dict[str, object] = {}
    t0 = time.monotonic()
    try:
        world = World(args.work.resolve(), args.image, args.action_yml)
    except Failed as e:
        print(f"FAIL: {e}", file=sys.stderr)
        return 1
    results["setup_s"] = round(time.monotonic() - t0, 1)
    print(f"  demo repo, 3 guild runs, fake GitHub at {world.api_url}: {results['setup_s']}s")
    try:
        # 1. by hand, on a given run (the weaker candidate): a new PR.
        run = world.runs["candidate"]
        payload = {
            "inputs": {"run": run[:8], "dry_run": "false", "objective": ""},
            "ref": "refs/heads/main",
            "repository": {"full_name": REPO, "default_branch": "main"},
            "sender": {"login": "octocat"},
        }
        outputs, summary, seconds = act(world, args.act, "workflow_dispatch", payload)
        expect_outputs(outputs, "promoted", run, summary)
        check_owners(outputs)
        pr = expect_pr(world, run)
        if args.digest:  # act started the action from the registry's image, pulled
            check_pulled(args.image, args.digest)
        results["act_workflow_dispatch_s"] = round(seconds, 1)
        print(
            f"  workflow_dispatch: {outputs['decision']} PR #{pr['number']} in {seconds:.1f}s "
            f"(image pulled by act: {args.image}; workspace uid {outputs['workspace-uid']})"
        )

        # 2. nightly: the best run beats it, the same PR is updated in place.
        payload = {
            "schedule": "17 3 * * *",
            "repository": {"full_name": REPO, "default_branch": "main"},
            "workflow": ".github/workflows/promote.yml",
        }
        outputs, summary, seconds = act(world, args.act, "schedule", payload)
        expect_outputs(outputs, "updated", world.runs["best"], summary)
        check_owners(outputs)
        check(outputs["pr-number"] == str(pr["number"]), "the schedule opened another PR")
        expect_pr(world, world.runs["best"])
        check(any(world.dvc_remote.rglob("*")), "nothing was pushed to the DVC remote")
        results["act_schedule_s"] = round(seconds, 1)
        print(f"  schedule: {outputs['decision']} PR #{outputs['pr-number']} in {seconds:.1f}s")

        # 3. `/promote` in a comment: already promoted, so unchanged, with reactions and a reply.
        payload = world.comment("/promote")
        comment_id = payload["comment"]["id"]
        outputs, summary, seconds = act(world, args.act, "issue_comment", payload)
        check(outputs.get("decision") == "unchanged", f"decision {outputs.get('decision')!r}")
        check_owners(outputs)
        reactions = world.reactions(comment_id)
        check(reactions[:1] == ["eyes"] and len(reactions) == 2, f"reactions {reactions}")
        replies = world.server.state.repo(REPO).comments_on(payload["issue"]["number"])
        check(replies[-1].body.startswith("> `/promote`"), "no reply to the comment")
        check("actions/runs/4242" in replies[-1].body, "the reply has no link to the run")
        results["act_issue_comment_s"] = round(seconds, 1)
        print(f"  issue_comment /promote: {outputs['decision']}, {reactions} in {seconds:.1f}s")

        # 4. cold start of the image itself (no act): first line, first reaction.
        results.update(cold_start(world, args.image))
        print(
            f"  docker run, /promote help: first line {results['first_line_s']}s, "
            f"first reaction {results['first_reaction_s']}s, exit {results['exit_s']}s"
        )
        # 5. GitHub's own layout (no act): /github/workspace, runs trained elsewhere.
        layout = github_layout(world, args.image)
        results["github_layout_s"] = layout["github_layout_s"]
        seconds = layout["github_layout_s"]
        print(
            f"  GitHub layout, schedule, better run: {layout['decision']} in {seconds}s; "
            "every path in the checkout still uid 1001's"
        )
        # 6. The hosted-runner example: runs from a Guild remote on S3, the model to S3.
        results.update(hosted(world, args.act))
        print(
            f"  hosted runner (examples/github/promote-hosted.yml), schedule: promoted from "
            f"the S3 remote in {results['act_hosted_schedule_s']}s, "
            f"{results['hosted_objects_read']} objects read, no other run's model"
        )
        # 7. The promotion merged: the push registers the champion (examples/github/register.yml).
        registered = register_on_push(world, args.act)
        results["act_push_register_s"] = registered["act_push_register_s"]
        print(
            f"  push after the merge (examples/github/register.yml): registered "
            f"{registered['tag']} on the merge commit in {registered['act_push_register_s']}s"
        )
        if args.compare:
            results["compare"] = compare(world, [args.image, *args.compare], args.repeat)
        check(not world.server.unknown_requests, f"unknown: {world.server.unknown_requests}")
        check(not world.server.errors, f"the fake failed: {world.server.errors!r}")
    except Failed as e:
        print(f"FAIL: {e}", file=sys.stderr)
        return 1
    finally:
        world.server.stop()
    if args.results:
        args.results.write_text(json.dumps(results, indent=2) + "\n")
    print("  e2e: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
