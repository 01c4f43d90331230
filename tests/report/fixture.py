"""Write a representative fleet (JSON list of VM rows) for the report's browser test: every outcome the encrypt
playbook records, status rows with mismatches both ways, blockers, retirement paths, wait histories of several
lengths, and host names that need escaping or give the same anchor.

  fixture.py OUT.json [encrypt|status]
"""
import json
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


def fleet(kind):
    rows = []
    for i in range(24):
        outcome = OUTCOMES[i % len(OUTCOMES)]
        row = {'host': 'vm-%02d' % i, 'vm': 'vm-%02d' % i, 'resource_group': 'rg-%s' % ('a' if i < 12 else 'b')}
        if kind == 'encrypt':
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
    rows = fleet(sys.argv[2] if len(sys.argv) > 2 else 'encrypt')
    with open(sys.argv[1], 'w') as f:
        json.dump(rows, f, indent=1)
    print('%d VM rows -> %s' % (len(rows), sys.argv[1]))
