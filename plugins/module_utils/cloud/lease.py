# -*- coding: utf-8 -*-
# Copyright: azure_ade.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to azure_ade.linux: used by this collection's modules and plugins only, not a public API; may change in any release.
"""One run per VM at a time (issue 14): the lease a writing module holds in the VM's tags while it acts.

Pure decisions only (unit-tested in tests/unit/plugins/module_utils/cloud/test_lease.py); the plumbing (reads, the
If-Match PATCH, renewal before a write, release) is in base.py (``AzureModule``).

The lease is ONE tag, ``azure_ade_lease``, so that taking it is one conditional write of the VM's tag set:
``v1;tok=<token>;run=<run>;host=<controller host>;pid=<pid>;ttl=<s>;exp=<UTC ISO>``.
``tok`` identifies the run (base.run_token: every module of one ansible-playbook run shares it) and is what
"ours" means; ``run``/``host``/``pid`` name the holder for a person. ``exp`` is the holder's
clock; a taker counts a lease as expired only ``skew`` seconds after ``exp`` by its own clock, and the holder
renews (or stops) ``skew`` seconds before ``exp`` by its own clock, so two controllers whose clocks differ by less
than 2 x skew never both believe they hold it.
"""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import calendar
import re
import time

TAG = 'azure_ade_lease'
VERSION = 'v1'
DEFAULT_TTL = 600
MAX_SKEW = 30
_SAFE = re.compile(r'[^A-Za-z0-9_.:@/+-]')
_FIELDS = ('tok', 'run', 'host', 'pid', 'ttl', 'exp')


class LeaseError(Exception):
    """The module must stop: another run holds the lease, took it over, or the tag cannot be read."""


