"""Chaos suite: the encrypt rollout on a fleet of simulated VMs, each with its own test host, with the
control node killed at random points and faults injected, re-run until it converges; then the safety
invariants are checked from the simulator's request log and state.

Run by tests/chaos/run.sh (which starts the fleet and the simulator); see tests/chaos/README.md.
Usage: chaos.py --sim SIMDIR --inventory INV --work DIR [--budget S] [--seed N] [--slices 2]
Prints PASS/FAIL lines, the figures (JSON in DIR/figures.json) and "N passed, N failed".
"""
import argparse
import json
import os
import random
import re
import resource
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "simulator"))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "hosts", "lib"))   # hostlib: the fleet hosts' processes
from azsim.admin import SimAdmin  # noqa: E402  pylint: disable=wrong-import-position

WRITE = ("PUT", "PATCH", "POST", "DELETE")
# Requests that change a VM (a tags-only PATCH does not)
CHANGES = ("ext_put", "ext_delete", "vm_start", "vm_deallocate", "vm_restart", "vm_poweroff", "disk_put", "vm_put")
OK = (200, 201, 202, 204)
SUB = "11111111-1111-1111-1111-111111111111"
RG = "rg-ade-chaos"
VAULT = "kv-ade-chaos"

# Where the control node gets killed: after the n-th ARM request matching one of these (or at a random time).
KILL_POINTS = [
    ("snapshot PUT", "PUT", r"/snapshots/"),
    ("extension PUT", "PUT", r"/extensions/"),
    ("instance view poll", "GET", r"/virtualMachines/[^/]+$"),
    ("deallocate (restore began)", "POST", r"/deallocate$"),
    ("restored disk PUT", "PUT", r"/disks/"),
    ("OS disk swap", "PUT", r"/virtualMachines/[^/]+$"),
    ("start (restore ending)", "POST", r"/start$"),
    ("extension DELETE", "DELETE", r"/extensions/"),
]

# Faults through the simulator's fault API (simulator/README.md "Fault rule").
FAULTS = [
    ("429 storm on VM reads", {"method": "GET", "path": "/virtualMachines/", "action": "429", "retry_after": 1, "count": 40}),
    ("dropped connections", {"method": "GET", "path": "/virtualMachines/", "action": "drop", "count": 8}),
    ("extension PUT processed, answer dropped", {"method": "PUT", "path": "/extensions/", "action": "drop_response", "count": 2}),
    ("token expiry", {"method": "*", "path": "/", "action": "expire_tokens", "count": 1, "after": 30}),
    ("snapshot LRO fails", {"method": "PUT", "path": "/snapshots/", "action": "lro_fail", "count": 1, "after": 3}),
    ("extension LRO fails", {"method": "PUT", "path": "/extensions/", "action": "lro_fail", "count": 1, "after": 2}),
    ("503 on writes", {"method": "PUT", "path": "/", "action": "503", "count": 3, "retry_after": 1}),
    ("409 on start (restore interrupted)", {"method": "POST", "path": "/start$", "action": "409", "count": 4}),
    ("500 on deallocate", {"method": "POST", "path": "/deallocate$", "action": "500", "count": 2}),
    # right after an extension PUT, reads show the VM as before it (simulator/azsim/stale.py)
    ("stale reads after the extension PUT", {"method": "PUT", "path": "/extensions/", "action": "stale_reads",
                                             "seconds": 3, "view": "all", "count": 6}),
]


IMDS_GET = ("import urllib.request as u; print(u.urlopen(u.Request('http://169.254.169.254/metadata/instance/compute/vmId"
            "?api-version=2021-02-01&format=text', headers={'Metadata': 'true'}), timeout=5).read().decode())")


def vm_of(path):
    """The fleet VM an ARM path acts on: the VM itself, or a snapshot/disk named after it."""
    m = re.search(r"/virtualMachines/(fleet-\d{3})(?:/|$)", path, re.I)
    if m:
        return m.group(1).lower()
    m = re.search(r"/(?:snapshots|disks)/(fleet-\d{3})(?!\d)", path, re.I)
    if m:
        return m.group(1).lower()
    return None


