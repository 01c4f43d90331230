# -*- coding: utf-8 -*-
"""The one poller, in simulated time: deadline, Retry-After, back-off, history."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import sys

import pytest

if sys.version_info < (3, 10):
    pytest.skip('controller code: Python 3.10+', allow_module_level=True)

from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import poller as P


class Clock:
    def __init__(self):
        self.t = 1000.0
        self.sleeps = []

    def now(self):
        return self.t

    def sleep(self, s):
        self.sleeps.append(s)
        self.t += s


class _Resp:
    def __init__(self, status, headers=None):
        self.status_code = status
        self.headers = headers or {}


class HttpResponseError(Exception):
    def __init__(self, status, code=None, retry_after=None):
        super().__init__('boom %s' % status)
        self.status_code = status
        self.error = type('E', (), {'code': code})() if code else None
        self.response = _Resp(status, {'Retry-After': str(retry_after)} if retry_after is not None else {})


class ServiceRequestError(Exception):
    pass


def flaky(errors, value='ok'):
    errors = list(errors)

    def func():
        if errors:
            raise errors.pop(0)
        return value
    return func


@pytest.mark.parametrize('exc,kind', [
    (HttpResponseError(500), 'server'), (HttpResponseError(503), 'server'), (HttpResponseError(429), 'throttled'),
    (HttpResponseError(409, 'OperationNotAllowed'), 'conflict'), (HttpResponseError(409, 'Other'), None),
    (HttpResponseError(400), None), (HttpResponseError(404), None), (ServiceRequestError('dropped'), 'connection'),
    (ConnectionResetError(), 'connection'), (ValueError('x'), None),
])
def test_classify(exc, kind):
    assert P.classify(exc) == kind


def test_rides_out_drops_and_5xx_with_backoff_and_history():
    c = Clock()
    p = P.Poller(600, clock=c.now, sleep=c.sleep, base_delay=2)
    out = p.call(flaky([ServiceRequestError('drop'), HttpResponseError(500), HttpResponseError(503)]), 'GET vm')
    assert out == 'ok'
    assert c.sleeps == [2, 4, 8]
    assert [h['kind'] for h in p.history] == ['connection', 'server', 'server']
    assert p.history[0]['what'] == 'GET vm'


def test_retry_after_wins_over_backoff():
    c = Clock()
    p = P.Poller(600, clock=c.now, sleep=c.sleep, base_delay=1)
    p.call(flaky([HttpResponseError(429, retry_after=17)]))
    assert c.sleeps == [17]


def test_backoff_is_capped():
    c = Clock()
    p = P.Poller(100000, clock=c.now, sleep=c.sleep, base_delay=2, max_delay=60)
    p.call(flaky([HttpResponseError(500)] * 8))
    assert c.sleeps == [2, 4, 8, 16, 32, 60, 60, 60]


def test_only_the_deadline_ends_it():
    c = Clock()
    p = P.Poller(30, clock=c.now, sleep=c.sleep, base_delay=2)
    with pytest.raises(P.PollTimeout) as ei:
        p.call(flaky([HttpResponseError(500)] * 100), 'GET vm')
    assert c.sleeps == [2, 4, 8, 16]
    assert isinstance(ei.value.last, HttpResponseError)
    assert 'GET vm' in str(ei.value) and 'HTTP 500' in str(ei.value)
    assert c.now() <= 1030


def test_non_transient_raises_at_once():
    c = Clock()
    p = P.Poller(600, clock=c.now, sleep=c.sleep)
    with pytest.raises(HttpResponseError):
        p.call(flaky([HttpResponseError(400)]))
    assert c.sleeps == [] and p.history == []


def test_kinds_restrict_what_is_retried():
    c = Clock()
    p = P.Poller(600, clock=c.now, sleep=c.sleep, kinds=('conflict',))
    assert p.call(flaky([HttpResponseError(409, 'AnotherOperationInProgress')])) == 'ok'
    with pytest.raises(HttpResponseError):
        p.call(flaky([HttpResponseError(500)]))


def test_pause_respects_deadline_and_retry_after():
    c = Clock()
    p = P.Poller(100, clock=c.now, sleep=c.sleep)
    assert p.pause(30) is True and c.sleeps == [30]
    assert p.pause(10, retry_after_s=40) is True and c.sleeps == [30, 40]
    assert p.pause(31) is False and c.sleeps == [30, 40]      # would pass the deadline: no sleep
    assert p.remaining() == 30


def test_zero_timeout_never_sleeps():
    c = Clock()
    p = P.Poller(0, clock=c.now, sleep=c.sleep)
    assert p.pause(1) is False
    with pytest.raises(P.PollTimeout):
        p.call(flaky([HttpResponseError(503)]))
    assert c.sleeps == []
