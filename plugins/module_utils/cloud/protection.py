# -*- coding: utf-8 -*-
# Copyright: azure_ade.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to azure_ade.linux: used by this collection's modules and plugins only, not a public API; may change in any release.
"""Backups and replicas that need the vault (issue 16 item 5). Pure decisions over what vm_encryption_info read.

- Which VMs Azure Backup protects and which Site Recovery replicates: per subscription the Recovery Services vaults
  (REST "Vaults - List By Subscription Id"), per vault "Backup Protected Items - List" (filter AzureIaasVM / VM; an
  item's ``virtualMachineId`` / ``sourceResourceId`` is the VM's ARM ID) and "Replication Protected Items - List"
  (A2A items: ``providerSpecificDetails.fabricObjectId`` is the source VM's ARM ID). GET only, 1 + 2 per vault.
- Azure Backup of an ADE VM needs the "Backup Management Service" principal (app ID BACKUP_APP_ID) on the Key Vault
  of its keys - access policy secrets get/list/backup and, with a KEK, keys get/list/backup; on an RBAC vault a role
  granting them - else every backup fails with UserErrorKeyVaultPermissionsNotConfigured ("Azure Backup Service does
  not have sufficient permissions to Key Vault for Backup of Encrypted Virtual Machines";
  learn.microsoft.com/azure/backup/backup-azure-vms-encryption). The vault reads are key custody's (custody_reads:
  accessPolicies, enableRbacAuthorization): no extra request.
- A restore / migrate / rebuild swaps the disks of the VM (or builds another VM): what the operator must redo after
  (swap_warning) - Backup: incremental backups transfer the blocks changed since the previous backup of a disk
  (backup-azure-vms-introduction), so the next backup of new disks is a full copy; restore points from before keep
  the old disks and, for ADE, need the old Key Vault secret kept. Site Recovery: a VM whose storage changes after
  replication started needs replication disabled and enabled again (azure-to-azure-support-matrix, "Resource
  move/migrate support"), a new initial replication.
"""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

BACKUP_APP_ID = '262044b1-e2ce-469f-a196-69ab7ada62d3'     # "Backup Management Service" (Azure Backup docs)
RS_API = '2023-04-01'
BACKUP_API = '2023-04-01'
ASR_API = '2023-08-01'
BACKUP_FILTER = "backupManagementType eq 'AzureIaasVM' and itemType eq 'VM'"
NEEDED = ('get', 'list', 'backup')


def _norm(rid):
    return (rid or '').strip().rstrip('/').lower()


def _name(rid):
    return (rid or '').rstrip('/').split('/')[-1]


def vaults_url(subscription_id):
    return '/subscriptions/{0}/providers/Microsoft.RecoveryServices/vaults?api-version={1}'.format(
        subscription_id, RS_API)


def backup_items_url(vault_id):
    return "{0}/backupProtectedItems?api-version={1}&$filter={2}".format(
        vault_id.rstrip('/'), BACKUP_API, BACKUP_FILTER.replace(' ', '%20').replace("'", '%27'))


def replication_items_url(vault_id):
    return '{0}/replicationProtectedItems?api-version={1}'.format(vault_id.rstrip('/'), ASR_API)


def index_items(reads):
    """``reads``: dict(subs={sub_lower: {'status', 'vaults': [vault JSON]}}, backup={vault_id_lower: {'status',
    'items'}}, replication={...}). Returns dict(by_vm={vm_id_lower: {'backup': [...], 'replication': [...]}},
    unread_subs=set(sub_lower), unread=[message]). Pure."""
    by_vm, unread, unread_subs = {}, [], set()
    for sub, r in (reads.get('subs') or {}).items():
        if (r or {}).get('status') != 200:
            unread_subs.add(sub)
            unread.append('Recovery Services vaults of subscription {0} not read (HTTP {1})'.format(
                sub, (r or {}).get('status')))
    for kind in ('backup', 'replication'):
        for vid, r in (reads.get(kind) or {}).items():
            if (r or {}).get('status') != 200:
                unread.append('{0} items of Recovery Services vault {1} not read (HTTP {2})'.format(
                    'backup' if kind == 'backup' else 'Site Recovery', _name(vid), (r or {}).get('status')))
                unread_subs.add(vid.split('/')[2] if vid.count('/') > 2 else vid)
                continue
            for it in r.get('items') or []:
                p = it.get('properties') or {}
                if kind == 'backup':
                    vm = p.get('virtualMachineId') or p.get('sourceResourceId')
                    row = dict(vault=_name(vid), vault_id=vid, state=p.get('protectionState'),
                               last_backup_status=p.get('lastBackupStatus'), policy=p.get('policyName'))
                else:
                    det = p.get('providerSpecificDetails') or {}
                    vm = det.get('fabricObjectId')
                    row = dict(vault=_name(vid), vault_id=vid, state=p.get('protectionState'),
                               health=p.get('replicationHealth'), target_location=det.get('recoveryFabricLocation'),
                               provider=det.get('instanceType'))
                if vm:
                    by_vm.setdefault(_norm(vm), dict(backup=[], replication=[]))[kind].append(row)
    return dict(by_vm=by_vm, unread=unread, unread_subs=unread_subs)


