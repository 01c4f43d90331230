"""Microsoft.Network subset (issue 17): network interfaces and their IP configurations, public IP addresses,
virtual networks with subnets, network security groups - what the real ``azure-mgmt-network`` client needs to
find a VM by its private address, to build a NIC in the same subnet and NSG for a rebuilt VM, and to move a private
IP address from one NIC to another.

Sources (Azure REST reference and the API specs the SDK is generated from; messages marked SIM are this
simulator's wording):
- Shapes: Azure/azure-rest-api-specs specification/network/resource-manager/Microsoft.Network/stable/*/
  networkInterface.json (NetworkInterface {etag, location, tags, properties {provisioningState, resourceGuid,
  ipConfigurations [NetworkInterfaceIPConfiguration {name, id, etag, type, properties {privateIPAddress,
  privateIPAllocationMethod Static|Dynamic, privateIPAddressVersion, subnet {id}, publicIPAddress {id},
  primary, provisioningState}}], dnsSettings, macAddress, enableAcceleratedNetworking, enableIPForwarding,
  networkSecurityGroup {id}, primary, virtualMachine {id} (read-only), nicType}}), publicIpAddress.json
  (PublicIPAddress {sku {name Basic|Standard, tier}, properties {publicIPAllocationMethod, publicIPAddressVersion,
  ipAddress, ipConfiguration {id} (read-only), idleTimeoutInMinutes}}), virtualNetwork.json (VirtualNetwork
  {properties {addressSpace {addressPrefixes}, subnets [Subnet {properties {addressPrefix, networkSecurityGroup,
  ipConfigurations (read-only)}}]}}), networkSecurityGroup.json (NetworkSecurityGroup {properties {securityRules,
  defaultSecurityRules, networkInterfaces, subnets (read-only)}}). learn.microsoft.com/rest/api/virtualnetwork/
  network-interfaces (Get, Create Or Update, Delete, List, List All), .../network-interface-ip-configurations
  (Get, List), .../public-ip-addresses, .../virtual-networks, .../subnets, .../network-security-groups.
- Long-running writes: Create Or Update answers 200 (update) / 201 (create) with the resource (provisioningState
  ``Updating`` while it runs) and an ``Azure-AsyncOperation`` header to
  ``/subscriptions/{s}/providers/Microsoft.Network/locations/{loc}/operations/{id}`` whose body is
  ``{"status": "InProgress"|"Succeeded"|"Failed", "error"}``; Delete answers 202 (200/204 when already gone is
  ``204``) with the same header (REST reference "Network Interfaces - Delete": 200, 202, 204).
- Reserved addresses: "Azure reserves the first four and last IP address for a total of 5 IP addresses within each
  subnet" (learn.microsoft.com virtual-network/virtual-networks-faq, "Are there any restrictions on using IP
  addresses within these subnets?"). A dynamic address is the next free one in the subnet (same source,
  virtual-network-network-interface-addresses "Dynamic").
- Errors: a static address another IP configuration holds -> 400 ``PrivateIPAddressIsAllocated`` "IP configuration
  <id> is using the private IP address <ip> which is already allocated to resource <id>." (text as reported in
  daniel-rhoades/acs-engine-terraform#10 and F5Networks/terraform-azure-bigip-module#63); a public IP another IP
  configuration uses -> 400 ``PublicIPAddressInUse`` "IP configuration <id> is referencing public IP address <id>
  that is already allocated to resource <id>." (microsoft/azure-tools-for-java#91); deleting a NIC a VM uses -> 400
  ``NicInUse`` "Network Interface <id> is used by existing resource <vm id>. In order to delete the network
  interface, it must be dissociated from the resource. ..." ; a Standard SKU public IP must be static -> 400
  ``StandardSkuPublicIPAddressesMustBeStatic`` (SIM wording); address outside / reserved in the subnet -> 400
  ``PrivateIPAddressNotInSubnet`` / ``PrivateIPAddressIsReserved`` (SIM wording); a subnet / NSG / public IP
  reference that does not exist -> 400 ``InvalidResourceReference`` "Resource <id> referenced by resource <id> was
  not found." (SIM wording after the ARM code).
- DNS names of public IPs: PublicIPAddress ``properties.dnsSettings`` {domainNameLabel, fqdn (read-only), ...}
  (publicIpAddress.json PublicIPAddressDnsSettings; learn.microsoft.com/rest/api/virtualnetwork/public-ip-addresses/
  create-or-update: "The concatenation of the domain name label and the regionalized DNS zone make up the fully
  qualified domain name associated with the public IP address. If a domain name label is specified, an A DNS record is
  created for the public IP in the Microsoft Azure DNS system"): fqdn = ``<label>.<region>.cloudapp.azure.com``; a
  label whose FQDN another public IP (of any customer) has -> 400 ``DnsRecordInUse`` "DNS record <fqdn> is already
  used by another public IP." (text as reported in scarolan/azure-terraform-beginners#20 and
  Azure/azure-quickstart-templates#4978); a PUT without ``dnsSettings`` removes the label (PUT replaces the resource);
  a label not matching ``^[a-z][a-z0-9-]{1,61}[a-z0-9]$`` -> 400 ``InvalidDomainNameLabel`` (SIM wording).
  ``domainNameLabelScope`` (hashed FQDNs) and ``reverseFqdn`` are not modelled.
- **open:** whether changing an IP configuration from Static to Dynamic releases its address at once is not stated;
  modelled pessimistically: a Dynamic configuration keeps the address it has (Azure "may" change it later), so a
  client that must free an address gives the old NIC another static address (what the collection's rebuild does).

Seeding: every VM gets a NIC ``{vm}-nic`` (or ``network.nic_name``) in the resource group, attached as its primary
NIC, with one IP configuration ``ipconfig1`` in subnet ``network.subnet`` of ``network.vnet`` (default: the resource
group's first virtual network, or an implicit ``{rg}-vnet`` 10.0.0.0/16 with subnet ``default`` 10.0.0.0/16);
``network.private_ip`` is its static address (a test host's address), else the next free dynamic one. Resource group
keys ``vnets`` [{name, address_prefixes, subnets [{name, prefix, nsg}]}], ``nsgs`` [{name, rules}], ``public_ips``
[{name, allocation Static|Dynamic, sku Basic|Standard, dns_label}]. VM key ``network`` {nic_name, vnet, subnet, private_ip,
nsg, public_ip (name of a seeded public IP), accelerated_networking, mac}.
"""

