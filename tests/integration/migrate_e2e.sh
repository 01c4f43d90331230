#!/usr/bin/env bash
# Issue 7 item 4 end to end: the migrate playbook (ade_migrate_execute=true) on real test hosts against the simulator.
#   - $ME_DATA's VM has ADE on its data volume: snapshot, disable + remove the extension, Upload disks + page-blob
#     copy (azure-storage-blob), swap, encryption at host, start, verify both sides. The first run is SIGKILLed in the
#     middle of the copy (Put Page held by a fault) the way a user's cancel kills it - the process group of
#     ansible-playbook - so its vm_migrate, started by a worker that called setsid, lives on (issue 14: the "orphaned
#     module", frozen in a held Put Page until the re-run's vm_migrate has read the VM); the re-run, started while it is
#     alive, waits for its lease (ade_lease_wait) and converges, with no write of the two runs interleaved (simulator
#     request log, User-Agent lease tokens); a third run writes nothing; a fourth with ade_migrate_delete_old_disks=true deletes the old disks (only then).
#   - $ME_OS's VM has ADE on its OS volume: the rebuild plan only, no write for it.
#   - $ME_FAIL's VM: a first run is killed WHOLE during the copy - every process of the run, the setsid'd workers and
#     the module included (found by an environment marker: tests/integration/e2e/runproc.py) - so nothing of it lives
#     on and its VM lease (issue 14) stays until it expires (lease_ttl 6 s); the next run waits for that (ade_lease_wait)
#     and takes the expired lease over; there its start after the swap fails (LRO fault): the playbook puts it back
#     on its old disks (vm_migrate state=restored), fails with a message saying so, and keeps the new disks.
# Guest side: the test hosts do not show dm-crypt mappings after simulated ADE and do not see their disks swapped
# (tests/hosts README), so "no mapping / same filesystems and UUIDs" is read from guest_facts as the hosts are.
#   bash tests/integration/migrate_e2e.sh [2.16|2.21]      (run under: flock /work/coord/hosts.lock)
# Last line: "N passed, N failed".
set -uo pipefail
ADE_CORE=${1:-${ADE_CORE:-2.16}}
export ADE_CORE
# shellcheck source=tests/ci/env.sh
. "$(dirname "${BASH_SOURCE[0]}")/../ci/env.sh"
ade_mount_collection
ade_activate
HERE=$ADE_REPO/tests/integration/e2e
case "$ADE_CORE" in
  2.16) INV=$ADE_WORK/hosts/inventory-py27.yml ;;
  *) INV=$ADE_WORK/hosts/inventory-py3.yml ;;
esac
[ -f "$INV" ] || { echo "no $INV: start the test hosts first (tests/hosts/up.sh)"; echo "0 passed, 1 failed"; exit 1; }
ME_DATA=${ME_DATA:-ubuntu1804}
ME_OS=${ME_OS:-rhel7-rootvg}
ME_FAIL=${ME_FAIL:-nested-mnt}
RG=rg-ade-test
W=${ADE_SCRATCH:-$ADE_WORK}/migrate-e2e-$ADE_CORE
rm -rf "$W"; mkdir -p "$W/report" "$W/logs"
SIM=$W/sim
PASSED=0; FAILED=0
ok() { PASSED=$((PASSED + 1)); echo "PASS: $*"; }
ko() { FAILED=$((FAILED + 1)); echo "FAIL: $*"; }
finish() {
  python -m azsim stop --workdir "$SIM" >/dev/null 2>&1 || true
  echo "$PASSED passed, $FAILED failed"
  [ "$FAILED" -eq 0 ]
  exit $?
}
trap finish EXIT
trap 'exit 143' TERM INT

python3 "$HERE/scenario.py" "$INV" none > "$W/base.json" || { ko "scenario"; exit; }
ME_SPARE=${ME_SPARE:-lowmem-4g}
SPARE_IP=$(cd "$HERE" && python3 -c "import sys, yaml; from scenario import addresses; print(addresses(yaml.safe_load(open(sys.argv[1])))[sys.argv[2]])" "$INV" "$ME_SPARE")
python3 - "$W/base.json" "$ME_DATA" "$ME_OS" "$ME_FAIL" "$SPARE_IP" "$ADE_REPO/tests/hosts/lib" "$ME_SPARE" > "$W/scenario.json" <<'PY' || { ko "scenario"; exit; }
import json, sys
doc = json.load(open(sys.argv[1]))
# the rebuild of the OS-ADE VM (issue 17): its new VM is the spare host (test-bed knobs, simulator/README.md)
sys.path.insert(0, sys.argv[6])
from variants import uid
doc["config"] = {"disk_access_seconds": 2, "dynamic_addresses": [sys.argv[5]],
                 "created_vm_ids": {sys.argv[3] + "-eah": uid(sys.argv[7], "vmid")}}
sub = doc["subscriptions"][0]
sub["features"] = {"Microsoft.Compute/EncryptionAtHost": "Registered"}
rg = sub["resource_groups"][0]
rg["vms"] = [vm for vm in rg["vms"] if vm["name"] in sys.argv[2:5]]
for vm in rg["vms"]:
    vm["size"] = "Standard_D4s_v3"
    vm["encryption"] = {"state": "encrypted", "vault": "kv-ade-e2e",
                        "volume_type": "All" if vm["name"] == sys.argv[3] else "Data"}
