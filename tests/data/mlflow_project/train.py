"""A training script that logs to MLflow as a team using the DVC + MLflow recipe would: params,
metric histories, the model as an artifact, and the model's md5 as the dvc_model_md5 tag.

Each spec in --specs (JSON) is one run, logged in this one process (importing mlflow costs a
second): {"acc", "lr", "latency", "fail", "kill", "nan", "wrong_md5", "tags", "name"}.
Run as a file from a git checkout, MLflow tags each run with its git commit.
"""

import argparse
import hashlib
import json
import math
import os
import time
from pathlib import Path

import mlflow


def train(spec: dict) -> str:
    acc = float("nan") if spec.get("nan") else float(spec.get("acc", 0.9))
    lr = spec.get("lr", 0.1)
    latency = spec.get("latency", 30)
    model = f"model acc={spec.get('acc')} lr={lr} name={spec.get('name')}\n".encode()
    out = Path("outputs")
    out.mkdir(exist_ok=True)
    (out / "model.pkl").write_bytes(model)
    md5 = hashlib.md5(model).hexdigest()
    with mlflow.start_run(run_name=spec.get("name")) as run:
        mlflow.log_params({"lr": lr, "epochs": 3, "seed": spec.get("seed", 7)})
        for step in range(3):
            value = acc if math.isnan(acc) else acc - 0.1 * (2 - step)
            mlflow.log_metric("val_acc", value, step=step)
            mlflow.log_metric("train/loss", 1.0 / (step + 1 + lr), step=step)
        mlflow.log_metric("latency_ms", latency)
        mlflow.set_tag("dvc_model_md5", "0" * 32 if spec.get("wrong_md5") else md5)
        mlflow.set_tag("dvc_data_md5", hashlib.md5(b"digits").hexdigest())
        for key, value in spec.get("tags", {}).items():
            mlflow.set_tag(key, value)
        mlflow.log_artifact(str(out / "model.pkl"))
        mlflow.log_artifact(str(out / "model.pkl"), artifact_path="checkpoints")
        if spec.get("kill"):
            mlflow.end_run("KILLED")
        if spec.get("fail"):
            raise RuntimeError("training diverged")
    time.sleep(0.02)  # distinct start times, so "newest" is never a tie
    return run.info.run_id


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--specs", default="[{}]")
    parser.add_argument("--acc", type=float)
    parser.add_argument("--lr", type=float, default=0.1)
    args = parser.parse_args()
    specs = json.loads(args.specs)
    if os.environ.get("MLFLOW_EXPERIMENT_NAME"):
        mlflow.set_experiment(os.environ["MLFLOW_EXPERIMENT_NAME"])
    if args.acc is not None:
        specs = [{"acc": args.acc, "lr": args.lr}]
    ids = []
    for spec in specs:
        try:
            ids.append(train(spec))
        except RuntimeError:
            ids.append(mlflow.last_active_run().info.run_id)
    print(json.dumps(ids))


if __name__ == "__main__":
    main()
