"""The GitHub API failing under a promotion: 5xx, 429 with and without ``Retry-After``,
secondary rate limits, 401, 404, 422, a server that never answers, an answer lost after the
write. ``promoter event`` runs in this process against the fake GitHub (real Guild runs, git
and DVC); for each fault: the decision, exit code and annotation the job outputs, and that
nothing is left half-done (one PR, one branch, the model in the remote).

The client's waits are shortened (1 s timeout, 2 retries, 1 s longest wait) so that a
hanging server costs seconds here; :func:`test_the_default_bounds` computes what the defaults
allow on GitHub.
"""

from __future__ import annotations

import time
from dataclasses import replace
from types import SimpleNamespace

import pytest

from promoter.forges import github
from promoter.forges.github import BAD_CREDENTIALS, GitHubSettings
from tests.faultworld import World, convergence
from tests.repos import dvc_exe

pytestmark = pytest.mark.slow

QUICK = {"timeout": 1, "retries": 2, "longest_wait": 1.0}
QUICK_BOUND = 12.0
"""Seconds a job may take under a persistent fault with QUICK settings: 3 attempts of at most
1 s connect + 1 s read, backoffs of 0 and 1 s, plus the job's own work."""


@pytest.fixture
def world(guild_world, fake_github, tmp_path, monkeypatch) -> World:
    if dvc_exe() is None:
        pytest.skip("dvc is not installed")
    original = GitHubSettings.paced
    monkeypatch.setattr(
        GitHubSettings, "paced", lambda self, factor: replace(original(self, factor), **QUICK)
    )
    return World(tmp_path, fake_github, guild_world.home)


def _annotation(job) -> str:
    kinds = sorted({line.split(" ", 1)[0].split("::")[1] for line in job.annotations})
    return ", ".join(f"::{k}" for k in kinds) or "none"


def _set_title(world: World, title: str) -> None:
    with world.server.state.lock:
        world.repo.issues[1].title = title


def _drop_labels(world: World) -> None:
    with world.server.state.lock:
        world.repo.issues[1].labels.clear()


# name -> (plan the fault, before-run change to the PR, decision, exit code, text in the log)
RECOVERED = {
    "502 once": lambda s: s.fail_next("GET", r"/pulls$", status=502),
    "503 twice": lambda s: s.fail_next("GET", r"/pulls$", status=503, times=2),
    "429 with Retry-After": lambda s: s.fail_next(
        "GET", r"/pulls$", status=429, headers={"Retry-After": "1"}
    ),
    "429 without Retry-After": lambda s: s.fail_next("GET", r"/pulls$", status=429),
    "secondary rate limit with Retry-After": lambda s: s.rate_limit_next("GET", r"/pulls$"),
    "secondary rate limit without Retry-After": lambda s: s.rate_limit_next(
        "GET", r"/pulls$", retry_after=None
    ),
    "no answer once (timeout)": lambda s: s.hold_next("GET", r"/pulls$"),
    "connection dropped once": lambda s: s.lose_answer_next("GET", r"/pulls$"),
    "502 on PATCH": lambda s: s.fail_next("PATCH", r"/pulls/1$", status=502),
    "429 on PATCH": lambda s: s.fail_next(
        "PATCH", r"/pulls/1$", status=429, headers={"Retry-After": "1"}
    ),
    "secondary rate limit on POST labels": lambda s: s.rate_limit_next(
        "POST", r"/issues/1/labels$"
    ),
}
FAILED = {
    "5xx every time": (lambda s: s.fail_next("GET", r"/pulls$", status=502, times=9), "502"),
    "429 every time": (lambda s: s.fail_next("GET", r"/pulls$", status=429, times=9), "429"),
    "401 Bad credentials": (
        lambda s: s.fail_next("GET", r"/churn-model$", status=401),
        BAD_CREDENTIALS,
    ),
    "404 (no such repository, or no access)": (
        lambda s: s.fail_next("GET", r"/churn-model$", status=404),
        "GitHub API error 404",
    ),
    "422 on PATCH": (
        lambda s: s.fail_next(
            "PATCH",
            r"/pulls/1$",
            status=422,
            body={"message": "Validation Failed", "errors": [{"code": "invalid"}]},
        ),
        "GitHub API error 422: Validation Failed",
    ),
    "a server that never answers": (
        lambda s: s.hold_next("GET", r"/pulls$", times=9),
        "GitHub API unreachable or failing",
    ),
}