import copy
import ipaddress
import re
import uuid

from .errors import ArmError, not_found
from .model import VM_NICS, stable_uuid
from .routing import RGP, SUB, ok, paged, route

NET = RGP + r"/providers/Microsoft\.Network"
NICP = NET + r"/networkInterfaces/(?P<nic>[^/]+)"
PIPP = NET + r"/publicIPAddresses/(?P<pip>[^/]+)"
VNETP = NET + r"/virtualNetworks/(?P<vnet>[^/]+)"
NSGP = NET + r"/networkSecurityGroups/(?P<nsg>[^/]+)"
OP_KIND = "netops"
RG_SPEC_KEYS = {"vnets", "nsgs", "public_ips"}
VM_NET_KEYS = {"nic_name", "vnet", "subnet", "private_ip", "nsg", "public_ip", "accelerated_networking", "mac"}


def net(r):
    """The resource group's network resources (dicts keyed by lower-case name)."""
    d = r.__dict__.get("network")
    if d is None:
        d = r.__dict__["network"] = {"nics": {}, "pips": {}, "vnets": {}, "nsgs": {}}
    return d


def rid(sub, rg, typ, name):
    return "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Network/%s/%s" % (sub, rg, typ, name)


def _etag():
    return 'W/"%s"' % uuid.uuid4()


def _parse(ref_id, typ):
    """(sub, rg, name[, child]) of a Microsoft.Network resource ID of type typ, or None."""
    parts = (ref_id or "").strip("/").split("/")
    if len(parts) < 8 or parts[0].lower() != "subscriptions" or parts[2].lower() != "resourcegroups" or \
            parts[4].lower() != "providers" or parts[5].lower() != "microsoft.network" or \
            parts[6].lower() != typ.lower():
        return None
    return parts[1], parts[3], parts[7], (parts[9] if len(parts) >= 10 else None)


# ---------------------------------------------------------------------------------------------- objects

class Subnet:
    def __init__(self, vnet, name, prefix, nsg_id=None):
        self.vnet, self.name = vnet, name
        self.prefix = str(ipaddress.ip_network(prefix, strict=False))
        self.nsg_id = nsg_id
        self.etag = _etag()

    @property
    def id(self):
        return self.vnet.id + "/subnets/" + self.name

    def network(self):
        return ipaddress.ip_network(self.prefix)

    def reserved(self, ip):
        n = self.network()
        a = ipaddress.ip_address(ip)
        return int(a) - int(n.network_address) < 4 or a == n.broadcast_address

    def holders(self, w):
        """{address: ipconfig id} of every IP configuration in this subnet."""
        out = {}
        for nic in all_nics(w):
            for c in nic.ipconfigs:
                if c["subnet"] is self and c.get("address"):
                    out[c["address"]] = nic.id + "/ipConfigurations/" + c["name"]
        return out

    def next_free(self, w, taken=()):
        used = set(self.holders(w)) | set(taken)
        n = self.network()
        # test-bed knob, not Azure behaviour (Azure hands out the next free address): config "dynamic_addresses"
        # lists addresses handed out first, so a VM created in an e2e run lands on a spare test host's address
        for a in w.config.get("dynamic_addresses") or []:
            if a not in used and ipaddress.ip_address(a) in n and not self.reserved(a):
                return a
        for i, a in enumerate(n.hosts()):
            if i < 3:            # .1 .2 .3 (hosts() starts after the network address): reserved
                continue
            if a == n.broadcast_address:
                break
            if str(a) not in used:
                return str(a)
        raise ArmError(400, "SubnetIsFull", "Subnet %s has no free address." % self.id)

    def to_json(self, w):
        props = {"provisioningState": "Succeeded", "addressPrefix": self.prefix,
                 "privateEndpointNetworkPolicies": "Disabled", "privateLinkServiceNetworkPolicies": "Enabled",
                 "delegations": []}
        if self.nsg_id:
            props["networkSecurityGroup"] = {"id": self.nsg_id}
        ics = [{"id": i} for i in sorted(self.holders(w).values())]
        if ics:
            props["ipConfigurations"] = ics
        return {"name": self.name, "id": self.id, "etag": self.etag,
                "type": "Microsoft.Network/virtualNetworks/subnets", "properties": props}


class VNet:
    def __init__(self, sub, rg, name, location, prefixes, tags=None):
        self.sub, self.rg, self.name, self.location = sub, rg, name, location
        self.prefixes = list(prefixes)
        self.subnets = {}
        self.tags = dict(tags or {})
        self.etag = _etag()
        self.guid = stable_uuid(sub, rg, "vnet", name)

    @property
    def id(self):
        return rid(self.sub, self.rg, "virtualNetworks", self.name)

    def to_json(self, w):
        return {"name": self.name, "id": self.id, "etag": self.etag, "type": "Microsoft.Network/virtualNetworks",
                "location": self.location, "tags": dict(self.tags),
                "properties": {"provisioningState": "Succeeded", "resourceGuid": self.guid,
                               "addressSpace": {"addressPrefixes": list(self.prefixes)},
                               "subnets": [s.to_json(w) for s in self.subnets.values()],
                               "virtualNetworkPeerings": [], "enableDdosProtection": False}}


