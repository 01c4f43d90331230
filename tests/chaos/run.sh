#!/usr/bin/env bash
# Chaos suite: the encrypt rollout on a fleet of CHAOS_FLEET (default 100) simulated VMs, each with its own
# test host (tests/hosts/lib/fleet.py), the control node killed at random points and faults injected, re-run
# until it converges; invariants checked from the simulator's request log (tests/chaos/README.md).
#   bash tests/chaos/run.sh [2.16|2.21]
# Env: CHAOS_FLEET (100), CHAOS_TOTAL (s for all playbook runs, 540), CHAOS_BUDGET (s of killed runs, 120),
#      CHAOS_MAX_KILLS (6), CHAOS_SEED (random), CHAOS_GUESTS (1: hosts follow their VMs, tests/chaos/guests.py),
#      CHAOS_SLICES (2: two concurrent job slices after the chaos phase; 0 = off), CHAOS_FORKS (20),
#      ADE_SCRATCH (scratch dir, default $ADE_WORK/chaos-$ADE_CORE).
# Holds /work/coord/hosts.lock (CHAOS_LOCK) only while the fleet starts and stops. Last line: "N passed, N failed".
set -uo pipefail
ADE_CORE=${1:-${ADE_CORE:-2.16}}
export ADE_CORE
# shellcheck source=tests/ci/env.sh
. "$(dirname "${BASH_SOURCE[0]}")/../ci/env.sh"
# shellcheck source=tests/ci/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../ci/lib.sh"
ade_hosts_env fleet
HERE=$ADE_REPO/tests/chaos
LOCK=${CHAOS_LOCK:-/work/coord/hosts.lock}
locked() { if [ -e "$(dirname "$LOCK")" ]; then flock "$LOCK" "$@"; else "$@"; fi; }
W=${ADE_SCRATCH:-$ADE_WORK/chaos-$ADE_CORE}
rm -rf "$W"; mkdir -p "$W/logs"
SIM=$W/sim
N=${CHAOS_FLEET:-100}
FAILED_SETUP=0
# shellcheck disable=SC2317  # called by the EXIT trap
finish() {
  ade_sim_stop "$SIM"
  # ssh control masters of our runs (killed controllers leave them): only ours, by pid
  for pid in $(pgrep -f "$W/cp/" 2>/dev/null); do kill "$pid" 2>/dev/null || true; done
  # a reused fleet stays up for its owner (no wait for the hosts lock either)
  [ -n "${REUSED:-}" ] || locked /usr/bin/python3 "$ADE_REPO/tests/hosts/lib/fleet.py" down --owner "$W" >>"$W/logs/fleet.log" 2>&1 || true
  if [ "$FAILED_SETUP" -ne 0 ]; then echo "0 passed, 1 failed"; exit 1; fi
}
trap finish EXIT
trap 'exit 143' TERM INT

pip_need() { python -c "import $1" 2>/dev/null || pip install -q "$2" >/dev/null 2>&1; }
pip_need yaml pyyaml
pip_need trustme trustme

T0=$(date +%s.%N)
if [ "${CHAOS_REUSE_FLEET:-0}" = 1 ] && python3 - "$ADE_WORK/hosts/fleet.json" "$N" > "$W/fleet-up.json" <<'PY'
import json, sys   # reuse a running fleet of the same size (development: no wait for the hosts lock)
d = json.load(open(sys.argv[1]))
assert len(d["hosts"]) == int(sys.argv[2]) and d.get("imds_pid")
print(json.dumps(d))
PY
then
  echo "[chaos] reusing the running fleet of $N hosts"
  REUSED=1
elif ! locked /usr/bin/python3 "$ADE_REPO/tests/hosts/lib/fleet.py" up "$N" --owner "$W" --kinds "${CHAOS_KINDS:-ubuntu1804=9,centos7=1}" \
    > "$W/fleet-up.json" 2> "$W/logs/fleet.log"; then
  tail -20 "$W/logs/fleet.log"; echo "FAIL: fleet of $N hosts did not start"; FAILED_SETUP=1; exit 1
fi
[ ! -f "$W/logs/fleet.log" ] || tail -1 "$W/logs/fleet.log"
python3 "$HERE/scenario.py" "$ADE_WORK/hosts" "${CHAOS_FAIL_EVERY:-20}" > "$W/scenario.json" || { FAILED_SETUP=1; exit 1; }
ade_sim_start "$SIM" --time-scale "${CHAOS_TIME_SCALE:-600}" --scenario "$W/scenario.json" \
  || { echo "FAIL: simulator start"; FAILED_SETUP=1; exit 1; }
export ANSIBLE_SSH_CONTROL_PATH_DIR=$W/cp
export ANSIBLE_PIPELINING=True   # one ssh command per guest task instead of three
# the control node is killed with every process of its run (chaos.py kill_tree): a killed module's VM lease stays
# until it expires (issue 14), so the re-runs use a short lease and wait for it rather than stopping
export AZURE_ADE_LEASE_TTL=${CHAOS_LEASE_TTL:-8} AZURE_ADE_LEASE_WAIT=${CHAOS_LEASE_WAIT:-15}
# shellcheck disable=SC2086  # CHAOS_ARGS: extra options, split on purpose
python "$HERE/chaos.py" --sim "$SIM" --inventory "$INV" --work "$W" --fleet-json "$W/fleet-up.json" \
  --budget "${CHAOS_BUDGET:-120}" --total "${CHAOS_TOTAL:-540}" --max-kills "${CHAOS_MAX_KILLS:-6}" --forks "${CHAOS_FORKS:-20}" \
  --slices "${CHAOS_SLICES:-2}" --guests "${CHAOS_GUESTS:-1}" ${CHAOS_SEED:+--seed "$CHAOS_SEED"} ${CHAOS_ARGS:-}
rc=$?
printf '[chaos] total %.0f s (figures: %s)\n' "$(echo "$(date +%s.%N) - $T0" | bc)" "$W/figures.json"
exit $rc
