#!/usr/bin/env bash
# Guest modules (guest_facts, preflight) against the test hosts, one ansible-core line.
#   bash tests/integration/guest.sh [2.16|2.21]
# 2.16 uses $ADE_WORK/hosts/inventory-py27.yml (Python 2.7 guests), the newer line inventory-py3.yml.
#  1. ansible-playbook tests/integration/guest-targets.yml over every host of the inventory: both targets,
#     exact verdict per variant (tests/integration/targets/*/vars/main.yml);
#     then tests/integration/guest-role-packages.yml: the role's packages task on pkgs-local (installs from the
#     guest's local mirror, preflight ready after, packages purged again);
#  2. ansible-test integration --target ssh:root@IP,python=... for one host (GUEST_AT_HOST, default app-mongod,
#     a host no role test changes), the same targets the ansible-test way.
# Exit non-zero on any failure, or when no test host is up (GUEST_ALLOW_NO_HOSTS=1: only a local smoke run).
set -uo pipefail
ADE_CORE=${1:-${ADE_CORE:-2.16}}
export ADE_CORE
# shellcheck source=tests/ci/env.sh
. "$(dirname "${BASH_SOURCE[0]}")/../ci/env.sh"
[ -x "$ADE_VENV/bin/ansible-playbook" ] || { echo "no $ADE_VENV: run tests/ci/setup.sh first"; exit 2; }
ade_mount_collection
ade_activate
: "${ADE_COLL:?set by tests/ci/env.sh}"
export ANSIBLE_ROLES_PATH=$ADE_COLL/tests/integration/targets
export ANSIBLE_STDOUT_CALLBACK=default ANSIBLE_DISPLAY_SKIPPED_HOSTS=false
# 13 hosts on 2 cores: give sshd time, retry a refused/timed-out connection
export ANSIBLE_TIMEOUT=${ANSIBLE_TIMEOUT:-30} ANSIBLE_SSH_RETRIES=${ANSIBLE_SSH_RETRIES:-3}
LOGS=${ADE_LOGS:-$ADE_WORK/logs}
mkdir -p "$LOGS"
case "$ADE_CORE" in
  2.16) INV=$ADE_WORK/hosts/inventory-py27.yml ;;
  *) INV=$ADE_WORK/hosts/inventory-py3.yml ;;
esac
# A process younger than BUSY_MIN_AGE_SECONDS (10 s, plugins/module_utils/guest/supported.py) is not root-busy by
# design. Right after hosts-up (CI starts the hosts seconds before this step) the variants' daemons are younger than
# that and busy-root would show no root_busy process: wait until every host's init has run 15 s.
settle=0
for pid in $(bash "$ADE_REPO/tests/hosts/status.sh" 2>/dev/null | sed -n 's/.*init_pid=\([0-9][0-9]*\).*/\1/p'); do
  age=$(ps -o etimes= -p "$pid" 2>/dev/null | tr -d ' ')
  if [ -n "$age" ] && [ $((15 - age)) -gt "$settle" ]; then settle=$((15 - age)); fi
done
if [ "$settle" -gt 0 ]; then echo "=== the hosts started ${settle}s too recently for the root-busy minimum age: waiting"; sleep "$settle"; fi
fails=0
passes=0
step() {  # label, command...
  local label=$1 log
  shift
  log="$LOGS/guest-$ADE_CORE-$(echo "$label" | tr -c 'A-Za-z0-9.-' '_').log"
  echo "=== $label: $*"
  "$@" >"$log" 2>&1
  local rc=$?
  grep -E 'VERDICT|PLAY RECAP|failed=|Assertion failed|got ready=|facts differ|UNREACHABLE|ERROR|FATAL' "$log" \
    | cut -c1-600 | tail -60
  if [ $rc -eq 0 ]; then passes=$((passes + 1)); echo "=== $label: ok ($log)";
  else fails=$((fails + 1)); echo "=== $label: FAILED rc=$rc ($log)"; fi
}

cd "$ADE_COLL" || exit 2
if [ ! -s "$INV" ]; then
  echo "no test hosts ($INV missing): run tests/hosts/up.sh"
  py=$(command -v python3)
  step "local smoke" ansible-playbook -i localhost, -c local -e ansible_python_interpreter="$py" \
    -e ade_allow_unknown_host=true tests/integration/guest-targets.yml
  [ "${GUEST_ALLOW_NO_HOSTS:-0}" = 1 ] && [ $fails -eq 0 ] && exit 0
  exit 1
fi

step "ansible-playbook $ADE_CORE all hosts" ansible-playbook -i "$INV" tests/integration/guest-targets.yml
if ansible-inventory -i "$INV" --host pkgs-local >/dev/null 2>&1; then
  step "ansible-playbook $ADE_CORE role packages" ansible-playbook -i "$INV" tests/integration/guest-role-packages.yml
else
  fails=$((fails + 1)); echo "=== role packages: FAILED (no host pkgs-local in $INV: run tests/hosts/up.sh)"
fi

# ansible-test on one host: its address and interpreter from the inventory
read -r AT_NAME AT_IP AT_PY < <(ansible-inventory -i "$INV" --list 2>/dev/null | python3 -c '
import json, os, sys
inv = json.load(sys.stdin)
hv = inv.get("_meta", {}).get("hostvars", {})
want = os.environ.get("GUEST_AT_HOST", "app-mongod")
names = sorted(hv)
name = want if want in hv else (names[0] if names else "")
v = hv.get(name, {})
print(name, v.get("ansible_host", ""), v.get("ansible_python_interpreter", ""))')
if [ -n "${AT_IP:-}" ] && [ -n "${AT_PY:-}" ]; then
  PYV=$(ansible -i "$INV" "$AT_NAME" -m raw -a "$AT_PY -c 'import sys; print(\"PYV=%d.%d\" % sys.version_info[:2])'" \
        2>/dev/null | sed -n 's/^PYV=\([0-9.]*\).*/\1/p' | head -1)
  step "ansible-test integration $ADE_CORE $AT_NAME" ansible-test integration --color no \
    --controller "origin:python=$(ade_core_pyver "$ADE_CORE")" --target "ssh:root@$AT_IP,python=$PYV@$AT_PY" guest_facts preflight
else
  fails=$((fails + 1))
  echo "=== ansible-test integration: FAILED (no host address/interpreter in $INV)"
fi
echo "$passes passed, $fails failed"
[ $fails -eq 0 ]
