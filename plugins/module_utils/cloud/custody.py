# -*- coding: utf-8 -*-
# Copyright: azure_ade.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to azure_ade.linux: used by this collection's modules and plugins only, not a public API; may change in any release.
"""Key custody of an ADE VM (issue 16): will its next cold start find its disk-encryption secret? Pure decisions.

The platform fetches the secret from Key Vault again only on a cold start (deallocate/start, redeploy, host
maintenance, resize); a warm restart does not. So a VM can run for months with a secret that is gone, disabled,
expired, moved or in a vault no longer enabled for disk encryption, and then stop at the passphrase prompt
(Azure/azure-linux-extensions issues 709, 730, 673). What is checked, per VM, from what the reads returned:

- every disk's ``encryptionSettings`` (instance view; dual pass: the VM model's osDisk) -> secret URL, KEK URL,
  source vaults;
- the secret version (Key Vault "Get Secret Versions": attributes and tags, never the value): exists, enabled,
  ``nbf`` passed, ``exp`` not passed (warning inside ``warn_days``), ADE's tags (DiskEncryptionKeyFileName,
  MachineName = this VM);
- the KEK (Get Key): exists, enabled, not expired, permits ``unwrapKey``;
- the vault (Microsoft.KeyVault vaults GET): found, ``enabledForDiskEncryption`` (unless the VM has an encryption
  identity), same region and subscription as the VM, soft delete and purge protection (warnings), a
  ``CanNotDelete`` lock (warning; Az PowerShell's ADE prerequisite script adds one).

Read results are plain dicts built by custody_reads.py:
  secrets[(vault, name)] = {'status': 200|404|403|..., 'versions': [{version, enabled, nbf, exp, tags, content_type}]}
  keys[(vault, name, version)] = {'status': ..., 'enabled', 'exp', 'nbf', 'key_ops': [...], 'kty'}
  vaults[vault_id_lower] = {'status': ..., 'location', 'subscription', 'enabled_for_disk_encryption', 'soft_delete',
                            'purge_protection', 'locks': ['CanNotDelete', ...] or None (unread)}
Times are epoch seconds.
"""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

PASSPHRASE_FILE_TAG = 'DiskEncryptionKeyFileName'
MACHINE_TAG = 'MachineName'
DEFAULT_WARN_DAYS = 30
_SECRET_URL = re.compile(r'^https://(?P<vault>[a-zA-Z0-9\-]+)\.[^/]+/secrets/(?P<name>[^/]+)(/(?P<version>[^/?]*))?/?$')
_KEY_URL = re.compile(r'^https://(?P<vault>[a-zA-Z0-9\-]+)\.[^/]+/keys/(?P<name>[^/]+)(/(?P<version>[^/?]*))?/?$')
_VAULT_ID = re.compile(r'^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/providers/Microsoft\.KeyVault/'
                       r'vaults/(?P<name>[^/]+)/?$', re.I)


def parse_secret_url(url):
    m = _SECRET_URL.match((url or '').strip())
    if not m:
        return None
    return dict(vault=m.group('vault').lower(), name=m.group('name'), version=m.group('version') or None)


def parse_key_url(url):
    m = _KEY_URL.match((url or '').strip())
    if not m:
        return None
    return dict(vault=m.group('vault').lower(), name=m.group('name'), version=m.group('version') or None)


def parse_vault_id(vault_id):
    m = _VAULT_ID.match((vault_id or '').strip())
    if not m:
        return None
    return dict(subscription=m.group('sub'), resource_group=m.group('rg'), name=m.group('name'),
                id=vault_id.strip().rstrip('/'))


def key_refs(vm):
    """[{disk, secret_url, secret_vault_id, kek_url, kek_vault_id}] of a VM (REST shape with instanceView): each
    disk's encryption settings from the instance view, the dual-pass VM model's osDisk settings. Pure."""
    props = vm.get('properties') or {}
    iv = props.get('instanceView') or {}
    out = []
    for disk in iv.get('disks') or []:
        for es in disk.get('encryptionSettings') or []:
            ref = _ref(disk.get('name'), es)
            if ref:
                out.append(ref)
    od = (props.get('storageProfile') or {}).get('osDisk') or {}
    es = od.get('encryptionSettings')
    if es and es.get('enabled') is not False:
        ref = _ref(od.get('name'), es)
        if ref and not any(r['disk'] == ref['disk'] and r['secret_url'] == ref['secret_url'] for r in out):
            out.append(ref)
    return out


def _ref(disk, es):
    if not es or es.get('enabled') is False:
        return None
    dek = es.get('diskEncryptionKey') or {}
    kek = es.get('keyEncryptionKey') or {}
    if not dek.get('secretUrl'):
        return None
    return dict(disk=disk, secret_url=dek['secretUrl'], secret_vault_id=(dek.get('sourceVault') or {}).get('id'),
                kek_url=kek.get('keyUrl'), kek_vault_id=(kek.get('sourceVault') or {}).get('id'))


