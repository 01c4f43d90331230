#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) azure_ade.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: guest_facts
short_description: Gather what Azure Disk Encryption needs to know about a Linux guest
version_added: 0.1.0
description:
  - Reads, in one pass inside the VM, every fact that decides whether Azure Disk Encryption (ADE) can
    encrypt it, and returns them as C(ansible_facts.azure_ade) (schema_version 1, see docs/architecture.md).
  - Reads C(/proc), C(/sys), C(/etc) and the package database directly; runs only C(lsblk), and C(waagent --version)
    when the agent's version module (or the dpkg database) and its running extension handler's command line do not
    tell the versions; commands run with C(LC_ALL=C).
  - Never changes the system. A source that cannot be read gives V(null) for its fact and an entry in
    C(azure_ade.errors); the module does not fail for that.
  - Runs on Python 2.7 and 3.6+ guests (use ansible-core 2.16 as controller for Python 2.7/3.6 guests).
author:
  - azure_ade.linux maintainers (@azure-ade)
extends_documentation_fragment:
  - azure_ade.linux.guest_network
  - azure_ade.linux.attributes
  - azure_ade.linux.attributes.info_module
attributes:
  facts:
    support: full
    description: Returns C(ansible_facts.azure_ade).
options:
  gather_network:
    description:
      - Also probe the instance metadata service (IMDS) and the WireServer (short timeouts).
      - Fills C(azure_ade.imds) (VM identity) and C(azure_ade.network); they are V(null) otherwise.
    type: bool
    default: false
  state_dir:
    description:
      - The C(azure_ade.linux.prerequisites) role's state directory on the guest (its C(prerequisites_state_dir)).
      - A C(selinux.json) there is a SELinux state the role saved and has not put back yet (fact C(selinux.saved_state)).
    type: path
    default: /var/lib/azure_ade
notes:
  - Use M(azure_ade.linux.preflight) to turn these facts into verdicts.
seealso:
  - module: azure_ade.linux.preflight
'''

EXAMPLES = r'''
- name: Gather ADE facts
  azure_ade.linux.guest_facts:

- name: Gather ADE facts and probe IMDS/WireServer
  azure_ade.linux.guest_facts:
    gather_network: true

- name: Show the root device
  ansible.builtin.debug:
    msg: "{{ ansible_facts.azure_ade.root.device }} on LVM: {{ ansible_facts.azure_ade.root.on_lvm }}"
'''

RETURN = r'''
ansible_facts:
  description: Facts to add to ansible_facts.
  returned: always
  type: dict
  contains:
    azure_ade:
      description:
        - All ADE-relevant facts of the guest. Every key is always present; unreadable ones are V(null).
        - Full schema in docs/architecture.md of the collection.
      type: dict
      returned: always
      contains:
        schema_version:
          description: Version of this schema.
          type: int
          sample: 1
        distribution:
          description: Distribution as os-release and the release files tell it, and as ADE normalises it (C(ade_id)).
          type: dict
          sample: {id: ubuntu, ade_id: Ubuntu, version: "18.04", version_full: "18.04.6", ade_version: "18.04",
                   codename: bionic, pretty_name: Ubuntu 18.04.6 LTS, id_like: [debian], release_files: [/etc/os-release]}
        kernel:
          description: Running kernel (uname).
          type: dict
          sample: {release: 4.15.0-1113-azure, version: "#126-Ubuntu SMP", machine: x86_64}
        memory:
          description: MemTotal in kB.
          type: dict
          sample: {mem_total_kb: 8009912}
        selinux:
          description:
            - SELinux runtime mode (selinuxfs) and configured mode (/etc/selinux/config).
            - C(saved_state) is true when the prerequisites role saved the SELinux state in O(state_dir) and has not
              put it back yet (a run stopped between its SELinux fix and the put-back).
          type: dict
          sample: {present: true, runtime: enforcing, config: enforcing, config_raw: enforcing, policy: targeted, saved_state: false}
        agent:
          description:
            - Azure Linux agent version, service, auto-update, proxy and resource disk settings.
            - C(version_source) says where the versions came from (files and /proc, or C(waagent --version)).
          type: dict
        block_devices:
          description: lsblk devices.
          type: list
          elements: dict
        root:
          description: Root filesystem, its device, LVM and rootvg layout.
          type: dict
        mounts:
          description: Mount table, each with C(is_data_drive).
          type: list
          elements: dict
        data_mounts:
          description: Mounts that stand for data drives, with size_bytes and free_bytes (statvfs).
          type: list
          elements: dict
        resource_disk_mountpoint:
          description: Where the resource disk is mounted.
          type: str
        nested_mounts:
          description: Pairs [outer, inner] of data-drive mounts nested by path.
          type: list
          elements: list
        crypt:
          description: dm-crypt devices, /etc/crypttab, osencrypt/resourceencrypt mappers.
          type: dict
        processes:
          description:
            - C(blocking) running applications that block OS encryption (SAP, MongoDB, Cassandra, Docker).
            - C(root_busy) other long-running, non-system processes holding files open on the root filesystem
              (pid, name, uid, age_seconds, open paths).
            - Processes are reported by name and pid, never by command line (it may carry secrets).
          type: dict
        packages:
          description:
            - The packages the ADE extension installs on this distribution (C(required)), those C(missing), the
              package C(manager), the C(database) read (dpkg or files), and, when some are missing, the package
              C(sources) and C(proxy) the package manager would use, without user/password, query string or
              fragment (no secret leaves the guest).
          type: dict
        fstab:
          description: /etc/fstab entries (spec, file, vfstype, options).
          type: list
          elements: dict
        firmware:
          description: C(uefi) is true on UEFI (generation 2) VMs.
          type: dict
        root_usage:
          description: C(size_bytes) and C(free_bytes) of the root filesystem (statvfs).
          type: dict
        app_markers:
          description: ADE's own app-compat marker paths that exist.
          type: list
          elements: str
        extensions:
          description: Extension handlers under /var/lib/waagent, those in progress, Custom Script, OSTC ADE.
          type: dict
        ade_state:
          description:
            - ADE's own state in the guest.
            - C(bek) - the BEK volume at C(/mnt/azure_bek_disk) (C(mounted), C(fstype), C(passphrase_file_name),
              C(passphrase_files) with C(name) and C(size) only - a passphrase is never read - and C(usable)).
          type: dict
        vfat:
          description: Whether vfat can be used and how.
          type: dict
        imds:
          description: VM identity from IMDS (only with O(gather_network)).
          type: dict
        network:
          description:
            - IMDS and WireServer reachability, and C(package_sources) (probed only when packages are missing)
              (only with O(gather_network)).
          type: dict
        errors:
          description: Sources that could not be read, each with C(source) and C(error).
          type: list
          elements: dict
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.azure_ade.linux.plugins.module_utils.guest import gather


def argument_spec():
    spec = dict(gather_network=dict(type='bool', default=False))
    spec.update(gather.NETWORK_ARGUMENT_SPEC)
    spec.update(gather.STATE_ARGUMENT_SPEC)
    return spec


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    problem = gather.network_option_error(module.params)
    if problem:
        module.fail_json(msg=problem)
    facts = gather.gather(
        gather.command_runner(module),
        network=module.params['gather_network'],
        imds_endpoint=module.params['imds_endpoint'],
        wireserver_endpoint=module.params['wireserver_endpoint'],
        timeout=module.params['network_timeout'],
        state_dir=module.params['state_dir'],
    )
    module.exit_json(changed=False, ansible_facts={'azure_ade': facts})


if __name__ == '__main__':
    main()
