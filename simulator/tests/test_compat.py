"""Issue 7 model through the real SDK: VM properties that exclude ADE, the EncryptionAtHost feature, resource SKU
capabilities, and the encryption-at-host update rules (feature, size, deallocated, ever-ADE / UDE flag)."""

import pytest
from azure.core.exceptions import HttpResponseError
from azure.core.rest import HttpRequest

from conftest import SUB, ade_body, run_to_end

FEATURE = "/subscriptions/%s/providers/Microsoft.Features/providers/Microsoft.Compute/features/EncryptionAtHost" % SUB


DES = "/subscriptions/%s/resourceGroups/rgc/providers/Microsoft.Compute/diskEncryptionSets/des1" % SUB


def scenario(features=None):
    sub = {"id": SUB, "resource_groups": [{"name": "rgc", "location": "eastus", "vaults": [{"name": "kvc"}], "vms": [
        {"name": "c-plain", "size": "Standard_D4s_v3", "power_state": "deallocated"},
        {"name": "c-running", "size": "Standard_D4s_v3"},
        {"name": "c-nosize", "size": "Standard_D4_v3", "power_state": "deallocated"},
        {"name": "c-eah", "size": "Standard_D4s_v3", "encryption_at_host": True},
        {"name": "c-eph", "ephemeral_os": True},
        {"name": "c-cvm", "size": "Standard_DC4as_v5", "security_type": "ConfidentialVM"},
        {"name": "c-win", "os_type": "Windows"},
        {"name": "c-ultra", "data_disks": [{"lun": 0, "sku": "UltraSSD_LRS"}, {"lun": 1, "sku": "PremiumV2_LRS"}]},
        {"name": "c-wa", "size": "Standard_M64ms", "data_disks": [{"lun": 0, "write_accelerator": True}]},
        {"name": "c-cmk", "disk_encryption_set": DES},
        {"name": "c-nvme", "size": "Standard_D4s_v3", "disk_controller": "NVMe"},
        {"name": "c-ade", "size": "Standard_D4s_v3", "power_state": "running", "data_disks": [{"lun": 0}]},
    ]}]}
    if features is not None:
        sub["features"] = features
    return {"subscriptions": [sub]}


@pytest.fixture
def csim(server):
    server.reset()
    server.seed(scenario({"Microsoft.Compute/EncryptionAtHost": "Registered"}), replace=True)
    return server


@pytest.fixture
def client(server):
    return server.compute_client(retry_total=0)


def raw_get(client, url):
    resp = client.send_request(HttpRequest("GET", url))
    resp.raise_for_status()
    return resp.json()


def test_vm_model_shapes(csim, client):
    eah = client.virtual_machines.get("rgc", "c-eah")
    assert eah.properties.security_profile.encryption_at_host is True
    assert client.virtual_machines.get("rgc", "c-plain").properties.security_profile is None
    eph = client.virtual_machines.get("rgc", "c-eph").storage_profile.os_disk
    assert eph.diff_disk_settings.option == "Local" and eph.caching == "ReadOnly"
    cvm = client.virtual_machines.get("rgc", "c-cvm").properties.security_profile
    assert cvm.security_type == "ConfidentialVM"
    assert client.virtual_machines.get("rgc", "c-win").storage_profile.os_disk.os_type == "Windows"
    ultra = client.virtual_machines.get("rgc", "c-ultra")
    assert [d.managed_disk.storage_account_type for d in ultra.storage_profile.data_disks] == \
        ["UltraSSD_LRS", "PremiumV2_LRS"]
    assert ultra.properties.additional_capabilities.ultra_ssd_enabled is True
    assert client.virtual_machines.get("rgc", "c-wa").storage_profile.data_disks[0].write_accelerator_enabled
    cmk = client.virtual_machines.get("rgc", "c-cmk").storage_profile.os_disk.managed_disk
    assert cmk.disk_encryption_set.id.endswith("/des1")
    assert client.virtual_machines.get("rgc", "c-nvme").storage_profile.disk_controller_type == "NVMe"
    assert client.virtual_machines.get("rgc", "c-cmk").storage_profile.disk_controller_type is None
    # the disk resource carries the SKU too
    d = client.disks.get("rgc", ultra.storage_profile.data_disks[1].name)
    assert d.sku.name == "PremiumV2_LRS"