json.dump(doc, sys.stdout, indent=1)
PY
export PYTHONPATH=$ADE_REPO/simulator${PYTHONPATH:+:$PYTHONPATH}
python -m azsim serve --workdir "$SIM" --port 0 --time-scale 600 --scenario "$W/scenario.json" --daemon \
  > "$W/endpoints.out" || { ko "simulator start"; exit; }
eval "$(python3 - "$SIM/endpoints.json" <<'PY'
import json, shlex, sys
e = json.load(open(sys.argv[1]))
for k, v in (("AZURE_CLIENT_ID", e["client_id"]), ("AZURE_SECRET", e["client_secret"]), ("AZURE_TENANT", e["tenant_id"]),
             ("AZURE_SUBSCRIPTION_ID", e["subscription_id"]), ("AZURE_RESOURCE_MANAGER_URL", e["resource_manager"]),
             ("AZURE_AUTHORITY_HOST", e["authority"]), ("AZURE_CA_BUNDLE", e["ca_bundle"]),
             ("SIM_ADMIN", e["resource_manager"] + "/_sim")):
    print("export %s=%s" % (k, shlex.quote(str(v))))
PY
)"
unset REQUESTS_CA_BUNDLE AZURE_CLIENT_SECRET AZURE_TENANT_ID
export AZURE_ADE_LRO_POLLING_INTERVAL=0.2
sim_fault() { curl -fsS --cacert "$AZURE_CA_BUNDLE" -X "$1" -H 'Content-Type: application/json' ${2:+-d "$2"} \
  "$SIM_ADMIN/faults" >/dev/null; }