class NSG:
    def __init__(self, sub, rg, name, location, rules=None, tags=None):
        self.sub, self.rg, self.name, self.location = sub, rg, name, location
        self.rules = copy.deepcopy(rules or [])
        self.tags = dict(tags or {})
        self.etag = _etag()

    @property
    def id(self):
        return rid(self.sub, self.rg, "networkSecurityGroups", self.name)

    def to_json(self, w):
        nics = [{"id": n.id} for n in all_nics(w) if (n.nsg_id or "").lower() == self.id.lower()]
        subnets = [{"id": s.id} for s in all_subnets(w) if (s.nsg_id or "").lower() == self.id.lower()]
        props = {"provisioningState": "Succeeded", "resourceGuid": stable_uuid(self.id),
                 "securityRules": copy.deepcopy(self.rules), "defaultSecurityRules": []}
        if nics:
            props["networkInterfaces"] = nics
        if subnets:
            props["subnets"] = subnets
        return {"name": self.name, "id": self.id, "etag": self.etag,
                "type": "Microsoft.Network/networkSecurityGroups", "location": self.location,
                "tags": dict(self.tags), "properties": props}


class PublicIP:
    def __init__(self, sub, rg, name, location, allocation="Static", sku="Standard", tags=None, dns_label=None):
        self.sub, self.rg, self.name, self.location = sub, rg, name, location
        self.allocation, self.sku = allocation, sku
        self.tags = dict(tags or {})
        self.dns_label = dns_label   # dnsSettings.domainNameLabel (fqdn = label.<location>.cloudapp.azure.com)
        self.etag = _etag()
        h = int(stable_uuid(sub, rg, "pip", name).replace("-", "")[:8], 16)
        self.static_address = "20.%d.%d.%d" % (64 + (h >> 16) % 64, (h >> 8) % 256, 1 + h % 254)
        self.holder = None           # ipconfig id

    @property
    def id(self):
        return rid(self.sub, self.rg, "publicIPAddresses", self.name)

    def address(self, w):
        if self.allocation == "Static":
            return self.static_address
        # Dynamic (Basic): an address only while the IP configuration's VM runs
        nic = nic_of_ipconfig(w, self.holder)
        vm = nic.vm(w) if nic is not None else None
        return self.static_address if vm is not None and vm.power == "running" else None

    def to_json(self, w):
        props = {"provisioningState": "Succeeded", "resourceGuid": stable_uuid(self.id),
                 "publicIPAddressVersion": "IPv4", "publicIPAllocationMethod": self.allocation,
                 "idleTimeoutInMinutes": 4, "ipTags": []}
        a = self.address(w)
        if a:
            props["ipAddress"] = a
        if self.holder:
            props["ipConfiguration"] = {"id": self.holder}
        if self.dns_label:
            props["dnsSettings"] = {"domainNameLabel": self.dns_label, "fqdn": fqdn(self.dns_label, self.location)}
        return {"name": self.name, "id": self.id, "etag": self.etag, "type": "Microsoft.Network/publicIPAddresses",
                "location": self.location, "tags": dict(self.tags),
                "sku": {"name": self.sku, "tier": "Regional"}, "properties": props}


class NIC:
    def __init__(self, sub, rg, name, location, tags=None):
        self.sub, self.rg, self.name, self.location = sub, rg, name, location
        self.tags = dict(tags or {})
        self.ipconfigs = []          # [{name, subnet: Subnet, allocation, address, pip_id, primary}]
        self.nsg_id = None
        self.accelerated = False
        self.ip_forwarding = False
        self.dns_servers = []
        self.vm_id = None            # the VM whose networkProfile names this NIC
        self.etag = _etag()
        self.guid = str(uuid.uuid4())
        n = int(stable_uuid(sub, rg, "nic", name).replace("-", "")[:6], 16)
        self.mac = "00-0D-3A-%02X-%02X-%02X" % (n >> 16, (n >> 8) & 255, n & 255)
        self.busy = None             # provisioningState Updating while its operation runs

    @property
    def id(self):
        return rid(self.sub, self.rg, "networkInterfaces", self.name)

    def vm(self, w):
        if not self.vm_id:
            return None
        try:
            parts = self.vm_id.strip("/").split("/")
            return w.vm(parts[1], parts[3], parts[7])
        except (ArmError, IndexError):
            return None

    def ipconfig_json(self, w, c):
        props = {"provisioningState": "Updating" if self.busy else "Succeeded",
                 "privateIPAllocationMethod": c["allocation"], "privateIPAddressVersion": "IPv4",
                 "subnet": {"id": c["subnet"].id}, "primary": bool(c.get("primary"))}
        if c.get("address"):
            props["privateIPAddress"] = c["address"]
        if c.get("pip_id"):
            props["publicIPAddress"] = {"id": c["pip_id"]}
        return {"name": c["name"], "id": self.id + "/ipConfigurations/" + c["name"], "etag": self.etag,
                "type": "Microsoft.Network/networkInterfaces/ipConfigurations", "properties": props}

    def to_json(self, w):
        props = {"provisioningState": "Updating" if self.busy else "Succeeded", "resourceGuid": self.guid,
                 "ipConfigurations": [self.ipconfig_json(w, c) for c in self.ipconfigs],
                 "dnsSettings": {"dnsServers": list(self.dns_servers), "appliedDnsServers": [],
                                 "internalDomainNameSuffix": "%s.bx.internal.cloudapp.net"
                                                             % stable_uuid(self.sub, self.rg)[:12]},
                 "enableAcceleratedNetworking": self.accelerated, "vnetEncryptionSupported": False,
                 "enableIPForwarding": self.ip_forwarding, "disableTcpStateTracking": False,
                 "hostedWorkloads": [], "tapConfigurations": [], "nicType": "Standard", "allowPort25Out": True,
                 "auxiliaryMode": "None", "auxiliarySku": "None"}
        if self.nsg_id:
            props["networkSecurityGroup"] = {"id": self.nsg_id}
        if self.vm_id:
            props["virtualMachine"] = {"id": self.vm_id}
            props["primary"] = True
            props["macAddress"] = self.mac
        return {"name": self.name, "id": self.id, "etag": self.etag, "type": "Microsoft.Network/networkInterfaces",
                "location": self.location, "tags": dict(self.tags), "kind": "Regular", "properties": props}