def vm_protection(vm_arm_id, index):
    """A VM's protection facts: protected_by_backup / replicated_by_asr True, False, or None (not read). Pure."""
    sub = (_norm(vm_arm_id).split('/') + [''] * 3)[2]
    known = sub not in index.get('unread_subs', set())
    hit = index.get('by_vm', {}).get(_norm(vm_arm_id)) or dict(backup=[], replication=[])
    stopped = ('ProtectionStopped',)
    backup = [b for b in hit['backup'] if b.get('state') not in stopped]
    return dict(protected_by_backup=True if backup else (False if known else None), backup=backup,
                replicated_by_asr=True if hit['replication'] else (False if known else None),
                replication=hit['replication'])


def _granted(policy, kind):
    return set(str(p).lower() for p in ((policy.get(kind) or []) if policy else []))


def backup_access(vault_id, read, uses_kek, principal_id=None, holds_secret=True):
    """Whether Azure Backup can read ADE's keys in Key Vault ``vault_id`` (custody_reads.read_vault output with
    access_policies / rbac): secrets when it holds the VM's secret, keys when it holds its KEK. Returns dict(vault,
    status ok|missing|unconfirmed|unknown, message, fix). Pure."""
    name = _name(vault_id)
    need = ' and '.join(x for x in ('secrets get/list/backup' if holds_secret else '',
                                    'keys get/list/backup' if uses_kek else '') if x)
    set_policy = ('az keyvault set-policy --name {0} --object-id $(az ad sp show --id {1} --query id -o tsv)'
                  '{2}{3}'.format(name, BACKUP_APP_ID, ' --secret-permissions get list backup' if holds_secret else '',
                                  ' --key-permissions get list backup' if uses_kek else ''))
    out = dict(vault=name, vault_id=vault_id, status='unknown', message=None, fix=None)
    if not read or read.get('status') != 200:
        out.update(message='key vault {0} not read: the Backup service\'s access to it is unknown'.format(name),
                   fix='run the check again with Reader on the vault')
        return out
    if read.get('rbac'):
        out.update(status='unconfirmed',
                   message='key vault {0} uses Azure RBAC: role assignments are not read; Azure Backup needs {1} '
                           'through a role for the Backup Management Service'.format(name, need),
                   fix='check or assign it: az role assignment create --assignee {0} --role "Key Vault '
                       'Administrator" --scope {1}'.format(BACKUP_APP_ID, vault_id))
        return out
    policies = read.get('access_policies')
    if policies is None:
        out.update(message='access policies of key vault {0} not read'.format(name), fix='run the check again')
        return out

    def enough(pol):
        return ((not holds_secret or set(NEEDED) <= _granted(pol, 'secrets')) and
                (not uses_kek or set(NEEDED) <= _granted(pol, 'keys')))

    if principal_id:
        mine = [pol for pol in policies if (pol.get('object_id') or '').lower() == principal_id.lower()]
        if mine and any(enough(pol) for pol in mine):
            out.update(status='ok', message='the Backup Management Service has {0} on key vault {1}'.format(need, name))
        else:
            out.update(status='missing',
                       message='the Backup Management Service ({0}) lacks {1} on key vault {2}: backups of this ADE '
                               'VM fail with UserErrorKeyVaultPermissionsNotConfigured'.format(principal_id, need, name),
                       fix=set_policy)
        return out
    if any(enough(pol) for pol in policies):
        out.update(status='unconfirmed',
                   message='a principal of key vault {0} has {1}; whether it is the Backup Management Service is not '
                           'known (set the Backup principal\'s object ID to confirm)'.format(name, need),
                   fix='az ad sp show --id {0} --query id -o tsv gives the object ID (option '
                       'backup_principal_id / ade_backup_principal_id)'.format(BACKUP_APP_ID))
    else:
        out.update(status='missing',
                   message='no access policy of key vault {0} grants {1}: backups of this ADE VM fail with '
                           'UserErrorKeyVaultPermissionsNotConfigured'.format(name, need),
                   fix=set_policy)
    return out


