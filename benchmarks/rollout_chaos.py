"""Benchmark: ARM requests and wall time per VM for the 100-VM encrypt rollout, without and with chaos.

  benchmarks/rollout_chaos.py [--core 2.19] [--fleet 100] [--budget 150] [--seed N]
  benchmarks/rollout_chaos.py --clean-only --before REV [--fleet 20] [--reuse-fleet]   # control-node CPU, before/after

Runs tests/chaos/run.sh twice on the same fleet size:
  clean  CHAOS_MAX_KILLS=0, no slices: one undisturbed rollout, then the no-write re-run
  chaos  faults + the control node killed at random points (CHAOS_BUDGET), then the convergence runs
and prints, side by side from each run's figures.json: ARM requests (total, writes, throttled) per VM, wall
seconds per VM, runs, and the ratio chaos/clean. No assertions: numbers only (benchmarks/README.md).
--before REV: the clean pair also on a checkout of REV (a git worktree in $ADE_WORK, its own collection mount), run
first in the same session, so the control-node CPU per VM (rollout and no-write re-run) compares on the same machine.
--clean-only: no chaos run.
Needs root (test hosts) and /work/coord/hosts.lock free for the fleet's start and stop (or --reuse-fleet: both runs
on a fleet of that size already up, e.g. `flock /work/coord/hosts.lock tests/hosts/lib/fleet.py up 100`).
"""
import argparse
import json
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def one(label, core, fleet, env_extra, repo=REPO):
    scratch = os.path.join(os.environ.get("ADE_WORK", "/tmp/azure_ade"), "bench-rollout-%s-%s" % (label, core))
    env = dict(os.environ, CHAOS_FLEET=str(fleet), ADE_SCRATCH=scratch, **env_extra)
    env.setdefault("CHAOS_TOTAL", "1800")   # a benchmark measures; it does not enforce CI's budget
    log = scratch + ".log"
    with open(log, "w") as out:
        rc = subprocess.call(["bash", os.path.join(repo, "tests", "chaos", "run.sh"), core], stdout=out,
                             stderr=subprocess.STDOUT, env=env)
    p = os.path.join(scratch, "figures.json")
    if not os.path.exists(p):
        sys.exit("%s: no figures (rc %s), see %s" % (label, rc, log))
    with open(p) as f:
        doc = json.load(f)
    doc["rc"] = rc
    doc["log"] = log
    return doc


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--core", default="2.19")
    ap.add_argument("--fleet", type=int, default=100)
    ap.add_argument("--budget", type=int, default=90)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--reuse-fleet", action="store_true", help="both runs on the fleet already up (CHAOS_REUSE_FLEET=1: "
                    "no wait for the hosts lock; the suite ignores guest changes older than its own start)")
    ap.add_argument("--before", metavar="REV", help="also the clean pair on a checkout of REV, first (same machine, same run)")
    ap.add_argument("--clean-only", action="store_true", help="no chaos run (the clean pair only)")
    a = ap.parse_args()
    if a.reuse_fleet:
        os.environ["CHAOS_REUSE_FLEET"] = "1"
    clean_env = {"CHAOS_MAX_KILLS": "0", "CHAOS_SLICES": "0", "CHAOS_ARGS": "--converge-runs 2"}
    work = os.environ.get("ADE_WORK", "/tmp/azure_ade")
    before = None
    if a.before:
        tree = os.path.join(work, "bench-rollout-before-tree")
        subprocess.call(["git", "-C", REPO, "worktree", "remove", "--force", tree], stderr=subprocess.DEVNULL)
        subprocess.check_call(["git", "-C", REPO, "worktree", "add", "--detach", tree, a.before])
        before = one("before", a.core, a.fleet, dict(clean_env, ADE_COLL_ROOT=os.path.join(work, "ac-before")), repo=tree)
    clean = one("clean", a.core, a.fleet, clean_env)
    if before:
        print("control-node CPU s per VM, %d VMs (core %s): before %s = %s rollout, %s re-run | now = %s rollout, %s re-run"
              % (a.fleet, a.core, a.before, before["figures"].get("cpu_seconds_per_vm_first_run"),
                 before["figures"].get("cpu_seconds_per_vm_last_run"), clean["figures"].get("cpu_seconds_per_vm_first_run"),
                 clean["figures"].get("cpu_seconds_per_vm_last_run")))
        print("ARM requests per VM: before %s | now %s" % (before["figures"].get("requests_per_vm"),
                                                           clean["figures"].get("requests_per_vm")))
    if a.clean_only:
        print("outcomes: %s; invariants failing: %s" % (clean["figures"]["outcomes"],
                                                        [c["check"] for c in clean["checks"] if not c["ok"]]))
        return
    chaos_env = {"CHAOS_BUDGET": str(a.budget), "CHAOS_SLICES": "0"}
    if a.seed:
        chaos_env["CHAOS_SEED"] = str(a.seed)
    chaos = one("chaos", a.core, a.fleet, chaos_env)
    rows = []
    for key, what in (("requests_per_vm", "ARM requests per VM"), ("wall_seconds_per_vm", "wall seconds per VM (all runs)"),
                      ("cpu_seconds_per_vm", "control-node CPU s per VM (all runs)"),
                      ("cpu_seconds_per_vm_first_run", "  of it: first run"),
                      ("cpu_seconds_per_vm_last_run", "  of it: last run (no-write re-run)")):
        c, x = clean["figures"].get(key), chaos["figures"].get(key)
        rows.append((what, c, x, round(x / c, 2) if (c and x is not None) else None))
    for key, what in (("requests_total", "ARM requests"), ("writes", "ARM writes"), ("throttled", "429 answers"),
                      ("runs", "playbook runs"), ("killed_runs", "control node killed")):
        c, x = clean["figures"][key], chaos["figures"][key]
        rows.append((what, c, x, round(x / float(c), 2) if c else None))
    print("100-VM encrypt rollout (core %s, fleet %d, chaos seed %s)" % (a.core, a.fleet, chaos["figures"]["seed"]))
    print("%-34s %12s %12s %8s" % ("", "clean", "chaos", "ratio"))
    for what, c, x, r in rows:
        print("%-34s %12s %12s %8s" % (what, c, x, r if r is not None else "-"))
    print("outcomes clean %s | chaos %s" % (clean["figures"]["outcomes"], chaos["figures"]["outcomes"]))
    print("invariants failing: clean %s | chaos %s" % (
        [c["check"] for c in clean["checks"] if not c["ok"]], [c["check"] for c in chaos["checks"] if not c["ok"]]))
    out = os.path.join(os.environ.get("ADE_WORK", "/tmp/azure_ade"), "bench-rollout-%s.json" % a.core)
    with open(out, "w") as f:
        json.dump({"clean": clean["figures"], "chaos": chaos["figures"]}, f, indent=1)
    print("(figures: %s)" % out)


if __name__ == "__main__":
    main()
