#!/usr/bin/env bash
# Start / stop the Azure simulator (simulator/azsim) in the background, state in $ADE_WORK/sim.
#   bash tests/ci/simulator.sh start [2.16|2.21]   prints the endpoints JSON (ARM URL, login URL, CA file ...)
#   bash tests/ci/simulator.sh stop
#   bash tests/ci/simulator.sh test                 the simulator's own pytest suite (simulator/tests)
set -euo pipefail
cmd=${1:-start}
ADE_CORE=${2:-${ADE_CORE:-2.16}}
export ADE_CORE
# shellcheck source=tests/ci/env.sh
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
SIM_WORK=${ADE_SIM_WORK:-$ADE_WORK/sim}
cd "$ADE_REPO/simulator"
case $cmd in
  start)
    if [ -f "$SIM_WORK/server.pid" ] && kill -0 "$(cat "$SIM_WORK/server.pid")" 2>/dev/null; then
      echo "simulator already running (pid $(cat "$SIM_WORK/server.pid")), endpoints: $SIM_WORK/endpoints.json"
      cat "$SIM_WORK/endpoints.json"
      exit 0
    fi
    "$ADE_VENV/bin/python" -m azsim serve --workdir "$SIM_WORK" --daemon
    echo "simulator started: log $SIM_WORK/server.log, stop with: make simulator-stop"
    ;;
  stop)
    "$ADE_VENV/bin/python" -m azsim stop --workdir "$SIM_WORK" || true
    ;;
  test)
    # shellcheck source=tests/ci/lib.sh
    . "$ADE_REPO/tests/ci/lib.sh"
    [ -d tests ] || { echo "MISSING simulator/tests"; exit 1; }
    # + the test hosts' reboot model (pure: GRUB default, kernel choice, dm-crypt view; tests/hosts/lib/power.py)
    ci_run pytest "simulator tests" "$ADE_VENV/bin/python" -m pytest -q -p no:cacheprovider tests \
      "$ADE_REPO/tests/hosts/test_power.py"
    ci_need_tests "simulator tests"
    ci_summary
    ;;
  *) echo "usage: $0 start|stop|test [core]"; exit 2 ;;
esac
