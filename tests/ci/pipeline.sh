#!/usr/bin/env bash
# The whole test suite, as CI runs it (`make test`, called by .ci/run).
#
#   bash tests/ci/pipeline.sh                 # both ansible-core lines
#   CORES=2.16 bash tests/ci/pipeline.sh      # one line
#   STEPS="sanity units" bash tests/ci/pipeline.sh   # only these kinds of step (setup always runs)
#
# Steps: setup, lint, then per core line sanity + units, then the test hosts (tests/hosts/up.sh), the
# simulator's own tests, and for each core line: guest integration, then azure integration (simulator),
# then molecule, then e2e; then hosts down and the collection build. Each step: its own timeout, its log in $ADE_LOGS/<step>.log (the tail is printed when it
# fails), its counts (see count.py: a step's own last "N passed, N failed" line, else pytest summaries, else
# PLAY RECAP, else the step counts as one). A step whose script does not exist yet prints
# "MISSING <script>" and counts as failed: CI is never green on a missing part.
# Last line: "N passed, N failed"; exit status 1 if anything failed.
set -euo pipefail
# shellcheck source=tests/ci/env.sh
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
CORES=${CORES:-"2.16 2.19"}
STEPS=${STEPS:-"lint sanity units hosts guest azure molecule e2e chaos build report"}
BUDGET=${PIPELINE_BUDGET:-4800}    # seconds for the whole run (CI's hard limit is 5400)
T0=$(date +%s)
mkdir -p "$ADE_LOGS"
rm -f "$ADE_LOGS"/*.log "$ADE_LOGS/summary.txt"
TOTAL_P=0
TOTAL_F=0
SUMMARY=()
STEP_RC=0

want() { case " $STEPS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

record() {  # name status passed failed seconds note
  TOTAL_P=$((TOTAL_P + $3))
  TOTAL_F=$((TOTAL_F + $4))
  SUMMARY+=("$(printf '%-16s %-7s %4s passed %4s failed %5ss  %s' "$1" "$2" "$3" "$4" "$5" "${6:-}")")
  printf '[ci +%4ss] %-16s %-7s %s passed, %s failed (%ss) %s\n' "$(($(date +%s) - T0))" "$1" "$2" "$3" "$4" "$5" "${6:-}"
}

# step NAME TIMEOUT CMD...   (CMD runs with stdin from /dev/null, output to the step's log)
# INFRA=1 step ...: a step that tests nothing by itself (setup, hosts up/down): counted only when it fails.
step() {
  local name=$1 limit=$2 log rc p f t0 left
  shift 2
  log=$ADE_LOGS/$name.log
  left=$((BUDGET - ($(date +%s) - T0)))
  if [ "$left" -le 30 ]; then
    echo "not run: the pipeline's time budget (${BUDGET}s) is used up" >"$log"
    record "$name" SKIPPED 0 1 0 "time budget used up"
    STEP_RC=1
    return 0
  fi
  [ "$limit" -le "$left" ] || limit=$left
  t0=$(date +%s)
  set +e
  timeout -k 30 "$limit" "$@" </dev/null >"$log" 2>&1
  rc=$?
  set -e
  [ "$rc" -ne 124 ] && [ "$rc" -ne 137 ] || echo "TIMEOUT after ${limit}s: $*" >>"$log"
  [ "$rc" -ne 5 ] || echo "exit 5: pytest collected no tests (counted as a failure)" >>"$log"
  read -r p f < <(python3 "$ADE_REPO/tests/ci/count.py" auto "$log" "$rc")
  if [ "$rc" -eq 0 ] && [ "$f" -eq 0 ]; then
    [ -z "${INFRA:-}" ] || p=0
    record "$name" PASS "$p" "$f" "$(($(date +%s) - t0))"
  else
    record "$name" FAIL "$p" "$f" "$(($(date +%s) - t0))" "rc=$rc, log $log"
    echo "----- $log: errors"
    grep -E '^(ERROR|FATAL|FAILED|MISSING|TIMEOUT)|^fatal: |^failed: |FAILED!|^=== FAILED|Traceback' "$log" | head -n 40 | cut -c1-300 || true
    echo "----- $log: last lines"
    tail -n 15 "$log" | cut -c1-300
    echo "-----"
  fi
  STEP_RC=$rc
}

# A step that runs another helper's script: MISSING while the script does not exist.
script_step() {  # NAME TIMEOUT SCRIPT ARGS...
  local name=$1 limit=$2 script=$3
  shift 3
  if [ ! -f "$ADE_REPO/$script" ]; then
    echo "MISSING $script" >"$ADE_LOGS/$name.log"
    record "$name" MISSING 0 1 0 "MISSING $script"
    STEP_RC=1
    return 0
  fi
  step "$name" "$limit" bash "$ADE_REPO/$script" "$@"
}

# Leave the machine as we found it for whoever else uses this ADE_WORK: the collection bind mount goes back
# to the checkout it showed before, and test hosts that were already running stay up.
PREV_COLL_SRC=$(findmnt -n -o SOURCE --target "$ADE_COLL" 2>/dev/null | tail -n 1 | sed -n 's/.*\[\(.*\)\]$/\1/p' || true)
restore_mount() {
  if [ -n "$PREV_COLL_SRC" ] && [ "$PREV_COLL_SRC" != "$ADE_REPO" ] && [ -f "$PREV_COLL_SRC/galaxy.yml" ]; then
    umount "$ADE_COLL" 2>/dev/null || true      # ours (on top, or the only one)
    if ! mountpoint -q "$ADE_COLL"; then mount --bind "$PREV_COLL_SRC" "$ADE_COLL"; fi
    echo "[ci] $ADE_COLL shows $(findmnt -n -o SOURCE --target "$ADE_COLL" | tail -n 1) again"
  fi
}
HOSTS_WERE_UP=
if ip netns list 2>/dev/null | grep -q '^ade-'; then HOSTS_WERE_UP=1; fi

echo "[ci] ADE_WORK=$ADE_WORK repo=$ADE_REPO cores=[$CORES] steps=[$STEPS] budget=${BUDGET}s logs=$ADE_LOGS"

INFRA=1 step setup 1200 bash "$ADE_REPO/tests/ci/setup.sh"
if [ "$STEP_RC" -ne 0 ]; then
  echo "[ci] setup failed: nothing else can run"
  echo "$TOTAL_P passed, $TOTAL_F failed" | tee "$ADE_LOGS/summary.txt"
  exit 1
fi

want lint && step lint 600 bash "$ADE_REPO/tests/ci/lint.sh"
for core in $CORES; do
  want sanity && step "sanity-$core" 900 bash "$ADE_REPO/tests/ci/sanity.sh" "$core"
  want units && step "units-$core" 600 bash "$ADE_REPO/tests/ci/units.sh" "$core"
done

HOSTS_UP=
hosts_down() {
  if [ -n "$HOSTS_UP" ] && [ -n "$HOSTS_WERE_UP" ]; then
    HOSTS_UP=
    echo "[ci] test hosts were running before this run: left up (make hosts-down stops them)"
  elif [ -n "$HOSTS_UP" ]; then
    HOSTS_UP=
    INFRA=1 script_step hosts-down 180 tests/hosts/down.sh
  fi
}
trap 'hosts_down >/dev/null 2>&1 || true; restore_mount || true' EXIT

if want hosts || want guest || want molecule || want e2e || want chaos; then
  INFRA=1 script_step hosts-up 1200 tests/hosts/up.sh
  [ "$STEP_RC" -ne 0 ] || HOSTS_UP=1
fi
want azure && step simulator-tests 600 bash "$ADE_REPO/tests/ci/simulator.sh" test
# Read-only checks of the hosts first (guest), then the steps that change hosts (molecule, e2e).
for core in $CORES; do
  want guest && ADE_CORE=$core script_step "guest-$core" 900 tests/integration/guest.sh "$core"
done
for core in $CORES; do
  want azure && ADE_CORE=$core script_step "azure-$core" 900 tests/integration/azure.sh "$core"
done
# azure-cli from PyPI against the simulator, compared with vm_encryption_info (one core line: the last one)
want azure && ADE_CORE=${CORES##* } script_step azcli 600 tests/ci/azcli.sh "${CORES##* }"
for core in $CORES; do
  want molecule && ADE_CORE=$core step "molecule-$core" 1200 bash "$ADE_REPO/tests/ci/molecule.sh" "$core"
done
for core in $CORES; do
  want e2e && ADE_CORE=$core script_step "e2e-$core" 1200 tests/integration/e2e.sh "$core"
  want e2e && ADE_CORE=$core script_step "status-$core" 600 tests/integration/status.sh "$core"   # R6.1 both ways + status.html in Chromium
  want e2e && ADE_CORE=$core script_step "compat-e2e-$core" 300 tests/integration/compat_e2e.sh "$core"   # issue 7: Azure blockers / EAH refusal before the snapshot
  want e2e && ADE_CORE=$core script_step "rollout-e2e-$core" 600 tests/integration/rollout_e2e.sh "$core"   # issue 6: stall report, restore killed between steps
  want e2e && ADE_CORE=$core script_step "migrate-e2e-$core" 420 tests/integration/migrate_e2e.sh "$core"   # issue 7: migrate off ADE (killed mid-copy, re-run converges)
done
# Chaos: its own fleet of hosts + simulator, torn down by the step (tests/chaos/README.md), on one core line by
# default (CHAOS_CORES="2.16 2.19" for both). 100 VMs: 90 s of killed runs, two slices, convergence, all playbook
# runs within 900 s (the encrypt playbook reads and waits per wave, not per host: see tests/chaos/README.md).
for core in ${CHAOS_CORES:-2.19}; do
  want chaos && ADE_CORE=$core CHAOS_FLEET=${CHAOS_FLEET:-100} CHAOS_TOTAL=${CHAOS_TOTAL:-900} CHAOS_BUDGET=${CHAOS_BUDGET:-90} \
    script_step "chaos-$core" 1080 tests/chaos/run.sh "$core"
done
hosts_down
want build && step build 300 bash "$ADE_REPO/tests/ci/build.sh"
want report && step report 600 bash "$ADE_REPO/tests/ci/report.sh"   # the HTML report in headless Chromium

echo
echo "[ci] summary (logs in $ADE_LOGS), total $(($(date +%s) - T0))s"
printf '  %s\n' "${SUMMARY[@]}"
echo "$TOTAL_P passed, $TOTAL_F failed" | tee "$ADE_LOGS/summary.txt"
[ "$TOTAL_F" -eq 0 ]