def kind(e):
    """What a request does, for the invariants."""
    p, m = e["path"], e["method"]
    if re.search(r"/snapshots/[^/]+$", p, re.I):
        return "snapshot_" + m.lower()
    if re.search(r"/disks/[^/]+$", p, re.I):
        return "disk_" + m.lower()
    if re.search(r"/extensions/[^/]+$", p, re.I):
        return "ext_" + m.lower()
    if re.search(r"/virtualMachines/[^/]+/(start|deallocate|restart|powerOff|redeploy)$", p, re.I):
        return "vm_" + p.rsplit("/", 1)[1].lower()
    if re.search(r"/virtualMachines/[^/]+$", p, re.I):
        return "vm_" + m.lower()
    return "other"


class Runs:
    """ansible-playbook runs of the encrypt rollout, killed on a trigger."""

    def __init__(self, args, sim, env):
        self.args, self.sim, self.env = args, sim, env
        self.n = 0
        self.history = []
        self.names = []
        self.gchange = {}

    def command(self, limit=None):
        extra = {"ade_hosts": "ade_fleet", "ade_key_vault": VAULT, "ade_volume_type": "All",
                 "ade_poll_interval": 0.2, "ade_continue_on_failure": True, "ade_serial": json.loads(self.args.serial),
                 "ade_guest_timeout": 60, "ade_report_dir": os.path.join(self.args.work, "report-%d" % self.n),
                 # the test hosts have no device-mapper: the restart check (default on) cannot pass here (e2e 3e)
                 "ade_verify_restart": False}
        extra.update(json.loads(self.args.extra_vars))
        cmd = ["ansible-playbook", "-i", self.args.inventory, "azure_ade.linux.encrypt", "-f", str(self.args.forks),
               "-e", json.dumps(extra)]
        if limit:
            cmd += ["--limit", limit]
        return cmd

    def run(self, trigger=None, label="", limit=None):
        """One run; trigger = (what, method, regex, nth) kills the control node after the nth matching request,
        ("time", seconds) kills it after that long, None lets it finish."""
        self.n += 1
        logf = os.path.join(self.args.work, "logs", "run-%02d%s.log" % (self.n, label))
        since = rawlog(self.sim, 0)["last_seq"] if self.n > 1 else 0
        t0 = time.time()
        cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)   # the control node's CPU: ansible-playbook and its forks
        with open(logf, "w") as out:
            p = subprocess.Popen(self.command(limit), stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                 env=self.env, start_new_session=True)
        killed = None
        seen = since
        matches = 0
        deadline = min(t0 + self.args.run_timeout, self.args.deadline)
        tick = 0
        while p.poll() is None:
            time.sleep(0.25)
            tick += 1
            if self.names and tick % 4 == 0:   # the guests' first changes, about once a second
                self.gchange = guest_changes(self.args.hosts_dir, self.names, self.gchange, self.args.t_start)
            if time.time() > deadline:
                killed = "run timeout" if deadline < self.args.deadline else "suite deadline (CHAOS_TOTAL)"
                break
            if trigger is None:
                continue
            if trigger[0] == "time" or len(trigger) > 4:   # a time kill, or the fallback of a request kill
                limit_s = trigger[1] if trigger[0] == "time" else trigger[4]
                if time.time() - t0 >= limit_s:
                    killed = "after %.1f s%s" % (limit_s, "" if trigger[0] == "time" else " (no %s #%d by then)" % (
                        trigger[0], trigger[3]))
                    break
                if trigger[0] == "time":
                    continue
            ents = rawlog(self.sim, seen)
            seen = ents["last_seq"]
            for e in ents["entries"]:
                if e["method"] == trigger[1] and re.search(trigger[2], e["path"], re.I):
                    matches += 1
                    if matches >= trigger[3]:
                        killed = "after %s #%d (seq %d)" % (trigger[0], matches, e["seq"])
                        break
            if killed:
                break
        if killed:
            kill_tree(p.pid)
        rc = p.wait()
        cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = round((cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime), 1)
        if self.names:
            self.gchange = guest_changes(self.args.hosts_dir, self.names, self.gchange, self.args.t_start)
        last = rawlog(self.sim, 0)["last_seq"]
        rec = {"run": self.n, "label": label, "rc": rc, "killed": killed, "seconds": round(time.time() - t0, 1),
               "cpu_seconds": cpu, "first_seq": since + 1, "last_seq": last, "log": logf}
        self.history.append(rec)
        print("[chaos] run %d%s: %s, rc=%s, %.1f s, requests %d..%d" % (
            self.n, label, ("KILLED " + killed) if killed else "finished", rc, rec["seconds"], since + 1, last))
        sys.stdout.flush()
        return rec


