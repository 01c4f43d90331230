# -*- coding: utf-8 -*-
# Copyright: azure_ade.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):

    # The in-guest network probes of guest_facts and preflight (IMDS and WireServer, R0.3/R5).
    DOCUMENTATION = r'''
options:
  network_timeout:
    description: Timeout in seconds of each network probe.
    type: float
    default: 2.0
  imds_endpoint:
    description:
      - Base URL of the instance metadata service. Meant for tests; keep the default on Azure.
    type: str
    default: http://169.254.169.254
  wireserver_endpoint:
    description:
      - C(host) or C(host:port) of the WireServer. Meant for tests.
      - By default the address in C(/var/lib/waagent/WireServerEndpoint), else C(168.63.129.16), port 80.
    type: str
'''
