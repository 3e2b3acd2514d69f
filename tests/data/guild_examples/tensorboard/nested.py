import tbevents

scale = 1.0

with tbevents.Writer("foo") as w:
    w.add_scalar("a", 1.0 * scale, 1)
    w.add_scalar("a", 2.0 * scale, 2)

with tbevents.Writer("foo/bar") as w:
    w.add_scalar("a", 3.0 * scale, 3)
    w.add_scalar("a", 4.0 * scale, 4)

with tbevents.Writer("foo/bar/baz") as w:
    w.add_scalar("a", 5.0 * scale, 5)
    w.add_scalar("a", 6.0 * scale, 6)
