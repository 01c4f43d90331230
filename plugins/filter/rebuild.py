# -*- coding: utf-8 -*-
# Copyright: azure_ade.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Issue 17 filters (logic in module_utils/cloud/retirement.py):
plan | azure_ade.linux.migrate_page_row(row) -> one VM of the migrate page (fleet_report kind migrate);
hosts | azure_ade.linux.read_again_groups(hostvars) -> the VMs to read again after the run's last change;
rows | azure_ade.linux.read_again(results, hosts, hostvars) -> the encrypt rows with the retirement read then.
The rebuild playbook's guest side (logic in module_utils/cloud/rebuild.py):
record | azure_ade.linux.rebuild_parts(want) -> what runs now for one VM;
old_volumes | azure_ade.linux.rebuild_build_refusals(data_disks, data_mounts) -> why the build may not start;
old_volumes | azure_ade.linux.rebuild_copy_refusals(new_volumes) -> why the copy may not start;
old_trees | azure_ade.linux.rebuild_compare(new_trees) -> what differs between both guests;
hosts | azure_ade.linux.rebuild_page_rows(hostvars, reads) -> the rebuild page's rows (fleet_report kind rebuild);
rows | azure_ade.linux.rebuild_fail_msg -> the run's verdict (the refused VMs);
path | azure_ade.linux.rebuild_rsync(address, keydir, ...) -> the old guest's rsync argv (no secret in it);
pubkey | azure_ade.linux.rebuild_authorized_key(from_address, vm) and host_keys | rebuild_known_hosts(address)."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import rebuild as RB
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import retirement


def migrate_page_row(plan, row=None):
    return retirement.migrate_page_row(plan, row)


def read_again_groups(hosts, hostvars):
    return retirement.read_again_groups(hosts, hostvars)


def read_again(rows, results, hosts, hostvars):
    return retirement.read_again(rows, results, hosts, hostvars)


def _pure(fn, *args, **kw):
    try:
        return fn(*args, **kw)
    except RB.RebuildError as exc:
        raise AnsibleFilterError(str(exc))


def rebuild_parts(record, want='cut_over'):
    return _pure(RB.guest_parts, (record or {}).get('stage'), want)


def rebuild_build_refusals(old_volumes, data_disks, data_mounts=None):
    return RB.build_refusals(list(old_volumes or []), list(data_disks or []),
                             None if data_mounts is None else list(data_mounts))


def rebuild_copy_refusals(old_volumes, new_volumes):
    return RB.copy_refusals(old_volumes, list(new_volumes or []))


def rebuild_compare(old_trees, new_trees):
    return RB.compare_trees(old_trees, new_trees)


def rebuild_page_rows(hosts, hostvars, reads=None):
    """One row per host that named a VM of this run: its record as read after the run's last change (``reads``:
    the vm_encryption_info results of read_again_groups), else as the run's first read saw it."""
    found = {}
    for res in reads or []:
        for v in (res or {}).get('vms') or [] if hasattr(res, 'get') else []:
            found[((v.get('resource_group') or '').lower(), (v.get('name') or '').lower())] = v
    rows = []
    for h in hosts or []:
        hv = hostvars.get(h) if hasattr(hostvars, 'get') else None
        hv = hv if hasattr(hv, 'get') else {}
        vm = hv.get('ade_vm') if hasattr(hv.get('ade_vm'), 'get') else None
        if not vm or not vm.get('name'):
            continue
        ident = hv.get('ade_identity') if hasattr(hv.get('ade_identity'), 'get') else {}
        refused = hv.get('ade_rebuild_refused') or (ident.get('msg') if ident and not ident.get('ok') else None)
        seen = found.get(((vm.get('resource_group') or '').lower(), vm['name'].lower()))
        first = hv.get('__ade_rb_read') if hasattr(hv.get('__ade_rb_read'), 'get') else {}
        rec = (seen or {}).get('rebuild') or first.get('record') or {}
        rollout = (seen or {}).get('rollout') or {}
        rows.append(RB.page_row(h, dict(vm), dict(rec), refused=refused,
                                failed=hv.get('ade_rebuild_stopped') or hv.get('ade_rebuild_failed'),
                                compare=hv.get('ade_rebuild_compare'),
                                snapshot_set=rollout.get('snapshot_set'),
                                cutover=hv.get('ade_rebuild_cutover') or 'private_ip'))
    return rows


def rebuild_fail_msg(rows):
    return RB.page_fail_msg(rows)


def rebuild_rsync(path, address, keydir, user='root', port=22, final=False):
    return _pure(RB.rsync_argv, path, address, keydir, user=user, port=port, final=final)


def rebuild_rsync_controller(path, old, new, staging, final=False):
    return _pure(RB.rsync_controller_argvs, path, old, new, staging, final=final)


def rebuild_authorized_key(pubkey, from_address, vm):
    return _pure(RB.authorized_key_line, pubkey, from_address, vm)


def rebuild_key_marker(vm):
    return RB.key_marker(vm)


def rebuild_known_hosts(host_keys, address, port=22):
    return _pure(RB.known_hosts_lines, host_keys, address, port)


class FilterModule(object):
    def filters(self):
        return {'migrate_page_row': migrate_page_row, 'read_again_groups': read_again_groups,
                'read_again': read_again, 'rebuild_parts': rebuild_parts,
                'rebuild_copy_refusals': rebuild_copy_refusals, 'rebuild_build_refusals': rebuild_build_refusals, 'rebuild_compare': rebuild_compare,
                'rebuild_rsync': rebuild_rsync, 'rebuild_authorized_key': rebuild_authorized_key,
                'rebuild_known_hosts': rebuild_known_hosts, 'rebuild_key_marker': rebuild_key_marker,
                'rebuild_rsync_controller': rebuild_rsync_controller, 'rebuild_page_rows': rebuild_page_rows,
                'rebuild_fail_msg': rebuild_fail_msg}
