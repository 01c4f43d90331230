"""VM create from an image reference through the real SDK (issue 17, create.py): the rebuilt VM's NIC, encryption at
host, empty data disks, the kept zone / availability set / proximity group / boot diagnostics; the refusals."""

import pytest
from azure.core.exceptions import HttpResponseError

from conftest import SUB

RG = "/subscriptions/%s/resourceGroups/rgc/providers/" % SUB
RGDOC = {
    "name": "rgc", "location": "eastus",
    "vnets": [{"name": "v", "address_prefixes": ["10.9.0.0/16"], "subnets": [{"name": "s", "prefix": "10.9.0.0/24"}]}],
    "vms": [{"name": "old", "zone": 2, "availability_set": "as1", "proximity_placement_group": "ppg1",
             "boot_diagnostics": True, "os": {"distro": "redhat", "version": "7.9"},
             "data_disks": [{"lun": 0, "size_gb": 16, "caching": "ReadOnly"}], "network": {"private_ip": "10.9.0.10"}},
            {"name": "noeah", "size": "Standard_F4"}]}
SCENARIO = {"subscriptions": [{"id": SUB, "features": {"Microsoft.Compute/EncryptionAtHost": "Registered"},
                               "resource_groups": [RGDOC]}]}


@pytest.fixture
def csim(server):
    server.reset()
    server.seed(SCENARIO, replace=True)
    server.config(net_op_seconds=0.2, vm_create_seconds=1)
    return server


def nic(net, name):
    return net.network_interfaces.begin_create_or_update("rgc", name, {
        "location": "eastus", "properties": {"ipConfigurations": [{"name": "ipconfig1", "properties": {
            "subnet": {"id": RG + "Microsoft.Network/virtualNetworks/v/subnets/s"}}}]}}).result()


def body(old, nic_id, eah=True, size=None):
    p = old["properties"]
    ref = dict(p["storageProfile"]["imageReference"])
    ref.pop("exactVersion", None)
    return {"location": "eastus", "zones": old.get("zones"), "tags": {"app": "x"}, "properties": {
        "hardwareProfile": {"vmSize": size or p["hardwareProfile"]["vmSize"]},
        "storageProfile": {"imageReference": ref, "osDisk": {"createOption": "FromImage"},
                           "dataDisks": [{"lun": 0, "createOption": "Empty", "diskSizeGB": 16, "caching": "ReadOnly"}]},
        "osProfile": {"computerName": "new", "adminUsername": "azureuser"},
        "networkProfile": {"networkInterfaces": [{"id": nic_id, "properties": {"primary": True}}]},
        "securityProfile": {"encryptionAtHost": eah},
        "availabilitySet": p.get("availabilitySet"), "proximityPlacementGroup": p.get("proximityPlacementGroup"),
        "diagnosticsProfile": p.get("diagnosticsProfile")}}


def test_create_from_image_reference(csim):
    c = csim.compute_client(retry_total=0)
    net = csim.network_client(retry_total=0)
    old = c.virtual_machines.get("rgc", "old").as_dict()
    assert old["zones"] == ["2"] and old["properties"]["availabilitySet"]["id"].endswith("/as1")
    n = nic(net, "new-nic")
    vm = c.virtual_machines.begin_create_or_update("rgc", "new", body(old, n.id)).result()
    p = vm.properties
    assert p.security_profile.encryption_at_host is True
    assert p.storage_profile.image_reference.publisher == "RedHat" and p.storage_profile.image_reference.sku == "7.9"
    assert [(d.lun, d.disk_size_gb, d.caching) for d in p.storage_profile.data_disks] == [(0, 16, "ReadOnly")]
    assert vm.zones == ["2"] and p.proximity_placement_group.id.endswith("/ppg1")
    assert p.diagnostics_profile.boot_diagnostics.enabled is True
    iv = c.virtual_machines.instance_view("rgc", "new")
    assert "PowerState/running" in [s.code for s in iv.statuses]
    got = net.network_interfaces.get("rgc", "new-nic")
    assert got.properties.virtual_machine.id.endswith("/virtualMachines/new")
    assert got.properties.ip_configurations[0].properties.private_ip_address == "10.9.0.5"   # .4: the seeded "noeah"
    # the NIC is the new VM's: another VM cannot take it; the old NIC stays the old VM's
    with pytest.raises(HttpResponseError) as e:
        c.virtual_machines.begin_create_or_update("rgc", "new2", body(old, n.id)).result()
    assert e.value.error.code == "NicInUse"
    assert net.network_interfaces.get("rgc", "old-nic").properties.virtual_machine.id.endswith("/old")


