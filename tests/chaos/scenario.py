"""Simulator scenario for the chaos fleet: one VM per fleet host (tests/hosts/lib/fleet.py), same name,
in resource group rg-ade-chaos (the hosts' IMDS says so; the simulator's vmId of fleet-NNN is what the
host's IMDS answers), one data disk each, short ADE timings; every FAIL_EVERY-th VM's OS encryption fails
the way ADE really does ("Could not unmount /oldroot").
Usage: scenario.py FLEET_HOSTS_DIR [FAIL_EVERY] > scenario.json
"""
import json
import os
import sys

OS = {"ubuntu1804": ("ubuntu", "18.04"), "ubuntu1404": ("ubuntu", "14.04"), "centos7": ("centos", "7.9")}


def main():
    hosts_dir = sys.argv[1]
    fail_every = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    fleet = json.load(open(os.path.join(hosts_dir, "fleet.json")))
    vms = []
    for i, name in enumerate(fleet["hosts"], 1):
        spec = json.load(open(os.path.join(hosts_dir, name, "spec.json")))
        distro, version = OS[spec["fleet_kind"]]
        vm = {"name": name, "os": {"distro": distro, "version": version}, "memory_gb": 8,
              "os_disk_name": "{vm}-osdisk", "data_disks": [{"name": "{vm}-data0", "lun": 0, "size_gb": 8}]}
        if fail_every and i % fail_every == 0:
            vm["ade_behavior"] = "fail_os_unmount"
        vms.append(vm)
    doc = {
        "ade_timing": {"precheck": 5, "stamp": 5, "data_start": 5, "data": 30, "stripdown": 20,
                       "unmount_attempt": 5, "os_per_gb": 1, "os_min": 300, "decrypt_start": 5, "decrypt": 30},
        "subscriptions": [{"id": "11111111-1111-1111-1111-111111111111", "resource_groups": [{
            "name": fleet.get("rg", "rg-ade-chaos"), "location": "eastus",
            "vaults": [{"name": "kv-ade-chaos", "location": "eastus"}], "vms": vms}]}],
    }
    json.dump(doc, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
