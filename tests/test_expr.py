"""The selection language: parsing, printing, evaluating, and rejecting bad input."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from promoter.core.expr import (
    BoolOp,
    Comparison,
    ExpressionError,
    Node,
    Not,
    ScalarRef,
    parse_criterion,
    parse_objective,
    parse_scalar,
    parse_tie_break,
)


def values(**kw: float) -> dict[ScalarRef, float]:
    out = {}
    for key, v in kw.items():
        agg, _, name = key.rpartition("__")
        out[ScalarRef(name, agg or "last")] = v
    return out


@pytest.mark.parametrize(
    ("text", "scalars", "expected"),
    [
        ("val_acc >= 0.9", {"val_acc": 0.9}, True),
        ("val_acc >= 0.9", {"val_acc": 0.89}, False),
        ("val_acc>0.9", {"val_acc": 0.9}, False),
        ("latency_ms <= 40", {"latency_ms": 40.0}, True),
        ("loss < 1e-3", {"loss": 0.0009}, True),
        ("loss != 0", {"loss": 0.0}, False),
        ("loss == 0", {"loss": 0.0}, True),
        ("0.9 <= val_acc", {"val_acc": 0.95}, True),
        ("0.9 > val_acc", {"val_acc": 0.95}, False),
        ("val_acc >= 0.9 and loss < 0.3", {"val_acc": 0.95, "loss": 0.4}, False),
        ("val_acc >= 0.9 or loss < 0.3", {"val_acc": 0.85, "loss": 0.2}, True),
        ("not val_acc < 0.9", {"val_acc": 0.95}, True),
        ("not (a > 1 or b > 1)", {"a": 0.0, "b": 2.0}, False),
        ("a > 1 or b > 1 and c > 1", {"a": 2.0, "b": 0.0, "c": 0.0}, True),
        ("(a > 1 or b > 1) and c > 1", {"a": 2.0, "b": 0.0, "c": 0.0}, False),
        ("delta > -0.5", {"delta": -0.25}, True),
    ],
)
def test_criteria_evaluate(text: str, scalars: dict[str, float], expected: bool) -> None:
    criterion = parse_criterion(text)
    assert criterion.evaluate(values(**scalars)) is expected


def test_aggregates_and_names_with_punctuation() -> None:
    criterion = parse_criterion("max:val_acc >= 0.9 and train/loss-v2 < 1 and 'my metric' > 0")
    assert criterion.scalars() == (
        ScalarRef("val_acc", "max"),
        ScalarRef("train/loss-v2"),
        ScalarRef("my metric"),
    )
    assert str(criterion.tree) == "max:val_acc >= 0.9 and train/loss-v2 < 1 and 'my metric' > 0"


def test_guild_prefixed_scalar_name() -> None:
    assert parse_scalar(".guild#loss") == ScalarRef(".guild#loss")
    assert parse_scalar("avg:logs/train#loss") == ScalarRef("logs/train#loss", "avg")


def test_repeated_scalar_listed_once() -> None:
    assert parse_criterion("a > 1 and a < 3").scalars() == (ScalarRef("a"),)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("val_acc", "expected a comparison"),
        ("val_acc >=", "expected a scalar or a number"),
        ("val_acc >= 0.9 and", "expected a scalar or a number"),
        ("val_acc >= high", "compare a scalar with a number"),
        ("1 > 2", "compare a scalar with a number"),
        ("val_acc => 0.9", "unexpected"),
        ("__import__('os').system('x') > 1", "expected a comparison"),
        ("val_acc >= 0.9)", r"unexpected '\)'"),
        ("(val_acc >= 0.9", r"expected '\)'"),
        ("median:loss < 1", "unknown aggregate 'median'"),
        ("and > 1", "expected a scalar or a number"),
        ("val_acc >= 0.9 val_acc", "unexpected 'val_acc'"),
        ("val_acc >= 1e999", "not a finite number"),
    ],
)
def test_bad_criteria_are_rejected_with_position(text: str, message: str) -> None:
    with pytest.raises(ExpressionError, match=message):
        parse_criterion(text)


def test_error_names_position() -> None:
    with pytest.raises(ExpressionError, match="position 1 "):
        parse_criterion("val_acc >= x")


def test_objective() -> None:
    assert parse_objective("max val_acc").improvement(0.9, 0.8) > 0
    objective = parse_objective("min avg:loss")
    assert objective.scalar == ScalarRef("loss", "avg")
    assert objective.improvement(0.1, 0.2) > 0
    assert objective.improvement(0.1, 0.25) == pytest.approx(0.15)
    assert str(objective) == "min avg:loss"


@pytest.mark.parametrize("text", ["maximize val_acc", "max", "val_acc", "max val acc", "up x"])
def test_bad_objectives(text: str) -> None:
    with pytest.raises(ExpressionError):
        parse_objective(text)


def test_tie_breaks() -> None:
    assert parse_tie_break("newest").newest is True
    assert parse_tie_break("oldest").newest is False
    rule = parse_tie_break("min loss")
    assert rule.objective is not None and rule.objective.direction == "min"
    assert str(rule) == "min loss"
    with pytest.raises(ExpressionError, match="tie-break"):
        parse_tie_break("latest")


names = st.sampled_from(["val_acc", "loss", "train/loss", "lat-ms", ".guild#acc"])
refs = st.builds(ScalarRef, names, st.sampled_from(["last", "min", "max", "avg", "first"]))
numbers = st.floats(allow_nan=False, allow_infinity=False, width=32).map(lambda x: float(f"{x:g}"))
comparisons = st.builds(
    Comparison, refs, st.sampled_from([">=", "<=", ">", "<", "==", "!="]), numbers
)
trees: st.SearchStrategy[Node] = st.recursive(
    comparisons,
    lambda inner: st.one_of(
        st.builds(Not, inner),
        st.builds(BoolOp, st.sampled_from(["and", "or"]), st.tuples(inner, inner)),
    ),
    max_leaves=6,
)


def _flatten(node: Node) -> Node:
    """Nested and/or of the same kind parse back flat: compare modulo that."""
    if isinstance(node, Not):
        return Not(_flatten(node.part))
    if isinstance(node, BoolOp):
        parts: list[Node] = []
        for part in node.parts:
            flat = _flatten(part)
            if isinstance(flat, BoolOp) and flat.op == node.op:
                parts.extend(flat.parts)
            else:
                parts.append(flat)
        return BoolOp(node.op, tuple(parts))
    return node


@given(trees)
def test_printing_then_parsing_gives_the_same_tree(tree: Node) -> None:
    assert parse_criterion(str(tree)).tree == _flatten(tree)


@given(trees, st.dictionaries(refs, numbers))
def test_evaluation_matches_python_semantics(
    tree: Node, given_values: dict[ScalarRef, float]
) -> None:
    criterion = parse_criterion(str(tree))
    full = {ref: given_values.get(ref, 0.5) for ref in criterion.scalars()}

    def reference(node: Node) -> bool:
        if isinstance(node, Comparison):
            a, b = full[node.scalar], node.threshold
            return {">=": a >= b, "<=": a <= b, ">": a > b, "<": a < b, "==": a == b, "!=": a != b}[
                node.op
            ]
        if isinstance(node, Not):
            return not reference(node.part)
        results = [reference(p) for p in node.parts]
        return all(results) if node.op == "and" else any(results)

    assert criterion.evaluate(full) is reference(tree)
