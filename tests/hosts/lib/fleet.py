#!/usr/bin/env python
"""A fleet of cheap test hosts of the "ready" kinds, for the chaos suite (tests/chaos/).

  fleet.py up N [--kinds ubuntu1804=9,centos7=1] [--rg RG]   start N hosts fleet-001..fleet-N
  fleet.py down                                               stop them all, remove their dirs
  fleet.py status                                             one line per host

A fleet host is a test host like the 13 of variants.py (its own netns, PID/mount/UTS/IPC namespace, sshd,
the guest's release files, uname, lsblk, /proc and /sys views, IMDS and WireServer), made cheap:
* no disk images: the root is an overlay of ONE shared read-only layer per kind (the guest's files, built
  once and cached) over the base rootfs, plus the host's own small upper dir (hostname, fstab, lsblk table,
  WireServerEndpoint, machine-id, ssh key); its other filesystems are tmpfs under the guest's device names;
* no agent processes (nothing reads them), only PID 1 (the waiter) and sshd;
* one IMDS/WireServer process for the whole fleet (fleet_imds.py), each host's IMDS answering its own
  instance document. The vmId is the simulator's for the VM of the same subscription/resource group/name
  (azsim model.stable_uuid), so the guest's IMDS vmId equals ARM's, VM by VM.
Names fleet-NNN, netns adefleet-NNN, addresses 10.204.N.2 (WireServer 10.204.N.16): apart from the 13
fixed hosts. Callers hold /work/coord/hosts.lock while starting/stopping (tests/chaos/ does).
Kinds: ubuntu1804 (ready), ubuntu1404 (ready, kernel 4.15), centos7 (SELinux enforcing: fixable, the
prerequisites role changes it and puts it back).
"""
import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hostlib as H  # noqa: E402
import variants as V  # noqa: E402

FLEET = os.path.join(H.HOSTS, "fleet.json")
LAYERS = os.path.join(H.HOSTS, ".fleet-layers")
MAX_HOSTS = 250
KINDS = {
    "ubuntu1804": lambda name: V.ubuntu1804(name, 0),
    "ubuntu1404": lambda name: V.ubuntu1404(name, 0, "4.15.0-1113-azure"),
    "centos7": lambda name: V.centos7_selinux(name, 0),
}
OS = {"ubuntu1804": ("ubuntu", "18.04"), "ubuntu1404": ("ubuntu", "14.04"), "centos7": ("centos", "7.9")}


def sim_vm_id(sub, rg, name):
    """azsim.model.stable_uuid(sub, rg, name): the simulator's vmId of that VM."""
    return str(uuid.UUID(hashlib.md5("/".join((sub, rg, name)).lower().encode()).hexdigest()))


def parse_kinds(text):
    out = []
    for part in text.split(","):
        k, _sep, w = part.partition("=")
        if k not in KINDS:
            sys.exit("unknown fleet kind %s (known: %s)" % (k, ", ".join(KINDS)))
        out.append((k, int(w or 1)))
    return out


def kind_of(i, kinds):
    """Kinds spread evenly by weight: with ubuntu1804=9,centos7=1 every 10th host is centos7."""
    total = sum(w for _k, w in kinds)
    slot = (i - 1) % total
    for k, w in kinds:
        if slot < w:
            return k
        slot -= w
    return kinds[0][0]


def template(kind):
    return KINDS[kind]("fleet-template-" + kind)


def layer_dir(kind):
    return os.path.join(LAYERS, kind)


def build_layer(kind):
    """The kind's shared read-only layer (cached): the guest's files applied over the base rootfs through an
    overlay, kept as the overlay's upper dir (whiteouts included)."""
    t = template(kind)
    digest = H.layer_digest(t)
    d = layer_dir(kind)
    stamp = d + ".stamp"
    if os.path.isdir(d) and os.path.exists(stamp) and open(stamp).read() == digest:
        return d
    t0 = time.time()
    tmp = d + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.rmtree(d, ignore_errors=True)
    for sub in ("upper", "work", "m"):
        os.makedirs(os.path.join(tmp, sub))
    H.run(["unshare", "--mount", "--propagation", "private", H.PY, os.path.abspath(__file__), "_layer", kind, tmp])
    os.rename(os.path.join(tmp, "upper"), d)
    shutil.rmtree(tmp, ignore_errors=True)
    with open(stamp, "w") as f:
        f.write(digest)
    H.log("fleet layer %s built in %.1f s" % (kind, time.time() - t0))
    return d


