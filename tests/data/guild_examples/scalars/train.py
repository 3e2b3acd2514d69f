rate = 0.5

for step, loss in enumerate([2.5, 1.5 * rate + 0.5, rate], start=1):
    print(f"step: {step}")
    print(f"loss: {loss:f}")
    print(f"accuracy: {1 - loss / 3:f}")
    print("")
