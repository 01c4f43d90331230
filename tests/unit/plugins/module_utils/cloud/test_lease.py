# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import sys

import pytest

if sys.version_info < (3, 10):
    pytest.skip('controller code: Python 3.10+', allow_module_level=True)

from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import lease as L

NOW = 1796644800   # 2026-12-07T12:00:00Z


def tags_with(token='aaa', run='awx-7', host='ctl1', pid=42, ttl=600, at=NOW, **extra):
    t = {L.TAG: L.format_lease(token, run, host, pid, ttl, at)}
    t.update(extra)
    return t


def test_format_and_parse_round_trip():
    v = L.format_lease('tok1', 'awx job 7;x', 'host=a', 4242, 600, NOW)
    assert v.startswith('v1;tok=tok1;run=awx_job_7_x;host=host_a;pid=4242;ttl=600;exp=')
    h = L.parse_lease(v)
    assert h['tok'] == 'tok1' and h['pid'] == '4242' and h['ttl'] == 600 and h['exp'] == NOW + 600
    assert h['exp_text'] == '2026-12-07T12:10:00Z'
    assert len(L.format_lease('t' * 99, 'r' * 300, 'h' * 300, 1, 600, NOW)) <= 256   # an Azure tag value


def test_free():
    d = L.decide({'other': 'x'}, 'me', NOW)
    assert d['action'] == 'free' and d['holder'] is None
    assert L.decide(None, 'me', NOW)['action'] == 'free'


def test_ours():
    assert L.decide(tags_with(token='me'), 'me', NOW + 10)['action'] == 'ours'
    # ours even when expired: this process may still renew it (nobody took it over)
    assert L.decide(tags_with(token='me'), 'me', NOW + 10000)['action'] == 'ours'


def test_live_foreign_names_the_holder():
    d = L.decide(tags_with(), 'me', NOW + 100)
    assert d['action'] == 'live'
    assert 'run awx-7 on host ctl1 (PID 42)' in d['reason'] and '2026-12-07T12:10:00Z' in d['reason']
    assert d['wait_max'] == 600 + 30 - 100
    msg = L.busy_message('vm1', d, 12)
    assert 'vm1' in msg and 'awx-7' in msg and 'waited 12 s' in msg and 'ade_lease_wait' in msg


def test_expired_foreign_only_after_the_skew_margin():
    assert L.decide(tags_with(), 'me', NOW + 600)['action'] == 'live'          # at exp: still live
    assert L.decide(tags_with(), 'me', NOW + 629)['action'] == 'live'          # within the skew margin
    d = L.decide(tags_with(), 'me', NOW + 630)
    assert d['action'] == 'expired' and 'awx-7' in d['reason']


def test_clock_skew_holder_ahead_is_live_and_said():
    # the holder's clock is 2 h ahead: its expiry is far beyond its ttl from our point of view
    d = L.decide(tags_with(at=NOW + 7200), 'me', NOW)
    assert d['action'] == 'live' and 'clocks' in d['reason']


def test_clock_skew_safety_window():
    ttl = 600
    m = L.skew_margin(ttl)
    assert m == 30 and L.skew_margin(8) == 2 and L.skew_margin(1) == 1
    exp = NOW + ttl
    # the holder stops writing without a read (renews) before exp - m by its clock; a taker takes over at
    # exp + m by its clock: safe for clocks less than 2 m apart
    assert not L.still_safe(exp, exp - m, ttl) and L.still_safe(exp, exp - m - 1, ttl)
    taker_offset = 2 * m - 1          # taker's clock ahead by < 2 m
    holder_last_unchecked_write = exp - m - 1
    assert L.decide(tags_with(), 'me', holder_last_unchecked_write + taker_offset)['action'] == 'live'


def test_renew_due_at_half_ttl():
    exp = NOW + 600
    assert not L.renew_due(exp, NOW + 299, 600) and L.renew_due(exp, NOW + 300, 600)
    assert L.renew_due(NOW + 8, NOW + 4, 8) and not L.renew_due(NOW + 8, NOW + 3, 8)


