"""Example request counts against the simulator with the real SDK (not a test; prints figures).

    PYTHONPATH=simulator /tmp/azure_ade/venv-2.19/bin/python simulator/tools/request_counts.py [--vms 500]

Starts its own simulator (time scale 1; the clock is advanced explicitly), then measures:
  1. one enable-to-success (VolumeType All, 2 data disks, 30 GB OS) with a naive poller that reads the VM
     instance view once per simulated poll interval (60 s data phase / 300 s OS phase),
  2. status of N VMs in one resource group: list with $expand=instanceView (paged) vs one GET per VM.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from azsim.admin import SimAdmin  # noqa: E402

SUB = "11111111-1111-1111-1111-111111111111"
ADE = "AzureDiskEncryptionForLinux"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vms", type=int, default=500)
    a = ap.parse_args()
    wd = tempfile.mkdtemp(prefix="azsim-counts-")
    env = dict(os.environ, PYTHONPATH=os.path.dirname(HERE))
    proc = subprocess.Popen([sys.executable, "-m", "azsim", "serve", "--workdir", wd, "--time-scale", "1"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        sim = SimAdmin.wait(wd)
        sim.seed({"subscriptions": [{"id": SUB, "resource_groups": [
            {"name": "rg1", "location": "eastus", "vaults": [{"name": "kv1"}],
             "vms": [{"name": "vm1", "data_disks": [{"lun": 0}, {"lun": 1}]}]},
            {"name": "fleet", "location": "eastus", "vms": [{"name": "n{i:04d}", "count": a.vms}]}]}]})
        from azure.mgmt.compute.models import VirtualMachineExtension, VirtualMachineExtensionProperties
        client = sim.compute_client(polling_interval=0.01)
        kv = "/subscriptions/%s/resourceGroups/rg1/providers/Microsoft.KeyVault/vaults/kv1" % SUB
        body = VirtualMachineExtension(location="eastus", properties=VirtualMachineExtensionProperties(
            publisher="Microsoft.Azure.Security", type=ADE, type_handler_version="1.1",
            auto_upgrade_minor_version=True,
            settings={"EncryptionOperation": "EnableEncryption", "VolumeType": "All", "SequenceVersion": "1",
                      "KeyVaultURL": "https://kv1.vault.azure.net", "KeyVaultResourceId": kv,
                      "KeyEncryptionAlgorithm": "RSA-OAEP"}))
        client.virtual_machines.get("rg1", "vm1")      # log in first
        sim.clear_log()
        t0 = time.time()
        p = client.virtual_machine_extensions.begin_create_or_update("rg1", "vm1", ADE, body)
        sim.advance(121)
        p.result()
        put_reqs = len(sim.log())
        polls = 0
        sim_elapsed = 121
        while True:
            iv = client.virtual_machines.instance_view("rg1", "vm1")
            polls += 1
            ext = [e for e in iv.extensions if e.name == ADE][0]
            sub = json.loads(ext.substatuses[0].message)
            msg = ext.statuses[0].message
            if msg.startswith("Encryption succeeded for all") and sub["os"] == "Encrypted":
                break
            step = 300 if "OS" in msg or sub["data"] == "EncryptionInProgress" and "data volumes" in msg else 60
            sim.advance(step)
            sim_elapsed += step
        log = sim.log()
        print("enable-to-success (All, 2 data disks, 30 GB OS): %d requests total = %d for the PUT LRO "
              "(PUT + operation polls + final GET) + %d instance-view polls; %.1f simulated hours; %.2f s wall"
              % (len(log), put_reqs, polls, sim_elapsed / 3600.0, time.time() - t0))
        sim.clear_log()
        t0 = time.time()
        vms = list(client.virtual_machines.list("fleet", expand="instanceView"))
        n_list = len(sim.log())
        t_list = time.time() - t0
        sim.clear_log()
        t0 = time.time()
        for v in vms:
            client.virtual_machines.instance_view("fleet", v.name)
        n_each = len(sim.log())
        t_each = time.time() - t0
        ms = sorted(e["ms"] for e in sim.log())
        print("status of %d VMs in one resource group: list $expand=instanceView = %d requests (%.2f s); "
              "one instanceView GET per VM = %d requests (%.2f s); server time per GET median %.2f ms, p95 %.2f ms"
              % (len(vms), n_list, t_list, n_each, t_each, ms[len(ms) // 2], ms[int(len(ms) * 0.95)]))
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    main()
