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
