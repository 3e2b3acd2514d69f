"""What intro.py and expert.py share: flags, data, the model directory."""

import argparse
import json
import os


def flags(lr):
    parser = argparse.ArgumentParser()
    parser.add_argument("--rundir", default=".")
    parser.add_argument("--batch-size", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--lr", type=float, default=lr)
    parser.add_argument("--test", action="store_true")
    return parser.parse_args()


def data(rundir):
    with open(os.path.join(rundir, "data", "digits.csv")) as f:
        next(f)
        return [tuple(float(v) for v in line.split(",")) for line in f if line.strip()]


def save(rundir, weights, meta):
    os.makedirs(os.path.join(rundir, "model"), exist_ok=True)
    with open(os.path.join(rundir, "model", "weights.json"), "w") as f:
        json.dump(weights, f)
    with open(os.path.join(rundir, "model", "meta.json"), "w") as f:
        json.dump(meta, f)


def load(rundir):
    with open(os.path.join(rundir, "model", "weights.json")) as f:
        return json.load(f)


def score(weights, rows):
    """Mean squared error and accuracy of a linear rule on the rows."""
    loss = correct = 0.0
    for x1, x2, label in rows:
        guess = weights[0] * x1 + weights[1] * x2 + weights[2]
        loss += (guess - label) ** 2
        correct += (guess > 0.5) == (label > 0.5)
    return loss / len(rows), correct / len(rows)
