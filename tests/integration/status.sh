#!/usr/bin/env bash
# The status playbook end to end, R6.1 both ways: the Azure simulator seeded with one VM per test host, where
#   - $ST_PLATFORM's VM is already encrypted in Azure's view while its guest has no dm-crypt device
#     (platform says encrypted, guest says no: decrypted by hand in the guest),
#   - $ST_GUEST's guest shows ADE's osencrypt mapper while Azure says NotEncrypted (the other way),
#   - $ST_PLAIN agrees on both sides (no mismatch),
# then `ansible-playbook azure_ade.linux.status`: mismatches reported both ways, the play fails because of them,
# status.json rows as expected, status.html written beside it and checked in headless Chromium (tests/ci/report.sh);
# key custody (issue 16): $ST_PLATFORM's secret disabled in Key Vault after the encryption is reported AT-RISK and
# fails the run with ade_fail_on_risk=true, with no write sent.
#   bash tests/integration/status.sh [2.16|2.21]
# Changes on the hosts: a file /dev/mapper/osencrypt on $ST_GUEST, removed at the end. Last line: "N passed, N failed".
set -uo pipefail
ADE_CORE=${1:-${ADE_CORE:-2.16}}
export ADE_CORE
# shellcheck source=tests/ci/env.sh
. "$(dirname "${BASH_SOURCE[0]}")/../ci/env.sh"
# shellcheck source=tests/ci/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../ci/lib.sh"
ade_hosts_env guests || { echo "0 passed, 1 failed"; exit 1; }
ST_PLATFORM=${ST_PLATFORM:-rhel7-rootvg}
ST_GUEST=${ST_GUEST:-nested-mnt}
ST_PLAIN=${ST_PLAIN:-ubuntu1804}
W=${ADE_SCRATCH:-$ADE_WORK}/status-it-$ADE_CORE
rm -rf "$W"; mkdir -p "$W/report" "$W/logs"
SIM=$W/sim
PASSED=0; FAILED=0
ok() { PASSED=$((PASSED + 1)); echo "PASS: $*"; }
ko() { FAILED=$((FAILED + 1)); echo "FAIL: $*"; }
guest_mapper() {  # present|absent
  if [ "$1" = present ]; then
    ansible -i "$INV" "$ST_GUEST" -m ansible.builtin.shell -a 'mkdir -p /dev/mapper && touch /dev/mapper/osencrypt' >"$W/logs/mapper.log" 2>&1
  else
    ansible -i "$INV" "$ST_GUEST" -m ansible.builtin.file -a 'path=/dev/mapper/osencrypt state=absent' >>"$W/logs/mapper.log" 2>&1
  fi
}
finish() {
  guest_mapper absent || echo "(could not remove /dev/mapper/osencrypt on $ST_GUEST, see $W/logs/mapper.log)"
  ade_sim_stop "$SIM"
  echo "$PASSED passed, $FAILED failed"
  [ "$FAILED" -eq 0 ]
  exit $?
}
trap finish EXIT
trap 'exit 143' TERM INT

# simulator: the e2e scenario, with $ST_PLATFORM's VM already encrypted (all volumes) in Azure's view
python3 "$ADE_REPO/tests/integration/e2e/scenario.py" "$INV" none \
  | python3 -c '
import json, sys
doc = json.load(sys.stdin)
rg = doc["subscriptions"][0]["resource_groups"][0]
for vm in rg["vms"]:
    if vm["name"] == sys.argv[1]:
        vm["encryption"] = {"state": "encrypted", "volume_type": "All", "vault": rg["vaults"][0]["name"]}
json.dump(doc, sys.stdout)' "$ST_PLATFORM" >"$W/scenario.json" || { ko "scenario"; exit; }
ade_sim_start "$SIM" --scenario "$W/scenario.json" || { ko "simulator start"; exit; }
if guest_mapper present; then ok "$ST_GUEST shows /dev/mapper/osencrypt"; else ko "could not create /dev/mapper/osencrypt on $ST_GUEST"; fi

# Issue 16, key custody: $ST_PLATFORM's secret is disabled in Key Vault after the encryption (outside the collection);
# status (ade_fail_on_risk) must catch it before any restart, sending no write.
if python3 - "$W/scenario.json" "$ST_PLATFORM" >"$W/logs/custody.out" 2>&1 <<'PY'
import json, os, ssl, sys, urllib.request
vault = json.load(open(sys.argv[1]))["subscriptions"][0]["resource_groups"][0]["vaults"][0]["name"]
ctx = ssl.create_default_context(cafile=os.environ["AZURE_CA_BUNDLE"])
adm = os.environ["SIM_ADMIN"] + "/keyvault/" + vault
secrets = json.load(urllib.request.urlopen(adm, context=ctx))["secrets"]
mine = [s["name"] for s in secrets if s["versions"][-1]["tags"].get("MachineName") == sys.argv[2]]
assert len(mine) == 1, secrets
urllib.request.urlopen(urllib.request.Request(adm + "/secrets/" + mine[0], data=b'{"enabled": false}', method="POST",
                                              headers={"Content-Type": "application/json"}), context=ctx).read()
urllib.request.urlopen(urllib.request.Request(os.environ["SIM_ADMIN"] + "/log", method="DELETE"), context=ctx).read()
PY
then ok "the secret ADE wrote for $ST_PLATFORM (tag MachineName) disabled in Key Vault"
else ko "disable the secret of $ST_PLATFORM"; cat "$W/logs/custody.out"; fi

