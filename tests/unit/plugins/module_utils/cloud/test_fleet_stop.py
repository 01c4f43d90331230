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
