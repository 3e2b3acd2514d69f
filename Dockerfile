# The image of the promoter GitHub Action. Releases publish it (.github/workflows/release.yml)
# and action.yml names the published image; this file is for local builds and CI.
#
#   docker build -t promoter .                                 # slim: promoter and dvc[s3,ssh]
#   docker build --build-arg VARIANT=guild -t promoter:guild . # plus guildai and the guild CLI
#
# Two stages: `builder` makes the virtualenv /opt/promoter and slims it
# (scripts/container_slim.sh: no test suites, no debug symbols, no pip, bytecode only for
# what the action imports); the final stage holds only the runtime (python3, git, ssh client,
# CA certificates) and that venv. No compiler, pip or build-time certificate reaches it.
# A build argument, not a target: the classic builder builds every stage before the target.
#
# Behind a TLS-re-signing proxy, put its CA bundle in the build context as `build-ca.pem`
# (scripts/container_ci.sh does, in a context of its own): only the builder stage sees it.
# Without that file the build uses the system's certificates.
FROM debian:bookworm-slim AS builder
ENV DEBIAN_FRONTEND=noninteractive PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# git and binutils (strip) serve container_slim.sh only.
RUN apt-get update -qq \
    && apt-get install -y -qq --no-install-recommends \
         python3 python3-venv ca-certificates git binutils \
    && rm -rf /var/lib/apt/lists/*
# The wildcard lets the build go on without build-ca.pem (COPY needs one match only).
COPY pyproject.toml build-ca.pe[m] /tmp/build/
ARG VARIANT=slim
# Dependencies first, from pyproject.toml alone: a change to the sources reuses this layer.
RUN case "$VARIANT" in \
      slim) extras=dvc ;; \
      guild) extras=dvc,guild ;; \
      *) echo "VARIANT is slim or guild, not '$VARIANT'" >&2; exit 2 ;; \
    esac \
    && if [ -f /tmp/build/build-ca.pem ]; then export PIP_CERT=/tmp/build/build-ca.pem; fi \
    && mkdir -p /tmp/deps/promoter && cp /tmp/build/pyproject.toml /tmp/deps/ \
    && touch /tmp/deps/README.md /tmp/deps/promoter/__init__.py \
    && python3 -m venv /opt/promoter \
    && /opt/promoter/bin/pip install -q "/tmp/deps[$extras]" "dvc[s3,ssh]" \
    && /opt/promoter/bin/pip uninstall -q -y promoter \
    && rm -rf /tmp/deps /root/.cache
COPY scripts/container_slim.sh /tmp/build/
RUN sh /tmp/build/container_slim.sh deps "$VARIANT"
# Only what the wheel and the entrypoint need: edits to tests or docs keep the cache.
COPY pyproject.toml README.md /src/
COPY promoter /src/promoter
COPY action /src/action
RUN if [ -f /tmp/build/build-ca.pem ]; then export PIP_CERT=/tmp/build/build-ca.pem; fi \
    && /opt/promoter/bin/pip install -q --no-deps /src \
    && mkdir -p /opt/promoter/action \
    && cp /src/action/entrypoint.py /opt/promoter/action/ \
    && sh /tmp/build/container_slim.sh app "$VARIANT" \
    && rm -rf /tmp/build /root/.cache

FROM debian:bookworm-slim
ENV DEBIAN_FRONTEND=noninteractive
# Left out of git (dpkg path-exclude, kept for later installs): its server and mail sides,
# 13 MB that promoter never runs. safe.directory: for runs as root on a workspace another
# user owns (the entrypoint normally runs promoter as the workspace's owner).
RUN printf 'path-exclude /usr/lib/git-core/%s\n' git-daemon git-http-backend git-http-push \
         git-imap-send git-shell scalar >/etc/dpkg/dpkg.cfg.d/promoter-git \
    && printf 'path-exclude /usr/bin/scalar\n' >>/etc/dpkg/dpkg.cfg.d/promoter-git \
    && apt-get update -qq \
    && apt-get install -y -qq --no-install-recommends \
         python3 git ca-certificates openssh-client \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/cache/apt/archives/*.deb \
         /var/log/apt /var/log/dpkg.log /var/cache/debconf/*-old /var/lib/dpkg/*-old \
    && git config --system --add safe.directory '*'
COPY --from=builder /opt/promoter /opt/promoter
ENV PATH=/opt/promoter/bin:$PATH \
    DVC_NO_ANALYTICS=1 \
    NO_WARN_RUNDIR=1 \
    PYTHONUNBUFFERED=1
ENTRYPOINT ["/opt/promoter/bin/python", "/opt/promoter/action/entrypoint.py"]
