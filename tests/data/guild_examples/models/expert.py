# The expert model: the same rule with momentum; it logs fewer tags than intro.
import os

import common
import tbevents

FLAGS = common.flags(lr=1e-4)
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

weights, velocity = [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]
train = tbevents.Writer(os.path.join(FLAGS.rundir, "train"))
validate = tbevents.Writer(os.path.join(FLAGS.rundir, "validate"))
for step in range(FLAGS.epochs):
    for x1, x2, label in train_rows[: FLAGS.batch_size]:
        error = weights[0] * x1 + weights[1] * x2 + weights[2] - label
        grads = [error * x1, error * x2, error]
        velocity = [0.9 * v + g for v, g in zip(velocity, grads, strict=True)]
        weights = [w - FLAGS.lr * v for w, v in zip(weights, velocity, strict=True)]
    loss, accuracy = common.score(weights, train_rows)
    train.add_scalar("loss", loss, step)
    train.add_scalar("accuracy", accuracy, step)
    loss, accuracy = common.score(weights, validate_rows)
    validate.add_scalar("accuracy", accuracy, step)
    print(f"Step {step}: validate={accuracy:f}")
train.close()
validate.close()
common.save(FLAGS.rundir, weights, {"model": "expert", "lr": FLAGS.lr})
