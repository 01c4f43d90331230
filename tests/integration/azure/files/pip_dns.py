"""Public IPs of a resource group as the real azure-mgmt-network reads them: print {name: {label, fqdn, nic}} (a check
beside the module under test, from the same environment: AZURE_* variables of tests/integration/azure.sh).
  pip_dns.py RG                  print
  pip_dns.py RG NAME LABEL|-     first give public IP NAME the DNS label LABEL (- frees it), then print"""
import json
import os
import sys

from azure.identity import ClientSecretCredential
from azure.mgmt.network import NetworkManagementClient

cred = ClientSecretCredential(os.environ["AZURE_TENANT"], os.environ["AZURE_CLIENT_ID"], os.environ["AZURE_SECRET"],
                              authority=os.environ["AZURE_AUTHORITY_HOST"], disable_instance_discovery=True,
                              connection_verify=os.environ["AZURE_CA_BUNDLE"])
net = NetworkManagementClient(cred, os.environ["AZURE_SUBSCRIPTION_ID"], base_url=os.environ["AZURE_RESOURCE_MANAGER_URL"],
                              connection_verify=os.environ["AZURE_CA_BUNDLE"], retry_total=0)
rg = sys.argv[1]
if len(sys.argv) > 3:
    p = net.public_ip_addresses.get(rg, sys.argv[2])
    body = {"location": p.location, "sku": {"name": p.sku.name},
            "properties": {"publicIPAllocationMethod": p.properties.public_ip_allocation_method}}
    if sys.argv[3] != "-":
        body["properties"]["dnsSettings"] = {"domainNameLabel": sys.argv[3]}
    net.public_ip_addresses.begin_create_or_update(rg, sys.argv[2], body).result()
out = {}
for p in net.public_ip_addresses.list(rg):
    dns = p.properties.dns_settings
    cfg = p.properties.ip_configuration
    out[p.name] = {"label": dns.domain_name_label if dns else None, "fqdn": dns.fqdn if dns else None,
                   "nic": cfg.id.split("/")[8] if cfg else None}
print(json.dumps(out))