@pytest.mark.parametrize('value', ['', 'garbage', 'v2;tok=a', 'v1;tok=a;run=b', 'v1;tok=a;run=r;host=h;pid=1;ttl=x;exp=y',
                                   'v1;tok=a;run=r;host=h;pid=1;ttl=600;exp=tomorrow', 'v1;tok=a;novalue',
                                   'v1;tok=a;run=r;host=h;pid=1;ttl=0;exp=2026-12-07T12:00:00Z'])
def test_malformed_is_never_taken(value):
    d = L.decide({L.TAG: value}, 'me', NOW)
    assert d['action'] == 'malformed', d
    msg = L.busy_message('vm1', d, 0)
    assert L.TAG in msg and 'delete the tag' in msg and 'Nothing was changed' in msg


def test_with_lease_keeps_other_tags():
    t = {'a': '1', L.TAG: 'old'}
    assert L.with_lease(t, 'new') == {'a': '1', L.TAG: 'new'}
    assert L.with_lease(t, None) == {'a': '1'}
    assert t == {'a': '1', L.TAG: 'old'}


def test_wait_delay_bounded():
    assert L.wait_delay(100, 1000) == 5.0
    assert L.wait_delay(2, 1000) == 2.0
    assert L.wait_delay(100, 0.2) == 0.7
    assert L.wait_delay(0, 0) == 0.5


def _proc(tmp_path, pid, ppid, argv, start=1000):
    d = tmp_path / str(pid)
    d.mkdir()
    (d / 'stat').write_text('{0} (x y) S {1} '.format(pid, ppid) + ' '.join(['0'] * 17 + [str(start)] + ['0'] * 30))
    (d / 'cmdline').write_bytes(b'\0'.join(a.encode() for a in argv) + b'\0')


def test_run_token_is_shared_by_the_modules_of_one_run(tmp_path, monkeypatch):
    from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import base
    _proc(tmp_path, 100, 1, ['/usr/bin/python3', '/venv/bin/ansible-playbook', 'site.yml'], start=555)
    _proc(tmp_path, 200, 100, ['/usr/bin/python3', '/venv/bin/ansible-playbook', 'site.yml'])   # a setsid worker
    _proc(tmp_path, 300, 200, ['/bin/sh', '-c', 'python3 AnsiballZ_vm_migrate.py'])
    _proc(tmp_path, 301, 300, ['python3', 'AnsiballZ_vm_migrate.py'])
    _proc(tmp_path, 302, 300, ['python3', 'AnsiballZ_vm_snapshot.py'])
    monkeypatch.setattr(base.os, 'getpid', lambda: 301)
    tok1, label = base.run_token(str(tmp_path))
    monkeypatch.setattr(base.os, 'getpid', lambda: 302)
    tok2, _unused = base.run_token(str(tmp_path))
    # the worker (200, one per task) has ansible-playbook's command line too: the topmost one counts
    assert tok1 == tok2 and len(tok1) == 12 and label == 'ansible-playbook-100'
    _proc(tmp_path, 201, 100, ['/usr/bin/python3', '/venv/bin/ansible-playbook', 'site.yml'])   # the next task's worker
    _proc(tmp_path, 303, 201, ['python3', 'AnsiballZ_vm_restore.py'])
    monkeypatch.setattr(base.os, 'getpid', lambda: 303)
    assert base.run_token(str(tmp_path))[0] == tok1
    # an orphan (its run killed, reparented to init) or an async_wrapper-detached module: a token of its own
    _proc(tmp_path, 400, 1, ['python3', 'AnsiballZ_vm_snapshot.py'])
    monkeypatch.setattr(base.os, 'getpid', lambda: 400)
    tok3, label3 = base.run_token(str(tmp_path))
    assert tok3 != tok1 and label3 == 'module-400'
