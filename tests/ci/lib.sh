# shellcheck shell=bash
# Sourced by sanity.sh / units.sh / lint.sh / molecule.sh: run commands, count results, print one summary.
#   ci_run KIND LABEL cmd...   run cmd (output shown), count it (KIND: sanity | pytest | auto), never exits
#   ci_summary                 prints "N passed, N failed" as the last line; returns 1 if anything failed
CI_PASSED=0
CI_FAILED=0
CI_COUNT=$(dirname "${BASH_SOURCE[0]}")/count.py

ci_run() {
  local kind=$1 label=$2 _ci_rc _ci_out _ci_p _ci_f _ci_t0
  shift 2
  _ci_out=$(mktemp)
  _ci_t0=$(date +%s)
  echo "=== $label: $*"
  set +e
  "$@" 2>&1 </dev/null | tee "$_ci_out"
  _ci_rc=${PIPESTATUS[0]}
  set -e
  read -r _ci_p _ci_f < <(python3 "$CI_COUNT" "$kind" "$_ci_out" "$_ci_rc")
  rm -f "$_ci_out"
  CI_PASSED=$((CI_PASSED + _ci_p))
  CI_FAILED=$((CI_FAILED + _ci_f))
  echo "=== $label: rc=$_ci_rc, $_ci_p passed, $_ci_f failed, $(($(date +%s) - _ci_t0))s"
  CI_LAST_PASSED=$_ci_p
  CI_LAST_RC=$_ci_rc
  return 0
}

# After ci_run: count a run that exited 0 but passed no test (nothing collected, all skipped) as a failure.
ci_need_tests() {
  [ "$CI_LAST_PASSED" -gt 0 ] || [ "$CI_LAST_RC" -ne 0 ] || ci_fail "$1: exited 0 but no test passed (none found or all skipped)"
}

# Count something that did not run (missing interpreter, missing script) as one failure.
ci_fail() {
  echo "=== FAILED: $*"
  CI_FAILED=$((CI_FAILED + 1))
}

ci_summary() {
  echo "$CI_PASSED passed, $CI_FAILED failed"
  [ "$CI_FAILED" -eq 0 ]
}

# Start the Azure simulator (simulator/azsim) in the background and export what the modules and the SDK read
# (AZURE_* credentials/endpoints of the simulator, its CA bundle, SIM_ADMIN, a short LRO polling interval).
#   ade_sim_start WORKDIR [serve options: --time-scale N --scenario FILE ...]
# Writes WORKDIR/serve.out (endpoints) and WORKDIR/server.log; returns non-zero (server log tail shown) if it did
# not start. Stop it with ade_sim_stop WORKDIR. The one simulator prelude of e2e.sh, compat_e2e.sh, status.sh,
# azure.sh, demo.sh and tests/chaos/run.sh.
ade_sim_start() {
  local sim=$1 env_sh
  shift
  mkdir -p "$sim"
  export PYTHONPATH=$ADE_REPO/simulator${PYTHONPATH:+:$PYTHONPATH}
  if ! python -m azsim serve --workdir "$sim" --port 0 "$@" --daemon > "$sim/serve.out"; then
    echo "simulator did not start:" >&2; tail -20 "$sim/serve.out" "$sim/server.log" >&2 2>/dev/null
    return 1
  fi
  env_sh=$(python3 - "$sim/endpoints.json" <<'PY'
import json, shlex, sys
e = json.load(open(sys.argv[1]))
for k, v in (("AZURE_CLIENT_ID", e["client_id"]), ("AZURE_SECRET", e["client_secret"]), ("AZURE_TENANT", e["tenant_id"]),
             ("AZURE_SUBSCRIPTION_ID", e["subscription_id"]), ("AZURE_RESOURCE_MANAGER_URL", e["resource_manager"]),
             ("AZURE_AUTHORITY_HOST", e["authority"]), ("AZURE_CA_BUNDLE", e["ca_bundle"]),
             ("SIM_ADMIN", e["resource_manager"] + "/_sim")):
    print("export %s=%s" % (k, shlex.quote(str(v))))
PY
) || return 1
  eval "$env_sh"
  export AZURE_ADE_LRO_POLLING_INTERVAL=${AZURE_ADE_LRO_POLLING_INTERVAL:-0.2}
  # Key Vault data plane (KEK by name, key custody) on the simulator's port (simulator/azsim/keyvault.py)
  export AZURE_ADE_KEYVAULT_ENDPOINT="$AZURE_RESOURCE_MANAGER_URL/_keyvault/{vault}"
}

ade_sim_stop() {
  PYTHONPATH=$ADE_REPO/simulator${PYTHONPATH:+:$PYTHONPATH} python -m azsim stop --workdir "$1" >/dev/null 2>&1 || true
}

# Prepare a script that drives the test hosts: the collection mounted, the core line's venv active, INV set to the
# hosts' inventory of that line (Python 2.7 guests need core 2.16; "fleet" = the chaos fleet's). Returns 1 (with a
# message) when the hosts are not up.
ade_hosts_env() {  # guests | fleet
  local kind=
  [ "${1:-guests}" != fleet ] || kind=fleet-
  ade_mount_collection
  ade_activate
  case "$ADE_CORE" in
    2.16) INV=$ADE_WORK/hosts/inventory-${kind}py27.yml ;;
    *) INV=$ADE_WORK/hosts/inventory-${kind}py3.yml ;;
  esac
  export INV
  [ -n "$kind" ] || [ -f "$INV" ] || { echo "no $INV: start the test hosts first (tests/hosts/up.sh)"; return 1; }
}
