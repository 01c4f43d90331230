"""Simulator scenario for the chaos fleet: one VM per fleet host (tests/hosts/lib/fleet.py), same name,
in resource group rg-ade-chaos (the hosts' IMDS says so; the simulator's vmId of fleet-NNN is what the
host's IMDS answers), one data disk each, short ADE timings; every FAIL_EVERY-th VM's OS encryption fails
the way ADE really does ("Could not unmount /oldroot"). Each VM has a NIC with its fleet host's address
(simulator/azsim/network.py), so the rollout role names each VM by the address Ansible connects to (the fleet
inventory has no azure_vm_name host vars; the guest's IMDS answer only confirms).
Usage: scenario.py FLEET_HOSTS_DIR [FAIL_EVERY] > scenario.json
"""
import ipaddress
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "hosts", "lib"))
import hostlib as H  # noqa: E402  the fleet hosts' addresses (vm_ip)

OS = {"ubuntu1804": ("ubuntu", "18.04"), "ubuntu1404": ("ubuntu", "14.04"), "centos7": ("centos", "7.9")}


def main():
    hosts_dir = sys.argv[1]
    fail_every = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    fleet = json.load(open(os.path.join(hosts_dir, "fleet.json")))
    vms = []
    nets = set()
    for i, name in enumerate(fleet["hosts"], 1):
        spec = json.load(open(os.path.join(hosts_dir, name, "spec.json")))
        distro, version = OS[spec["fleet_kind"]]
        vm = {"name": name, "os": {"distro": distro, "version": version}, "memory_gb": 8,
              "os_disk_name": "{vm}-osdisk", "data_disks": [{"name": "{vm}-data0", "lun": 0, "size_gb": 8}]}
        addr = H.vm_ip(spec)
        net16 = str(ipaddress.ip_network(addr + "/16", strict=False))
        nets.add(net16)
        vm["network"] = {"vnet": "vnet-ade-chaos", "subnet": "snet-" + net16.split("/", maxsplit=1)[0].replace(".", "-"),
                         "private_ip": addr}
        if fail_every and i % fail_every == 0:
            vm["ade_behavior"] = "fail_os_unmount"
        vms.append(vm)
    doc = {
        "ade_timing": {"precheck": 5, "stamp": 5, "data_start": 5, "data": 30, "stripdown": 20,
                       "unmount_attempt": 5, "os_per_gb": 1, "os_min": 300, "decrypt_start": 5, "decrypt": 30},
        "subscriptions": [{"id": "11111111-1111-1111-1111-111111111111", "resource_groups": [{
            "name": fleet.get("rg", "rg-ade-chaos"), "location": "eastus",
            "vaults": [{"name": "kv-ade-chaos", "location": "eastus"}],
            "vnets": [{"name": "vnet-ade-chaos", "address_prefixes": sorted(nets) or ["10.0.0.0/16"],
                       "subnets": [{"name": "snet-" + n.split("/", maxsplit=1)[0].replace(".", "-"), "prefix": n}
                                   for n in sorted(nets)]}],
            "vms": vms}]}],
    }
    json.dump(doc, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
