"""azure-cli against the simulator: `az vm encryption show/enable/disable` run unchanged (azure-cli from PyPI,
logged in with a service principal against the simulator's token endpoint, custom cloud from the simulator's
/metadata/endpoints, its CA via REQUESTS_CA_BUNDLE) and agree with azure_ade.linux.vm_encryption_info on the
same VMs at the same simulated instant (the clock is frozen while both read).

Table-driven: VMS (scenario rows) and PLAN (actions + checkpoints). Other helpers add VMs by appending to VMS
and steps to PLAN. Run by tests/ci/azcli.sh; last line "N passed, N failed".

Reference for what az does: azure-cli 2.91.0, azure/cli/command_modules/vm/disk_encryption.py (encrypt_vm,
decrypt_vm, show_vm_encryption_status, _show_vm_encryption_status_thru_new_ade).
"""
import argparse
import json
import os
import subprocess
import sys
import time

SUB = "11111111-1111-1111-1111-111111111111"
RG = "rg-az"
KV = "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.KeyVault/vaults/kvaz" % (SUB, RG)
KV_OFF = "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.KeyVault/vaults/kvazoff" % (SUB, RG)

# ---- the table: one scenario row per VM (simulator scenario keys, see simulator/README.md)
VMS = [
    {"name": "az-none"},
    {"name": "az-enc", "data_disks": [{"lun": 0}],
     "encryption": {"state": "encrypted", "volume_type": "All", "vault": "kvaz"}},
    {"name": "az-data", "data_disks": [{"lun": 0}]},
    {"name": "az-skip", "data_disks": [{"lun": 0}, {"lun": 1, "mounted": False}]},
    {"name": "az-all", "data_disks": [{"lun": 0}], "ade_timing": {"restart_pending": 900}},
    {"name": "az-fail", "ade_behavior": "fail_os_unmount"},
    # Azure-side ADE blockers (issue 7, cloud/blockers.py): az checks none of them (disk_encryption.py encrypt_vm
    # validates only the vault, the volume type and the identity) and sends the extension PUT; we refuse first.
    {"name": "az-nvme", "disk_controller": "NVMe"},
    {"name": "az-eph", "ephemeral_os": True},
    {"name": "az-v6", "size": "Standard_D4ds_v6"},
    # dual pass (Azure AD app, 0.1): az shows it through its old-ADE path; we migrate it (vm_encryption migrate_dual_pass)
    {"name": "az-dual", "dual_pass": {"vault": "kvaz", "volume_type": "OS"}},
]
# scale sets (simulator/azsim/vmss.py): az vmss encryption enable/show, az vmss update-instances
SCALE_SETS = [
    {"name": "azss-man", "capacity": 2, "upgrade_policy": "Manual", "data_disks": [{"lun": 0}]},
]