def descendants(pid):
    """pid and every process below it (Ansible's workers call setsid, so killpg alone misses them)."""
    kids = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            kids.setdefault(ppid, []).append(int(d))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += kids.get(p, [])
    return out


def kill_tree(pid):
    """SIGKILL the control node: ansible-playbook, its workers and their children, all at once."""
    for p in descendants(pid):
        try:
            os.kill(p, signal.SIGKILL)
        except OSError:
            pass


def rawlog(sim, since):
    """The simulator's ARM request log after seq `since`: {entries, last_seq}."""
    return sim.call("GET", "/log", query={"since": since, "kind": "arm"})


def writes_between(log, first, last):
    return [e for e in log if first <= e["seq"] <= last and e["method"] in WRITE]


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0
        self.results = []

    def check(self, name, ok, detail=""):
        if ok:
            self.passed += 1
            print("PASS: %s" % name)
        else:
            self.failed += 1
            print("FAIL: %s" % name)
            if detail:
                print("      " + detail.replace("\n", "\n      "))
        self.results.append({"check": name, "ok": bool(ok), "detail": detail})
        sys.stdout.flush()


def guest_changes(fleet_hosts_dir, names, seen=None, since=0.0):
    """Wall time of the first change the rollout made inside each guest: the prerequisites role's saved
    state under /var/lib/azure_ade, a changed /etc/selinux/config, read from the host's upper dir (the guest's
    own writes). ctime, not mtime: overlayfs keeps the lower file's mtime when it copies a file up on its
    first write; the ctime is the copy-up. Later writes move ctime on, so the suite samples after every run
    and keeps the earliest (seen)."""
    out = dict(seen or {})
    for n in names:
        up = os.path.join(fleet_hosts_dir, n, "upper")
        times = []
        for rel in ("var/lib/azure_ade", "etc/selinux/config"):
            p = os.path.join(up, rel)
            if os.path.exists(p):
                times.append(os.stat(p).st_ctime)
                if os.path.isdir(p):
                    times += [os.stat(os.path.join(p, f)).st_ctime for f in os.listdir(p)]
        times = [t for t in times if t >= since]   # a reused fleet: changes before this suite are not its own
        if times:
            out[n] = min(times + ([out[n]] if n in out else []))
    return out


