#!/usr/bin/env bash
# Run the benchmarks (measurements, not part of `make test`; see benchmarks/README.md for the numbers).
#   bash tests/ci/bench.sh [2.16|2.21]     (make bench CORE=...)
#   benchmarks/guest_preflight.py --core CORE  needs the test hosts: started here (tests/hosts/up.sh)
#   benchmarks/azure_requests.py               runs its own simulator (~2 min)
# Any other benchmarks/*.py is run with the core line's venv python, without arguments.
set -euo pipefail
ADE_CORE=${1:-${ADE_CORE:-2.16}}
export ADE_CORE
# shellcheck source=tests/ci/env.sh
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
ade_mount_collection
ade_test_path
cd "$ADE_REPO"
rc=0 n=0
for f in benchmarks/*.py; do
  [ -f "$f" ] || continue
  n=$((n + 1))
  echo "== $f (ansible-core $ADE_CORE)"
  case $(basename "$f") in
    guest_preflight.py)
      bash tests/hosts/up.sh
      python "$f" --core "$ADE_CORE" || rc=1 ;;
    *) python "$f" || rc=1 ;;
  esac
done
[ "$n" -gt 0 ] || { echo "MISSING benchmarks/*.py"; exit 1; }
exit $rc