# ---- the plan. Actions:
#   ("check", [vms], {vm: expected info phase})       az show vs vm_encryption_info on those VMs
#   ("az", vm, argv, {"rc": 0|"nonzero", "stderr": text})  one az command (clock running meanwhile)
#   ("until", vm, step label | None)                  advance the simulated clock to that step of the run (None: end)
#   ("no_put", vm)                                    the simulator's request log has no extension PUT for vm
#   ("vmss_check", scale set, phase)                  az vmss encryption show vs vmss_encryption_info, instance by
#                                                     instance (stamped disks), and vmss_encryption_info's phase
#   ("advance", seconds)                              move the simulated clock
#   ("dual", vm)                                      a dual-pass VM: az vm encryption show (old-ADE path) vs
#                                                     vm_encryption_info; vm_encryption migrate_dual_pass; then the
#                                                     single-pass comparison
#   ("blocked", vm, blocker id)                       az show and vm_encryption_info agree (not enabled), the info
#                                                     names the blocker, vm_encryption refuses with it and sends no
#                                                     PUT, then az vm encryption enable sends its PUT anyway
PLAN = [
    ("check", ["az-none", "az-enc"], {"az-none": "not_started", "az-enc": "succeeded"}),
    ("az", "az-data", ["vm", "encryption", "enable", "--disk-encryption-keyvault", KV, "--volume-type", "DATA"],
     {"rc": 0}),
    ("check", ["az-data"], {"az-data": "in_progress"}),
    ("until", "az-data", None),
    ("check", ["az-data"], {"az-data": "succeeded"}),
    ("az", "az-skip", ["vm", "encryption", "enable", "--disk-encryption-keyvault", KV, "--volume-type", "DATA"],
     {"rc": 0}),
    ("until", "az-skip", None),
    ("check", ["az-skip"], {"az-skip": "succeeded"}),
    ("az", "az-all", ["vm", "encryption", "enable", "--disk-encryption-keyvault", KV, "--volume-type", "ALL"],
     {"rc": 0, "stderr": "The encryption request was accepted"}),
    ("check", ["az-all"], {"az-all": "in_progress"}),
    ("until", "az-all", "stripdown (transient error)"),
    ("check", ["az-all"], {"az-all": "in_progress"}),
    ("until", "az-all", "OS copied, VMRestartPending"),
    ("check", ["az-all"], {"az-all": "restart_pending"}),
    ("until", "az-all", None),
    ("check", ["az-all"], {"az-all": "succeeded"}),
    ("az", "az-fail", ["vm", "encryption", "enable", "--disk-encryption-keyvault", KV, "--volume-type", "ALL"],
     {"rc": 0}),
    ("until", "az-fail", None),
    ("check", ["az-fail"], {"az-fail": "failed"}),
    ("az", "az-data", ["vm", "encryption", "disable", "--volume-type", "DATA"], {"rc": 0}),
    ("check", ["az-data"], {"az-data": "in_progress"}),
    ("until", "az-data", None),
    ("check", ["az-data"], {"az-data": "succeeded"}),
    ("az", "az-enc", ["vm", "encryption", "disable", "--volume-type", "DATA"],
     {"rc": "nonzero", "stderr": "Disabling encryption is not supported when OS volume is encrypted"}),
    ("az", "az-none", ["vm", "encryption", "enable", "--disk-encryption-keyvault", KV_OFF, "--volume-type", "OS"],
     {"rc": "nonzero", "stderr": "is not enabled for disk encryption"}),
    ("no_put", "az-none"),
    ("blocked", "az-nvme", "nvme_disk_controller"),
    ("blocked", "az-eph", "ephemeral_os_disk"),
    ("blocked", "az-v6", "size_v6_or_newer"),
    ("dual", "az-dual"),
    ("vmss_check", "azss-man", "not_started"),
    ("az", "azss-man", ["vmss", "encryption", "enable", "--disk-encryption-keyvault", KV, "--volume-type", "ALL"],
     {"rc": "nonzero", "stderr": "OS disk encyrption is not yet supported for Linux VM scale sets"}),
    ("az", "azss-man", ["vmss", "encryption", "enable", "--disk-encryption-keyvault", KV],
     {"rc": 0, "stderr": "az vmss update-instances"}),
    ("vmss_check", "azss-man", "pending_upgrade"),
    ("az", "azss-man", ["vmss", "update-instances", "--instance-ids", "*"], {"rc": 0}),
    ("advance", 7200),
    ("vmss_check", "azss-man", "succeeded"),
]


