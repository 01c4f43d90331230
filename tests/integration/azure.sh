#!/usr/bin/env bash
# Integration tests of the controller modules against the Azure simulator, over HTTPS, with the real SDK.
#   tests/integration/azure.sh [2.16|2.19] [playbook-glob]
# Starts the simulator (simulator/, python -m azsim), runs every tests/integration/azure/NN_*.yml with
# ansible-playbook, stops the simulator. Exit status: number of failed playbooks (0 = all passed).
set -u
ADE_CORE=${1:-${ADE_CORE:-2.16}}
PATTERN=${2:-[0-9][0-9]_*.yml}
export ADE_CORE
# shellcheck source=tests/ci/env.sh
. "$(dirname "$0")/../ci/env.sh"
# shellcheck source=tests/ci/lib.sh
. "$(dirname "$0")/../ci/lib.sh"
: "${ADE_WORK:?}" "${ADE_COLL:?}" "${ADE_REPO:?}"
ade_mount_collection
ade_activate
# ADE_SCRATCH: parent of the simulator work dir (default $ADE_WORK), so that parallel checkouts do not collide.
SIM_WORK=${ADE_SCRATCH:-$ADE_WORK}/azsim-it-$ADE_CORE
rm -rf "$SIM_WORK"
mkdir -p "$SIM_WORK"
ade_sim_start "$SIM_WORK" --time-scale 60 || exit 99
# shellcheck disable=SC2317  # called through the EXIT trap
stop_sim() { ade_sim_stop "$SIM_WORK"; }
trap stop_sim EXIT
# The SDK must not find the machine's bundle instead of the simulator CA, nor the public cloud.
unset REQUESTS_CA_BUNDLE AZURE_CLIENT_SECRET AZURE_TENANT_ID
export AZURE_ADE_KEYVAULT_ENDPOINT="$AZURE_RESOURCE_MANAGER_URL/_keyvault/{vault}"   # Key Vault data plane (KEK by name) in the simulator
cd "$ADE_COLL/tests/integration/azure" || exit 1
failed=0; passed=0; failures=""
for pb in $PATTERN; do
  echo "=== $pb (ansible-core $ADE_CORE)"
  if ansible-playbook -i localhost, -c local -e "ansible_python_interpreter=$(command -v python)" "$pb"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1)); failures="$failures $pb"
  fi
done
echo "azure integration (core $ADE_CORE): $passed passed, $failed failed${failures:+ ($failures )}"
exit $failed
