# -*- coding: utf-8 -*-
"""The one phase-wait for N VMs (issue 18 item 3): module_utils/cloud/waits.py wait_for_phases, and wait_for_phase
(N = 1, what vm_encryption uses) on it. Simulated clock; reads are scripted per VM."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import sys

import pytest

if sys.version_info < (3, 10):
    pytest.skip('controller code: Python 3.10+', allow_module_level=True)

from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import waits as W
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud.poller import PollTimeout
from ansible_collections.azure_ade.linux.tests.unit.plugins.module_utils.cloud import vmfactory as F


class Clock(object):
    def __init__(self):
        self.t = 1000.0

    def now(self):
        return self.t

    def sleep(self, s):
        self.t += s


class Stats(object):
    def __init__(self):
        self.total = 0
        self.remaining_reads = None

    def take_retry_after(self):
        return 0.0


class Dropped(Exception):
    """Stands in for azure.core's ServiceRequestError (a dropped connection: transient)."""


Dropped.__name__ = 'ServiceRequestError'


def scripted(phases, stats, reads, fail_first=0):
    """read(pending) answering each VM's next phase from ``phases`` {key: [phase, ...]} (the last one repeats)."""
    state = dict(fails=fail_first)

    def read(pending):
        reads.append(None if pending is None else sorted(pending))
        if state['fails']:
            state['fails'] -= 1
            raise Dropped('connection dropped')
        out = {}
        for k in (phases if pending is None else pending):
            stats.total += 1
            seq = phases[k]
            out[k] = {'phase': seq.pop(0) if len(seq) > 1 else seq[0]}
        return out
    return read


def observe(k, vm, now):
    return dict(vm)


def test_n_vms_read_only_the_pending_ones_until_all_terminal():
    c, stats, reads = Clock(), Stats(), []
    phases = {'a': ['in_progress', 'succeeded'], 'b': ['in_progress', 'in_progress', 'in_progress', 'failed']}
    res = W.wait_for_phases(scripted(phases, stats, reads), 10, 3600, observe, stats=stats, sleep=c.sleep, now=c.now)
    assert res['timed_out'] is False and res['error'] is None
    assert {k: v['phase'] for k, v in res['statuses'].items()} == {'a': 'succeeded', 'b': 'failed'}
    assert reads == [None, ['a', 'b'], ['b'], ['b']] and res['polls'] == 4


def test_read_once_without_wait():
    c, stats, reads = Clock(), Stats(), []
    res = W.wait_for_phases(scripted({'a': ['in_progress']}, stats, reads), 10, 3600, observe, stats=stats,
                            wait=False, sleep=c.sleep, now=c.now)
    assert reads == [None] and res['statuses']['a']['phase'] == 'in_progress' and not res['timed_out']
    assert c.t == 1000.0


def test_deadline_ends_the_wait_timed_out():
    c, stats, reads = Clock(), Stats(), []
    res = W.wait_for_phases(scripted({'a': ['in_progress']}, stats, reads), 10, 35, observe, stats=stats,
                            sleep=c.sleep, now=c.now)
    assert res['timed_out'] is True and res['statuses']['a']['phase'] == 'in_progress'
    assert c.t <= 1035.0 and len(reads) == 4


def test_transient_failures_ridden_out_and_reported():
    c, stats, reads, seen = Clock(), Stats(), [], []
    res = W.wait_for_phases(scripted({'a': ['in_progress', 'succeeded']}, stats, reads, fail_first=2), 10, 3600,
                            observe, stats=stats, on_retry=seen.append, sleep=c.sleep, now=c.now)
    assert res['statuses']['a']['phase'] == 'succeeded'
    assert [h['kind'] for h in seen] == ['connection', 'connection'] and res['retried'] == seen


def test_first_read_failing_past_the_deadline_raises():
    c, stats, reads = Clock(), Stats(), []
    with pytest.raises(PollTimeout):
        W.wait_for_phases(scripted({'a': ['in_progress']}, stats, reads, fail_first=99), 10, 20, observe,
                          stats=stats, sleep=c.sleep, now=c.now)


def test_not_transient_error_is_raised_at_once():
    def read(pending):
        raise LookupError('gone')
    with pytest.raises(LookupError):
        W.wait_for_phases(read, 10, 3600, observe, stats=Stats())


def test_custom_done_keeps_polling_a_terminal_phase():
    c, stats, reads = Clock(), Stats(), []
    phases = {'a': ['succeeded', 'succeeded', 'failed']}
    res = W.wait_for_phases(scripted(phases, stats, reads), 10, 3600, observe, stats=stats,
                            done=lambda st: st['phase'] == 'failed', sleep=c.sleep, now=c.now)
    assert res['statuses']['a']['phase'] == 'failed' and len(reads) == 3 and c.t == 1020.0


class OneVM(object):
    """A session whose get_vm answers scripted VMs (N = 1: what vm_encryption waits on)."""

    def __init__(self, vms):
        self.vms = vms
        self.stats = Stats()

    def get_vm(self, rg, name):
        self.stats.total += 1
        return self.vms.pop(0) if len(self.vms) > 1 else self.vms[0]


def test_wait_for_phase_is_the_n_vm_wait_with_one():
    c = Clock()
    running = F.encrypting_vm('Encryption started', 'EncryptionInProgress', 'EncryptionInProgress')
    done = F.encrypting_vm('Encryption succeeded for all volumes', 'Encrypted', 'Encrypted')
    history = []
    status, timed_out = W.wait_for_phase(OneVM([running, running, done]), F.RG, 'vm1', c.t + 3600, 1.0, history,
                                         sleep=c.sleep, now=c.now)
    assert not timed_out and status['phase'] == 'succeeded'
    assert [h['phase'] for h in history][-1] == 'succeeded' and len(history) == 2


def test_wait_for_phase_vm_gone():
    s = OneVM([None])
    with pytest.raises(LookupError, match='disappeared'):
        W.wait_for_phase(s, F.RG, 'vm1', 10 ** 10, 1.0, [])
