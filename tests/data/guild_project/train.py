import sys
import time

acc = 0.8
lr = 0.1
epochs = 3
fail = False
nan = False
latency = True
sleep = 0.0

for epoch in range(epochs):
    val_acc = acc * (epoch + 1) / epochs
    print(f"epoch {epoch}", flush=True)
    print(f"loss: {1 - val_acc:.6f}")
    print("val_acc: nan" if nan and epoch == epochs - 1 else f"val_acc: {val_acc:.6f}")
    if latency:
        print(f"latency_ms: {10 + lr * 100:.3f}")
    time.sleep(sleep)

if fail:
    sys.exit(3)
with open("model.pkl", "wb") as f:
    f.write(f"model acc={acc} lr={lr}".encode())
