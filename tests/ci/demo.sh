#!/usr/bin/env bash
# The README's main job, end to end on this machine: venv (core 2.16), the local test hosts that stand
# for real guests, then `ansible-playbook azure_ade.linux.preflight` against them, then a verdict per host.
#   bash tests/ci/demo.sh            (or: make demo)   -> report in $ADE_WORK/demo/preflight.json
# The hosts keep running afterwards (make hosts-down stops them).
set -euo pipefail
ADE_CORE=${DEMO_CORE:-2.16}
export ADE_CORE
# shellcheck source=tests/ci/env.sh
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
SETUP_CORES=$ADE_CORE bash "$ADE_REPO/tests/ci/setup.sh"
[ -f "$ADE_REPO/tests/hosts/up.sh" ] || { echo "MISSING tests/hosts/up.sh"; exit 1; }
bash "$ADE_REPO/tests/hosts/up.sh"
inv=$ADE_WORK/hosts/inventory.yml
[ -f "$inv" ] || { echo "tests/hosts/up.sh left no inventory at $inv"; exit 1; }
ade_mount_collection
ade_activate
out=$ADE_WORK/demo
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
exit "$rc"
