# The shipped image of the promoter GitHub Action (action.yml: runs.using docker).
#
# Two stages: `builder` makes the virtualenv /opt/promoter (promoter with Guild AI and DVC);
# the final stage holds only the runtime (python3, git, ssh client, CA certificates) and that
# venv. No compiler, no pip, no pip cache and no build-time certificate reach the final image.
#
# Behind a TLS-re-signing proxy, put its CA bundle in the build context as `build-ca.pem`
# (scripts/container_ci.sh does, in a context of its own): only the builder stage sees it.
# Without that file the build uses the system's certificates.
FROM debian:bookworm-slim AS builder
ENV DEBIAN_FRONTEND=noninteractive PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update -qq \
    && apt-get install -y -qq --no-install-recommends python3 python3-venv ca-certificates \
    && rm -rf /var/lib/apt/lists/*
# The wildcard lets the build go on without build-ca.pem (COPY needs one match only).
COPY pyproject.toml build-ca.pe[m] /tmp/build/
# Dependencies first, from pyproject.toml alone: a change to the sources reuses this layer.
RUN if [ -f /tmp/build/build-ca.pem ]; then export PIP_CERT=/tmp/build/build-ca.pem; fi \
    && mkdir -p /tmp/deps/promoter && cp /tmp/build/pyproject.toml /tmp/deps/ \
    && touch /tmp/deps/README.md /tmp/deps/promoter/__init__.py \
    && python3 -m venv /opt/promoter \
    && /opt/promoter/bin/pip install -q "/tmp/deps[guild,dvc]" "dvc[s3,ssh]" \
    && /opt/promoter/bin/pip uninstall -q -y promoter \
    && rm -rf /tmp/deps /root/.cache
# Only what the wheel and the entrypoint need: edits to tests or docs keep the cache.
COPY pyproject.toml README.md /src/
COPY promoter /src/promoter
COPY action /src/action
# Dependencies' test suites (never imported, tens of MB) are dropped; guild's are kept.
RUN if [ -f /tmp/build/build-ca.pem ]; then export PIP_CERT=/tmp/build/build-ca.pem; fi \
    && /opt/promoter/bin/pip install -q --no-deps /src \
    && /opt/promoter/bin/pip uninstall -q -y pip \
    && mkdir -p /opt/promoter/action \
    && cp /src/action/entrypoint.py /opt/promoter/action/ \
    && find /opt/promoter/lib -depth -type d -name tests -path '*/site-packages/*/*' \
         -not -path '*/site-packages/guild/*' -exec rm -rf {} + \
    && rm -rf /tmp/build /root/.cache

FROM debian:bookworm-slim
ENV DEBIAN_FRONTEND=noninteractive
# safe.directory: GitHub runs docker actions as root on a workspace owned by the runner's user.
RUN apt-get update -qq \
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
