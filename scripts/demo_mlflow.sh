#!/usr/bin/env bash
# The demo on MLflow: examples/mlflow-demo (scikit-learn on its bundled digits) trained a few
# times into a local MLflow store (sqlite, in the project), a local bare git remote, a local
# DVC remote, then `promoter promote` opens the promotion PR in the local forge.
# Everything lives under .demo-mlflow/ (delete it to start over).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. .venv/bin/activate
export DVC_NO_ANALYTICS=1
export GIT_AUTHOR_NAME="${GIT_AUTHOR_NAME:-demo}" GIT_AUTHOR_EMAIL="${GIT_AUTHOR_EMAIL:-demo@example.com}"
export GIT_COMMITTER_NAME="$GIT_AUTHOR_NAME" GIT_COMMITTER_EMAIL="$GIT_AUTHOR_EMAIL"

demo="$PWD/.demo-mlflow"
project="$demo/project"
export PROMOTER_FORGE_DIR="$demo/forge"
export MLFLOW_TRACKING_URI="sqlite:///$project/mlflow.db" MLFLOW_EXPERIMENT_NAME=digits
rm -rf "$demo"
mkdir -p "$project"

echo "== a project with a git remote ($demo/remote.git) and a DVC remote ($demo/dvc-remote)"
git init -q --bare -b main "$demo/remote.git"
cp examples/mlflow-demo/train.py "$project/"
cp examples/mlflow-demo/promoter.yml "$project/.promoter.yml"
cp examples/mlflow-demo/gitignore "$project/.gitignore"
cd "$project"
git init -q -b main
dvc init -q
dvc remote add -q -d storage "$demo/dvc-remote"
git add -A
git commit -q -m "demo project"
git remote add origin "$demo/remote.git"
git push -q origin main

echo "== training 5 runs, logged to MLflow ($MLFLOW_TRACKING_URI, experiment digits)"
python -c "import mlflow; mlflow.set_experiment('digits')" 2>/dev/null
for flags in "--lr 0.001" "--lr 0.01" "--lr 0.1 --alpha 0.001" "--lr 1.0" "--lr 0.05 --seed 2"; do
  echo "python train.py $flags"
  # shellcheck disable=SC2086
  python train.py $flags >/dev/null 2>&1
done

echo
echo "== promoter runs"
promoter runs
echo
echo "== promoter select"
promoter select
echo
echo "== promoter promote"
promoter promote
echo
pr="$(ls "$PROMOTER_FORGE_DIR"/pull-*.md | head -n1)"
echo "The pull request body: $pr"
echo "The same as a web page: ${pr%.md}.html"
echo "The branch: git -C $demo/remote.git log --stat promote/digits"
echo "Check it: (cd $project && git fetch -q origin promote/digits && promoter verify FETCH_HEAD)"
