"""Who may give ``/promote`` commands, where, and what the bot does otherwise: every role,
custom roles, bots, edits and deletes, payloads that lie about the author, plain issues, for
the default ``commands.min_permission`` and another one. Through ``promoter event`` against
the fake GitHub: the role is asked of the API, never read from the payload.

Allowed people ask for ``/promote help`` (the permission check is the same for every command,
and help costs no build); refused ones ask for ``/promote`` itself, and nothing may happen.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from promoter.triggers.comment import NOT_ON_ISSUES
from tests.faultworld import REPO, World

pytestmark = pytest.mark.slow

# login -> (role, legacy permission of a custom role); None: not a collaborator.
PEOPLE: dict[str, tuple[str, str | None] | None] = {
    "stranger": None,
    "reader": ("read", None),
    "triager": ("triage", None),
    "writer": ("write", None),
    "maintainer": ("maintain", None),
    "octocat": ("admin", None),  # the owner
    "ml-engineer": ("ml-engineer", "write"),  # custom roles: GitHub reports their base
    "auditor": ("auditor", "read"),
    "release-lead": ("release-lead", "admin"),
}
LEVEL = {"none": 0, "read": 1, "triage": 2, "write": 3, "maintain": 4, "admin": 5}
EFFECTIVE = {
    "stranger": "none",
    "reader": "read",
    "triager": "triage",
    "writer": "write",
    "maintainer": "maintain",
    "octocat": "admin",
    "ml-engineer": "write",
    "auditor": "read",
    "release-lead": "admin",
}


@dataclass(frozen=True)
class Case:
    """One comment and what must come of it."""

    name: str
    author: str
    allowed: bool | None
    """True: the command runs; False: refused with a reply; None: ignored without a word."""
    on_pr: bool = True
    action: str = "created"
    user_type: str = "User"
    association: str = "OWNER"
    body: str | None = None
    want: str | None = None
    """The decision, when not the one ``allowed`` implies."""


def cases(min_permission: str, on_issues: bool) -> list[Case]:
    need = LEVEL[min_permission]
    out = [Case(f"{who} ({EFFECTIVE[who]})", who, LEVEL[EFFECTIVE[who]] >= need) for who in PEOPLE]
    out += [
        # Bots never command, whatever their role: by type or by the [bot] suffix.
        Case("bot by type and name", "dependabot[bot]", None, user_type="Bot"),
        Case("bot by name only", "sneaky[bot]", None),
        Case("bot by type only", "deploy-bot", None, user_type="Bot"),
        Case("the Actions bot", "github-actions[bot]", None, user_type="Bot"),
        # Only new comments are commands: an edit could turn an old comment into one.
        Case("edited by the owner", "octocat", None, action="edited"),
        Case("deleted by the owner", "octocat", None, action="deleted"),
        # author_association is the payload's word: never believed, either way.
        Case("reader claiming OWNER", "reader", False, association="OWNER"),
        Case("stranger claiming MEMBER", "stranger", False, association="MEMBER"),
        Case("owner shown as NONE", "octocat", True, association="NONE"),
        # Plain issues: refused below the permission, else answered or run per on_issues.
        Case("reader on a plain issue", "reader", False, on_pr=False),
        Case(
            "owner on a plain issue",
            "octocat",
            on_issues,
            on_pr=False,
            body="/promote help" if on_issues else "/promote --dry-run",
            want=None if on_issues else "ignored",
        ),
    ]
    return out


@pytest.fixture
def world(fake_github, tmp_path) -> World:
    home = tmp_path / "guild-home"
    home.mkdir()
    world = World(tmp_path, fake_github, home)
    for login, role in PEOPLE.items():
        if role is not None:
            fake_github.state.set_permission(REPO, login, role[0], base=role[1])
        else:
            fake_github.state.add_user(login)
    for login in ("dependabot[bot]", "deploy-bot"):
        fake_github.state.add_user(login, type="Bot")
        fake_github.state.set_permission(REPO, login, "admin")
    return world


@pytest.mark.parametrize(
    ("min_permission", "on_issues"), [("write", False), ("triage", True), ("admin", False)]
)
def test_the_permission_matrix(world, monkeypatch, capsys, ledger, min_permission, on_issues):
    entry = ledger("commands")
    config = world.work / ".promoter.yml"
    extra = ""
    if min_permission != "write":
        extra += f"  min_permission: {min_permission}\n"
    if on_issues:
        extra += "  on_issues: true\n"
    if extra:
        config.write_text(config.read_text() + "commands:\n" + extra)
    problems = []
    for case in cases(min_permission, on_issues):
        body = case.body or ("/promote help" if case.allowed else "/promote")
        payload = world.comment(
            body,
            case.author,
            on_pr=case.on_pr,
            action=case.action,
            user_type=case.user_type,
            association=case.association,
        )
        world.server.clear_requests()
        job = world.event_here(monkeypatch, capsys, "issue_comment", payload)
        entry.case(faults=0 if case.allowed else 1)
        got = _observed(world, payload, job)
        wanted = _expected(case, body)
        if got != wanted:
            problems.append(f"{case.name}: got {got}, wanted {wanted}")
    assert problems == []
    assert world.pulls() == [] and world.branch_sha() == "", "nothing was promoted"


def _observed(world: World, payload: dict, job) -> tuple:
    asked = bool(world.server.calls("GET", r"/collaborators/[^/]+/permission$"))
    replies = world.replies(payload)
    if job.outputs.get("decision") == "ignored" and not world.server.requests:
        return ("ignored", job.code, "silent")
    reply = replies[-1] if replies else ""
    kind = (
        "permission"
        if "permission on this repository" in reply
        else "issues"
        if NOT_ON_ISSUES in reply
        else "help"
        if "answers these commands" in reply
        else reply[:60]
    )
    return (job.outputs.get("decision"), job.code, kind, world.reactions(payload), asked)


def _expected(case: Case, body: str) -> tuple:
    if case.allowed is None:
        return ("ignored", 0, "silent")
    reactions = ["eyes", "rocket"] if case.allowed and not case.want else ["eyes", "confused"]
    if case.want == "ignored":
        return ("ignored", 0, "issues", reactions, True)
    if not case.allowed:
        return ("refused", 0, "permission", reactions, True)
    assert body == "/promote help"
    return ("help", 0, "help", reactions, True)
