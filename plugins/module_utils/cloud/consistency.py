# -*- coding: utf-8 -*-
# Copyright: azure_ade.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to azure_ade.linux: used by this collection's modules and plugins only, not a public API; may change in any release.
"""PURE: reads right after this run's extension PUT that still show an older state (stale reads).

Right after ARM accepted the PUT of the ADE extension, a read can show the VM as before it:
* the instance view still carries the previous run's status (the guest agent has not reported the new
  sequence number yet; the extension even copies the previous sequence's status file to the new one on some
  paths - azure-linux-extensions ade-sp-release-1.4.0.12 VMEncryption/main/Utils/HandlerUtil.py
  redo_last_status), so an old 'succeeded' or 'failed' would be taken for this run's result;
* the whole VM read is older than the PUT (ARM is eventually consistent across its instances): another or no
  SequenceVersion in the extension settings.
A read is this run's only when the extension runs this run's SequenceVersion and its status differs from the
one read before the PUT (or the run has been seen in progress). Waits keep reading while a read is stale, for
at most STALE_GRACE seconds (AZURE_ADE_STALE_GRACE overrides), then take it as it is (a VM where another
SequenceVersion really runs is then reported as not this run's: never restored on it).
"""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import hashlib
import os

STALE_GRACE = 300.0


def stale_grace(environ=None):
    env = os.environ if environ is None else environ
    try:
        return max(0.0, float(env.get('AZURE_ADE_STALE_GRACE', STALE_GRACE)))
    except (TypeError, ValueError):
        return STALE_GRACE


def extension_seq(status):
    return (((status or {}).get('extension') or {}).get('settings') or {}).get('SequenceVersion')


def fingerprint(status):
    """A short digest of the ADE extension's reported status (code, level, message, substatus), None when
    the VM shows no status for it. Stored in the rollout record (tag azure_ade_rollout_prev) before the PUT."""
    ext = (status or {}).get('extension') or {}
    if not ext.get('status_code') and not ext.get('status'):
        return None
    parts = (ext.get('status_code'), ext.get('status'), (status or {}).get('progress_message'), ext.get('substatus'))
    text = u'\x1f'.join(u'{0}'.format(x) for x in parts)
    return hashlib.sha256(text.encode('utf-8')).hexdigest()[:16]


def is_stale(status, expected_seq, before=None):
    """True when a read after this run's PUT (SequenceVersion ``expected_seq``) does not show this run yet:
    another (or no) SequenceVersion, or exactly the status read before the PUT (``before``: fingerprint)."""
    if not expected_seq:
        return False
    if extension_seq(status) != expected_seq:
        return True
    return before is not None and fingerprint(status) == before


class StaleGuard(object):
    """Per-VM bookkeeping of a wait: whether a read counts, and how long reads have been stale."""

    def __init__(self, grace=None):
        self.grace = stale_grace() if grace is None else grace
        self.first = {}
        self.seen_fresh = set()
        self.count = {}

    def holds(self, key, status, expected_seq, before, now):
        """True while ``status`` must not be taken as this run's (stale, within the grace)."""
        if key in self.seen_fresh:
            return False
        ext = (status or {}).get('extension')
        if ext is not None and not ext.get('settings'):
            # A VM read from a list: no extension settings to compare (the wait reads it again with a GET
            # before it takes a terminal phase); neither stale nor fresh.
            return False
        if not is_stale(status, expected_seq, before):
            self.seen_fresh.add(key)
            return False
        self.count[key] = self.count.get(key, 0) + 1
        first = self.first.setdefault(key, now)
        return now - first < self.grace
