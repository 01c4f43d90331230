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
: "${ADE_WORK:?}" "${ADE_COLL:?}" "${ADE_REPO:?}"
ade_mount_collection
ade_activate
# ADE_SCRATCH: parent of the simulator work dir (default $ADE_WORK), so that parallel checkouts do not collide.
SIM_WORK=${ADE_SCRATCH:-$ADE_WORK}/azsim-it-$ADE_CORE
rm -rf "$SIM_WORK"
mkdir -p "$SIM_WORK"
cd "$ADE_REPO/simulator" || exit 1
if ! PYTHONPATH=$ADE_REPO/simulator python -m azsim serve --workdir "$SIM_WORK" --port 0 --time-scale 60 --daemon \
    > "$SIM_WORK/serve.out"; then
  echo "simulator did not start:"; cat "$SIM_WORK/serve.out" "$SIM_WORK/server.log" 2>/dev/null; exit 99
fi
# shellcheck disable=SC2317  # called through the EXIT trap
stop_sim() { PYTHONPATH=$ADE_REPO/simulator python -m azsim stop --workdir "$SIM_WORK" >/dev/null 2>&1 || true; }
trap stop_sim EXIT
eval "$(python - "$SIM_WORK/endpoints.json" <<'PY'
import json, shlex, sys
e = json.load(open(sys.argv[1]))
env = dict(AZURE_CLIENT_ID=e['client_id'], AZURE_SECRET=e['client_secret'], AZURE_TENANT=e['tenant_id'],
           AZURE_SUBSCRIPTION_ID=e['subscription_id'], AZURE_RESOURCE_MANAGER_URL=e['resource_manager'],
           AZURE_AUTHORITY_HOST=e['authority'], AZURE_CA_BUNDLE=e['ca_bundle'],
           SIM_ADMIN=e['resource_manager'] + '/_sim')
for k, v in env.items():
    print('export {0}={1}'.format(k, shlex.quote(v)))
PY
)"
# The SDK must not find the machine's bundle instead of the simulator CA, nor the public cloud.
unset REQUESTS_CA_BUNDLE AZURE_CLIENT_SECRET AZURE_TENANT_ID
export AZURE_ADE_LRO_POLLING_INTERVAL=0.2
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
