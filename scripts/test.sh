#!/usr/bin/env bash
# The test command README shows and CI runs: lint, types, then tests with branch coverage.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export DVC_NO_ANALYTICS=1 GIT_CONFIG_NOSYSTEM=1
. .venv/bin/activate

echo "== ruff"
ruff check promoter tests benchmarks
ruff format --check promoter
echo "== mypy --strict promoter"
mypy --strict promoter
echo "== pytest"
set +e
python -m pytest --cov --cov-branch --cov-fail-under=90 "$@"
status=$?
set -e
if [[ $status -eq 5 ]]; then
  echo "pytest collected no tests: that is a failure here" >&2
  exit 1
fi
exit $status
