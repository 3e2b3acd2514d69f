"""The selection language: scalar references, acceptance criteria, objectives and tie-breaks.

Criteria are parsed into a small tree and evaluated by walking it; nothing is ever ``eval``-ed.

    criterion  := or
    or         := and ("or" and)*
    and        := not ("and" not)*
    not        := "not" not | "(" or ")" | comparison
    comparison := scalar OP number | number OP scalar      OP: >= <= > < == !=
    scalar     := [AGG ":"] NAME | [AGG ":"] QUOTED        AGG: last first min max avg count
    objective  := ("max" | "min") scalar | "newest"
    tie_break  := objective | "newest" | "oldest"
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from promoter.core.models import AGGREGATES

Direction = Literal["max", "min"]

_OPERATORS: dict[str, Callable[[float, float], bool]] = {
    ">=": lambda a, b: a >= b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    "<": lambda a, b: a < b,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
}
_MIRRORED = {">=": "<=", "<=": ">=", ">": "<", "<": ">", "==": "==", "!=": "!="}
_KEYWORDS = frozenset({"and", "or", "not"})

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<number>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?(?![\w.]))
  | (?P<op>>=|<=|==|!=|>|<)
  | (?P<paren>[()])
  | (?P<scalar>(?:(?P<agg>[a-z]+):)?(?:(?P<name>[A-Za-z_.][\w.\-/#]*)|(?P<quoted>"[^"]*"|'[^']*')))
    """,
    re.VERBOSE,
)


class ExpressionError(ValueError):
    """An expression that does not parse; the message says where and why."""


@dataclass(frozen=True, slots=True)
class ScalarRef:
    """A scalar and how its series is summarised (``last`` unless written otherwise)."""

    name: str
    aggregate: str = "last"

    def __str__(self) -> str:
        name = self.name if re.fullmatch(r"[A-Za-z_.][\w.\-/#]*", self.name) else repr(self.name)
        return name if self.aggregate == "last" else f"{self.aggregate}:{name}"


@dataclass(frozen=True, slots=True)
class Comparison:
    """``scalar OP threshold``."""

    scalar: ScalarRef
    op: str
    threshold: float

    def holds(self, value: float) -> bool:
        """Whether a (finite) value meets the threshold."""
        return _OPERATORS[self.op](value, self.threshold)

    def __str__(self) -> str:
        return f"{self.scalar} {self.op} {self.threshold:g}"


@dataclass(frozen=True, slots=True)
class BoolOp:
    """``and`` / ``or`` of two or more parts."""

    op: Literal["and", "or"]
    parts: tuple[Node, ...]

    def __str__(self) -> str:
        return f" {self.op} ".join(_grouped(p, self.op) for p in self.parts)


@dataclass(frozen=True, slots=True)
class Not:
    """Negation."""

    part: Node

    def __str__(self) -> str:
        return f"not {_grouped(self.part, 'not')}"


Node = Comparison | BoolOp | Not


def _grouped(node: Node, parent: str) -> str:
    if isinstance(node, BoolOp) and (parent == "not" or node.op != parent):
        return f"({node})"
    return str(node)


@dataclass(frozen=True, slots=True)
class Criterion:
    """One acceptance criterion: its text as written and its parsed tree."""

    text: str
    tree: Node

    def scalars(self) -> tuple[ScalarRef, ...]:
        """Every scalar the criterion reads, in order of appearance, without repeats."""
        found: list[ScalarRef] = []

        def visit(node: Node) -> None:
            if isinstance(node, Comparison):
                if node.scalar not in found:
                    found.append(node.scalar)
            elif isinstance(node, Not):
                visit(node.part)
            else:
                for part in node.parts:
                    visit(part)

        visit(self.tree)
        return tuple(found)

    def evaluate(self, values: dict[ScalarRef, float]) -> bool:
        """Evaluate with every scalar's (finite) value supplied."""
        return _evaluate(self.tree, values)


def _evaluate(node: Node, values: dict[ScalarRef, float]) -> bool:
    if isinstance(node, Comparison):
        return node.holds(values[node.scalar])
    if isinstance(node, Not):
        return not _evaluate(node.part, values)
    if node.op == "and":
        return all(_evaluate(p, values) for p in node.parts)
    return any(_evaluate(p, values) for p in node.parts)


NEWEST = "newest"


@dataclass(frozen=True, slots=True)
class Objective:
    """What to optimise: a direction and a scalar; or, with ``newest``, the start time.

    ``newest`` ranks runs by when they started (the value is seconds since the epoch, and
    ``scalar`` a placeholder named ``newest``): for runs that log no scalars, such as the
    last step of an upstream-operation pipeline.
    """

    direction: Direction
    scalar: ScalarRef
    newest: bool = False

    def improvement(self, candidate: float, champion: float) -> float:
        """How much better the candidate is (negative when worse)."""
        return candidate - champion if self.direction == "max" else champion - candidate

    def __str__(self) -> str:
        return NEWEST if self.newest else f"{self.direction} {self.scalar}"


@dataclass(frozen=True, slots=True)
class TieBreak:
    """A rule that orders runs equal on the objective: by a scalar, or by start time."""

    objective: Objective | None = None
    newest: bool = True

    def __str__(self) -> str:
        if self.objective is not None:
            return str(self.objective)
        return "newest" if self.newest else "oldest"