ansible-playbook -i "$INV" azure_ade.linux.status -e ade_hosts="$ST_PLATFORM:$ST_GUEST:$ST_PLAIN" \
  -e ade_report_dir="$W/report" -e ade_fail_on_risk=true >"$W/logs/status.log" 2>&1
rc=$?
writes=$(python3 - <<'PY'
import json, os, ssl, urllib.request
ctx = ssl.create_default_context(cafile=os.environ["AZURE_CA_BUNDLE"])
e = json.load(urllib.request.urlopen(os.environ["SIM_ADMIN"] + "/log?kind=arm", context=ctx))["entries"]
print(sum(1 for x in e if x["method"] != "GET"))
PY
)
if [ "$rc" -ne 0 ] && grep -q "Unlock at risk on the next cold start" "$W/logs/status.log" \
   && grep -q "AT-RISK" "$W/logs/status.log" && [ "$writes" = 0 ]; then
  ok "status fails on the disabled secret before any restart (AT-RISK, $writes writes)"
else
  ko "status with a disabled secret: rc=$rc writes=$writes (log $W/logs/status.log)"
fi
if [ "$rc" -ne 0 ] && grep -q "Encryption status mismatch" "$W/logs/status.log"; then
  ok "status fails on the mismatches (rc=$rc)"
else
  ko "status rc=$rc, expected a failure on the mismatches (log $W/logs/status.log)"; tail -30 "$W/logs/status.log"
fi
if python3 - "$W/report/status.json" "$ST_PLATFORM" "$ST_GUEST" "$ST_PLAIN" >"$W/logs/assert.out" 2>&1 <<'PY'
import json, sys
rows = {r['host']: r for r in json.load(open(sys.argv[1]))}
plat, guest, plain = rows[sys.argv[2]], rows[sys.argv[3]], rows[sys.argv[4]]
print(json.dumps([plat, guest, plain], indent=1))
# platform says encrypted, guest has no dm-crypt
assert plat['platform_os'] == 'Encrypted' and plat['guest_os_crypt'] is False, plat
assert 'platform: OS Encrypted, guest: root not on dm-crypt' in plat['mismatch'] and plat['outcome'] == 'mismatch', plat
# the other way: guest root on dm-crypt (osencrypt), platform NotEncrypted
assert guest['platform_os'] == 'NotEncrypted' and guest['guest_os_crypt'] is True, guest
assert guest['mismatch'] == ['guest: root on dm-crypt, platform: OS NotEncrypted'] and guest['outcome'] == 'mismatch', guest
# agreement
assert plain['mismatch'] == [] and plain['outcome'] == 'not_encrypted' and plain['guest_reachable'], plain
# key custody (issue 16): the disabled secret, with its fix; VMs without ADE keys are not checked
assert plat['unlock_at_risk'] is True and [r['id'] for r in plat['custody']['risks']] == ['secret_disabled'], plat
assert 'set-attributes' in plat['custody']['fix'] and plain['unlock_at_risk'] is None, plain
PY
then ok "status.json: mismatch both ways (R6.1) and none where both sides agree"; else ko "status.json rows"; cat "$W/logs/assert.out"; fi
if python3 - "$W/report/inventory.json" "$ST_PLATFORM" "$ST_PLAIN" >"$W/logs/inventory.out" 2>&1 <<'PY'
import json, sys
invs = json.load(open(sys.argv[1]))
assert len(invs) == 1, invs                      # one subscription
vms = {i['name']: i for i in invs[0]['entries'] if i['kind'] == 'vm'}
print(json.dumps([vms[sys.argv[2]], vms[sys.argv[3]], invs[0]['summary']], indent=1))
assert vms[sys.argv[2]]['path'] == 'rebuild' and vms[sys.argv[2]]['carries'] == 'ade_settings', vms[sys.argv[2]]
assert vms[sys.argv[3]]['path'] == 'nothing' and vms[sys.argv[3]]['carries'] == 'none', vms[sys.argv[3]]
disks = [i for i in invs[0]['entries'] if i['kind'] == 'disk']
assert disks and all(d['vm'] == sys.argv[2] for d in disks), disks   # the encrypted VM's disks, nobody else's
assert invs[0]['days_left'] > 0 and all(i['days_left'] == invs[0]['days_left'] for i in invs[0]['entries'])
PY
then ok "inventory.json: the encrypted VM's path rebuild with its disks, the plain VM nothing, days left"; else ko "inventory.json"; cat "$W/logs/inventory.out"; fi
if grep -q 'id="inventory"' "$W/report/status.html"; then ok "status.html has the inventory section"; else ko "status.html without the inventory"; fi
if grep -q "mismatches 2" "$W/logs/status.log"; then ok "fleet table counts 2 mismatches"; else ko "fleet table: no 'mismatches 2'"; fi
if [ -s "$W/report/status.html" ]; then ok "status.html written beside status.json"; else ko "no status.html"; fi
printf '["%s", "%s", "%s"]\n' "$ST_PLATFORM" "$ST_GUEST" "$ST_PLAIN" >"$W/report/hosts.json"
if REPORT_PAGES="$W/report/status.html $W/report/hosts.json" ADE_REPORT_OUT="$W/report-fixtures" \
     bash "$ADE_REPO/tests/ci/report.sh" >"$W/logs/browser.log" 2>&1; then
  ok "status.html in headless Chromium: loads clean, every VM, links both ways ($(tail -1 "$W/logs/browser.log"))"
else
  ko "status.html in headless Chromium (log $W/logs/browser.log)"; grep -E '^FAIL|Error' "$W/logs/browser.log" | head
fi