class Harness(object):
    def __init__(self, az, workdir, sim):
        self.az_bin, self.workdir, self.sim = az, workdir, sim
        self.passed = self.failed = 0
        e = json.load(open(os.path.join(sim.workdir, "endpoints.json")))
        self.endpoints = e
        self.env = dict(os.environ, AZURE_CONFIG_DIR=os.path.join(workdir, "azconfig"),
                        REQUESTS_CA_BUNDLE=e["ca_bundle"], AZURE_CORE_COLLECT_TELEMETRY="false",
                        AZURE_CORE_NO_COLOR="true", AZURE_CORE_SURVEY_MESSAGE="false")
        for k in ("AZURE_CLIENT_ID", "AZURE_SECRET", "AZURE_TENANT", "AZURE_SUBSCRIPTION_ID"):
            self.env.pop(k, None)
        # vm_encryption_info (Ansible) reads the simulator through the collection's own auth options
        self.ansible_env = dict(os.environ, AZURE_CLIENT_ID=e["client_id"], AZURE_SECRET=e["client_secret"],
                                AZURE_TENANT=e["tenant_id"], AZURE_SUBSCRIPTION_ID=e["subscription_id"],
                                AZURE_RESOURCE_MANAGER_URL=e["resource_manager"], AZURE_AUTHORITY_HOST=e["authority"],
                                AZURE_CA_BUNDLE=e["ca_bundle"], ANSIBLE_LOCALHOST_WARNING="false",
                                ANSIBLE_INVENTORY_UNPARSED_WARNING="false")
        self.ansible_env.pop("REQUESTS_CA_BUNDLE", None)

    # ---- results
    def ok(self, what):
        self.passed += 1
        print("PASS: " + what)

    def ko(self, what, detail=""):
        self.failed += 1
        print("FAIL: " + what + ((" -- " + detail) if detail else ""))

    def expect(self, cond, what, detail=""):
        if cond:
            self.ok(what)
        else:
            self.ko(what, detail)
        return cond

    # ---- az
    def az(self, args, clock_running=False):
        t0 = time.time()
        if clock_running:
            self.sim.set_time_scale(120)     # 2 simulated minutes per wall second while az waits on an LRO
        try:
            p = subprocess.run([self.az_bin] + args, env=self.env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=300,
                               check=False)
        finally:
            if clock_running:
                self.sim.set_time_scale(0)
        return p.returncode, p.stdout, p.stderr, time.time() - t0

    def login(self):
        u = self.endpoints["resource_manager"]
        steps = [["cloud", "register", "-n", "AzSim", "--endpoint-resource-manager", u],
                 ["cloud", "set", "-n", "AzSim"],
                 ["config", "set", "core.instance_discovery=false"],
                 ["login", "--service-principal", "-u", self.endpoints["client_id"], "-p",
                  self.endpoints["client_secret"], "--tenant", self.endpoints["tenant_id"]]]
        for args in steps:
            rc, out, err, _unused = self.az(args)
            shown = " ".join(a if a != self.endpoints["client_secret"] else "***" for a in args)
            if not self.expect(rc == 0, "az " + shown, err.strip()[-400:]):
                return False
        rc, out, err, _unused = self.az(["account", "show", "--query", "id", "-o", "tsv"])
        return self.expect(rc == 0 and out.strip() == SUB, "az account show: the simulator's subscription",
                           out + err)

    # ---- Ansible
    def playbook(self, task, out):
        """Run one task of this collection (Ansible, this core line), register r, return r as a dict."""
        play = os.path.join(self.workdir, "play.yml")
        with open(play, "w") as f:
            f.write("- hosts: localhost\n  gather_facts: false\n  tasks:\n" + task +
                    "      register: r\n      ignore_errors: true\n"
                    "    - ansible.builtin.copy: {content: '{{ r | to_json }}', dest: '%s', mode: '0600'}\n" % out)
        if os.path.exists(out):
            os.unlink(out)
        p = subprocess.run(["ansible-playbook", "-c", "local", "-i", "localhost,", play,
                            "-e", "ansible_python_interpreter=" + sys.executable],
                           env=self.ansible_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           universal_newlines=True, timeout=300, check=False)
        if not os.path.exists(out):
            raise RuntimeError("ansible-playbook failed: %s" % p.stdout[-1000:])
        with open(out) as f:
            return json.load(f)

    def info(self, names):
        """One vm_encryption_info run (Ansible, this core line) for these VMs; its result as a dict."""
        res = self.playbook("    - azure_ade.linux.vm_encryption_info:\n        resource_group: %s\n"
                            "        names: %s\n" % (RG, json.dumps(names)), os.path.join(self.workdir, "info.json"))
        if res.get("failed"):
            raise RuntimeError("vm_encryption_info failed: %s" % res.get("msg"))
        return dict((v["name"], v) for v in res["vms"]), res

    # ---- actions
    def check(self, names, phases):
        info, res = self.info(names)
        warnings = res.get("warnings") or []
        for name in names:
            self.compare(name, info[name], phases.get(name), warnings)
        return info

    def compare(self, name, st, want_phase, warnings):
        state = self.sim.vm(RG, name)
        rc, out, err, secs = self.az(["vm", "encryption", "show", "-g", RG, "-n", name])
        label = "%s (phase %s, %s)" % (name, st["phase"], (st["progress_message"] or "")[:60].replace("\n", " "))
        if want_phase:
            self.expect(st["phase"] == want_phase, "%s: vm_encryption_info phase %s" % (name, want_phase),
                        "got %s (%s)" % (st["phase"], st["phase_reason"]))
        ade = [e for e in state["extensions"] if e["publisher"] == "Microsoft.Azure.Security"]
        if not ade:
            self.expect(rc == 0 and not out.strip() and "Azure Disk Encryption is not enabled" in err
                        and st["phase"] == "not_started" and st["encryption_mode"] == "none",
                        "%s: az and vm_encryption_info agree: ADE not enabled" % name, out + err)
            return
        stamped = ([state["os_disk"]["name"]] if state["os_disk"]["stamped"] else []) + \
            [d["name"] for d in state["data_disks"] if d["stamped"]]
        all_disks = [state["os_disk"]["name"]] + [d["name"] for d in state["data_disks"]]
        if len(stamped) < len(all_disks):
            # azure-cli 2.91.0 disk_encryption.py _show_vm_encryption_status_thru_new_ade reads
            # div['encryptionSettings'] for every disk of the instance view; ARM omits it on a disk the extension
            # did not stamp (recording java_canEncryptVirtualMachine_windows2008r2_46_get) -> KeyError.
            self.expect(rc != 0 and "KeyError: 'encryptionSettings'" in err,
                        "%s: az vm encryption show fails on the unstamped disk(s) %s as predicted (azure-cli bug)"
                        % (name, sorted(set(all_disks) - set(stamped))), (out + err)[-400:])
            ours = ([state["os_disk"]["name"]] if st["os_disk_stamped"] else []) + st["data_disks_stamped"]
            self.expect(sorted(stamped) == sorted(ours),
                        "%s: vm_encryption_info sees the stamped disks %s" % (name, sorted(stamped)))
        else:
            if not self.expect(rc == 0, "%s: az vm encryption show rc 0 (%.1fs)" % (name, secs), err[-400:]):
                return
            shown = json.loads(out)
            sub = json.loads(shown["substatus"][0]["message"]) if shown.get("substatus") else {}
            msg = shown["status"][0].get("message") if shown.get("status") else None
            az_stamped = sorted(d["name"] for d in shown["disks"]
                                if any(s["code"] == "EncryptionState/encrypted" for s in d["statuses"]))
            ours = sorted(([state["os_disk"]["name"]] if st["os_disk_stamped"] else []) + st["data_disks_stamped"])
            agree = (sub.get("os") == st["os_volume_encrypted"] and sub.get("data") == st["data_volumes_encrypted"]
                     and (msg or shown["status"][0].get("displayStatus")) == st["progress_message"]
                     and az_stamped == ours)
            self.expect(agree, "%s: az vm encryption show and vm_encryption_info agree: %s" % (name, label),
                        json.dumps({"az": [msg, sub, az_stamped], "ours": [st["progress_message"],
                                    st["os_volume_encrypted"], st["data_volumes_encrypted"], ours]})[:600])
        if st.get("skipped_data_disks"):
            named = [w for w in warnings if name in w and all(d in w for d in st["skipped_data_disks"])]
            self.expect(bool(named), "%s: warning names the skipped data disk(s) %s" % (
                name, st["skipped_data_disks"]), json.dumps(warnings)[:300])

    def run_az(self, name, args, want):
        entries = self.sim.log()
        seq = entries[-1]["seq"] if entries else 0
        rc, out, err, secs = self.az(args + ["-g", RG, "-n", name], clock_running=True)
        what = "az %s -n %s (%.1fs)" % (" ".join(a if "/" not in a else a.rsplit("/", 1)[-1] for a in args), name, secs)
        rc_ok = True if want["rc"] == "any" else (rc == 0 if want["rc"] == 0 else rc != 0)
        self.expect(rc_ok and want.get("stderr", "") in err, what + " -> rc %s" % want["rc"],
                    "rc=%s %s" % (rc, (err or out)[-500:]))
        puts = [e for e in self.sim.log(since=seq) if e["method"] == "PUT"]
        return puts

    def until(self, name, label, limit=200):
        for _unused in range(limit):
            ext = [e for e in self.sim.vm(RG, name)["extensions"] if e["publisher"] == "Microsoft.Azure.Security"]
            run = ext[0].get("run") if ext else None
            if run is None:
                if label is None:
                    return
                break
            if label is not None and run["next_step"] == label:
                self.sim.advance(run["next_step_in_seconds"] + 0.001)
                return
            self.sim.advance(run["next_step_in_seconds"] + 0.001)
        if label is not None:
            self.ko("%s: run never reached %r" % (name, label))

    def blocked(self, name, blocker):
        """A VM Azure does not support ADE on: what az does (nothing checked, PUT sent) vs what we do (refused)."""
        info = self.check([name], {name: "not_started"})
        found = [b["id"] for b in info[name].get("ade_blockers") or []]
        self.expect(blocker in found, "%s: vm_encryption_info ade_blockers names %s" % (name, blocker), str(found))
        res = self.playbook("    - azure_ade.linux.vm_encryption:\n        resource_group: %s\n        name: %s\n"
                            "        key_vault: kvaz\n        volume_type: Data\n        wait: false\n" % (RG, name),
                            os.path.join(self.workdir, "enable.json"))
        self.expect(res.get("failed") and "[%s]" % blocker in (res.get("msg") or "") and not res.get("changed"),
                    "%s: vm_encryption refuses it (%s) before any write" % (name, blocker), (res.get("msg") or "")[:300])
        self.no_put(name, "vm_encryption refused")
        puts = self.run_az(name, ["vm", "encryption", "enable", "--disk-encryption-keyvault", KV, "--volume-type",
                                  "DATA"], {"rc": "any"})
        self.expect(any(("/virtualMachines/%s/extensions/" % name).lower() in e["path"].lower() for e in puts),
                    "%s: az vm encryption enable checks no Azure-side blocker and sends the extension PUT" % name,
                    json.dumps(puts)[:300])

    def dual(self, name):
        info, _unused = self.info([name])
        st = info[name]
        self.expect(st["encryption_mode"] == "dual_pass" and st["phase"] == "succeeded",
                    "%s: vm_encryption_info sees dual pass, succeeded" % name, "%s %s" % (st["encryption_mode"], st["phase"]))
        rc, out, err, _unused = self.az(["vm", "encryption", "show", "-g", RG, "-n", name])
        if rc == 0:
            shown = json.loads(out)
            self.expect(shown.get("osDisk") == st["os_volume_encrypted"] and shown.get("dataDisk") ==
                        st["data_volumes_encrypted"], "%s: az vm encryption show (old-ADE path) and vm_encryption_info "
                        "agree: os %s, data %s" % (name, st["os_volume_encrypted"], st["data_volumes_encrypted"]),
                        out[-400:])
        else:
            # azure-cli 2.91.0 show_vm_encryption_status (old-ADE path) calls VMExtensionShow with
            # command_args {'name': ...}, but the aaz command's argument is vm_extension_name (-n,
            # aaz/latest/vm/extension/_show.py) -> "Missing required field: -n" on every dual-pass VM
            self.expect(rc != 0 and "Missing required field: -n" in err,
                        "%s: az vm encryption show fails on a dual-pass VM as predicted (azure-cli bug: the old-ADE "
                        "path passes 'name' where aaz wants vm_extension_name)" % name, err[-400:])
        self.sim.set_time_scale(120)
        try:
            res = self.playbook("    - azure_ade.linux.vm_encryption:\n        resource_group: %s\n        name: %s\n"
                                "        migrate_dual_pass: true\n        poll_interval: 0.5\n        wait: false\n" % (RG, name),
                                os.path.join(self.workdir, "migrate.json"))
        finally:
            self.sim.set_time_scale(0)
        self.expect(not res.get("failed") and (res.get("migration") or {}).get("steps") ==
                    ["stamp", "disable_model", "single_pass", "clear_model"],
                    "%s: vm_encryption migrate_dual_pass moves it to single pass in 4 steps" % name,
                    str(res.get("msg") or res.get("migration"))[:400])
        self.check([name], {name: "succeeded"})

    def vmss_check(self, name, want_phase):
        res = self.playbook("    - azure_ade.linux.vmss_encryption_info:\n        resource_group: %s\n"
                            "        name: %s\n" % (RG, name), os.path.join(self.workdir, "vmss.json"))
        if not self.expect(not res.get("failed"), "%s: vmss_encryption_info runs" % name, str(res.get("msg"))):
            return
        ours = res["scale_sets"][0]
        self.expect(ours["phase"] == want_phase, "%s: vmss_encryption_info phase %s" % (name, want_phase),
                    "got %s (%s)" % (ours["phase"], ours["counts"]))
        rc, out, err, _unused = self.az(["vmss", "encryption", "show", "-g", RG, "-n", name])
        if not self.expect(rc == 0, "%s: az vmss encryption show rc 0" % name, err[-400:]):
            return
        shown = json.loads(out) if out.strip() else []
        az_view = {}
        for inst in shown:
            az_view[inst["id"].rsplit("/", 1)[-1]] = sorted(
                d["name"] for d in inst["disks"] if any(s["code"] == "EncryptionState/encrypted" for s in d["statuses"]))
        our_view = dict((r["instance_id"], sorted(r["data_disks_stamped"] + (
            [n for n in az_view.get(r["instance_id"], []) if "OsDisk" in n] if r["os_disk_stamped"] else [])))
            for r in ours["instances"])
        self.expect(az_view == our_view, "%s: az vmss encryption show and vmss_encryption_info agree per instance "
                    "(stamped disks %s)" % (name, sorted((k, len(v)) for k, v in az_view.items())),
                    json.dumps({"az": az_view, "ours": our_view})[:600])

    def no_put(self, name, who="az refused"):
        entries = self.sim.log()
        puts = [e for e in entries if e["method"] == "PUT" and ("/virtualMachines/%s/" % name).lower() in
                e["path"].lower()]
        self.expect(not puts, "%s: %s before sending anything (no PUT in the request log)" % (name, who),
                    json.dumps(puts)[:300])