# ---------------------------------------------------------------------------------------------- lookups

DNS_LABEL_RE = re.compile(r"^[a-z][a-z0-9-]{1,61}[a-z0-9]$")


def fqdn(label, location):
    """The public IP's A record: the label in the region's zone (REST reference PublicIPAddressDnsSettings.fqdn:
    "the concatenation of the domainNameLabel and the regionalized DNS zone")."""
    return "%s.%s.cloudapp.azure.com" % (label, (location or "").replace(" ", "").lower())


def dns_holder(w, label, location, me=None):
    """The public IP (any subscription: the zone is Azure's, shared by every customer) whose label makes the same
    FQDN, other than ``me``; or None."""
    want = fqdn(label, location)
    for s in w.subs.values():
        for r in s.rgs.values():
            for p in net(r)["pips"].values():
                if p is not me and p.dns_label and fqdn(p.dns_label, p.location) == want:
                    return p
    return None


def _rgs(w, sid=None):
    subs = [w.sub(sid)] if sid else list(w.subs.values())
    for s in subs:
        yield from s.rgs.values()


def all_nics(w, sid=None):
    for r in _rgs(w, sid):
        yield from net(r)["nics"].values()


def all_subnets(w):
    for r in _rgs(w):
        for v in net(r)["vnets"].values():
            yield from v.subnets.values()


def find(w, ref_id, typ):
    p = _parse(ref_id, typ)
    if p is None:
        return None
    try:
        r = w.rg(p[0], p[1])
    except ArmError:
        return None
    coll = {"networkinterfaces": "nics", "publicipaddresses": "pips", "virtualnetworks": "vnets",
            "networksecuritygroups": "nsgs"}[typ.lower()]
    obj = net(r)[coll].get(p[2].lower())
    if obj is not None and typ.lower() == "virtualnetworks" and p[3] is not None:
        return obj.subnets.get(p[3].lower())
    return obj


def nic_of_ipconfig(w, ipconfig_id):
    if not ipconfig_id:
        return None
    return find(w, ipconfig_id.split("/ipConfigurations/")[0], "networkInterfaces")


def vm_nic_ids(vm):
    """The VM's networkProfile.networkInterfaces ids (primary first)."""
    ids = getattr(vm, "nic_ids", None)
    if ids is None:
        ids = [rid(vm.sub, vm.rg, "networkInterfaces", "%s-nic" % vm.name)]
    return list(ids)


VM_NICS.append(vm_nic_ids)


def attach(w, vm, nic_ids):
    """VM create/update: the NICs named in its networkProfile become the VM's (each used by one VM only)."""
    nics = []
    for i in nic_ids:
        nic = find(w, i, "networkInterfaces")
        if nic is None:
            raise ArmError(404, "NotFound", "Resource %s not found." % i)
        if nic.vm_id and nic.vm_id.lower() != vm.id.lower():
            raise ArmError(400, "NicInUse", "Network Interface %s is used by existing resource %s. In order to "
                           "use it for another virtual machine, it must be dissociated from the resource."
                           % (nic.id, nic.vm_id))
        nics.append(nic)
    for old in all_nics(w, vm.sub):
        if old.vm_id and old.vm_id.lower() == vm.id.lower() and old not in nics:
            old.vm_id = None
    for nic in nics:
        nic.vm_id = vm.id
    vm.nic_ids = [n.id for n in nics]


# ---------------------------------------------------------------------------------------------- seeding

def seed_rg(w, r, rdoc):
    """Resource-group keys vnets / nsgs / public_ips."""
    for ndoc in rdoc.get("nsgs") or []:
        net(r)["nsgs"][ndoc["name"].lower()] = NSG(r.sub, r.name, ndoc["name"], ndoc.get("location", r.location),
                                                   ndoc.get("rules"))
    for vdoc in rdoc.get("vnets") or []:
        v = VNet(r.sub, r.name, vdoc["name"], vdoc.get("location", r.location),
                 vdoc.get("address_prefixes") or ["10.0.0.0/16"])
        for sdoc in vdoc.get("subnets") or [{"name": "default", "prefix": v.prefixes[0]}]:
            nsg = sdoc.get("nsg")
            v.subnets[sdoc["name"].lower()] = Subnet(v, sdoc["name"], sdoc.get("prefix") or v.prefixes[0],
                                                     rid(r.sub, r.name, "networkSecurityGroups", nsg) if nsg else None)
        net(r)["vnets"][v.name.lower()] = v
    for pdoc in rdoc.get("public_ips") or []:
        label = pdoc.get("dns_label")
        loc = pdoc.get("location", r.location)
        if label and (not DNS_LABEL_RE.match(label) or dns_holder(w, label, loc) is not None):
            raise ValueError("public IP %s: dns_label %r is invalid or already used" % (pdoc["name"], label))
        net(r)["pips"][pdoc["name"].lower()] = PublicIP(r.sub, r.name, pdoc["name"], loc,
                                                        pdoc.get("allocation", "Static"), pdoc.get("sku", "Standard"),
                                                        dns_label=label)


