"""Microsoft.Network through the real azure-mgmt-network SDK (issue 17): seeded NICs found by private address and
VM, NIC create in a subnet/NSG, the private-IP move between two NICs, the refusals the REST reference documents."""

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from conftest import SUB

NSG = "/subscriptions/%s/resourceGroups/rgn/providers/Microsoft.Network/networkSecurityGroups/nsg-app" % SUB
SUBNET = ("/subscriptions/%s/resourceGroups/rgn/providers/Microsoft.Network/virtualNetworks/vnet-app/subnets/app"
          % SUB)
SCENARIO = {"subscriptions": [{"id": SUB, "resource_groups": [
    {"name": "rgn", "location": "eastus",
     "nsgs": [{"name": "nsg-app"}],
     "vnets": [{"name": "vnet-app", "address_prefixes": ["10.203.0.0/16"],
                "subnets": [{"name": "app", "prefix": "10.203.0.0/16", "nsg": "nsg-app"}]}],
     "public_ips": [{"name": "pip-web", "allocation": "Static", "sku": "Standard", "dns_label": "web-ade"},
                    {"name": "pip-dyn", "allocation": "Dynamic", "sku": "Basic"}],
     "vms": [{"name": "web", "network": {"private_ip": "10.203.5.2", "nsg": "nsg-app", "public_ip": "pip-web",
                                         "accelerated_networking": True}},
             {"name": "db", "network": {"private_ip": "10.203.6.2"}},
             {"name": "plain"}]},
    {"name": "rg-other", "location": "eastus", "vms": [{"name": "other"}]}]}]}


@pytest.fixture
def nsim(server):
    server.reset()
    server.seed(SCENARIO, replace=True)
    server.config(net_op_seconds=0.5)
    return server


@pytest.fixture
def net(nsim):
    return nsim.network_client(retry_total=0)


def nic_body(ip=None, subnet=SUBNET, pip=None, nsg=NSG, name="ipconfig1"):
    ipc = {"name": name, "properties": {"subnet": {"id": subnet}, "primary": True,
                                        "privateIPAllocationMethod": "Static" if ip else "Dynamic"}}
    if ip:
        ipc["properties"]["privateIPAddress"] = ip
    if pip:
        ipc["properties"]["publicIPAddress"] = {"id": pip}
    body = {"location": "eastus", "properties": {"ipConfigurations": [ipc]}}
    if nsg:
        body["properties"]["networkSecurityGroup"] = {"id": nsg}
    return body


def by_address(net):
    """{private address: (NIC name, VM id)}: identity by address, as a consumer of the SDK reads it."""
    out = {}
    for nic in net.network_interfaces.list_all():
        vm = nic.properties.virtual_machine
        for c in nic.properties.ip_configurations:
            out[c.properties.private_ip_address] = (nic.name, vm.id if vm else None)
    return out


def test_seeded_nics_find_vm_by_address(nsim, net):
    found = by_address(net)
    assert found["10.203.5.2"][0] == "web-nic"
    assert found["10.203.5.2"][1].endswith("/virtualMachines/web")
    assert found["10.203.6.2"][1].endswith("/virtualMachines/db")
    # an implicit VNet for the other RG; dynamic addresses skip the reserved first four
    other = net.network_interfaces.get("rg-other", "other-nic")
    assert other.properties.ip_configurations[0].properties.private_ip_address == "10.0.0.4"
    assert other.properties.ip_configurations[0].properties.private_ip_allocation_method == "Dynamic"
    web = net.network_interfaces.get("rgn", "web-nic")
    assert web.properties.enable_accelerated_networking is True
    assert web.properties.network_security_group.id.lower() == NSG.lower()
    assert web.properties.ip_configurations[0].properties.public_ip_address.id.endswith("/pip-web")
    assert [n.name for n in net.network_interfaces.list("rgn")] == ["db-nic", "plain-nic", "web-nic"]
    # the VM's networkProfile names its NIC
    vm = nsim.compute_client(retry_total=0).virtual_machines.get("rgn", "web")
    assert vm.properties.network_profile.network_interfaces[0].id == web.id
    pip = net.public_ip_addresses.get("rgn", "pip-web")
    assert pip.properties.ip_address
    assert pip.properties.ip_configuration.id.endswith("web-nic/ipConfigurations/ipconfig1")
    ipc = net.network_interface_ip_configurations.get("rgn", "web-nic", "ipconfig1")
    assert ipc.properties.private_ip_address == "10.203.5.2"
    assert ipc.properties.subnet.id.lower() == SUBNET.lower()
    sn = net.subnets.get("rgn", "vnet-app", "app")
    assert sn.properties.network_security_group.id.lower() == NSG.lower()
    assert len(sn.properties.ip_configurations) == 3
    assert net.virtual_networks.get("rgn", "vnet-app").properties.address_space.address_prefixes == ["10.203.0.0/16"]
    assert net.network_security_groups.get("rgn", "nsg-app").properties.network_interfaces[0].id.endswith("web-nic")


