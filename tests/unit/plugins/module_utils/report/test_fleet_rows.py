# -*- coding: utf-8 -*-
# Copyright: azure_ade.linux maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The encrypt, preflight and status fleet rows, built in Python from the hosts' variables (issue 18 item 2)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.azure_ade.linux.plugins.module_utils.report import fleet_rows as F

ENCRYPTED = ('encrypted', 'already_encrypted', 'would_encrypt')


# ---- encrypt ----

def test_encrypt_row_of_a_host_that_never_started():
    row = F.encrypt_row('h', {})
    assert row == {'host': 'h', 'outcome': 'no_result', 'vm': '', 'snapshot_set': '', 'phase': '', 'history': [],
                   'retirement': None, 'blockers': [], 'message': F.NO_RESULT}


def test_encrypt_row_names_the_set_only_when_this_run_took_or_owns_it():
    base = {'ade_outcome': 'blocked', 'ade_outcome_msg': '  [kernel] old \n', 'ade_vm': {'name': 'vm1'},
            'ade_run_set': 'ade-r1', 'ade_preflight': {'blocking': ['kernel']}}
    row = F.encrypt_row('h', base)
    assert (row['snapshot_set'], row['blockers'], row['message'], row['vm']) == ('', ['kernel'], '[kernel] old', 'vm1')
    assert F.encrypt_row('h', dict(base, ade_snapshot={'skipped': True}))['snapshot_set'] == ''
    assert F.encrypt_row('h', dict(base, ade_snapshot={'failed': True}))['snapshot_set'] == ''
    assert F.encrypt_row('h', dict(base, ade_snapshot={'changed': True}))['snapshot_set'] == 'ade-r1'
    assert F.encrypt_row('h', dict(base, ade_changed='True'))['snapshot_set'] == 'ade-r1'
    assert F.encrypt_row('h', dict(base, ade_changed=False))['snapshot_set'] == ''


def test_encrypt_row_takes_the_wait_entry_and_both_histories():
    hv = {'ade_outcome': 'encrypted', 'ade_enable': {'history': [{'a': 1}]},
          'ade_wait': {'vms': [{'phase': 'succeeded', 'history': [{'b': 2}], 'retirement': {'path': 'x'},
                                'ade_blockers': [{'id': 'b1', 'message': 'm'}]}]},
          'ade_preflight': {'unreachable': True}}
    row = F.encrypt_row('h', hv)
    assert row['phase'] == 'succeeded' and row['history'] == [{'a': 1}, {'b': 2}]
    assert row['retirement'] == {'path': 'x'} and row['blockers'] == ['b1']
    assert F.encrypt_row('h', {'ade_wait': {'vms': []}})['phase'] == ''


def test_encrypt_fleet_in_host_order_and_failures():
    rows = F.encrypt_fleet(['b', 'a', 'gone'], {'a': {'ade_outcome': 'encrypted'}, 'b': {'ade_outcome': 'failed'}})
    assert [r['host'] for r in rows] == ['b', 'a', 'gone']
    assert [r['host'] for r in F.not_encrypted(rows, ENCRYPTED)] == ['b', 'gone']


# ---- preflight ----

CHECKS = [
    {'id': 'kernel', 'requirement': 'R2', 'severity': 'fatal', 'passed': False, 'message': 'old', 'fix': {'text': 'k'}},
    {'id': 'agent_version', 'requirement': 'R3.1', 'severity': 'fatal', 'passed': False, 'message': 'old agent',
     'fix': {'role_task': 'agent', 'text': 'update'}},
    {'id': 'vfat', 'requirement': 'R0.2', 'severity': 'fatal', 'passed': True, 'message': 'ok', 'fix': None},
    {'id': 'root_busy', 'requirement': 'R1.2', 'severity': 'warning', 'passed': False, 'message': 'busy', 'fix': None},
    {'id': 'odd', 'requirement': 'R0', 'severity': 'fatal', 'passed': False, 'message': 'n/a', 'fix': None},
]


def test_preflight_verdicts():
    assert F.preflight_verdict(None) == 'NO RESULT'
    assert F.preflight_verdict({'msg': 'unreachable', 'unreachable': True}) == 'NO RESULT'
    assert F.preflight_verdict({'checks': [], 'ready': True, 'blocking': ['x']}) == 'READY'
    assert F.preflight_verdict({'checks': [], 'ready': False, 'blocking': ['kernel']}) == 'BLOCKED'
    assert F.preflight_verdict({'checks': [], 'ready': False, 'blocking': [], 'fixable': ['agent_version']}) == 'FIXABLE'


