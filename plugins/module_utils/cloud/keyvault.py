# -*- coding: utf-8 -*-
# Copyright: azure_ade.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to azure_ade.linux: used by this collection's modules and plugins only, not a public API; may change in any release.
"""Key encryption key (KEK) given by name, unversioned or versioned URL: resolved and checked through the Key
Vault data plane, as az does.

- Azure/azure-cli vm/disk_encryption.py encrypt_vm: a KEK without '://' is a key NAME in the KEK vault
  (default: the disk-encryption vault) and is resolved with the data-plane client's get_key(name) to key.id, the
  versioned key identifier of the current version (_get_keyvault_key_url).
- The extension needs a versioned, portless URL (check_util.py@ade-sp-release-1.4.0.12 KEK regex; docs include
  disk-encryption-key-vault.md), and an RSA key ("Azure Disk Encryption does not yet support using Elliptic Curve
  keys"; --kty RSA or RSA-HSM), enabled.
- Key Vault REST 7.4 "Get Key": GET {vault}/keys/{name}[/{version}] -> KeyBundle {key {kid, kty}, attributes
  {enabled}}; 404 KeyNotFound. Token scope https://<keyvault suffix>/.default (e.g. https://vault.azure.net).

Requests go through an azure-core pipeline built from the session's credential, retry settings, CA bundle and
request counter. AZURE_ADE_KEYVAULT_ENDPOINT (optional, e.g. https://127.0.0.1:8443/_keyvault/{vault}) sends the
data-plane requests to another base URL - for private endpoints without public DNS, and the simulator.
"""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import re

KEYVAULT_DATA_API = '7.4'
_KEK_URL = re.compile(r'^https://(?P<vault>[a-zA-Z0-9\-]+)\.(?P<suffix>[a-zA-Z0-9\-\.]+?)(?P<port>:\d+)?'
                      r'/keys/(?P<name>[a-zA-Z0-9\-]+)(/(?P<version>[a-zA-Z0-9]*))?/?$')
_KEY_NAME = re.compile(r'^[a-zA-Z0-9\-]{1,127}$')
RSA_TYPES = ('RSA', 'RSA-HSM')


def parse_kek(value):
    """'name' | 'https://v.vault.azure.net/keys/name[/version]' -> dict(kind, vault, name, version, port)
    kind: name | unversioned | versioned | invalid. Pure."""
    value = (value or '').strip()
    if '://' not in value:
        if _KEY_NAME.match(value):
            return dict(kind='name', vault=None, name=value, version=None, port=None)
        return dict(kind='invalid', vault=None, name=value, version=None, port=None)
    m = _KEK_URL.match(value)
    if not m:
        return dict(kind='invalid', vault=None, name=None, version=None, port=None)
    return dict(kind='versioned' if m.group('version') else 'unversioned', vault=m.group('vault'),
                name=m.group('name'), version=m.group('version') or None, port=m.group('port'))


def check_key_bundle(bundle, label):
    """Errors for a KeyBundle that cannot be a KEK (disabled, not RSA). Pure."""
    errors = []
    key = (bundle or {}).get('key') or {}
    attrs = (bundle or {}).get('attributes') or {}
    if attrs.get('enabled') is False:
        errors.append("kek: key {0} is disabled in Key Vault; enable it (az keyvault key set-attributes --enabled "
                      "true) or use another key".format(label))
    kty = key.get('kty') or ''
    if kty.upper() not in RSA_TYPES:
        errors.append("kek: key {0} is of type {1}; ADE needs an RSA key (RSA or RSA-HSM; Elliptic Curve keys are not "
                      "supported): az keyvault key create --kty RSA".format(label, kty or 'unknown'))
    return errors


def data_plane_base(vault_name, keyvault_suffix, environ=None):
    env = os.environ if environ is None else environ
    override = env.get('AZURE_ADE_KEYVAULT_ENDPOINT')
    if override:
        return override.replace('{vault}', vault_name).rstrip('/')
    return 'https://{0}.{1}'.format(vault_name, keyvault_suffix)


