epochs = 3

for epoch in range(1, epochs + 1):
    print(f"epoch {epoch}  train loss {1.0 / epoch:.4f}  val loss {1.2 / epoch + 0.05:.4f}")
