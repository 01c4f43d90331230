#!/usr/bin/env bash
# Lint: ansible-lint (offline, profile from .ansible-lint) on roles/, playbooks/ and the AWX wrappers, yamllint on the
# repo (.yamllint), antsibull-changelog lint, every R-ID / reference section cited resolves (tests/ci/docrefs.py),
# docs that must match the code (tests/ci/doccheck.py: CI step table, parts table, azure playbook numbers).
# Uses the newest core line's venv unless CORE says otherwise.
#   bash tests/ci/lint.sh [2.21|2.16]
set -euo pipefail
ADE_CORE=${1:-${ADE_CORE:-new}}
export ADE_CORE
# shellcheck source=tests/ci/env.sh
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
# shellcheck source=tests/ci/lib.sh
. "$ADE_REPO/tests/ci/lib.sh"
[ -x "$ADE_VENV/bin/ansible-lint" ] || { echo "no $ADE_VENV: run tests/ci/setup.sh first"; exit 2; }
ade_mount_collection
ade_test_path
cd "$ADE_COLL"
targets=()
for d in roles playbooks extensions/awx; do [ -d "$d" ] && targets+=("$d"); done
if [ ${#targets[@]} -gt 0 ]; then
  ci_run rc "ansible-lint" ansible-lint --offline --nocolor "${targets[@]}"
else
  ci_fail "ansible-lint: no roles/ or playbooks/ to lint"
fi
ci_run rc "yamllint" yamllint -s -c .yamllint .
# shellcheck disable=SC2016  # expanded by the inner bash
ci_run rc "an AWX wrapper for every playbook (extensions/awx)" bash -c \
  'rc=0; for p in playbooks/*.yml; do [ -f "extensions/awx/${p#playbooks/}" ] || { echo "missing extensions/awx/${p#playbooks/}"; rc=1; }; done; exit $rc'
ci_run rc "changelog lint" antsibull-changelog lint
ci_run rc "doc references (R-IDs, reference sections -> docs/requirements.md)" python3 "$ADE_REPO/tests/ci/docrefs.py" "$ADE_REPO"
ci_run rc "docs match the code (CI step table, parts table, azure playbook numbers)" python3 "$ADE_REPO/tests/ci/doccheck.py" "$ADE_REPO"
ci_summary
