# -*- coding: utf-8 -*-
# Copyright: azure_ade.linux maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The status playbook's decisions, pure: the guest's dm-crypt state from its facts, the platform's view
against it (R6.1, both ways), and one fleet row per VM.

Private to azure_ade.linux (used by the status playbook through plugins/filter/fleet_status.py): not a public
API, may change without notice. Compiles on Python 2.7 (ansible-test sanity): no f-strings.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.azure_ade.linux.plugins.module_utils.cloud.protection import notes as protection_notes

ADE_MAPPERS = ('osencrypt', 'resourceencrypt')


def _base(path):
    return (path or '').rstrip('/').split('/')[-1]


def guest_crypt(facts):
    """{os: bool, data: [dm-crypt device names that are not the root / ADE's own], devices: [all]} from
    ansible_facts.azure_ade; None when there are no facts (guest unreachable or gather failed)."""
    if not isinstance(facts, dict) or not facts:
        return None
    crypt = facts.get('crypt') or {}
    names = list(crypt.get('devices') or [])
    root = facts.get('root') or {}
    root_names = [n for n in (_base(root.get('device')), _base(root.get('source'))) if n]
    os_crypt = bool(crypt.get('osencrypt')) or any(n in names for n in root_names)
    data = [n for n in names if n not in ADE_MAPPERS and n not in root_names]
    return {'os': os_crypt, 'data': data, 'devices': names}


def mismatches(platform, guest):
    """What the platform says against what the guest has (R6.1), both ways; [] when either side is unknown.

    platform: a vm_encryption_info row (os_volume_encrypted, data_volumes_encrypted); guest: guest_crypt()."""
    if not platform or guest is None:
        return []
    pos = platform.get('os_volume_encrypted') or 'unknown'
    pdata = platform.get('data_volumes_encrypted') or 'unknown'
    out = []
    if pos == 'Encrypted' and not guest['os']:
        out.append('platform: OS Encrypted, guest: root not on dm-crypt')
    if guest['os'] and pos == 'NotEncrypted':
        out.append('guest: root on dm-crypt, platform: OS NotEncrypted')
    if pdata == 'Encrypted' and not guest['data']:
        out.append('platform: data Encrypted, guest: no dm-crypt data device')
    if guest['data'] and pdata in ('NotEncrypted', 'NotMounted'):
        out.append('guest: dm-crypt data %s, platform: data %s' % (','.join(guest['data']), pdata))
    return out


def outcome(platform, mism):
    """One word for the fleet table: mismatch, unknown, encrypted, in_progress, not_encrypted."""
    if mism:
        return 'mismatch'
    if not platform:
        return 'unknown'
    if 'Encrypted' in (platform.get('os_volume_encrypted'), platform.get('data_volumes_encrypted')):
        return 'encrypted'
    if platform.get('phase') == 'in_progress':
        return 'in_progress'
    return 'not_encrypted'


def status_row(ident, platform=None, guest=None, error=None):
    """The status playbook's row for one VM. ident: {host, name, resource_group}; platform: its
    vm_encryption_info row or None; guest: guest_crypt() or None; error: the list call's error for its group."""
    platform = platform or {}
    if list(platform) == ['error']:   # the index's entry for a resource group whose list call failed
        error, platform = error or platform['error'], {}
    mism = mismatches(platform, guest)
    pos = platform.get('os_volume_encrypted') or 'unknown'
    pdata = platform.get('data_volumes_encrypted') or 'unknown'
    if platform:
        message = platform.get('progress_message') or ''
    else:
        message = error or ('VM not found' if ident.get('name') else 'VM identity unknown')
    return {
        'host': ident.get('host'),
        'vm': ident.get('name'),
        'resource_group': ident.get('resource_group'),
        'phase': platform.get('phase') or 'unknown',
        'platform_os': pos,
        'platform_data': pdata,
        'progress_message': message,
        'guest_os_crypt': guest['os'] if guest is not None else None,
        'guest_data_crypt': guest['data'] if guest is not None else None,
        'guest_reachable': guest is not None,
        'encrypted': pos == 'Encrypted' or pdata == 'Encrypted',
        'outcome': outcome(platform, mism),
        'blockers': list(platform.get('ade_blockers') or platform.get('blockers') or []),
        'retirement': platform.get('retirement'),
        'history': list(platform.get('history') or []),
        'mismatch': mism,
        # issue 16 item 4: attached data disks of an encrypted Data/All VM without an ADE stamp (added later, or
        # not mounted when the enable ran): NOT encrypted; the table names them
        'plain_data_disks': list(platform.get('skipped_data_disks') or []),
        'notes': ((['data disk(s) %s NOT encrypted (no ADE stamp)' % ', '.join(platform['skipped_data_disks'])]
                   if platform.get('skipped_data_disks') else []) + protection_notes(platform.get('protection'))),
        # key custody (vm_encryption_info check_custody, issue 16): None when not checked / no ADE keys
        'unlock_at_risk': platform.get('unlock_at_risk'),
        'custody': platform.get('custody'),
        # Azure Backup / Site Recovery (vm_encryption_info check_protection, issue 16 item 5)
        'protection': platform.get('protection'),
    }