sim_log_has() { python -m azsim log --workdir "$SIM" --json | python3 -c "
import json, sys
sys.exit(0 if any(sys.argv[1] in e['path'] for e in json.load(sys.stdin)) else 1)" "$1"; }
run_migrate() {  # $1 = log name, rest = extra args
  local name=$1; shift
  ansible-playbook -i "$INV" azure_ade.linux.migrate -e ade_hosts="${HOSTS:-$ME_DATA:$ME_OS}" -e ade_migrate_resource_group=$RG \
    -e "{\"ade_migrate_vms\": [${VMS:-\"$ME_DATA\", \"$ME_OS\"}]}" -e ade_migrate_execute=true -e ade_poll_interval=1 \
    -e ade_migrate_decrypt_poll=2 -e ade_migrate_decrypt_timeout=120 -e ade_report_dir="$W/report" "$@" > "$W/logs/$name.log" 2>&1
}

if [ "${ME_ONLY_REBUILD:-0}" != 1 ]; then   # ME_ONLY_REBUILD=1: only section 6 (developing the rebuild)
# 1. interrupted: Put Page held (fault `hold`: no page of the copy completes until the test releases it), the
#    playbook's process group SIGKILLed once the copy has begun (what a user's cancel kills); its vm_migrate module
#    lives on (Ansible's workers call setsid): the orphan, frozen in its held Put Page, so the request log read next
#    shows what run 1 did up to the kill and nothing past the copy (with a mere delay, a loaded machine let the orphan
#    reach its swap before the log was read: soak, 2.21)
sim_fault POST '{"method": "PUT", "path": "^/md-", "query": "comp=page", "action": "hold", "count": -1}'
MARK1=migrate-e2e-$$-run1
# the killed run's lease: its default where the module outlives the kill (2.19: the orphan renews it while it works),
# 20 s where the kill takes the module with it (2.16), so the re-run takes the lease over once it expired
KILLED_TTL=$(python3 "$HERE/runproc.py" orphans && echo 600 || echo 20)
ADE_RUN_MARK=$MARK1 AZURE_ADE_LEASE_TTL=$KILLED_TTL setsid bash -c "$(declare -f run_migrate); INV=$INV ME_DATA=$ME_DATA ME_OS=$ME_OS RG=$RG W=$W run_migrate run1" &
PG=$!
for _ in $(seq 1 600); do
  sim_log_has "/beginGetAccess" && break
  kill -0 "$PG" 2>/dev/null || break
  sleep 0.2
done
if kill -0 "$PG" 2>/dev/null; then kill -9 -- "-$PG" 2>/dev/null; wait "$PG" 2>/dev/null; ok "run 1 killed during the copy"
else ko "run 1 ended before the copy began (see $W/logs/run1.log)"; tail -30 "$W/logs/run1.log"; fi
python -m azsim log --workdir "$SIM" --json > "$W/simlog1.json"
# ansible-core 2.19's workers call setsid (the module lives on: the orphan); 2.16's do not (the kill takes the module
# with it, and its lease - 20 s here - stays until it expires: the re-run takes it over)
ORPHAN=
if python3 "$HERE/runproc.py" orphans; then
  if python3 "$HERE/runproc.py" list "$MARK1" AnsiballZ_vm_migrate > "$W/orphan.pids"; then
    ORPHAN=1; ok "the kill of the playbook's process group left its vm_migrate alive (orphan PID $(head -1 "$W/orphan.pids"))"
  else ko "no orphaned vm_migrate after the kill (the test no longer reproduces issue 14)"; fi
elif python3 "$HERE/runproc.py" list "$MARK1" AnsiballZ_vm_migrate > "$W/orphan.pids"; then
  ko "ansible-core $ADE_CORE: its workers do not setsid, yet vm_migrate outlived the kill (PID $(head -1 "$W/orphan.pids"))"
else ok "ansible-core $ADE_CORE: the kill of the process group took vm_migrate with it (its lease stays until it expires)"; fi

# 2. re-run, started while the orphan is alive (2.19) or its lease still held (2.16): waits for the lease, converges.
#    With an orphan, its Put Page stays held until the re-run's vm_migrate has read the VM (and so met the orphan's
#    live lease); then the orphan goes on, finishes, releases, and the re-run takes the VM.
if [ -n "$ORPHAN" ]; then
  MARK2=migrate-e2e-$$-run2
  ADE_RUN_MARK=$MARK2 run_migrate run2 -e ade_lease_wait=300 &
  R2=$!
  SEEN=
  # run 1's lease token (the `client` of its writes; every module of a run shares it): the orphan's
  RUN1_CLIENTS=$(python3 -c "
import json, sys
print(' '.join(sorted({e.get('client') or '' for e in json.load(open(sys.argv[1])) if e.get('method') != 'GET'} - {''})))" "$W/simlog1.json")
  for _ in $(seq 1 900); do
    kill -0 "$R2" 2>/dev/null || break
    if [ -z "$SEEN" ] && python3 "$HERE/runproc.py" list "$MARK2" AnsiballZ_vm_migrate > /dev/null; then
      SEEN=$(python -m azsim log --workdir "$SIM" --json | python3 -c "import json, sys; print(max([0] + [e['seq'] for e in json.load(sys.stdin)]))")
    fi
    if [ -n "$SEEN" ] && python -m azsim log --workdir "$SIM" --json | python3 -c "
import json, sys
seen, vm, orphan = int(sys.argv[1]), sys.argv[2].lower(), set(sys.argv[3].split())
sys.exit(0 if any(e['seq'] > seen and e['method'] == 'GET' and e['path'].lower().endswith('/virtualmachines/' + vm)
                  and e.get('client') and e.get('client') not in orphan for e in json.load(sys.stdin)) else 1)" \
        "$SEEN" "$ME_DATA" "$RUN1_CLIENTS"; then
      break
    fi
    sleep 0.5
  done
  sim_fault DELETE
  if [ -n "$SEEN" ]; then ok "the re-run's vm_migrate read the VM while the orphan held it"
  else ko "the re-run's vm_migrate never started while the orphan was held (see $W/logs/run2.log)"; fi
  wait "$R2"; rc=$?
else
  sim_fault DELETE
  run_migrate run2 -e ade_lease_wait=300; rc=$?
fi
if [ "$rc" -eq 0 ]; then ok "re-run started while the killed run's lease was live converged (rc 0)"
else ko "re-run rc $rc"; tail -60 "$W/logs/run2.log"; fi
python3 "$HERE/runproc.py" kill "$MARK1"
python -m azsim log --workdir "$SIM" --json > "$W/simlog2.json"
# 3. once done, no write
if run_migrate run3; then ok "third run rc 0"; else ko "third run rc $?"; tail -40 "$W/logs/run3.log"; fi
python -m azsim log --workdir "$SIM" --json > "$W/simlog3.json"
# 4. the documented switch deletes the old disks (only after verification)
if run_migrate run4 -e ade_migrate_delete_old_disks=true; then ok "delete run rc 0"; else ko "delete run rc $?"; tail -40 "$W/logs/run4.log"; fi
python -m azsim log --workdir "$SIM" --json > "$W/simlog4.json"

# 5a. the whole run killed during the copy of $ME_FAIL (Put Page held): no process of it is left, its lease stays
python -m azsim log --workdir "$SIM" --clear > /dev/null 2>&1
sim_fault POST '{"method": "PUT", "path": "^/md-", "query": "comp=page", "action": "hold", "count": -1}'
MARK5=migrate-e2e-$$-run5a
ADE_RUN_MARK=$MARK5 AZURE_ADE_LEASE_TTL=6 HOSTS=$ME_FAIL VMS="\"$ME_FAIL\"" run_migrate run5a -e ade_report_dir="$W/report5a" &
R5A=$!
for _ in $(seq 1 900); do
  python -m azsim log --workdir "$SIM" --json | python3 -c "
import json, sys
sys.exit(0 if any(e['path'].endswith('/beginGetAccess') and sys.argv[1].lower() in e['path'].lower()
                  for e in json.load(sys.stdin)) else 1)" "$ME_FAIL" && break
  kill -0 "$R5A" 2>/dev/null || break
  sleep 0.2
done
N5=$(python3 "$HERE/runproc.py" list "$MARK5" | wc -l)
python3 "$HERE/runproc.py" kill "$MARK5"; wait "$R5A" 2>/dev/null
sim_fault DELETE
if [ "$N5" -gt 0 ] && ! python3 "$HERE/runproc.py" list "$MARK5" > /dev/null; then
  ok "the whole run was killed during the copy of $ME_FAIL ($N5 processes: playbook, setsid'd workers, module), none left"
else ko "whole-run kill of run 5a ($N5 processes found, see $W/logs/run5a.log)"; tail -20 "$W/logs/run5a.log"; fi

# 5. the next run takes the killed run's expired lease over; a failure after the swap: the playbook restores the old
#    disks and stops
sim_fault POST "{\"method\": \"POST\", \"path\": \"/virtualMachines/$ME_FAIL/start\$\", \"action\": \"lro_fail\", \"count\": 1}"
if HOSTS=$ME_FAIL VMS="\"$ME_FAIL\"" run_migrate run5 -e ade_report_dir="$W/report5" -e ade_lease_wait=60; then ko "failing run rc 0"
else ok "failing run failed (rc $?)"; fi
sim_fault DELETE
if tr '\n' ' ' < "$W/logs/run5.log" | tr -s ' ' | grep -q "taking over an expired lease"; then
  ok "run 5 took over the lease the killed run left"
else ko "run 5 did not say it took over the killed run's lease"; grep -n -i lease "$W/logs/run5.log" | head; fi
if grep -q "was put back on its old disks" "$W/logs/run5.log"; then ok "failure message says the VM is back on its old disks"
else ko "failure message"; tail -40 "$W/logs/run5.log"; fi
if python3 - "$ME_FAIL" "$SIM" "$RG" <<'PY' > "$W/logs/assert5.out" 2>&1; then ok "failed VM back on its old disks, running, encryption at host off, new disks kept"; else ko "restore after failure"; cat "$W/logs/assert5.out"; fi
import sys
from azsim.admin import SimAdmin
vmname, sim, rg = sys.argv[1:4]
adm = SimAdmin(sim)
c = adm.compute_client()
vm = c.virtual_machines.get(rg, vmname, expand="instanceView")
sp = vm.properties.storage_profile
names = [sp.os_disk.name] + [d.name for d in sp.data_disks]
print(names, vm.tags)
assert not any(n.endswith("-eah") for n in names), names
assert not vm.properties.security_profile or not vm.properties.security_profile.encryption_at_host
assert any(s.code == "PowerState/running" for s in vm.properties.instance_view.statuses)
assert vm.tags["azure_ade_migrate_stage"] == "restored", vm.tags
for n in names:
    assert adm.disk(rg, n + "-eah")["create_option"] == "Upload"
PY

if python3 - "$W" "$ME_DATA" "$ME_OS" "$HERE" "$SIM" "$RG" <<'PY' > "$W/logs/assert.out" 2>&1; then ok "migrated VM verified; order; OS-ADE VM untouched; no write once done; old disks deleted only by the switch"; else ko "assertions"; cat "$W/logs/assert.out"; fi
import json, sys
w, data, osvm, here, sim, rg = sys.argv[1:7]
sys.path.insert(0, here)
from simlog import entries, interleaved, vm_requests, writers
from azsim.admin import SimAdmin
adm = SimAdmin(sim)
c = adm.compute_client()
vm = c.virtual_machines.get(rg, data)
sp = vm.properties.storage_profile
names = [sp.os_disk.name] + [d.name for d in sp.data_disks]
print(names)
assert all(n.endswith("-eah") for n in names), names
assert vm.properties.security_profile.encryption_at_host is True
assert not [r for r in (vm.resources or []) if "DiskEncryption" in (r.name or "")]
assert vm.tags["azure_ade_migrate_stage"] == "verified", vm.tags
for n in names:
    d = adm.disk(rg, n)
    assert d["create_option"] == "Upload" and d["ude"] is False and d["managed_by"] == data, d
log1 = entries(w + "/simlog1.json")
w1 = ["%s %s" % (e["method"], e["path"]) for e in log1 if data.lower() in e["path"].lower() and e["method"] != "GET"]
assert any(x.endswith("/beginGetAccess") for x in w1), w1               # killed once the copy had begun ...
assert not any(x.startswith("PUT") and x.lower().endswith("/virtualmachines/" + data.lower()) for x in w1), w1  # ... before the swap
log2 = entries(w + "/simlog2.json")
bad = interleaved(log2, data)
assert not bad, ("writes of two runs interleaved on the VM", bad, writers(log2, data))
writes = [e for e in log2 if e["method"] in ("PUT", "PATCH", "POST", "DELETE") and data.lower() in e["path"].lower()]
def idx(pred):
    return next(i for i, e in enumerate(writes) if pred(e))
ext_put = idx(lambda e: e["method"] == "PUT" and "/extensions/" in e["path"])
ext_del = idx(lambda e: e["method"] == "DELETE" and "/extensions/" in e["path"])
dealloc = idx(lambda e: e["path"].endswith("/deallocate"))
sas = idx(lambda e: e["path"].endswith("/beginGetAccess"))
swap = idx(lambda e: e["method"] == "PUT" and e["path"].lower().endswith("/virtualmachines/" + data.lower()))
start = idx(lambda e: e["path"].endswith("/start"))
print(ext_put, ext_del, dealloc, sas, swap, start)
assert ext_put < ext_del < dealloc < sas < swap < start
snaps = [e for e in log2 if e["method"] == "PUT" and "/snapshots/" in e["path"]]
assert snaps and all(e["seq"] < writes[ext_put]["seq"] for e in snaps), "snapshot before the disable"
for f in ("simlog2.json", "simlog4.json"):
    assert not vm_requests(entries(w + "/" + f), osvm), (f, vm_requests(entries(w + "/" + f), osvm))
log3 = entries(w + "/simlog3.json")[len(log2):]
assert not [e for e in log3 if e["method"] != "GET"], log3
log4 = entries(w + "/simlog4.json")[len(entries(w + "/simlog3.json")):]
dels = [e["path"] for e in log4 if e["method"] == "DELETE"]
assert len(dels) == len(names) and all("/disks/" in p and not p.endswith("-eah") for p in dels), dels
plan = {p["vm"]: p for p in json.load(open(w + "/report/migrate-plan.json"))}
assert plan[osvm]["path"] == "rebuild_vm", plan[osvm]
PY

fi

# 6. issue 17: the OS-ADE VM ($ME_OS) rebuilt end to end (playbook azure_ade.linux.rebuild); the spare host $ME_SPARE
#    stands for the new VM (its NIC gets the spare's address, its vmId is the spare's IMDS answer: test-bed knobs).
#    The copy path: ME_COPY_VIA, by default `guest` (the playbook's default: rsync -aHAXS --numeric-ids over SSH from
#    the old guest to the new one with a run-scoped key; the test hosts route to each other through this machine,
#    tests/hosts/lib/hostlib.py route_up) on the oldest core line, `controller` (through a staging dir on the
#    control node) on the newer one, so each path runs end to end on real hosts.
#    a) the operator's configuration fails -> fallback (new VM deallocated, old VM running), rc != 0;
#    b) run again: the new VM started again, configured, the new guest really receives the tree (checked here over
#       SSH: list, owners, modes, sizes, checksums, ACL, xattr, hard link, sparse), both sides compared by the
#       playbook, cut over (the private IP moves, the old VM deallocated and kept); c) a re-run sends no write.
#    (verified/fallback after the cut-over: tests/integration/azure/17_rebuild.yml, simulator only)
T0=$(date +%s)
if [ "$ADE_CORE" = "${ADE_CORE_OLD:-2.16}" ]; then ME_COPY_VIA=${ME_COPY_VIA:-guest}; else ME_COPY_VIA=${ME_COPY_VIA:-controller}; fi
[ -n "$(ls "$ADE_WORK"/debs-bullseye/*.deb 2>/dev/null)" ] || {
  mkdir -p "$ADE_WORK/debs-bullseye/apt/lists/partial"
  echo "deb http://deb.debian.org/debian bullseye main" > "$ADE_WORK/debs-bullseye/apt/sources.list"
  A=(-o "Dir::Etc::SourceList=$ADE_WORK/debs-bullseye/apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
     -o "Dir::State::Lists=$ADE_WORK/debs-bullseye/apt/lists" -o "Dir::Cache=$ADE_WORK/debs-bullseye/apt/cache")
  apt-get "${A[@]}" update >/dev/null 2>&1 && (cd "$ADE_WORK/debs-bullseye" && apt-get "${A[@]}" download rsync libpopt0 acl attr >/dev/null 2>&1)
}
RB_VARS=(-e ade_hosts="$ME_OS" -e "{\"ade_rebuild_vms\": [\"$ME_OS\"], \"ade_rebuild_paths\": [\"/srv/ade-rebuild\"]}"
         -e azure_resource_group="$RG" -e azure_vm_name="$ME_OS"
         -e ade_rebuild_configure_tasks="$HERE/rebuild_configure.yml" -e ade_rebuild_copy_via="$ME_COPY_VIA"
         -e "ade_rebuild_controller_ssh_args='-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR'"
         -e ade_rebuild_boot_timeout=60)
run_rebuild() { local name=$1; shift; ansible-playbook -i "$INV" azure_ade.linux.rebuild "${RB_VARS[@]}" "$@" > "$W/logs/$name.log" 2>&1; }
if ansible-playbook -i "$INV" "$HERE/rebuild_prep.yml" -e rebuild_old="$ME_OS" -e rebuild_new="$ME_SPARE" \
     -e debs="$ADE_WORK/debs-bullseye" > "$W/logs/rb-prep.log" 2>&1; then ok "rebuild: test bed ready (rsync on $ME_OS and $ME_SPARE, a data tree on $ME_OS)"
else ko "rebuild: test bed prep"; tail -30 "$W/logs/rb-prep.log"; fi
python -m azsim log --workdir "$SIM" --clear > /dev/null 2>&1
rb_stage() { python3 - "$SIM" "$RG" "$ME_OS" <<'PY'
import sys
from azsim.admin import SimAdmin
c = SimAdmin(sys.argv[1]).compute_client()
print(c.virtual_machines.get(sys.argv[2], sys.argv[3]).tags.get("azure_ade_rebuild_stage"))
PY
}
# a data tree the old guest cannot read -> refused before the build, not one write (the guest is asked first)
if run_rebuild rb0 -e '{"ade_rebuild_paths": ["/srv/ade-rebuild-missing"]}'; then ko "rebuild: an unreadable data tree ended rc 0"
else
  python -m azsim log --workdir "$SIM" --json > "$W/rbsimlog0.json"
  if grep -q "the rebuild is refused, nothing was written: data volume /srv/ade-rebuild-missing cannot be read on the old VM" "$W/logs/rb0.log" \
     && python3 -c "import json, sys; e = json.load(open(sys.argv[1])); sys.exit(1 if [x for x in e if x.get('kind') == 'arm' and x.get('method') != 'GET'] else 0)" "$W/rbsimlog0.json"; then
    ok "rebuild: a data tree the old guest cannot read -> refused before the build (reason + fix), no write"
  else ko "rebuild: unreadable data tree not refused before any write"; grep -n "refused\|FAILED" "$W/logs/rb0.log" | head -5
       python3 -c "import json, sys; print([(x.get('method'), x.get('path')) for x in json.load(open(sys.argv[1])) if x.get('kind') == 'arm' and x.get('method') != 'GET'])" "$W/rbsimlog0.json"; fi
fi
python -m azsim log --workdir "$SIM" --clear > /dev/null 2>&1
if run_rebuild rb1 -e rebuild_e2e_fail=true; then ko "rebuild: a failing configuration ended rc 0"
elif grep -q "rebuild_e2e_fail.*Fell back (deallocate_new, start_old, record_fallback)" "$W/logs/rb1.log" && [ "$(rb_stage)" = fallback ]; then
  ok "rebuild: the operator's configuration failed -> fallback (new VM deallocated, old VM started; record stage fallback)"
else ko "rebuild: failed configuration did not fall back (stage $(rb_stage))"; tail -40 "$W/logs/rb1.log"; fi
K=$ADE_WORK/hosts/id_ed25519
SSHO=(-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o BatchMode=yes -i "$K")
OLD_IP=$(python3 -c "import sys, yaml; sys.path.insert(0, sys.argv[3]); from scenario import addresses; print(addresses(yaml.safe_load(open(sys.argv[1])))[sys.argv[2]])" "$INV" "$ME_OS" "$HERE")
# 6k. the run killed at the guest steps and resumed (REBUILD_KILLS=1: during the operator's configuration, the first
#     copy pass and the final pass, each run resuming the one before; default: the first pass only - the kill that
#     leaves a live copy; REBUILD_KILLS=0: none). A user's cancel: SIGTERM to the playbook's process group once the
#     step is held on the new guest (rebuild_prep.yml: a holdable rsync; rebuild_configure.yml). The copy outlives
#     the playbook - a guest-to-guest pass runs under async on the old guest, a pass through the control node under
#     a worker that called setsid (2.19+) - and stays held (alive) while the next run starts: that run must stop it
#     before its own copy (roles/rollout/files/rebuild_stop_copy.sh), so no two copies ever write the new guest.
case "${REBUILD_KILLS:-}" in 1) RB_KILLS="configure first final" ;; 0) RB_KILLS= ;; *) RB_KILLS=${RB_KILLS:-first} ;; esac
rb_copy_pids() {  # PIDs of a live copy of $ME_OS (guest path: on the old guest; controller path: here, by run mark $1)
  if [ "$ME_COPY_VIA" = guest ]; then
    # shellcheck disable=SC2029  # the pattern is built here on purpose ([i]: the remote shell's own line never matches)
    ssh "${SSHO[@]}" "root@$OLD_IP" "pgrep -f 'azure_ade_rebuild-$ME_OS/[i]d_ed25519' | tr '\n' ' '"
  else python3 "$HERE/runproc.py" list "$1" rsync | tr '\n' ' '; fi
}
rb_alive() {  # $1 = PIDs: those still alive
  if [ "$ME_COPY_VIA" = guest ]; then
    # shellcheck disable=SC2029
    ssh "${SSHO[@]}" "root@$OLD_IP" "for p in $1; do kill -0 \$p 2>/dev/null && echo \$p; done | tr '\n' ' '"
  else for p in $1; do kill -0 "$p" 2>/dev/null && printf '%s ' "$p"; done; fi
}
RB_ORPHAN=; RB_ORPHAN_STEP=; RB_KILL_S=0
for step in $RB_KILLS; do
  T1=$(date +%s)
  # shellcheck disable=SC2029  # $step expands here on purpose
  ssh "${SSHO[@]}" "root@$SPARE_IP" "rm -rf /var/tmp/ade-rebuild-held; echo $step > /var/tmp/ade-rebuild-hold"
  XV=(); [ "$step" = configure ] && XV=(-e rebuild_e2e_hold_configure=true)
  MARK=rebuild-e2e-$$-$step
  ADE_RUN_MARK=$MARK setsid ansible-playbook -i "$INV" azure_ade.linux.rebuild "${RB_VARS[@]}" -e ade_lease_wait=120 \
    "${XV[@]}" > "$W/logs/rbk-$step.log" 2>&1 &
  PG=$!
  HELD=
  for _ in $(seq 1 480); do
    kill -0 "$PG" 2>/dev/null || break
    ssh "${SSHO[@]}" "root@$SPARE_IP" test -d /var/tmp/ade-rebuild-held && { HELD=1; break; }
    sleep 0.5
  done
  # SIGTERM: ansible-playbook passes it on to its workers' process groups (2.19+), so a pass through the control node
  # ends with it; the first pass through the control node gets SIGKILL (a cancel that does not wait: AWX's second
  # signal, a timeout, the OOM killer), the case where the workers that called setsid live on
  SIG=TERM; [ "$step" = first ] && [ "$ME_COPY_VIA" = controller ] && SIG=KILL
  kill -$SIG -- "-$PG" 2>/dev/null
  for _ in $(seq 1 60); do kill -0 "$PG" 2>/dev/null || break; sleep 0.5; done
  kill -0 "$PG" 2>/dev/null && kill -KILL -- "-$PG" 2>/dev/null
  wait "$PG" 2>/dev/null
  # the record: still "fallback" during the configuration (run a's; the build started the new VM again and
  # records nothing more), "configured" during the first pass, "copied" during the final pass
  case $step in configure) WANT=fallback ;; first) WANT=configured ;; *) WANT=copied ;; esac
  if [ -n "$HELD" ] && [ "$(rb_stage)" = "$WANT" ]; then ok "rebuild: run killed (SIG$SIG to its process group) during the $step step (record stage $WANT)"
  else ko "rebuild: the $step step was never reached or the record is not at $WANT (stage $(rb_stage), see $W/logs/rbk-$step.log)"; tail -30 "$W/logs/rbk-$step.log"; fi
  # the run before this one left a live copy: this run stopped it before its own copy (it is gone, the log says so)
  if [ -n "$RB_ORPHAN" ]; then
    if [ -z "$(rb_alive "$RB_ORPHAN")" ] && grep -A2 "stop a copy of this VM" "$W/logs/rbk-$step.log" | grep -q "^changed"; then
      ok "rebuild: the resumed run stopped the copy the $RB_ORPHAN_STEP kill left running (PIDs $RB_ORPHAN) before its own"
    else ko "rebuild: the copy left by the $RB_ORPHAN_STEP kill (PIDs $RB_ORPHAN) was not stopped (alive: $(rb_alive "$RB_ORPHAN"))"; fi
  fi
  RB_ORPHAN=
  if [ "$step" != configure ]; then
    RB_ORPHAN=$(rb_copy_pids "$MARK"); RB_ORPHAN_STEP=$step
    if [ -n "$RB_ORPHAN" ]; then ok "rebuild: the killed $step pass outlived the playbook (copy_via=$ME_COPY_VIA, PIDs $RB_ORPHAN, held)"
    elif [ "$ME_COPY_VIA" = guest ] || { [ $SIG = KILL ] && python3 "$HERE/runproc.py" orphans; }; then
      ko "rebuild: no live copy after the kill during the $step pass (the test no longer reproduces the orphan copy)"
    else ok "rebuild: ansible-core $ADE_CORE, SIG$SIG: the kill took the control node's copy with it (no orphan)"; fi
  fi
  RB_KILL_S=$((RB_KILL_S + $(date +%s) - T1))
