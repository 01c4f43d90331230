"""Simulator scenario for the e2e run: one VM per test host of the inventory, named like the host, in the
subscription / resource group / region the hosts' fake IMDS reports, plus the Key Vault the run uses.
Usage: scenario.py INVENTORY.yml FAILING_HOST [DATA_ONLY_HOST...] > scenario.json
The failing host's VM fails during OS encryption the way ADE really does ("failed to unmount")."""
import ipaddress
import json
import os
import sys

import yaml

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "hosts", "lib"))
from variants import uid  # noqa: E402  the hosts' IMDS vmId, so the identity check (IMDS vmId == ARM vmId) holds

SUBSCRIPTION = "11111111-1111-1111-1111-111111111111"
RESOURCE_GROUP = "rg-ade-test"
LOCATION = "eastus"
VAULT = "kv-ade-e2e"
VNET = "vnet-ade-test"
NSG = "nsg-ade-test"

# What each test host stands for (distro and version as the simulator's image reference wants them).
OS = {
    "ubuntu1404-k44": ("ubuntu", "14.04"), "ubuntu1404-k415": ("ubuntu", "14.04"), "ubuntu1804": ("ubuntu", "18.04"),
    "rhel7-rootvg": ("redhat", "7.9"), "rhel7-lvm": ("redhat", "7.9"), "centos7-selinux": ("centos", "7.9"),
    "sles12": ("sles", "12"), "lowmem-4g": ("ubuntu", "18.04"), "nested-mnt": ("ubuntu", "18.04"),
    "app-mongod": ("ubuntu", "18.04"), "app-dockerd": ("ubuntu", "18.04"), "agent-2232": ("ubuntu", "18.04"),
    "debian11-plain": ("debian", "11"),
}
DATA_ONLY = {"sles12"}


def hosts(inv):
    return sorted(addresses(inv))


def addresses(inv):
    """{host: ansible_host or None} of every host in the inventory."""
    out = {}

    def walk(group):
        for h, hv in ((group or {}).get("hosts") or {}).items():
            if out.get(h) is None:
                out[h] = (hv or {}).get("ansible_host")
        for g in ((group or {}).get("children") or {}).values():
            walk(g)
    for g in inv.values():
        walk(g)
    return out


def network(addr):
    """The VNet of the run (issue 17, simulator/azsim/network.py): one subnet per /16 of the hosts' addresses, so
    each VM's NIC has the test host's own address (found by address like a real VM) and an NSG."""
    nets = sorted({str(ipaddress.ip_network(a + "/16", strict=False)) for a in addr.values() if a})
    subnets = [{"name": "snet-" + n.split("/")[0].replace(".", "-"), "prefix": n, "nsg": NSG} for n in nets]
    return {"nsgs": [{"name": NSG}],
            "vnets": [{"name": VNET, "address_prefixes": nets or ["10.0.0.0/16"], "subnets": subnets or
                       [{"name": "default", "prefix": "10.0.0.0/16", "nsg": NSG}]}]}, subnets


def main():
    inv = yaml.safe_load(open(sys.argv[1]))
    failing = sys.argv[2]
    vms = []
    addr = addresses(inv)
    net, subnets = network(addr)
    for h in sorted(addr):
        distro, version = OS.get(h, ("ubuntu", "18.04"))
        vm = {"name": h, "vm_id": uid(h, "vmid"), "os": {"distro": distro, "version": version},
              "memory_gb": 4 if h == "lowmem-4g" else 8,
              "data_disks": [{"size_gb": 8}],
              # managed boot diagnostics, as the portal turns it on: the restart check reads the serial log of a
              # VM that does not come back (roles/rollout/tasks/verify.yml)
              "boot_diagnostics": True}
        if addr[h]:
            sn = [x["name"] for x in subnets if ipaddress.ip_address(addr[h]) in ipaddress.ip_network(x["prefix"])]
            vm["network"] = {"vnet": VNET, "subnet": sn[0], "private_ip": addr[h], "nsg": NSG}
        if h == failing:
            vm["ade_behavior"] = "fail_os_unmount"
        elif h in DATA_ONLY:
            vm["ade_behavior"] = "data_only_distro"
        vms.append(vm)
    doc = {
        "ade_timing": {"precheck": 5, "stamp": 5, "data_start": 5, "data": 30, "stripdown": 20,
                       "unmount_attempt": 5, "os_per_gb": 1, "os_min": 60, "decrypt_start": 5, "decrypt": 30},
        "subscriptions": [{"id": SUBSCRIPTION, "resource_groups": [{
            "name": RESOURCE_GROUP, "location": LOCATION,
            "vaults": [{"name": VAULT, "location": LOCATION}],
            "nsgs": net["nsgs"], "vnets": net["vnets"],
            "vms": vms}]}],
    }
    json.dump(doc, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