def _tokens(text: str) -> list[tuple[str, str, int]]:
    tokens: list[tuple[str, str, int]] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise ExpressionError(f"unexpected {text[pos]!r} at position {pos + 1} in {text!r}")
        kind = m.lastgroup or ""
        if m.group("scalar") is not None:
            kind = "scalar"
        if kind != "space":
            tokens.append((kind, m.group(0), pos))
        pos = m.end()
    return tokens


def parse_scalar(text: str) -> ScalarRef:
    """Parse ``[agg:]name``; a name with unusual characters may be quoted."""
    m = _TOKEN.fullmatch(text.strip())
    if m is None or m.group("scalar") is None:
        raise ExpressionError(f"{text!r} is not a scalar name (like val_acc or max:val_acc)")
    return _scalar_from_match(m, text)


def _scalar_from_match(m: re.Match[str], text: str) -> ScalarRef:
    aggregate = m.group("agg") or "last"
    if aggregate not in AGGREGATES:
        raise ExpressionError(
            f"unknown aggregate {aggregate!r} in {text!r}: use one of {', '.join(AGGREGATES)}"
        )
    name = m.group("name") or m.group("quoted")[1:-1]
    if not name:
        raise ExpressionError(f"empty scalar name in {text!r}")
    if name in _KEYWORDS:
        raise ExpressionError(f"{name!r} is a keyword, not a scalar, in {text!r}")
    return ScalarRef(name, aggregate)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.i = 0

    def peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def error(self, what: str) -> ExpressionError:
        tok = self.peek()
        where = f"at position {tok[2] + 1}" if tok else "at the end"
        return ExpressionError(f"{what} {where} in {self.text!r}")

    def keyword(self, word: str) -> bool:
        tok = self.peek()
        if tok and tok[0] == "scalar" and tok[1] == word:
            self.i += 1
            return True
        return False

    def parse(self) -> Node:
        if not self.tokens:
            raise ExpressionError("empty criterion")
        node = self.or_()
        if self.peek() is not None:
            raise self.error(f"unexpected {self.peek()[1]!r}")  # type: ignore[index]
        return node

    def or_(self) -> Node:
        parts = [self.and_()]
        while self.keyword("or"):
            parts.append(self.and_())
        return parts[0] if len(parts) == 1 else BoolOp("or", tuple(parts))

    def and_(self) -> Node:
        parts = [self.not_()]
        while self.keyword("and"):
            parts.append(self.not_())
        return parts[0] if len(parts) == 1 else BoolOp("and", tuple(parts))

    def not_(self) -> Node:
        if self.keyword("not"):
            return Not(self.not_())
        tok = self.peek()
        if tok and tok[1] == "(":
            self.i += 1
            node = self.or_()
            tok = self.peek()
            if not tok or tok[1] != ")":
                raise self.error("expected ')'")
            self.i += 1
            return node
        return self.comparison()

    def operand(self) -> ScalarRef | float:
        tok = self.peek()
        if tok is None:
            raise self.error("expected a scalar or a number")
        kind, value, _ = tok
        if kind == "number":
            self.i += 1
            number = float(value)
            if not math.isfinite(number):
                raise self.error(f"{value!r} is not a finite number")
            return number
        if kind == "scalar" and value not in _KEYWORDS:
            self.i += 1
            m = _TOKEN.fullmatch(value)
            assert m is not None
            return _scalar_from_match(m, self.text)
        raise self.error(f"expected a scalar or a number, found {value!r}")

    def comparison(self) -> Node:
        start = self.peek()
        left = self.operand()
        tok = self.peek()
        if tok is None or tok[0] != "op":
            raise self.error("expected a comparison (>=, <=, >, <, ==, !=)")
        self.i += 1
        right = self.operand()
        if isinstance(left, ScalarRef) and isinstance(right, float):
            return Comparison(left, tok[1], right)
        if isinstance(left, float) and isinstance(right, ScalarRef):
            return Comparison(right, _MIRRORED[tok[1]], left)
        at = start[2] + 1 if start else 1
        raise ExpressionError(f"compare a scalar with a number (at position {at} in {self.text!r})")


def parse_criterion(text: str) -> Criterion:
    """Parse one acceptance criterion such as ``val_acc >= 0.9 and max:loss < 2``."""
    return Criterion(text.strip(), _Parser(text).parse())


def parse_objective(text: str) -> Objective:
    """Parse ``max val_acc``, ``min loss``, ``max avg:val_acc`` or ``newest``."""
    if text.strip() == NEWEST:
        return Objective("max", ScalarRef(NEWEST), newest=True)
    words = text.split(None, 1)
    if len(words) != 2 or words[0] not in ("max", "min"):
        raise ExpressionError(
            f"objective {text!r} must be 'max <scalar>', 'min <scalar>' or 'newest', "
            "e.g. 'max val_acc'"
        )
    direction: Direction = "max" if words[0] == "max" else "min"
    return Objective(direction, parse_scalar(words[1]))


def parse_tie_break(text: str) -> TieBreak:
    """Parse ``newest``, ``oldest``, or an objective-like rule such as ``min loss``."""
    word = text.strip()
    if word in ("newest", "oldest"):
        return TieBreak(newest=word == "newest")
    try:
        return TieBreak(objective=parse_objective(word))
    except ExpressionError:
        raise ExpressionError(
            f"tie-break {text!r} must be 'newest', 'oldest', 'max <scalar>' or 'min <scalar>'"
        ) from None
