"""One simulator per test session (port 0, time scale 1 so time only moves when a test advances it)."""

import json
import os
import subprocess
import sys

import pytest

SIM_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, SIM_ROOT)

from azsim.admin import SimAdmin  # noqa: E402

SUB = "11111111-1111-1111-1111-111111111111"
SUB2 = "22222222-2222-2222-2222-222222222222"
ADE = "AzureDiskEncryptionForLinux"


def base_scenario():
    return {
        "subscriptions": [
            {"id": SUB, "resource_groups": [
                {"name": "rg1", "location": "eastus",
                 "vaults": [{"name": "kv1"}, {"name": "kvwest", "location": "westus"},
                            {"name": "kvoff", "enabled_for_disk_encryption": False}],
                 "vms": [
                     {"name": "vm-all", "data_disks": [{"lun": 0, "size_gb": 64}, {"lun": 1, "size_gb": 32}]},
                     {"name": "vm-nodata"},
                     {"name": "vm-unmount", "ade_behavior": "fail_os_unmount", "data_disks": [{"lun": 0}]},
                     {"name": "vm-suse", "os": {"distro": "sles", "version": "12.5"}, "data_disks": [{"lun": 0}]},
                     {"name": "vm-small", "memory_gb": 4},
                     {"name": "vm-enc", "data_disks": [{"lun": 0}],
                      "encryption": {"state": "encrypted", "volume_type": "All", "vault": "kv1"}},
                     {"name": "vm-prog",
                      "encryption": {"state": "in_progress", "volume_type": "All", "vault": "kv1"}},
                     {"name": "vm-ostc", "existing_extensions": [
                         {"name": "AzureDiskEncryptionForLinux", "publisher": "Microsoft.OSTCExtensions",
                          "type": "AzureDiskEncryptionForLinux", "type_handler_version": "0.1"}]},
                     {"name": "vm-busy", "existing_extensions": [
                         {"name": "CustomScript", "publisher": "Microsoft.Azure.Extensions", "type": "CustomScript",
                          "type_handler_version": "2.1", "provisioning_state": "Updating"}]},
                     {"name": "vm-dual", "dual_pass": {"vault": "kv1", "volume_type": "OS"}},
                     {"name": "vm-vhd", "unmanaged": True, "data_disks": [{"lun": 0}]},
                     {"name": "vm-off", "power_state": "deallocated"},
                 ]},
                {"name": "rg-fleet", "location": "eastus",
                 "vms": [{"name": "node-{i:03d}", "count": 120}]},
            ]},
            {"id": SUB2, "resource_groups": [
                {"name": "rg-other", "location": "eastus", "vaults": [{"name": "kvothersub"}]}]},
        ]
    }


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    wd = str(tmp_path_factory.mktemp("azsim"))
    env = dict(os.environ, PYTHONPATH=SIM_ROOT)
    log = open(os.path.join(wd, "server.log"), "wb")
    proc = subprocess.Popen([sys.executable, "-m", "azsim", "serve", "--workdir", wd, "--port", "0",
                             "--time-scale", "1"], stdout=log, stderr=log, env=env)
    try:
        adm = SimAdmin.wait(wd, timeout=30)
        yield adm
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()


@pytest.fixture
def sim(server):
    server.reset()
    server.config(ext_generic_seconds=60)
    server.seed(base_scenario(), replace=True)
    return server


@pytest.fixture
def client(sim):
    return sim.compute_client(retry_total=0)


@pytest.fixture
def vault_id():
    return "/subscriptions/%s/resourceGroups/rg1/providers/Microsoft.KeyVault/vaults/" % SUB


def ade_body(vault="kv1", volume_type="All", operation="EnableEncryption", seq="seq-1", url_vault=None,
             location="eastus", vault_rg="rg1", sub=SUB, **extra):
    from azure.mgmt.compute.models import VirtualMachineExtension, VirtualMachineExtensionProperties
    settings = {"EncryptionOperation": operation, "VolumeType": volume_type, "SequenceVersion": seq}
    if operation != "DisableEncryption":
        settings.update({
            "KeyVaultURL": "https://%s.vault.azure.net" % (url_vault or vault),
            "KeyVaultResourceId": "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.KeyVault/vaults/%s"
                                  % (sub, vault_rg, vault),
            "KeyEncryptionKeyURL": None, "KekVaultResourceId": "", "KeyEncryptionAlgorithm": "RSA-OAEP"})
    settings.update(extra)
    return VirtualMachineExtension(location=location, properties=VirtualMachineExtensionProperties(
        publisher="Microsoft.Azure.Security", type=ADE, type_handler_version="1.1",
        auto_upgrade_minor_version=True, settings=settings))


def ade_iv(client, rg, vm):
    """(statuses[0], substatus dict, {disk name: [status codes]}) as a consumer reads them."""
    iv = client.virtual_machines.instance_view(rg, vm)
    ext = [e for e in (iv.extensions or []) if e.name == ADE][0]
    st = ext.statuses[0]
    sub = json.loads(ext.substatuses[0].message) if ext.substatuses else None
    disks = {d.name: [s.code for s in d.statuses] for d in iv.disks}
    return st, sub, disks


def run_to_end(sim, rg, vm, client=None, collect=True, limit=100):
    """Advance the clock step by step (using the state dump's next step) and collect what a poller sees."""
    seen = []
    for _unused in range(limit):
        info = sim.vm(rg, vm)
        ext = [e for e in info["extensions"] if e["name"] == ADE]
        if collect and client is not None:
            st, sub, _unused = ade_iv(client, rg, vm)
            item = (st.level, st.code, st.message, sub["os"] if sub else None, sub["data"] if sub else None)
            if not seen or seen[-1] != item:
                seen.append(item)
        if not ext or "run" not in ext[0]:
            return seen
        sim.advance(ext[0]["run"]["next_step_in_seconds"] + 0.001)
    raise AssertionError("run did not end")