def selinux_now(fleet_hosts_dir, name):
    """(config text, runtime enforce) as the guest has them now."""
    cfg = None
    for layer in (os.path.join(fleet_hosts_dir, name, "upper"),):
        p = os.path.join(layer, "etc/selinux/config")
        if os.path.exists(p):
            cfg = open(p).read()
    st = json.load(open(os.path.join(fleet_hosts_dir, name, "state.json")))
    import hostlib  # noqa: E402  pylint: disable=import-outside-toplevel
    init = hostlib.ns_init_pid(st)
    if init is None:   # between two boots, or powered off (Azure may say running: the bridge's duty to boot it)
        return cfg, (None if hostlib.alive(st.get("unshare_pid")) else "off (no PID 1: the host is not running)")
    enforce = None
    try:
        with open("/proc/%d/root/sys/fs/selinux/enforce" % init) as f:
            enforce = f.read().strip()
    except OSError:
        pass
    return cfg, enforce


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sim", required=True)
    ap.add_argument("--inventory", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--hosts-dir", default=os.path.join(os.environ.get("ADE_WORK", "/tmp/azure_ade"), "hosts"))
    ap.add_argument("--budget", type=float, default=300, help="wall seconds for the chaos phase (killed runs)")
    ap.add_argument("--max-kills", type=int, default=8)
    ap.add_argument("--converge-runs", type=int, default=3)
    ap.add_argument("--total", type=float, default=900, help="wall seconds for all runs; a run still going then is "
                    "killed and the suite reports it did not converge in time")
    ap.add_argument("--run-timeout", type=float, default=900)
    ap.add_argument("--seed", type=int, default=int(os.environ.get("CHAOS_SEED", "0")) or None)
    ap.add_argument("--forks", type=int, default=20)
    ap.add_argument("--serial", default='[5, "100%"]')
    ap.add_argument("--extra-vars", default="{}")
    ap.add_argument("--slices", type=int, default=0, help="also run N concurrent slices (AWX job slicing)")
    ap.add_argument("--fleet-json", default=None)
    ap.add_argument("--guests", type=int, default=1, help="1: the guest bridge (tests/chaos/guests.py) makes hosts "
                    "follow their VMs (stopped -> unreachable, restart -> reboot, offline OS encryption -> no SSH)")
    args = ap.parse_args()
    args.deadline = time.time() + args.total
    args.t_start = time.time()
    seed = args.seed or random.SystemRandom().randrange(1, 1 << 30)
    rnd = random.Random(seed)
    os.makedirs(os.path.join(args.work, "logs"), exist_ok=True)
    sim = SimAdmin(args.sim)
    env = dict(os.environ)
    env.setdefault("ANSIBLE_SSH_CONTROL_PATH_DIR", os.path.join(args.work, "cp"))
    env["ANSIBLE_TIMEOUT"] = "20"
    checks = Checks()
    print("[chaos] seed %d (CHAOS_SEED=%d reproduces the kill/fault plan)" % (seed, seed))

    names = sorted(v["name"] for r in sim.state()["subscriptions"][0]["resource_groups"] if r["name"] == RG
                   for v in r["vms"])
    state0 = sim.state()
    vm_state0 = dict((v["name"], v) for r in state0["subscriptions"][0]["resource_groups"] for v in r["vms"])
    failing = sorted(n for n, v in vm_state0.items() if v["ade_behavior"] == "fail_os_unmount")
    fleet = json.load(open(args.fleet_json)) if args.fleet_json else {}
    kinds = {}
    for n in names:
        spec_p = os.path.join(args.hosts_dir, n, "spec.json")
        if os.path.exists(spec_p):
            kinds[n] = json.load(open(spec_p))["fleet_kind"]
    selinux_hosts = [n for n in names if kinds.get(n) == "centos7"]
    selinux0 = dict((n, selinux_now(args.hosts_dir, n)) for n in selinux_hosts)
    for n in selinux_hosts:   # the config as the layer ships it (the upper dir has none yet)
        layer = os.path.join(args.hosts_dir, ".fleet-layers", "centos7", "etc/selinux/config")
        selinux0[n] = (open(layer).read(), selinux0[n][1])

    # ---- identity: every host's IMDS answers its own VM's vmId (what the rollout's identity check compares)
    client = sim.compute_client()
    bad = []
    for n in names:
        arm_id = client.virtual_machines.get(RG, n).vm_id
        netns = json.load(open(os.path.join(args.hosts_dir, n, "spec.json")))["netns"]
        got = subprocess.run(["ip", "netns", "exec", netns, sys.executable, "-c", IMDS_GET], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, check=False).stdout.strip()
        if got != arm_id:
            bad.append("%s: IMDS vmId %r, ARM vmId %s" % (n, got[:80], arm_id))
    sim.clear_log()
    checks.check("fleet: %d VMs, each with its own test host whose IMDS vmId equals ARM's (%s)" % (
        len(names), ", ".join("%s %d" % (k, sum(1 for x in kinds.values() if x == k)) for k in sorted(set(kinds.values())))),
        not bad and len(kinds) == len(names), "\n".join(bad[:5]))

    runs = Runs(args, sim, env)
    runs.names = names
    bridge = None
    if args.guests:
        from guests import Bridge  # pylint: disable=import-outside-toplevel
        bridge = Bridge(sim, RG, names).start()
    t_chaos = time.time()
    faults_used = []
    # ARM's eventual consistency as a standing behaviour (not a random fault): every extension PUT of the chaos
    # phase and of the slices is followed by 2 s of reads showing the VM as before it (simulator/azsim/stale.py).
    stale_rule = {"method": "PUT", "path": "/extensions/", "action": "stale_reads", "seconds": 2, "view": "all",
                  "count": -1}
    sim.add_fault(**stale_rule)
    # ---- chaos phase: faults + the control node killed at a random point, again and again
    while len([r for r in runs.history if r["killed"]]) < args.max_kills and time.time() - t_chaos < args.budget \
            and time.time() < args.deadline - 60:
        for _i in range(rnd.randint(1, 3)):
            label, rule = rnd.choice(FAULTS)
            sim.add_fault(**rule)
            faults_used.append(label)
        if rnd.random() < 0.25:
            trigger = ("time", round(max(3.0, min(rnd.uniform(3, 40), args.budget - (time.time() - t_chaos))), 1))
        else:
            what, method, rx = rnd.choice(KILL_POINTS)
            # the fallback kill time never runs past the chaos budget (the same draws: CHAOS_SEED reproduces the plan)
            nth, fallback = rnd.randint(1, 12), round(rnd.uniform(20, 150), 1)
            left = args.budget - (time.time() - t_chaos)
            trigger = (what, method, rx, nth, round(max(10.0, min(fallback, left)), 1))
        rec = runs.run(trigger, label="-chaos")
        rec["faults"] = faults_used[-3:]
        if not rec["killed"] and rec["rc"] == 0:
            break
    sim.clear_faults()
    chaos_seconds = time.time() - t_chaos
    slices_info = None
    if args.slices > 1:
        sim.add_fault(**stale_rule)
        slices_info = run_slices(args, runs, sim, env, names)
        sim.clear_faults()
    # ---- convergence: run again, undisturbed, until a run sends no write
    converged = False
    for _i in range(args.converge_runs):
        if time.time() > args.deadline - 30:
            print("[chaos] no time left for another convergence run (--total %d s)" % args.total)
            break
        rec = runs.run(None, label="-converge")
        log = rawlog(sim, rec["first_seq"] - 1)["entries"]
        rec["writes"] = len([e for e in log if e["method"] in WRITE])
        print("[chaos]   writes in that run: %d" % rec["writes"])
        if rec["writes"] == 0 and not rec["killed"]:
            converged = True
            break

    if bridge is not None:
        bridge.stop()
    # ---- invariants, from the request log and the simulator's state
    log = rawlog(sim, 0)["entries"]
    state = sim.state()
    vms = dict((v["name"], v) for r in state["subscriptions"][0]["resource_groups"] for v in r["vms"])
    by_vm = {}
    for e in log:
        n = vm_of(e["path"])
        if n:
            by_vm.setdefault(n, []).append(e)
    gchange = guest_changes(args.hosts_dir, names, runs.gchange, args.t_start)

    no_snap, snap_after, restore_after, dealloc, outcome_bad, selinux_bad = [], [], [], [], [], []
    outcomes = {}
    for n in names:
        ents = by_vm.get(n, [])
        ext_puts = [e for e in ents if kind(e) == "ext_put" and e["status"] in OK]
        ext_any = [e for e in ents if kind(e) == "ext_put"]
        changes = [e for e in ents if kind(e) in CHANGES]
        snap_puts = [e for e in ents if kind(e) == "snapshot_put" and e["status"] in OK]
        first_change = min(e["seq"] for e in changes) if changes else None
        first_ext = min(e["seq"] for e in ext_any) if ext_any else None
        # (1) no extension PUT without a snapshot set taken before any change to the VM (ARM or guest)
        if ext_any:
            before = [e for e in snap_puts if e["seq"] < first_change]
            g = gchange.get(n)
            if g is not None:
                before = [e for e in before if e["wall"] <= g]
            if not before:
                no_snap.append("%s: first change seq %s (%s), guest changed at %s, snapshots at %s" % (
                    n, first_change, kind([e for e in changes if e["seq"] == first_change][0]),
                    time.strftime("%H:%M:%S", time.gmtime(g)) if g else "-",
                    [(e["seq"], time.strftime("%H:%M:%S", time.gmtime(e["wall"]))) for e in snap_puts][:4]))
        # (1b) never snapshotted once its encryption began
        if first_ext is not None:
            late = [e for e in snap_puts if e["seq"] > first_ext]
            if late:
                snap_after.append("%s: %d snapshot PUT(s) after the first extension PUT (seq %d): %s" % (
                    n, len(late), first_ext, ", ".join(e["path"].rsplit("/", 1)[1] for e in late[:3])))
        # (2) no restore from a set taken after the encryption began
        for e in ents:
            if kind(e) == "disk_put" and e["status"] in OK and first_ext is not None:
                dname = e["path"].rsplit("/", 1)[1].lower()
                m = re.match(r"(fleet-\d{3})-(.*)-restored-(os|lun\d+)$", dname)
                if m:
                    run_id = m.group(2)
                    set_puts = [x for x in snap_puts if ("-%s-" % run_id.lower()) in x["path"].lower()]
                    if not set_puts or min(x["seq"] for x in set_puts) > first_ext:
                        restore_after.append("%s: disk %s restored from set %s taken at seq %s, encryption began at seq %d" % (
                            n, dname, run_id, min([x["seq"] for x in set_puts] or [None]) if set_puts else "?", first_ext))
        # (3) no VM left deallocated (or stopped)
        v = vms[n]
        if v["power_state"] not in ("running",):
            dealloc.append("%s: %s" % (n, v["power_state"]))
        # (5) outcome
        ade = [x for x in v["extensions"] if x["type"] == "AzureDiskEncryptionForLinux"]
        writes = [e for e in ents if e["method"] in WRITE]
        enc = v["encryption_status"]
        swapped = any(kind(e) == "vm_put" and e["status"] in OK for e in ents) and any(kind(e) == "disk_put" for e in ents)
        if not writes:
            outcomes[n] = "not_touched"   # blocked or not attempted
        elif enc.get("os") == "Encrypted" and enc.get("data") in ("Encrypted", "NotMounted") and ade \
                and (ade[0].get("status") or {}).get("level") != "Error":
            outcomes[n] = "encrypted"
        elif swapped and not ade and enc.get("os") == "NotEncrypted" and not v["os_disk"]["stamped"] \
                and not v["os_disk"]["encrypted"]:
            outcomes[n] = "restored"
        elif not ext_puts and not any(kind(e) in ("ext_put", "vm_put", "vm_deallocate") for e in ents):
            outcomes[n] = "snapshotted_only"
        else:
            outcomes[n] = "OTHER"
            outcome_bad.append("%s: os %s data %s, extension %s, os disk stamped %s, power %s" % (
                n, enc.get("os"), enc.get("data"),
                ((ade[0].get("status") or {}).get("code"), (ade[0].get("status") or {}).get("message", "")[:80]) if ade else None,
                v["os_disk"]["stamped"], v["power_state"]))
        if n in failing and outcomes[n] == "encrypted":
            outcome_bad.append("%s: its OS encryption fails in the simulator, yet it ends encrypted?" % n)
        # (4) SELinux
        if n in selinux_hosts:
            cfg, enf = selinux_now(args.hosts_dir, n)
            for _i in range(60):   # a host the bridge just rebooted may still be booting (no selinuxfs yet)
                if enf is not None:
                    break
                time.sleep(0.5)
                cfg, enf = selinux_now(args.hosts_dir, n)
            cfg0, enf0 = selinux0[n]
            if (cfg is not None and cfg != cfg0) or enf != enf0:
                selinux_bad.append("%s: config %s, runtime enforce %s (was %s)" % (
                    n, "same" if cfg in (None, cfg0) else "CHANGED", enf, enf0))

    def sample(items):
        return "%d VM(s): %s" % (len(items), "\n".join(items[:6]) + ("\n..." if len(items) > 6 else ""))

    checks.check("no extension PUT without a snapshot set taken before any change to that VM (ARM or guest)",
                 not no_snap, sample(no_snap))
    checks.check("no VM snapshotted once its encryption began", not snap_after, sample(snap_after))
    checks.check("no restore from a snapshot set taken after the encryption began", not restore_after, sample(restore_after))
    checks.check("no VM left deallocated or stopped", not dealloc, sample(dealloc))
    checks.check("no SELinux state lost (%d SELinux guests: config byte-identical, runtime mode back)" % len(selinux_hosts),
                 not selinux_bad, sample(selinux_bad))
    counts = {}
    for o in outcomes.values():
        counts[o] = counts.get(o, 0) + 1
    checks.check("every VM ends encrypted, restored, blocked or not attempted (%s)" % ", ".join(
        "%s %d" % kv for kv in sorted(counts.items())), not outcome_bad and "OTHER" not in counts, sample(outcome_bad))
    checks.check("failing VMs (%d, OS encryption fails) end restored" % len(failing),
                 all(outcomes.get(n) == "restored" for n in failing),
                 ", ".join("%s %s" % (n, outcomes.get(n)) for n in failing))
    last = runs.history[-1]
    checks.check("the rollout converges: a final undisturbed run sends no write", converged,
                 "last run %d%s sent %s write(s): %s" % (last["run"], " (KILLED: %s)" % last["killed"] if last["killed"] else "",
                                                         last.get("writes"), ", ".join(
                     "%s %s" % (e["method"], e["path"].split("/providers/")[-1]) for e in writes_between(
                         log, last["first_seq"], last["last_seq"])[:5])))
    if slices_info is not None:
        checks.check("job slicing: %d concurrent slices each finished" % args.slices, slices_info["ok"],
                     json.dumps(slices_info)[:600])

    # ---- figures
    stats = sim.stats(since=0, kinds="arm")
    figures = {
        "seed": seed, "fleet_size": len(names), "kinds": dict((k, sum(1 for x in kinds.values() if x == k)) for k in set(kinds.values())),
        "fleet": dict((k, fleet.get(k)) for k in ("start_seconds", "pss_kb_per_host", "pss_kb_total", "upper_kb_total")),
        "runs": len(runs.history), "killed_runs": sum(1 for r in runs.history if r["killed"]),
        "kills": [r["killed"] for r in runs.history if r["killed"]], "faults_injected": faults_used,
        "chaos_phase_seconds": round(chaos_seconds, 1),
        "run_seconds": [r["seconds"] for r in runs.history],
        "requests_total": stats["total"], "writes": stats["writes"], "reads": stats["reads"],
        "throttled": stats["throttled"], "fault_answers": stats["faults"],
        "requests_per_vm": round(stats["total"] / float(max(1, len(names))), 1),
        "wall_seconds_per_vm": round(sum(r["seconds"] for r in runs.history) / float(max(1, len(names))), 2),
        # control-node CPU (user+sys of ansible-playbook and its forks; not the simulator): all runs, the first run
        # (the rollout when nothing is killed) and the last run (the no-write re-run on a finished fleet), per VM
        "cpu_seconds": [r.get("cpu_seconds") for r in runs.history],
        "cpu_seconds_per_vm": round(sum(r.get("cpu_seconds") or 0 for r in runs.history) / float(max(1, len(names))), 2),
        "cpu_seconds_per_vm_first_run": round((runs.history[0].get("cpu_seconds") or 0) / float(max(1, len(names))), 2)
        if runs.history else None,
        "cpu_seconds_per_vm_last_run": round((runs.history[-1].get("cpu_seconds") or 0) / float(max(1, len(names))), 2)
        if runs.history else None,
        "outcomes": counts, "converged": converged, "slices": slices_info,
        "guest_bridge": bridge.counts if bridge is not None else None,
    }
    with open(os.path.join(args.work, "figures.json"), "w") as f:
        json.dump({"figures": figures, "runs": runs.history, "checks": checks.results}, f, indent=1)
    print("[chaos] figures: " + json.dumps(figures))
    print("%d passed, %d failed" % (checks.passed, checks.failed))
    return 0 if checks.failed == 0 else 1


def run_slices(args, runs, sim, env, names):
    """AWX job slicing: N ansible-playbook processes at once, each with its own slice of the inventory
    (AWX slices by host order: host i goes to slice i mod N), against the one simulator."""
    k = args.slices
    slices = [[n for i, n in enumerate(names) if i % k == s] for s in range(k)]
    procs = []
    first = rawlog(sim, 0)["last_seq"] + 1
    t0 = time.time()
    for s, hosts in enumerate(slices):
        runs.n += 1
        logf = os.path.join(args.work, "logs", "run-%02d-slice%d.log" % (runs.n, s))
        out = open(logf, "w")
        procs.append((s, subprocess.Popen(runs.command(limit=",".join(hosts)), stdout=out, stderr=subprocess.STDOUT,
                                          stdin=subprocess.DEVNULL, env=env, start_new_session=True), logf))
    rcs = {}
    for s, p, logf in procs:
        try:
            rcs[s] = p.wait(timeout=max(1, min(t0 + args.run_timeout, args.deadline) - time.time()))
        except subprocess.TimeoutExpired:
            kill_tree(p.pid)
            rcs[s] = "timeout"
    runs.gchange = guest_changes(args.hosts_dir, names, runs.gchange, args.t_start)
    last = rawlog(sim, 0)["last_seq"]
    secs = round(time.time() - t0, 1)
    for s, p, logf in procs:   # the slices ran at once: their wall time counts once
        runs.history.append({"run": runs.n, "label": "-slice%d" % s, "rc": rcs[s], "killed": None, "seconds": secs if s == 0 else 0,
                             "first_seq": first, "last_seq": last, "log": logf})
    print("[chaos] %d slices at once: rc %s, %.1f s" % (k, rcs, secs))
    return {"slices": k, "rc": rcs, "seconds": secs, "ok": all(rc != "timeout" for rc in rcs.values())}


if __name__ == "__main__":
    threading.current_thread().name = "chaos"
    sys.exit(main())
