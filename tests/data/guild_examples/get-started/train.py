# A plain script (no guild.yml): Guild imports the globals as flags and reads
# `key: value` lines of the output as scalars.
import math

x = 0.1
noise = 0.1

print(f"x: {x:f}")
print(f"noise: {noise:f}")

loss = math.sin(5 * x) * (1 - math.tanh(x**2)) + noise * math.cos(7 * x)

print(f"loss: {loss:f}")