def skew_margin(ttl):
    """Seconds of clock difference tolerated between two controllers: min(30, ttl / 4), at least 1. Pure."""
    return max(1, min(MAX_SKEW, int(ttl) // 4))


def iso(ts):
    return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(int(ts)))


def parse_iso(text):
    """'2026-12-07T12:00:00Z' -> epoch seconds, or None. Pure."""
    try:
        return calendar.timegm(time.strptime(text, '%Y-%m-%dT%H:%M:%SZ'))
    except (TypeError, ValueError):
        return None


def clean(value, limit=64):
    """A value safe inside the tag (no ';' or '='), at most ``limit`` characters. Pure."""
    return _SAFE.sub('_', str(value if value is not None else '-'))[:limit] or '-'


def format_lease(token, run, host, pid, ttl, now):
    """The tag value of a lease taken or renewed at ``now`` (epoch seconds) for ``ttl`` seconds. Pure."""
    return ';'.join([VERSION, 'tok=' + clean(token, 32), 'run=' + clean(run), 'host=' + clean(host),
                     'pid=' + clean(pid, 12), 'ttl=' + str(int(ttl)), 'exp=' + iso(now + int(ttl))])


def parse_lease(value):
    """Tag value -> {tok, run, host, pid, ttl (int), exp (epoch), exp_text}, or {'malformed': reason}. Pure."""
    if not isinstance(value, str) or not value.strip():
        return {'malformed': 'empty value'}
    parts = value.strip().split(';')
    if parts[0] != VERSION:
        return {'malformed': 'unknown lease format {0!r} (this collection writes {1})'.format(parts[0][:16], VERSION)}
    out = {}
    for part in parts[1:]:
        key, sep, val = part.partition('=')
        if not sep:
            return {'malformed': 'field {0!r} has no value'.format(part[:32])}
        out[key] = val
    missing = [k for k in _FIELDS if not out.get(k)]
    if missing:
        return {'malformed': 'missing {0}'.format(', '.join(missing))}
    try:
        out['ttl'] = int(out['ttl'])
    except ValueError:
        return {'malformed': 'ttl {0!r} is not a number'.format(out['ttl'][:16])}
    out['exp_text'] = out['exp']
    out['exp'] = parse_iso(out['exp'])
    if out['exp'] is None or out['ttl'] <= 0:
        return {'malformed': 'expiry {0!r} / ttl {1!r} unreadable'.format(out['exp_text'][:32], out['ttl'])}
    return out


def holder_text(holder, now=None):
    """'run R on host H (PID P), lease until T' for messages. Pure."""
    if not holder or holder.get('malformed'):
        return 'an unreadable lease ({0})'.format((holder or {}).get('malformed', 'none'))
    text = 'run {0} on host {1} (PID {2}), lease until {3}'.format(holder.get('run'), holder.get('host'),
                                                                   holder.get('pid'), holder.get('exp_text'))
    if now is not None:
        text += ' ({0} s from now)'.format(int(holder['exp'] - now))
    return text


def decide(tags, token, now, ttl=DEFAULT_TTL):
    """What a run with ``token`` may do about the VM's lease at ``now`` (its own clock). Pure.

    -> dict(action, holder, reason, wait_max):
    ``free`` (no lease: take it), ``ours`` (this process holds it), ``expired`` (a lease whose expiry plus the skew
    margin passed: take it over; its holder, if alive, stops at its next renewal), ``live`` (another run holds it:
    wait or stop), ``malformed`` (the tag cannot be read: stop, never guess - a live holder always writes it well).
    ``wait_max``: seconds until a live lease would count as expired (by this clock), for the wait bound."""
    value = (tags or {}).get(TAG)
    if value is None:
        return dict(action='free', holder=None, reason='no lease', wait_max=0)
    holder = parse_lease(value)
    if holder.get('malformed'):
        return dict(action='malformed', holder=holder, wait_max=0,
                    reason='tag {0}={1!r} cannot be read ({2})'.format(TAG, str(value)[:80], holder['malformed']))
    if holder['tok'] == token:
        return dict(action='ours', holder=holder, reason='held by this run', wait_max=0)
    margin = skew_margin(holder['ttl'])   # the holder renews by the same margin before exp (its ttl)
    left = holder['exp'] + margin - now
    if left <= 0:
        return dict(action='expired', holder=holder, wait_max=0,
                    reason='expired {0} s ago ({1})'.format(int(-left + margin), holder_text(holder)))
    reason = 'held by ' + holder_text(holder, now)
    if holder['exp'] - now > holder['ttl'] + margin:
        # renewed "in the future": the holder's clock is ahead of ours (or someone wrote the tag by hand)
        reason += ('; its expiry is further away than its ttl ({0} s): the clocks of the two controllers differ '
                   '(check NTP)'.format(holder['ttl']))
    return dict(action='live', holder=holder, reason=reason, wait_max=left)


def renew_due(expires, now, ttl):
    """True when the holder must renew before its next write: half the ttl used, or within the skew margin of the
    expiry (by its own clock). Pure."""
    return now >= expires - max(ttl / 2.0, skew_margin(ttl))


def still_safe(expires, now, ttl):
    """True while the holder may write without reading the VM: a taker waits until exp + skew by its clock. Pure."""
    return now < expires - skew_margin(ttl)


def with_lease(tags, value):
    """The VM's whole tag set with the lease set to ``value`` (None: removed). Pure."""
    out = dict(tags or {})
    if value is None:
        out.pop(TAG, None)
    else:
        out[TAG] = value
    return out


def wait_delay(remaining_wait, wait_max):
    """Seconds to sleep before reading the lease again: at most 5, not past the wait bound nor past the expiry. Pure."""
    return max(0.5, min(5.0, float(remaining_wait), float(wait_max) + 0.5))


def busy_message(vm_name, decision, waited):
    """The message of a run that stops because another holds the VM. Pure."""
    if decision['action'] == 'malformed':
        return ('VM {0}: {1}. Nothing was changed. If no run of azure_ade.linux is acting on this VM, delete the tag '
                '{2} and run again'.format(vm_name, decision['reason'], TAG))
    return ('VM {0} is being changed by another run: {1}. Nothing was changed by this run{2}. Wait for it to end '
            '(or, if it was killed, for its lease to expire) and run again; lease_wait (playbook variable '
            'ade_lease_wait) makes a run wait up to that many seconds'.format(
                vm_name, decision['reason'], ' (waited {0} s)'.format(int(waited)) if waited else ''))