def _pipeline_client(session, base):
    from azure.core import PipelineClient  # pylint: disable=import-outside-toplevel
    from azure.core.pipeline import policies  # pylint: disable=import-outside-toplevel
    suffix = session.plan['cloud'].get('keyvault_suffix') or 'vault.azure.net'
    scope = 'https://{0}/.default'.format(suffix)
    pol = [policies.RequestIdPolicy(), policies.HeadersPolicy(), policies.UserAgentPolicy('azure-ade-linux'),
           policies.RetryPolicy(retry_total=int(os.environ.get('AZURE_ADE_RETRY_TOTAL', '10'))),
           policies.BearerTokenCredentialPolicy(session.credential, scope),
           policies.CustomHookPolicy(raw_response_hook=session.stats.hook),
           policies.NetworkTraceLoggingPolicy()]
    kw = {}
    if session.plan.get('ca_bundle'):
        kw['connection_verify'] = session.plan['ca_bundle']
    return PipelineClient(base_url=base, policies=pol, **kw)


def get_key(session, vault_name, key_name, version=None):
    """(status_code, body) of GET keys/<name>[/<version>] on the vault's data plane."""
    from azure.core.rest import HttpRequest  # pylint: disable=import-outside-toplevel
    suffix = session.plan['cloud'].get('keyvault_suffix') or 'vault.azure.net'
    base = data_plane_base(vault_name, suffix)
    client = _pipeline_client(session, base)
    path = '{0}/keys/{1}'.format(base, key_name) + ('/' + version if version else '')
    resp = client.send_request(HttpRequest('GET', path + '?api-version=' + KEYVAULT_DATA_API))
    try:
        body = resp.json()
    except ValueError:
        body = None
    return resp.status_code, body


def resolve_kek(session, kek, kek_vault_name):
    """Resolve and check a KEK. Returns (versioned_url, errors). ``kek_vault_name``: the vault the KEK must live in
    (kek_vault, else key_vault). Errors name the problem and the fix; nothing is written."""
    p = parse_kek(kek)
    if p['kind'] == 'invalid':
        return None, ["kek '{0}' is neither a key name nor a key URL https://<vault>.vault.azure.net/keys/<name>"
                      "[/<version>]".format(kek)]
    if p['port']:
        return None, ["kek '{0}': ADE does not accept a port in the key URL; drop '{1}'".format(kek, p['port'])]
    vault = p['vault'] or kek_vault_name
    if p['vault'] and kek_vault_name and p['vault'].lower() != kek_vault_name.lower():
        return None, ["kek '{0}' is in vault {1} but the KEK vault is {2}; set kek_vault to {1} or use a key of {2}"
                      .format(kek, p['vault'], kek_vault_name)]
    label = '{0}/{1}'.format(p['name'], p['version']) if p['version'] else p['name']
    status, body = get_key(session, vault, p['name'], p['version'])
    if status == 404:
        return None, ["kek: key {0} was not found in Key Vault {1} ({2}); create it (az keyvault key create "
                      "--vault-name {1} -n {3} --kty RSA) or fix the name".format(
                          label, vault, ((body or {}).get('error') or {}).get('code') or 'HTTP 404', p['name'])]
    if status == 403:
        return None, ["kek: no permission to read key {0} in Key Vault {1} (HTTP 403); grant the caller 'get' on keys "
                      "(access policy) or 'Key Vault Crypto User' (RBAC), or pass the versioned key URL".format(
                          label, vault)]
    if status >= 400:
        return None, ["kek: reading key {0} from Key Vault {1} failed with HTTP {2}: {3}".format(
            label, vault, status, ((body or {}).get('error') or {}).get('message') or '')]
    errors = check_key_bundle(body, label)
    kid = ((body or {}).get('key') or {}).get('kid')
    if not errors and not parse_kek(kid).get('version'):
        errors.append("kek: Key Vault returned no versioned key id for {0}".format(label))
    return (None if errors else kid), errors
