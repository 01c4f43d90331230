"""Guest bridge: what the simulator says happens to a VM happens to its fleet test host.

Polls the simulator's state (GET /_sim/state) and drives the fleet hosts (tests/hosts/lib/fleet.py):
* VM not running (stopping, stopped, deallocating, deallocated) -> the host's network link goes down (SSH
  and everything else unreachable, as for a stopped VM); running again -> the host boots again: its
  namespace is restarted (a new PID 1, sshd, a new /proc/sys/kernel/random/boot_id), files kept.
* ARM restart (a POST .../restart the simulator accepted, from its request log) -> the host reboots the same way.
  Every reboot and power-on goes through hostlib.reboot (reboot(2) in the host's PID namespace, the host's
  supervisor boots it again: one mechanism for guest-initiated and Azure-initiated restarts).
* Volumes the simulator shows encrypted (guest_encrypted: ADE finished them) -> `crypt.json` in the host's dir:
  from its next boot the host shows root/data on dm-crypt (tests/hosts/lib/power.py crypt_view). A VM with the
  simulator behaviour boot_hang_after_encryption and an encrypted OS disk -> `boot-hang`: its next boot stops
  before the root is unlocked (no SSH, no agent), as the simulator's instance view shows it (agent Not Ready).
  A restored OS disk (pre-encryption snapshot) drops both.
* The OS disk goes with the guest's files: when the simulator takes a snapshot of a VM's OS disk, the
  host's own files (its upper dir) are copied as that snapshot's content; when the VM's OS disk is swapped
  for a disk restored from that snapshot, the host is stopped, its files become the snapshot's copy, and it
  boots from them when the VM starts (so a restore really brings back the guest as it was, SELinux config
  and the role's saved state included).
* Offline OS encryption (the ADE extension's status message is one of the stripped-down-OS phase's:
  "Restarted extension from stripped down OS", "Attempt #n to unmount /oldroot", "OS disk encryption
  started") -> SSH stops answering (link down) until the phase ends, as a real guest does (ADE reference:
  the VM is unreachable while the OS volume is encrypted offline).
Run by chaos.py in a thread (start()); events are kept for the figures.
"""
import os
import re
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "hosts", "lib"))

OFFLINE_MARKERS = ("Restarted extension from stripped down OS", "to unmount /oldroot", "OS disk encryption started")
DOWN_STATES = ("stopping", "stopped", "deallocating", "deallocated")


