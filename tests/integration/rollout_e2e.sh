#!/usr/bin/env bash
# Issue 6 end to end, the points that were only unit-tested before (real test host + simulator, as an operator runs them):
#   1. stall report (item 8, R4.1): the OS phase of $RE_HOST's VM shows the same message far longer than plausible
#      (simulator: os_min stretched; AZURE_ADE_STALL_FACTOR scales the plausible time to the simulator's speed):
#      the wait warns "STALLED? (reported, not failed)" with the guide's advice (do not reboot) and the VM still
#      ends encrypted - a report, never a failure;
#   2. a restore interrupted between its steps (item 3): azure_ade.linux.restore is SIGKILLed right after the OS-disk
#      swap (the VM is left deallocated on the restored disks), run again: it finishes (VM started, record
#      'restored'), reuses the restored disks it made (no second copy, no second swap), and says it resumed.
#      The kill reaches the process group of ansible-playbook (what a user's cancel kills); its vm_restore, started
#      by a worker that called setsid, lives on (issue 14: checked); the re-run, started while it is alive, waits
#      for its lease (ade_lease_wait) and no write of the two runs is interleaved (request log, lease tokens).
#   bash tests/integration/rollout_e2e.sh [2.16|2.21]      (run under: flock /work/coord/hosts.lock)
# Changes on the host: none left (the guest is only read; cleanup.yml puts back any SELinux state). Last line:
# "N passed, N failed".
set -uo pipefail
ADE_CORE=${1:-${ADE_CORE:-2.16}}
export ADE_CORE
# shellcheck source=tests/ci/env.sh
. "$(dirname "${BASH_SOURCE[0]}")/../ci/env.sh"
# shellcheck source=tests/ci/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../ci/lib.sh"
ade_hosts_env guests || { echo "0 passed, 1 failed"; exit 1; }
HERE=$ADE_REPO/tests/integration/e2e
RE_HOST=${RE_HOST:-ubuntu1804}
W=${ADE_SCRATCH:-$ADE_WORK}/rollout-e2e-$ADE_CORE
rm -rf "$W"; mkdir -p "$W/logs"
SIM=$W/sim
PASSED=0; FAILED=0
ok() { PASSED=$((PASSED + 1)); echo "PASS: $*"; }
ko() { FAILED=$((FAILED + 1)); echo "FAIL: $*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else ko "$what"; fi; }
finish() {
  ade_sim_stop "$SIM"
  timeout 120 ansible-playbook -i "$INV" "$HERE/cleanup.yml" -e ade_hosts="$RE_HOST" > "$W/logs/cleanup.log" 2>&1 \
    || echo "(cleanup of $RE_HOST failed, see $W/logs/cleanup.log)"
  echo "$PASSED passed, $FAILED failed"
  [ "$FAILED" -eq 0 ]
  exit $?
}
trap finish EXIT
trap 'exit 143' TERM INT

python3 "$HERE/scenario.py" "$INV" none > "$W/scenario.json" || { ko "scenario"; exit; }
ade_sim_start "$SIM" --time-scale 600 --scenario "$W/scenario.json" || { ko "simulator start"; exit; }
sim_log() { python -m azsim log --workdir "$SIM" --json > "$W/simlog.json"; }
sim_vm() {  # POST the VM's simulator state
  curl -sf --cacert "$AZURE_CA_BUNDLE" -X POST -H 'Content-Type: application/json' -d "$1" \
    "$AZURE_RESOURCE_MANAGER_URL/_sim/vms/$AZURE_SUBSCRIPTION_ID/rg-ade-test/$RE_HOST" > /dev/null
}

# ---- 1. stall report: the OS phase holds one message ~20 s (12000 simulated s); plausible x 0.0001 = 5.8 s ----
# (the wait counts the hold from its own first read of the message, so the slack 20 - 5.8 s must cover the time from
# the OS phase's start to the wait's first poll: with x 0.0002 (11.5 s) a soak run at load 24 never saw the stall)
sim_vm '{"ade_timing": {"os_min": 12000, "os_per_gb": 0}}' || ko "slow down $RE_HOST in the simulator"
AZURE_ADE_STALL_FACTOR=0.0001 ansible-playbook -i "$INV" azure_ade.linux.encrypt -e ade_hosts="$RE_HOST" \
  -e ade_key_vault=kv-ade-e2e -e ade_volume_type=All -e ade_poll_interval=0.2 -e ade_verify_restart=false \
  -e ade_snapshot_set=stall1 -e ade_report_dir="$W/report-stall" > "$W/logs/encrypt-stall.log" 2>&1
rc=$?
check "stall: encrypt rc=0 (a stall is reported, never a failure on its own), rc=$rc" test "$rc" -eq 0
tr '\n' ' ' < "$W/logs/encrypt-stall.log" | tr -s ' ' > "$W/logs/encrypt-stall.flat"   # warnings may be wrapped
check "stall: the wait warned STALLED? (reported, not failed)" grep -qF "STALLED? (reported, not failed" "$W/logs/encrypt-stall.flat"
check "stall: the warning carries the guide's advice (R4.1: do not reboot)" grep -qF "Do not reboot, stop or resize the VM" "$W/logs/encrypt-stall.flat"
check "stall: $RE_HOST still ends encrypted" python3 -c "
import json, sys
rows = {r['host']: r for r in json.load(open('$W/report-stall/encrypt.json'))}
sys.exit(0 if rows['$RE_HOST']['outcome'] == 'encrypted' else 1)"

# ---- 2. restore interrupted between its steps (after the OS-disk swap), then run again ------------------------
python -m azsim log --workdir "$SIM" --clear > /dev/null 2>&1
# the start that ends the restore is refused (409) until the first run is killed: it stops between the swap and the start
python -m azsim fault --workdir "$SIM" '{"method": "POST", "path": "/start$", "action": "409", "count": 100000}' > /dev/null \
  || ko "inject 409 on start"
MARK=rollout-e2e-$$-restore
# the killed run's lease: its default where the module outlives the kill (2.19: the orphan renews it while it works),
# 20 s where the kill takes the module with it (2.16), so the re-run takes the lease over once it expired
KILLED_TTL=$(python3 "$HERE/runproc.py" orphans && echo 600 || echo 20)
ADE_RUN_MARK=$MARK AZURE_ADE_LEASE_TTL=$KILLED_TTL setsid ansible-playbook -i "$INV" azure_ade.linux.restore -e ade_hosts="$RE_HOST" -e ade_poll_interval=0.2 \
  > "$W/logs/restore-killed.log" 2>&1 &
KILLED_PID=$!
for _ in $(seq 1 600); do
  sim_log
  if python3 - "$W/simlog.json" "$RE_HOST" <<'PY'
import json, re, sys
log = json.load(open(sys.argv[1]))
vm = sys.argv[2].lower()
sys.exit(0 if any(e.get("method") == "POST" and e["path"].lower().endswith("/virtualmachines/%s/start" % vm)
                  and e["status"] == 409 for e in log) else 1)
PY
  then break; fi
  sleep 0.2
done
kill -KILL -- "-$KILLED_PID" 2>/dev/null; wait "$KILLED_PID" 2>/dev/null
# the state the kill left, read while the start is still refused: an orphaned vm_restore (2.19+) retries its start and
# would succeed once the fault is gone
python -m azsim state --workdir "$SIM" > "$W/state-killed.json" 2>/dev/null
curl -sf --cacert "$AZURE_CA_BUNDLE" -X DELETE "$AZURE_RESOURCE_MANAGER_URL/_sim/faults" > /dev/null || ko "clear the faults"
check "restore: the first run was killed after the OS-disk swap, while its start was refused" bash -c "! grep -q 'PLAY RECAP' '$W/logs/restore-killed.log'"
# ansible-core 2.19's workers call setsid (the module lives on: the orphan); 2.16's do not (the kill takes the module
# with it, and its lease - 20 s here - stays until it expires: the re-run takes it over)
if python3 "$HERE/runproc.py" orphans; then
  check "restore: the kill of the playbook's process group left its vm_restore alive (the orphan)" \
    python3 "$HERE/runproc.py" list "$MARK" AnsiballZ_vm_restore
else
  check "restore: ansible-core $ADE_CORE: the kill of the process group took vm_restore with it (lease left to expire)" \
    bash -c "! python3 '$HERE/runproc.py' list '$MARK' AnsiballZ_vm_restore"
fi
check "restore: the killed run left the VM deallocated (stopped half way)" python3 -c "
import json, sys
st = json.load(open('$W/state-killed.json'))
vm = [v for s in st['subscriptions'] for r in s['resource_groups'] for v in r['vms'] if v['name'] == '$RE_HOST'][0]
print(vm['power_state']); sys.exit(0 if vm['power_state'] != 'running' else 1)"
ansible-playbook -i "$INV" azure_ade.linux.restore -e ade_hosts="$RE_HOST" -e ade_poll_interval=0.2 \
  -e ade_lease_wait=120 > "$W/logs/restore-resume.log" 2>&1
rc=$?
check "restore: the re-run, started while the orphan was alive, finished, rc=$rc" test "$rc" -eq 0
python3 "$HERE/runproc.py" kill "$MARK"
sim_log
check "restore: no write of the orphan and the re-run interleaved on the VM" \
  python3 "$HERE/simlog.py" interleaved "$W/simlog.json" "$RE_HOST"
python -m azsim state --workdir "$SIM" > "$W/state-end.json" 2>/dev/null
if python3 - "$W" "$RE_HOST" > "$W/logs/assert-restore.out" 2>&1 <<'PY'
import json, re, sys
w, vm = sys.argv[1], sys.argv[2]
st = json.load(open(w + "/state-end.json"))
v = [x for s in st["subscriptions"] for r in s["resource_groups"] for x in r["vms"] if x["name"] == vm][0]
from azsim.admin import SimAdmin
tags = SimAdmin(w + "/sim").compute_client().virtual_machines.get("rg-ade-test", vm).tags or {}
print("power", v["power_state"], "tags", tags)
assert v["power_state"] == "running", v["power_state"]
assert tags.get("azure_ade_rollout_stage") == "restored", tags
log = [e for e in json.load(open(w + "/simlog.json")) if e.get("kind") == "arm"]
swaps = [e for e in log if e["method"] == "PUT" and re.search(r"/virtualmachines/%s$" % vm, e["path"].lower()) and e["status"] < 300]
disks = [e for e in log if e["method"] == "PUT" and "/disks/" in e["path"].lower() and "restored" in e["path"].lower()
         and e["status"] < 300]
starts = [e for e in log if e["method"] == "POST" and e["path"].lower().endswith("/virtualmachines/%s/start" % vm)]
deallocs = [e for e in log if e["method"] == "POST" and e["path"].lower().endswith("/virtualmachines/%s/deallocate" % vm)]
print("swaps", len(swaps), "restored-disk PUTs", len(disks), "starts", len(starts), "deallocates", len(deallocs))
assert len(deallocs) == 1, ("the re-run resumed: it did not begin the restore again", deallocs)
assert len(swaps) == 1, ("one OS-disk swap over both runs", swaps)
assert len(set(e["path"].lower() for e in disks)) == len(disks), ("each restored disk created once", disks)
assert starts and starts[-1]["seq"] > swaps[0]["seq"], starts
PY
then ok "restore: resumed, not begun again - VM running on the restored disks, record 'restored', one deallocate, one swap and each restored disk made once over both runs"
else ko "restore: state after the re-run"; cat "$W/logs/assert-restore.out"; fi
