"""The simulator's bodies have the fields the real recordings have, and parse into the same SDK models.

Reads the recordings from /work/shared/testdata/azure_recordings at test time (they are not copied into the
repo); skipped where they are absent.
"""

import json
import os

import pytest
from azure.mgmt.compute.models import Snapshot, VirtualMachine, VirtualMachineExtension

from conftest import ADE, SUB, ade_body
from test_arm import _raw

REC = os.environ.get("AZSIM_RECORDINGS", "/work/shared/testdata/azure_recordings")
pytestmark = pytest.mark.skipif(not os.path.isdir(REC), reason="recordings not available")


def rec(name):
    with open(os.path.join(REC, name)) as fh:
        return json.load(fh)


def keys(d):
    return set(d) if isinstance(d, dict) else set()


def missing(recorded, ours, path="", skip=()):
    """Field paths present in the recording but absent in ours (dicts recursively, lists by first element)."""
    out = []
    if isinstance(recorded, dict):
        if not isinstance(ours, dict):
            return [path or "/"]
        for k, v in recorded.items():
            p = path + "/" + k
            if p in skip:
                continue
            if k not in ours:
                out.append(p)
            else:
                out.extend(missing(v, ours[k], p, skip))
    elif isinstance(recorded, list) and recorded:
        if not isinstance(ours, list) or not ours:
            return [path + "[]"]
        out.extend(missing(recorded[0], ours[0], path + "[]", skip))
    return out


@pytest.fixture
def token(sim):
    return sim.credential().get_token("https://management.azure.com/.default").token


def get(sim, token, path, api="2026-04-01", extra=""):
    st, headers, body = _raw(sim, "GET", path + "?api-version=" + api + extra, token)
    assert st == 200, body
    return body


VM1 = "/subscriptions/%s/resourceGroups/rg1/providers/Microsoft.Compute/virtualMachines/" % SUB


def test_vm_instance_view_matches_recording(sim, client, token):
    p = client.virtual_machine_extensions.begin_create_or_update("rg1", "vm-nodata", ADE, ade_body())
    sim.advance(121)
    p.result()
    sim.advance(40)     # "Encrypting 0 data volumes" (VolumeType All without data disks still runs the data phase)
    recorded = rec("java_canEncryptVirtualMachine_linux_ubuntu1804_20_get.json")["response"]["body"]
    ours = get(sim, token, VM1 + "vm-nodata", extra="&$expand=instanceView")
    skip = {"/tags/platformsettings.host_environment.service.platform_optedin_for_rootcerts",
            "/properties/storageProfile/osDisk/managedDisk",  # compared below (only storageAccountType+id)
            "/properties/osProfile/linuxConfiguration/ssh"}
    assert missing(recorded, ours, skip=skip) == []
    assert keys(recorded["properties"]["storageProfile"]["osDisk"]["managedDisk"]) == \
        keys(ours["properties"]["storageProfile"]["osDisk"]["managedDisk"])
    r_ext = recorded["properties"]["instanceView"]["extensions"][0]
    o_ext = ours["properties"]["instanceView"]["extensions"][0]
    assert keys(r_ext) == keys(o_ext)
    assert keys(r_ext["statuses"][0]) == keys(o_ext["statuses"][0])           # no "time" on extension statuses
    assert keys(r_ext["substatuses"][0]) == keys(o_ext["substatuses"][0])
    assert r_ext["type"] == o_ext["type"] and r_ext["substatuses"][0]["code"] == o_ext["substatuses"][0]["code"]
    assert set(json.loads(r_ext["substatuses"][0]["message"])) == set(json.loads(o_ext["substatuses"][0]["message"]))
    r_disk = recorded["properties"]["instanceView"]["disks"][0]
    o_disk = ours["properties"]["instanceView"]["disks"][0]
    assert keys(r_disk) == keys(o_disk)
    assert [s["code"] for s in r_disk["statuses"]] == [s["code"] for s in o_disk["statuses"]]
    assert keys(r_disk["encryptionSettings"][0]) == keys(o_disk["encryptionSettings"][0])
    # both parse into the SDK model with the same fields populated
    for body in (recorded, ours):
        vm = VirtualMachine(body)
        iv = vm.properties.instance_view
        ext = [e for e in iv.extensions if e.name == ADE][0]
        assert ext.type == "Microsoft.Azure.Security.AzureDiskEncryptionForLinux"
        assert ext.statuses[0].code == "ProvisioningState/succeeded" and ext.statuses[0].level == "Info"
        assert ext.statuses[0].message
        assert set(json.loads(ext.substatuses[0].message)) == {"os", "data"}
        d = iv.disks[0]
        assert d.encryption_settings[0].enabled is True
        assert d.encryption_settings[0].disk_encryption_key.secret_url.startswith("https://")
        assert d.encryption_settings[0].disk_encryption_key.source_vault.id
        assert [s.code for s in d.statuses][-1] == "EncryptionState/encrypted"
        assert vm.resources[0].properties.type_handler_version == "1.1"
        assert iv.statuses[-1].code == "PowerState/running"


def test_never_stamped_disk_shape_matches_recording(sim, token):
    recorded = rec("azcli_vm_disk_encryption_e2e_win2012_16_get.json")["response"]["body"]
    r_disk = recorded["disks"][0] if "disks" in recorded else recorded["properties"]["instanceView"]["disks"][0]
    ours = get(sim, token, VM1 + "vm-all" + "/instanceView")
    assert [s["code"] for s in r_disk["statuses"]] == [s["code"] for s in ours["disks"][0]["statuses"]] == [
        "ProvisioningState/succeeded"]


