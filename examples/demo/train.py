"""Train an SGD classifier on scikit-learn's bundled digits and save it to model.pkl."""

import pickle
import time

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


alpha = 0.0001
epochs = 8
lr = 0.01
seed = 1

X, y = load_digits(return_X_y=True)
X = X / 16.0
X_train, X_val, y_train, y_val = train_test_split(X, y, test_size=0.3, random_state=0)
model = SGDClassifier(
    loss="log_loss", alpha=alpha, learning_rate="constant", eta0=lr, random_state=seed
)
classes = np.unique(y)
for epoch in range(epochs):
    model.partial_fit(X_train, y_train, classes=classes)
    started = time.perf_counter()
    proba = model.predict_proba(X_val)
    latency_ms = (time.perf_counter() - started) * 1000 / len(X_val) * 100
    print(f"epoch {epoch}")
    print(f"loss: {log_loss(y_val, proba, labels=classes):.6f}")
    print(f"val_acc: {(proba.argmax(axis=1) == y_val).mean():.6f}")
    print(f"latency_ms: {latency_ms:.4f}")

with open("model.pkl", "wb") as f:
    pickle.dump(model, f)

plot_confusion(y_val, proba.argmax(axis=1), "confusion.png")
