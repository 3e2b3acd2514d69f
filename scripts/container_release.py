"""The release workflow (.github/workflows/release.yml) under act, up to the push into a real
registry on loopback (Debian's docker-registry, started by scripts/container_ci.sh).

Copies the checkout (the files git would commit) into a repository of its own, whose
action.yml names the image in that registry, as a fork publishing elsewhere would; tags it
``v`` + pyproject's version; runs act on that tag's push event with ``PROMOTER_IMAGE`` set to
``REGISTRY/acme/promoter``. Then asks the registry's HTTP API what it holds: the version and
major tags of both variants, each with the digest the engine pushed, and the slim image's
config without the guild command. Prints the image reference (and writes it, with its digest
and timings, to --results) for the end-to-end run, which starts the action from it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NAMESPACE = "acme/promoter"
MANIFEST_TYPES = ", ".join(
    (
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
    )
)


class Failed(Exception):
    """A check that did not hold."""


def run(*cmd: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise Failed(f"{' '.join(cmd)} exited {done.returncode}:\n{done.stdout}{done.stderr}")
    return done.stdout


def release_repo(work: Path, image: str, version: str, ca: Path | None) -> Path:
    """A git repository with the checkout's files, action.yml naming ``image``, tagged."""
    repo = work / "promoter"
    repo.mkdir(parents=True)
    files = run("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=ROOT)
    for name in filter(None, files.split("\0")):
        source = ROOT / name
        if source.is_file():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, repo / name)
    action = repo / "action.yml"
    text, count = re.subn(
        r"(?m)^  image: .*$", f"  image: docker://{image}:v{version}", action.read_text()
    )
    if count != 1:
        raise Failed("action.yml has no `  image:` line under runs")
    action.write_text(text)
    git = ["git", "-c", "user.name=release", "-c", "user.email=release@example.invalid"]
    run(*git, "init", "-q", "--initial-branch=main", cwd=repo)
    run(*git, "remote", "add", "origin", f"https://github.com/{NAMESPACE}.git", cwd=repo)
    run(*git, "add", "--all", cwd=repo)
    run(*git, "commit", "-q", "-m", f"release v{version}", cwd=repo)
    run(*git, "tag", f"v{version}", cwd=repo)
    if ca is not None and ca.is_file():
        # Untracked: act's checkout copies it into the workspace, the Dockerfile gives it to
        # the builder stage (pip behind this machine's re-signing proxy), git never sees it.
        shutil.copy(ca, repo / "build-ca.pem")
    return repo


def act_release(act: str, repo: Path, work: Path, registry: str, version: str) -> float:
    """Run the release workflow for the tag's push event; returns act's seconds."""
    event = work / "event-push-tag.json"
    event.write_text(
        json.dumps(
            {
                "ref": f"refs/tags/v{version}",
                "ref_type": "tag",
                "repository": {"full_name": NAMESPACE, "default_branch": "main"},
                "sender": {"login": "octocat"},
                "pusher": {"name": "octocat"},
            }
        )
    )
    docker_cli = os.path.realpath(shutil.which("docker") or "docker")
    home = work / "act-home"
    home.mkdir(exist_ok=True)
    cmd = [
        act,
        "push",
        "-e",
        str(event),
        "-W",
        str(repo / ".github" / "workflows" / "release.yml"),
        "-C",
        str(repo),
        "-P",
        "ubuntu-latest=debian:bookworm-slim",
        "--pull=false",
        "--network",
        "host",
        # The job talks to the engine through its socket (act mounts it) with this host's
        # docker client: the job image is a bare Debian.
        "--container-options",
        f"-v {docker_cli}:/usr/local/bin/docker:ro",
        "--var",
        f"PROMOTER_IMAGE={registry}/{NAMESPACE}",
        "--var",
        "DOCKER_BUILD_FLAGS=--network host",
        "-s",
        "GITHUB_TOKEN=release-token",
        "--actor",
        "octocat",
    ]
    env = {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config")}
    env["XDG_CACHE_HOME"] = str(home / ".cache")
    started = time.monotonic()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1800, check=False)
    seconds = time.monotonic() - started
    log = work / "act-release.log"
    log.write_text(done.stdout + done.stderr)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-40:])
        raise Failed(f"act release exited {done.returncode} (log: {log}):\n{tail}")
    return seconds


def registry_get(registry: str, path: str, accept: str = "application/json") -> tuple[dict, str]:
    """GET from the registry's API: the JSON body and its Docker-Content-Digest header."""
    request = urllib.request.Request(f"http://{registry}/v2/{path}", headers={"Accept": accept})
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 (loopback)
        return json.loads(answer.read()), answer.headers.get("Docker-Content-Digest", "")


def check_registry(registry: str, version: str) -> dict[str, str]:
    """The tags the workflow must have pushed, with the engine's digests; returns them."""
    major = "v" + version.split(".")[0]
    want = {f"v{version}", major, f"v{version}-guild", f"{major}-guild"}
    tags, _ = registry_get(registry, f"{NAMESPACE}/tags/list")
    if set(tags.get("tags") or []) != want:
        raise Failed(f"the registry holds tags {tags.get('tags')}, not {sorted(want)}")
    digests: dict[str, str] = {}
    for tag in sorted(want):
        manifest, digest = registry_get(registry, f"{NAMESPACE}/manifests/{tag}", MANIFEST_TYPES)
        ref = f"{registry}/{NAMESPACE}:{tag}"
        local = run("docker", "image", "inspect", "-f", "{{json .RepoDigests}}", ref)
        if f"{registry}/{NAMESPACE}@{digest}" not in json.loads(local):
            raise Failed(f"{ref}: the registry's digest {digest} is not what was pushed ({local})")
        if not manifest.get("layers"):
            raise Failed(f"{ref}: a manifest without layers")
        digests[tag] = digest
    slim, guild = digests[f"v{version}"], digests[f"v{version}-guild"]
    if slim != digests[major] or guild != digests[f"{major}-guild"] or slim == guild:
        raise Failed(f"the major tags are not the version's images: {digests}")
    return digests


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--act", required=True, help="the act executable")
    parser.add_argument("--registry", required=True, help="HOST:PORT of the registry")
    parser.add_argument("--work", type=Path, required=True, help="scratch dir (emptied)")
    parser.add_argument("--ca", type=Path, help="CA bundle for pip inside the build")
    parser.add_argument("--results", type=Path, help="write image, digest, seconds (JSON)")
    args = parser.parse_args()
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    work = args.work.resolve()
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    image = f"{args.registry}/{NAMESPACE}"
    try:
        repo = release_repo(work, image, version, args.ca)
        seconds = act_release(args.act, repo, work, args.registry, version)
        digests = check_registry(args.registry, version)
    except Failed as e:
        print(f"FAIL: {e}", file=sys.stderr)
        return 1
    ref = f"{image}:v{version}"
    print(f"  release workflow (act, tag v{version}): pushed {', '.join(sorted(digests))}")
    print(f"  {ref} = {digests[f'v{version}'][:19]}..., act {seconds:.1f}s")
    if args.results:
        results = {
            "image": ref,
            "digest": digests[f"v{version}"],
            "action_yml": str(repo / "action.yml"),
            "act_release_s": round(seconds, 1),
        }
        args.results.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
