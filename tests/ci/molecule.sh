#!/usr/bin/env bash
# molecule test for every scenario of every role that has one (roles/*/molecule/*/molecule.yml),
# with one core line's venv on PATH (molecule needs the venv's ansible-* commands).
#   bash tests/ci/molecule.sh [2.16|2.21]
#   MOLECULE_ACTION=syntax bash tests/ci/molecule.sh 2.21     # another molecule action (default: test)
#   MOLECULE_SCENARIOS="selinux" bash tests/ci/molecule.sh    # only these scenarios
# Scenarios usually target the test hosts: start them first (make hosts / tests/hosts/up.sh).
set -euo pipefail
ADE_CORE=${1:-${ADE_CORE:-2.16}}
export ADE_CORE
# shellcheck source=tests/ci/env.sh
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
# shellcheck source=tests/ci/lib.sh
. "$ADE_REPO/tests/ci/lib.sh"
[ -x "$ADE_VENV/bin/molecule" ] || { echo "no $ADE_VENV: run tests/ci/setup.sh first"; exit 2; }
ade_mount_collection
ade_test_path
export MOLECULE_NO_LOG=false ANSIBLE_FORCE_COLOR=0 PY_COLORS=0
found=0
for yml in "$ADE_COLL"/roles/*/molecule/*/molecule.yml; do
  [ -f "$yml" ] || continue
  found=1
  scen_dir=$(dirname "$yml")
  role_dir=$(dirname "$(dirname "$scen_dir")")
  scen=$(basename "$scen_dir")
  if [ -n "${MOLECULE_SCENARIOS:-}" ]; then
    case " $MOLECULE_SCENARIOS " in *" $scen "*) ;; *) continue ;; esac
  fi
  pushd "$role_dir" >/dev/null
  ci_run rc "molecule $(basename "$role_dir")/$scen core $ADE_CORE" molecule "${MOLECULE_ACTION:-test}" -s "$scen"
  popd >/dev/null
done
[ "$found" = 1 ] || ci_fail "MISSING roles/prerequisites/molecule/<scenario>/molecule.yml"
ci_summary
