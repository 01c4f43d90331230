# -*- coding: utf-8 -*-
# Copyright (c) azure_ade.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Readers of the guest fixtures in fixtures/ (outputs shaped after real guests), shared by the guest tests."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import io
import os

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'fixtures')


def fixture(name):
    """Text of fixtures/<name>."""
    with io.open(os.path.join(FIXTURES, name), encoding='utf-8') as handle:
        return handle.read()


def release_files(name):
    """fixtures/distributions/<name>.txt holds several files as '==> /path <==' sections: {path: text}."""
    files = {}
    current = None
    for line in fixture(os.path.join('distributions', name + '.txt')).splitlines(True):
        if line.startswith('==> ') and line.rstrip().endswith(' <=='):
            current = line.strip()[4:-4]
            files[current] = ''
        elif current is not None:
            files[current] += line
    return files
