"""Write a representative fleet (JSON list of VM rows) for the report's browser test: every outcome the encrypt
playbook records, status rows with mismatches both ways, blockers, retirement paths, wait histories of several
lengths, and host names that need escaping or give the same anchor.

  fixture.py OUT.json [encrypt|status|migrate|rebuild]
status also writes OUT.inventory.json (an ade_inventory_info result: every kind of item, one carrying odd text).
"""
import datetime
import json
import os
import sys

OUTCOMES = ['succeeded', 'already_encrypted', 'failed_restored', 'failed_restore_failed', 'blocked',
            'prerequisites_failed', 'reboot_required', 'timeout', 'unreachable', 'no_result']


def history(n, start_hour=1):
    out = []
    for i in range(n):
        last = i == n - 1
        out.append({'time': '2026-11-30T%02d:%02d:00Z' % (start_hour + i // 2, (i % 2) * 30),
                    'phase': 'succeeded' if last else 'in_progress',
                    'message': 'Encryption succeeded for all volumes' if last else 'OS disk encryption in progress: %d%%' % (i * 10),
                    'os': 'Encrypted' if last else 'EncryptionInProgress', 'data': 'NotMounted'})
    return out


STEPS = ['plan', 'nic', 'vm', 'configure', 'copy', 'final_copy', 'compare', 'cut_over', 'old_deallocated']


def inventory():
    items = [{'kind': 'vm', 'name': 'vm-00', 'resource_group': 'rg-a', 'carries': 'ade_settings', 'path': 'rebuild',
              'action': 'rebuild: a new VM with encryption at host', 'why': 'ADE on the OS volume', 'days_left': 648},
             {'kind': 'vm', 'name': 'vm-01', 'resource_group': 'rg-a', 'carries': 'none', 'path': 'nothing',
              'action': 'nothing for ADE', 'why': '', 'days_left': 648}]
    for kind, carries in (('scale_set', 'ade_extension'), ('disk', 'ude_flag'), ('snapshot', 'ade_settings'),
                          ('image', 'ude_flag'), ('restore_point', 'ade_settings')):
        items.append({'kind': kind, 'name': '%s-1' % kind, 'resource_group': 'rg-b', 'carries': carries,
                      'action': 'what to do with the %s' % kind, 'why': '<i>why</i> & "quoted"', 'days_left': 648})
    return {'subscription_id': '11111111-1111-1111-1111-111111111111', 'retirement_date': '2028-09-15',
            'days_left': 648, 'entries': items,
            'summary': {'vm': 1, 'scale_set': 1, 'disk': 1, 'snapshot': 1, 'image': 1, 'restore_point': 1,
                        'vm_paths': {'rebuild': 1, 'nothing': 1}}}


def rebuild_fleet():
    """The rebuild page's rows as the playbook makes them: records written by module_utils/cloud/rebuild.py
    record_tags at every stage (their log = the timeline), rendered by its page_row (filter rebuild_page_rows)."""
    sys.path.insert(0, os.environ.get('ADE_COLL_ROOT') or os.path.join(os.path.dirname(__file__), '..', '..', '..',
                                                                       '..', '..'))
    from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import rebuild as RB
    t0 = datetime.datetime(2026, 12, 7, 10, 0, 0)
    stages = ['planned', 'nic', 'vm', 'configured', 'copied', 'compared', 'cut_over', 'fallback', 'cut_over',
              'verified']
    rows = []
    for i in range(14):
        tags = {}
        upto = [None, 'planned', 'vm', 'configured', 'compared', 'cut_over', 'fallback', 'verified'][i % 8]
        if upto:
            for j, st in enumerate(stages):
                tags = RB.record_tags(tags, st, now=t0 + datetime.timedelta(minutes=7 * j + i), new='rb-%02d-eah' % i,
                                      ip='10.0.0.%d' % (10 + i), spare_ip='10.0.0.%d' % (250 - i) if st == 'cut_over'
                                      else None)
                if st == upto and (upto != 'cut_over' or 'fb=' in tags.get(RB.TAG_LOG, '') or i % 2):
                    break
        vm = {'name': 'rb-%02d' % i, 'resource_group': 'rg-rb'}
        refused = ('vm_rebuild refused, nothing was sent to Azure: VM size Standard_F4 does not support encryption '
                   'at host') if upto is None and i >= 8 else None
        failed = 'no cut-over - data differs: /data: checksum differs: <a>' if upto == 'compared' and i >= 8 else None
        compare = {'same': True, 'files': 120 + i, 'checksummed': 120 + i, 'lines': []} if upto in (
            'cut_over', 'verified') else None
        rows.append(RB.page_row(vm['name'], vm, RB.record({'tags': tags}), refused=refused, failed=failed,
                                compare=compare, snapshot_set='ade-2026120%d' % (i % 3) if i % 3 else None))
    rows.append(RB.page_row('<b>odd & "name"</b>', {'name': '<i>x</i>'}, {}, refused='<script>alert(1)</script>'))
    return rows


def fleet(kind):
    if kind == 'rebuild':
        return rebuild_fleet()
    rows = []
    for i in range(24):
        outcome = OUTCOMES[i % len(OUTCOMES)]
        row = {'host': 'vm-%02d' % i, 'vm': 'vm-%02d' % i, 'resource_group': 'rg-%s' % ('a' if i < 12 else 'b')}
        if kind in ('migrate', 'rebuild'):
            done = 1 + i % len(STEPS)
            row.update(outcome=['cut_over', 'copying', 'failed', 'verified', 'planned', 'restored'][i % 6],
                       message='step %s of %d' % (STEPS[done - 1], len(STEPS)),
                       steps=[{'step': st, 'at': '2026-12-07T%02d:%02d:00Z' % (10 + j // 4, (j % 4) * 15),
                               'state': 'done' if j < done - 1 else 'in_progress'} for j, st in enumerate(STEPS[:done])],
                       kept=['old VM vm-%02d (deallocated) with its disks' % i, 'snapshot set ade-rebuild-%02d' % i,
                             'Key Vault secrets of its ADE keys'],
                       to_confirm=['check the application on vm-%02d-new, then state=verified' % i]
                       if i % 6 != 3 else [])
        elif kind == 'encrypt':
            row.update(outcome=outcome, snapshot_set='ade-20261130T0100%02dZ' % i if outcome != 'blocked' else '',
                       message='stage %s: %s' % ('wait', outcome), history=history(1 + i % 7))
            if outcome == 'failed_restore_failed':   # a long message with a stack trace, folded on the page
                row['message'] = ('stage enable: Failed to encrypt OS volume with error: Could not unmount /oldroot\n'
                                  + 'Traceback (most recent call last):\n  File "handle.py", line 2303\n' * 8)
            if outcome in ('blocked', 'prerequisites_failed'):
                row['blockers'] = ['root_lvm_layout', 'memory'] if i % 2 else ['blocking_apps']
        else:
            row.update(phase=['succeeded', 'in_progress', 'not_started', 'failed'][i % 4],
                       mismatch=['platform: OS Encrypted, guest: root not on dm-crypt'] if i % 5 == 0 else [],
                       platform_os='Encrypted', guest_os_crypt=bool(i % 2), history=history(i % 4))
        row['retirement'] = {'path': 'encryption at host' if i % 3 else 'confidential disk encryption',
                             'deadline': '2028-09-15'}
        rows.append(row)
    rows.append({'host': '<b>odd & "name"</b>', 'outcome': 'failed', 'phase': 'failed',
                 'message': '<script>alert(1)</script>'})
    rows.append({'host': 'Odd--Name', 'outcome': 'succeeded'})
    rows.append({'host': 'odd name', 'outcome': 'succeeded'})
    return rows


if __name__ == '__main__':
    kind = sys.argv[2] if len(sys.argv) > 2 else 'encrypt'
    rows = fleet(kind)
    with open(sys.argv[1], 'w') as f:
        json.dump(rows, f, indent=1)
    with open(sys.argv[1][:-len('.json')] + '.inventory.json', 'w') as f:
        json.dump(inventory() if kind == 'status' else None, f, indent=1)
    print('%d VM rows -> %s' % (len(rows), sys.argv[1]))