def assess(prot, refs, vault_reads, principal_id=None):
    """Adds backup_vault_access rows (one per Key Vault of the VM's ADE keys) to a protected ADE VM's facts and the
    warnings [{id, message, fix}] to report. ``refs`` from custody.key_refs, ``vault_reads`` custody's reads['vaults']
    (None: custody not checked). Pure."""
    out = dict(prot, backup_vault_access=None, warnings=[])
    if prot.get('protected_by_backup') and refs and vault_reads is not None:
        uses = {}        # vault id lower -> [id, holds a secret, holds a KEK]
        for r in refs:
            kek_vault = r.get('kek_vault_id') if r.get('kek_url') else None
            for vid, is_kek in ((r.get('secret_vault_id'), False), (kek_vault, True)):
                if vid:
                    u = uses.setdefault(_norm(vid), [vid.rstrip('/'), False, False])
                    u[2 if is_kek else 1] = True
        rows = [backup_access(vid, vault_reads.get(k), kek, principal_id, holds_secret=sec)
                for k, (vid, sec, kek) in sorted(uses.items())]
        out['backup_vault_access'] = rows
        for row in rows:
            if row['status'] in ('missing', 'unconfirmed', 'unknown'):
                out['warnings'].append(dict(id='backup_vault_access_' + row['status'], message=row['message'],
                                            fix=row['fix']))
    for b in prot.get('backup') or []:
        if b.get('last_backup_status') == 'Failed':
            out['warnings'].append(dict(id='backup_failed', message='the last Azure Backup of the VM (vault {0}) '
                                        'failed'.format(b['vault']),
                                        fix='see the backup job in vault {0}; for an ADE VM check the Key Vault '
                                            'access of the Backup Management Service'.format(b['vault'])))
    return out


def notes(assessed):
    """Short texts for a status row (NOTES column). Pure."""
    out = []
    if not assessed:
        return out
    if assessed.get('protected_by_backup'):
        out.append('Azure Backup: vault {0}'.format(','.join(b['vault'] for b in assessed['backup'])))
    if assessed.get('replicated_by_asr'):
        out.append('Site Recovery: vault {0}'.format(','.join(r['vault'] for r in assessed['replication'])))
    for w in assessed.get('warnings') or []:
        if w['id'] == 'backup_vault_access_missing':
            out.append('BACKUP HAS NO KEY VAULT ACCESS: {0}. Fix: {1}'.format(w['message'], w['fix']))
    return out


def swap_warning(vm_name, prot, operation):
    """What a restore / migrate / rebuild of a protected or replicated VM means for Backup and Site Recovery, and
    what the operator must redo after; None when neither protects the VM (or nothing was read). Pure."""
    if not prot:
        return None
    parts = []
    new_vm = operation == 'rebuild'
    what = 'builds a new VM in its place' if new_vm else 'swaps its disks'
    if prot.get('protected_by_backup'):
        vaults = ', '.join('{0} (policy {1})'.format(b['vault'], b.get('policy') or '?') for b in prot['backup'])
        txt = ('{0} is protected by Azure Backup in vault {1}. The {2} {3}: restore points taken before it keep '
               'the old disks (for an ADE VM keep its Key Vault secret as long as they are kept); '.format(
                   vm_name, vaults, operation, what))
        if new_vm:
            txt += ('the new VM is NOT protected - after it, enable backup for the new VM (az backup protection '
                    'enable-for-vm) and stop protection of the old one, retaining its data.')
        else:
            txt += ('the next backup copies the new disks in full (incremental backups send only blocks changed since '
                    'the previous backup of a disk) - after it, run a backup (az backup protection backup-now) and '
                    'check that it completes.')
        if operation == 'migrate':
            txt += (' After the migration the VM is no longer ADE: its new restore points need no Key Vault secret; '
                    'older ones restore as ADE VMs.')
        parts.append(txt)
    if prot.get('replicated_by_asr'):
        vaults = ', '.join('{0} (to {1})'.format(r['vault'], r.get('target_location') or '?')
                           for r in prot['replication'])
        parts.append('{0} is replicated by Site Recovery in vault {1}. Site Recovery does not follow a VM whose disks '
                     'change after replication started: after the {2}, disable replication and enable it again (a new '
                     'initial replication; disabling removes the replica and its recovery points).'.format(
                         vm_name, vaults, operation))
    if prot.get('protected_by_backup') is None or prot.get('replicated_by_asr') is None:
        parts.append('Whether Azure Backup or Site Recovery protects {0} could not be read: check before relying on '
                     'its backups or replica.'.format(vm_name))
    return ' '.join(parts) or None


def swap_warnings(vm_name, prot):
    """swap_warning for each operation that swaps disks or builds a new VM, or None when none applies. Pure."""
    out = dict((op, swap_warning(vm_name, prot, op)) for op in ('restore', 'migrate', 'rebuild'))
    return out if any(out.values()) else None
