#!/usr/bin/env bash
# The whole test suite, as CI runs it (`make test`, called by .ci/run).
#
#   bash tests/ci/pipeline.sh                 # both ansible-core lines ($ADE_CORES, tests/ci/env.sh)
#   CORES=2.16 bash tests/ci/pipeline.sh      # one line
#   STEPS="sanity units" bash tests/ci/pipeline.sh   # only these kinds of step (setup always runs)
#   PIPELINE_LANES=1 bash tests/ci/pipeline.sh       # every step one after the other (no parallel lanes)
#   PIPELINE_HOST_LANES=1 bash tests/ci/pipeline.sh  # all host steps in the one hosts lane, on their default hosts
#
# After setup the steps run in four lanes at once (steps that share no state; each lane in order):
#   checks: the azure integration of the newest line (it waits on its simulator), then lint, sanity + units per core
#           line, build (CPU-bound, no waits: they fill the CPU at the end)
#   sim:    the EE image build, simulator tests, azure integration of the other line, azcli, report (each with its own
#           simulator), then chaos (its own fleet of hosts and simulator; it waits for hosts-up's root filesystem;
#           CHAOS_LANE=sim-first runs it first in this lane, CHAOS_LANE=hosts at the end of the hosts lane)
#   hosts:  hosts up, guest per core line (read-only, every host), molecule, the encrypt rollout inside the EE (after
#           ee-build), e2e per core line, hosts down (once hosts2 has ended)
#   hosts2: after guest: status, compat-e2e, rollout-e2e, migrate-e2e per core line, on hosts that molecule does not use
#           (HOSTS2_ENV sets the scripts' host parameters). PIPELINE_HOST_LANES=1: these at the end of the hosts lane,
#           on the scripts' default hosts, as before.
# Every host step locks each fixed test host it uses (tests/ci/hosts_of.py reads them from the step's scripts:
# ${VAR:-host} parameters, molecule platforms) for its whole run, in name order: two steps that share a host never
# run at once, whatever the lanes (the later one waits; the wait is in the step's note). lint checks that the scripts
# name hosts only through such parameters (hosts_of.py --check), so a new host in a script cannot escape the lock.
# The hosts and sim lanes are about as long; the checks lane fills the time their steps wait. Each step: its own timeout, its log
# in $ADE_LOGS/<step>.log (the errors and the tail are printed when it fails), its counts (see count.py: a step's own
# last "N passed, N failed" line, else pytest summaries, else PLAY RECAP, else the step counts as one). A step whose
# script does not exist yet prints "MISSING <script>" and counts as failed: CI is never green on a missing part.
# A failure in any lane fails the run (so does a lane that dies without recording its steps).
# At the end: one row per step (lane, status, counts, wall seconds, CPU seconds of the step's own processes, start
# offset), each lane's wall time, the total. Last line: "N passed, N failed"; exit status 1 if anything failed.
set -euo pipefail
# shellcheck source=tests/ci/env.sh
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
CORES=${CORES:-$ADE_CORES}
NEWEST=${CORES##* }
if [ "$NEWEST" != "$CORES" ]; then AZURE_CHECKS_CORE=${AZURE_CHECKS_CORE-$NEWEST}; else AZURE_CHECKS_CORE=${AZURE_CHECKS_CORE-}; fi
STEPS=${STEPS:-"lint sanity units hosts guest azure molecule ee ee-run e2e chaos build report"}
BUDGET=${PIPELINE_BUDGET:-4800}    # seconds for the whole run (CI's hard limit is 5400)
LANES=${PIPELINE_LANES:-3}
HOST_LANES=${PIPELINE_HOST_LANES:-2}
# The host lanes are the run's critical path (molecule + ee + e2e share their hosts: tests/ci/hosts_of.py) and mostly
# wait on SSH, reboots and the simulator's clock; the checks and sim lanes are CPU-bound and have slack. CI is
# CPU-bound (0% idle for the first 40 minutes), so the checks and sim lanes' steps run under `nice -n $BATCH_NICE`
# (everything they start inherits it: their simulators, chaos's fleet): a host step gets the CPU when it wants it
# (e2e-2.16 took 1053 s beside chaos, 407 s without) and the batch lanes take the rest. PIPELINE_BATCH_NICE=0: off.
# Nice 5 (CFS weight 335 against 1024): a host step gets 3x a batch step's share, and a batch step is never starved
# (the build step, niced to 19 on this machine at load 8, got 25 CPU-s in 300 s: the timeouts bound hung runs).
BATCH_NICE=${PIPELINE_BATCH_NICE:-5}
[ "$LANES" -gt 1 ] || HOST_LANES=1
# The second host lane's host parameters: off molecule's hosts (agent-2232 rhel7-rootvg sles12 ubuntu1404-k44
# centos7-selinux), so that hosts2 runs beside molecule; e2e and ee then wait for the hosts they share with it.
HOSTS2_ENV=${HOSTS2_ENV-"ST_PLATFORM=rhel7-lvm CE_EAH=agent-real ME_OS=rhel7-lvm"}
T0=$(date +%s)
mkdir -p "$ADE_LOGS"
rm -f "$ADE_LOGS"/*.log "$ADE_LOGS/summary.txt"
RECORDS=$ADE_LOGS/steps.tsv        # one line per step, appended by every lane
: >"$RECORDS"
LANE=main
STEP_RC=0

want() { case " $STEPS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

# TICKS = CPU seconds (x100) used so far by the finished children of this shell (utime+stime of waited-for
# children; daemons a step leaves running, e.g. the test hosts, are not in it). No fork (a $(...) would read the
# subshell's own, empty, counters): read from /proc into a global.
child_ticks() {
  local st
  read -r -a st <"/proc/$BASHPID/stat"
  TICKS=$((st[15] + st[16]))
}

record() {  # name status passed failed seconds cpu-seconds start-offset note
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$LANE" "$2" "$3" "$4" "$5" "$6" "$7" "${8:-}" >>"$RECORDS"
  printf '[ci +%4ss] %-6s %-18s %-7s %s passed, %s failed (%ss, cpu %ss) %s\n' "$(($(date +%s) - T0))" "$LANE" "$1" "$2" "$3" "$4" "$5" "$6" "${8:-}"
}

# step NAME TIMEOUT CMD...   (CMD runs with stdin from /dev/null, output to the step's log)
# INFRA=1 step ...: a step that tests nothing by itself (setup, hosts up/down): counted only when it fails.
step() {
  local name=$1 limit=$2 log rc p f t0 c0 left off
  shift 2
  log=$ADE_LOGS/$name.log
  off=$(($(date +%s) - T0))
  left=$((BUDGET - off))
  if [ "$left" -le 30 ]; then
    echo "not run: the pipeline's time budget (${BUDGET}s) is used up" >"$log"
    record "$name" SKIPPED 0 1 0 0 "$off" "time budget used up"
    STEP_RC=1
    return 0
  fi
  [ "$limit" -le "$left" ] || limit=$left
  local waited="" close="" fd
  if [ -n "${STEP_HOSTS:-}" ]; then   # lock the step's test hosts (host_step); the command does not inherit the locks
    t0=$(date +%s)
    # shellcheck disable=SC2086   # one word per host
    host_lock $STEP_HOSTS
    waited=$(($(date +%s) - t0))
    for fd in "${HOST_FDS[@]}"; do close+=" $fd>&-"; done
  fi
  t0=$(date +%s)
  child_ticks
  c0=$TICKS
  local nice=()   # BATCH_NICE: the checks and sim lanes' steps yield the CPU to the host lanes' (see BATCH_NICE above)
  # shellcheck disable=SC2034   # used inside the eval below
  case "$LANE" in checks|sim) [ "$BATCH_NICE" -le 0 ] || nice=(nice -n "$BATCH_NICE") ;; esac
  set +e
  eval "timeout -k 30 \"\$limit\" \"\${nice[@]}\" \"\$@\" </dev/null >\"\$log\" 2>&1$close"
  rc=$?
  set -e
  host_unlock
  [ "$rc" -ne 124 ] && [ "$rc" -ne 137 ] || echo "TIMEOUT after ${limit}s: $*" >>"$log"
  [ "$rc" -ne 5 ] || echo "exit 5: pytest collected no tests (counted as a failure)" >>"$log"
  read -r p f < <(python3 "$ADE_REPO/tests/ci/count.py" auto "$log" "$rc")
  local secs=$(($(date +%s) - t0)) cpu note=""
  child_ticks
  cpu=$(((TICKS - c0 + 50) / 100))
  [ -z "$waited" ] || [ "$waited" -lt 2 ] || note="waited ${waited}s for its hosts"
  if [ "$rc" -eq 0 ] && [ "$f" -eq 0 ]; then
    [ -z "${INFRA:-}" ] || p=0
    record "$name" PASS "$p" "$f" "$secs" "$cpu" "$off" "$note"
  else
    record "$name" FAIL "$p" "$f" "$secs" "$cpu" "$off" "rc=$rc, log $log${note:+, $note}"
    {   # one block, so that the lanes' output does not interleave inside it
      echo "----- $log: errors"
      grep -E '^(ERROR|FATAL|FAILED|MISSING|TIMEOUT)|^fatal: |^failed: |FAILED!|^=== FAILED|Traceback' "$log" | head -n 40 | cut -c1-300 || true
      echo "----- $log: last lines"
      tail -n 15 "$log" | cut -c1-300
      echo "-----"
    } >"$log.fail" 2>&1
    cat "$log.fail"
  fi
  STEP_RC=$rc
}

# Test host locks: one file per host in $ADE_LOGS/hostlocks, taken in the order given (hosts_of.py sorts: no deadlock).
HOST_FDS=()
host_lock() {  # HOST...
  local h fd
  mkdir -p "$ADE_LOGS/hostlocks"
  for h in "$@"; do
    exec {fd}>"$ADE_LOGS/hostlocks/$h"
    flock "$fd"
    HOST_FDS+=("$fd")
  done
}
host_unlock() {
  local fd
  for fd in "${HOST_FDS[@]}"; do exec {fd}>&-; done
  HOST_FDS=()
}

# host_step KIND NAME TIMEOUT SCRIPT ARGS...: script_step holding a lock on each test host of KIND (tests/ci/hosts_of.py)
host_step() {
  local kind=$1 hosts
  shift
  if ! hosts=$(python3 "$ADE_REPO/tests/ci/hosts_of.py" "$kind" 2>"$ADE_LOGS/$1.hosts"); then
    cat "$ADE_LOGS/$1.hosts" >"$ADE_LOGS/$1.log"
    record "$1" FAIL 0 1 0 0 "$(($(date +%s) - T0))" "its test hosts unknown: $(head -c 200 "$ADE_LOGS/$1.hosts")"
    STEP_RC=1
    return 0
  fi
  STEP_HOSTS=$hosts script_step "$@"
}

# A step that runs another helper's script: MISSING while the script does not exist.
script_step() {  # NAME TIMEOUT SCRIPT ARGS...
  local name=$1 limit=$2 script=$3
  shift 3
  if [ ! -f "$ADE_REPO/$script" ]; then
    echo "MISSING $script" >"$ADE_LOGS/$name.log"
    record "$name" MISSING 0 1 0 0 "$(($(date +%s) - T0))" "MISSING $script"
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

echo "[ci] ADE_WORK=$ADE_WORK repo=$ADE_REPO cores=[$CORES] steps=[$STEPS] lanes=$LANES batch_nice=$BATCH_NICE budget=${BUDGET}s logs=$ADE_LOGS"

INFRA=1 step setup 1200 bash "$ADE_REPO/tests/ci/setup.sh"
if [ "$STEP_RC" -ne 0 ]; then
  echo "[ci] setup failed: nothing else can run"
  echo "0 passed, 1 failed" | tee "$ADE_LOGS/summary.txt"
  exit 1
fi
ade_mount_collection   # once, before the lanes (they all use the one bind mount)

lane_checks() {
  # The azure integration of one line (AZURE_CHECKS_CORE, default the newest line when CORES has two) runs here, not
  # in the sim lane, so that chaos starts earlier there. It runs FIRST: it waits on its simulator's clock (1265 s wall
  # for 641 CPU-s in the last CI), while lint, sanity, units and build are pure CPU work with no waits, so they fill
  # the CPU at the end of the run instead of leaving it idle behind a step that waits.
  for core in $AZURE_CHECKS_CORE; do
    skip=$(azure_skip "$core")
    want azure && ADE_CORE=$core AZURE_SKIP=$skip script_step "azure-$core" 1800 tests/integration/azure.sh "$core"   # AZURE_CHECKS_CORE (default: the newest line)
  done
  want lint && step lint 600 bash "$ADE_REPO/tests/ci/lint.sh" "$NEWEST"   # ansible-lint, yamllint, changelog, docrefs.py, doccheck.py
  for core in $CORES; do
    want sanity && step "sanity-$core" 900 bash "$ADE_REPO/tests/ci/sanity.sh" "$core"
    want units && step "units-$core" 600 bash "$ADE_REPO/tests/ci/units.sh" "$core"
  done
  want build && step build 600 bash "$ADE_REPO/tests/ci/build.sh" "$NEWEST"
  return 0
}

lane_sim() {
  if want ee; then   # the EE image (cached by its dependencies in $ADE_WORK/ee); the hosts lane runs it later
    ADE_CORE=$ADE_CORE_OLD script_step ee-build 1200 tests/ci/ee.sh build   # ansible-builder + podman, from a local base image
    lane_mark ee-build
  fi
  # CHAOS_LANE=sim-first: chaos first, beside the hosts lane's read-only and molecule steps (waiting on reboots and
  # SSH) and the checks lane instead of an e2e step (e2e-2.19 took 815 s beside chaos, e2e-2.16 407 s without); not
  # the default yet: its own time budget (CHAOS_TOTAL) then shares the CPU with lint/sanity/units (unmeasured)
  [ "${CHAOS_LANE:-sim}" != sim-first ] || chaos_steps
  want azure && step simulator-tests 600 bash "$ADE_REPO/tests/ci/simulator.sh" test
  for core in $CORES; do
    [ "$core" != "$AZURE_CHECKS_CORE" ] || continue   # that line runs in the checks lane
    skip=$(azure_skip "$core")
    want azure && ADE_CORE=$core AZURE_SKIP=$skip script_step "azure-$core" 1800 tests/integration/azure.sh "$core"
  done
  # azure-cli from PyPI against the simulator, compared with vm_encryption_info (one core line: the newest)
  want azure && ADE_CORE=$NEWEST script_step azcli 600 tests/ci/azcli.sh "$NEWEST"   # azure-cli vs vm_encryption_info (newest line)
  want report && step report 600 bash "$ADE_REPO/tests/ci/report.sh" "$NEWEST"   # the HTML report in headless Chromium
  [ "${CHAOS_LANE:-sim}" != sim ] || chaos_steps
  return 0
}

# Azure playbooks that run on one core line only (AZURE_ONE_LINE, default 14_lease.yml, on the old line): the lease
# protocol is controller-side module code (module_utils/cloud/lease.py), the same on every line; the newer line
# still exercises the lease through migrate-e2e / rollout-e2e (a re-run waits for / takes over a killed run's lease)
# and chaos (killed runs, AZURE_ADE_LEASE_TTL=8). docs/testing.md "CI".
azure_skip() {  # CORE -> the playbooks azure.sh leaves out on that line
  if [ "$1" != "$ADE_CORE_OLD" ] && [ "$CORES" != "$1" ]; then echo "${AZURE_ONE_LINE-14_lease.yml}"; fi
}

# Chaos: its own fleet of hosts (netns adefleet-*, apart from the fixed hosts) + its own simulator, torn down by the
# step (tests/chaos/README.md), so it runs in the sim lane beside the fixed-host steps (CHAOS_LANE=sim-first: first in
# that lane; CHAOS_LANE=hosts: at the end of the hosts lane). The fleet is made from the hosts' root filesystem: it waits for hosts-up.
# On one core line by default (CHAOS_CORES="2.16 2.21" for both). 100 VMs: 90 s of killed runs, two slices,
# convergence, all playbook runs within 1200 s (the encrypt playbook reads and waits per wave: tests/chaos/README.md;
# 2.21 took 997 s for them at load 20-26, 2.19 about 600 s in CI: the budget bounds a hung run, it is not a benchmark).
chaos_steps() {
  want chaos || return 0
  lane_wait hosts-up
  for core in ${CHAOS_CORES:-$NEWEST}; do
    ADE_CORE=$core CHAOS_FLEET=${CHAOS_FLEET:-100} CHAOS_TOTAL=${CHAOS_TOTAL:-1200} CHAOS_BUDGET=${CHAOS_BUDGET:-90} \
      script_step "chaos-$core" 1440 tests/chaos/run.sh "$core"   # CHAOS_CORES (default: the newest line): 100 VMs, kills, slices
  done
}

HOSTS_UP=
hosts_down() {
  if [ -n "$HOSTS_UP" ] && [ -n "$HOSTS_WERE_UP" ]; then
    HOSTS_UP=
    echo "[ci] test hosts were running before this run: left up (make hosts-down stops them)"
  elif [ -n "$HOSTS_UP" ]; then
    HOSTS_UP=
    INFRA=1 script_step hosts-down 180 tests/hosts/down.sh   # only if this run started the hosts
  fi
}

# One lane waits for a step of another: lane_mark NAME after the step, lane_wait NAME before the dependent one (at
# most 20 min; the dependent step then fails on its own if what it needs is missing). Seconds waited: NAME.waited.
lane_mark() { echo "$STEP_RC" >"$ADE_LOGS/$1.done"; }
lane_wait() {
  local n=0
  while [ ! -f "$ADE_LOGS/$1.done" ] && [ "$n" -lt 1200 ]; do sleep 2; n=$((n + 2)); done
  echo "$n" >"$ADE_LOGS/$1.waited"
}

lane_hosts() {
  trap 'hosts_down >/dev/null 2>&1 || true' EXIT
  if want hosts || want guest || want molecule || want e2e || want chaos; then
    INFRA=1 script_step hosts-up 1200 tests/hosts/up.sh
    [ "$STEP_RC" -ne 0 ] || HOSTS_UP=1
  fi
  lane_mark hosts-up
  # Read-only checks of the hosts first (guest: every host), then the steps that change hosts (molecule, e2e).
  for core in $CORES; do
    want guest && ADE_CORE=$core host_step guest "guest-$core" 900 tests/integration/guest.sh "$core"   # read-only
  done
  lane_mark guest
  for core in $CORES; do
    want molecule && ADE_CORE=$core host_step molecule "molecule-$core" 1500 tests/ci/molecule.sh "$core"
  done
  if want ee-run; then   # the encrypt rollout inside the EE (ansible-runner container mode), once ee-build has ended
    if want ee; then lane_wait ee-build; fi
    ADE_CORE=$ADE_CORE_OLD host_step ee ee 900 tests/ci/ee.sh run   # encrypt in the EE: encrypted / failed+restored / blocked
  fi
  for core in $CORES; do
    want e2e && ADE_CORE=$core host_step e2e "e2e-$core" 1500 tests/integration/e2e.sh "$core"
  done
  if [ "$HOST_LANES" -le 1 ]; then lane_hosts2; else lane_wait hosts2; fi   # the hosts stay up until hosts2 ends
  [ "${CHAOS_LANE:-sim}" != hosts ] || chaos_steps
  hosts_down
  trap - EXIT
  return 0
}

# The second host lane (PIPELINE_HOST_LANES=1: the end of the hosts lane, on the scripts' default hosts). The host
# locks keep it off what the hosts lane uses at the same time; HOSTS2_ENV keeps it off molecule's hosts, so that it
# runs while molecule does (measured: molecule 650 s, these ~640 s on both lines; then e2e and ee, which share
# ubuntu1804/lowmem-4g with it). Timeouts of molecule/e2e/migrate-e2e raised (1200/1200/900 -> 1500/1500/1200 s) for
# the CPU the fourth lane takes: e2e-2.16 took 1089 s beside chaos in the one-host-lane layout; a timeout bounds a hung
# run, it is not a benchmark.
lane_hosts2() {
  local kv
  if [ "$HOST_LANES" -gt 1 ]; then
    lane_wait guest   # guest reads every host: after it
    for kv in $HOSTS2_ENV; do export "${kv?}"; done
  fi
  for core in $CORES; do
    want e2e && ADE_CORE=$core host_step status "status-$core" 600 tests/integration/status.sh "$core"   # R6.1 both ways + status.html in Chromium
    want e2e && ADE_CORE=$core host_step compat-e2e "compat-e2e-$core" 300 tests/integration/compat_e2e.sh "$core"   # issue 7: Azure blockers / EAH refusal before the snapshot
    want e2e && ADE_CORE=$core host_step rollout-e2e "rollout-e2e-$core" 600 tests/integration/rollout_e2e.sh "$core"   # issue 6: stall report, restore killed between steps
    want e2e && ADE_CORE=$core host_step migrate-e2e "migrate-e2e-$core" 1200 tests/integration/migrate_e2e.sh "$core"   # issue 7: migrate off ADE (killed mid-copy, re-run converges); issue 17: rebuild (section 6)
  done
  [ "$HOST_LANES" -le 1 ] || lane_mark hosts2
  return 0
}

# Each lane in a subshell (its own LANE, STEP_RC); its output goes to the console line by line.
LANE_PIDS=()
LANE_NAMES=()
run_lane() {  # NAME: run lane_NAME in the background, or in the foreground with PIPELINE_LANES=1
  if [ "$LANES" -le 1 ]; then
    LANE=$1 "lane_$1"; LANE=main
    echo "0" >"$ADE_LOGS/lane-$1.rc"; echo "$(($(date +%s) - T0))" >"$ADE_LOGS/lane-$1.end"
    return 0
  fi
  ( LANE=$1; set +e; "lane_$1"; echo "$?" >"$ADE_LOGS/lane-$1.rc"; echo "$(($(date +%s) - T0))" >"$ADE_LOGS/lane-$1.end" ) &
  LANE_PIDS+=($!)
  LANE_NAMES+=("$1")
}
stop_lanes() {
  local pid
  for pid in "${LANE_PIDS[@]}"; do   # the lane's running step (timeout passes TERM on), then the lane
    pkill -TERM -P "$pid" 2>/dev/null || true
    kill -TERM "$pid" 2>/dev/null || true
  done
}
# CPU sampler: the machine's cumulative CPU times (/proc/stat) every 5 s into cpu.tsv; the summary prints the idle
# share of the machine over the run and per 5 minutes (is a lane waiting for CPU, or is the CPU waiting for a lane?)
cpu_sample() { local line; read -r line </proc/stat; echo "$(date +%s) $line" >>"$ADE_LOGS/cpu.tsv"; }
cpu_sampler() { while :; do cpu_sample; sleep 5; done; }
: >"$ADE_LOGS/cpu.tsv"
cpu_sampler &
SAMPLER=$!
trap 'kill "$SAMPLER" 2>/dev/null; stop_lanes; restore_mount || true' EXIT
rm -f "$ADE_LOGS"/lane-*.rc "$ADE_LOGS"/lane-*.end "$ADE_LOGS"/*.done "$ADE_LOGS"/*.waited
if [ "$LANES" -le 1 ]; then   # one after the other: ee-build (sim) before ee (hosts), chaos at the end of hosts
  CHAOS_LANE=hosts
  run_lane checks; run_lane sim; run_lane hosts
else
  run_lane hosts; run_lane sim; run_lane checks
  [ "$HOST_LANES" -le 1 ] || run_lane hosts2
fi
for pid in "${LANE_PIDS[@]}"; do wait "$pid" || true; done
LANE_PIDS=()
kill "$SAMPLER" 2>/dev/null; wait "$SAMPLER" 2>/dev/null || true
cpu_sample
trap 'restore_mount || true' EXIT

echo
echo "[ci] summary (logs in $ADE_LOGS), total $(($(date +%s) - T0))s"
LANE_LIST="checks sim hosts"
[ "$HOST_LANES" -le 1 ] || LANE_LIST="$LANE_LIST hosts2"
python3 - "$RECORDS" "$ADE_LOGS" "$(($(date +%s) - T0))" "$LANE_LIST" <<'PY' | tee "$ADE_LOGS/summary.txt"
import os, sys
records, logs, total, lanes = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4].split()
rows = [line.rstrip("\n").split("\t") for line in open(records) if line.strip()]
rows.sort(key=lambda r: int(r[7]))
print("  %-18s %-6s %-7s %6s %6s %6s %6s %6s  %s" % ("step", "lane", "status", "passed", "failed", "wall", "cpu", "start", "note"))
tp = tf = 0
for name, lane, status, p, f, secs, cpu, start, note in rows:
    tp += int(p); tf += int(f)
    print("  %-18s %-6s %-7s %6s %6s %5ss %5ss %5ss  %s" % (name, lane, status, p, f, secs, cpu, "+" + start, note))
for lane in lanes:
    rc_file = os.path.join(logs, "lane-%s.rc" % lane)
    ran = [r for r in rows if r[1] == lane]
    if not os.path.exists(rc_file):
        if ran or lane != "main":
            print("  lane %-6s ended without finishing its steps (killed?): counted as a failure" % lane); tf += 1
        continue
    rc = open(rc_file).read().strip()
    end = open(os.path.join(logs, "lane-%s.end" % lane)).read().strip()
    busy = sum(int(r[5]) for r in ran)
    cpu = sum(int(r[6]) for r in ran)
    print("  lane %-6s %2d steps, ended at +%ss (steps %ss wall, %s CPU-s of their own processes)%s"
          % (lane, len(ran), end, busy, cpu, "" if rc == "0" else ", exit %s" % rc))
    if rc != "0":
        tf += 1
print("  total %ss" % total)
try:   # the machine's CPU over the run (cpu.tsv: time, then /proc/stat's cpu line: user nice system idle iowait ...)
    samples = []
    for line in open(os.path.join(logs, "cpu.tsv")):
        w = line.split()
        if len(w) > 6 and w[1] == "cpu":
            n = [int(x) for x in w[2:10]]
            samples.append((int(w[0]), sum(n), n[3] + n[4]))
    if len(samples) > 1 and samples[-1][0] - samples[0][0] >= 10:
        hz, ncpu = os.sysconf("SC_CLK_TCK"), os.cpu_count()
        (t0, a0, i0), (t1, a1, i1) = samples[0], samples[-1]
        idle = (i1 - i0) / float(hz)
        print("  machine: %d cores, %d core-s over %ss: busy %d core-s, idle %d core-s (%d%%)"
              % (ncpu, (a1 - a0) / hz, t1 - t0, (a1 - a0 - (i1 - i0)) / hz, idle, 100 * (i1 - i0) / max(1, a1 - a0)))
        per, k = [], 0
        while k < len(samples) - 1:   # idle share per 5 minutes
            j = k
            while j < len(samples) - 1 and samples[j][0] - samples[k][0] < 300:
                j += 1
            da, di = samples[j][1] - samples[k][1], samples[j][2] - samples[k][2]
            per.append("%d%%" % (100 * di / max(1, da)))
            k = j
        print("  machine idle per 5 min: %s" % " ".join(per))
except OSError:
    pass
print("%d passed, %d failed" % (tp, tf))
PY
[ "$(tail -n 1 "$ADE_LOGS/summary.txt" | sed -n 's/.* passed, \([0-9]*\) failed$/\1/p')" = 0 ]