done
if run_rebuild rb2; then ok "rebuild: re-run after the fallback${RB_KILLS:+ and the kills ($RB_KILLS)}: built again, configured, copied (copy_via=$ME_COPY_VIA), compared, cut over (rc 0)"
else ko "rebuild: run to the cut-over rc $?"; tail -60 "$W/logs/rb2.log"; fi
if [ -n "$RB_ORPHAN" ]; then
  if [ -z "$(rb_alive "$RB_ORPHAN")" ] && grep -A2 "stop a copy of this VM" "$W/logs/rb2.log" | grep -q "^changed"; then
    ok "rebuild: the resumed run stopped the copy the $RB_ORPHAN_STEP kill left running (PIDs $RB_ORPHAN) before its own"
  else ko "rebuild: the copy left by the $RB_ORPHAN_STEP kill (PIDs $RB_ORPHAN) was not stopped (alive: $(rb_alive "$RB_ORPHAN"))"; fi
fi
# the holds let go (a held rsync server whose sender was stopped ends on its closed pipe); leftovers of killed runs
ssh "${SSHO[@]}" "root@$SPARE_IP" "rm -rf /var/tmp/ade-rebuild-hold /var/tmp/ade-rebuild-held"
for step in $RB_KILLS; do python3 "$HERE/runproc.py" kill "rebuild-e2e-$$-$step"; done
[ -n "$RB_KILLS" ] && echo "rebuild kills ($RB_KILLS): ${RB_KILL_S} s"
python -m azsim log --workdir "$SIM" --json > "$W/rbsimlog3.json"
tree_sums() { ssh "${SSHO[@]}" "root@$1" 'cd /srv/ade-rebuild && find . -printf "%p %y %U:%G %m %l\n" | sort && find . -type f -printf "%p %s\n" | sort && find . -type f -exec sha256sum {} + | sort && getfacl -n owned 2>/dev/null | grep -v "^#" && python3 -c "import os; print(os.getxattr(\"owned\", \"user.ade\"))" && stat -c %h sub/f1 && [ "$(stat -c %b sparse)" -lt 8192 ] && echo sparse-kept'; }
tree_sums "$OLD_IP" > "$W/old.tree" 2>&1; tree_sums "$SPARE_IP" > "$W/new.tree" 2>&1
if [ -s "$W/old.tree" ] && cmp -s "$W/old.tree" "$W/new.tree" && grep -q "b'kept'" "$W/new.tree" && grep -q "user:4321:r" "$W/new.tree"; then
  ok "rebuild: $ME_SPARE received the tree: same list, types, sizes, owners, modes, checksums, ACL, xattr, hard link, sparse ($(wc -l < "$W/new.tree") lines)"
