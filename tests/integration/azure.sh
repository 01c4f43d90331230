#!/usr/bin/env bash
# Integration tests of the controller modules against the Azure simulator, over HTTPS, with the real SDK.
#   tests/integration/azure.sh [2.16|2.21] [playbook-glob]
# Starts the simulator (simulator/, python -m azsim), runs every tests/integration/azure/NN_*.yml with
# ansible-playbook, stops the simulator. Exit status: number of failed playbooks (0 = all passed).
set -u
ADE_CORE=${1:-${ADE_CORE:-2.16}}
PATTERN=${2:-[0-9][0-9]_*.yml}
export ADE_CORE
# shellcheck source=tests/ci/env.sh
. "$(dirname "$0")/../ci/env.sh"
# shellcheck source=tests/ci/lib.sh
. "$(dirname "$0")/../ci/lib.sh"
: "${ADE_WORK:?}" "${ADE_COLL:?}" "${ADE_REPO:?}"
ade_mount_collection
ade_activate
# ADE_SCRATCH: parent of the simulator work dir (default $ADE_WORK), so that parallel checkouts do not collide.
# The playbooks spend most of their wall time waiting on the simulator's clock (the machine stays idle), so they run
# in AZURE_LANES lanes (default 2), each with its own simulator (every playbook replaces the scenario of its
# simulator, so two playbooks never share one); each lane's output is printed whole after the lane ends.
LANES=${AZURE_LANES:-2}
SIM_BASE=${ADE_SCRATCH:-$ADE_WORK}/azsim-it-$ADE_CORE
rm -rf "$SIM_BASE"
mkdir -p "$SIM_BASE"
unset REQUESTS_CA_BUNDLE AZURE_CLIENT_SECRET AZURE_TENANT_ID
cd "$ADE_COLL/tests/integration/azure" || exit 1
# shellcheck disable=SC2206  # the glob is meant to expand here
PLAYBOOKS=($PATTERN)

run_lane() {  # LANE PLAYBOOK...: one simulator, the playbooks in order; writes lane-N.failed (names) and .passed
  local lane=$1 pb passed=0 failures=""
  shift
  LANE_SIM=$SIM_BASE/lane-$lane   # global: the EXIT trap of the lane's subshell reads it after the function returned
  ade_sim_start "$LANE_SIM" --time-scale 60 || { echo "$*" >"$SIM_BASE/lane-$lane.failed"; return 0; }
  trap 'ade_sim_stop "$LANE_SIM"' EXIT
  export AZURE_ADE_KEYVAULT_ENDPOINT="$AZURE_RESOURCE_MANAGER_URL/_keyvault/{vault}"   # Key Vault data plane (KEK by name)
  for pb in "$@"; do
    echo "=== $pb (ansible-core $ADE_CORE, lane $lane)"
    local t0=$SECONDS
    if ansible-playbook -i localhost, -c local -e "ansible_python_interpreter=$(command -v python)" "$pb"; then
      passed=$((passed + 1))
    else
      failures="$failures $pb"
    fi
    echo "$pb $((SECONDS - t0))" >>"$SIM_BASE/lane-$lane.times"
  done
  echo "$passed" >"$SIM_BASE/lane-$lane.passed"
  echo "$failures" >"$SIM_BASE/lane-$lane.failed"
}

# AZURE_SKIP: playbooks left out on this run (tests/ci/pipeline.sh azure_skip: 14_lease.yml runs on one line only).
if [ -n "${AZURE_SKIP:-}" ]; then
  kept=()
  for pb in "${PLAYBOOKS[@]}"; do
    case " $AZURE_SKIP " in *" $pb "*) echo "=== $pb left out on this line (AZURE_SKIP)" ;; *) kept+=("$pb") ;; esac
  done
  PLAYBOOKS=("${kept[@]}")
fi
# Lanes balanced by the seconds each playbook took (durations.txt, measured; unknown: 60 s): longest first, each to
# the lane with the least work so far (round robin left one lane 480 s longer than the other).
mapfile -t ASSIGN < <(python3 - "$LANES" durations.txt "${PLAYBOOKS[@]}" <<'PY'
import sys
lanes, table, pbs = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
secs = {}
try:
    for line in open(table):
        f = line.split()
        if len(f) >= 2 and not line.startswith('#'):
            secs[f[0]] = int(f[1])
except OSError:
    pass
load, out = [0] * lanes, [[] for _ in range(lanes)]
for pb in sorted(pbs, key=lambda p: -secs.get(p, 60)):
    i = load.index(min(load))
    load[i] += secs.get(pb, 60)
    out[i].append(pb)
for mine in out:
    print(' '.join(sorted(mine)))
PY
)
pids=()
for ((lane = 0; lane < LANES; lane++)); do
  mine=()
  read -r -a mine <<<"${ASSIGN[$lane]:-}"
  [ "${#mine[@]}" -gt 0 ] || continue
  (run_lane "$lane" "${mine[@]}") >"$SIM_BASE/lane-$lane.log" 2>&1 &
  pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid" || true; done
failed=0; passed=0; failures=""
for ((lane = 0; lane < LANES; lane++)); do
  [ -f "$SIM_BASE/lane-$lane.log" ] || continue
  cat "$SIM_BASE/lane-$lane.log"
  passed=$((passed + $(cat "$SIM_BASE/lane-$lane.passed" 2>/dev/null || echo 0)))
  lane_failed=()
  read -r -a lane_failed <"$SIM_BASE/lane-$lane.failed" || true
  for pb in "${lane_failed[@]}"; do failed=$((failed + 1)); failures="$failures $pb"; done
done
[ $((passed + failed)) -eq "${#PLAYBOOKS[@]}" ] || { echo "a lane ended early: $((passed + failed)) of ${#PLAYBOOKS[@]} playbooks accounted for"; failed=$((failed + 1)); }
echo "seconds per playbook (lane, playbook, s):"
for ((lane = 0; lane < LANES; lane++)); do sed "s/^/  $lane /" "$SIM_BASE/lane-$lane.times" 2>/dev/null; done
echo "azure integration (core $ADE_CORE): $passed passed, $failed failed${failures:+ ($failures )}"
exit $failed
