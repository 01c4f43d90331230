#!/usr/bin/env bash
# Run the benchmarks (benchmarks/run.sh if there is one, else every benchmarks/*.sh and benchmarks/*.py)
# with one core line's venv active. Benchmarks measure; they are not part of `make test`.
#   bash tests/ci/bench.sh [2.16|2.19]
set -euo pipefail
ADE_CORE=${1:-${ADE_CORE:-2.16}}
export ADE_CORE
# shellcheck source=tests/ci/env.sh
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
ade_mount_collection
ade_test_path
cd "$ADE_REPO"
if [ -f benchmarks/run.sh ]; then
  exec bash benchmarks/run.sh "$ADE_CORE"
fi
rc=0 n=0
for f in benchmarks/*.sh benchmarks/*.py; do
  [ -f "$f" ] || continue
  n=$((n + 1))
  echo "== $f"
  case $f in
    *.sh) bash "$f" "$ADE_CORE" || rc=1 ;;
    *.py) python "$f" || rc=1 ;;
  esac
done
[ "$n" -gt 0 ] || { echo "MISSING benchmarks/*"; exit 1; }
exit $rc
