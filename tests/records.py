"""A complete, realistic promotion record for rendering tests and the screenshot script."""

from __future__ import annotations

from typing import Any

import msgspec

from promoter.promotion.record import (
    CandidateRow,
    ChampionInfo,
    CriterionRow,
    DependencyRow,
    DvcRow,
    FileRow,
    FlagRow,
    ObjectiveInfo,
    PlotRow,
    PrInfo,
    PromotionRecord,
    Reproduce,
    RunInfo,
    ScalarRow,
    TriggerInfo,
)

RUN_ID = "3f2a9c1b" + "0" * 24
CHAMPION_ID = "77aa11bb" + "1" * 24
CI_URL = "https://github.com/acme/ml/actions/runs/42"


def sample_record(**changes: Any) -> PromotionRecord:
    """A complete, realistic record; ``changes`` replace top-level fields."""
    record = PromotionRecord(
        decision="promote",
        summary="run 3f2a9c1b has val_acc 0.9312; champion 77aa11bb has 0.925: "
        "improvement 0.0062 >= 0.002 required",
        run=RunInfo(
            id=RUN_ID,
            short_id=RUN_ID[:8],
            op="train",
            status="completed",
            label="lr=0.01 batch_size=64",
            tags=["nightly"],
            started="2024-05-01T12:00:00+00:00",
            stopped="2024-05-01T12:42:10+00:00",
            host="gpu-box-1",
            user="alice",
            vcs_commit="git:1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b",
            sourcecode_digest="9f8e7d6c5b4a39281706f5e4d3c2b1a0",
            random_seed=1234,
            command=["python", "-um", "train"],
            python="3.11.7",
            packages_count=84,
            packages_sha256="ab" * 32,
        ),
        objective=ObjectiveInfo(
            name="val_acc",
            direction="max",
            value=0.9312,
            champion_value=0.925,
            champion_value_source="champion.yaml",
            improvement=0.0062,
            required_improvement=0.002,
        ),
        criteria=[
            CriterionRow("val_acc >= 0.90", True, {"val_acc": 0.9312}, champion_passed=True),
            CriterionRow("latency_ms <= 40", True, {"latency_ms": 38.2}, champion_passed=False),
        ],
        scalars=[
            ScalarRow("latency_ms", 38.2, 41.0, -2.8, 20, "lower"),
            ScalarRow("loss", 0.1873, 0.2011, -0.0138, 20),
            ScalarRow("val_acc", 0.9312, 0.925, 0.0062, 20, "higher"),
        ],
        flags=[
            FlagRow("batch_size", 64, 32, True, True),
            FlagRow("epochs", 20, 20, True, False),
            FlagRow("lr", 0.01, 0.001, True, True),
        ],
        files=[
            FileRow("train.py", "source", "c0ffee" * 10 + "abcd", 4211),
            FileRow("params.yml", "flags", "beef" * 16, 120),
        ],
        dvc=[
            DvcRow(
                "models/model.pkl",
                "d41d8cd98f00b204e9800998ecf8427e",
                12_345_678,
                None,
                "storage",
                "s3://ml-models/dvc",
                True,
            )
        ],
        dependencies=[DependencyRow("data/train.csv", "aa" * 20)],
        plots=[
            PlotRow("val_acc", ".promoter/promotions/x/plots/val_acc.png", "curve", "val_acc"),
            PlotRow("loss", ".promoter/promotions/x/plots/loss.png", "curve", "loss"),
        ],
        champion=ChampionInfo(
            run_id=CHAMPION_ID,
            op="train",
            objective_value=0.925,
            model_md5={"models/model.pkl": "0cc175b9c0f1b6a831c399e269772661"},
        ),
        reproduce=Reproduce(
            command="guild run train batch_size=64 epochs=20 lr=0.01",
            dvc_pull="dvc pull models/model.pkl",
        ),
        trigger=TriggerInfo("schedule", "octocat", "2024-05-02T03:00:00Z", CI_URL),
        pr=PrInfo(branch="promote/train", base="main", title="Promote train run 3f2a9c1b"),
        tools={"promoter": "0.1.0", "guild": "0.9.0", "dvc": "3.67.0"},
        candidates=sample_candidates(),
    )
    return msgspec.structs.replace(record, **changes)


def sample_candidates(n: int = 4) -> list[CandidateRow]:
    """Other runs of the op: ranked ones that lost on the objective, then ineligible ones."""
    ranked = [
        CandidateRow(
            id=f"{i:02d}c0ffee" + "2" * 24,
            op="train",
            status="completed",
            started=f"2024-05-01T{10 - i % 10:02d}:00:00+00:00",
            objective=round(0.9312 - 0.0011 * (i - 1), 4),
            rank=i,
            criteria_passed=2,
            criteria_total=2,
            reasons=[f"val_acc {0.9312 - 0.0011 * (i - 1):.6g}, winner 3f2a9c1b has 0.9312"],
        )
        for i in range(2, n)
    ]
    failed = CandidateRow(
        id="9e1d0b2a" + "3" * 24,
        op="train",
        status="completed",
        started="2024-04-30T22:00:00+00:00",
        objective=0.9405,
        rank=None,
        criteria_passed=1,
        criteria_total=2,
        reasons=["fails latency_ms <= 40 (latency_ms = 52.5)"],
    )
    crashed = CandidateRow(
        id="5b6c7d8e" + "4" * 24,
        op="train",
        status="error",
        started="2024-04-30T21:00:00+00:00",
        objective=None,
        rank=None,
        criteria_passed=0,
        criteria_total=2,
        reasons=["status error (candidates must be completed)", "objective val_acc is missing"],
    )
    return [*ranked, failed, crashed]


def replace_run(record: PromotionRecord, **changes: Any) -> PromotionRecord:
    return msgspec.structs.replace(record, run=msgspec.structs.replace(record.run, **changes))