def test_not_encrypted_disk_shape_matches_recording(sim, client, token):
    recorded = rec("java_canEncryptVirtualMachine_windows2008r2_46_get.json")["response"]["body"]
    r_disk = recorded["properties"]["instanceView"]["disks"][1]
    p = client.virtual_machine_extensions.begin_create_or_update("rg1", "vm-all", ADE, ade_body(volume_type="OS"))
    sim.advance(121)       # the OS disk is stamped, the data disks are not
    p.result()
    ours = get(sim, token, VM1 + "vm-all" + "/instanceView")
    o_disk = ours["disks"][1]
    assert keys(r_disk) == keys(o_disk) == {"name", "statuses"}
    assert [(s["code"], s["displayStatus"]) for s in r_disk["statuses"]][-1] == \
        [(s["code"], s["displayStatus"]) for s in o_disk["statuses"]][-1]


def test_extension_put_and_operation_match_recording(sim, token):
    r_put = rec("java_canEncryptVirtualMachine_linux_ubuntu1804_13_put.json")["response"]
    r_op = rec("java_canEncryptVirtualMachine_linux_ubuntu1804_17_get.json")["response"]["body"]
    r_get = rec("java_canEncryptVirtualMachine_linux_ubuntu1804_18_get.json")["response"]["body"]
    body = ade_body().as_dict()
    st, headers, ours = _raw(sim, "PUT", VM1 + "vm-nodata/extensions/" + ADE + "?api-version=2026-04-01", token,
                             body)
    assert st == r_put["status"] == 201
    assert missing(r_put["body"], ours) == []
    assert ours["properties"]["provisioningState"] == r_put["body"]["properties"]["provisioningState"] == "Creating"
    lower = {k.lower(): v for k, v in headers.items()}
    assert "azure-asyncoperation" in lower and lower.get("retry-after") == r_put["headers"]["retry-after"]
    op_path = lower["azure-asyncoperation"].split(sim.base, 1)[1].split("?")[0]
    assert "/providers/Microsoft.Compute/locations/eastus/operations/" in op_path
    sim.advance(121)
    op = get(sim, token, op_path)
    assert keys(op) == keys(r_op) and op["status"] == "Succeeded"
    ext = get(sim, token, VM1 + "vm-nodata/extensions/" + ADE)
    assert missing(r_get, ext) == []
    for b in (r_get, ext):
        e = VirtualMachineExtension(b)
        assert e.properties.publisher == "Microsoft.Azure.Security" and e.properties.provisioning_state == "Succeeded"
        assert e.properties.settings["EncryptionOperation"] == "EnableEncryption"


@pytest.mark.parametrize("prefix,incremental", [("azcli_snapshot_create_from_os_disk_", False),
                                                ("azcli_snapshot_incremental_", True)])
def test_snapshot_shapes_match_recordings(sim, client, token, prefix, incremental):
    names = sorted(f for f in os.listdir(REC) if f.startswith(prefix))
    r_put, r_poll, r_get = [rec(n)["response"] for n in names if not n.endswith("_13_get.json")]
    vm = client.virtual_machines.get("rg1", "vm-all")
    src = vm.storage_profile.os_disk.managed_disk.id
    body = {"location": "eastus", "tags": {}, "sku": {"name": "Standard_LRS"},
            "properties": {"hyperVGeneration": "V1", "creationData": {"createOption": "Copy",
                                                                      "sourceResourceId": src}}}
    if incremental:
        body["properties"]["incremental"] = True
    path = "/subscriptions/%s/resourceGroups/rg1/providers/Microsoft.Compute/snapshots/snap1" % SUB
    st, headers, ours = _raw(sim, "PUT", path + "?api-version=2025-01-02", token, body)
    assert st == r_put["status"] == 202
    assert missing(r_put["body"], ours) == []
    lower = {k.lower(): v for k, v in headers.items()}
    assert "/DiskOperations/" in lower["azure-asyncoperation"] and "monitor=true" in lower["location"]
    sim.advance(31)
    poll = get(sim, token, lower["azure-asyncoperation"].split(sim.base, 1)[1].split("?")[0], api="2025-01-02")
    assert missing(r_poll["body"], poll) == []
    assert poll["status"] == "Succeeded" and poll["properties"]["output"]["properties"]["incremental"] is incremental
    snap = get(sim, token, path, api="2025-01-02")
    assert missing(r_get["body"], snap) == []
    for b in (r_get["body"], snap, poll["properties"]["output"]):
        s = Snapshot(b)
        assert s.properties.provisioning_state == "Succeeded" and s.properties.disk_state == "Unattached"
        assert s.properties.creation_data.create_option == "Copy" and s.properties.creation_data.source_unique_id
        assert s.sku.name == "Standard_LRS" and s.sku.tier == "Standard"
        assert s.properties.encryption.type == "EncryptionAtRestWithPlatformKey"


def test_disk_shape_matches_recording(sim, client, token):
    r_disk = rec("azcli_snapshot_create_from_os_disk_13_get.json")["response"]["body"]
    vm = client.virtual_machines.get("rg1", "vm-all")
    ours = get(sim, token, vm.storage_profile.os_disk.managed_disk.id, api="2025-01-02")
    assert missing(r_disk, ours) == []
    assert ours["properties"]["diskState"] == "Attached" and ours["managedBy"].endswith("/vm-all")
