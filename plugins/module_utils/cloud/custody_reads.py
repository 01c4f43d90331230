# -*- coding: utf-8 -*-
# Copyright: azure_ade.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to azure_ade.linux: used by this collection's modules and plugins only, not a public API; may change in any release.
"""The reads of the key-custody check (custody.py decides): the real Azure SDKs, bounded per fleet.

- secrets: azure-keyvault-secrets SecretClient.list_properties_of_secret_versions - one request per distinct secret
  (one page: ADE writes one version per enable); attributes and tags only, the secret VALUE is never read;
- KEKs: azure-keyvault-keys KeyClient.get_key(name, version) - one per distinct KEK version (public part only);
- vaults: azure-mgmt-keyvault vaults.get and azure-mgmt-resource-locks list_at_resource_level - one each per vault.

Data-plane clients are built per vault from the session's credential, retry settings, CA bundle and request counter;
AZURE_ADE_KEYVAULT_ENDPOINT (keyvault.py data_plane_base) sends them to another base URL (private endpoint without
public DNS, the simulator) - the challenge's resource is then not checked against that host. Each vault's first
request answers Key Vault's authentication challenge (one extra 401), the rest run on ``workers`` threads.
"""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import traceback

from ansible_collections.azure_ade.linux.plugins.module_utils.cloud.custody import parse_vault_id
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud.keyvault import data_plane_base

KV_SDK_IMPORT_ERROR = None
try:
    from azure.keyvault.secrets import SecretClient
    from azure.keyvault.keys import KeyClient
    from azure.mgmt.keyvault import KeyVaultManagementClient
    from azure.mgmt.resource.locks import ManagementLockClient
except ImportError:
    KV_SDK_IMPORT_ERROR = traceback.format_exc()

KV_SDK_PIP = ('pip install "azure-keyvault-secrets>=4.7,<5" "azure-keyvault-keys>=4.8,<5" '
              '"azure-mgmt-keyvault>=10,<14" "azure-mgmt-resource-locks>=1,<2"')


def missing_sdk_message():
    last = ((KV_SDK_IMPORT_ERROR or '').strip().splitlines() or [''])[-1]
    return ("check_custody needs the Key Vault SDKs on the control node: {0} (import error: {1})".format(
        KV_SDK_PIP, last))


def _epoch(dt):
    if dt is None:
        return None
    try:
        import calendar  # pylint: disable=import-outside-toplevel
        return float(calendar.timegm(dt.utctimetuple()))
    except (AttributeError, ValueError):
        return None


def _perms(policy, kind):
    """An access policy's permissions of one kind as plain lower-case strings (the SDK gives enum members)."""
    perm = policy.permissions
    if perm is None:
        return []
    # azure-mgmt-keyvault >= 11 models name it keys_property (a Mapping model); older msrest models: keys
    perms = getattr(perm, 'keys_property', None) if kind == 'keys' and hasattr(perm, 'keys_property') else \
        getattr(perm, kind, None)
    if not isinstance(perms, list):
        perms = []
    return [str(getattr(x, 'value', x)).lower() for x in perms]


def _status(exc):
    return getattr(exc, 'status_code', None) or getattr(getattr(exc, 'response', None), 'status_code', None) or 500


