# -*- coding: utf-8 -*-
# Copyright: azure_ade.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to azure_ade.linux: used by this collection's modules and plugins only, not a public API; may change in any release.
"""PURE: every name and value a controller module sends is checked before the first request (issue 15).

Azure's own rules, from "Naming rules and restrictions for Azure resources"
(https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules) and the Disks REST API
(https://learn.microsoft.com/rest/api/compute/disks/create-or-update, ``diskName``: "Supported characters for the
name are a-z, A-Z, 0-9, _ and -. The maximum name length is 80 characters"); ARM enforces the disk rule with the
pattern ``^[^_\\W][\\w-._]{0,79}(?<![-.])$`` (quoted in its InvalidParameter error, Azure/azure-powershell#4706).
docs/validation.md has the table of what is refused and why; ``OPTION_RULES`` is that table in code.
"""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

# Microsoft.Compute/disks and snapshots: 1-80, alphanumerics, underscores, periods, hyphens; start alphanumeric; end
# alphanumeric or underscore
DISK_NAME_RE = re.compile(r'^[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,78}[A-Za-z0-9_])?$')
MAX_DISK_NAME = 80
# resource groups: 1-90, alphanumerics, underscores, parentheses, hyphens, periods, Unicode letters; not ending in '.'
RG_RE = re.compile(r'^[-\w._()]{1,90}$', re.UNICODE)
# virtual machines / scale sets (Linux): 1-64, not ending with '.' or '-'. The name rules page also lists '_' and '.'
# among the characters a *new* VM cannot use; VMs created by older APIs have them, and these options name existing VMs,
# so only what no ARM resource name can hold is refused: spaces, control characters, ~ ! @ # $ % ^ & * ( ) = + [ ] { }
# \ | ; : ' " , < > / ?
VM_BAD_CHARS = set('~!@#$%^&*()=+[]{}\\|;:\'",<>/? \t')
MAX_VM_NAME = 64
# the snapshot set (part of snapshot and disk names: <vm>-<set>-os; vm_snapshot's rule)
SNAPSHOT_SET_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_.-]{0,59}$')
# Key Vault: 3-24, alphanumerics and hyphens, start with a letter, end with a letter or digit, no consecutive hyphens
VAULT_RE = re.compile(r'^[A-Za-z](?:[A-Za-z0-9]|-(?!-)){1,22}[A-Za-z0-9]$')
# tags: 50 per resource, name <= 512 characters (no < > % & \ ? /), value <= 256
MAX_TAGS, MAX_TAG_NAME, MAX_TAG_VALUE = 50, 512, 256
TAG_NAME_BAD = set('<>%&\\?/')
# new_disk_suffix of vm_migrate: disk-name characters, at most 40 so that 40 characters of the old name stay
MAX_SUFFIX = 40


def disk_name_error(name, what='disk name'):
    if not name:
        return '{0} is empty'.format(what)
    if len(name) > MAX_DISK_NAME:
        return "{0} '{1}' has {2} characters; Azure allows at most {3}".format(what, name, len(name), MAX_DISK_NAME)
    if not DISK_NAME_RE.match(name):
        return ("{0} '{1}' is not valid for Azure: letters, digits, '_', '.', '-' only, starting with a letter or "
                "digit and ending with a letter, digit or '_'".format(what, name))
    return None


def resource_group_error(value, option):
    if not RG_RE.match(value) or value.endswith('.'):
        return ("{0} '{1}' is not a valid resource group name (1-90 letters, digits, '_', '(', ')', '-', '.', not "
                "ending in '.')".format(option, value))
    return None


def vm_name_error(value, option):
    if value.startswith('/subscriptions/'):
        return None  # a resource ID where the module takes one (vm_encryption_info names); parsed by the module
    if len(value) > MAX_VM_NAME or not value:
        return "{0} '{1}' has {2} characters; Azure allows 1-{3}".format(option, value, len(value), MAX_VM_NAME)
    bad = sorted(set(c for c in value if c in VM_BAD_CHARS or ord(c) < 32))
    if bad or value[-1] in '.-':
        return ("{0} '{1}' is not a valid Azure VM name (no spaces nor {2}; not ending with '.' or '-')".format(
            option, value, ' '.join(repr(c) for c in bad) or 'such characters'))
    return None


