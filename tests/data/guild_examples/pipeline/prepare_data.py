import os

rows = 5

with open("data1.txt", "w") as f:
    f.writelines(f"{i},{i * i}\n" for i in range(rows))
os.mkdir("subdir")
with open("subdir/data2.txt", "w") as f:
    f.write(f"rows={rows}\n")
