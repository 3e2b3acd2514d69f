# The intro model: one linear rule, trained by gradient descent, logging to train/ and validate/.
import os

import common
import tbevents

FLAGS = common.flags(lr=0.5)
rows = common.data(FLAGS.rundir)
train_rows, validate_rows = rows[:30], rows[30:]

if FLAGS.test:
    weights = common.load(FLAGS.rundir)
    loss, accuracy = common.score(weights, rows)
    with tbevents.Writer(FLAGS.rundir) as writer:
        writer.add_scalar("loss", loss)
        writer.add_scalar("accuracy", accuracy)
    print(f"Test accuracy={accuracy:f}")
    raise SystemExit(0)

weights = [0.0, 0.0, 0.0]
train = tbevents.Writer(os.path.join(FLAGS.rundir, "train"))
validate = tbevents.Writer(os.path.join(FLAGS.rundir, "validate"))
for step in range(FLAGS.epochs):
    for x1, x2, label in train_rows[: FLAGS.batch_size]:
        error = weights[0] * x1 / 10 + weights[1] * x2 / 10 + weights[2] - label
        weights = [
            weights[0] - FLAGS.lr * error * x1 / 100,
            weights[1] - FLAGS.lr * error * x2 / 100,
            weights[2] - FLAGS.lr * error / 10,
        ]
    loss, accuracy = common.score(weights, train_rows)
    train.add_scalar("loss", loss, step)
    train.add_scalar("accuracy", accuracy, step)
    train.add_scalar("weights/mean", sum(weights) / 3, step)
    loss, accuracy = common.score(weights, validate_rows)
    validate.add_scalar("loss", loss, step)
    validate.add_scalar("accuracy", accuracy, step)
    print(f"Step {step}: validate={accuracy:f}")
train.close()
validate.close()
common.save(FLAGS.rundir, weights, {"model": "intro", "lr": FLAGS.lr})