def _layer(kind, tmp):
    """In a private mount namespace: overlay(base, upper) <- the template's layer ops, depmod."""
    t = template(kind)
    m = os.path.join(tmp, "m")
    H.mount("overlay", m, "overlay", 0, "lowerdir=%s,upperdir=%s/upper,workdir=%s/work" % (H.BASE, tmp, tmp))
    try:
        H.apply_ops(t, m, H.layer_ops(t))
        for op in H.layer_ops(t):
            if op[0] == "depmod":
                H.run(["chroot", m, "/usr/sbin/depmod", op[1]], stdout=subprocess.DEVNULL)
    finally:
        H.umount2(m, H.MNT_DETACH)


def host_ops(v, kind):
    """The ops where this host differs from its kind's template (+ its own lsblk table and machine-id)."""
    tops = H.layer_ops(template(kind))
    ops = [op for op in H.layer_ops(v) if op not in tops or op[0] == "lsblk"]
    ops.append(("file", "/etc/machine-id", V.uid(v["name"], "machine-id").replace("-", "") + "\n", 0o444))
    return ops


def _prepare(names):
    """In a private mount namespace: write each host's own files through its overlay into its upper dir."""
    for name in names:
        v = H.spec(name)
        hd = H.hdir(name)
        m = os.path.join(hd, "m")
        os.makedirs(m, exist_ok=True)
        H.mount("overlay", m, "overlay", 0, "lowerdir=%s:%s,upperdir=%s/upper,workdir=%s/work" % (
            v["fleet_layer"], H.BASE, hd, hd))
        try:
            H.apply_ops(v, m, host_ops(v, v["fleet_kind"]))
        finally:
            H.umount2(m, H.MNT_DETACH)


def host_spec(i, kind, rg, layer):
    name = "fleet-%03d" % i
    v = KINDS[kind](name)
    v.update({"fleet": True, "fleet_kind": kind, "fleet_layer": layer, "n": 1000 + i,
              "subnet": "10.204.%d" % i, "netns": "adefleet-%03d" % i, "veths": ("adfh%d" % i, "adfg%d" % i),
              "reboot_seconds": 0.5})   # off the network between shutdown and boot (hostlib.rebooted): short in chaos
    imds = v["imds"]
    vm_id = sim_vm_id(V.SUBSCRIPTION, rg, name)
    imds.update({"vmId": vm_id, "resourceGroupName": rg,
                 "resourceId": "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Compute/virtualMachines/%s" % (
                     V.SUBSCRIPTION, rg, name)})
    disk_name = "%s-osdisk" % name
    imds["storageProfile"]["osDisk"]["name"] = disk_name
    imds["storageProfile"]["osDisk"]["managedDisk"]["id"] = (
        "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Compute/disks/%s" % (V.SUBSCRIPTION, rg, disk_name))
    return v


def load():
    if os.path.exists(FLEET):
        with open(FLEET) as f:
            return json.load(f)
    return {"hosts": []}


def save(doc):
    with open(FLEET + ".tmp", "w") as f:
        json.dump(doc, f, indent=1)
    os.rename(FLEET + ".tmp", FLEET)


def pss_kb(pids):
    """Proportional set size: shared pages (sshd's libraries, the page cache of the shared layer) split
    between the processes that map them, so the sum is what the fleet really costs."""
    total = 0
    for pid in pids:
        try:
            with open("/proc/%d/smaps_rollup" % pid) as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def netns_pids(v):
    return [int(p) for p in subprocess.run(["ip", "netns", "pids", H.netns(v)], stdout=subprocess.PIPE, text=True,
                                           check=False).stdout.split()]