def test_test_bed_knobs_address_and_vm_id(csim):
    """Test-bed knobs (not Azure): a dynamic address from config dynamic_addresses first, a created VM's vmId from
    created_vm_ids - the rebuild e2e makes its new VM a spare test host this way."""
    csim.config(dynamic_addresses=["10.9.0.10", "10.9.0.77"], created_vm_ids={"new": "0000aaaa-0000-0000-0000-00000000beef"})
    c = csim.compute_client(retry_total=0)
    net = csim.network_client(retry_total=0)
    old = c.virtual_machines.get("rgc", "old").as_dict()
    n = nic(net, "new-nic")       # 10.9.0.10 is the old VM's: the next listed one
    assert n.properties.ip_configurations[0].properties.private_ip_address == "10.9.0.77"
    vm = c.virtual_machines.begin_create_or_update("rgc", "new", body(old, n.id)).result()
    assert vm.properties.vm_id == "0000aaaa-0000-0000-0000-00000000beef"


def test_create_refusals(csim):
    c = csim.compute_client(retry_total=0)
    net = csim.network_client(retry_total=0)
    old = c.virtual_machines.get("rgc", "old").as_dict()
    n = nic(net, "n2")
    with pytest.raises(HttpResponseError) as e:           # size without encryption at host
        c.virtual_machines.begin_create_or_update("rgc", "x", body(old, n.id, size="Standard_F4")).result()
    assert "does not support encryption at host" in str(e.value)
    b = body(old, n.id)
    b["properties"]["storageProfile"]["imageReference"] = {
        "publisher": "Nobody", "offer": "x", "sku": "y", "version": "latest"}
    with pytest.raises(HttpResponseError) as e:
        c.virtual_machines.begin_create_or_update("rgc", "x", b).result()
    assert e.value.error.code == "PlatformImageNotFound"
    b = body(old, RG + "Microsoft.Network/networkInterfaces/missing")
    with pytest.raises(HttpResponseError) as e:
        c.virtual_machines.begin_create_or_update("rgc", "x", b).result()
    assert e.value.error.code == "InvalidResourceReference"
    csim.seed({"subscriptions": [{"id": SUB, "features": {"Microsoft.Compute/EncryptionAtHost": "NotRegistered"}}]})
    with pytest.raises(HttpResponseError) as e:
        c.virtual_machines.begin_create_or_update("rgc", "x", body(old, n.id)).result()
    assert "feature is not enabled" in str(e.value)
    with pytest.raises(Exception):
        c.virtual_machines.get("rgc", "x")


def test_what_a_rebuild_refuses_shows_in_the_model(server):
    """Scenario keys specialized / no_image_reference / scale_set (create.py) and config sku_restrictions
    (compat.py ResourceSkuRestrictions) - what vm_rebuild refuses before any write."""
    server.reset()
    server.seed({"subscriptions": [{"id": SUB, "resource_groups": [{"name": "rgr", "location": "eastus", "vms": [
        {"name": "spec", "specialized": True}, {"name": "noref", "no_image_reference": True},
        {"name": "member", "scale_set": "ss-flex"}, {"name": "plain"}]}]}]}, replace=True)
    server.config(sku_restrictions={"westus3": ["Standard_D4s_v3"]})
    c = server.compute_client(retry_total=0)
    spec = c.virtual_machines.get("rgr", "spec").storage_profile
    assert spec.os_disk.create_option == "Attach" and spec.image_reference is None
    noref = c.virtual_machines.get("rgr", "noref").storage_profile
    assert noref.os_disk.create_option == "FromImage" and noref.image_reference is None
    member = c.virtual_machines.get("rgr", "member")
    assert member.virtual_machine_scale_set.id.endswith("/virtualMachineScaleSets/ss-flex")
    plain = c.virtual_machines.get("rgr", "plain")
    assert plain.virtual_machine_scale_set is None and plain.storage_profile.image_reference.publisher
    west = {s.name: s for s in c.resource_skus.list(filter="location eq 'westus3'")}
    r = [x.as_dict() for x in west["Standard_D4s_v3"].restrictions]
    assert r == [{"type": "Location", "values": ["westus3"], "restrictionInfo": {"locations": ["westus3"]},
                  "reasonCode": "NotAvailableForSubscription"}]
    assert west["Standard_D2s_v3"].restrictions == []
    east = {s.name: s for s in c.resource_skus.list(filter="location eq 'eastus'")}
    assert east["Standard_D4s_v3"].restrictions == []
