# -*- coding: utf-8 -*-
# Copyright: azure_ade.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to azure_ade.linux: used by this collection's modules and plugins only, not a public API; may change in any release.
"""PURE rules for single-pass Azure Disk Encryption on Linux: identity, settings, validation, decisions.

No SDK, no I/O. Inputs are REST-shaped dicts (VM with properties.instanceView, Key Vault resource).
Sources for every rule: ade-reference.md sections 2, 3, 4, 6, 9, 10, 11.
"""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re
import uuid
try:
    from urllib.parse import urlparse
except ImportError:  # Python 2 (controller code needs 3.10+; this only keeps sanity's import test quiet)
    from urlparse import urlparse  # type: ignore

# Resource IDs and the VM's shape live in their own modules; re-exported here for callers of 0.1.
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud.resource_ids import (  # noqa: F401 pylint: disable=unused-import
    parse_resource_id, vault_resource_id)
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud.vm_shape import (  # noqa: F401 pylint: disable=unused-import
    EXTENSION_NAME, EXTENSION_TYPE, OSTC_PUBLISHER, PUBLISHER, busy_extensions, find_ade_extension, find_ostc_extension,
    instance_view, is_dual_pass, power_state, vm_extensions)

SINGLE_PASS_VERSION = '1.1'
ALGORITHMS = ('RSA-OAEP', 'RSA-OAEP-256', 'RSA1_5')
DEFAULT_ALGORITHM = 'RSA-OAEP'
VOLUME_TYPES = ('OS', 'Data', 'All')
# The Key Vault / KEK options of vm_encryption and vmss_encryption (documented by doc fragment key_vault).
KEY_VAULT_ARGSPEC = dict(
    key_vault=dict(type='str', no_log=False), key_vault_resource_group=dict(type='str', no_log=False),
    kek=dict(type='str', no_log=False, aliases=['kek_url']), kek_vault=dict(type='str'),
    algorithm=dict(type='str', choices=list(ALGORITHMS), default=DEFAULT_ALGORITHM, aliases=['kek_algorithm']))
ENABLE_OPS = ('EnableEncryption', 'EnableEncryptionFormatAll', 'EnableEncryptionFormat')
DISABLE_OP = 'DisableEncryption'

# The extension's own checks (check_util.py): vault id, vault URL, versioned KEK URL.
_VAULT_ID = re.compile(r'^/subscriptions/([a-zA-Z0-9\-]+)/resourceGroups/([-\w\._\(\)]+)/providers/'
                       r'Microsoft\.KeyVault/vaults/([a-zA-Z0-9\-\_]+)(/)?$', re.I)
_VAULT_URL = re.compile(r'^https://([a-zA-Z0-9\-]+)[\.]([a-zA-Z0-9\-\.]+)([/]?)$')
_KEK_URL = re.compile(r'^https://([a-zA-Z0-9\-]+)[\.]([a-zA-Z0-9\-\.]+)/keys/([a-zA-Z0-9\-]+)/([a-zA-Z0-9]+)([/]?)$')
_VAULT_NAME = re.compile(r'^[a-zA-Z0-9-]{3,24}$')


def resolve_vault_id(value, subscription, default_rg):
    """``value`` is a Key Vault ARM ID or a name (resolved in ``default_rg``). Returns (id, error)."""
    if not value:
        return None, 'key_vault is required for state=encrypted'
    if value.startswith('/'):
        if not _VAULT_ID.match(value):
            return None, ("key_vault '{0}' is not a Key Vault resource ID "
                          "(/subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.KeyVault/vaults/<name>)"
                          .format(value))
        return value.rstrip('/'), None
    if not _VAULT_NAME.match(value):
        return None, "key_vault '{0}' is neither a resource ID nor a valid vault name (3-24 letters, digits, -)".format(value)
    if not default_rg:
        return None, 'key_vault given by name needs key_vault_resource_group (or resource_group)'
    return vault_resource_id(subscription, default_rg, value), None


def normalise_location(loc):
    return (loc or '').replace(' ', '').lower()


def vault_url(vault, keyvault_suffix):
    """KeyVaultURL as the extension wants it: the vault's vaultUri without port or trailing slash."""
    uri = ((vault or {}).get('properties') or {}).get('vaultUri')
    if uri:
        parsed = urlparse(uri)
        return 'https://{0}'.format(parsed.hostname)
    return 'https://{0}.{1}'.format(vault['name'], keyvault_suffix)