def test_feature_default_register_and_time(server, client):
    server.reset()
    server.seed(scenario(), replace=True)
    body = raw_get(client, FEATURE + "?api-version=2021-07-01")
    assert body["name"] == "Microsoft.Compute/EncryptionAtHost"
    assert body["type"] == "Microsoft.Features/providers/features"
    assert body["properties"]["state"] == "NotRegistered"
    resp = client.send_request(HttpRequest("POST", FEATURE + "/register?api-version=2021-07-01"))
    assert resp.status_code == 200 and resp.json()["properties"]["state"] == "Registering"
    assert raw_get(client, FEATURE + "?api-version=2021-07-01")["properties"]["state"] == "Registering"
    server.advance(301)
    assert raw_get(client, FEATURE + "?api-version=2021-07-01")["properties"]["state"] == "Registered"


def test_resource_skus_capabilities(csim, client):
    body = raw_get(client, "/subscriptions/%s/providers/Microsoft.Compute/skus?api-version=2021-07-01"
                           "&$filter=location%%20eq%%20%%27eastus%%27" % SUB)
    by = {s["name"]: {c["name"]: c["value"] for c in s["capabilities"]} for s in body["value"]}
    assert by["Standard_D4s_v3"]["EncryptionAtHostSupported"] == "True"
    assert by["Standard_D4_v3"]["EncryptionAtHostSupported"] == "False"
    assert all(s["locations"] == ["eastus"] and s["resourceType"] == "virtualMachines" for s in body["value"])
    # the SDK's own operation reads the same list
    skus = list(client.resource_skus.list(filter="location eq 'eastus'"))
    assert any(s.name == "Standard_D4s_v3" for s in skus)


def _enable_eah(client, name, sim=None):
    vm = client.virtual_machines.get("rgc", name)
    from azure.mgmt.compute.models import SecurityProfile, VirtualMachineUpdate
    upd = VirtualMachineUpdate(security_profile=SecurityProfile(encryption_at_host=True))
    poller = client.virtual_machines.begin_update("rgc", vm.name, upd)
    if sim is not None:
        sim.advance(31)
    return poller.result()


def test_enable_eah_rules(csim, client):
    # running VM -> 409, nothing changed
    with pytest.raises(HttpResponseError) as e:
        _enable_eah(client, "c-running")
    assert e.value.status_code == 409 and "deallocated" in str(e.value)
    assert client.virtual_machines.get("rgc", "c-running").properties.security_profile is None
    # size without the capability -> 400
    with pytest.raises(HttpResponseError) as e:
        _enable_eah(client, "c-nosize")
    assert e.value.status_code == 400 and "does not support encryption at host" in str(e.value)
    # deallocated, supported size, feature registered -> enabled
    vm = _enable_eah(client, "c-plain", csim)
    assert vm.properties.security_profile.encryption_at_host is True


def test_enable_eah_feature_not_registered(server, client):
    server.reset()
    server.seed(scenario({"Microsoft.Compute/EncryptionAtHost": "NotRegistered"}), replace=True)
    with pytest.raises(HttpResponseError) as e:
        _enable_eah(client, "c-plain")
    assert e.value.status_code == 400 and e.value.error.code == "InvalidParameter"
    assert "feature is not enabled for this subscription" in e.value.error.message
    assert e.value.error.target == "securityProfile.encryptionAtHost"


def test_ever_ade_keeps_ude_flag(csim, client):
    put = client.virtual_machine_extensions.begin_create_or_update(
        "rgc", "c-ade", "AzureDiskEncryptionForLinux", ade_body(vault="kvc", volume_type="Data", vault_rg="rgc"))
    run_to_end(csim, "rgc", "c-ade")
    put.result()
    disk = client.virtual_machines.get("rgc", "c-ade").storage_profile.data_disks[0].name
    assert client.disks.get("rgc", disk).properties.encryption_settings_collection.enabled
    # disable (data volumes), then the disk no longer shows ADE settings - but keeps the UDE flag
    put = client.virtual_machine_extensions.begin_create_or_update(
        "rgc", "c-ade", "AzureDiskEncryptionForLinux", ade_body(operation="DisableEncryption", volume_type="Data",
                                                                seq="seq-2"))
    run_to_end(csim, "rgc", "c-ade")
    put.result()
    assert client.disks.get("rgc", disk).properties.encryption_settings_collection is None
    poller = client.virtual_machine_extensions.begin_delete("rgc", "c-ade", "AzureDiskEncryptionForLinux")
    csim.advance(31)
    poller.result()
    poller = client.virtual_machines.begin_deallocate("rgc", "c-ade")
    csim.advance(61)
    poller.result()
    with pytest.raises(HttpResponseError) as e:
        _enable_eah(client, "c-ade")
    assert e.value.status_code == 400 and "Azure Disk Encryption" in str(e.value)