def _default_vnet(r, location):
    vn = net(r)["vnets"]
    if vn:
        return next(iter(vn.values()))
    v = VNet(r.sub, r.name, "%s-vnet" % r.name, location, ["10.0.0.0/16"])
    v.subnets["default"] = Subnet(v, "default", "10.0.0.0/16")
    vn[v.name.lower()] = v
    return v


def seed_vm(w, r, vm, ndoc):
    """The seeded VM's primary NIC (replacing one of the same name)."""
    ndoc = ndoc or {}
    unknown = set(ndoc) - VM_NET_KEYS
    if unknown:
        raise ValueError("unknown network keys %s for VM %s" % (sorted(unknown), vm.name))
    if ndoc.get("vnet"):
        v = net(r)["vnets"].get(ndoc["vnet"].lower())
        if v is None:
            raise ValueError("VM %s: virtual network %r is not in resource group %s" % (vm.name, ndoc["vnet"], r.name))
    else:
        v = _default_vnet(r, vm.location)
    sname = (ndoc.get("subnet") or next(iter(v.subnets.values())).name).lower()
    subnet = v.subnets.get(sname)
    if subnet is None:
        raise ValueError("VM %s: subnet %r is not in virtual network %s" % (vm.name, ndoc.get("subnet"), v.name))
    name = ndoc.get("nic_name") or "%s-nic" % vm.name
    old = net(r)["nics"].pop(name.lower(), None)
    if old is not None:
        _release(w, old)
    nic = NIC(r.sub, r.name, name, vm.location)
    ip = ndoc.get("private_ip")
    if ip:
        if ipaddress.ip_address(ip) not in subnet.network():
            raise ValueError("VM %s: private_ip %s is not in subnet %s (%s)"
                             % (vm.name, ip, subnet.name, subnet.prefix))
        holder = subnet.holders(w).get(ip)
        if holder:
            raise ValueError("VM %s: private_ip %s is already used by %s" % (vm.name, ip, holder))
        cfg = {"name": "ipconfig1", "subnet": subnet, "allocation": "Static", "address": ip, "primary": True}
    else:
        cfg = {"name": "ipconfig1", "subnet": subnet, "allocation": "Dynamic", "address": subnet.next_free(w),
               "primary": True}
    if ndoc.get("public_ip"):
        pip = net(r)["pips"].get(ndoc["public_ip"].lower())
        if pip is None:
            raise ValueError("VM %s: public IP %r is not seeded in %s" % (vm.name, ndoc["public_ip"], r.name))
        cfg["pip_id"] = pip.id
        pip.holder = nic.id + "/ipConfigurations/ipconfig1"
    nic.ipconfigs = [cfg]
    if ndoc.get("nsg"):
        nic.nsg_id = rid(r.sub, r.name, "networkSecurityGroups", ndoc["nsg"])
    nic.accelerated = bool(ndoc.get("accelerated_networking"))
    if ndoc.get("mac"):
        nic.mac = ndoc["mac"]
    nic.vm_id = vm.id
    net(r)["nics"][name.lower()] = nic
    vm.nic_ids = [nic.id]
    return nic


def _release(w, nic):
    for c in nic.ipconfigs:
        pip = find(w, c.get("pip_id"), "publicIPAddresses") if c.get("pip_id") else None
        if pip is not None and pip.holder and pip.holder.lower().startswith(nic.id.lower() + "/"):
            pip.holder = None


# ---------------------------------------------------------------------------------------------- operations

def _op(req, location, on_done=None, duration=None):
    w = req.world
    dur = w.config["net_op_seconds"] if duration is None else duration
    op = w.new_op(OP_KIND, req.g("sub"), location, dur, on_done=on_done)
    return op


def _op_headers(req, op):
    w = req.world
    url = "%s/subscriptions/%s/providers/Microsoft.Network/locations/%s/operations/%s?api-version=%s" % (
        w.base_url, op.sub, op.location, op.id, req.api)
    return {"Azure-AsyncOperation": url, "Retry-After": "1"}


@route("GET", SUB + r"/providers/Microsoft\.Network/locations/(?P<loc>[^/]+)/operations/(?P<oid>[^/]+)")
def get_net_operation(req):
    op = req.world.op(req.g("sub"), OP_KIND, req.g("oid"))
    body = {"status": op.status}
    if op.error:
        body["error"] = dict(op.error)
    return ok(body)


def _busy_done(obj):
    def done(o):
        if obj.busy is o:
            obj.busy = None
    return done


# ---------------------------------------------------------------------------------------------- NICs

def _rg_of(req):
    return req.world.rg(req.g("sub"), req.g("rg"))


def _get_nic(req):
    nic = net(_rg_of(req))["nics"].get(req.g("nic").lower())
    if nic is None:
        raise not_found("Microsoft.Network/networkInterfaces", req.g("nic"), req.g("rg"))
    return nic


@route("GET", NICP)
def get_nic(req):
    return ok(_get_nic(req).to_json(req.world))


