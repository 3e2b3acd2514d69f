print("rows: 100")
