# shellcheck shell=bash
# Sourced by tests/integration/e2e.sh after step 3e (uses its play, assert_py, check, ssh_cat, sim_log, $SIM, $W, $INV).
# Issue 6, test hosts that reboot (tests/hosts/README.md "Reboots"): the bridge (tests/chaos/guests.py, the one the
# chaos fleet uses) makes what the simulator says happen to these fixed hosts: an ARM restart reboots the host (reboot(2)
# in its namespace: new boot ID, services restarted), volumes the simulator shows encrypted are on dm-crypt from the
# host's next boot, the simulator's boot-hang behaviour keeps it at its unlock prompt (no SSH, agent Not Ready).
#   3g  R2 for real inside encrypt: ubuntu1404-k44 (kernel 4.4), ade_allow_reboot=true: linux-azure from a local apt
#       repository, the role reboots, the host boots 4.15 (its GRUB default), preflight again ready, enable, and the
#       restart check passes for real (ARM restart -> new boot ID -> root on osencrypt -> verified; 3e is the honest
#       failure: a host the restart does not reach shows no dm-crypt); retention then deletes the verified set
#   3h  hang at boot after encryption: the restart check fails with the guide's advice, the snapshot set is kept, the
#       next host of the rollout is not attempted (core lines in E2E_HANG_LINES, default the newest, $ADE_CORE_NEW: CI time; the hang is
#       the controller's handling, the guest side is the same on both lines)
RB_K44=${E2E_K44:-ubuntu1404-k44}
RB_HANG=${E2E_HANG:-busy-root}
RB_AFTER=${E2E_AFTER_HANG:-agent-real}
HOSTLIB=$ADE_REPO/tests/hosts/lib/hostlib.py
boot_id() { ssh_cat "$1" /proc/sys/kernel/random/boot_id | tr -d '\n'; }
boots() { python3 -c "import json,sys; print(json.dumps([json.loads(l) for l in open(sys.argv[1])]))" \
  "$ADE_WORK/hosts/$1/boots.log" 2>/dev/null || echo '[]'; }
python "$ADE_REPO/tests/chaos/guests.py" "$SIM" rg-ade-test "$RB_K44,$RB_HANG,$RB_AFTER" > "$W/logs/bridge.log" 2>&1 &
BRIDGE=$!
reboot_cleanup() {  # called by finish(): stop the bridge, put the hosts back
  kill "$BRIDGE" 2>/dev/null; wait "$BRIDGE" 2>/dev/null
  python3 "$HOSTLIB" forget "$RB_HANG" "$RB_AFTER" >> "$W/logs/bridge.log" 2>&1
  { bash "$ADE_REPO/tests/hosts/down.sh" --reset "$RB_K44" && bash "$ADE_REPO/tests/hosts/up.sh" "$RB_K44"; } \
    >> "$W/logs/bridge.log" 2>&1 || echo "(reset of $RB_K44 failed, see $W/logs/bridge.log)"
}

# ---- 3g. R2 inside encrypt: the role installs linux-azure, reboots, the host runs 4.15 ---------------------------
T3G=$(date +%s)
bash "$ADE_REPO/roles/prerequisites/molecule/resources/build_repo.sh" "$W/apt-repo" > "$W/logs/apt-repo.log" 2>&1
ansible-playbook -i "$INV" "$HERE/kernel_repo.yml" -e ade_hosts="$RB_K44" -e repo_dir="$W/apt-repo" > "$W/logs/kernel-repo.log" 2>&1 \
  || ko "local apt repository on $RB_K44 (see $W/logs/kernel-repo.log)"