def plan_reads(refs_by_vm):
    """What one custody check reads for a fleet: each distinct secret once, each distinct KEK version once, each
    vault once. Returns dict(secrets=[(vault, name)], keys=[(vault, name, version)], vaults=[vault_id]). Pure."""
    secrets, keys, vaults = [], [], []
    for refs in refs_by_vm.values():
        for r in refs:
            s = parse_secret_url(r['secret_url'])
            if s and (s['vault'], s['name']) not in secrets:
                secrets.append((s['vault'], s['name']))
            k = parse_key_url(r.get('kek_url'))
            if k and (k['vault'], k['name'], k['version']) not in keys:
                keys.append((k['vault'], k['name'], k['version']))
            for vid in (r.get('secret_vault_id'), r.get('kek_vault_id')):
                if vid and parse_vault_id(vid) and vid.rstrip('/').lower() not in [v.lower() for v in vaults]:
                    vaults.append(vid.rstrip('/'))
    return dict(secrets=secrets, keys=keys, vaults=vaults)


def _problem(out, pid, message, fix):
    if not any(p['id'] == pid and p['message'] == message for p in out):
        out.append(dict(id=pid, message=message, fix=fix))


def _days(seconds):
    return int(seconds // 86400)


def assess_secret(ref, read, vm_name, now, warn_days, risks, warnings):
    s = parse_secret_url(ref['secret_url'])
    disk = ref.get('disk') or '?'
    if not s:
        _problem(risks, 'secret_url_invalid', "disks {0}: secret URL '{1}' is not a Key Vault secret URL".format(
            disk, ref['secret_url']), 'redo the encryption settings: run azure_ade.linux.encrypt again for this VM')
        return
    label = '{0}/{1}'.format(s['vault'], s['name'])
    status = (read or {}).get('status')
    if read is None or status is None:
        _problem(warnings, 'secret_unread', 'secret {0} was not read'.format(label), 'run the check again')
        return
    if status == 403:
        _problem(warnings, 'secret_no_permission', 'no permission to list the versions of secret {0} (HTTP 403): its '
                 'state is unknown'.format(label), "grant the caller 'list' on secrets (access policy) or 'Key Vault "
                 "Reader' (RBAC) on vault {0}".format(s['vault']))
        return
    if status == 404 and read.get('vault_missing'):
        return    # reported once as vault_not_found
    if status == 404:
        _problem(risks, 'secret_missing', 'secret {0} (disks {1}) is not in Key Vault: deleted or never written; the '
                 'next cold start cannot unlock the disk'.format(label, disk),
                 'recover it (az keyvault secret recover --vault-name {0} -n {1}) while it is soft-deleted, else '
                 'restore the secret from a backup (az keyvault secret restore) before any deallocate, redeploy or '
                 'resize'.format(s['vault'], s['name']))
        return
    if status >= 400:
        _problem(warnings, 'secret_unread', 'reading secret {0} failed with HTTP {1}'.format(label, status),
                 'run the check again')
        return
    versions = read.get('versions') or []
    item = None
    if s['version']:
        item = ([v for v in versions if (v.get('version') or '').lower() == s['version'].lower()] or [None])[0]
    elif versions:
        item = versions[-1]
    if item is None:
        _problem(risks, 'secret_version_missing', 'secret {0} has no version {1} (disks {2}): the stamped version is '
                 'gone'.format(label, s['version'], disk),
                 'restore the secret version from a backup before any cold start (deallocate, redeploy, resize)')
        return
    if item.get('enabled') is False:
        _problem(risks, 'secret_disabled', 'secret {0} (disks {1}) is disabled: the next cold start (deallocate, '
                 'redeploy, host maintenance, resize) stops at the passphrase prompt'.format(label, disk),
                 'enable it: az keyvault secret set-attributes --vault-name {0} -n {1} --version {2} --enabled '
                 'true'.format(s['vault'], s['name'], item.get('version')))
    exp = item.get('exp')
    if exp is not None:
        if now >= exp:
            _problem(risks, 'secret_expired', 'secret {0} (disks {1}) expired {2} days ago'.format(
                label, disk, _days(now - exp)),
                'clear or move its expiry: az keyvault secret set-attributes --vault-name {0} -n {1} --version {2} '
                '--expires <later date>'.format(s['vault'], s['name'], item.get('version')))
        elif exp - now <= warn_days * 86400:
            _problem(warnings, 'secret_expires_soon', 'secret {0} expires in {1} days'.format(
                label, _days(exp - now)), 'move its expiry before then (az keyvault secret set-attributes --expires)')
    nbf = item.get('nbf')
    if nbf is not None and now < nbf:
        _problem(risks, 'secret_not_yet_valid', 'secret {0} (disks {1}) is not valid before its nbf date'.format(
            label, disk), 'clear its not-before date (az keyvault secret set-attributes --not-before)')
    tags = item.get('tags') or {}
    if PASSPHRASE_FILE_TAG not in tags:
        _problem(warnings, 'secret_tags', 'secret {0} lacks the {1} tag ADE writes; is it the right secret?'.format(
            label, PASSPHRASE_FILE_TAG), 'compare the secret with the one ADE wrote at enable')
    machine = tags.get(MACHINE_TAG)
    if machine and vm_name and machine.lower() != vm_name.lower():
        _problem(warnings, 'secret_other_machine', 'secret {0} is tagged for machine {1}, not {2}'.format(
            label, machine, vm_name), 'check that the disk was not copied from another VM')


def assess_key(ref, read, now, warn_days, risks, warnings):
    k = parse_key_url(ref.get('kek_url'))
    if not ref.get('kek_url'):
        return
    if not k:
        _problem(risks, 'kek_url_invalid', "KEK URL '{0}' is not a Key Vault key URL".format(ref['kek_url']),
                 'redo the encryption with a versioned KEK URL')
        return
    label = '{0}/{1}'.format(k['vault'], k['name'])
    status = (read or {}).get('status')
    if read is None or status is None:
        _problem(warnings, 'kek_unread', 'KEK {0} was not read'.format(label), 'run the check again')
        return
    if status == 403:
        _problem(warnings, 'kek_no_permission', 'no permission to read KEK {0} (HTTP 403)'.format(label),
                 "grant the caller 'get' on keys or 'Key Vault Reader' on vault {0}".format(k['vault']))
        return
    if status == 404 and read.get('vault_missing'):
        return
    if status == 404:
        _problem(risks, 'kek_missing', 'KEK {0} (version {1}) is not in Key Vault: the platform cannot unwrap the '
                 'secret at the next cold start'.format(label, k['version']),
                 'recover the key (az keyvault key recover) or restore it from a backup before any cold start')
        return
    if status >= 400:
        _problem(warnings, 'kek_unread', 'reading KEK {0} failed with HTTP {1}'.format(label, status),
                 'run the check again')
        return
    if read.get('enabled') is False:
        _problem(risks, 'kek_disabled', 'KEK {0} is disabled: the platform cannot unwrap the secret at the next cold '
                 'start'.format(label), 'enable it: az keyvault key set-attributes --vault-name {0} -n {1} --enabled '
                 'true'.format(k['vault'], k['name']))
    exp = read.get('exp')
    if exp is not None:
        if now >= exp:
            _problem(risks, 'kek_expired', 'KEK {0} expired {1} days ago'.format(label, _days(now - exp)),
                     'move its expiry: az keyvault key set-attributes --expires <later date>')
        elif exp - now <= warn_days * 86400:
            _problem(warnings, 'kek_expires_soon', 'KEK {0} expires in {1} days'.format(label, _days(exp - now)),
                     'move its expiry before then (az keyvault key set-attributes --expires)')
    ops = read.get('key_ops')
    if ops is not None and 'unwrapKey' not in ops:
        _problem(risks, 'kek_no_unwrap', 'KEK {0} does not permit unwrapKey (key_ops {1})'.format(
            label, ','.join(ops) or 'none'), 'allow unwrapKey: az keyvault key set-attributes --ops wrapKey unwrapKey')


def assess_vault(vault_id, read, vm, risks, warnings, role='secret'):
    p = parse_vault_id(vault_id) or {}
    name = p.get('name') or vault_id
    if read is None or read.get('status') is None:
        _problem(warnings, 'vault_unread', 'key vault {0} was not read'.format(name), 'run the check again')
        return
    status = read['status']
    if status == 404:
        _problem(risks, 'vault_not_found', 'key vault {0} ({1} vault) is gone: deleted or moved'.format(name, role),
                 'recover it (az keyvault recover --name {0}) while soft-deleted; a moved vault needs the VM\'s '
                 'encryption settings redone'.format(name))
        return
    if status == 403:
        _problem(warnings, 'vault_no_permission', 'no permission to read key vault {0} (HTTP 403)'.format(name),
                 "grant the caller 'Reader' on the vault")
        return
    if status >= 400:
        _problem(warnings, 'vault_unread', 'reading key vault {0} failed with HTTP {1}'.format(name, status),
                 'run the check again')
        return
    if role == 'secret' and read.get('enabled_for_disk_encryption') is False and not vm.get('encryption_identity'):
        _problem(risks, 'vault_not_enabled', 'key vault {0} is not enabled for disk encryption: the platform may not '
                 'fetch the secret at the next cold start'.format(name),
                 'az keyvault update --name {0} --enabled-for-disk-encryption true'.format(name))
    loc = (read.get('location') or '').replace(' ', '').lower()
    vloc = (vm.get('location') or '').replace(' ', '').lower()
    if loc and vloc and loc != vloc:
        _problem(risks, 'vault_region', 'key vault {0} is in {1}, the VM in {2} (ADE needs both in one '
                 'region)'.format(name, read.get('location'), vm.get('location')),
                 'move the secret to a vault in {0} and redo the encryption settings'.format(vm.get('location')))
    vsub = (read.get('subscription') or p.get('subscription') or '').lower()
    if vsub and vm.get('subscription_id') and vsub != vm['subscription_id'].lower():
        _problem(risks, 'vault_subscription', 'key vault {0} is in subscription {1}, the VM in {2}'.format(
            name, vsub, vm['subscription_id']), 'use a vault in the VM\'s subscription and redo the encryption')
    if read.get('soft_delete') is False:
        _problem(warnings, 'vault_no_soft_delete', 'key vault {0} has soft delete off: a deleted secret is gone for '
                 'good'.format(name), 'az keyvault update --name {0} --enable-soft-delete true'.format(name))
    if read.get('purge_protection') is not True:
        _problem(warnings, 'vault_no_purge_protection', 'key vault {0} has no purge protection: a deleted secret can '
                 'be purged before anyone notices'.format(name),
                 'az keyvault update --name {0} --enable-purge-protection true'.format(name))
    locks = read.get('locks')
    if locks is not None and 'CanNotDelete' not in locks and 'ReadOnly' not in locks:
        _problem(warnings, 'vault_no_lock', 'key vault {0} has no CanNotDelete lock'.format(name),
                 'az lock create --name ade-keys --lock-type CanNotDelete --resource {0}'.format(vault_id))


def assess_vm(vm, refs, reads, now, warn_days=DEFAULT_WARN_DAYS):
    """Custody verdict of one VM. ``vm``: dict(name, location, subscription_id, encryption_identity); ``refs`` from
    key_refs; ``reads``: dict(secrets, keys, vaults) as described in the module doc. Pure.
    Returns dict(checked, unlock_at_risk, risks [{id, message, fix}], warnings [...], reason, fix, secrets)."""
    risks, warnings = [], []
    seen_vaults = {}
    grouped = []          # one verdict per distinct secret (ADE stamps one secret on all disks of a VM)
    for r in refs:
        same = [g for g in grouped if g['secret_url'] == r['secret_url'] and g.get('kek_url') == r.get('kek_url')]
        if same:
            same[0]['disk'] = '{0}, {1}'.format(same[0]['disk'], r.get('disk') or '?')
        else:
            grouped.append(dict(r, disk=r.get('disk') or '?'))
    for r in grouped:
        s = parse_secret_url(r['secret_url'])
        sread = reads['secrets'].get((s['vault'], s['name'])) if s else None
        if r.get('secret_vault_id'):
            vread = reads['vaults'].get(r['secret_vault_id'].rstrip('/').lower())
            if vread is not None and vread.get('status') == 404 and sread is not None:
                sread = dict(sread, vault_missing=True)
            seen_vaults.setdefault(r['secret_vault_id'].rstrip('/').lower(), (r['secret_vault_id'], 'secret'))
        assess_secret(r, sread, vm.get('name'), now, warn_days, risks, warnings)
        k = parse_key_url(r.get('kek_url'))
        if k:
            kread = reads['keys'].get((k['vault'], k['name'], k['version']))
            kv = (r.get('kek_vault_id') or '').rstrip('/').lower()
            if kv and kread is not None and (reads['vaults'].get(kv) or {}).get('status') == 404:
                kread = dict(kread, vault_missing=True)
            assess_key(r, kread, now, warn_days, risks, warnings)
            if kv:
                seen_vaults.setdefault(kv, (r['kek_vault_id'], 'KEK'))
    for key, (vid, role) in seen_vaults.items():
        assess_vault(vid, reads['vaults'].get(key), vm, risks, warnings, role)
    out = dict(checked=bool(refs), unlock_at_risk=bool(risks), risks=risks, warnings=warnings,
               reason='; '.join(p['message'] for p in risks) or None,
               fix='; '.join(p['fix'] for p in risks) or None,
               secrets=sorted(set(r['secret_url'] for r in refs)))
    return out


def summary(verdicts):
    """Counts for a fleet: checked, at_risk, with_warnings. Pure."""
    vs = [v for v in verdicts if v]
    return dict(checked=sum(1 for v in vs if v.get('checked')), at_risk=sum(1 for v in vs if v.get('unlock_at_risk')),
                with_warnings=sum(1 for v in vs if v.get('warnings')))
