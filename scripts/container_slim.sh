#!/bin/sh
# Slims the image's virtualenv in the Dockerfile's builder stage; measured in
# docs/benchmarks.md. Run by root in the builder only, with git installed.
#
#   container_slim.sh deps VARIANT   after the dependencies are installed
#   container_slim.sh app VARIANT    after promoter is installed: warm-up, then pip goes
#
# deps: the dependencies' test suites go (never imported; guild's stay: `guild check` uses
# them), so do debug symbols of extension modules that auditwheel did not patch (strip breaks
# patched ones: numpy's openblas would not load), botocore's models of AWS services other
# than S3 and those its credential providers call (STS for roles and OIDC, SSO, sign-in), and
# every __pycache__. setuptools goes from the slim variant (guild needs pkg_resources).
# app: bytecode for all of promoter and the packages it requires (PyGithub, matplotlib, ...:
# the action's own process, whose modules load lazily, deep in a run); for dvc's packages (run
# as a subprocess) only what dvc init/add/push/status and S3/SSH clients load, in a warm-up
# here. That keeps 53 of the 74 MB of bytecode, and a non-root run (the entrypoint runs as the
# workspace's owner, who cannot write __pycache__ here) compiles only what the warm-up missed
# (measured in docs/benchmarks.md). pip goes last.
set -eu
phase="$1"
variant="$2"
venv=/opt/promoter
site="$(echo "$venv"/lib/python3.*/site-packages)"
size() { du -sm --apparent-size "$venv" | cut -f1; }

if [ "$phase" = deps ]; then
  before="$(size)"
  if [ "$variant" = slim ]; then
    "$venv/bin/pip" uninstall -q -y setuptools
  fi
  find "$site" -depth -type d -name tests -path "$site/*/*" -not -path "$site/guild/*" \
    -exec rm -rf {} +
  find "$site" -type f -name '*.so*' -not -path '*.libs/*' | while read -r lib; do
    if ! readelf -d "$lib" 2>/dev/null | grep -qE 'RPATH|RUNPATH'; then
      strip --strip-unneeded "$lib"
    fi
  done
  for model in "$site"/botocore/data/*/; do
    case "$(basename "$model")" in
      s3 | sts | sso | sso-oidc | signin) ;;
      *) rm -rf "$model" ;;
    esac
  done
  find "$venv" -depth -type d -name __pycache__ -exec rm -rf {} +
  echo "container_slim deps: $before MB -> $(size) MB"
  exit 0
fi

[ "$phase" = app ] || { echo "usage: $0 deps|app slim|guild" >&2; exit 2; }
export PATH="$venv/bin:$PATH" DVC_NO_ANALYTICS=1 HOME=/tmp/warm/home GIT_CONFIG_NOSYSTEM=1
rm -rf /tmp/warm && mkdir -p /tmp/warm/home /tmp/warm/repo /tmp/warm/remote
cd /tmp/warm/repo
promoter --version >/dev/null
promoter --help >/dev/null
python - <<'EOF'
import asyncio
import importlib
import pkgutil

import promoter

for module in pkgutil.walk_packages(promoter.__path__, "promoter."):
    if not module.name.endswith("__main__"):
        importlib.import_module(module.name)

# The calls promoter's plots make (matplotlib directly: promoter's modules may move).
import matplotlib.style
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

with matplotlib.style.context("default"):
    fig = Figure(figsize=(4.2, 2.6), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.plot([0, 1, 2], [0.1, 0.5, 0.7], color="#0969da", linestyle="-", label="this run")
    ax.axhline(0.6, color="#cf222e", linestyle="--", linewidth=1.2, label="champion")
    ax.set_title("acc", fontsize=10, parse_math=False)
    ax.set_xlabel("step", fontsize=8)
    ax.tick_params(labelsize=8)
    ax.grid(True, color="#d1d9e0", linewidth=0.5)
    ax.legend(fontsize=8, frameon=False)
    fig.savefig("/tmp/warm/plot.png", format="png", metadata={"Software": None})

import asyncssh  # noqa: F401  (dvc-ssh)
import dvc_s3  # noqa: F401
import dvc_ssh  # noqa: F401
import s3fs  # noqa: F401
import sshfs  # noqa: F401
from aiobotocore.session import get_session


async def s3_client() -> None:
    session = get_session()
    keys = {"aws_access_key_id": "x", "aws_secret_access_key": "y"}
    for service in ("s3", "sts"):
        async with session.create_client(service, region_name="us-east-1", **keys):
            pass


asyncio.run(s3_client())
EOF
git init -q . && git config user.email warm@example.invalid && git config user.name warm
dvc init -q && echo data >data.txt && dvc add -q data.txt
dvc remote add -q -d local /tmp/warm/remote
dvc remote add -q s3 s3://bucket/path
dvc remote add -q ssh ssh://127.0.0.1:1/path
dvc push -q && dvc status -q -c && dvc status -q
if [ "$variant" = guild ]; then
  guild --version >/dev/null
fi
python - <<'EOF'
import py_compile
import re
from importlib import metadata

# promoter and its requirements, recursively, extras left out (dvc and guild are theirs).
todo, seen = ["promoter"], set()
while todo:
    name = re.sub(r"[-_.]+", "-", todo.pop()).lower()
    if name in seen:
        continue
    try:
        dist = metadata.distribution(name)
    except metadata.PackageNotFoundError:
        continue
    seen.add(name)
    for requirement in dist.requires or []:
        if "extra ==" not in requirement:
            todo.append(re.match(r"[A-Za-z0-9._-]+", requirement).group(0))
    for file in dist.files or []:
        path = file.locate()
        if file.suffix == ".py" and path.is_file():  # test suites are gone
            py_compile.compile(str(path), quiet=2)
print(f"container_slim app: all bytecode for {len(seen)} distributions promoter requires")
EOF
cd /
rm -rf /tmp/warm
"$venv/bin/pip" uninstall -q -y pip
find "$venv" -depth -type d -name __pycache__ -path '*/pip/*' -exec rm -rf {} +
echo "container_slim app: $(size) MB, bytecode of $(find "$venv" -name '*.pyc' | wc -l) modules"