NBOOT=$(boots "$RB_K44" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
BOOT_BEFORE=$(boot_id "$RB_K44")
python -m azsim log --workdir "$SIM" --clear > /dev/null 2>&1
play encrypt-kernel 0 encrypt -e ade_hosts="$RB_K44" -e ade_key_vault=kv-ade-e2e -e ade_volume_type=All -e ade_allow_reboot=true \
  -e ade_poll_interval=0.2 -e ade_report_dir="$W/report-kernel"
ansible -i "$INV" "$RB_K44" -m ansible.builtin.command -a "uname -r" -o > "$W/logs/uname-kernel.log" 2>&1
BOOT_AFTER=$(boot_id "$RB_K44")
ansible -i "$INV" "$RB_K44" -m ansible.builtin.command -a "lsblk -r -o NAME,TYPE,FSTYPE,MOUNTPOINT" > "$W/logs/lsblk-verified.log" 2>&1
sim_log
K44_SET=$(python3 -c "import json,sys; print([r for r in json.load(open(sys.argv[1])) if r['host']==sys.argv[2]][0]['snapshot_set'])" \
  "$W/report-kernel/encrypt.json" "$RB_K44" 2>/dev/null)
ansible localhost -m azure_ade.linux.vm_snapshot -a "resource_group=rg-ade-test name=$RB_K44 snapshot_set=$K44_SET state=absent" \
  > "$W/logs/retention-verified.log" 2>&1
boots "$RB_K44" > "$W/boots-k44.json"
assert_py "R2 for real: $RB_K44 rebooted by the role into 4.15.0-1113-azure after the snapshot, preflight again ready, encrypted and verified" "
import json, sys
sys.path.insert(0, '$HERE')
from simlog import entries, first
rows = {r['host']: r for r in json.load(open(sys.argv[1] + '/report-kernel/encrypt.json'))}
print(json.dumps(rows, indent=1))
assert rows['$RB_K44']['outcome'] == 'encrypted', rows['$RB_K44']
assert 'verified after a restart' in rows['$RB_K44']['message'], rows['$RB_K44']
boots = json.load(open(sys.argv[1] + '/boots-k44.json'))[$NBOOT:]
print(json.dumps(boots, indent=1))
# the role's reboot (new kernel, still plain), then the restarts after the encryption (ARM: VMRestartPending and the
# restart check; new kernel, root on osencrypt)
assert len(boots) >= 2 and all(b['kernel'] == '4.15.0-1113-azure' for b in boots), boots
assert not boots[0]['crypt'] and boots[-1]['crypt'].get('os'), boots
log = entries(sys.argv[1] + '/simlog.json')
snap = first(log, lambda e: e['method'] == 'PUT' and '/snapshots/' in e['path'].lower())
ext = first(log, lambda e: e['method'] == 'PUT' and '/extensions/' in e['path'].lower())
assert snap is not None and ext is not None and snap < ext, (snap, ext)
assert [e for e in log if e['method'] == 'POST' and e['path'].lower().endswith('/virtualmachines/%s/restart' % '$RB_K44'.lower())]
assert '$BOOT_BEFORE' and '$BOOT_AFTER' and '$BOOT_BEFORE' != '$BOOT_AFTER', 'no new boot ID'
"
check "guest view after the restart: root on dm-crypt osencrypt (lsblk TYPE crypt, mounted /)" \
  grep -q "^osencrypt crypt ext4 /$" "$W/logs/lsblk-verified.log"
check "retention deletes the snapshot set $K44_SET of the verified VM $RB_K44" grep -q '"changed": true' "$W/logs/retention-verified.log"
check "$RB_K44 runs 4.15.0-1113-azure (uname -r through the guest's uname)" grep -q "4.15.0-1113-azure" "$W/logs/uname-kernel.log"
check "the role rebooted (reboot task changed) and the preflight ran again" \
  grep -q "Kernel | rebooted into a supported kernel" "$W/logs/encrypt-kernel.log"
echo "TIME 3g: $(( $(date +%s) - T3G )) s"

# ---- 3h. hang at boot after encryption: reported, set kept, rollout stopped -------------------------------------
case " ${E2E_HANG_LINES:-$ADE_CORE_NEW} " in *" $ADE_CORE "*) ;; *) return 0 ;; esac
T3H=$(date +%s)
python - "$SIM" "$RB_HANG" <<'PY' || ko "simulator: boot_hang_after_encryption on $RB_HANG"
import sys
from azsim.admin import SimAdmin
SimAdmin(sys.argv[1]).patch_vm("rg-ade-test", sys.argv[2], boot_hang_after_encryption=True)
PY
python -m azsim log --workdir "$SIM" --clear > /dev/null 2>&1
play encrypt-hang nonzero encrypt -e ade_hosts="$RB_HANG:$RB_AFTER" -e ade_key_vault=kv-ade-e2e -e ade_volume_type=All \
  -e ade_poll_interval=0.2 -e ade_guest_timeout=10 -e ade_report_dir="$W/report-hang"
sim_log
python -m azsim state --workdir "$SIM" > "$W/state-hang.json" 2>/dev/null
boots "$RB_HANG" > "$W/boots-hang.json"
assert_py "hang at boot: $RB_HANG verify_failed with the guide's advice, set kept, record not verified, $RB_AFTER not attempted" "
import json, sys
sys.path.insert(0, '$HERE')
from simlog import entries, vm_requests
rows = {r['host']: r for r in json.load(open(sys.argv[1] + '/report-hang/encrypt.json'))}
print(json.dumps(rows, indent=1))
r = rows['$RB_HANG']
assert r['outcome'] == 'verify_failed', r
assert 'did not come back' in r['message'] and 'boot diagnostics' in r['message'] and 'restore' in r['message'], r
# issue 16 item 2: the serial log, read through boot diagnostics, names the cause and its line
assert 'serial log of $RB_HANG' in r['message'] and 'passphrase_file_missing' in r['message'], r
assert 'FAILED to find suitable passphrase file' in r['message'] and 'sig=' not in r['message'], r
assert rows['$RB_AFTER']['outcome'] == 'not_attempted', rows['$RB_AFTER']
log = entries(sys.argv[1] + '/simlog.json')
assert [e for e in log if e['method'] == 'POST' and e['path'].lower().endswith('/virtualmachines/%s/restart' % '$RB_HANG'.lower())]
assert not [e for e in log if e['method'] == 'DELETE' and '/snapshots/' in e['path'].lower()], 'a snapshot was deleted'
assert not vm_requests(log, '$RB_AFTER'), vm_requests(log, '$RB_AFTER')
st = json.load(open(sys.argv[1] + '/state-hang.json'))
vm = [v for s in st['subscriptions'] for g in s['resource_groups'] for v in g['vms'] if v['name'] == '$RB_HANG'][0]
assert vm['guest_state'] == 'boot_hung' and vm['power_state'] == 'running', (vm['guest_state'], vm['power_state'])
boots = json.load(open(sys.argv[1] + '/boots-hang.json'))
assert boots and boots[-1]['hang'], boots[-1:]
"
check "$RB_HANG does not answer SSH (stuck at its unlock prompt)" \
  bash -c "! timeout 5 bash -c '</dev/tcp/$(python3 -c "import yaml,sys; print(yaml.safe_load(open(sys.argv[1]))['all']['children']['ade_guests']['hosts'][sys.argv[2]]['ansible_host'])" "$INV" "$RB_HANG")/22' 2>/dev/null"
check "the rollout stopped after $RB_HANG" grep -q "Rollout stopped after the failure on $RB_HANG" "$W/report-hang/encrypt.json"
echo "TIME 3h: $(( $(date +%s) - T3H )) s"
