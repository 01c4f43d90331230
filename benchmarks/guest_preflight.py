#!/usr/bin/env python
"""Benchmark: what the in-guest preflight costs, against a ping and against shell checks.

Over the test hosts (tests/hosts, >= 10 guests) it times, several times each, interleaved:
  ping       benchmarks/guest_ping.yml           ansible.builtin.ping per guest (the floor)
  preflight  benchmarks/guest_preflight.yml      azure_ade.linux.preflight (all checks, network probes)
  shell      benchmarks/guest_shell_checks.yml   the same checks as 16 shell tasks, the way an admin
                                                 following the troubleshooting guide would script them
and prints median/min/max wall times with the ratios preflight/ping and shell/preflight.
Then it measures the module's own cost on each guest: the AnsiballZ payload that Ansible
left on the guest (ANSIBLE_KEEP_REMOTE_FILES=1) is re-run there with the inventory's
interpreter, and getrusage(RUSAGE_CHILDREN) gives its CPU time (user+sys, the module's own
child commands included), next to the same for ping's payload.

No assertions: numbers only (see benchmarks/README.md).

  tests/hosts/up.sh
  python3 benchmarks/guest_preflight.py                  # core 2.16, python2.7 on the guests
  python3 benchmarks/guest_preflight.py --core 2.21      # core 2.21 (or 2.19), python3 on the guests
  options: --reps N (5) --cpu-reps N (5) --forks N (= number of hosts) --limit PATTERN --json FILE
           --no-shell     leave out the 16-task shell row (the before/after comparison does not need it; it is
                          most of the run's time)
           --before REV   also time the preflight of git revision REV (its plugins/ in a scratch collection tree),
                          interleaved in the same run: before/after side by side (e.g. the real agent:
                          python3 benchmarks/guest_preflight.py --limit agent-real --before abecc40 --reps 15)
The machine's load average is printed at the start and the end (other jobs share the 2 cores).
"""
import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORK = os.environ.get("ADE_WORK", "/tmp/azure_ade")
BENCH = os.path.join(REPO, "benchmarks")
REMOTE_TMP = "/root/.ansible/tmp-ade-bench"

CPU_SNIPPET = r"""
import glob, json, os, resource, subprocess, sys, time
out = {}
devnull = open(os.devnull, "w")
for mod in ("preflight", "ping"):
    paths = sorted(glob.glob("%s/ansible-tmp-*/AnsiballZ_%s.py" % (sys.argv[1], mod)), key=os.path.getmtime)
    if not paths:
        continue
    res = []
    for i in range(int(sys.argv[2])):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.time()
        rc = subprocess.call([sys.executable, paths[-1]], stdout=devnull, stderr=devnull)
        wall = time.time() - t
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        res.append([after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime, wall, rc])
    out[mod] = res
# the guest's lsblk alone (the one command every preflight runs; on most test hosts a Python stand-in)
res = []
for i in range(int(sys.argv[2])):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.call(["lsblk", "-P", "-b", "-o", "NAME,KNAME,TYPE,FSTYPE,MOUNTPOINT,SIZE,UUID,LABEL"], stdout=devnull, stderr=devnull)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    res.append([after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime, 0, 0])
out["lsblk"] = res
print(json.dumps(out))
"""


def sh(cmd, env, timeout=900):
    return subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout, check=False)


def med_ms(res, mod, k):
    if mod not in res:
        return float("nan")
    return statistics.median(x[k] for x in res[mod]) * 1000


