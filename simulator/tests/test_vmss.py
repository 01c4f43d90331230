"""Scale sets through the real SDK: the model's extension profile, instances taking it (Automatic at once, Manual after
manualupgrade), ADE on each instance (data volumes), per-instance instance views as az vmss encryption show reads."""

import pytest

from conftest import ADE, SUB

VAULT = "/subscriptions/%s/resourceGroups/rgs/providers/Microsoft.KeyVault/vaults/kvs" % SUB
SCENARIO = {"subscriptions": [{"id": SUB, "resource_groups": [{
    "name": "rgs", "location": "eastus", "vaults": [{"name": "kvs"}],
    "scale_sets": [
        {"name": "ss-auto", "capacity": 2, "upgrade_policy": "Automatic", "data_disks": [{"lun": 0}]},
        {"name": "ss-man", "capacity": 3, "upgrade_policy": "Manual", "data_disks": [{"lun": 0}]},
        {"name": "ss-enc", "capacity": 2, "data_disks": [{"lun": 0}], "encryption": {"vault": "kvs"}},
    ]}]}]}


@pytest.fixture
def ssim(server):
    server.reset()
    server.seed(SCENARIO, replace=True)
    return server


@pytest.fixture
def client(server):
    return server.compute_client(retry_total=0)


def ade_ext(seq="s1"):
    return {"properties": {"publisher": "Microsoft.Azure.Security", "type": ADE, "typeHandlerVersion": "1.1",
                           "autoUpgradeMinorVersion": True, "settings": {
                               "EncryptionOperation": "EnableEncryption", "KeyVaultURL": "https://kvs.vault.azure.net",
                               "KeyVaultResourceId": VAULT, "VolumeType": "Data", "SequenceVersion": seq}}}


def statuses(client, ss):
    out = {}
    for inst in client.virtual_machine_scale_set_vms.list("rgs", ss, expand="instanceView"):
        iv = inst.properties.instance_view
        ext = [e for e in (iv.extensions or []) if e.name == ADE]
        disks = {d.name: [s.code for s in d.statuses] for d in iv.disks}
        out[inst.instance_id] = (ext[0].statuses[0].message if ext else None, inst.properties.latest_model_applied,
                                 disks)
    return out


def finish(sim, client, ss, limit=60):
    for _unused in range(limit):
        sim.advance(600)
        msgs = {k: v[0] for k, v in statuses(client, ss).items()}
        if all(m and m.startswith("Encryption succeeded") for m in msgs.values()):
            return msgs
    raise AssertionError(msgs)


def test_shapes(ssim, client):
    ss = client.virtual_machine_scale_sets.get("rgs", "ss-man")
    assert ss.sku.capacity == 3 and ss.properties.upgrade_policy.mode == "Manual"
    assert ss.properties.virtual_machine_profile.storage_profile.os_disk.os_type == "Linux"
    insts = list(client.virtual_machine_scale_set_vms.list("rgs", "ss-man"))
    assert [i.instance_id for i in insts] == ["0", "1", "2"]
    assert insts[0].id.endswith("/virtualMachineScaleSets/ss-man/virtualMachines/0")
    one = client.virtual_machine_scale_set_vms.get("rgs", "ss-man", "1", expand="instanceView")
    assert one.properties.instance_view.statuses[-1].code == "PowerState/running"


def test_automatic_instances_take_the_extension_at_once(ssim, client):
    poller = client.virtual_machine_scale_set_extensions.begin_create_or_update("rgs", "ss-auto", ADE, ade_ext())
    ssim.advance(60)
    poller.result()
    msgs = finish(ssim, client, "ss-auto")
    assert set(msgs) == {"0", "1"}
    for _msg, latest, disks in statuses(client, "ss-auto").values():
        assert latest is True
        assert any("EncryptionState/encrypted" in codes for name, codes in disks.items() if "disk0" in name)


def test_manual_needs_update_instances(ssim, client):
    poller = client.virtual_machine_scale_set_extensions.begin_create_or_update("rgs", "ss-man", ADE, ade_ext())
    ssim.advance(60)
    poller.result()
    st = statuses(client, "ss-man")
    assert all(v[0] is None and v[1] is False for v in st.values())
    poller = client.virtual_machine_scale_sets.begin_update_instances("rgs", "ss-man", {"instanceIds": ["0", "2"]})
    ssim.advance(60)
    poller.result()
    st = statuses(client, "ss-man")
    assert st["1"][1] is False and st["0"][1] is True and st["0"][0] is not None
    ssim.advance(10 ** 5)
    assert statuses(client, "ss-man")["1"][0] is None


def test_full_put_like_az(ssim, client):
    ss = client.virtual_machine_scale_sets.get("rgs", "ss-auto").as_dict()
    ext = dict(ade_ext(), name=ADE)
    ss["properties"]["virtualMachineProfile"]["extensionProfile"] = {"extensions": [ext]}
    body = {"location": ss["location"], "sku": ss["sku"], "properties": ss["properties"]}
    poller = client.virtual_machine_scale_sets.begin_create_or_update("rgs", "ss-auto", body)
    ssim.advance(60)
    out = poller.result()
    assert out.properties.virtual_machine_profile.extension_profile.extensions[0].name == ADE
    finish(ssim, client, "ss-auto")


def test_preencrypted(ssim, client):
    msgs = {k: v[0] for k, v in statuses(client, "ss-enc").items()}
    assert all(m.startswith("Encryption succeeded") for m in msgs.values()), msgs
