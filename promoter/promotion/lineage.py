"""Lineage hashes a run recorded about itself (the DVC + MLflow recipe's ``dvc_data_md5``,
``dvc_model_md5``, any ``*_md5`` tag) and the check that the model promoted is the one the run
says it made: pure functions of the run's tags and the DVC outputs stored."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

MODEL_TAG: Final = "dvc_model_md5"
SUFFIX: Final = "_md5"
MATCHES: Final = "the run's {tag} {md5} is the md5 of {path}"
DISAGREES: Final = (
    "the run's {tag} is {md5}, but the model promoted has another md5 ({outputs}): "
    "this is not the model the run says it made"
)
NOT_CHECKED: Final = "not checked: no DVC output was stored to compare the run's {tag} {md5} with"


@dataclass(frozen=True, slots=True)
class Check:
    """A check of the promotion; ``passed`` is ``None`` when it could not be made."""

    name: str
    passed: bool | None
    detail: str


def lineage_hashes(tags: Iterable[str]) -> dict[str, str]:
    """``name=value`` tags whose name ends in ``_md5``, in the order the run has them."""
    found: dict[str, str] = {}
    for tag in tags:
        name, sep, value = tag.partition("=")
        if sep and name.endswith(SUFFIX) and value.strip():
            found[name] = value.strip()
    return found


def model_check(hashes: Mapping[str, str], outputs: Sequence[tuple[str, str]]) -> Check | None:
    """The run's ``dvc_model_md5`` against the md5 of each DVC output promoted (path, md5):
    it passes when it names one of them; ``None`` when the run has no such tag."""
    md5 = hashes.get(MODEL_TAG)
    if md5 is None:
        return None
    if not outputs:
        return Check(MODEL_TAG, None, NOT_CHECKED.format(tag=MODEL_TAG, md5=md5))
    wanted = _bare(md5)
    for path, theirs in outputs:
        if _bare(theirs) == wanted:
            return Check(MODEL_TAG, True, MATCHES.format(tag=MODEL_TAG, md5=md5, path=path))
    shown = ", ".join(f"{path} {theirs}" for path, theirs in outputs)
    return Check(MODEL_TAG, False, DISAGREES.format(tag=MODEL_TAG, md5=md5, outputs=shown))


def _bare(md5: str) -> str:
    """An md5 compared without case or DVC's ``.dir`` suffix of directory outputs."""
    return md5.strip().lower().removesuffix(".dir")
