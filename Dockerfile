# Stub: the shipped image (multi-stage, dvc, guildai, git safe.directory) arrives with the
# container issue. This one only installs the CLI.
FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends python3 python3-venv git \
    && rm -rf /var/lib/apt/lists/*
COPY . /src
RUN python3 -m venv /opt/promoter && /opt/promoter/bin/pip install --no-cache-dir /src
ENTRYPOINT ["/opt/promoter/bin/promoter"]
