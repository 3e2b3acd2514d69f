# Guild's summary writer: with a summary plugin enabled (memory), Guild adds sys/* scalars.
from guild import summary

lr = 0.1

with summary.SummaryWriter(".") as writer:
    for step in range(3):
        writer.add_scalar("loss", 1.0 / (1 + step * lr), step)
