#!/usr/bin/env bash
# The main job on an embedded default: a real Guild project (examples/demo) trained a few
# times into its own GUILD_HOME, then `promoter runs` and `promoter select` on it.
# Everything lives under .demo/ (delete it to start over).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. .venv/bin/activate
export DVC_NO_ANALYTICS=1 NO_WARN_RUNDIR=1

demo="$PWD/.demo"
project="$demo/project"
export GUILD_HOME="$demo/guild-home"
rm -rf "$demo"
mkdir -p "$project" "$GUILD_HOME"
cp examples/demo/guild.yml examples/demo/train.py "$project/"
cp examples/demo/promoter.yml "$project/.promoter.yml"
git -C "$project" init -q -b main
git -C "$project" add -A
git -C "$project" -c user.name=demo -c user.email=demo@example.com commit -q -m "demo project"

cd "$project"
echo "== training 5 runs of the demo project with guild (a few seconds each)"
for flags in "lr=0.001" "lr=0.01" "lr=0.1 alpha=0.001" "lr=1.0" "lr=0.05 seed=2"; do
  echo "guild run train $flags"
  # shellcheck disable=SC2086
  guild run train $flags -y >/dev/null
done

echo
echo "== promoter runs"
promoter runs
echo
echo "== promoter select   (config: $project/.promoter.yml)"
promoter select