def validate_vault_url(url, vault_name):
    errors = []
    parsed = urlparse(url or '')
    if parsed.port is not None:
        errors.append("Key Vault URL '{0}' has a port; ADE does not accept port numbers in Key Vault URLs".format(url))
    if not _VAULT_URL.match(url or ''):
        errors.append("Key Vault URL '{0}' is not of the form https://<vault>.<suffix>".format(url))
    elif parsed.hostname.split('.')[0].lower() != (vault_name or '').lower():
        errors.append("Key Vault name '{0}' does not match its URL '{1}' (the extension refuses: 'their key vault "
                      "names did not match')".format(vault_name, url))
    return errors


def validate_kek_url(kek, kek_vault_name):
    """KEK URL rules: https, no port, versioned (/keys/<name>/<version>), host's vault == KEK vault."""
    errors = []
    parsed = urlparse(kek or '')
    if parsed.scheme != 'https':
        errors.append("kek '{0}' must be an https:// Key Vault key URL".format(kek))
        return errors
    if parsed.port is not None:
        errors.append("kek '{0}' contains a port number; ADE does not support ports in KEK URLs: drop ':{1}'"
                      .format(kek, parsed.port))
        return errors
    if not _KEK_URL.match(kek):
        errors.append("kek '{0}' is not a versioned key URL https://<vault>.vault.azure.net/keys/<name>/<version>; "
                      "use the key's full ID with its version (az keyvault key show --query key.kid)".format(kek))
        return errors
    host_vault = parsed.hostname.split('.')[0]
    if kek_vault_name and host_vault.lower() != kek_vault_name.lower():
        errors.append("kek '{0}' is in vault '{1}' but kek_vault is '{2}'; the names must match"
                      .format(kek, host_vault, kek_vault_name))
    return errors


def canonical_volume_type(value):
    if value is None:
        return None
    for vt in VOLUME_TYPES:
        if vt.lower() == str(value).lower():
            return vt
    return None


def volume_type_change_allowed(current, requested):
    """The extension keeps the recorded volume type or widens to All; nothing else."""
    cur, req = canonical_volume_type(current), canonical_volume_type(requested)
    if cur is None or cur == req or req == 'All':
        return True
    return False


def new_sequence_version():
    return str(uuid.uuid4())


def build_enable_settings(vault_id, key_vault_url, volume_type, kek_url=None, kek_vault_id=None,
                          algorithm=DEFAULT_ALGORITHM, format_all=False, sequence_version=None):
    """Public settings for single-pass enable, as `az vm encryption enable` sends them (ref 3.2)."""
    return {
        'EncryptionOperation': 'EnableEncryptionFormatAll' if format_all else 'EnableEncryption',
        'KeyVaultURL': key_vault_url,
        'KeyVaultResourceId': vault_id,
        'KeyEncryptionKeyURL': kek_url or None,
        'KekVaultResourceId': (kek_vault_id or vault_id) if kek_url else '',
        'KeyEncryptionAlgorithm': algorithm or DEFAULT_ALGORITHM,
        'VolumeType': canonical_volume_type(volume_type),
        'SequenceVersion': sequence_version or new_sequence_version(),
    }


def build_disable_settings(sequence_version=None):
    """Linux disable: data volumes only, no Key Vault keys (ref 6)."""
    return {'VolumeType': 'Data', 'EncryptionOperation': DISABLE_OP,
            'SequenceVersion': sequence_version or new_sequence_version()}


def build_extension_body(location, settings, passphrase=None, version=SINGLE_PASS_VERSION):
    body = {
        'location': location,
        'properties': {
            'publisher': PUBLISHER,
            'type': EXTENSION_TYPE,
            'typeHandlerVersion': version,
            'autoUpgradeMinorVersion': True,
            'settings': settings,
        },
    }
    if passphrase:
        body['properties']['protectedSettings'] = {'Passphrase': passphrase}
    return body


def redact_body(body):
    """Copy of an extension body fit for results/logs: protected settings masked."""
    if not body:
        return body
    out = dict(body)
    props = dict(out.get('properties') or {})
    if 'protectedSettings' in props:
        props['protectedSettings'] = dict((k, '********') for k in (props['protectedSettings'] or {}))
    out['properties'] = props
    return out


# ---- validation and decision ----------------------------------------------------------------------

