#!/usr/bin/env bash
# ansible-test sanity for one ansible-core line, offline (--local), in the bind-mounted collection.
#   bash tests/ci/sanity.sh 2.16    # full sanity on 3.11, + compile/import on 2.7 and 3.6 (guest code)
#   bash tests/ci/sanity.sh 2.21    # full sanity on the line's controller Python (3.12), + compile on 3.13
#   SANITY_ARGS="--test pylint" bash tests/ci/sanity.sh 2.16   # extra args for the full run only
# The controller Python of a line: ade_core_pyver (tests/ci/env.sh): 3.11 up to 2.19, 3.12 from 2.20.
# Last line: "N passed, N failed" (one count per sanity test and Python); exit 1 if any failed.
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
AT=(ansible-test sanity --local --color no)
read -r -a EXTRA <<<"${SANITY_ARGS:-}"

PYV=$(ade_core_pyver "$ADE_CORE")
ci_run sanity "sanity $ADE_CORE py$PYV" "${AT[@]}" --python "$PYV" "${EXTRA[@]}"
if [ "$ADE_CORE" = 2.16 ]; then
  if [ -x "$ADE_PY27ENV/bin/python" ]; then
    ci_run sanity "sanity $ADE_CORE py2.7" "${AT[@]}" --python 2.7 --python-interpreter "$ADE_PY27ENV/bin/python" \
      --test compile --test import
  else
    ci_fail "no $ADE_PY27ENV (python 2.7 compile/import not run)"
  fi
  if [ -n "$(ade_python 3.6)" ]; then
    ci_run sanity "sanity $ADE_CORE py3.6" "${AT[@]}" --python 3.6 --test compile --test import
  else
    ci_fail "no python3.6 in $ADE_PYBIN (3.6 compile/import not run)"
  fi
else
  for v in 3.12 3.13; do
    if [ "$v" != "$PYV" ] && [ -n "$(ade_python $v)" ]; then
      ci_run sanity "sanity $ADE_CORE py$v" "${AT[@]}" --python "$v" --test compile
    fi
  done
fi
ci_summary
