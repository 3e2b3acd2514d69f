"""After the merge: a promoted champion registered as a GTO-readable git tag
``<track>@v<semver>``, and the champions of each track over the base branch's history."""
