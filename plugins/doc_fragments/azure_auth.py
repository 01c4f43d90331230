# -*- coding: utf-8 -*-
# Copyright: azure_ade.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):

    DOCUMENTATION = r'''
options:
  auth_source:
    description:
      - Where the credentials come from. Same names and precedence as C(azure.azcollection).
      - V(auto) tries module parameters, then the environment (E(AZURE_CLIENT_ID), E(AZURE_SECRET),
        E(AZURE_TENANT), E(AZURE_SUBSCRIPTION_ID), or E(AZURE_PROFILE)), then the V([default]) profile of
        C(~/.azure/credentials), then the Azure CLI login.
      - V(env) uses only the environment; V(credential_file) only C(~/.azure/credentials) (section O(profile),
        E(AZURE_PROFILE), or V(default)); V(cli) the Azure CLI login (C(AzureCliCredential));
        V(msi) the VM's managed identity (O(client_id) selects a user-assigned one; without
        O(subscription_id) the first visible subscription is used).
      - Falls back to E(ANSIBLE_AZURE_AUTH_SOURCE), then V(auto).
    type: str
    choices: [auto, env, credential_file, cli, msi]
  profile:
    description:
      - Section of C(~/.azure/credentials) (INI with C(subscription_id), C(client_id), C(secret), C(tenant),
        optional C(cloud_environment)).
    type: str
  subscription_id:
    description: Subscription ID. Falls back to the credential source, then E(AZURE_SUBSCRIPTION_ID).
    type: str
  client_id:
    description: Service principal (application) ID; with O(auth_source=msi) the user-assigned identity's client ID.
    type: str
  secret:
    description:
      - Service principal secret. Pass it from a vault-encrypted vars file (C(-e @file) with C(ansible-vault)) or an
        AWX credential, never inline on a command line.
    type: str
  tenant:
    description: Tenant (directory) ID.
    type: str
  cloud_environment:
    description:
      - Azure cloud. V(custom) needs O(resource_manager_url) and O(authority_url).
      - Falls back to E(AZURE_CLOUD_ENVIRONMENT), the profile's C(cloud_environment), then V(AzureCloud)
        (V(custom) when only the URLs are set).
    type: str
    choices: [AzureCloud, AzureUSGovernment, AzureChinaCloud, custom]
  resource_manager_url:
    description:
      - Azure Resource Manager endpoint, for example V(https://management.azure.com).
      - With a named O(cloud_environment) (or one from E(AZURE_CLOUD_ENVIRONMENT) or the profile) it must be that
        cloud's own endpoint, else the module fails before any login (the cloud's access token is sent only to its
        own hosts). Any other endpoint needs a custom cloud (O(cloud_environment=custom) or none, with both
        O(resource_manager_url) and O(authority_url)).
      - Falls back to E(AZURE_RESOURCE_MANAGER_URL).
    type: str
  authority_url:
    description:
      - Microsoft Entra ID authority host, for example V(https://login.microsoftonline.com).
        Instance discovery is turned off for any authority that is not a public Azure one.
      - With a named O(cloud_environment) it must be that cloud's own authority (the client secret goes there);
        any other authority needs a custom cloud, as for O(resource_manager_url).
      - Falls back to E(AZURE_AUTHORITY_HOST).
    type: str
  ca_bundle:
    description:
      - PEM file of CA certificates to trust for Azure Resource Manager and the authority (proxies that
        inspect TLS, private clouds, the test simulator). Passed to the credential and the client.
      - Falls back to E(AZURE_CA_BUNDLE), then E(REQUESTS_CA_BUNDLE).
    type: path
notes:
  - Runs on the control node; needs C(azure-mgmt-compute>=39,<40), C(azure-identity) and C(jmespath)
    (C(pip install 'azure-mgmt-compute>=39,<40' azure-identity jmespath)).
  - Set the credentials once for all modules of this collection with
    C(module_defaults) and the action group C(group/azure_ade.linux.azure).
  - Requests are retried by azure-core (up to 10 times, E(AZURE_ADE_RETRY_TOTAL)); 429/503 answers are retried after their
    C(Retry-After), other 5xx and dropped connections with exponential back-off. Long-running operations are
    polled at their C(Retry-After) or every E(AZURE_ADE_LRO_POLLING_INTERVAL) seconds (default 5).
  - Access tokens are renewed during long waits.
  - While waiting, a C(VMRestartPending) status (the extension reboots the VM itself) counts as in progress for
    1800 s (E(AZURE_ADE_RESTART_PENDING_GRACE)); a transient error status that does not change for 1800 s
    (E(AZURE_ADE_TRANSIENT_ERROR_LIMIT)) ends the wait as C(failed) with C(stalled=true).
requirements:
  - python >= 3.10
  - azure-mgmt-compute >= 39, < 40
  - azure-identity
'''
