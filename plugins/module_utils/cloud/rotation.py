# -*- coding: utf-8 -*-
# Copyright: azure_ade.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to azure_ade.linux: used by this collection's modules and plugins only, not a public API; may change in any release.
"""Key rotation guard (issue 16 item 3). Pure.

An enable on a VM whose volumes ADE already encrypted, with another vault or another KEK (or a KEK added/removed),
is not a first encryption but a rotation: the extension re-stamps the disks with new settings (handle.py
update_encryption_settings, "Encryption settings updated") and writes a new secret. On current Ubuntu guests that
re-run is known to fail in handle.py and leave /mnt/azure_bek_disk empty, so the next boot cannot unlock
(Azure/azure-linux-extensions issue 2035, open: Ubuntu 24.04.2, also seen on 22.04.5). So a rotation is refused
unless asked for (vm_encryption rotate=true), before anything is written.
"""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

ENCRYPTED_STATES = ('Encrypted', 'EncryptionInProgress', 'VMRestartPending')
# issue 2035 class: distro/version prefixes where a re-run of enable with new key settings emptied the BEK volume
AFFECTED_DISTROS = (('ubuntu', '22.04.5'), ('ubuntu', '24.04'))


def _norm(value):
    return (value or '').strip().rstrip('/').lower() or None


def current_keys(status):
    """(vault_id, kek_url) the VM's volumes are stamped with now, from a vm_encryption_info/compute_status row: the OS
    disk's settings, else the installed extension's settings (data-only VMs). (None, None) when none."""
    es = status.get('os_volume_encryption_settings') or {}
    dek = es.get('diskEncryptionKey') or {}
    vault = (dek.get('sourceVault') or {}).get('id')
    kek = (es.get('keyEncryptionKey') or {}).get('keyUrl')
    if vault:
        return vault, kek
    settings = ((status.get('extension') or {}).get('settings')) or {}
    return settings.get('KeyVaultResourceId') or None, settings.get('KeyEncryptionKeyURL') or None


def is_encrypted(status):
    return (status.get('os_volume_encrypted') in ENCRYPTED_STATES
            or status.get('data_volumes_encrypted') in ENCRYPTED_STATES
            or bool(status.get('os_disk_stamped')) or bool(status.get('data_disks_stamped')))


def detect(status, vault_id, kek_url):
    """None when the request is not a rotation, else dict(from_vault, to_vault, from_kek, to_kek, changes [..])."""
    if not is_encrypted(status):
        return None
    cur_vault, cur_kek = current_keys(status)
    if not cur_vault:
        return None
    changes = []
    if _norm(cur_vault) != _norm(vault_id):
        changes.append('vault')
    if _norm(cur_kek) != _norm(kek_url):
        changes.append('kek')
    if not changes:
        return None
    return dict(from_vault=cur_vault, to_vault=vault_id, from_kek=cur_kek, to_kek=kek_url, changes=changes)


def refusal(vm_name, rot):
    """The error text for a rotation not asked for (nothing written)."""
    what = ' and '.join({'vault': 'key vault', 'kek': 'key encryption key'}[c] for c in rot['changes'])
    return ("VM {0} is already encrypted with vault {1}{2}; the request names another {3} ({4}{5}): that is a key "
            "rotation, not an encryption. Refusing (nothing written). A rotation re-stamps every disk and writes a new "
            "secret; on Ubuntu 22.04.5/24.04 it can leave the BEK volume empty so the next boot cannot unlock "
            "(Azure/azure-linux-extensions issue 2035). Take a snapshot set first, then set rotate=true "
            "to rotate on purpose.").format(
                vm_name, rot['from_vault'], ' and KEK ' + rot['from_kek'] if rot['from_kek'] else '', what,
                rot['to_vault'], ', KEK ' + rot['to_kek'] if rot['to_kek'] else ', no KEK')


def affected_distro(distro, version):
    """True for the guests of the issue-2035 class (rotation must prove the BEK volume still holds a passphrase file
    before any reboot)."""
    d, v = (distro or '').lower(), (version or '')
    return any(d.startswith(ad) and v.startswith(av) for ad, av in AFFECTED_DISTROS)
