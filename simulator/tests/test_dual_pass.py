"""Dual pass -> single pass (Set-AzVMDiskEncryptionExtension -Migrate) through the real SDK: the four requests the
cmdlet sends, what each extension reports, and the dual-pass extension's refusal (detached LUKS headers)."""

import copy

import pytest
from azure.core.exceptions import HttpResponseError

from conftest import ADE, SUB, ade_iv

VMS = [
    {"name": "dp-os", "dual_pass": {"vault": "kvd", "volume_type": "OS"}, "data_disks": [{"lun": 0}]},
    {"name": "dp-efa", "dual_pass": {"vault": "kvd", "volume_type": "All", "format_all": True},
     "data_disks": [{"lun": 0}]},
    {"name": "dp-inplace", "dual_pass": {"vault": "kvd", "volume_type": "All"}, "data_disks": [{"lun": 0}]},
]
SCENARIO = {"subscriptions": [{"id": SUB, "resource_groups": [
    {"name": "rgd", "location": "eastus", "vaults": [{"name": "kvd"}], "vms": VMS}]}]}
VAULT = "/subscriptions/%s/resourceGroups/rgd/providers/Microsoft.KeyVault/vaults/kvd" % SUB


@pytest.fixture
def dsim(server):
    server.reset()
    server.seed(SCENARIO, replace=True)
    return server


@pytest.fixture
def client(server):
    return server.compute_client(retry_total=0)


def ade_ext(client, vm):
    return client.virtual_machine_extensions.get("rgd", vm, ADE)


def put_ext(sim, client, vm, version, settings):
    from azure.mgmt.compute.models import VirtualMachineExtension, VirtualMachineExtensionProperties
    body = VirtualMachineExtension(location="eastus", properties=VirtualMachineExtensionProperties(
        publisher="Microsoft.Azure.Security", type=ADE, type_handler_version=version,
        auto_upgrade_minor_version=True, settings=settings))
    poller = client.virtual_machine_extensions.begin_create_or_update("rgd", vm, ADE, body)
    sim.advance(400)
    return poller


def put_vm_os_settings(sim, client, vm, settings, clear=False):
    """A VM PUT of the GET's model (REST shape), as the cmdlet sends it, with osDisk.encryptionSettings changed."""
    model = client.virtual_machines.get("rgd", vm).as_dict()
    props = {k: v for k, v in model["properties"].items()
             if k not in ("instanceView", "provisioningState", "vmId", "timeCreated")}
    os_disk = props["storageProfile"]["osDisk"]
    if clear:
        os_disk.pop("encryptionSettings", None)
    else:
        os_disk["encryptionSettings"] = settings
    body = {"location": model["location"], "tags": model.get("tags") or {}, "properties": props}
    poller = client.virtual_machines.begin_create_or_update("rgd", vm, body)
    sim.advance(120)
    return poller.result()


def migrate_settings(client, vm):
    s = dict(ade_ext(client, vm).properties.settings)
    s.setdefault("KeyVaultResourceId", VAULT)     # VerifyKeyVaultProperties: from the VM model
    s.setdefault("KekVaultResourceId", "")
    s["MigrateFlag"] = "Migrate"
    return s


@pytest.mark.parametrize("vm", ["dp-os", "dp-efa"])
def test_migrate_like_the_cmdlet(dsim, client, vm):
    before = client.virtual_machines.get("rgd", vm, expand="instanceView")
    assert before.storage_profile.os_disk.encryption_settings.enabled is True
    s = migrate_settings(client, vm)
    # 1. EnableDualPassADEForMigration: the dual-pass extension stamps the disks
    put_ext(dsim, client, vm, "0.1", s).result()
    st, sub, disks = ade_iv(client, "rgd", vm)
    assert st.message == "Encryption settings stamped. Migration Allowed." and st.level == "Info"
    osd = before.storage_profile.os_disk.name
    assert "EncryptionState/encrypted" in disks[osd]
    data = before.storage_profile.data_disks[0].name
    assert ("EncryptionState/encrypted" in disks[data]) == (vm == "dp-efa")
    # 2. UpdateVmEncryptionSettingsForMigration: enabled false (the key reference stays)
    es = before.storage_profile.os_disk.encryption_settings.as_dict()
    es["enabled"] = False
    vm1 = put_vm_os_settings(dsim, client, vm, es)
    assert vm1.storage_profile.os_disk.encryption_settings.enabled is False
    assert vm1.storage_profile.os_disk.encryption_settings.disk_encryption_key.secret_url
    # 3. EnableSinglePassADEForMigration: 1.1 without AAD settings, still MigrateFlag
    s1 = {k: v for k, v in s.items() if k not in ("AADClientID", "AADClientCertThumbprint")}
    put_ext(dsim, client, vm, "1.1", s1).result()
    st, sub, _unused = ade_iv(client, "rgd", vm)
    assert st.message == "Migration Succeeded"
    assert sub["os"] == "Encrypted" and sub["data"] == ("Encrypted" if vm == "dp-efa" else "NotEncrypted")
    iv = client.virtual_machines.instance_view("rgd", vm)
    assert [e.type_handler_version for e in iv.extensions if e.name == ADE][0].startswith("1.")
    # 4. ClearVmEncryptionSettingsForMigration: the PUT without encryptionSettings clears them
    vm2 = put_vm_os_settings(dsim, client, vm, None, clear=True)
    assert vm2.storage_profile.os_disk.encryption_settings is None
    assert ade_ext(client, vm).properties.type_handler_version == "1.1"


def test_patch_without_settings_keeps_them(dsim, client):
    poller = client.virtual_machines.begin_update("rgd", "dp-os", {"tags": {"a": "b"}})
    dsim.advance(120)
    poller.result()
    assert client.virtual_machines.get("rgd", "dp-os").storage_profile.os_disk.encryption_settings.enabled


def test_in_place_data_refused_by_dual_pass_extension(dsim, client):
    s = migrate_settings(client, "dp-inplace")
    with pytest.raises(HttpResponseError) as ei:
        put_ext(dsim, client, "dp-inplace", "0.1", s).result()
    assert "Migration is not supported" in str(ei.value)
    st, _unused, disks = ade_iv(client, "rgd", "dp-inplace")
    assert st.level == "Error" and st.message.startswith("Not all data disks were encrypted using encrypt format all")
    assert st.code.endswith("/53")
    # nothing stamped, the VM model still dual pass
    assert not any("EncryptionState/encrypted" in v for k, v in disks.items() if "OsDisk" not in k)
    assert client.virtual_machines.get("rgd", "dp-inplace").storage_profile.os_disk.encryption_settings.enabled


def test_missing_vault_id_fails_the_dual_pass_step(dsim, client):
    s = copy.deepcopy(dict(ade_ext(client, "dp-os").properties.settings))
    s["MigrateFlag"] = "Migrate"
    with pytest.raises(HttpResponseError):
        put_ext(dsim, client, "dp-os", "0.1", s).result()
    st, _unused, _unused2 = ade_iv(client, "rgd", "dp-os")
    assert "KeyVaultResourceId" in st.message