def test_faults_on_an_open_promotion_recover_or_fail_cleanly(
    world, guild_world, monkeypatch, capsys, ledger
) -> None:
    """One promotion, then each fault on the re-runs that find it (``unchanged``, with a
    title and labels to put back so that PATCH and POST are exercised)."""
    entry = ledger("retries")
    first = world.event_here(monkeypatch, capsys)
    assert (first.code, first.outputs["decision"]) == (0, "promoted"), first.stderr
    sha = world.branch_sha()
    problems = []
    for name, plan in RECOVERED.items():
        _set_title(world, "edited by someone")
        _drop_labels(world)
        world.server.faults.clear()
        world.server.clear_requests()
        plan(world.server)
        job = world.event_here(monkeypatch, capsys)
        served = [r for r in world.server.calls() if r.fault]
        state = convergence(world)
        entry.case(faults=len(served))
        entry.measured(state.duplicates, state.lost)
        entry.outcome(name, job.outputs.get("decision", ""), job.code, _annotation(job))
        if (job.code, job.outputs.get("decision")) != (0, "unchanged") or not served:
            problems.append(f"{name}: {job.code} {job.outputs} faults served {len(served)}")
        problems += [f"{name}: {p}" for p in state.problems(guild_world["best"])]
        if world.pulls()[0].title == "edited by someone" or world.branch_sha() != sha:
            problems.append(f"{name}: the PR was not put back, or the branch moved")
    for name, (plan, text) in FAILED.items():
        _set_title(world, "edited by someone")
        world.server.faults.clear()
        world.server.clear_requests()
        plan(world.server)
        started = time.monotonic()
        job = world.event_here(monkeypatch, capsys)
        took = time.monotonic() - started
        served = [r for r in world.server.calls() if r.fault]
        entry.case(faults=len(served))
        state = convergence(world)
        entry.measured(state.duplicates, state.lost)
        entry.outcome(name, job.outputs.get("decision", ""), job.code, _annotation(job))
        if (job.code, job.outputs.get("decision")) != (1, "failed"):
            problems.append(f"{name}: {job.code} {job.outputs}")
        if not any(line.startswith("::error") and text in line for line in job.annotations):
            problems.append(f"{name}: no ::error with {text!r}: {job.annotations}")
        if took > QUICK_BOUND:
            problems.append(f"{name}: took {took:.1f} s")
        if state.all_prs != 1 or world.branch_sha() != sha or state.lost:
            problems.append(f"{name}: something changed: {state}")
    assert problems == []
    assert len(world.server.calls("GET", r"/churn-model$")) == 1, "a 401 is not retried"


def test_an_answer_lost_after_the_pr_was_created_ends_with_one_pr(
    world, guild_world, monkeypatch, capsys, ledger
) -> None:
    """The POST that opens the PR takes effect and its answer never comes (a dropped
    connection, then a request held past the timeout): the retry meets "already exists",
    and the same job goes on with that PR."""
    entry = ledger("retries")
    world.server.lose_answer_next("POST", r"/pulls$")
    world.server.hold_next("POST", r"/pulls$", carry_out=True)
    job = world.event_here(monkeypatch, capsys)
    state = convergence(world)
    entry.case(faults=2)
    entry.measured(state.duplicates, state.lost)
    entry.outcome(
        "answer lost after the PR was created", job.outputs.get("decision", ""), job.code, "none"
    )
    assert (job.code, job.outputs["decision"]) == (0, "promoted"), job.stderr
    statuses = [(r.status, r.effect) for r in world.server.calls("POST", r"/pulls$")]
    assert statuses[0] == (0, 201), "the first request opened the PR"
    assert all(status in (0, 422) for status, _ in statuses[1:])
    assert state.problems(guild_world["best"]) == []
    assert job.outputs["pr-number"] == str(world.pulls()[0].number)


def test_a_refused_create_or_labels_are_finished_by_the_rerun(
    world, guild_world, monkeypatch, capsys, ledger
) -> None:
    """Half-done states a forge error leaves: a branch without its PR (a 422 on create), a
    PR without its labels (5xx on every try); the next run finishes them."""
    entry = ledger("retries")
    world.server.fail_next(
        "POST",
        r"/pulls$",
        status=422,
        body={"message": "Validation Failed", "errors": [{"code": "custom", "message": "x"}]},
    )
    job = world.event_here(monkeypatch, capsys)
    entry.case()
    entry.outcome("422 on create", job.outputs.get("decision", ""), job.code, _annotation(job))
    assert (job.code, job.outputs["decision"]) == (1, "failed")
    assert world.branch_sha() and world.pulls() == []
    assert convergence(world).lost == 0, "the pushed branch's model is in the remote"
    world.server.fail_next("POST", r"/issues/\d+/labels$", status=502, times=9)
    job = world.event_here(monkeypatch, capsys)
    entry.case(faults=3)
    entry.outcome(
        "5xx on every labels request", job.outputs.get("decision", ""), job.code, _annotation(job)
    )
    assert (job.code, job.outputs["decision"]) == (1, "failed")
    assert len(world.pulls()) == 1 and world.pulls()[0].labels == []
    world.server.faults.clear()
    job = world.event_here(monkeypatch, capsys)
    state = convergence(world)
    entry.measured(state.duplicates, state.lost)
    assert (job.code, job.outputs["decision"]) == (0, "unchanged")
    assert state.problems(guild_world["best"]) == []


