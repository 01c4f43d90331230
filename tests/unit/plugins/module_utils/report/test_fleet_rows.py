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
