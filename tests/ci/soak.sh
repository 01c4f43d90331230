#!/usr/bin/env bash
# Soak: run given e2e steps N times in a row per ansible-core line, stop at the first failure (its logs kept), and
# print per step and line: runs, passed, failed, min/median/max seconds (issue 14 item 3: "20 times in a row with no
# failure"). Not a CI step (it takes an hour); run it by hand or with `make soak`.
#
#   SOAK_N=20 SOAK_CORES="2.16 2.21" SOAK_STEPS="migrate-e2e rollout-e2e" bash tests/ci/soak.sh
#
#   SOAK_STEPS     step names: migrate-e2e rollout-e2e e2e status compat-e2e (tests/integration/<name with _>.sh),
#                  chaos (tests/chaos/run.sh: its own fleet, work dir $ADE_SCRATCH/chaos-<line>; with SOAK_LOCK set
#                  give it CHAOS_LOCK=/nonexistent/lock, as the cycle holds the lock already)
#   SOAK_CORES     core lines (default $ADE_CORES)
#   SOAK_N         cycles (default 20); a cycle runs every step once on every line
#   SOAK_PARALLEL  1: the lines run at the same time within a cycle (each line its steps in order), 0: one after
#                  the other. Only for lines whose steps use disjoint test hosts: set the scripts' host parameters per
#                  line with SOAK_ENV_<line with _> (e.g. SOAK_ENV_2_21="ME_DATA=app-mongod RE_HOST=busy-root ...");
#                  each script's work directory is per line ($ADE_SCRATCH/<step>-<line>) and each starts its own
#                  simulator, so that is all two lines share.
#   SOAK_LOCK      a lock file held (flock) for each cycle only, so others get the hosts between cycles
#                  (e.g. /work/coord/hosts.lock); empty: none
#   SOAK_GAP       seconds to wait between cycles when SOAK_LOCK is set (default 10), so a job queued on the lock
#                  gets the hosts before the next cycle takes them again
#   SOAK_UNTIL     HH:MM (UTC, the next such time: past midnight if earlier than now): start no cycle that would
#                  end after it (judged by the longest cycle so far)
#   SOAK_DIR       where results go (default $ADE_SCRATCH or $ADE_WORK, /soak-<time>): runs.tsv (step line cycle rc
#                  seconds), <step>-<line>-<cycle>.out (each run's output), fail-<step>-<line>-<cycle>/ (the failed
#                  run's work directory: logs, simulator request log and state)
# Last lines: the table; then "N passed, N failed" (runs); exit status 1 if a run failed.
set -uo pipefail
# shellcheck source=tests/ci/env.sh
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
STEPS=${SOAK_STEPS:-"migrate-e2e rollout-e2e"}
CORES=${SOAK_CORES:-$ADE_CORES}
N=${SOAK_N:-20}
PAR=${SOAK_PARALLEL:-0}
LOCK=${SOAK_LOCK:-}
GAP=${SOAK_GAP:-10}
UNTIL=${SOAK_UNTIL:-}
SCR=${ADE_SCRATCH:-$ADE_WORK}
OUT=${SOAK_DIR:-$SCR/soak-$(date -u +%Y%m%dT%H%M%S)}
mkdir -p "$OUT"
TSV=$OUT/runs.tsv
: >"$TSV"

script_of() { if [ "$1" = chaos ]; then echo tests/chaos/run.sh; else echo "tests/integration/${1//-/_}.sh"; fi; }
for s in $STEPS; do
  [ -f "$ADE_REPO/$(script_of "$s")" ] || { echo "soak: no script $(script_of "$s") for step $s"; exit 2; }
done

