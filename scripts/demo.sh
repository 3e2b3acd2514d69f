#!/usr/bin/env bash
# The main job on an embedded default: a real Guild project (examples/demo, scikit-learn on its
# bundled digits) trained a few times into its own GUILD_HOME, a local bare git remote, a local
# DVC remote, then `promoter promote` opens the promotion PR in the local forge.
# Everything lives under .demo/ (delete it to start over).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. .venv/bin/activate
export DVC_NO_ANALYTICS=1 NO_WARN_RUNDIR=1
export GIT_AUTHOR_NAME="${GIT_AUTHOR_NAME:-demo}" GIT_AUTHOR_EMAIL="${GIT_AUTHOR_EMAIL:-demo@example.com}"
export GIT_COMMITTER_NAME="$GIT_AUTHOR_NAME" GIT_COMMITTER_EMAIL="$GIT_AUTHOR_EMAIL"

demo="$PWD/.demo"
project="$demo/project"
export GUILD_HOME="$demo/guild-home"
export PROMOTER_FORGE_DIR="$demo/forge"
rm -rf "$demo"
mkdir -p "$project" "$GUILD_HOME"

echo "== a project with a git remote ($demo/remote.git) and a DVC remote ($demo/dvc-remote)"
git init -q --bare -b main "$demo/remote.git"
cp examples/demo/guild.yml examples/demo/train.py "$project/"
cp examples/demo/promoter.yml "$project/.promoter.yml"
cd "$project"
git init -q -b main
dvc init -q
dvc remote add -q -d storage "$demo/dvc-remote"
git add -A
git commit -q -m "demo project"
git remote add origin "$demo/remote.git"
git push -q origin main

echo "== training 5 runs with guild (a few seconds each)"
for flags in "lr=0.001" "lr=0.01" "lr=0.1 alpha=0.001" "lr=1.0" "lr=0.05 seed=2"; do
  echo "guild run train $flags"
  # shellcheck disable=SC2086
  guild run train $flags -y >/dev/null
done

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
echo "The branch: git -C $demo/remote.git log --stat promote/train"
echo "Check it: (cd $project && git fetch -q origin promote/train && promoter verify FETCH_HEAD)"
