# -*- coding: utf-8 -*-
# Copyright: azure_ade.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to azure_ade.linux: used by this collection's modules and plugins only, not a public API; may change in any release.
"""PURE: Azure resource IDs - parse one, build a Key Vault's."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

_RID = re.compile(r'^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/providers/(?P<ns>[^/]+)/'
                  r'(?P<type>[^/]+)/(?P<name>[^/]+)(?P<rest>/.*)?$', re.I)


def parse_resource_id(rid):
    m = _RID.match(rid or '')
    if not m:
        return None
    return dict(subscription=m.group('sub'), resource_group=m.group('rg'), namespace=m.group('ns'),
                type=m.group('type'), name=m.group('name'))


def vault_resource_id(subscription, resource_group, name):
    return '/subscriptions/{0}/resourceGroups/{1}/providers/Microsoft.KeyVault/vaults/{2}'.format(
        subscription, resource_group, name)
