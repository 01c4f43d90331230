"""Print {NIC name: private address} of a resource group as the real azure-mgmt-network reads them (a check beside
the module under test, from the same environment: AZURE_* variables of tests/integration/azure.sh)."""
import json
import os
import sys

from azure.identity import ClientSecretCredential
from azure.mgmt.network import NetworkManagementClient

cred = ClientSecretCredential(os.environ["AZURE_TENANT"], os.environ["AZURE_CLIENT_ID"], os.environ["AZURE_SECRET"],
                              authority=os.environ["AZURE_AUTHORITY_HOST"], disable_instance_discovery=True,
                              connection_verify=os.environ["AZURE_CA_BUNDLE"])
net = NetworkManagementClient(cred, os.environ["AZURE_SUBSCRIPTION_ID"], base_url=os.environ["AZURE_RESOURCE_MANAGER_URL"],
                              connection_verify=os.environ["AZURE_CA_BUNDLE"])
out = {}
for nic in net.network_interfaces.list(sys.argv[1]):
    vm = nic.properties.virtual_machine
    out[nic.name] = {"ip": nic.properties.ip_configurations[0].properties.private_ip_address,
                     "vm": vm.id.split("/")[-1] if vm else None}
print(json.dumps(out))
