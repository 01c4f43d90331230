# -*- coding: utf-8 -*-
# Copyright (c) azure_ade.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Redaction rules of what leaves a guest (issue 15); Python 2.7, 3.6 and 3.10+."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import re

import pytest

from ansible_collections.azure_ade.linux.plugins.module_utils.guest import redact as R


@pytest.mark.parametrize('url, want', [
    ('http://ade:S3cret@10.0.0.1:3128/', 'http://10.0.0.1:3128/'),
    ('http://ade@proxy.corp:3128', 'http://proxy.corp:3128'),
    ('https://u:p@ss@host/x', 'https://host/x'),                      # last @ of the authority ends the userinfo
    ('https://u:p#ss@host/x?y=1', 'https://' + R.REDACTED),           # unencoded # in the password: keep nothing
    ('http://u:p/ss@host/', 'http://' + R.REDACTED),
    ('http://host/x?email=a@b.com', 'http://host/x'),                 # @ in the query is not userinfo
    ('https://mirrors.example/metalink?repo=epel-8&token=abc#frag', 'https://mirrors.example/metalink'),
    ('ade:pw@proxy.corp:3128', 'proxy.corp:3128'),                    # schemeless proxy setting
    ('proxy.corp:3128', 'proxy.corp:3128'),
    ('http://[fe80::1]:80/a', 'http://[fe80::1]:80/a'),
    ('file:/var/lib/ade-mirror', 'file:/var/lib/ade-mirror'),
    ('cdrom:[Ubuntu 18.04 LTS]/', 'cdrom:[Ubuntu 18.04 LTS]/'),
    ('mirror+file:/etc/apt/mirrors.txt', 'mirror+file:/etc/apt/mirrors.txt'),
    ('http://azure.archive.ubuntu.com/ubuntu/', 'http://azure.archive.ubuntu.com/ubuntu/'),
    (u'http://u:p\u00e9@mirror.example/d\u00e9p\u00f4t/?k=v', u'http://mirror.example/d\u00e9p\u00f4t/'),
    (None, None),
])
def test_url(url, want):
    assert R.url(url) == want


@pytest.mark.parametrize('text, want', [
    ('/opt/r/reportd --db-password=hunter2 --spool /x', '/opt/r/reportd --db-password=******** --spool /x'),
    ('java -Dpassword=abc -cp x', 'java -Dpassword=******** -cp x'),
    ('x --token abc y', 'x --token ******** y'),
    ('x --secret --verbose', 'x --secret --verbose'),
    ('rw,username=u,password=abc,uid=0', 'rw,username=u,password=********,uid=0'),
    ('PGPASSWORD=foo cmd', 'PGPASSWORD=******** cmd'),
    ('connect to http://a:b@h:1/x failed', 'connect to http://h:1/x failed'),
    ('api_key: "a b c" rest', 'api_key: ******** rest'),
    # not secrets: left alone
    ('no secret here: host=1', 'no secret here: host=1'),
    ('root ext4 on /dev/sda1', 'root ext4 on /dev/sda1'),
    ('auth_source: env', 'auth_source: env'),
    ('', ''),
])
def test_text(text, want):
    assert R.text(text) == want


def test_facts_drop_cmdlines_and_scrub_every_string():
    facts = {'schema_version': 1,
             'processes': {'blocking': [{'app': 'mongodb', 'name': 'mongod', 'pid': 1, 'cmdline': 'mongod --pass=x1'}],
                           'root_busy': [{'pid': 2, 'name': 'r', 'uid': 0, 'age_seconds': 9, 'open': ['/'],
                                          'cmdline': 'r --db-password=x2'}]},
             'packages': {'proxy': 'http://u:x3@h:1', 'sources': ['http://u:x4@h/a']},
             'errors': [{'source': '/etc/apt/apt.conf', 'error': 'bad line Acquire::http::Proxy "http://u:x5@h"'}],
             'fstab': [{'options': ('rw', 'password=x6')}], 'memory': {'mem_total_kb': 5}, 'root': None}
    out = R.facts(facts)
    blob = json.dumps(out)
    for secret in ('x1', 'x2', 'x3', 'x4', 'x5', 'x6', 'cmdline'):
        assert secret not in blob
    assert out['processes']['blocking'] == [{'app': 'mongodb', 'name': 'mongod', 'pid': 1}]
    assert out['processes']['root_busy'] == [{'pid': 2, 'name': 'r', 'uid': 0, 'age_seconds': 9, 'open': ['/']}]
    assert out['memory'] == {'mem_total_kb': 5} and out['root'] is None
    assert facts['processes']['blocking'][0]['cmdline'] == 'mongod --pass=x1'  # the input is not changed


def _text_unfiltered(value):
    """text() as it was before the pre-filter: every pattern on every string."""
    out = re.sub(R._TEXT_USERINFO_RE, lambda m: m.group('scheme'), value)
    for pattern in (R._SECRET_ASSIGN_RE, R._SECRET_FLAG_RE):
        out = re.sub(pattern, lambda m: m.group('key') + m.group('sep') + R.REDACTED, out, flags=re.IGNORECASE)
    return out


@pytest.mark.parametrize('value', [
    'rw,relatime,errors=remount-ro', '/dev/mapper/rootvg-rootlv', 'UUID=1b2c-3d', 'x --PassWord=abc', 'TOKEN: a',
    'ftp://u:p@h/x', 'a@b c://d', 'mode=755,size=1m', '--pwd x', 'x -pass y', 'api-KEY=1', 'Credentials:x',
    u'to\u212aen=abc', u'\u017fecret=abc', u'pa\u017f\u017f=abc', u'caf\u00e9 password=x', '', 'plain',
])
def test_text_prefilter_changes_nothing(value):
    """The cheap pre-checks (no '@' and '://' -> no userinfo; no secret word in ASCII text -> no secret) skip the
    patterns only where they cannot match: same result as running every pattern."""
    assert R.text(value) == (_text_unfiltered(value) if value else value)
