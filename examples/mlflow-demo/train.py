"""Train an SGD classifier on scikit-learn's bundled digits, logging to MLflow the way the
DVC + MLflow recipe does: params, a metric history per epoch, the model and a plot as
artifacts, and the md5s of the data and the model as the dvc_data_md5 / dvc_model_md5 tags.

MLflow tags the run with the git commit of this checkout (mlflow.source.git.commit): run it
as a file from a clean, pushed commit, and promoter merges that commit's changes.
"""

import argparse
import hashlib
import pickle
import time

import mlflow
import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import SGDClassifier
from sklearn.metrics import log_loss
from sklearn.model_selection import train_test_split


def plot_confusion(truth, predicted, path):
    """Save the validation confusion matrix as a PNG (shown in the promotion PR)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import ConfusionMatrixDisplay

    fig, ax = plt.subplots(figsize=(4, 4), dpi=80)
    ConfusionMatrixDisplay.from_predictions(truth, predicted, ax=ax, colorbar=False)
    ax.set_title("validation confusion matrix")
    fig.tight_layout()
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)


parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, default=0.01)
parser.add_argument("--alpha", type=float, default=0.0001)
parser.add_argument("--epochs", type=int, default=8)
parser.add_argument("--seed", type=int, default=1)
args = parser.parse_args()

X, y = load_digits(return_X_y=True)
X = X / 16.0
X_train, X_val, y_train, y_val = train_test_split(X, y, test_size=0.3, random_state=0)
model = SGDClassifier(
    loss="log_loss", alpha=args.alpha, learning_rate="constant", eta0=args.lr, random_state=args.seed
)
classes = np.unique(y)
with mlflow.start_run():
    mlflow.log_params(vars(args))
    mlflow.set_tag("dvc_data_md5", hashlib.md5(X.tobytes() + y.tobytes()).hexdigest())
    for epoch in range(args.epochs):
        model.partial_fit(X_train, y_train, classes=classes)
        started = time.perf_counter()
        proba = model.predict_proba(X_val)
        latency_ms = (time.perf_counter() - started) * 1000 / len(X_val) * 100
        mlflow.log_metrics(
            {
                "loss": log_loss(y_val, proba, labels=classes),
                "val_acc": float((proba.argmax(axis=1) == y_val).mean()),
                "latency_ms": latency_ms,
            },
            step=epoch,
        )
    with open("model.pkl", "wb") as f:
        pickle.dump(model, f)
    with open("model.pkl", "rb") as f:
        mlflow.set_tag("dvc_model_md5", hashlib.md5(f.read()).hexdigest())
    plot_confusion(y_val, proba.argmax(axis=1), "confusion.png")
    mlflow.log_artifact("model.pkl")
    mlflow.log_artifact("confusion.png")