def test_preflight_findings_kind_per_failed_check():
    res = {'checks': CHECKS, 'fixable': ['agent_version'], 'blocking': ['kernel']}
    out = F.preflight_findings(res)
    assert [(f['kind'], f['id'], f['fix']) for f in out] == [
        ('BLOCKING', 'kernel', 'k'), ('FIXABLE', 'agent_version', 'update'), ('WARNING', 'root_busy', '-'),
        ('FATAL', 'odd', '-')]


def test_preflight_rows_and_counts():
    hv = {'r': {'ade_preflight': {'checks': [], 'ready': True, 'fixable': [], 'blocking': []}},
          'f': {'ade_preflight': {'checks': CHECKS, 'ready': False, 'fixable': ['agent_version'], 'blocking': []}},
          'u': {'ade_preflight': {'unreachable': True, 'msg': 'ssh:\r\n connection refused \n'}}}
    rows = F.preflight_fleet(['r', 'f', 'u', 'none'], hv)
    assert [r['verdict'] for r in rows] == ['READY', 'FIXABLE', 'NO RESULT', 'NO RESULT']
    assert rows[1]['warnings'] == ['root_busy'] and rows[1]['fixable'] == ['agent_version']
    assert rows[2]['error'] == 'ssh:  connection refused' and rows[3]['error'] == 'unreachable or failed'
    assert F.verdict_counts(rows) == {'READY': 1, 'FIXABLE': 1, 'BLOCKED': 0, 'NO RESULT': 2, 'total': 4}


# ---- status ----

SUB = '11111111-1111-1111-1111-111111111111'


def test_status_identity_host_vars_before_imds():
    imds_a = {'subscription_id': SUB, 'resource_group': 'x', 'name': 'y'}
    hv = {'a': {'azure_resource_group': 'RG1', 'azure_vm_name': 'vm-a',
                'ade_guest': {'ansible_facts': {'azure_ade': {'imds': imds_a}}}},
          'b': {'ade_guest': {'ansible_facts': {'azure_ade': {'imds': None}}}},
          'c': {'ade_guest': {'ansible_facts': {'azure_ade': {'imds': {'resource_group': 'rg2', 'name': 'vm-c'}}}}}}
    vms = F.status_vms(['a', 'b', 'c'], hv)
    assert vms[0] == {'host': 'a', 'subscription_id': SUB, 'resource_group': 'RG1', 'name': 'vm-a'}
    assert vms[1] == {'host': 'b', 'subscription_id': None, 'resource_group': None, 'name': None}
    assert vms[2]['resource_group'] == 'rg2'
    assert F.status_groups(vms + [dict(vms[0], host='d')]) == [[SUB, 'RG1'], [None, 'rg2']]


def test_status_index_and_rows_with_a_failed_group():
    results = {'results': [
        {'item': [SUB, 'RG1'], 'vms': [{'resource_group': 'rg1', 'name': 'VM-A', 'os_volume_encrypted': 'Encrypted',
                                        'data_volumes_encrypted': 'NotMounted', 'phase': 'succeeded'}]},
        {'item': [None, 'rg2'], 'failed': True, 'msg': 'AuthorizationFailed'}]}
    idx = F.status_index(results)
    assert set(idx) == {SUB + '/rg1/vm-a', '/rg2/'}
    vms = [{'host': 'a', 'subscription_id': SUB, 'resource_group': 'RG1', 'name': 'vm-a'},
           {'host': 'c', 'subscription_id': None, 'resource_group': 'rg2', 'name': 'vm-c'},
           {'host': 'b', 'subscription_id': None, 'resource_group': None, 'name': None}]
    hv = {'a': {'ade_guest_crypt': {'os': False, 'data': [], 'devices': []}}, 'c': {}, 'b': {}}
    rows = F.status_fleet(vms, idx, hv)
    assert rows[0]['mismatch'] == ['platform: OS Encrypted, guest: root not on dm-crypt']
    assert 'AuthorizationFailed' in rows[1]['progress_message']
    assert rows[2]['progress_message'] == 'VM identity unknown'
    s = F.status_summary(rows)
    assert s == {'vms': 3, 'encrypted': sum(1 for r in rows if r['encrypted']),
                 'not_encrypted': sum(1 for r in rows if not r['encrypted']), 'in_progress': 0, 'failed': 0,
                 'mismatches': 1}