class CustodyReader(object):
    def __init__(self, session, workers=8):
        self.session = session
        self.workers = max(1, int(workers))
        self._secret_clients = {}
        self._key_clients = {}
        self._vault_names = {}

    # ---- clients ------------------------------------------------------------------------------
    def _dp_kwargs(self):
        kw = dict(retry_total=int(os.environ.get('AZURE_ADE_RETRY_TOTAL', '10')),
                  raw_response_hook=self.session.stats.hook)
        if os.environ.get('AZURE_ADE_KEYVAULT_ENDPOINT'):
            kw['verify_challenge_resource'] = False
        if self.session.plan.get('ca_bundle'):
            kw['connection_verify'] = self.session.plan['ca_bundle']
        return kw

    def _base(self, vault):
        suffix = self.session.plan['cloud'].get('keyvault_suffix') or 'vault.azure.net'
        return data_plane_base(vault, suffix)

    def secret_client(self, vault):
        if vault not in self._secret_clients:
            self._secret_clients[vault] = SecretClient(self._base(vault), self.session.credential, **self._dp_kwargs())
        return self._secret_clients[vault]

    def key_client(self, vault):
        if vault not in self._key_clients:
            self._key_clients[vault] = KeyClient(self._base(vault), self.session.credential, **self._dp_kwargs())
        return self._key_clients[vault]

    def _mgmt_kwargs(self):
        kw = self.session._client_kwargs()  # pylint: disable=protected-access
        kw.pop('polling_interval', None)
        return kw

    # ---- single reads ---------------------------------------------------------------------------
    def read_secret(self, vault, name):
        try:
            versions = []
            for p in self.secret_client(vault).list_properties_of_secret_versions(name):
                versions.append(dict(version=p.version, enabled=p.enabled, nbf=_epoch(p.not_before),
                                     exp=_epoch(p.expires_on), tags=dict(p.tags or {}), content_type=p.content_type,
                                     created=_epoch(p.created_on)))
            versions.sort(key=lambda v: v.get('created') or 0)
            return dict(status=200 if versions else 404, versions=versions)
        except Exception as exc:  # pylint: disable=broad-except
            return dict(status=_status(exc), versions=[], error=str(exc).splitlines()[0] if str(exc) else '')

    def read_key(self, vault, name, version):
        try:
            k = self.key_client(vault).get_key(name, version)
            p = k.properties
            return dict(status=200, enabled=p.enabled, exp=_epoch(p.expires_on), nbf=_epoch(p.not_before),
                        key_ops=[str(o) for o in (k.key_operations or [])], kty=str(k.key_type or ''))
        except Exception as exc:  # pylint: disable=broad-except
            return dict(status=_status(exc))

    def read_vault(self, vault_id):
        p = parse_vault_id(vault_id)
        if not p:
            return dict(status=400)
        cred = self.session.credential
        try:
            v = KeyVaultManagementClient(cred, p['subscription'], **self._mgmt_kwargs()).vaults.get(
                p['resource_group'], p['name'])
        except Exception as exc:  # pylint: disable=broad-except
            return dict(status=_status(exc))
        props = v.properties
        out = dict(status=200, location=v.location, subscription=p['subscription'],
                   enabled_for_disk_encryption=props.enabled_for_disk_encryption,
                   soft_delete=props.enable_soft_delete is not False,
                   purge_protection=bool(props.enable_purge_protection), locks=None,
                   # issue 16 item 5: the Backup service's access (protection.backup_access), from the same read
                   rbac=bool(getattr(props, 'enable_rbac_authorization', False)),
                   access_policies=[dict(object_id=ap.object_id, keys=_perms(ap, 'keys'), secrets=_perms(ap, 'secrets'))
                                    for ap in (getattr(props, 'access_policies', None) or [])])
        try:
            locks = ManagementLockClient(cred, p['subscription'], **self._mgmt_kwargs()).management_locks
            out['locks'] = [str(lk.level) for lk in locks.list_at_resource_level(
                p['resource_group'], 'Microsoft.KeyVault', '', 'vaults', p['name'])]
        except Exception:  # pylint: disable=broad-except
            out['locks'] = None       # no permission to read locks: not reported as missing
        return out

    # ---- a fleet --------------------------------------------------------------------------------
    def read_plan(self, plan):
        """Run custody.plan_reads' plan. Returns dict(secrets, keys, vaults) keyed as custody.assess_vm expects."""
        reads = dict(secrets={}, keys={}, vaults={})
        for vid in plan['vaults']:
            reads['vaults'][vid.lower()] = self.read_vault(vid)
        jobs = [('secrets', (v, n), self.read_secret, (v, n)) for v, n in plan['secrets']]
        jobs += [('keys', (v, n, ver), self.read_key, (v, n, ver)) for v, n, ver in plan['keys']]
        first, rest, seen = [], [], set()
        for job in jobs:        # each vault's first request (the auth challenge) alone, then the rest in parallel
            vk = (job[0], job[1][0])
            (rest if vk in seen else first).append(job)
            seen.add(vk)
        for kind, key, fn, args in first:
            reads[kind][key] = fn(*args)
        if rest and self.workers > 1:
            from concurrent.futures import ThreadPoolExecutor  # pylint: disable=import-outside-toplevel
            with ThreadPoolExecutor(max_workers=self.workers) as pool:
                futs = [(kind, key, pool.submit(fn, *args)) for kind, key, fn, args in rest]
                for kind, key, fut in futs:
                    reads[kind][key] = fut.result()
        else:
            for kind, key, fn, args in rest:
                reads[kind][key] = fn(*args)
        return reads