@route("GET", NET + r"/networkInterfaces")
def list_nics_rg(req):
    items = sorted(net(_rg_of(req))["nics"].values(), key=lambda n: n.name.lower())
    return paged(req, items, lambda n: n.to_json(req.world))


@route("GET", SUB + r"/providers/Microsoft\.Network/networkInterfaces")
def list_nics_sub(req):
    items = sorted(all_nics(req.world, req.g("sub")), key=lambda n: n.id.lower())
    return paged(req, items, lambda n: n.to_json(req.world))


@route("GET", NICP + r"/ipConfigurations")
def list_ipconfigs(req):
    nic = _get_nic(req)
    return ok({"value": [nic.ipconfig_json(req.world, c) for c in nic.ipconfigs]})


@route("GET", NICP + r"/ipConfigurations/(?P<ipc>[^/]+)")
def get_ipconfig(req):
    nic = _get_nic(req)
    for c in nic.ipconfigs:
        if c["name"].lower() == req.g("ipc").lower():
            return ok(nic.ipconfig_json(req.world, c))
    raise ArmError(404, "NotFound", "Resource %s/ipConfigurations/%s not found." % (nic.id, req.g("ipc")))


def _ref(w, body_ref, typ, me):
    ref_id = (body_ref or {}).get("id")
    if not ref_id:
        return None, None
    obj = find(w, ref_id, typ)
    if obj is None:
        raise ArmError(400, "InvalidResourceReference", "Resource %s referenced by resource %s was not found. "
                       "Please make sure that the referenced resource exists, and that both resources are in the "
                       "same region." % (ref_id, me))
    return ref_id, obj


@route("PUT", NICP)
def put_nic(req):
    w = req.world
    r = _rg_of(req)
    body = req.body if isinstance(req.body, dict) else {}
    props = body.get("properties") or {}
    name = req.g("nic")
    nic = net(r)["nics"].get(name.lower())
    created = nic is None
    me = rid(req.g("sub"), r.name, "networkInterfaces", name)
    if nic is not None and nic.busy is not None:
        raise ArmError(409, "AnotherOperationInProgress", "Another operation on this or dependent resource is in "
                       "progress. To retrieve status of the operation use uri: %s" % _op_headers(req, nic.busy)[
                           "Azure-AsyncOperation"])
    location = body.get("location") or (nic.location if nic else None)
    if not location:
        raise ArmError(400, "LocationRequired", "The location property is required for this definition.")
    cfgs_in = props.get("ipConfigurations") or []
    if not cfgs_in:
        raise ArmError(400, "NetworkInterfaceMustHaveAtLeastOneIpConfiguration", "Network interface %s must have "
                       "at least one IP configuration." % me)
    old = {c["name"].lower(): c for c in (nic.ipconfigs if nic else [])}
    new_cfgs = []
    taken = {}
    vnet_ids = set()
    for i, ci in enumerate(cfgs_in):
        cname = ci.get("name") or "ipconfig%d" % (i + 1)
        cid = me + "/ipConfigurations/" + cname
        cp = ci.get("properties") or {}
        _unused, subnet = _ref(w, cp.get("subnet"), "virtualNetworks", me)
        if subnet is None:
            raise ArmError(400, "InvalidRequestFormat", "IP configuration %s must reference a subnet." % cid)
        vnet_ids.add(subnet.vnet.id.lower())
        alloc = cp.get("privateIPAllocationMethod") or "Dynamic"
        if alloc not in ("Static", "Dynamic"):
            raise ArmError(400, "InvalidRequestFormat", "privateIPAllocationMethod must be Static or Dynamic.")
        holders = subnet.holders(w)
        prev = old.get(cname.lower())
        if alloc == "Static":
            ip = cp.get("privateIPAddress")
            if not ip:
                raise ArmError(400, "PrivateIPAddressRequired", "IP configuration %s has allocation method Static "
                               "but no private IP address." % cid)
            try:
                inside = ipaddress.ip_address(ip) in subnet.network()
            except ValueError:
                inside = False
            if not inside:
                raise ArmError(400, "PrivateIPAddressNotInSubnet", "IP configuration %s is using the private IP "
                               "address %s which does not belong to the address prefix %s of subnet %s."
                               % (cid, ip, subnet.prefix, subnet.id))
            if subnet.reserved(ip):
                raise ArmError(400, "PrivateIPAddressIsReserved", "IP configuration %s is using the private IP "
                               "address %s which is reserved in subnet %s (the first four and the last address "
                               "of a subnet are reserved)." % (cid, ip, subnet.id))
            holder = holders.get(ip) or taken.get(ip)
            if holder and holder.lower() != cid.lower():
                raise ArmError(400, "PrivateIPAddressIsAllocated", "IP configuration %s is using the private IP "
                               "address %s which is already allocated to resource %s." % (cid, ip, holder))
        else:
            if prev is not None and prev["subnet"] is subnet and prev.get("address"):
                ip = prev["address"]          # open: a Dynamic configuration keeps its address (module docstring)
            else:
                ip = subnet.next_free(w, taken)
        taken[ip] = cid
        pip_id, pip = _ref(w, cp.get("publicIPAddress"), "publicIPAddresses", me)
        if pip is not None and pip.holder and pip.holder.lower() != cid.lower():
            raise ArmError(400, "PublicIPAddressInUse", "IP configuration %s is referencing public IP address %s "
                           "that is already allocated to resource %s." % (cid, pip.id, pip.holder))
        new_cfgs.append({"name": cname, "subnet": subnet, "allocation": alloc, "address": ip,
                         "pip_id": pip.id if pip else None, "primary": bool(cp.get("primary", i == 0))})
    if len(vnet_ids) > 1:
        raise ArmError(400, "IpConfigurationsOnSameNicCannotUseDifferentVnets", "IP configurations of network "
                       "interface %s must all be in the same virtual network." % me)
    nsg_id, _unused = _ref(w, props.get("networkSecurityGroup"), "networkSecurityGroups", me)
    # apply
    if nic is None:
        nic = NIC(req.g("sub"), r.name, name, location)
        net(r)["nics"][name.lower()] = nic
    else:
        _release(w, nic)
    nic.ipconfigs = new_cfgs
    for c in new_cfgs:
        if c.get("pip_id"):
            find(w, c["pip_id"], "publicIPAddresses").holder = me + "/ipConfigurations/" + c["name"]
    nic.nsg_id = nsg_id
    nic.accelerated = bool(props.get("enableAcceleratedNetworking", False))
    nic.ip_forwarding = bool(props.get("enableIPForwarding", False))
    nic.dns_servers = list((props.get("dnsSettings") or {}).get("dnsServers") or [])
    if "tags" in body:
        nic.tags = dict(body.get("tags") or {})
    nic.etag = _etag()
    op = _op(req, nic.location)
    op.on_done = _busy_done(nic)
    nic.busy = op
    return 201 if created else 200, nic.to_json(w), _op_headers(req, op)