def test_preflight_fail_message():
    rows = [{'host': 'r', 'verdict': 'READY'}, {'host': 'f', 'verdict': 'FIXABLE'}, {'host': 'u', 'verdict': 'NO RESULT'}]
    assert F.preflight_fail_message(rows, True) == 'Not ready: f, u'
    assert F.preflight_fail_message(rows, 'false') == ''           # off: the job reports only
    assert F.preflight_fail_message(rows[:1], True) == ''           # all READY
    assert F.preflight_fail_message([], True) == ''


def test_status_targets_from_the_entry_points_target():
    t = {'subscription_id': SUB, 'resource_group': 'rg1', 'name': 'vm-a', 'source': 'host_vars', 'error': None}
    hv = {'a': {'ade_status_target': t}, 'b': {}}
    vms = F.status_targets(['a', 'b'], hv)
    assert vms[0] == {'host': 'a', 'subscription_id': SUB, 'resource_group': 'rg1', 'name': 'vm-a', 'target': t}
    assert vms[1]['name'] is None and 'did not run' in vms[1]['target']['error']


def test_status_fleet_marks_a_guest_that_is_another_vm():
    own = {'resource_group': 'rg1', 'name': 'vm-a', 'vm_id': 'AAAA', 'os_volume_encrypted': 'Encrypted',
           'data_volumes_encrypted': 'NotMounted', 'phase': 'succeeded'}
    idx = F.status_index({'results': [{'item': [SUB, 'rg1'], 'vms': [own]}]})
    vm = {'host': 'a', 'subscription_id': SUB, 'resource_group': 'rg1', 'name': 'vm-a',
          'target': {'subscription_id': SUB, 'resource_group': 'rg1', 'name': 'vm-a', 'error': None}}
    crypt = {'os': True, 'data': [], 'devices': []}
    # the guest is vm-a: no mark, the platform status shown
    row = F.status_fleet([vm], idx, {'a': {'ade_guest_crypt': crypt, 'ade_guest_imds': {'vm_id': 'aaaa'}}},
                         imds_var='ade_guest_imds')[0]
    assert row['mismatch'] == [] and row['platform_os'] == 'Encrypted' and 'identity' not in row
    # the guest answers another vmId: marked, and no platform status (it would be another VM's)
    row = F.status_fleet([vm], idx, {'a': {'ade_guest_crypt': crypt, 'ade_guest_imds': {'vm_id': 'bbbb'}}},
                         imds_var='ade_guest_imds')[0]
    assert row['identity'] == 'mismatch' and row['platform_os'] == 'unknown'
    assert row['mismatch'][-1].startswith('identity: ') and 'bbbb' in row['mismatch'][-1]
    # without imds_var nothing is compared (the old call)
    assert F.status_fleet([vm], idx, {'a': {'ade_guest_imds': {'vm_id': 'bbbb'}}})[0]['platform_os'] == 'Encrypted'
    # a target error is marked even without a guest answer
    bad = dict(vm, target={'error': 'two VMs have address 10.0.0.4'})
    row = F.status_fleet([bad], idx, {'a': {}}, imds_var='ade_guest_imds')[0]
    assert row['mismatch'] == ['identity: two VMs have address 10.0.0.4']


def test_status_fail_message():
    ok = {'host': 'a', 'mismatch': [], 'encrypted': True}
    mism = {'host': 'b', 'mismatch': ['platform: OS Encrypted, guest: root not on dm-crypt', 'x'], 'encrypted': True}
    plain = {'host': 'c', 'mismatch': [], 'encrypted': False}
    risky = {'host': 'd', 'mismatch': [], 'encrypted': True, 'unlock_at_risk': True,
             'custody': {'reason': 'secret disabled', 'fix': 'enable it'}}
    assert F.status_fail_message([ok], True, True, True) == ''
    m = F.status_fail_message([ok, mism, plain], True, True)
    assert m.startswith('Encryption status mismatch: b: platform: OS Encrypted, guest: root not on dm-crypt; x.')
    assert 'azure_ade.linux.encrypt' in m and 'Not encrypted' not in m      # a mismatch outranks "not encrypted"
    assert F.status_fail_message([ok, mism, plain], False, True) == 'Not encrypted: c'
    assert F.status_fail_message([ok, mism, plain], False, False) == ''
    m = F.status_fail_message([ok, risky], True, False, True)
    assert m.startswith('Unlock at risk on the next cold start') and 'd: secret disabled - fix: enable it' in m
    assert F.status_fail_message([ok, risky], True, False, False) == ''      # ade_fail_on_risk off
    both = F.status_fail_message([mism, risky], True, False, True)
    assert both.index('Encryption status mismatch') < both.index('Unlock at risk') and '\n' not in both