# one run: step line cycle -> a line in runs.tsv; the failed run's work directory is kept
run_one() {
  local step=$1 core=$2 i=$3 envvar t0 rc secs
  envvar=SOAK_ENV_${core//./_}
  t0=$(date +%s.%N)
  # chaos.sh uses ADE_SCRATCH itself as its work dir (and empties it): give it its own, as the other steps have
  local own=()
  if [ "$step" = chaos ]; then own=(ADE_SCRATCH="$SCR/chaos-$core"); fi
  # shellcheck disable=SC2086  # the line's host parameters are words VAR=value
  env ${!envvar:-} ADE_CORE="$core" "${own[@]}" bash "$ADE_REPO/$(script_of "$step")" "$core" \
    </dev/null >"$OUT/$step-$core-$i.out" 2>&1
  rc=$?
  secs=$(python3 -c "import sys; print('%.0f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$t0" "$(date +%s.%N)")
  printf '%s\t%s\t%s\t%s\t%s\n' "$step" "$core" "$i" "$rc" "$secs" >>"$TSV"
  echo "[soak $(date -u +%H:%M:%S)] $step $core #$i rc=$rc ${secs}s: $(tail -n 1 "$OUT/$step-$core-$i.out")"
  if [ "$rc" -ne 0 ]; then
    cp -a "$SCR/$step-$core" "$OUT/fail-$step-$core-$i" 2>/dev/null || true
    grep -E '^FAIL' "$OUT/$step-$core-$i.out" | head -20
  fi
  return "$rc"
}

# one line's steps in order; stops at its first failure
run_line() {
  local core=$1 i=$2 step
  for step in $STEPS; do run_one "$step" "$core" "$i" || return 1; done
}

cycle() {
  local i=$1 core pids=() rc=0 p
  if [ "$PAR" = 1 ]; then
    for core in $CORES; do run_line "$core" "$i" & pids+=($!); done
    for p in "${pids[@]}"; do wait "$p" || rc=1; done
  else
    for core in $CORES; do run_line "$core" "$i" || { rc=1; break; }; done
  fi
  return "$rc"
}

summary() {
  python3 - "$TSV" "$STEPS" "$CORES" <<'PY'
import statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
print("%-14s %-6s %5s %7s %7s %6s %7s %6s" % ("step", "line", "runs", "passed", "failed", "min_s", "median_s", "max_s"))
tp = tf = 0
for step in sys.argv[2].split():
    for core in sys.argv[3].split():
        r = [x for x in rows if x[0] == step and x[1] == core]
        secs = [int(x[4]) for x in r]
        p = sum(1 for x in r if x[3] == "0")
        f = len(r) - p
        tp += p; tf += f
        if secs:
            print("%-14s %-6s %5d %7d %7d %6d %7.0f %6d" % (step, core, len(r), p, f, min(secs), statistics.median(secs), max(secs)))
        else:
            print("%-14s %-6s %5d %7d %7d %6s %7s %6s" % (step, core, 0, 0, 0, "-", "-", "-"))
print("%d passed, %d failed" % (tp, tf))
sys.exit(1 if tf else 0)
PY
}

echo "[soak] steps=[$STEPS] lines=[$CORES] n=$N parallel=$PAR lock=${LOCK:-none} until=${UNTIL:-none} out=$OUT repo=$ADE_REPO"
LONGEST=0
RC=0
if [ -n "$UNTIL" ]; then
  # HH:MM is the next such time: an UNTIL earlier than now means tomorrow (a soak started at 22:50 until 00:28)
  end=$(date -u -d "$UNTIL" +%s) || exit 2
  [ "$end" -gt "$(date +%s)" ] || end=$((end + 86400))
fi
for i in $(seq 1 "$N"); do
  if [ -n "$UNTIL" ]; then
    if [ $(($(date +%s) + LONGEST)) -gt "$end" ]; then
      echo "[soak] stop before cycle $i: the longest cycle (${LONGEST}s) would end after $UNTIL UTC"; break
    fi
  fi
  if [ -n "$LOCK" ] && [ "$i" -gt 1 ]; then sleep "$GAP"; fi
  c0=$(date +%s)
  if [ -n "$LOCK" ]; then
    # the lock for this cycle only; the cycle runs in a child that holds it
    export -f cycle run_line run_one script_of
    export STEPS CORES PAR OUT TSV SCR ADE_REPO
    for core in $CORES; do v=SOAK_ENV_${core//./_}; export "${v?}"="${!v:-}"; done
    flock "$LOCK" bash -c "cycle $i"
    crc=$?
  else
    cycle "$i"
    crc=$?
  fi
  d=$(($(date +%s) - c0))
  [ "$d" -le "$LONGEST" ] || LONGEST=$d
  echo "[soak] cycle $i done in ${d}s"
  if [ "$crc" -ne 0 ]; then echo "[soak] stopped at the first failure (cycle $i); logs: $OUT/fail-*"; RC=1; break; fi
done
summary | tee "$OUT/summary.txt"
S=${PIPESTATUS[0]}
exit $((RC | S))