@route("PATCH", NICP)
def patch_nic(req):
    """Update Tags (the only PATCH the REST reference has for network interfaces)."""
    nic = _get_nic(req)
    body = req.body if isinstance(req.body, dict) else {}
    if "tags" in body:
        nic.tags = dict(body.get("tags") or {})
        nic.etag = _etag()
    return ok(nic.to_json(req.world))


@route("DELETE", NICP)
def delete_nic(req):
    w = req.world
    r = _rg_of(req)
    nic = net(r)["nics"].get(req.g("nic").lower())
    if nic is None:
        return 204, None, {}
    if nic.vm_id and nic.vm(w) is not None:
        raise ArmError(400, "NicInUse", "Network Interface %s is used by existing resource %s. In order to delete "
                       "the network interface, it must be dissociated from the resource. To learn more, see "
                       "aka.ms/deletenic." % (nic.id, nic.vm_id))
    _release(w, nic)
    net(r)["nics"].pop(nic.name.lower(), None)
    op = _op(req, nic.location)
    h = _op_headers(req, op)
    h["Location"] = h["Azure-AsyncOperation"]
    return 202, None, h


# ---------------------------------------------------------------------------------------------- public IPs

def _get_pip(req):
    pip = net(_rg_of(req))["pips"].get(req.g("pip").lower())
    if pip is None:
        raise not_found("Microsoft.Network/publicIPAddresses", req.g("pip"), req.g("rg"))
    return pip


@route("GET", PIPP)
def get_pip(req):
    return ok(_get_pip(req).to_json(req.world))


@route("GET", NET + r"/publicIPAddresses")
def list_pips_rg(req):
    return ok({"value": [p.to_json(req.world) for p in net(_rg_of(req))["pips"].values()]})


@route("GET", SUB + r"/providers/Microsoft\.Network/publicIPAddresses")
def list_pips_sub(req):
    return ok({"value": [p.to_json(req.world) for r in _rgs(req.world, req.g("sub"))
                         for p in net(r)["pips"].values()]})


@route("PUT", PIPP)
def put_pip(req):
    r = _rg_of(req)
    body = req.body if isinstance(req.body, dict) else {}
    props = body.get("properties") or {}
    name = req.g("pip")
    pip = net(r)["pips"].get(name.lower())
    created = pip is None
    sku = (body.get("sku") or {}).get("name") or (pip.sku if pip else "Standard")
    alloc = props.get("publicIPAllocationMethod") or (pip.allocation if pip else
                                                      ("Static" if sku == "Standard" else "Dynamic"))
    if sku == "Standard" and alloc != "Static":
        raise ArmError(400, "StandardSkuPublicIPAddressesMustBeStatic", "Standard sku publicIp %s must have "
                       "AllocationMethod set to Static." % rid(req.g("sub"), r.name, "publicIPAddresses", name))
    location = body.get("location") or (pip.location if pip else None)
    if not location:
        raise ArmError(400, "LocationRequired", "The location property is required for this definition.")
    label = (props.get("dnsSettings") or {}).get("domainNameLabel") or None
    if label is not None:
        if not DNS_LABEL_RE.match(label):
            raise ArmError(400, "InvalidDomainNameLabel", "The domain name label %s is invalid. It must conform to "
                           "the following regular expression: ^[a-z][a-z0-9-]{1,61}[a-z0-9]$." % label)
        other = dns_holder(req.world, label, location, me=pip)
        if other is not None:
            raise ArmError(400, "DnsRecordInUse", "DNS record %s is already used by another public IP."
                           % fqdn(label, location))
    if pip is None:
        pip = PublicIP(req.g("sub"), r.name, name, location, alloc, sku)
        net(r)["pips"][name.lower()] = pip
    pip.allocation, pip.sku = alloc, sku
    pip.dns_label = label            # PUT replaces the resource: no dnsSettings = no label (the A record goes)
    if "tags" in body:
        pip.tags = dict(body.get("tags") or {})
    pip.etag = _etag()
    op = _op(req, location)
    return 201 if created else 200, pip.to_json(req.world), _op_headers(req, op)


