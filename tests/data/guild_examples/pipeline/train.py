# Trains on the prepared data; writes a model and logs nothing Guild reads as a scalar.
import json
import os

epochs = 2

assert os.path.exists("data/data1.txt")
assert os.path.exists("data/subdir/data2.txt")

with open("data/data1.txt") as f:
    pairs = [tuple(int(v) for v in line.split(",")) for line in f if line.strip()]
os.makedirs("model", exist_ok=True)
with open("model/model.json", "w") as f:
    json.dump({"epochs": epochs, "n": len(pairs), "sum": sum(b for _, b in pairs)}, f)
with open("checkpoint.txt", "w") as f:
    f.write(f"epochs={epochs}\n")
print(f"trained on {len(pairs)} rows")
