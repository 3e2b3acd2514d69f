"""Which way is better for each scalar, as the config says it: the objective's direction,
the criteria's comparisons (``latency_ms <= 40``: lower is better) and the tie-breaks."""

from __future__ import annotations

from collections.abc import Iterator

from promoter.core.expr import BoolOp, Comparison, Node, Not
from promoter.core.selection import Policy

HIGHER = "higher"
LOWER = "lower"
_BY_OPERATOR = {">=": HIGHER, ">": HIGHER, "<=": LOWER, "<": LOWER}
_FLIPPED = {HIGHER: LOWER, LOWER: HIGHER}


def better_directions(policy: Policy) -> dict[str, str]:
    """Scalar name -> ``higher`` or ``lower``; a scalar the config points both ways (or
    only with ``==``/``!=``) is left out: nothing says which way is better."""
    found: dict[str, set[str]] = {}

    def note(name: str, direction: str) -> None:
        found.setdefault(name, set()).add(direction)

    if not policy.objective.newest:
        note(policy.objective.scalar.name, HIGHER if policy.objective.direction == "max" else LOWER)
    for criterion in policy.criteria:
        for name, direction in _comparisons(criterion.tree, negated=False):
            note(name, direction)
    for rule in policy.tie_breaks:
        if rule.objective is not None:
            note(rule.objective.scalar.name, HIGHER if rule.objective.direction == "max" else LOWER)
    return {name: next(iter(ways)) for name, ways in found.items() if len(ways) == 1}


def _comparisons(node: Node, *, negated: bool) -> Iterator[tuple[str, str]]:
    if isinstance(node, Comparison):
        direction = _BY_OPERATOR.get(node.op)
        if direction is not None:
            yield node.scalar.name, _FLIPPED[direction] if negated else direction
    elif isinstance(node, Not):
        yield from _comparisons(node.part, negated=not negated)
    elif isinstance(node, BoolOp):
        for part in node.parts:
            yield from _comparisons(part, negated=negated)
