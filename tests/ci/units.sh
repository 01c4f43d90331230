#!/usr/bin/env bash
# ansible-test units for one ansible-core line, offline, in the bind-mounted collection.
#   bash tests/ci/units.sh 2.16   # 3.11 (--local) + 2.7 and 3.6 (--venv): guest tests run on all three
#   bash tests/ci/units.sh 2.21   # the line's controller Python, 3.12 (--local; ade_core_pyver in env.sh)
#   UNITS_ARGS="tests/unit/plugins/modules/test_preflight.py" bash tests/ci/units.sh 2.16
# Which tests run where is ansible-test's rule: tests/unit/plugins/modules/** and
# tests/unit/plugins/module_utils/** run on every Python the collection's modules support (2.7, 3.6+,
# tests/config.yml); every other path under tests/unit/ is controller-only
# and runs on 3.10+ only. Guest tests therefore must stay Python 2.7-compatible.
# A run that executes no test counts as a failure (so does pytest's "no tests ran").
set -euo pipefail
ADE_CORE=${1:-${ADE_CORE:-2.16}}
export ADE_CORE
# shellcheck source=tests/ci/env.sh
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
# shellcheck source=tests/ci/lib.sh
. "$ADE_REPO/tests/ci/lib.sh"
[ -x "$ADE_VENV/bin/ansible-test" ] || { echo "no $ADE_VENV: run tests/ci/setup.sh first"; exit 2; }
ade_mount_collection
ade_test_path
cd "$ADE_COLL"
AT=(ansible-test units --color no)
read -r -a EXTRA <<<"${UNITS_ARGS:-}"

units() {  # label, ansible-test args...
  local label=$1
  shift
  ci_run pytest "$label" "${AT[@]}" "$@" "${EXTRA[@]}"
  ci_need_tests "$label"
}

PYV=$(ade_core_pyver "$ADE_CORE")
units "units $ADE_CORE py$PYV" --local --python "$PYV"
if [ "$ADE_CORE" = 2.16 ]; then
  if [ -x "$ADE_PY27ENV/bin/python" ]; then
    units "units $ADE_CORE py2.7" --venv --python 2.7 --python-interpreter "$ADE_PY27ENV/bin/python"
  else
    ci_fail "no $ADE_PY27ENV (python 2.7 units not run)"
  fi
  if [ -n "$(ade_python 3.6)" ]; then
    units "units $ADE_CORE py3.6" --venv --python 3.6
  else
    ci_fail "no python3.6 in $ADE_PYBIN (3.6 units not run)"
  fi
fi
ci_summary
