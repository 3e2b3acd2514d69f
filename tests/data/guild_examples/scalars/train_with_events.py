# No output scalars: events written straight into the run directory.
import tbevents

rate = 0.5

print("Step 1: loss=2.345 accuracy=0.123")
with tbevents.Writer(".") as writer:
    writer.add_scalar("loss", 2.345, 1)
    writer.add_scalar("accuracy", 0.123, 1)
    writer.add_scalar("loss", 1.234 * rate, 2)
    writer.add_scalar("accuracy", 0.456, 2)
