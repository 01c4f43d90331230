# -*- coding: utf-8 -*-
# Copyright: azure_ade.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):

    # The VM lease of a writing module (issue 14; plugins/module_utils/cloud/lease.py, base.py).
    DOCUMENTATION = r'''
options:
  lease_wait:
    description:
      - One run per VM at a time. Before its first write the module takes a lease in the VM's tags (tag
        C(azure_ade_lease) - run, controller host, PID, expiry) with a conditional write (C(If-Match) on the VM's
        C(etag)), renews it while it works and removes it when it ends. A run that finds the lease of another,
        live run waits up to this many seconds for it to end, then stops with a message naming the holder;
        nothing is written by it. An expired lease (a run that was killed) is taken over; its old holder, if it
        is still alive, stops before its next write.
      - Default 0 (stop at once). Env C(AZURE_ADE_LEASE_WAIT); the playbooks pass C(ade_lease_wait).
    type: int
  lease_ttl:
    description:
      - Seconds a lease lasts without renewal (renewed before a write once half of it is used). A run killed
        with its module keeps the VM this long (plus a clock-skew margin of min(30, ttl/4) s). Must exceed the
        longest single Azure operation the module waits for. Default 600. Env C(AZURE_ADE_LEASE_TTL).
    type: int
  lease_run:
    description:
      - Name of this run in the lease (shown to a run that finds it), e.g. the AWX job ID. Default the PID of the
        C(ansible-playbook) process the module runs under (C(ansible-playbook-<PID>)). Env C(AZURE_ADE_LEASE_RUN).
    type: str
'''
