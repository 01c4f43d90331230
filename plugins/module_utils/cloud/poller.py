# -*- coding: utf-8 -*-
# Copyright: azure_ade.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to azure_ade.linux: used by this collection's modules and plugins only, not a public API; may change in any release.
"""The one poller every wait of the controller modules goes through: a deadline, Retry-After, exponential
back-off for transient failures (dropped connections, 5xx, 429 past the SDK's own retries, 409 'another
operation in progress'), a history of what was ridden out, and an injectable clock (unit tests run in
simulated time). Only the deadline or a non-transient error ends a wait."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import time

# HTTP statuses worth another try while the deadline allows.
TRANSIENT_STATUS = (408, 429, 500, 502, 503, 504)
# 409 codes ARM/CRP return while another operation on the VM runs.
CONFLICT_CODES = ('OperationNotAllowed', 'Conflict', 'AnotherOperationInProgress', 'OperationPreempted',
                  'RetryableError')
# Exception class names of connection-level failures (azure-core / requests / urllib3 / stdlib).
CONNECTION_ERRORS = ('ServiceRequestError', 'ServiceResponseError', 'ServiceRequestTimeoutError',
                     'ServiceResponseTimeoutError', 'ConnectionError', 'ConnectionResetError', 'RemoteDisconnected',
                     'ProtocolError', 'IncompleteRead', 'ReadTimeout', 'ConnectTimeout', 'TimeoutError')


class PollTimeout(Exception):
    """The deadline passed while a transient failure kept coming back (``last`` is the last error)."""

    def __init__(self, msg, last=None):
        super(PollTimeout, self).__init__(msg)
        self.last = last


def _status(exc):
    return getattr(exc, 'status_code', None) or getattr(getattr(exc, 'response', None), 'status_code', None)


def _code(exc):
    err = getattr(exc, 'error', None)
    return getattr(err, 'code', None) if err is not None else None


def classify(exc):
    """'connection', 'throttled', 'server', 'conflict' for a failure worth another try, else None. Pure."""
    names = set(k.__name__ for k in type(exc).__mro__)
    status = _status(exc)
    if status == 409:
        return 'conflict' if _code(exc) in CONFLICT_CODES else None
    if status == 429:
        return 'throttled'
    if status in TRANSIENT_STATUS:
        return 'server'
    if status is None and names & set(CONNECTION_ERRORS):
        return 'connection'
    return None


def retry_after(exc):
    """Seconds from the Retry-After header of the error's response, or 0."""
    resp = getattr(exc, 'response', None)
    headers = getattr(resp, 'headers', None) or {}
    try:
        return max(0.0, float(headers.get('Retry-After') or 0))
    except (TypeError, ValueError):
        return 0.0


def short(exc):
    status = _status(exc)
    code = _code(exc)
    text = (str(exc).strip().splitlines() or [''])[0][:200]
    return ' '.join(str(p) for p in (('HTTP %s' % status) if status else type(exc).__name__, code, text) if p)


class Poller:
    """One wait with a deadline. ``clock`` and ``sleep`` are injectable (simulated time in unit tests)."""

    def __init__(self, timeout, clock=None, sleep=None, base_delay=2.0, max_delay=300.0, kinds=None):
        self.clock = clock or time.time
        self.sleep = sleep or time.sleep
        self.start = self.clock()
        self.deadline = self.start + max(0.0, float(timeout))
        self.base_delay = float(base_delay)
        self.max_delay = float(max_delay)
        self.kinds = kinds          # None: every transient kind; else a subset (e.g. ('conflict',))
        self.history = []           # [{time, what, kind, error, delay}] of every failure ridden out

    def remaining(self):
        return max(0.0, self.deadline - self.clock())

    def backoff(self, attempt):
        return min(self.max_delay, self.base_delay * (2 ** attempt))

    def call(self, func, what='request'):
        """Run ``func`` until it returns, retrying transient failures with back-off (never sooner than
        Retry-After) until the deadline. Raises the error itself when it is not transient, PollTimeout when
        the deadline would pass."""
        attempt = 0
        while True:
            try:
                return func()
            except Exception as exc:  # pylint: disable=broad-except
                kind = classify(exc)
                if kind is None or (self.kinds is not None and kind not in self.kinds):
                    raise
                delay = max(self.backoff(attempt), retry_after(exc))
                if self.clock() + delay > self.deadline:
                    raise PollTimeout('{0}: still failing when the deadline came ({1} retries over {2:.0f}s; last: {3})'
                                      .format(what, attempt, self.clock() - self.start, short(exc)), last=exc)
                self.history.append(dict(time=time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(self.clock())),
                                         what=what, kind=kind, error=short(exc), delay=round(delay, 3)))
                self.sleep(delay)
                attempt += 1

    def pause(self, interval, retry_after_s=0.0):
        """Sleep until the next poll (``interval``, never sooner than ``retry_after_s``). Returns False, without
        sleeping, when the next poll would come after the deadline."""
        wait = max(float(interval), float(retry_after_s or 0))
        if self.clock() + wait > self.deadline:
            return False
        self.sleep(wait)
        return True
