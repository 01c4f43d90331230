#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) azure_ade.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: preflight
short_description: Tell whether a Linux VM can take Azure Disk Encryption, why not, and what fixes it
version_added: 0.1.0
description:
  - Gathers the facts of M(azure_ade.linux.guest_facts) in the same round trip (or takes them from O(facts))
    and evaluates every ADE prerequisite check inside the guest.
  - Each check has a stable ID, the requirement it enforces, a severity (V(fatal) or V(warning)), whether it
    passed, a one-line message and the fix (the task of the C(azure_ade.linux.prerequisites) role that fixes
    it, or what the operator must do).
  - Verdicts follow the ADE extension where it is the source of truth (allow-list with kernel minimums, memory
    cut-off, LVM layout rule, in-place filesystems); where Microsoft's docs are stricter the check
    C(os_documented) warns.
  - Does not fail because the VM is not ready (the caller decides, or set O(fail_when_not_ready)); fails only on
    bad input. Never changes the system.
author:
  - azure_ade.linux maintainers (@azure-ade)
extends_documentation_fragment:
  - azure_ade.linux.guest_network
  - azure_ade.linux.attributes
  - azure_ade.linux.attributes.info_module
options:
  volume_type:
    description: The ADE C(VolumeType) that will be requested; checks that only concern other volume types do not count.
    type: str
    choices: [OS, Data, All]
    default: All
  encrypt_format_all:
    description: The encryption will use C(EnableEncryptionFormatAll) (wipes data volumes, allows xfs/btrfs).
    type: bool
    default: false
  min_memory_kb:
    description: Minimum MemTotal in kB for OS encryption (the extension's own cut-off is 7000000).
    type: int
    default: 7000000
  check_network:
    description: Probe IMDS and the WireServer and evaluate the C(imds) and C(wireserver) checks.
    type: bool
    default: true
  facts:
    description:
      - Facts from M(azure_ade.linux.guest_facts) (C(ansible_facts.azure_ade)) to evaluate instead of gathering.
      - When O(check_network=true) and the facts hold no network probe, the module probes itself.
    type: dict
  fail_when_not_ready:
    description: Fail the task when the VM is not ready for O(volume_type) (the result is returned either way).
    type: bool
    default: false
  state_dir:
    description:
      - The C(azure_ade.linux.prerequisites) role's state directory on the guest (its C(prerequisites_state_dir)).
      - A C(selinux.json) there is a SELinux state the role saved and has not put back yet (fact C(selinux.saved_state)).
    type: path
    default: /var/lib/azure_ade
seealso:
  - module: azure_ade.linux.guest_facts
'''

EXAMPLES = r'''
- name: Can this VM take ADE for all volumes?
  azure_ade.linux.preflight:
  register: ade_preflight

- name: Show what blocks it and what the role can fix
  ansible.builtin.debug:
    msg: "ready={{ ade_preflight.ready }} fixable={{ ade_preflight.fixable }} blocking={{ ade_preflight.blocking }}"

- name: Data volumes only, with EncryptFormatAll, stop here when not ready
  azure_ade.linux.preflight:
    volume_type: Data
    encrypt_format_all: true
    fail_when_not_ready: true

- name: Evaluate facts gathered earlier
  azure_ade.linux.preflight:
    facts: "{{ ansible_facts.azure_ade }}"
'''

RETURN = r'''
ready:
  description: No fatal check failed that applies to O(volume_type).
  returned: always
  type: bool
  sample: false
fixable:
  description: IDs of failed fatal checks that the prerequisites role can fix.
  returned: always
  type: list
  elements: str
  sample: [kernel]
blocking:
  description: IDs of failed fatal checks the role cannot fix.
  returned: always
  type: list
  elements: str
  sample: [memory]
fix_tasks:
  description: Tasks of the C(azure_ade.linux.prerequisites) role that fix the RV(fixable) checks, in check order.
  returned: always
  type: list
  elements: str
  sample: [kernel, agent]
warnings_failed:
  description: IDs of failed warning checks that apply to O(volume_type).
  returned: always
  type: list
  elements: str
  sample: [os_documented]
ready_for:
  description: The verdict for every volume type (same facts, same options).
  returned: always
  type: dict
  sample: {OS: false, Data: true, All: false}
volume_type:
  description: The volume type the verdict is for.
  returned: always
  type: str
  sample: All
checks:
  description: Every check evaluated.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Stable check ID.
      type: str
      sample: kernel
    requirement:
      description: Main requirement ID it enforces.
      type: str
      sample: R2
    requirements:
      description: All requirement IDs it enforces.
      type: list
      elements: str
      sample: [R0.2, R1.6]
    severity:
      description: V(fatal) or V(warning).
      type: str
    applies_to:
      description: Volume types the check concerns.
      type: list
      elements: str
    applies:
      description: Whether it concerns O(volume_type).
      type: bool
    passed:
      description: Whether the check passed.
      type: bool
    message:
      description: One line naming the problem and the fix.
      type: str
    fix:
      description: C(role_task) (task of the prerequisites role, or null) and C(text) (what to do); both null when passed.
      type: dict
    details:
      description: Offending items (processes, mount pairs, filesystems...) for some failed checks.
      type: raw
      returned: when the check lists offenders
summary:
  description: Counts of checks.
  returned: always
  type: dict
  sample: {total: 25, passed: 23, failed: 2, fatal_failed: 1, warnings: 1}
facts:
  description:
    - The facts the verdict was computed from (schema of M(azure_ade.linux.guest_facts)), returned once.
    - Without what decides no check - C(mounts) lists only the mounts that stand for a drive (no kernel pseudo,
      in-memory, network or image filesystems) and C(block_devices) leaves out the loop and optical (C(rom)) devices
      that carry no such mount; M(azure_ade.linux.guest_facts) returns them all.
    - The module does not set C(ansible_facts); use M(azure_ade.linux.guest_facts) for host facts.
  returned: always
  type: dict
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.azure_ade.linux.plugins.module_utils.guest import checks as rules
from ansible_collections.azure_ade.linux.plugins.module_utils.guest import gather
from ansible_collections.azure_ade.linux.plugins.module_utils.guest import layout
from ansible_collections.azure_ade.linux.plugins.module_utils.guest import redact

REQUIRED_FACT_KEYS = ('schema_version', 'distribution', 'kernel', 'memory', 'selinux', 'agent', 'root',
                      'mounts', 'data_mounts', 'nested_mounts', 'processes', 'extensions', 'vfat', 'packages',
                      'fstab', 'firmware', 'root_usage')


def argument_spec():
    spec = dict(
        volume_type=dict(type='str', default='All', choices=['OS', 'Data', 'All']),
        encrypt_format_all=dict(type='bool', default=False),
        min_memory_kb=dict(type='int', default=7000000),
        check_network=dict(type='bool', default=True),
        facts=dict(type='dict'),
        fail_when_not_ready=dict(type='bool', default=False),
    )
    spec.update(gather.NETWORK_ARGUMENT_SPEC)
    spec.update(gather.STATE_ARGUMENT_SPEC)
    return spec


def validate_facts(facts):
    """Problem with facts handed in, or None."""
    if facts.get('schema_version') != gather.SCHEMA_VERSION:
        return 'facts.schema_version is %r, expected %d: pass ansible_facts.azure_ade from ' \
            'azure_ade.linux.guest_facts of this collection version' % (facts.get('schema_version'),
                                                                        gather.SCHEMA_VERSION)
    missing = [k for k in REQUIRED_FACT_KEYS if k not in facts]
    if missing:
        return 'facts lacks %s: pass the whole ansible_facts.azure_ade from azure_ade.linux.guest_facts' \
            % ', '.join(missing)
    return None


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    params = module.params
    if params['min_memory_kb'] < 0:
        module.fail_json(msg='min_memory_kb must be >= 0, got %d' % params['min_memory_kb'])
    problem = gather.network_option_error(params)
    if problem:
        module.fail_json(msg=problem)
    run = gather.command_runner(module)

    if params['facts'] is not None:
        facts = dict(params['facts'])
        problem = validate_facts(facts)
        if problem:
            module.fail_json(msg=problem)
        if params['check_network'] and not facts.get('network'):
            guest = gather.Guest(run)
            facts['network'], facts['imds'] = gather.gather_network(
                guest, facts.get('agent'), imds_endpoint=params['imds_endpoint'],
                wireserver_endpoint=params['wireserver_endpoint'], timeout=params['network_timeout'],
                packages=facts.get('packages'))
            facts['errors'] = list(facts.get('errors') or []) + guest.errors
        facts = redact.facts(facts)  # facts handed in: no command line, URL userinfo or password=... in the result
    else:
        facts = gather.gather(run, network=params['check_network'], imds_endpoint=params['imds_endpoint'],
                              wireserver_endpoint=params['wireserver_endpoint'],
                              timeout=params['network_timeout'], state_dir=params['state_dir'])

    result = rules.evaluate(facts, volume_type=params['volume_type'],
                            encrypt_format_all=params['encrypt_format_all'],
                            min_memory_kb=params['min_memory_kb'], check_network=params['check_network'])
    output = dict(
        changed=False,
        ready=result['ready'],
        fixable=result['fixable'],
        blocking=result['blocking'],
        fix_tasks=result['fix_tasks'],
        warnings_failed=result['warnings'],
        ready_for=result['ready_for'],
        volume_type=result['volume_type'],
        checks=result['checks'],
        summary=result['summary'],
        facts=layout.drive_facts(facts),
    )
    if result['ready']:
        output['msg'] = 'ready for ADE volume type %s' % params['volume_type']
    else:
        output['msg'] = 'not ready for ADE volume type %s: fixable %s, blocking %s' % (
            params['volume_type'], ', '.join(result['fixable']) or '-', ', '.join(result['blocking']) or '-')
    if params['fail_when_not_ready'] and not result['ready']:
        module.fail_json(**output)
    module.exit_json(**output)


if __name__ == '__main__':
    main()
