"""``promoter verify [REF]``: the record, the ``.dvc`` pointers and the DVC remote agree."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from promoter.errors import PromoterError, UsageError
from promoter.promotion.record_builder import record_path
from promoter.settings import Settings
from promoter.tools.git import Git, path_prefix


class VerifyFailed(PromoterError):
    """A promotion whose model is not where its record says (exit 1)."""

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("verification failed:\n" + "\n".join(f"  {p}" for p in self.problems))


@dataclass
class VerifyReport:
    """Each check made, and the problems found."""

    ref: str
    commit: str
    run_id: str | None = None
    track: str | None = None
    checked: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every check passed."""
        return not self.problems

    def lines(self) -> list[str]:
        """A human summary."""
        head = "OK" if self.ok else "FAILED"
        run = f" run {self.run_id[:8]}" if self.run_id else ""
        track = f" of track {self.track}" if self.track else ""
        out = [f"{head}  promotion{track}{run} at {self.ref} ({self.commit[:12]})"]
        out += [f"  ok       {c}" for c in self.checked]
        out += [f"  MISSING  {p}" for p in self.problems]
        return out

    def to_json(self) -> str:
        """The report as JSON."""
        payload: dict[str, Any] = {
            "ok": self.ok,
            "ref": self.ref,
            "commit": self.commit,
            "run_id": self.run_id,
            "track": self.track,
            "checked": self.checked,
            "problems": self.problems,
        }
        return json.dumps(payload, indent=2)


def verify_tracks(settings: Settings, ref: str = "HEAD") -> list[VerifyReport]:
    """Check the promotion of every track recorded at ``ref`` (or of the one named); a
    track with no champion there yet is left out, but at least one must have one."""
    reports, missing = [], []
    for each in settings.tracks():
        try:
            reports.append(verify_ref(each, ref))
        except NoPromotion as e:
            missing.append(str(e))
    if not reports:
        raise UsageError("; ".join(missing))
    return reports


class NoPromotion(UsageError):
    """The ref holds no champion for the track (exit 2)."""


def verify_ref(settings: Settings, ref: str = "HEAD") -> VerifyReport:
    """Check the promotion recorded at ``ref`` (of the settings' track)."""
    git = Git(settings.project)
    top = git.toplevel().resolve()
    prefix = path_prefix(top, settings.project)
    commit = git.rev_parse(ref)
    if commit is None:
        raise UsageError(f"no commit {ref!r} in this repository")
    report = VerifyReport(ref, commit, track=settings.track)
    champion_path = settings.champion_file.as_posix()
    champion = _yaml_at(git, commit, prefix + champion_path)
    if not isinstance(champion, dict) or not champion.get("run_id"):
        raise NoPromotion(f"{ref} has no promotion ({champion_path} is missing)")
    run_id = str(champion["run_id"])
    report.run_id = run_id
    path = prefix + record_path(run_id)
    record = _yaml_at(git, commit, path)
    if not isinstance(record, dict):
        report.problems.append(f"{path} is missing")
        return report
    outputs = record.get("dvc") or []
    if not outputs:
        report.checked.append("the record lists no DVC outputs")
    pointers = []
    for out in outputs:
        path, md5 = str(out.get("path")), str(out.get("md5"))
        pointer_path = f"{prefix}{path}.dvc"
        pointer = _pointer_md5(git, commit, pointer_path)
        if pointer is None:
            report.problems.append(f"{pointer_path} is missing at {ref}")
            continue
        if pointer != md5:
            report.problems.append(f"{path}: record md5 {md5} but {pointer_path} says {pointer}")
            continue
        recorded = (champion.get("model_md5") or {}).get(path)
        if recorded is not None and recorded != md5:
            report.problems.append(f"{path}: champion.yaml md5 {recorded} != record {md5}")
            continue
        report.checked.append(f"{path}: record == {path}.dvc == {md5}")
        pointers.append((pointer_path, out.get("remote")))
    if pointers:
        _check_remote(settings, git, top, commit, pointers, report)
    return report


def _check_remote(
    settings: Settings,
    git: Git,
    top: Path,
    commit: str,
    pointers: list[tuple[str, Any]],
    report: VerifyReport,
) -> None:
    from promoter.tools.dvc import Dvc
    from promoter.tools.worktree import find_dvc_root, prepare_dvc, scratch_worktree

    with scratch_worktree(git, commit, "verify") as worktree:
        project = worktree / path_prefix(top, settings.project)
        dvc_root = find_dvc_root(project, worktree)
        if dvc_root is None:
            report.problems.append(f"no DVC setup (.dvc/) at {report.ref}")
            return
        prepare_dvc(top / dvc_root.relative_to(worktree), dvc_root)
        dvc = Dvc(dvc_root)
        by_remote: dict[str | None, list[str]] = {}
        for path, remote in pointers:
            name = settings.config.dvc.remote or (str(remote) if remote else None)
            by_remote.setdefault(name, []).append(
                (worktree / path).relative_to(dvc_root).as_posix()
            )
        for remote, paths in by_remote.items():
            missing = set(dvc.missing_in_remote(paths, remote))
            for path in paths:
                out = path.removesuffix(".dvc")
                if out in missing or path in missing:
                    report.problems.append(f"{out}: not in DVC remote {remote or '(default)'}")
                else:
                    report.checked.append(f"{out}: present in DVC remote {remote or '(default)'}")


def _yaml_at(git: Git, commit: str, path: str) -> Any:
    data = git.show_file(commit, path)
    if data is None:
        return None
    try:
        return yaml.safe_load(data.decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError) as e:
        raise PromoterError(f"{path} at {commit[:12]} is unreadable: {e}") from e


def _pointer_md5(git: Git, commit: str, path: str) -> str | None:
    from promoter.tools.dvc import parse_dvc_pointer

    data = git.show_file(commit, path)
    if data is None:
        return None
    try:
        outs = parse_dvc_pointer(data.decode("utf-8")).outs
    except (UnicodeDecodeError, ValueError):
        return None
    return outs[0].dvc_md5 if outs else None


def tracks_json(reports: list[VerifyReport]) -> str:
    """Several tracks' reports as one JSON object: ``{"ok", "tracks": [report, ...]}``."""
    payload = {
        "ok": all(r.ok for r in reports),
        "tracks": [json.loads(r.to_json()) for r in reports],
    }
    return json.dumps(payload, indent=2)