def cmd_up(n, kinds, rg, owner=None):
    if n < 1 or n > MAX_HOSTS:
        sys.exit("fleet size must be 1..%d" % MAX_HOSTS)
    if load()["hosts"]:
        cmd_down()
    t0 = time.time()
    H.ensure_bins()
    layers = dict((k, build_layer(k)) for k, _w in kinds)
    t_layers = time.time() - t0
    specs = []
    for i in range(1, n + 1):
        k = kind_of(i, kinds)
        v = host_spec(i, k, rg, layers[k])
        hd = H.hdir(v["name"])
        shutil.rmtree(hd, ignore_errors=True)
        for sub in ("upper", "work", "root", "stage"):
            os.makedirs(os.path.join(hd, sub))
        with open(os.path.join(hd, "spec.json"), "w") as f:
            json.dump(v, f)
        specs.append(v)
    doc = {"hosts": [v["name"] for v in specs], "rg": rg, "kinds": dict(kinds), "owner": owner}
    save(doc)
    H.run(["unshare", "--mount", "--propagation", "private", H.PY, os.path.abspath(__file__), "_prepare"]
          + [v["name"] for v in specs])
    t1 = time.time()
    procs = []
    for v in specs:
        procs.append((v, H.start(v)))
    # one IMDS/WireServer for all
    cfg = os.path.join(H.HOSTS, "fleet-imds.json")
    with open(cfg, "w") as f:
        json.dump([{"netns": H.netns(v), "imds_addr": "169.254.169.254", "wireserver_addr": H.wire_ip(v),
                    "instance": {"compute": v["imds"], "network": {"interface": [{
                        "ipv4": {"ipAddress": [{"privateIpAddress": H.vm_ip(v), "publicIpAddress": ""}],
                                 "subnet": [{"address": H.subnet(v) + ".0", "prefix": "24"}]},
                        "ipv6": {"ipAddress": []}, "macAddress": "000D3B%06X" % v["n"]}]}}} for v in specs], f)
    ilog = open(os.path.join(H.HOSTS, "fleet-imds.log"), "w")
    q = subprocess.Popen([H.PY, os.path.join(H.LIB, "fleet_imds.py"), cfg], stdin=subprocess.DEVNULL, stdout=ilog,
                         stderr=ilog, start_new_session=True, close_fds=True)
    doc["imds_pid"] = q.pid
    save(doc)
    for v, p in procs:
        H.wait_up(v, p, timeout=120)
    t_start = time.time() - t1
    time.sleep(0.5)
    pids = [q.pid]
    for v in specs:
        pids += netns_pids(v)
        st = H.read_state(v["name"])
        pids.append(st.get("unshare_pid"))
    mem = pss_kb([p for p in pids if p])
    upper_kb = int(subprocess.run(["du", "-sk"] + [os.path.join(H.hdir(v["name"]), "upper") for v in specs] + ["-c"],
                                  stdout=subprocess.PIPE, text=True, check=False).stdout.split()[-2])
    doc.update({"start_seconds": round(t_start, 1), "layers_seconds": round(t_layers, 1),
                "pss_kb_total": mem, "pss_kb_per_host": mem // n, "upper_kb_total": upper_kb})
    save(doc)
    inventory(specs)
    H.log("fleet: %d hosts up in %.1f s (%.2f s/host; layers %.1f s); PSS %d MB total, %.1f MB/host "
          "(PID 1, sshd, unshare, + one IMDS); %d kB own files/host" % (
              n, t_start, t_start / n, t_layers, mem // 1024, mem / 1024.0 / n, upper_kb // n))
    print(json.dumps(dict((k, doc[k]) for k in ("start_seconds", "layers_seconds", "pss_kb_total", "pss_kb_per_host",
                                                "upper_kb_total"))))


def inventory(specs):
    for kind, interp in (("py27", "/usr/bin/python2.7"), ("py3", "/usr/bin/python3")):
        lines = ["# written by tests/hosts/lib/fleet.py - azure_ade chaos fleet (%s)" % kind, "all:", "  children:",
                 "    ade_fleet:", "      hosts:"]
        for v in specs:
            lines += ["        %s:" % v["name"], "          ansible_host: %s" % H.vm_ip(v),
                      "          ade_fleet_kind: %s" % v["fleet_kind"]]
        lines += ["      vars:", "        ansible_user: root",
                  "        ansible_ssh_private_key_file: %s" % H.KEY,
                  "        ansible_python_interpreter: %s" % interp,
                  "        ansible_ssh_common_args: -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"
                  " -o ServerAliveInterval=5 -o ServerAliveCountMax=3"]   # a stopped guest ends its sessions in 15 s
        with open(os.path.join(H.HOSTS, "inventory-fleet-%s.yml" % kind), "w") as f:
            f.write("\n".join(lines) + "\n")


def cmd_down(owner=None):
    """Stop every fleet host at once: SIGKILL each namespace's PID 1 (its PID namespace goes with it), then
    delete all netns and veths in one `ip -batch` (hostlib.stop's one-by-one waits cost ~2 s a host)."""
    doc = load()
    if owner and doc.get("owner") and doc["owner"] != owner:
        H.log("fleet: left up, it belongs to %s (not %s)" % (doc["owner"], owner))
        return
    t0 = time.time()
    pid = doc.get("imds_pid")
    if pid and H.alive(pid):
        try:
            with open("/proc/%d/cmdline" % pid) as f:
                if "fleet_imds" in f.read():
                    os.kill(pid, 9)
        except OSError:
            pass
    specs = []
    for name in doc["hosts"]:
        try:
            specs.append(H.spec(name))
        except KeyError:
            continue
    for v in specs:
        if H.foreign(v):
            continue
        init = H.ns_init_pid(H.read_state(v["name"]))
        if init:
            try:
                os.kill(init, 9)
            except OSError:
                pass
    batch = []
    for v in specs:
        if H.foreign(v):
            continue
        if os.path.exists("/run/netns/" + H.netns(v)):
            for p in netns_pids(v):   # anything left in the netns (an ssh session's child)
                try:
                    os.kill(p, 9)
                except OSError:
                    pass
            batch.append("netns del %s" % H.netns(v))
        if os.path.exists("/sys/class/net/" + H.veths(v)[0]):
            batch.append("link del %s" % H.veths(v)[0])
    if batch:
        subprocess.run(["ip", "-force", "-batch", "-"], input="\n".join(batch) + "\n", text=True,
                       stderr=subprocess.DEVNULL, check=False)
    for v in specs:
        if H.foreign(v):
            continue
        shutil.rmtree(H.hdir(v["name"]), ignore_errors=True)
        op = os.path.join(H.OWNERS, v["name"])
        if os.path.exists(op):
            os.unlink(op)
    for kind in ("py27", "py3"):
        p = os.path.join(H.HOSTS, "inventory-fleet-%s.yml" % kind)
        if os.path.exists(p):
            os.unlink(p)
    shutil.rmtree(os.path.join(H.HOSTS, ".fleet-snapshots"), ignore_errors=True)   # tests/chaos/guests.py
    save({"hosts": []})
    H.log("fleet: %d hosts down in %.1f s" % (len(specs), time.time() - t0))


def cmd_status():
    for name in load()["hosts"]:
        v = H.spec(name)
        print("%-10s %-12s %-10s %s" % (name, H.vm_ip(v), v["fleet_kind"], "up" if H.is_up(v) else "down"))


def main(argv):
    if argv and argv[0] == "_layer":
        return _layer(argv[1], argv[2])
    if argv and argv[0] == "_prepare":
        return _prepare(argv[1:])
    ap = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    ap.add_argument("cmd", choices=["up", "down", "status"])
    ap.add_argument("n", nargs="?", type=int, default=100)
    ap.add_argument("--kinds", default="ubuntu1804=9,centos7=1")
    ap.add_argument("--rg", default="rg-ade-chaos")
    ap.add_argument("--owner", default=None, help="up: who runs the fleet; down: stop it only if it is theirs")
    a = ap.parse_args(argv)
    if os.geteuid() != 0:
        sys.exit("fleet.py: must run as root (netns, mounts)")
    if a.cmd == "up":
        cmd_up(a.n, parse_kinds(a.kinds), a.rg, a.owner)
    elif a.cmd == "down":
        cmd_down(a.owner)
    else:
        cmd_status()
    return None


if __name__ == "__main__":
    main(sys.argv[1:])