def test_create_nic_static_dynamic_and_refusals(nsim, net):
    n = net.network_interfaces.begin_create_or_update("rgn", "new-nic", nic_body()).result()
    # .4 is the seeded "plain" VM's
    assert n.properties.ip_configurations[0].properties.private_ip_address == "10.203.0.5"
    assert n.properties.provisioning_state == "Succeeded"
    assert n.properties.virtual_machine is None
    # the address another NIC holds
    with pytest.raises(HttpResponseError) as e:
        net.network_interfaces.begin_create_or_update("rgn", "x-nic", nic_body("10.203.5.2")).result()
    assert e.value.error.code == "PrivateIPAddressIsAllocated"
    assert "web-nic/ipConfigurations/ipconfig1" in str(e.value)
    for ip, code in (("10.204.0.9", "PrivateIPAddressNotInSubnet"), ("10.203.0.2", "PrivateIPAddressIsReserved")):
        with pytest.raises(HttpResponseError) as e:
            net.network_interfaces.begin_create_or_update("rgn", "x-nic", nic_body(ip)).result()
        assert e.value.error.code == code
    with pytest.raises(HttpResponseError) as e:
        net.network_interfaces.begin_create_or_update("rgn", "x-nic", nic_body(subnet=SUBNET + "x")).result()
    assert e.value.error.code == "InvalidResourceReference"
    pip = "/subscriptions/%s/resourceGroups/rgn/providers/Microsoft.Network/publicIPAddresses/pip-web" % SUB
    with pytest.raises(HttpResponseError) as e:
        net.network_interfaces.begin_create_or_update("rgn", "x-nic", nic_body(pip=pip)).result()
    assert e.value.error.code == "PublicIPAddressInUse"
    with pytest.raises(ResourceNotFoundError):
        net.network_interfaces.get("rgn", "x-nic")
    # a NIC a VM uses cannot be deleted; a free one can
    with pytest.raises(HttpResponseError) as e:
        net.network_interfaces.begin_delete("rgn", "web-nic").result()
    assert e.value.error.code == "NicInUse"
    net.network_interfaces.begin_delete("rgn", "new-nic").result()
    with pytest.raises(ResourceNotFoundError):
        net.network_interfaces.get("rgn", "new-nic")


def test_private_ip_moves_between_nics(nsim, net):
    """The cut-over of a rebuild: the old NIC takes another static address, then the new NIC takes the old one."""
    new = net.network_interfaces.begin_create_or_update("rgn", "web2-nic", nic_body()).result()
    assert new.properties.ip_configurations[0].properties.private_ip_address != "10.203.5.2"
    # switching the old NIC to Dynamic keeps its address (open: modelled pessimistically), so it still blocks
    old = net.network_interfaces.get("rgn", "web-nic")
    body = old.as_dict()
    body["properties"]["ipConfigurations"][0]["properties"]["privateIPAllocationMethod"] = "Dynamic"
    kept = net.network_interfaces.begin_create_or_update("rgn", "web-nic", body).result()
    assert kept.properties.ip_configurations[0].properties.private_ip_address == "10.203.5.2"
    with pytest.raises(HttpResponseError) as e:
        net.network_interfaces.begin_create_or_update("rgn", "web2-nic", nic_body("10.203.5.2")).result()
    assert e.value.error.code == "PrivateIPAddressIsAllocated"
    # release: another static address on the old NIC, then the new NIC takes the address
    body = net.network_interfaces.get("rgn", "web-nic").as_dict()
    ipc = body["properties"]["ipConfigurations"][0]["properties"]
    ipc.update(privateIPAllocationMethod="Static", privateIPAddress="10.203.0.200")
    net.network_interfaces.begin_create_or_update("rgn", "web-nic", body).result()
    moved = net.network_interfaces.begin_create_or_update("rgn", "web2-nic", nic_body("10.203.5.2")).result()
    assert moved.properties.ip_configurations[0].properties.private_ip_address == "10.203.5.2"
    assert by_address(net)["10.203.5.2"][0] == "web2-nic"
    # the old NIC is still the old VM's, with its public IP and NSG (update keeps what the body carries)
    old = net.network_interfaces.get("rgn", "web-nic")
    assert old.properties.virtual_machine.id.endswith("/web")
    assert old.properties.ip_configurations[0].properties.public_ip_address.id.endswith("pip-web")


