#!/usr/bin/env bash
# The README's main job, end to end on this machine, in one command (make demo):
#   1. venv (core 2.16) and the local test hosts that stand for real guests;
#   2. `ansible-playbook azure_ade.linux.preflight` on every host, then a verdict per host;
#   3. the rollout: the Azure simulator (real SDK over HTTPS) seeded with one VM per host, then
#      `ansible-playbook azure_ade.linux.encrypt` on three guests - one is encrypted, one fails part way through OS
#      encryption and is restored from the snapshot set taken before, one is blocked by the preflight and never
#      touched - then the fleet table and the paths of the JSON and HTML reports.
#   bash tests/ci/demo.sh            (or: make demo)   -> reports in $ADE_WORK/demo/
# The guests are put back as they were (SELinux) and the simulator stopped; the hosts keep running (make hosts-down).
#   DEMO_OK / DEMO_FAIL / DEMO_BLOCKED pick the three guests; DEMO_ROLLOUT=0 stops after the preflight.
set -euo pipefail
ADE_CORE=${DEMO_CORE:-2.16}
export ADE_CORE
# shellcheck source=tests/ci/env.sh
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
# shellcheck source=tests/ci/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
SETUP_CORES=$ADE_CORE bash "$ADE_REPO/tests/ci/setup.sh"
[ -f "$ADE_REPO/tests/hosts/up.sh" ] || { echo "MISSING tests/hosts/up.sh"; exit 1; }
bash "$ADE_REPO/tests/hosts/up.sh"
inv=$ADE_WORK/hosts/inventory.yml
[ -f "$inv" ] || { echo "tests/hosts/up.sh left no inventory at $inv"; exit 1; }
ade_mount_collection
ade_activate
out=${DEMO_OUT:-$ADE_WORK/demo}
rm -rf "$out" && mkdir -p "$out"
echo "== ansible-playbook azure_ade.linux.preflight -i $inv  (ansible-core $(python -c 'import ansible; print(ansible.__version__)'))"
set +e
ansible-playbook azure_ade.linux.preflight -i "$inv" -e "ade_report_dir=$out" 2>&1 | tee "$out/playbook.log"
rc=${PIPESTATUS[0]}
set -e
[ -f "$out/preflight.json" ] || { echo "no report written (playbook rc=$rc)"; exit 1; }
python3 - "$out/preflight.json" <<'PY'
import json, sys
rows = json.load(open(sys.argv[1]))
print()
print('%-22s %-9s %s' % ('HOST', 'VERDICT', 'WHY / WHAT FIXES IT'))
for r in rows:
    why = []
    if r.get('error'):
        why.append(r['error'])
    if r.get('blocking'):
        why.append('blocking: ' + ','.join(r['blocking']))
    if r.get('fixable'):
        why.append('fixable by the prerequisites role: ' + ','.join(r['fixable']))
    if r.get('warnings'):
        why.append('warnings: ' + ','.join(r['warnings']))
    print('%-22s %-9s %s' % (r['host'], r['verdict'], '; '.join(why) or '-'))
verdicts = [r['verdict'] for r in rows]
print('%d hosts: %s' % (len(rows), ', '.join('%s %d' % (v, verdicts.count(v)) for v in sorted(set(verdicts)))))
PY
echo "report: $out/preflight.json, playbook log: $out/playbook.log"
[ "${DEMO_ROLLOUT:-1}" = 1 ] || exit "$rc"

# ---- the rollout against the simulator ----------------------------------------------------------------------
OK=${DEMO_OK:-centos7-selinux} FAIL=${DEMO_FAIL:-ubuntu1804} BLOCKED=${DEMO_BLOCKED:-lowmem-4g}
SIM=$out/sim
export PYTHONPATH=$ADE_REPO/simulator${PYTHONPATH:+:$PYTHONPATH}
cleanup() {
  ade_sim_stop "$SIM"
  ansible-playbook -i "$inv" "$ADE_REPO/tests/integration/e2e/cleanup.yml" -e ade_hosts="$OK:$FAIL:$BLOCKED" \
    >"$out/cleanup.log" 2>&1 || echo "(putting the guests back failed: $out/cleanup.log)"
}
trap cleanup EXIT
python3 "$ADE_REPO/tests/integration/e2e/scenario.py" "$inv" "$FAIL" >"$out/scenario.json"
ade_sim_start "$SIM" --time-scale "${DEMO_TIME_SCALE:-60}" --scenario "$out/scenario.json"
echo
echo "== Azure simulator at $AZURE_RESOURCE_MANAGER_URL (one VM per test host; $FAIL's OS encryption fails part way)"
echo "== ansible-playbook azure_ade.linux.encrypt -e ade_hosts=$OK:$FAIL:$BLOCKED  (snapshot first, restore on failure)"
set +e
# ade_verify_restart=false: the test hosts have no device-mapper, so the post-encryption restart check (on by
# default) cannot pass here; e2e step 3e shows it failing honestly and keeping the snapshot set.
ansible-playbook azure_ade.linux.encrypt -i "$inv" -e ade_hosts="$OK:$FAIL:$BLOCKED" -e ade_key_vault=kv-ade-e2e \
  -e ade_verify_restart=false -e ade_volume_type=All -e ade_poll_interval=0.2 -e ade_continue_on_failure=true -e "ade_report_dir=$out" \
  >"$out/encrypt.log" 2>&1
erc=$?
set -e
grep -E '^(PLAY RECAP|[a-z0-9-]+ +: ok=)' "$out/encrypt.log" || true
[ -f "$out/encrypt.json" ] || { echo "encrypt wrote no report (rc=$erc): tail of $out/encrypt.log"; tail -30 "$out/encrypt.log"; exit 1; }
python3 - "$out/encrypt.json" "$OK" "$FAIL" "$BLOCKED" <<'PY'
import json, sys
rows = json.load(open(sys.argv[1]))
print()
print('%-18s %-22s %-26s %s' % ('HOST', 'OUTCOME', 'SNAPSHOT SET', 'DETAIL'))
for r in rows:
    print('%-18s %-22s %-26s %s' % (r['host'], r.get('outcome'), r.get('snapshot_set') or '-', (r.get('message') or '')[:110]))
out = dict((r['host'], r.get('outcome')) for r in rows)
print('%d VMs: %s' % (len(rows), ', '.join('%s %d' % (o, list(out.values()).count(o)) for o in sorted(set(out.values())))))
want = {sys.argv[2]: ('succeeded', 'encrypted'), sys.argv[3]: ('failed_restored',), sys.argv[4]: ('blocked', 'prerequisites_failed')}
bad = ['%s: %s (expected %s)' % (h, out.get(h), ' or '.join(w)) for h, w in want.items() if out.get(h) not in w]
# issue 17: read after the last change - the VM put back on its pre-encryption disks is not "ADE on its OS volume"
ret = dict((r['host'], r.get('retirement') or {}) for r in rows).get(sys.argv[3]) or {}
if ret.get('path') == 'rebuild_vm' or ret.get('category') == 'ade_os':
    bad.append('%s: retirement %s/%s read before its restore (expected what it is now)' % (
        sys.argv[3], ret.get('category'), ret.get('path')))
if bad:
    print('NOT AS EXPECTED: ' + '; '.join(bad))
    sys.exit(1)
PY
echo
echo "reports: $out/encrypt.json"
if [ -f "$out/encrypt.html" ]; then echo "         $out/encrypt.html   (open it in a browser: fleet at a glance, each VM's timeline)"; fi
echo "playbook log: $out/encrypt.log"
