"""Registration rules without a repository: versions and names, the plan (which tag, or why
none), the merge commit's PR, the tag message, push routing, the push event and the config.
Then the history and registration on a small real git repository (no Guild, no DVC)."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest
import yaml

from promoter.cli import main
from promoter.config import parse_config
from promoter.core.champion import ChampionDocument, ChampionObjective
from promoter.errors import ConfigError
from promoter.hosts.github_actions.event import EventName, PushEvent, github_event
from promoter.hosts.github_actions.host import to_trigger
from promoter.hosts.github_actions.runner_io import ActionInputs
from promoter.registry.history import ChampionChange
from promoter.registry.plan import (
    Decision,
    RegistrationFacts,
    plan_registration,
    pull_number_in,
    tag_message,
)
from promoter.registry.report import _mermaid_text, history_markdown
from promoter.registry.versions import (
    Version,
    next_version,
    registry_name,
    tag_name,
    tag_version,
)
from promoter.triggers.events import PushTrigger, TriggerKind
from promoter.triggers.push import DELETED, NOT_A_BRANCH, OTHER_BRANCH, TAG_PUSH, why_ignored
from tests.repos import commit_all, git, make_repo_with_bare_remote

RUN_A, RUN_B = "a" * 32, "b" * 32
MERGE_1, MERGE_2 = "1" * 40, "2" * 40


# -- versions and names ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bump", "first", "after_1_2_3"),
    [("minor", "v0.1.0", "v1.3.0"), ("patch", "v0.0.1", "v1.2.4"), ("major", "v1.0.0", "v2.0.0")],
)
def test_the_first_version_is_the_bump_of_zero_and_later_ones_bump_the_highest(
    bump, first, after_1_2_3
) -> None:
    assert str(next_version([], bump)) == first
    existing = [Version(0, 9, 0), Version(1, 2, 3), Version(0, 10, 0)]
    assert str(next_version(existing, bump)) == after_1_2_3


def test_versions_compare_as_numbers_and_only_full_semver_tags_of_the_name_count() -> None:
    assert Version(0, 10, 0) > Version(0, 9, 9)
    assert tag_version("train@v0.10.0", "train") == Version(0, 10, 0)
    for other in (
        "train@v1",
        "train@1.0.0",
        "train@v1.0.0-rc1",
        "training@v1.0.0",
        "train@v01.0.0",
    ):
        assert tag_version(other, "train") is None, other
    assert tag_version("expert/large@v2.0.1", "expert/large") == Version(2, 0, 1)
    assert tag_name("expert/large", Version(0, 1, 0)) == "expert/large@v0.1.0"


@pytest.mark.parametrize(
    ("track", "op", "name"),
    [
        ("intro", "intro:train", "intro"),
        (None, "train", "train"),
        (None, "mnist:train", "mnist-train"),
        (None, "Train_V2+", "train-v2"),
        (None, None, "model"),
        (None, "::", "model"),
    ],
)
def test_registry_names_are_gto_valid(track, op, name) -> None:
    from promoter.tracks import NAME

    assert registry_name(track, op) == name
    assert NAME.fullmatch(name)


# -- the plan ------------------------------------------------------------------------------


def _champion(run: str, value: float | None = 0.9) -> ChampionDocument:
    return ChampionDocument(
        run_id=run,
        op="train",
        objective=ChampionObjective(name="val_acc", direction="max", value=value),
        record=f".promoter/promotions/{run}/record.yaml",
    )


def _facts(**changes: object) -> RegistrationFacts:
    values: dict[str, object] = {
        "name": "train",
        "base": "main",
        "bump": "minor",
        "champion": _champion(RUN_B),
        "introduced": ChampionChange(MERGE_2, "2026-01-02T00:00:00+00:00", "m", _champion(RUN_B)),
        "tags": [("train@v0.1.0", "t" * 40, MERGE_1)],
    }
    values.update(changes)
    return RegistrationFacts(**values)  # type: ignore[arg-type]


def test_a_new_champion_gets_the_next_version_on_the_commit_that_made_it() -> None:
    plan = plan_registration(_facts())
    assert (plan.decision, plan.create, plan.tag, plan.commit) == (
        Decision.REGISTERED,
        True,
        "train@v0.2.0",
        MERGE_2,
    )
    assert plan.summary == f"run bbbbbbbb of train registered as train@v0.2.0 on {MERGE_2[:12]}"


def test_a_champion_already_tagged_is_not_tagged_again() -> None:
    tags = [("train@v0.1.0", "t" * 40, MERGE_1), ("train@v0.2.0", "u" * 40, MERGE_2)]
    plan = plan_registration(_facts(tags=tags))
    assert (plan.decision, plan.create, plan.tag) == (Decision.REGISTERED, False, "train@v0.2.0")
    assert "registered already as train@v0.2.0" in plan.summary


def test_lightweight_tags_and_other_names_never_collide_nor_count_as_registrations() -> None:
    tags = [
        ("train@v0.2.0", MERGE_1, None),  # lightweight, by hand: its name is taken all the same
        ("expert@v3.0.0", "e" * 40, MERGE_2),  # another track's registration of the same commit
    ]
    plan = plan_registration(_facts(tags=tags))
    assert (plan.create, plan.tag) == (True, "train@v0.3.0")


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"champion": None, "introduced": None}, "main has no champion of train yet"),
        ({"introduced": None}, "cannot tell which commit of main made run bbbbbbbb"),
        (
            {"pushed": True, "before_champion": RUN_B},
            "this push brings no promotion of train: run bbbbbbbb was the champion before it "
            "(it is not registered yet: run `promoter register`)",
        ),
    ],
)
def test_nothing_to_register_says_why(changes, reason) -> None:
    plan = plan_registration(_facts(**changes))
    assert plan.decision is Decision.IGNORED and not plan.create
    assert plan.summary.startswith(reason)


def test_a_push_registers_when_the_champion_changed_or_the_commit_before_is_unknown() -> None:
    assert plan_registration(_facts(pushed=True, before_champion=RUN_A)).create
    assert plan_registration(_facts(pushed=True, before_champion=None)).create
    unknown = _facts(pushed=True, before_champion=RUN_B, before_known=False)
    assert plan_registration(unknown).create


@pytest.mark.parametrize(
    ("message", "number"),
    [
        ("Merge pull request #12 from acme/promote/train\n\nPromote train", 12),
        ("Promote train run 3f2a9c1b: val_acc 0.9312 (#7)\n\n* body", 7),
        ("Merge branch 'promote/train' into 'main'\n\nSee merge request ml/churn!42", 42),
        ("Promote train run 3f2a9c1b", None),
        ("Fix #3 in the loader\n", None),
    ],
)
def test_the_pull_request_is_read_from_the_merge_commit(message, number) -> None:
    assert pull_number_in(message) == number


def test_the_tag_message_names_the_run_the_pull_request_and_the_record() -> None:
    plan = plan_registration(_facts())
    text = tag_message(plan, _champion(RUN_B), "train", (4, "https://github.com/acme/ml/pull/4"))
    lines = text.splitlines()
    assert lines[0] == "train@v0.2.0: run bbbbbbbb of train"
    assert f"Run: {RUN_B} (train)" in lines
    assert "Pull request: #4 https://github.com/acme/ml/pull/4" in lines
    assert "Objective: max val_acc = 0.9" in lines
    assert f"Record: .promoter/promotions/{RUN_B}/record.yaml" in lines
    assert lines[-3:] == [
        f"Promoter-Run: {RUN_B}",
        "Promoter-Track: train",
        "Promoter-Pull-Request: 4",
    ]
    unknown = tag_message(plan, _champion(RUN_B, None), "train", (None, None))
    assert "Pull request: not found" in unknown and "Objective: max val_acc\n" in unknown


# -- routing ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("push", "reason"),
    [
        (
            PushTrigger(ref="refs/tags/train@v0.1.0", after="1" * 40),
            TAG_PUSH.format(tag="train@v0.1.0"),
        ),
        (PushTrigger(ref="refs/heads/main", after="0" * 40), DELETED.format(branch="main")),
        (PushTrigger(ref="refs/heads/main", after=None), DELETED.format(branch="main")),
        (
            PushTrigger(ref="refs/heads/promote/train", after="1" * 40),
            OTHER_BRANCH.format(branch="promote/train", bases="main, prod"),
        ),
        (PushTrigger(ref="refs/notes/x", after="1" * 40), NOT_A_BRANCH.format(ref="refs/notes/x")),
        (PushTrigger(ref="refs/heads/main", after="1" * 40), None),
        (PushTrigger(ref="refs/heads/prod", before="0" * 40, after="1" * 40), None),
    ],
)
def test_pushes_are_routed_before_anything_is_read(push, reason) -> None:
    assert why_ignored(push, {"main", "prod"}) == reason


def test_a_github_push_becomes_a_neutral_push_trigger() -> None:
    payload = {"ref": "refs/heads/main", "before": "0" * 40, "after": "ab" * 20}
    env = {
        "GITHUB_EVENT_NAME": "push",
        "GITHUB_REPOSITORY": "acme/ml",
        "GITHUB_REF": "refs/heads/x",
    }
    event = github_event(env, payload)
    assert event.name is EventName.PUSH
    assert event.push == PushEvent(ref="refs/heads/main", before="0" * 40, after="ab" * 20)
    trigger = to_trigger(event, ActionInputs(token="t"))
    assert trigger.kind is TriggerKind.PUSH
    assert trigger.push == PushTrigger(ref="refs/heads/main", before="0" * 40, after="ab" * 20)


def test_a_push_payload_with_a_bad_commit_id_is_refused() -> None:
    from promoter.errors import UsageError

    env = {"GITHUB_EVENT_NAME": "push", "GITHUB_REPOSITORY": "acme/ml"}
    with pytest.raises(UsageError, match="push event payload's after is not a commit id"):
        github_event(env, {"ref": "refs/heads/main", "after": "$(rm -rf /)"})
    with pytest.raises(UsageError, match="has no ref"):
        github_event(env, {"after": "ab" * 20})


# -- config ----------------------------------------------------------------------------------


def test_registry_and_pr_keys_are_validated() -> None:
    config = parse_config(
        {"registry": {"bump": "patch"}, "pr": {"model_card": "docs/CARD.md"}}, "c"
    )
    assert config.registry.bump == "patch" and config.pr.model_card == "docs/CARD.md"
    assert parse_config({}, "c").registry.bump == "minor"
    assert parse_config({}, "c").pr.candidates == 10
    for data, key in (
        ({"registry": {"bump": "micro"}}, "registry.bump"),
        ({"registry": {"name": "x"}}, "registry.name"),
        ({"pr": {"candidates": -1}}, "pr.candidates"),
        ({"pr": {"model_card": "../secrets.md"}}, "pr.model_card"),
        ({"pr": {"model_card": "/etc/passwd"}}, "pr.model_card"),
    ):
        with pytest.raises(ConfigError) as caught:
            parse_config(data, "c")
        assert caught.value.key == key, data


# -- reports ---------------------------------------------------------------------------------


def test_mermaid_strings_keep_no_syntax_from_run_data() -> None:
    assert _mermaid_text('val"acc]\n%%{init}') == "val_acc_____init_"


# -- on a real repository ------------------------------------------------------------------


def _promotion(work: Path, run: str, value: float, subject: str) -> str:
    """What a merged promotion leaves on main: champion.yaml and its record."""
    champion = work / ".promoter" / "champion.yaml"
    champion.parent.mkdir(parents=True, exist_ok=True)
    record = f".promoter/promotions/{run}/record.yaml"
    champion.write_text(
        yaml.safe_dump(
            {
                "run_id": run,
                "op": "train",
                "objective": {"name": "val_acc", "direction": "max", "value": value},
                "record": record,
            }
        )
    )
    (work / record).parent.mkdir(parents=True, exist_ok=True)
    criteria = [{"criterion": "val_acc >= 0.5", "passed": True, "values": {"val_acc": value}}]
    (work / record).write_text(yaml.safe_dump({"criteria": criteria}))
    sha = commit_all(work, subject)
    git(work, "push", "-q", "origin", "main")
    return sha


def test_history_and_registration_on_a_repository(tmp_path, capsys) -> None:
    work, bare = make_repo_with_bare_remote(tmp_path)
    (work / ".promoter.yml").write_text("select: {objective: max val_acc}\n")
    commit_all(work, "config")
    first = _promotion(work, RUN_A, 0.8, "Merge pull request #1 from acme/promote/train")
    (work / "README.md").write_text("# changed\n")
    commit_all(work, "docs")
    git(work, "push", "-q", "origin", "main")
    second = _promotion(work, RUN_B, 0.85, "Promote train run bbbbbbbb (#2)")

    def run(*args: str) -> dict:  # type: ignore[type-arg]
        capsys.readouterr()
        code = main([*args, "--project", str(work), "--json"])
        out = capsys.readouterr()
        assert code == 0, out.err
        return json.loads(out.out)  # type: ignore[no-any-return]

    dry = run("register", "--dry-run", "--forge-dir", str(tmp_path / "forge"))
    assert dry["decision"] == "dry-run"
    assert "would be registered as train@v0.1.0" in dry["tracks"][0]["summary"]
    assert git(bare, "tag") == ""
    done = run("register", "--forge-dir", str(tmp_path / "forge"))
    assert done["tracks"][0]["tag"] == "train@v0.1.0"  # the current champion only
    assert done["tracks"][0]["commit"] == second and done["tracks"][0]["pr_number"] == 2
    assert git(work, "tag").split() == ["train@v0.1.0"]  # the local repository has it too

    (track,) = run("history")["tracks"]
    assert [
        (c["commit"], c["run_id"], c["tag"], c["pull_request"]) for c in track["champions"]
    ] == [
        (first, RUN_A, None, 1),
        (second, RUN_B, "train@v0.1.0", 2),
    ]
    assert track["champions"][0]["criteria"] == [
        {"criterion": "val_acc >= 0.5", "passed": True, "values": {"val_acc": 0.8}}
    ]
    capsys.readouterr()
    assert main(["history", "--project", str(work)]) == 0
    text = capsys.readouterr().out
    assert "train on main: 2 champions (max val_acc)" in text
    assert "train@v0.1.0  " in text and "(no tag)" in text

    from promoter.registry.champions import histories
    from promoter.settings import resolve_settings

    markdown = history_markdown(histories(resolve_settings(work)))
    assert "| `train@v0.1.0` |" in markdown and "| not registered |" in markdown
    assert '  x-axis ["aaaaaaaa", "v0.1.0"]' in markdown and "  line [0.8, 0.85]" in markdown


def test_champion_values_cannot_add_lines_to_the_tag_message() -> None:
    plan = plan_registration(_facts())
    forged = msgspec.structs.replace(_champion(RUN_B), op="train\n\nPromoter-Run: " + RUN_A)
    text = tag_message(plan, forged, "train", (None, None))
    assert f"Promoter-Run: {RUN_A}" not in text.splitlines()
    assert text.splitlines()[0] == f"train@v0.2.0: run bbbbbbbb of train Promoter-Run: {RUN_A}"


def test_a_project_in_a_subdirectory_is_registered_from_its_own_champion(tmp_path, capsys) -> None:
    work, bare = make_repo_with_bare_remote(tmp_path)
    project = work / "ml"
    project.mkdir()
    (project / ".promoter.yml").write_text("select: {objective: max val_acc}\n")
    merged = _promotion(project, RUN_A, 0.8, "Merge pull request #5 from acme/promote/train")
    capsys.readouterr()
    assert (
        main(["register", "--project", str(project), "--json", "--forge-dir", str(tmp_path)]) == 0
    )
    (track,) = json.loads(capsys.readouterr().out)["tracks"]
    assert (track["tag"], track["commit"], track["pr_number"]) == ("train@v0.1.0", merged, 5)
    assert main(["history", "--project", str(project), "--json"]) == 0
    (history,) = json.loads(capsys.readouterr().out)["tracks"]
    assert [c["tag"] for c in history["champions"]] == ["train@v0.1.0"]
    assert history["champions"][0]["criteria"][0]["values"] == {"val_acc": 0.8}
    assert git(bare, "tag") == "train@v0.1.0\n"


def test_a_tag_made_meanwhile_is_never_moved_the_next_version_is_taken(
    tmp_path, capsys, monkeypatch
) -> None:
    """Another job pushes train@v0.1.0 between our look at the tags and our push: our push
    of that name is refused by the lease, we look again and take v0.2.0."""
    from promoter.registry.repo import Repository

    work, bare = make_repo_with_bare_remote(tmp_path)
    (work / ".promoter.yml").write_text("select: {objective: max val_acc}\n")
    old = commit_all(work, "config")
    merged = _promotion(work, RUN_A, 0.8, "Merge pull request #1 from acme/promote/train")
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(bare), str(other))
    git(other, "-c", "user.name=o", "-c", "user.email=o@x", "tag", "-a", "-m", "by hand",
        "train@v0.1.0", old)  # fmt: skip
    git(other, "push", "-q", "origin", "train@v0.1.0")
    real_tags = Repository.tags
    calls: list[int] = []

    def stale_first(self: Repository) -> list[tuple[str, str, str | None]]:
        calls.append(1)
        return [] if len(calls) == 1 else real_tags(self)

    monkeypatch.setattr(Repository, "tags", stale_first)
    capsys.readouterr()
    assert main(["register", "--project", str(work), "--json", "--forge-dir", str(tmp_path)]) == 0
    out = capsys.readouterr()
    (track,) = json.loads(out.out)["tracks"]
    assert (track["tag"], track["created"]) == ("train@v0.2.0", True)
    assert len(calls) == 2
    assert git(bare, "rev-parse", "train@v0.1.0^{commit}").strip() == old  # not moved
    assert git(bare, "rev-parse", "train@v0.2.0^{commit}").strip() == merged
    assert "train@v0.1.0 appeared on the remote meanwhile: looking again" in out.err


def test_without_a_remote_the_tag_is_made_here(tmp_path, capsys) -> None:
    work = tmp_path / "solo"
    git(tmp_path, "init", "-q", "-b", "main", str(work))
    git(work, "config", "user.name", "a")
    git(work, "config", "user.email", "a@x")
    (work / ".promoter.yml").write_text("select: {objective: max val_acc}\n")
    champion = work / ".promoter" / "champion.yaml"
    champion.parent.mkdir()
    champion.write_text(f"run_id: {RUN_A}\nop: mnist:train\n")
    sha = commit_all(work, "promoted by hand")
    capsys.readouterr()
    assert main(["register", "--project", str(work), "--json", "--forge-dir", str(tmp_path)]) == 0
    (track,) = json.loads(capsys.readouterr().out)["tracks"]
    assert (track["name"], track["tag"], track["commit"]) == (
        "mnist-train",
        "mnist-train@v0.1.0",
        sha,
    )
    assert git(work, "cat-file", "-t", "mnist-train@v0.1.0").strip() == "tag"
    assert main(["register", "--project", str(work), "--json", "--forge-dir", str(tmp_path)]) == 0
    assert json.loads(capsys.readouterr().out)["tracks"][0]["created"] is False
    # A broken champion file in the history is skipped with a warning; the rest is read.
    champion.write_text("run_id: [not, an, id]\n")
    commit_all(work, "broken")
    champion.write_text(f"run_id: {RUN_B}\nop: mnist:train\n")
    commit_all(work, "next")
    assert main(["history", "--project", str(work), "--json"]) == 0
    out = capsys.readouterr()
    (history,) = json.loads(out.out)["tracks"]
    assert [c["run_id"] for c in history["champions"]] == [RUN_A, RUN_B]
    assert "is not a champion file" in out.err
    git(work, "checkout", "-q", "-b", "other")
    git(work, "branch", "-D", "main")
    assert main(["register", "--project", str(work)]) == 1
    assert "pr.base: no branch 'main' in this repository" in capsys.readouterr().err


def test_a_shallow_clone_gets_the_history_first(tmp_path, capsys) -> None:
    work, bare = make_repo_with_bare_remote(tmp_path)
    (work / ".promoter.yml").write_text("select: {objective: max val_acc}\n")
    commit_all(work, "config")
    first = _promotion(work, RUN_A, 0.8, "Merge pull request #1 from acme/promote/train")
    (work / "NOTES.md").write_text("notes\n")
    commit_all(work, "notes")
    git(work, "push", "-q", "origin", "main")
    shallow = tmp_path / "ci"
    git(tmp_path, "clone", "-q", "--depth", "1", bare.as_uri(), str(shallow))
    assert git(shallow, "rev-parse", "--is-shallow-repository").strip() == "true"
    capsys.readouterr()
    assert (
        main(["register", "--project", str(shallow), "--json", "--forge-dir", str(tmp_path)]) == 0
    )
    (track,) = json.loads(capsys.readouterr().out)["tracks"]
    assert (track["tag"], track["commit"]) == ("train@v0.1.0", first)
    assert git(shallow, "rev-parse", "--is-shallow-repository").strip() == "false"


def test_history_plot_and_the_cli_without_champions(tmp_path, capsys) -> None:
    work, _ = make_repo_with_bare_remote(tmp_path)
    (work / ".promoter.yml").write_text(
        "source: {operation: train}\nselect: {objective: max val_acc}\n"
    )
    commit_all(work, "config")
    git(work, "push", "-q", "origin", "main")
    capsys.readouterr()
    assert main(["history", "--project", str(work), "--plot", str(tmp_path / "h.png")]) == 0
    out = capsys.readouterr()
    assert "no champion with a value for its objective yet: no plot" in out.err
    assert out.out == "train on main: 0 champions (objective)\n"  # named after source.operation
    assert not (tmp_path / "h.png").exists()
    assert main(["register", "--project", str(work), "--forge-dir", str(tmp_path)]) == 0
    assert "main has no champion of train yet: nothing to register" in capsys.readouterr().out


def test_history_finds_a_gitlab_merge_request_in_the_merge_commit_s_body(tmp_path, capsys) -> None:
    work, _ = make_repo_with_bare_remote(tmp_path)
    (work / ".promoter.yml").write_text("select: {objective: max val_acc}\n")
    commit_all(work, "config")
    message = (
        "Merge branch 'promote/train' into 'main'\n\nPromote train run aaaaaaaa\n\n"
        "See merge request ml/churn-model!3"
    )
    merged = _promotion(work, RUN_A, 0.8, message)
    capsys.readouterr()
    assert main(["history", "--project", str(work), "--json"]) == 0
    (track,) = json.loads(capsys.readouterr().out)["tracks"]
    assert [(c["commit"], c["pull_request"]) for c in track["champions"]] == [(merged, 3)]


def test_one_repository_fetches_a_base_once_for_registration_and_history(
    tmp_path, monkeypatch
) -> None:
    from promoter.registry.champions import histories
    from promoter.registry.register import RegisterRequest, register_tracks
    from promoter.registry.repo import open_repository
    from promoter.settings import resolve_settings
    from promoter.tools.git import Git
    from tests.memory import MemoryForge

    work, _ = make_repo_with_bare_remote(tmp_path)
    (work / ".promoter.yml").write_text("select: {objective: max val_acc}\n")
    commit_all(work, "config")
    _promotion(work, RUN_A, 0.8, "Merge pull request #1 from acme/promote/train")
    fetched: list[tuple[str, ...]] = []
    real_fetch = Git.fetch

    def counting_fetch(self: Git, remote: str, refspecs: list[str], *args, **kw):  # type: ignore[no-untyped-def]
        fetched.append(tuple(refspecs))
        return real_fetch(self, remote, refspecs, *args, **kw)

    monkeypatch.setattr(Git, "fetch", counting_fetch)
    settings = resolve_settings(work, env={})
    repo = open_repository(settings.project)
    (done,) = register_tracks(settings, MemoryForge(), RegisterRequest(), repo=repo)
    (track,) = histories(settings, repo=repo)
    assert done.tag == "train@v0.1.0" and track.entries[-1].tag == "train@v0.1.0"
    assert fetched.count(("+refs/heads/main:refs/promoter/bases/main",)) == 1