def test_public_ip_rules(nsim, net):
    with pytest.raises(HttpResponseError) as e:
        net.public_ip_addresses.begin_create_or_update(
            "rgn", "bad", {"location": "eastus", "sku": {"name": "Standard"},
                           "properties": {"publicIPAllocationMethod": "Dynamic"}}).result()
    assert e.value.error.code == "StandardSkuPublicIPAddressesMustBeStatic"
    p = net.public_ip_addresses.begin_create_or_update(
        "rgn", "pip2", {"location": "eastus", "sku": {"name": "Standard"},
                        "properties": {"publicIPAllocationMethod": "Static"}}).result()
    assert p.properties.ip_address
    dyn = net.public_ip_addresses.get("rgn", "pip-dyn")
    assert dyn.properties.ip_address is None          # Dynamic: no address until a running VM's NIC uses it
    with pytest.raises(HttpResponseError) as e:
        net.public_ip_addresses.begin_delete("rgn", "pip-web").result()
    assert e.value.error.code == "PublicIPAddressCannotBeDeleted"
    assert {x.name for x in net.public_ip_addresses.list_all()} == {"pip-web", "pip-dyn", "pip2"}


def test_public_ip_dns_labels(nsim, net):
    """dnsSettings: the label's FQDN in the region's zone, unique (DnsRecordInUse), freed by a PUT without it."""
    web = net.public_ip_addresses.get("rgn", "pip-web")
    assert web.properties.dns_settings.domain_name_label == "web-ade"
    assert web.properties.dns_settings.fqdn == "web-ade.eastus.cloudapp.azure.com"
    body = {"location": "eastus", "sku": {"name": "Standard"},
            "properties": {"publicIPAllocationMethod": "Static", "dnsSettings": {"domainNameLabel": "web-ade"}}}
    with pytest.raises(HttpResponseError) as e:
        net.public_ip_addresses.begin_create_or_update("rgn", "pip-new", body).result()
    assert e.value.error.code == "DnsRecordInUse" and "web-ade.eastus.cloudapp.azure.com" in e.value.error.message
    with pytest.raises(HttpResponseError) as e:
        net.public_ip_addresses.begin_create_or_update("rgn", "pip-new", dict(body, properties=dict(
            body["properties"], dnsSettings={"domainNameLabel": "Web_ADE"}))).result()
    assert e.value.error.code == "InvalidDomainNameLabel"
    # the swap: the old public IP's label freed (PUT without dnsSettings), then the new one takes it
    freed = {"location": "eastus", "sku": {"name": "Standard"}, "properties": {"publicIPAllocationMethod": "Static"}}
    assert net.public_ip_addresses.begin_create_or_update("rgn", "pip-web", freed).result() \
        .properties.dns_settings is None
    new = net.public_ip_addresses.begin_create_or_update("rgn", "pip-new", body).result()
    assert new.properties.dns_settings.fqdn == "web-ade.eastus.cloudapp.azure.com"
    assert net.public_ip_addresses.get("rgn", "pip-web").properties.ip_configuration is not None   # still attached


def test_vnet_and_nsg_create(nsim, net):
    nsg = net.network_security_groups.begin_create_or_update("rgn", "nsg2", {"location": "eastus"}).result()
    v = net.virtual_networks.begin_create_or_update(
        "rgn", "vnet2", {"location": "eastus", "properties": {
            "addressSpace": {"addressPrefixes": ["10.50.0.0/16"]},
            "subnets": [{"name": "s1", "properties": {"addressPrefix": "10.50.1.0/24",
                                                      "networkSecurityGroup": {"id": nsg.id}}}]}}).result()
    assert v.properties.subnets[0].properties.address_prefix == "10.50.1.0/24"
    n = net.network_interfaces.begin_create_or_update("rgn", "n2", nic_body(subnet=v.properties.subnets[0].id,
                                                                            nsg=None)).result()
    assert n.properties.ip_configurations[0].properties.private_ip_address == "10.50.1.4"
    assert {x.name for x in net.virtual_networks.list_all()} >= {"vnet-app", "vnet2", "rg-other-vnet"}
    assert len(list(net.network_security_groups.list("rgn"))) == 2