def scenario():
    return {"config": {"lro_retry_after": 1},
            "subscriptions": [{"id": SUB, "resource_groups": [{
                "name": RG, "location": "eastus",
                "vaults": [{"name": "kvaz"}, {"name": "kvazoff", "enabled_for_disk_encryption": False}],
                "vms": VMS, "scale_sets": SCALE_SETS}]}]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--az", required=True)
    ap.add_argument("--workdir", required=True)
    a = ap.parse_args()
    from azsim.admin import SimAdmin   # PYTHONPATH=simulator
    simdir = os.path.join(a.workdir, "sim")
    with open(os.path.join(a.workdir, "scenario.json"), "w") as f:
        json.dump(scenario(), f)
    subprocess.check_call([sys.executable, "-m", "azsim", "serve", "--workdir", simdir, "--port", "0",
                           "--time-scale", "1", "--scenario", os.path.join(a.workdir, "scenario.json"), "--daemon"],
                          stdout=subprocess.DEVNULL)
    sim = SimAdmin(simdir)
    sim.set_time_scale(0)
    h = Harness(a.az, a.workdir, sim)
    t0 = time.time()
    try:
        if h.login():
            for step in PLAN:
                kind = step[0]
                try:
                    if kind == "check":
                        h.check(step[1], step[2])
                    elif kind == "az":
                        h.run_az(step[1], step[2], step[3])
                    elif kind == "until":
                        h.until(step[1], step[2])
                    elif kind == "no_put":
                        h.no_put(step[1])
                    elif kind == "blocked":
                        h.blocked(step[1], step[2])
                    elif kind == "dual":
                        h.dual(step[1])
                    elif kind == "vmss_check":
                        h.vmss_check(step[1], step[2])
                    elif kind == "advance":
                        sim.advance(step[1])
                except Exception as exc:  # pylint: disable=broad-except
                    h.ko("%s %s" % (kind, step[1]), "%s: %s" % (exc.__class__.__name__, exc))
    finally:
        try:
            sim.shutdown()
        except Exception:  # pylint: disable=broad-except
            pass
    print("azure-cli harness: %.0fs" % (time.time() - t0))
    print("%d passed, %d failed" % (h.passed, h.failed))
    return 1 if h.failed else 0


if __name__ == "__main__":
    sys.exit(main())
