# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import sys

import pytest

if sys.version_info < (3, 10):
    pytest.skip('controller code: Python 3.10+', allow_module_level=True)

from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import fleet_stop as F


def test_tag_name_from_run():
    assert F.tag_name('ade-20261207T120000Z') == 'azure_ade_stop_ade-20261207T120000Z'
    assert F.tag_name(' awx.42 ') == 'azure_ade_stop_awx.42'


@pytest.mark.parametrize('run', ['', '   ', None, 'a/b', 'x?y', 'a%b', 'r' * 81])
def test_bad_run_refused(run):
    with pytest.raises(F.StopError):
        F.tag_name(run)


def test_marker_round_trip_and_limits():
    v = F.format_marker('vm-a', 'ctl1', 'enable failed; restored=yes\nnext', '2026-12-07T12:00:00Z')
    assert len(v) <= 256 and v.startswith('v1;vm=vm-a;host=ctl1;at=2026-12-07T12:00:00Z;why=')
    m = F.parse_marker(v)
    assert m == {'vm': 'vm-a', 'host': 'ctl1', 'at': '2026-12-07T12:00:00Z', 'why': 'enable failed  restored yes next'}
    long = F.format_marker('vm', 'h', 'x' * 1000, 'now')
    assert len(long) == 256


def test_decide_free_stopped_malformed():
    assert F.decide({}, 'r1') == {'stopped': False, 'tag': 'azure_ade_stop_r1', 'marker': None, 'message': ''}
    tags = {'azure_ade_stop_r1': F.format_marker('vm-a', 'ctl1', 'boom', 'T'), 'other': 'x'}
    d = F.decide(tags, 'r1')
    assert d['stopped'] and d['marker']['vm'] == 'vm-a'
    assert 'vm-a' in d['message'] and 'boom' in d['message'] and 'state=absent' in d['message']
    assert not F.decide(tags, 'r2')['stopped']          # another run's marker does not stop this one
    bad = F.decide({'azure_ade_stop_r1': 'garbage'}, 'r1')
    assert bad['stopped'] and 'garbage' in bad['message']


def test_plan_present_keeps_the_first_failure():
    p = F.plan('present', {}, 'r1', vm='vm-a', host='h', reason='boom', at='T')
    assert p['changed'] and p['operation'] == 'Merge' and list(p['tags']) == ['azure_ade_stop_r1']
    existing = {'azure_ade_stop_r1': F.format_marker('vm-first', 'h', 'first', 'T0')}
    p2 = F.plan('present', existing, 'r1', vm='vm-b', host='h', reason='second', at='T1')
    assert not p2['changed'] and p2['operation'] is None and p2['decision']['marker']['vm'] == 'vm-first'


def test_plan_absent_and_query():
    existing = {'azure_ade_stop_r1': 'v1;vm=a', 'keep': '1'}
    p = F.plan('absent', existing, 'r1')
    assert p['changed'] and p['operation'] == 'Delete' and p['tags'] == {'azure_ade_stop_r1': 'v1;vm=a'}
    assert not F.plan('absent', {'keep': '1'}, 'r1')['changed']
    q = F.plan('query', existing, 'r1')
    assert not q['changed'] and q['decision']['stopped']
    with pytest.raises(F.StopError):
        F.plan('stopped', {}, 'r1')


# ---- the role's side: run key, where the marker lives, the wave's decision, the written reason ----

def test_run_key_sources():
    assert F.run_key(None, None) == (None, 'none')
    assert F.run_key(None, '') == (None, 'none')
    assert F.run_key(None, 4711) == ('awx-4711', 'awx_workflow_job_id')
    assert F.run_key('ops-42', 4711) == ('ops-42', 'ade_fleet_stop_run')
    for off in (False, '', 'false', 'off', ' No '):
        assert F.run_key(off, 4711) == (None, 'off')


def test_run_key_refusals():
    with pytest.raises(F.StopError, match='needs a run name'):
        F.run_key(True, None)
    assert F.run_key(True, 9) == ('awx-9', 'awx_workflow_job_id')
    with pytest.raises(F.StopError, match='may contain only'):
        F.run_key('a/b', None)


def test_host_resource_group_from_identity_vars():
    rid = '/subscriptions/s/resourceGroups/rg-a/providers/Microsoft.Compute/virtualMachines/vm1'
    assert F.host_resource_group({'azure_vm_resource_id': rid}) == 'rg-a'
    assert F.host_resource_group({'id': rid.replace('rg-a', 'rg-b')}) == 'rg-b'
    assert F.host_resource_group({'azure_resource_group': ' rg-c '}) == 'rg-c'
    assert F.host_resource_group({}) is None


def test_target_off_without_a_shared_run():
    t = F.target([{'azure_resource_group': 'rg'}])
    assert t['enabled'] is False and t['run'] is None and t['source'] == 'none'
    assert F.target([{}], run=False, awx_workflow_job_id=3)['source'] == 'off'


def test_target_resource_group_choice():
    hosts = [{'azure_resource_group': 'rg-a'}, {'azure_vm_resource_id': '/subscriptions/s/resourceGroups/rg-a/x'}]
    t = F.target(hosts, awx_workflow_job_id=7)
    assert t == dict(enabled=True, run='awx-7', source='awx_workflow_job_id', resource_group='rg-a',
                     subscription_id=None)
    assert F.target(hosts + [{'azure_resource_group': 'rg-b'}], run='r', resource_group='rg-x')['resource_group'] == 'rg-x'
    assert F.target([{}], run='r', scope_resource_groups=['rg-s'])['resource_group'] == 'rg-s'
    with pytest.raises(F.StopError, match='rg-a, rg-b.*ade_fleet_stop_resource_group'):
        F.target(hosts + [{'azure_resource_group': 'rg-b'}], run='r')
    with pytest.raises(F.StopError, match='hosts with none'):
        F.target(hosts + [{}], run='r')
    with pytest.raises(F.StopError, match='name none'):
        F.target([{}], run='r', scope_resource_groups=['a', 'b'])


def test_wave_stop():
    assert F.wave_stop(True, 'h1', {'stopped': False}) == dict(
        stop=True, by='this run', message='Rollout stopped after the failure on h1.')
    assert F.wave_stop(False, None, None)['stop'] is False
    assert F.wave_stop(False, None, {'skipped': True, 'changed': False})['stop'] is False
    assert F.wave_stop(False, None, {'stopped': False, 'changed': False})['stop'] is False
    d = F.wave_stop(False, None, {'stopped': True, 'message': 'Rollout run r was stopped by the failure on VM a'})
    assert d['stop'] and d['by'] == 'marker' and 'VM a' in d['message']
    d = F.wave_stop(False, None, {'failed': True, 'msg': 'HTTP 403 AuthorizationFailed'})
    assert d['stop'] and d['by'] == 'unreadable' and '403' in d['message'] and 'tags/read' in d['message']


def test_write_reason_carries_no_failure_text():
    r = F.write_reason('failed_restored', 'wait')
    assert r.startswith('failed_restored at stage wait')
    assert F.write_reason(None, None).startswith('failed at stage ?')
