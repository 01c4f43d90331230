#!/usr/bin/env bash
# azure-cli (from PyPI, unchanged) against the simulator: az vm encryption show/enable/disable, compared with
# azure_ade.linux.vm_encryption_info on the same VMs (tests/azcli/harness.py, table-driven).
#   bash tests/ci/azcli.sh [2.16|2.21]     install az if needed, run the harness; last line "N passed, N failed"
#   bash tests/ci/azcli.sh --install       only make $ADE_WORK/venv-azcli (tests/ci/setup.sh calls this)
# The az venv is cached: reinstalled only when AZCLI_VERSION changes.
set -euo pipefail
AZCLI_VERSION=${AZCLI_VERSION:-2.91.0}
mode=run
if [ "${1:-}" = "--install" ]; then mode=install; shift; fi
ADE_CORE=${1:-${ADE_CORE:-new}}
export ADE_CORE
# shellcheck source=tests/ci/env.sh
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
AZ_VENV=$ADE_WORK/venv-azcli

install_az() {
  if [ "$(cat "$AZ_VENV/.ade-azcli" 2>/dev/null || true)" = "$AZCLI_VERSION" ] && [ -x "$AZ_VENV/bin/az" ]; then
    echo "azure-cli $AZCLI_VERSION already in $AZ_VENV"
    return 0
  fi
  local t0 py
  t0=$(date +%s)
  py=$(ade_controller_python 3.11)
  rm -rf "$AZ_VENV"
  "$py" -m venv "$AZ_VENV"
  mkdir -p "$ADE_LOGS"
  "$AZ_VENV/bin/pip" install -q "azure-cli==$AZCLI_VERSION" >"$ADE_LOGS/setup-azcli.log" 2>&1 \
    || { tail -20 "$ADE_LOGS/setup-azcli.log"; return 1; }
  echo "$AZCLI_VERSION" >"$AZ_VENV/.ade-azcli"
  echo "azure-cli $AZCLI_VERSION installed in $AZ_VENV in $(($(date +%s) - t0))s"
}

install_az
[ "$mode" = run ] || exit 0
ade_mount_collection
ade_activate
W=${ADE_SCRATCH:-$ADE_WORK}/azcli-$ADE_CORE
rm -rf "$W"
mkdir -p "$W"
cd "$ADE_REPO"
PYTHONPATH=$ADE_REPO/simulator python tests/azcli/harness.py --az "$AZ_VENV/bin/az" --workdir "$W"