def mount_collection():
    r = subprocess.run(["bash", "-c", "source %s/tests/ci/env.sh && ade_mount_collection && echo $ANSIBLE_COLLECTIONS_PATH"
                        % shlex.quote(REPO)], stdout=subprocess.PIPE, text=True, check=False)
    if r.returncode != 0:
        sys.exit("could not mount the collection (tests/ci/env.sh ade_mount_collection)")
    return r.stdout.strip().splitlines()[-1]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    ap.add_argument("--core", default="2.16", choices=["2.16", "2.19", "2.21"])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--cpu-reps", type=int, default=5)
    ap.add_argument("--forks", type=int, default=0, help="default: one fork per host")
    ap.add_argument("--limit", default="ade_guests")
    ap.add_argument("--json", help="also write the raw numbers here")
    ap.add_argument("--before", help="git revision whose preflight is timed too (before/after in one run)")
    ap.add_argument("--no-shell", action="store_true", help="leave out the shell-checks row")
    a = ap.parse_args()
    load_start = os.getloadavg()

    venv = os.path.join(WORK, "venv-%s" % a.core)
    inv = os.path.join(WORK, "hosts", "inventory-%s.yml" % ("py27" if a.core == "2.16" else "py3"))
    interp = "/usr/bin/python2.7" if a.core == "2.16" else "/usr/bin/python3"
    if not os.path.exists(inv):
        sys.exit("no inventory %s: run tests/hosts/up.sh first" % inv)
    env = dict(os.environ)
    env.update({"ANSIBLE_COLLECTIONS_PATH": mount_collection(), "ANSIBLE_HOST_KEY_CHECKING": "False",
                "ANSIBLE_NOCOLOR": "1", "ANSIBLE_RETRY_FILES_ENABLED": "False", "ANSIBLE_DEPRECATION_WARNINGS": "False",
                "PATH": os.path.join(venv, "bin") + ":" + env.get("PATH", "")})
    hosts = [h.strip() for h in sh([os.path.join(venv, "bin", "ansible"), "-i", inv, a.limit, "--list-hosts"], env).stdout.splitlines()[1:] if h.strip()]
    if len(hosts) < 1:
        sys.exit("no hosts match %s in %s" % (a.limit, inv))
    env["ANSIBLE_FORKS"] = str(a.forks or len(hosts))
    playbook = os.path.join(venv, "bin", "ansible-playbook")
    rows = [("ping", "guest_ping.yml", 1), ("preflight", "guest_preflight.yml", 1), ("shell", "guest_shell_checks.yml", 16)]
    if a.no_shell:
        rows = rows[:2]
    row_env = {}
    if a.before:
        # the collection as it was at REV, in a scratch tree of its own (same playbook, other collection path)
        rev = sh(["git", "-C", REPO, "rev-parse", "--short", a.before], env).stdout.strip()
        tree = os.path.join(WORK, "bench-before-%s" % rev)
        coll = os.path.join(tree, "ansible_collections", "azure_ade", "linux")
        if not os.path.isdir(coll):
            os.makedirs(coll)
            r = subprocess.run("git -C %s archive %s | tar -x -C %s" % (shlex.quote(REPO), shlex.quote(rev), shlex.quote(coll)),
                               shell=True, check=False)
            if r.returncode != 0:
                sys.exit("could not export %s" % rev)
        name = "before@%s" % rev
        rows.insert(1, (name, "guest_preflight.yml", 1))
        row_env[name] = {"ANSIBLE_COLLECTIONS_PATH": tree}
    names = [r[0] for r in rows]
    have_preflight = os.path.exists(os.path.join(REPO, "plugins", "modules", "preflight.py"))
    if not have_preflight:
        print("SKIP preflight row: plugins/modules/preflight.py is not in the checkout yet")
        rows = [r for r in rows if r[0] != "preflight"]
        names = [r[0] for r in rows]
    print("ansible-core %s (%s), %d hosts (%s), forks %s, %d repetitions, interpreter %s"
          % (a.core, venv, len(hosts), a.limit, env["ANSIBLE_FORKS"], a.reps, interp))

    def run_pb(pb, extra_env=None):
        e = dict(env)
        e.update(extra_env or {})
        t = time.perf_counter()
        r = sh([playbook, "-i", inv, "-e", "bench_hosts=%s" % a.limit, os.path.join(BENCH, pb)], e)
        dt = time.perf_counter() - t
        if r.returncode != 0:
            print("WARNING: %s rc=%d\n%s" % (pb, r.returncode, r.stdout[-2000:]))
        return dt, r

    # warm-up (SSH ControlPersist masters, page cache), not timed
    for row in rows:
        run_pb(row[1], row_env.get(row[0]))
    times = dict((n, []) for n in names)
    for i in range(a.reps):
        for row in rows:
            times[row[0]].append(run_pb(row[1], row_env.get(row[0]))[0])
        print("  repetition %d/%d: %s" % (i + 1, a.reps, ", ".join("%s %.2f s" % (n, times[n][-1]) for n in names)))

    med = dict((n, statistics.median(v)) for n, v in times.items())
    print()
    print("%-10s %6s %9s %8s %8s %10s" % ("run", "tasks", "median s", "min s", "max s", "s / host"))
    for name, pb, ntasks in rows:
        v = times[name]
        print("%-10s %6d %9.2f %8.2f %8.2f %10.3f" % (name, ntasks, med[name], min(v), max(v), med[name] / len(hosts)))
    print()
    if "preflight" in med:
        for name in names:
            if name.startswith("before@"):
                print("ratio %s / ping : %.2f" % (name, med[name] / med["ping"]))
        print("ratio preflight / ping  : %.2f" % (med["preflight"] / med["ping"]))
        if "shell" in med:
            print("ratio shell / preflight : %.2f" % (med["shell"] / med["preflight"]))
    elif "shell" in med:
        print("ratio shell / ping      : %.2f" % (med["shell"] / med["ping"]))

    cpu = {}
    if have_preflight:
        # the module's own cost on each guest: re-run the kept AnsiballZ payloads there
        keep = {"ANSIBLE_KEEP_REMOTE_FILES": "1", "ANSIBLE_REMOTE_TMP": REMOTE_TMP}
        run_pb("guest_preflight.yml", keep)
        run_pb("guest_ping.yml", keep)
        for name, env_extra in row_env.items():
            e = dict(keep)
            e.update(env_extra)
            e["ANSIBLE_REMOTE_TMP"] = REMOTE_TMP + "-before"
            run_pb("guest_preflight.yml", e)
        key = os.path.join(WORK, "hosts", "id_ed25519")
        ips = json.loads(sh([os.path.join(venv, "bin", "ansible-inventory"), "-i", inv, "--list"], env).stdout)["_meta"]["hostvars"]
        print()
        print("module cost on the guest (AnsiballZ payload re-run %d times with %s; CPU = user+sys incl. child commands)" % (a.cpu_reps, interp))
        print("%-16s %14s %14s %12s %12s %14s %14s %10s" % ("host", "preflight cpu", "preflight wall", "ping cpu", "ping wall",
                                                            "before cpu", "before wall", "lsblk cpu"))
        for h in hosts:
            ip = ips[h]["ansible_host"]
            ssh = ["ssh", "-i", key, "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
                   "-o", "BatchMode=yes", "root@" + ip]
            r = subprocess.run(ssh + ["%s - %s %d" % (interp, REMOTE_TMP, a.cpu_reps)], input=CPU_SNIPPET,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=600, check=False)
            rb = None
            if row_env:
                rb = subprocess.run(ssh + ["%s - %s-before %d" % (interp, REMOTE_TMP, a.cpu_reps)], input=CPU_SNIPPET,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=600, check=False)
            subprocess.run(ssh + ["rm -rf %s %s-before" % (REMOTE_TMP, REMOTE_TMP)], check=False, timeout=120)
            try:
                res = json.loads(r.stdout.strip().splitlines()[-1])
                if rb is not None:
                    res["before"] = json.loads(rb.stdout.strip().splitlines()[-1]).get("preflight", [])
            except (ValueError, IndexError):
                print("%-16s measurement failed: %s" % (h, (r.stderr or r.stdout)[-300:]))
                continue
            cpu[h] = res
            cols = (h, med_ms(res, "preflight", 0), med_ms(res, "preflight", 1), med_ms(res, "ping", 0), med_ms(res, "ping", 1),
                    med_ms(res, "before", 0), med_ms(res, "before", 1), med_ms(res, "lsblk", 0))
            print("%-16s %11.0f ms %11.0f ms %9.0f ms %9.0f ms %11.0f ms %11.0f ms %7.0f ms" % cols)
        allp = [statistics.median(x[0] for x in r["preflight"]) for r in cpu.values() if "preflight" in r]
        allg = [statistics.median(x[0] for x in r["ping"]) for r in cpu.values() if "ping" in r]
        allb = [statistics.median(x[0] for x in r["before"]) for r in cpu.values() if r.get("before")]
        if allp and allg:
            before_med = "%.0f ms" % (statistics.median(allb) * 1000) if allb else "-"
            row = ("median", statistics.median(allp) * 1000, "", statistics.median(allg) * 1000, "", before_med)
            print("%-16s %11.0f ms %14s %9.0f ms %14s %14s" % row)
            # the preflight's own cost: per host, its CPU minus ping's (Python start-up + AnsiballZ + basic.py)
            over = [med_ms(r, "preflight", 0) - med_ms(r, "ping", 0) for r in cpu.values() if "preflight" in r and "ping" in r]
            print("preflight over ping (median of the hosts): %.0f ms" % statistics.median(over))
            over_b = [med_ms(r, "before", 0) - med_ms(r, "ping", 0) for r in cpu.values() if r.get("before") and "ping" in r]
            if over_b:
                print("before over ping (median of the hosts):    %.0f ms" % statistics.median(over_b))
            lsblk = [med_ms(r, "lsblk", 0) for r in cpu.values() if "lsblk" in r]
            if lsblk:
                print("one lsblk run (median of the hosts):       %.0f ms" % statistics.median(lsblk))
    load_end = os.getloadavg()
    print()
    print("machine load average (1/5/15 min): start %.2f %.2f %.2f, end %.2f %.2f %.2f on %d CPUs"
          % (load_start + load_end + (os.cpu_count(),)))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"core": a.core, "hosts": hosts, "forks": env["ANSIBLE_FORKS"], "wall": times, "guest_cpu": cpu,
                       "load": {"start": load_start, "end": load_end}}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