def snapshot_set_error(value, option):
    if not SNAPSHOT_SET_RE.match(value):
        return ("{0} '{1}' must be 1-60 letters, digits, '_', '.', '-' starting with a letter or digit (it becomes "
                "part of snapshot and disk names)".format(option, value))
    return None


def vault_error(value, option):
    if value.startswith('/subscriptions/') or value.startswith('https://'):
        return None  # a resource ID or URL: parsed and checked by ade.py
    if not VAULT_RE.match(value):
        return ("{0} '{1}' is not a valid Key Vault name (3-24 letters, digits and single hyphens, starting with a "
                "letter, ending with a letter or digit), nor a vault resource ID".format(option, value))
    return None


def tags_error(value, option):
    if len(value) > MAX_TAGS:
        return '{0} has {1} tags; Azure allows {2} per resource'.format(option, len(value), MAX_TAGS)
    for k, v in value.items():
        k = str(k)
        if not k or len(k) > MAX_TAG_NAME or set(k) & TAG_NAME_BAD:
            return ("{0}: tag name '{1}' is not valid (1-{2} characters, none of < > % & \\ ? /)".format(
                option, k, MAX_TAG_NAME))
        if v is not None and len(str(v)) > MAX_TAG_VALUE:
            return '{0}: the value of tag {1} has {2} characters; Azure allows {3}'.format(
                option, k, len(str(v)), MAX_TAG_VALUE)
        if k.lower().startswith('azure_ade_'):
            return "{0}: tag {1} is reserved for this collection's records".format(option, k)
    return None


def suffix_error(value, option):
    if not value:
        return '{0} is empty: the new disks would take the old disks\' names'.format(option)
    if len(value) > MAX_SUFFIX:
        return "{0} '{1}' has {2} characters; at most {3}".format(option, value, len(value), MAX_SUFFIX)
    if not re.match(r'^[A-Za-z0-9_.-]*[A-Za-z0-9_]$', value):
        return ("{0} '{1}' may hold only letters, digits, '_', '.', '-' and must end with a letter, digit or '_' (it "
                "ends the new disks' names)".format(option, value))
    return None


def _each(rule):
    def check(value, option):
        for v in value:
            err = rule(str(v), option)
            if err:
                return err
        return None
    return check


# option -> rule (the same meaning in every controller module that has it)
OPTION_RULES = {
    'resource_group': resource_group_error,
    'snapshot_resource_group': resource_group_error,
    'key_vault_resource_group': resource_group_error,
    'name': vm_name_error,
    'names': _each(vm_name_error),
    'snapshot_set': snapshot_set_error,
    'key_vault': vault_error,
    'kek_vault': vault_error,
    'tags': tags_error,
    'new_disk_suffix': suffix_error,
}


def param_errors(params):
    """Messages for every option value Azure would refuse (or that would break a name built from it). Pure."""
    errors = []
    for option in sorted(OPTION_RULES):
        value = params.get(option)
        if value is None or (option not in ('new_disk_suffix',) and value == ''):
            continue
        err = OPTION_RULES[option](value, option)
        if err:
            errors.append(err)
    return errors


def new_disk_names_errors(vm_disk_names, new_names, existing_foreign=()):
    """vm_migrate's new disk names: each valid for Azure, unique among themselves and not the name of one of the
    VM's disks; ``existing_foreign``: names of the new disks that exist in the resource group and are not copies
    this migration made. Pure; [messages]."""
    errors = []
    for n in new_names:
        err = disk_name_error(n, 'new disk name')
        if err:
            errors.append(err)
    seen = {}
    for old, n in zip(vm_disk_names, new_names):
        key = (n or '').lower()
        if key in seen:
            errors.append("new disk name '{0}' would be used for both {1} and {2}; choose a shorter new_disk_suffix "
                          "or rename a disk".format(n, seen[key], old))
        seen[key] = old
    olds = set((o or '').lower() for o in vm_disk_names)
    for n in new_names:
        if (n or '').lower() in olds:
            errors.append("new disk name '{0}' is the name of one of the VM's disks".format(n))
    for n in existing_foreign:
        errors.append("a disk named '{0}' already exists in the resource group and is not a copy made by this "
                      "migration; choose another new_disk_suffix".format(n))
    return errors
