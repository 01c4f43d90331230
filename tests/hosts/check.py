#!/usr/bin/env python
"""Self-test of the test hosts: log in to each one and compare what it shows with its spec
(lib/variants.py) - release ID, uname via Python 2.7 and `uname -r`, MemTotal, root device and
fstype from mountinfo and from lsblk, every guest mount, waagent --version, SELinux,
modprobe -n vfat, processes, IMDS with/without the Metadata header, WireServer, no route
to 168.63.129.16.  Exit 1 on any mismatch.

  tests/hosts/check.py [NAME...]
"""
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))
import variants as V  # noqa: E402

WORK = os.environ.get("ADE_WORK", "/tmp/azure_ade")

PROBE = r'''
import json, os, platform, socket, subprocess, sys
def sh(cmd):
    p = subprocess.Popen(cmd, shell=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=dict(os.environ, LC_ALL="C"))
    return p.communicate()[0].decode("utf-8", "replace"), p.returncode
def http(path, headers):
    s = socket.create_connection(("169.254.169.254", 80), 2)
    s.sendall(("GET %s HTTP/1.0\r\n%s\r\n" % (path, "".join("%s: %s\r\n" % kv for kv in headers.items()))).encode())
    d = b""
    while True:
        c = s.recv(65536)
        if not c:
            break
        d += c
    head, body = d.split(b"\r\n\r\n", 1)
    return int(head.split()[1]), body.decode()
r = {}
osr = {}
for line in open("/etc/os-release"):
    if "=" in line:
        k, v = line.strip().split("=", 1)
        osr[k] = v.strip('"')
r["os_id"], r["os_version"] = osr.get("ID"), osr.get("VERSION_ID")
r["uname"] = list(os.uname())
r["uname_r"] = sh("uname -r")[0].strip()
r["proc_osrelease"] = open("/proc/sys/kernel/osrelease").read().strip()
r["memtotal"] = int([l.split()[1] for l in open("/proc/meminfo") if l.startswith("MemTotal:")][0])
mounts = {}
for line in open("/proc/self/mountinfo"):
    p = line.split()
    i = p.index("-")
    mounts[p[4]] = [p[i + 2], p[i + 1]]
r["mounts"] = mounts
r["lsblk"], r["lsblk_rc"] = sh("lsblk -P -b -o NAME,TYPE,FSTYPE,MOUNTPOINT,SIZE,UUID")
r["waagent"], r["waagent_rc"] = sh("waagent --version")
r["getenforce"] = sh("getenforce")[0].strip() if os.path.exists("/usr/sbin/getenforce") else None
r["enforce"] = open("/sys/fs/selinux/enforce").read().strip() if os.path.exists("/sys/fs/selinux/enforce") else None
r["vfat"], r["vfat_rc"] = sh("modprobe -n -v vfat")
procs = []
for pid in os.listdir("/proc"):
    if pid.isdigit():
        try:
            procs.append([open("/proc/%s/comm" % pid).read().strip(), open("/proc/%s/cmdline" % pid).read().replace("\0", " ").strip()])
        except IOError:
            pass
r["procs"] = procs
r["pid1"] = [open("/proc/1/comm").read().strip(), open("/proc/1/cmdline").read().replace("\0", " ").strip()]
r["imds_noheader"] = http("/metadata/instance/compute?api-version=2021-02-01", {})[0] if os.path.exists("/var/lib/waagent") else None
if os.path.exists("/var/lib/waagent"):
    code, body = http("/metadata/instance/compute?api-version=2021-02-01", {"Metadata": "true"})
    r["imds"] = [code, json.loads(body)]
    try:
        socket.create_connection((open("/var/lib/waagent/WireServerEndpoint").read().strip(), 80), 2).close()
        r["wireserver"] = True
    except socket.error:
        r["wireserver"] = False
try:
    socket.create_connection(("168.63.129.16", 80), 1).close()
    r["static_wireserver"] = "connected"
except socket.error as e:
    r["static_wireserver"] = str(e)
print(json.dumps(r))
'''


def probe(v):
    key = os.path.join(WORK, "hosts", "id_ed25519")
    ip = "10.203.%d.2" % v["n"]
    cmd = ["ssh", "-i", key, "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
           "-o", "BatchMode=yes", "root@" + ip, "/usr/bin/python2.7 -"]
    r = subprocess.run(cmd, input=PROBE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60, check=False)
    if r.returncode != 0:
        raise RuntimeError("probe failed on %s: %s" % (v["name"], r.stderr[-500:]))
    return json.loads(r.stdout.strip().splitlines()[-1])