def test_every_wait_is_capped_so_a_call_ends_in_bounded_time() -> None:
    """With the defaults, whatever the server does, one API call ends within
    :func:`worst_call_seconds`: every attempt times out, every wait is capped, even a
    ``Retry-After`` of an hour."""
    from urllib3.util.retry import RequestHistory

    settings = GitHubSettings(repository="o/r", token="t")
    retry = github._retry(settings)

    answer = SimpleNamespace(status=429, headers={"Retry-After": "3600"})
    assert retry.get_retry_after(answer) == settings.longest_wait
    for n in range(settings.retries):
        history = tuple(RequestHistory("GET", "/x", None, 502, None) for _ in range(n + 1))
        assert retry.new(history=history).get_backoff_time() <= settings.longest_wait
    assert retry.total == settings.retries
    assert worst_call_seconds(settings) == 640


def worst_call_seconds(settings: GitHubSettings) -> float:
    """Every attempt waits out its connect and read timeouts, every retry its longest wait."""
    attempts = settings.retries + 1
    return attempts * 2 * settings.timeout + settings.retries * settings.longest_wait


REPLY_FAULTS = {
    "answer to the reply lost": lambda s: s.lose_answer_next("POST", COMMENTS),
    "reply held past the timeout": lambda s: s.hold_next("POST", COMMENTS, carry_out=True),
    "502 after the reply was written": lambda s: s.fail_next(
        "POST", COMMENTS, status=502, carry_out=True
    ),
    "502 before the reply was written": lambda s: s.fail_next("POST", COMMENTS, status=502),
    "429 on the reply": lambda s: s.fail_next(
        "POST", COMMENTS, status=429, headers={"Retry-After": "1"}
    ),
    "secondary rate limit on the reply": lambda s: s.rate_limit_next("POST", COMMENTS),
}
COMMENTS = r"/issues/\d+/comments$"


def test_a_reply_is_posted_once_whatever_its_answer(world, monkeypatch, capsys, ledger) -> None:
    """Posting a comment is not idempotent: a blind retry after a lost answer says it twice."""
    entry = ledger("retries")
    problems = []
    for name, plan in REPLY_FAULTS.items():
        payload = world.comment("/promote help")
        world.server.faults.clear()
        plan(world.server)
        job = world.event_here(monkeypatch, capsys, "issue_comment", payload)
        replies = world.replies(payload)
        entry.case()
        entry.measured(duplicates=max(0, len(replies) - 1))
        entry.outcome(name, job.outputs.get("decision", ""), job.code, _annotation(job))
        if (job.code, job.outputs.get("decision"), len(replies)) != (0, "help", 1):
            problems.append(f"{name}: {job.code} {job.outputs} {len(replies)} replies")
    assert problems == []


def test_a_git_server_that_never_answers_fails_the_job_in_bounded_time(
    tmp_path, monkeypatch, ledger
) -> None:
    """Git's own network calls: promoter gives git a low-speed limit (here shortened)."""
    import socket
    import threading

    from promoter.errors import PromoterError
    from promoter.promotion.promote import PromoteRequest, promote
    from promoter.settings import resolve_settings
    from promoter.tools.git import Git
    from tests.memory import MemoryForge, memory_world
    from tests.repos import git, make_repo_with_bare_remote

    entry = ledger("retries")
    monkeypatch.delenv("GIT_HTTP_LOW_SPEED_TIME", raising=False)
    monkeypatch.delenv("GIT_HTTP_LOW_SPEED_LIMIT", raising=False)
    assert Git(tmp_path)._env["GIT_HTTP_LOW_SPEED_TIME"] == "60"
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    threading.Thread(target=lambda: held.append(listener.accept()[0]), daemon=True).start()
    work, _ = make_repo_with_bare_remote(tmp_path)
    (work / ".promoter.yml").write_text("select: {objective: max val_acc}\n")
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/acme/m.git"
    git(work, "remote", "set-url", "origin", url)
    monkeypatch.setenv("GIT_HTTP_LOW_SPEED_TIME", "2")
    started = time.monotonic()
    with pytest.raises(PromoterError, match="cannot fetch"):
        promote(
            resolve_settings(work, env={}), memory_world(tmp_path), MemoryForge(), PromoteRequest()
        )
    took = time.monotonic() - started
    entry.case()
    listener.close()
    assert took < 20, took