def validate_enable(vm, vault, request, kek_vault=None):
    """Every reason not to send the enable request, each naming the problem and the fix. Pure.

    request: dict(vault_id, volume_type, kek, kek_vault_id, algorithm, format_all, confirm_format_all,
                  keyvault_suffix)
    """
    errors = []
    vm_id = parse_resource_id(vm.get('id') or '') or {}
    vm_name = vm.get('name')
    if find_ostc_extension(vm):
        errors.append("VM {0} has the deprecated Microsoft.OSTCExtensions.AzureDiskEncryptionForLinux extension, "
                      "which is no longer supported; remove it (az vm extension delete -n "
                      "AzureDiskEncryptionForLinux) and its effects before using "
                      "Microsoft.Azure.Security.AzureDiskEncryptionForLinux".format(vm_name))
    if is_dual_pass(vm):
        errors.append("VM {0} was encrypted with the dual-pass ADE (Azure AD application, extension 0.1, "
                      "settings in the VM model); this module drives single-pass ADE 1.1 and refuses to mix them: set "
                      "migrate_dual_pass: true to move it to single pass first (Set-AzVMDiskEncryptionExtension "
                      "-Migrate), or leave it on dual pass"
                      .format(vm_name))
    ps = power_state(vm)
    if ps != 'running':
        errors.append("VM {0} is not running (power state {1}); ADE needs the guest agent: start the VM first"
                      .format(vm_name, ps or 'unknown'))
    vt = canonical_volume_type(request.get('volume_type'))
    if vt is None:
        errors.append("volume_type must be one of OS, Data, All")
    ext = find_ade_extension(vm)
    if ext and vt:
        cur_op = ext['settings'].get('EncryptionOperation')
        cur_vt = ext['settings'].get('VolumeType')
        if cur_op in ENABLE_OPS and not volume_type_change_allowed(cur_vt, vt):
            errors.append("VM {0} is recorded with VolumeType {1}; the extension only allows keeping it or widening "
                          "to All ('Moving from volume type {1} to volume type {2} is not allowed'): ask for "
                          "volume_type {3}".format(vm_name, canonical_volume_type(cur_vt), vt,
                                                   ' or '.join(sorted(set([canonical_volume_type(cur_vt), 'All'])))))
    if request.get('format_all') and not request.get('confirm_format_all'):
        errors.append("encrypt_format_all WIPES every mounted data disk (and the resource disk); set "
                      "confirm_format_all: true to confirm that the data on them may be destroyed")
    if request.get('format_all') and vt == 'OS':
        errors.append("encrypt_format_all only concerns data disks: use volume_type Data or All with it")
    alg = request.get('algorithm') or DEFAULT_ALGORITHM
    if alg.upper() not in ALGORITHMS:
        errors.append("algorithm '{0}' is not one of {1}".format(alg, ', '.join(ALGORITHMS)))
    errors.extend(validate_vault(vm, vault, request.get('vault_id'), request.get('keyvault_suffix'), 'key_vault'))
    if request.get('kek'):
        kek_vid = request.get('kek_vault_id') or request.get('vault_id')
        kv = kek_vault if kek_vault is not None or kek_vid != request.get('vault_id') else vault
        kname = (parse_resource_id(kek_vid) or {}).get('name')
        errors.extend(validate_kek_url(request['kek'], kname))
        if kek_vid != request.get('vault_id'):
            errors.extend(validate_vault(vm, kv, kek_vid, request.get('keyvault_suffix'), 'kek_vault'))
    return errors


def validate_vault(vm, vault, vault_id, keyvault_suffix, label):
    errors = []
    vm_name = vm.get('name')
    vm_id = parse_resource_id(vm.get('id') or '') or {}
    vid = parse_resource_id(vault_id or '') or {}
    if vault is None:
        errors.append("{0}: Key Vault {1} was not found (GET {2} returned 404); create it in the VM's region and "
                      "subscription or fix {0}".format(label, vid.get('name'), vault_id))
        return errors
    props = (vault or {}).get('properties') or {}
    if not props.get('enabledForDiskEncryption'):
        errors.append("{0}: Key Vault {1} is not enabled for disk encryption; run: az keyvault update -n {1} "
                      "--enabled-for-disk-encryption true".format(label, vault.get('name')))
    if normalise_location(vault.get('location')) != normalise_location(vm.get('location')):
        errors.append("{0}: Key Vault {1} is in region {2} but VM {3} is in {4}; ADE needs the vault in the VM's "
                      "region (secrets must not cross regions): use a vault in {4}"
                      .format(label, vault.get('name'), vault.get('location'), vm_name, vm.get('location')))
    if vid.get('subscription', '').lower() != vm_id.get('subscription', '').lower():
        errors.append("{0}: Key Vault {1} is in subscription {2} but VM {3} is in {4}; use a vault in the VM's "
                      "subscription".format(label, vault.get('name'), vid.get('subscription'), vm_name,
                                            vm_id.get('subscription')))
    url = vault_url(vault, keyvault_suffix or 'vault.azure.net')
    errors.extend(validate_vault_url(url, vid.get('name')))
    return errors