class Bridge:
    def __init__(self, sim, rg, names, interval=0.3, files=True, offline=True):
        import hostlib  # noqa: E402  pylint: disable=import-outside-toplevel
        self.H = hostlib
        self.sim, self.rg, self.names, self.interval, self.files = sim, rg, set(names), interval, files
        self.crypt = {}
        self.offline = offline   # False: SSH stays up during ADE's offline OS phase (e2e steps that need the guest)
        self.link = dict((n, True) for n in names)
        self.power = {}
        self.off = set()   # hosts the bridge powered off (OS disk swapped): powered on when the VM runs
        self.os_disk = {}
        self.snapdir = os.path.join(self.H.HOSTS, ".fleet-snapshots")
        self.seq = sim.call("GET", "/log", query={"since": 0, "kind": "arm"})["last_seq"]
        self.events = []
        self.counts = {"link_down": 0, "link_up": 0, "reboots": 0, "offline_os": 0}
        self._stop = threading.Event()
        self.thread = None

    def start(self):
        self.thread = threading.Thread(target=self.loop, name="guest-bridge", daemon=True)
        self.thread.start()
        return self

    def stop(self):
        self._stop.set()
        if self.thread:
            self.thread.join(10)
        for n, up in list(self.link.items()):   # leave every host reachable
            if not up:
                self.set_link(n, True)

    def note(self, name, what):
        self.events.append((round(time.time(), 2), name, what))

    def set_link(self, name, up):
        self.H.hold_link(name, not up)
        self.H.set_link(self.H.spec(name), up)
        self.link[name] = up
        self.counts["link_up" if up else "link_down"] += 1
        self.note(name, "link up" if up else "link down")

    def reboot(self, name):
        """A new boot of the host (files kept): hostlib.reboot, as a guest `reboot` (or power-on if it is off)."""
        how = self.H.reboot(name)
        self.counts["reboots"] += 1
        self.note(name, how)

    def guest_disks(self, name, vm):
        """What the next boot of the host shows of ADE: crypt.json / boot-hang from the simulator's disk state."""
        want = {"os": bool(vm["os_disk"].get("encrypted")),
                "data": any(d.get("encrypted") for d in vm.get("data_disks") or [])}
        hang = bool(vm.get("boot_hang_after_encryption")) and want["os"]
        key = (want["os"], want["data"], hang)
        if self.crypt.get(name) == key:
            return
        self.crypt[name] = key
        hd = self.H.hdir(name)
        cp, hp = os.path.join(hd, "crypt.json"), os.path.join(hd, "boot-hang")
        if want["os"] or want["data"]:
            with open(cp, "w") as f:
                import json  # pylint: disable=import-outside-toplevel
                json.dump(want, f)
        elif os.path.exists(cp):
            os.unlink(cp)
        if hang:
            open(hp, "w").close()
        elif os.path.exists(hp):
            os.unlink(hp)
        self.note(name, "next boot: os %s, data %s%s" % ("dm-crypt" if want["os"] else "plain",
                                                         "dm-crypt" if want["data"] else "plain", ", hangs" if hang else ""))

    def snapshot(self, name, snap):
        dst = os.path.join(self.snapdir, snap)
        if os.path.exists(dst):
            return
        os.makedirs(self.snapdir, exist_ok=True)
        subprocess.run(["cp", "-a", os.path.join(self.H.hdir(name), "upper"), dst], check=False)
        self.counts["snapshots"] = self.counts.get("snapshots", 0) + 1
        self.note(name, "files saved as " + snap)

    def swapped(self, name, disk):
        """The VM now has OS disk `disk`: restored from snapshot <vm>-<set>-os -> the guest's files are that copy."""
        if not disk.endswith("-restored-os") or not self.files:
            return
        src = os.path.join(self.snapdir, disk[:-len("-restored-os")] + "-os")
        if not os.path.isdir(src):
            self.note(name, "no saved files for " + disk)
            return
        self.H.power_off(name)   # also a host between two boots: its supervisor would boot it on the old files
        self.off.add(name)   # the VM's next "running" powers it on, however short the stopped window was
        hd = self.H.hdir(name)
        for sub in ("upper", "work"):
            subprocess.run(["rm", "-rf", os.path.join(hd, sub)], check=False)
        subprocess.run(["cp", "-a", src, os.path.join(hd, "upper")], check=False)
        os.makedirs(os.path.join(hd, "work"))
        if self.link.get(name):
            self.set_link(name, False)   # boots again when the VM runs
        self.counts["restored_files"] = self.counts.get("restored_files", 0) + 1
        self.note(name, "files restored from " + os.path.basename(src))

    def loop(self):
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception as e:  # pylint: disable=broad-except
                self.note("-", "bridge error: %s" % e)
            self._stop.wait(self.interval)

    def tick(self):
        # ARM restarts are short (60 simulated s): taken from the request log, not from a state sample
        new = self.sim.call("GET", "/log", query={"since": self.seq, "kind": "arm"})
        self.seq = new["last_seq"]
        for e in new["entries"]:
            m = re.search(r"/snapshots/((fleet-\d{3})-.+-os)$", e["path"], re.I)
            if m and self.files and e["method"] == "PUT" and e["status"] in (200, 201, 202) and m.group(2).lower() in self.names:
                self.snapshot(m.group(2).lower(), m.group(1).lower())
            m = re.search(r"/virtualMachines/([^/]+)/restart$", e["path"], re.I)
            if m and e["method"] == "POST" and e["status"] == 202 and m.group(1).lower() in self.names:
                self.reboot(m.group(1).lower())
        state = self.sim.state()
        for r in state["subscriptions"][0]["resource_groups"]:
            if r["name"].lower() != self.rg.lower():
                continue
            for vm in r["vms"]:
                n = vm["name"]
                if n not in self.names:
                    continue
                power = vm["power_state"]
                disk = vm["os_disk"]["name"].lower()
                if self.os_disk.get(n, disk) != disk:
                    self.swapped(n, disk)
                self.os_disk[n] = disk
                self.guest_disks(n, vm)
                before = self.power.get(n, "running")
                self.power[n] = power
                msg = ""
                for e in vm["extensions"]:
                    if e["type"] == "AzureDiskEncryptionForLinux" and e.get("status"):
                        msg = e["status"].get("message") or ""
                offline = self.offline and power == "running" and any(m in msg for m in OFFLINE_MARKERS)
                want_up = power == "running" and not offline
                if power == "running" and (n in self.off or (before in DOWN_STATES + ("starting",) and not self.link[n])):
                    # a swap ends the host's namespace: a restore's stop/swap/start can fit between two samples
                    # (a loaded machine), so "was stopped" alone would leave the host off while Azure runs the VM
                    self.off.discard(n)
                    self.reboot(n)
                if offline and self.link[n]:
                    self.counts["offline_os"] += 1
                if want_up != self.link[n]:
                    self.set_link(n, want_up)


def main(argv):
    """Run the bridge for the fixed test hosts in e2e: guests.py WORKDIR RG NAME[,NAME...] (until SIGTERM).
    files=False: the fixed hosts keep their files in disk images (restores of files are the fleet's);
    offline only with BRIDGE_OFFLINE=1 (the e2e steps read the guest while ADE runs)."""
    import signal  # pylint: disable=import-outside-toplevel
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "simulator"))
    from azsim.admin import SimAdmin  # pylint: disable=import-outside-toplevel
    sim = SimAdmin(argv[0])
    b = Bridge(sim, argv[1], [n.lower() for n in argv[2].split(",") if n], files=False,
               offline=os.environ.get("BRIDGE_OFFLINE", "0") == "1")
    signal.signal(signal.SIGTERM, lambda *_a: b._stop.set())  # pylint: disable=protected-access
    b.loop()
    b.stop()
    for e in b.events:
        print("%.2f %s %s" % e, flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