EXPECT_OS = {"ubuntu1404": ("ubuntu", "14.04"), "ubuntu1804": ("ubuntu", "18.04"), "rhel7": ("rhel", "7.9"),
             "centos7": ("centos", "7"), "sles12": ("sles", "12.5"), "debian11": ("debian", "11")}


def check(v):
    r = probe(v)
    bad = []

    def eq(what, got, want):
        if got != want:
            bad.append("%s: got %r, want %r" % (what, got, want))

    eq("os-release ID/VERSION_ID", (r["os_id"], r["os_version"]), EXPECT_OS[v["family"]])
    if v["family"] == "debian11":
        eq("static WireServer unreachable", "connected" in r["static_wireserver"], False)
        return bad
    eq("os.uname() release", r["uname"][2], v["kernel"])
    eq("os.uname() nodename", r["uname"][1], v["name"])
    eq("uname -r", r["uname_r"], v["kernel"])
    eq("/proc/sys/kernel/osrelease", r["proc_osrelease"], v["kernel"])
    eq("MemTotal", r["memtotal"], v["mem_kb"])
    rows = {}
    if r["lsblk_rc"] == 0:
        for line in r["lsblk"].splitlines():
            kv = dict(p.split("=", 1) for p in line.split(" ") if "=" in p)
            rows[kv["NAME"].strip('"')] = dict((k, x.strip('"')) for k, x in kv.items())
    else:
        bad.append("lsblk rc=%s: %s" % (r["lsblk_rc"], r["lsblk"]))
    for d in v["devices"]:
        row = rows.get(d["name"])
        if row is None:
            bad.append("lsblk lacks %s" % d["name"])
            continue
        eq("lsblk %s TYPE" % d["name"], row["TYPE"], d["type"])
        eq("lsblk %s FSTYPE" % d["name"], row["FSTYPE"], d.get("fstype") or "")
        eq("lsblk %s SIZE" % d["name"], int(row["SIZE"]), d["size"])
        if d.get("fs"):
            mp = d["fs"]["mountpoint"]
            src = "/dev/mapper/" + d["dm_name"] if d["type"] == "lvm" else "/dev/" + d["name"]
            eq("mountinfo %s" % mp, r["mounts"].get(mp), [src, d["fstype"]])
            eq("lsblk %s MOUNTPOINT" % d["name"], row["MOUNTPOINT"], mp)
    a = v["agent"]
    eq("waagent --version", r["waagent"], "WALinuxAgent-%s running on %s\nPython: %s\nGoal state agent: %s\n"
       % (a["version"], a["distro"], a["python"], a["goal"]))
    if v["selinux"]:
        eq("getenforce", r["getenforce"], v["selinux"].capitalize())
        eq("/sys/fs/selinux/enforce", r["enforce"], {"enforcing": "1", "permissive": "0"}.get(v["selinux"]))
    else:
        eq("getenforce present", r["getenforce"], None)
    eq("modprobe -n vfat rc", r["vfat_rc"], 0)
    if "vfat.ko" not in r["vfat"]:
        bad.append("modprobe -n -v vfat: %r" % r["vfat"])
    comms = dict((c[1], c[0]) for c in r["procs"])
    eq("PID 1 comm/cmdline", r["pid1"], [v["pid1"]["comm"], " ".join(v["pid1"]["argv"])])
    for p in v.get("processes", []):
        cmd = " ".join(p["argv"])
        eq("process %s comm" % cmd, comms.get(cmd), os.path.basename(p["argv"][0]))
    eq("IMDS without Metadata header", r["imds_noheader"], 400)
    code, doc = r["imds"]
    eq("IMDS status", code, 200)
    eq("IMDS name/sub/rg/location/os/securityType", (doc["name"], doc["subscriptionId"], doc["resourceGroupName"], doc["location"],
                                                     doc["osType"], doc["securityProfile"]["securityType"]),
       (v["name"], V.SUBSCRIPTION, V.RESOURCE_GROUP, V.LOCATION, "Linux", ""))
    eq("WireServer reachable", r["wireserver"], True)
    eq("168.63.129.16 unreachable", "connected" in r["static_wireserver"], False)
    return bad


def main(names):
    allv = V.variants()
    sel = [v for v in allv if not names or v["name"] in names]
    failed = 0
    for v in sel:
        try:
            bad = check(v)
        except Exception as e:  # report and go on with the next host
            bad = ["probe error: %s" % e]
        print("%-16s %s" % (v["name"], "ok" if not bad else "MISMATCH"))
        for b in bad:
            print("    " + b)
        failed += bool(bad)
    print("%d/%d hosts look like their guest" % (len(sel) - failed, len(sel)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