def settings_match(current, wanted):
    """Whether the installed extension's public settings ask for the same thing as ``wanted``
    (same comparison as the extension's config_changed, plus volume type; SequenceVersion ignored)."""
    def norm_url(u):
        return (u or '').rstrip('/').lower()
    if current.get('EncryptionOperation') not in ENABLE_OPS:
        return False
    if canonical_volume_type(current.get('VolumeType')) != canonical_volume_type(wanted.get('VolumeType')):
        return False
    if norm_url(current.get('KeyVaultURL')) != norm_url(wanted.get('KeyVaultURL')):
        return False
    if (current.get('KeyVaultResourceId') or '').lower() != (wanted.get('KeyVaultResourceId') or '').lower():
        return False
    if norm_url(current.get('KeyEncryptionKeyURL')) != norm_url(wanted.get('KeyEncryptionKeyURL')):
        return False
    if wanted.get('KeyEncryptionKeyURL'):
        if (current.get('KekVaultResourceId') or '').lower() != (wanted.get('KekVaultResourceId') or '').lower():
            return False
        if (current.get('KeyEncryptionAlgorithm') or DEFAULT_ALGORITHM).upper() != \
                (wanted.get('KeyEncryptionAlgorithm') or DEFAULT_ALGORITHM).upper():
            return False
    return True


def decide_enable(vm, status, wanted_settings):
    """What to do for state=encrypted. Returns (action, reason): action in none|enable|refuse."""
    ext = find_ade_extension(vm)
    if ext is None:
        return 'enable', 'ADE extension not installed'
    same = settings_match(ext['settings'], wanted_settings)
    phase = status.get('phase')
    if same and phase == 'succeeded':
        return 'none', 'already encrypted as asked ({0})'.format(status.get('progress_message'))
    if same and phase in ('in_progress', 'restart_pending'):
        return 'none', 'encryption as asked is already in progress ({0})'.format(status.get('progress_message'))
    if not same and phase == 'in_progress' and status.get('operation') in ENABLE_OPS:
        return 'refuse', ("an encryption run with other settings is in progress ({0}); the extension rejects new "
                          "settings meanwhile ('An operation is already in progress'): wait for it with "
                          "vm_encryption_info wait_for=completed, then run again".format(status.get('progress_message')))
    if status.get('operation') == DISABLE_OP and phase == 'in_progress':
        return 'refuse', 'decryption is in progress ({0}); wait for it to finish'.format(status.get('progress_message'))
    if same and phase == 'failed':
        return 'enable', 'previous run failed ({0}); re-running with a new SequenceVersion'.format(
            status.get('progress_message'))
    return 'enable', 'settings differ from the installed extension' if not same else 'phase {0}'.format(phase)


def decide_disable(vm, status, remove_extension=True):
    """What to do for state=decrypted. Returns (actions, reason, error).

    actions: list out of 'disable', 'remove_extension'. Linux supports disabling data volumes only and
    only while the OS volume is not encrypted; the extension is removed only after disable succeeded.
    """
    ext = find_ade_extension(vm)
    if is_dual_pass(vm):
        return [], None, "VM {0} uses dual-pass ADE (0.1); this module only disables single-pass ADE".format(
            vm.get('name'))
    if ext is None:
        return [], 'ADE extension not installed: nothing to disable', None
    os_state = status.get('os_volume_encrypted')
    if os_state not in ('NotEncrypted', None, 'Unknown'):
        return [], None, ("VM {0}: the OS volume is {1}; Linux does not support disabling ADE when the OS volume "
                          "is encrypted (or being encrypted). Restore the VM from the snapshot taken before "
                          "encryption (vm_restore) instead".format(vm.get('name'), os_state))
    if os_state == 'Unknown' and status.get('os_disk_stamped'):
        return [], None, ("VM {0}: the OS disk carries encryption settings and the extension reports no OS state; "
                          "refusing to disable (Linux cannot disable with an encrypted OS volume)".format(vm.get('name')))
    op = status.get('operation')
    phase = status.get('phase')
    if op == DISABLE_OP and phase == 'succeeded':
        return (['remove_extension'] if remove_extension else []), 'decryption already succeeded', None
    if op == DISABLE_OP and phase == 'in_progress':
        return [], 'decryption is in progress ({0})'.format(status.get('progress_message')), None
    if op in ENABLE_OPS and phase == 'in_progress':
        return [], None, ("VM {0}: encryption is in progress ({1}); wait for it to finish before disabling"
                          .format(vm.get('name'), status.get('progress_message')))
    actions = ['disable'] + (['remove_extension'] if remove_extension else [])
    return actions, 'data volumes are {0}'.format(status.get('data_volumes_encrypted')), None