else ko "rebuild: trees differ"; diff "$W/old.tree" "$W/new.tree" | head -20; fi
# the guest path's run-scoped key is gone from both guests once the copy ended (the role removes it after the copy)
if [ "$ME_COPY_VIA" = guest ]; then
  # shellcheck disable=SC2029  # $ME_OS names the old VM's key directory: expanded here on purpose
  if ssh "${SSHO[@]}" "root@$SPARE_IP" '! grep -q "azure_ade_rebuild:" ~/.ssh/authorized_keys' \
     && ssh "${SSHO[@]}" "root@$OLD_IP" "! ls -d /var/tmp/azure_ade_rebuild-$ME_OS" 2>/dev/null \
     && { cat "$W/logs/rb2.log" "$W"/logs/rbk-*.log 2>/dev/null || true; } | grep -A3 "first pass.*pushed by the old guest" | grep -q "^changed"; then
    ok "rebuild: the copy went guest to guest ($ME_OS pushed to $ME_SPARE); its key is gone from both guests afterwards"
  else ko "rebuild: guest-to-guest copy key left behind (or the copy was not pushed by the old guest)"; fi
fi
if grep -q "files checksummed on both sides - the same" "$W/logs/rb2.log" && [ "$(rb_stage)" = cut_over ]; then ok "rebuild: the playbook compared both sides (the same), then cut over"
else ko "rebuild: comparison/stage ($(rb_stage))"; grep -n "checksummed" "$W/logs/rb2.log" | head -3; fi
if run_rebuild rb4; then ok "rebuild: re-run after the cut-over rc 0"; else ko "rebuild: re-run rc $?"; tail -40 "$W/logs/rb4.log"; fi
python -m azsim log --workdir "$SIM" --json > "$W/rbsimlog4.json"
if python3 - "$W" "$ME_OS" "$HERE" "$SIM" "$RG" "$OLD_IP" <<'PY' > "$W/logs/rb-assert.out" 2>&1; then ok "rebuild: IP moved, old VM deallocated and kept, new VM with encryption at host, no write on the re-run"; else ko "rebuild assertions"; cat "$W/logs/rb-assert.out"; fi
import sys
w, old, here, sim, rg, old_ip = sys.argv[1:7]
sys.path.insert(0, here)
from simlog import entries, vm_requests
from azsim.admin import SimAdmin
adm = SimAdmin(sim)
c = adm.compute_client()
ov = c.virtual_machines.get(rg, old, expand="instanceView")
nv = c.virtual_machines.get(rg, old + "-eah", expand="instanceView")
assert ov.tags["azure_ade_rebuild_stage"] == "cut_over", ov.tags
assert any(s.code == "PowerState/deallocated" for s in ov.instance_view.statuses)
assert any(s.code == "PowerState/running" for s in nv.instance_view.statuses)
assert nv.security_profile.encryption_at_host is True and nv.tags["azure_ade_rebuilt_from"].lower() == ov.id.lower()
assert [d.lun for d in nv.storage_profile.data_disks] == [d.lun for d in ov.storage_profile.data_disks]
addr = dict((n.name, n.ip_configurations[0].private_ip_address) for n in adm.network_client().network_interfaces.list(rg))
assert addr[old + "-eah-nic"] == old_ip and addr[old + "-nic"] != old_ip, addr
log3, log4 = entries(w + "/rbsimlog3.json"), entries(w + "/rbsimlog4.json")
cut = [e for e in log3 if e["method"] != "GET" and "networkinterfaces" in e["path"].lower()]
# the new NIC created (run a), then at the cut-over the old NIC released and the new NIC given the address
assert [e["path"].lower().rsplit("/", 1)[1] for e in cut] == [old.lower() + "-eah-nic", old.lower() + "-nic",
                                                              old.lower() + "-eah-nic"], [e["path"] for e in cut]
rerun = [e for e in log4[len(log3):] if e["method"] != "GET" and e.get("tags_changed") != ["azure_ade_lease"]]
assert not rerun, [(e["method"], e["path"]) for e in rerun]
print("ok", ov.tags)
PY
echo "rebuild section: $(( $(date +%s) - T0 )) s"

