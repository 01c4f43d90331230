#!/usr/bin/env bash
# Issue 7 end to end: the encrypt playbook on real test hosts against the simulator, where
#   - $CE_AZBLOCKED's VM has a size ADE does not support (Standard_D4ds_v6): outcome blocked, never snapshotted,
#   - $CE_EAH's VM could use encryption at host (feature Registered, size supports it) and the run sets
#     ade_prefer_encryption_at_host=refuse: outcome blocked, never snapshotted.
# Both are refused after the preflight and before the snapshot; the request log shows no write for either.
#   - $CE_DUAL's VM is on dual-pass ADE and the run sets ade_migrate_dual_pass=true: migrated to single pass with the
#     four writes of Set-AzVMDiskEncryptionExtension -Migrate, no snapshot (outcome already_encrypted).
#   bash tests/integration/compat_e2e.sh [2.16|2.21]      (run under: flock /work/coord/hosts.lock)
# Last line: "N passed, N failed".
set -uo pipefail
ADE_CORE=${1:-${ADE_CORE:-2.16}}
export ADE_CORE
# shellcheck source=tests/ci/env.sh
. "$(dirname "${BASH_SOURCE[0]}")/../ci/env.sh"
# shellcheck source=tests/ci/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../ci/lib.sh"
ade_hosts_env guests || { echo "0 passed, 1 failed"; exit 1; }
HERE=$ADE_REPO/tests/integration/e2e
CE_AZBLOCKED=${CE_AZBLOCKED:-ubuntu1804}
CE_EAH=${CE_EAH:-rhel7-rootvg}
CE_DUAL=${CE_DUAL:-ubuntu1404-k415}
W=${ADE_SCRATCH:-$ADE_WORK}/compat-e2e-$ADE_CORE
rm -rf "$W"; mkdir -p "$W/report" "$W/logs"
SIM=$W/sim
PASSED=0; FAILED=0
ok() { PASSED=$((PASSED + 1)); echo "PASS: $*"; }
ko() { FAILED=$((FAILED + 1)); echo "FAIL: $*"; }
finish() {
  ade_sim_stop "$SIM"
  echo "$PASSED passed, $FAILED failed"
  [ "$FAILED" -eq 0 ]
  exit $?
}
trap finish EXIT
trap 'exit 143' TERM INT

python3 "$HERE/scenario.py" "$INV" none > "$W/base.json" || { ko "scenario"; exit; }
python3 - "$W/base.json" "$CE_AZBLOCKED" "$CE_EAH" "$CE_DUAL" > "$W/scenario.json" <<'PY' || { ko "scenario"; exit; }
import json, sys
doc = json.load(open(sys.argv[1]))
sub = doc["subscriptions"][0]
sub["features"] = {"Microsoft.Compute/EncryptionAtHost": "Registered"}
for vm in sub["resource_groups"][0]["vms"]:
    if vm["name"] == sys.argv[2]:
        vm["size"] = "Standard_D4ds_v6"
    elif vm["name"] == sys.argv[3]:
        vm["size"] = "Standard_D4s_v3"
    elif vm["name"] == sys.argv[4]:
        vm["size"] = "Standard_D4_v3"
        vm["dual_pass"] = {"vault": "kv-ade-e2e", "volume_type": "OS"}
    else:
        vm["size"] = "Standard_D4_v3"     # no encryption at host: new ADE is not discouraged there
json.dump(doc, sys.stdout, indent=1)
PY
ade_sim_start "$SIM" --time-scale 600 --scenario "$W/scenario.json" || { ko "simulator start"; exit; }
ansible-playbook -i "$INV" azure_ade.linux.encrypt -e ade_hosts="$CE_AZBLOCKED:$CE_EAH:$CE_DUAL" -e ade_key_vault=kv-ade-e2e \
  -e ade_volume_type=All -e ade_continue_on_failure=true -e ade_prefer_encryption_at_host=refuse -e ade_migrate_dual_pass=true \
  -e ade_report_dir="$W/report" > "$W/logs/encrypt.log" 2>&1
echo "encrypt rc=$?"
python -m azsim log --workdir "$SIM" --json > "$W/simlog.json"
if python3 - "$W" "$CE_AZBLOCKED" "$CE_EAH" "$HERE" <<'PY' > "$W/logs/assert.out" 2>&1; then ok "both blocked with their reason"; else ko "outcomes"; cat "$W/logs/assert.out"; tail -40 "$W/logs/encrypt.log"; fi
import json, sys
rows = {r['host']: r for r in json.load(open(sys.argv[1] + '/report/encrypt.json'))}
print(json.dumps(rows, indent=1))
az, eah = rows[sys.argv[2]], rows[sys.argv[3]]
assert az['outcome'] == 'blocked' and '[size_v6_or_newer]' in az['message'], az
assert eah['outcome'] == 'blocked' and 'ade_prefer_encryption_at_host=refuse' in eah['message'], eah
PY
if python3 - "$W" "$CE_AZBLOCKED" "$CE_EAH" "$HERE" <<'PY' > "$W/logs/assert2.out" 2>&1; then ok "request log: no snapshot, no write for either VM"; else ko "request log"; cat "$W/logs/assert2.out"; fi
import sys
sys.path.insert(0, sys.argv[4])
from simlog import entries, vm_requests
log = entries(sys.argv[1] + '/simlog.json')
for vm in sys.argv[2:4]:
    writes = vm_requests(log, vm, methods=('PUT', 'PATCH', 'POST', 'DELETE'))
    snaps = [e for e in log if '/snapshots/' in e['path'].lower() and vm.lower() in e['path'].lower()]
    assert not writes and not snaps, (vm, writes, snaps)
PY
if python3 - "$W" "$CE_DUAL" "$HERE" <<'PY' > "$W/logs/assert3.out" 2>&1; then ok "dual pass migrated: -Migrate's four writes, no snapshot"; else ko "dual pass"; cat "$W/logs/assert3.out"; fi
import json, sys
sys.path.insert(0, sys.argv[3])
from simlog import entries, vm_requests
row = {r['host']: r for r in json.load(open(sys.argv[1] + '/report/encrypt.json'))}[sys.argv[2]]
assert row['outcome'] == 'already_encrypted' and 'migrated from dual pass' in row['message'], row
log = entries(sys.argv[1] + '/simlog.json')
writes = vm_requests(log, sys.argv[2], methods=('PUT', 'PATCH', 'POST', 'DELETE'))
kinds = [('ext' if '/extensions/' in w.lower() else 'vm') for w in writes]
assert kinds == ['ext', 'vm', 'ext', 'vm'], writes
assert not [e for e in log if '/snapshots/' in e['path'].lower() and sys.argv[2].lower() in e['path'].lower()]
PY