@route("DELETE", PIPP)
def delete_pip(req):
    r = _rg_of(req)
    pip = net(r)["pips"].get(req.g("pip").lower())
    if pip is None:
        return 204, None, {}
    if pip.holder:
        raise ArmError(400, "PublicIPAddressCannotBeDeleted", "Public IP address %s can not be deleted since it is "
                       "still allocated to resource %s. In order to delete the public IP, disassociate/detach the "
                       "Public IP address from the resource." % (pip.id, pip.holder))
    net(r)["pips"].pop(pip.name.lower(), None)
    op = _op(req, pip.location)
    h = _op_headers(req, op)
    h["Location"] = h["Azure-AsyncOperation"]
    return 202, None, h


# ---------------------------------------------------------------------------------------------- VNets, subnets

def _get_vnet(req):
    v = net(_rg_of(req))["vnets"].get(req.g("vnet").lower())
    if v is None:
        raise not_found("Microsoft.Network/virtualNetworks", req.g("vnet"), req.g("rg"))
    return v


@route("GET", VNETP)
def get_vnet(req):
    return ok(_get_vnet(req).to_json(req.world))


@route("GET", NET + r"/virtualNetworks")
def list_vnets_rg(req):
    return ok({"value": [v.to_json(req.world) for v in net(_rg_of(req))["vnets"].values()]})


@route("GET", SUB + r"/providers/Microsoft\.Network/virtualNetworks")
def list_vnets_sub(req):
    return ok({"value": [v.to_json(req.world) for r in _rgs(req.world, req.g("sub"))
                         for v in net(r)["vnets"].values()]})


@route("PUT", VNETP)
def put_vnet(req):
    w = req.world
    r = _rg_of(req)
    body = req.body if isinstance(req.body, dict) else {}
    props = body.get("properties") or {}
    name = req.g("vnet")
    v = net(r)["vnets"].get(name.lower())
    created = v is None
    prefixes = (props.get("addressSpace") or {}).get("addressPrefixes") or (v.prefixes if v else None)
    if not prefixes:
        raise ArmError(400, "InvalidRequestFormat", "addressSpace.addressPrefixes is required.")
    location = body.get("location") or (v.location if v else None)
    if not location:
        raise ArmError(400, "LocationRequired", "The location property is required for this definition.")
    if v is None:
        v = VNet(req.g("sub"), r.name, name, location, prefixes)
    v.prefixes = list(prefixes)
    if "subnets" in props:
        subs = {}
        for s in props.get("subnets") or []:
            sp = s.get("properties") or {}
            cur = v.subnets.get((s.get("name") or "").lower())
            nsg = (sp.get("networkSecurityGroup") or {}).get("id")
            sn = cur or Subnet(v, s["name"], sp.get("addressPrefix") or prefixes[0], nsg)
            sn.nsg_id = nsg
            subs[sn.name.lower()] = sn
        for k, sn in v.subnets.items():
            if k not in subs and sn.holders(w):
                raise ArmError(400, "InUseSubnetCannotBeDeleted", "Subnet %s is in use by %s and cannot be deleted."
                               % (sn.id, sorted(sn.holders(w).values())[0]))
        v.subnets = subs
    if "tags" in body:
        v.tags = dict(body.get("tags") or {})
    net(r)["vnets"][name.lower()] = v
    v.etag = _etag()
    op = _op(req, location)
    return 201 if created else 200, v.to_json(w), _op_headers(req, op)


@route("GET", VNETP + r"/subnets")
def list_subnets(req):
    v = _get_vnet(req)
    return ok({"value": [s.to_json(req.world) for s in v.subnets.values()]})


@route("GET", VNETP + r"/subnets/(?P<sn>[^/]+)")
def get_subnet(req):
    v = _get_vnet(req)
    s = v.subnets.get(req.g("sn").lower())
    if s is None:
        raise ArmError(404, "NotFound", "Resource %s/subnets/%s not found." % (v.id, req.g("sn")))
    return ok(s.to_json(req.world))


# ---------------------------------------------------------------------------------------------- NSGs

def _get_nsg(req):
    n = net(_rg_of(req))["nsgs"].get(req.g("nsg").lower())
    if n is None:
        raise not_found("Microsoft.Network/networkSecurityGroups", req.g("nsg"), req.g("rg"))
    return n


@route("GET", NSGP)
def get_nsg(req):
    return ok(_get_nsg(req).to_json(req.world))


@route("GET", NET + r"/networkSecurityGroups")
def list_nsgs_rg(req):
    return ok({"value": [n.to_json(req.world) for n in net(_rg_of(req))["nsgs"].values()]})


@route("GET", SUB + r"/providers/Microsoft\.Network/networkSecurityGroups")
def list_nsgs_sub(req):
    return ok({"value": [n.to_json(req.world) for r in _rgs(req.world, req.g("sub"))
                         for n in net(r)["nsgs"].values()]})


@route("PUT", NSGP)
def put_nsg(req):
    r = _rg_of(req)
    body = req.body if isinstance(req.body, dict) else {}
    props = body.get("properties") or {}
    name = req.g("nsg")
    n = net(r)["nsgs"].get(name.lower())
    created = n is None
    location = body.get("location") or (n.location if n else None)
    if not location:
        raise ArmError(400, "LocationRequired", "The location property is required for this definition.")
    if n is None:
        n = NSG(req.g("sub"), r.name, name, location)
        net(r)["nsgs"][name.lower()] = n
    if "securityRules" in props:
        n.rules = copy.deepcopy(props.get("securityRules") or [])
    if "tags" in body:
        n.tags = dict(body.get("tags") or {})
    n.etag = _etag()
    op = _op(req, location)
    return 201 if created else 200, n.to_json(req.world), _op_headers(req, op)
