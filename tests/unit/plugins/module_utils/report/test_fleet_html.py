# -*- coding: utf-8 -*-
# Copyright: azure_ade.linux maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet page renderer: pure data -> HTML (runs on Python 2.7, 3.6 and 3.10+)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.azure_ade.linux.plugins.module_utils.report import fleet_html as F

HISTORY = [
    {'time': '2026-11-30T05:00:00Z', 'phase': 'in_progress', 'message': 'OS disk encryption started', 'os': 'EncryptionInProgress', 'data': 'NotMounted'},
    {'time': '2026-11-30T06:30:00Z', 'phase': 'in_progress', 'message': 'Encryption in progress: 55%', 'os': 'EncryptionInProgress', 'data': 'NotMounted'},
    {'time': '2026-11-30T08:00:00Z', 'phase': 'succeeded', 'message': 'Encryption succeeded', 'os': 'Encrypted', 'data': 'Encrypted'},
]
FLEET = [
    {'host': 'web-1', 'vm': 'web-1', 'resource_group': 'rg-a', 'outcome': 'succeeded', 'phase': 'succeeded',
     'snapshot_set': 'ade-20261130T050000Z', 'history': HISTORY, 'retirement': {'path': 'encryption at host'}},
    {'host': 'db-1', 'outcome': 'failed_restored', 'phase': 'failed', 'snapshot_set': 'ade-x',
     'message': 'stage wait: extension failed | restored from snapshot set ade-x'},
    {'host': 'old-1', 'outcome': 'prerequisites_failed', 'blockers': ['root_lvm_layout', {'id': 'memory'}]},
    {'host': 'mm-1', 'phase': 'succeeded', 'mismatch': ['platform: OS Encrypted, guest: root not on dm-crypt'],
     'guest_reachable': True, 'extra_thing': {'a': 1}},
]


def anchors(page):
    return re.findall(r'id="(vm-[^"]+)"', page)


def test_every_vm_has_a_summary_row_and_a_detail_section_linked_both_ways():
    page = F.render(FLEET, kind='encrypt', generated='2026-11-30T09:00:00Z')
    ids = anchors(page)
    assert ids == ['vm-web-1', 'vm-db-1', 'vm-old-1', 'vm-mm-1']
    for a in ids:
        assert page.count('href="#%s"' % a) == 1
    assert page.count('href="#summary"') == 4
    assert 'id="summary"' in page
    assert len(re.findall(r'<tr data-host=', page)) == 4


def test_summary_shows_outcome_blockers_snapshot_mismatch_retirement():
    page = F.render(FLEET, kind='encrypt')
    assert 'ade-20261130T050000Z' in page
    assert '<li>root_lvm_layout</li>' in page and '<li>memory</li>' in page
    assert 'platform: OS Encrypted, guest: root not on dm-crypt' in page
    assert 'encryption at host' in page
    assert '<span class="pill warn">failed_restored</span>' in page
    assert '<span class="pill good">succeeded</span>' in page


def test_counts_by_outcome_in_the_header_section():
    page = F.render(FLEET)
    summary = page.partition('<table id="fleet">')[0]
    assert 'succeeded</span>&nbsp;1' in summary
    assert 'failed_restored</span>&nbsp;1' in summary
    assert '-</span>&nbsp;1' in summary     # mm-1 has no outcome


def test_counts_by_phase_when_no_vm_has_an_outcome():
    page = F.render([{'host': 'a', 'phase': 'in_progress'}, {'host': 'b', 'phase': 'in_progress'}])
    assert 'in_progress</span>&nbsp;2' in page.partition('<table id="fleet">')[0]


def test_timeline_places_entries_by_time_and_colours_by_phase():
    svg = F.timeline_svg(HISTORY, width=310)
    xs = [float(x) for x in re.findall(r'<circle cx="([0-9.]+)"', svg)]
    # 05:00, 06:30, 08:00 over a 3 h span between x=10 and x=300: 10, 155, 300
    assert xs == [10.0, 155.0, 300.0]
    assert svg.count('<circle') == 3
    assert '#3b82d6' in svg and '#2f9e56' in svg        # in_progress segment, succeeded dot
    assert '(+3.0 h)' in svg
    assert '<title>2026-11-30T05:00:00Z  in_progress  OS disk encryption started</title>' in svg


def test_timeline_without_readable_times_spreads_entries_evenly():
    svg = F.timeline_svg([{'phase': 'in_progress'}, {'phase': 'failed'}, {'phase': 'failed', 'time': 'garbage'}],
                         width=220)
    assert [float(x) for x in re.findall(r'<circle cx="([0-9.]+)"', svg)] == [10.0, 110.0, 210.0]


def test_no_history_no_svg():
    assert F.timeline_svg([]) == ''
    assert F.timeline_svg(None) == ''
    page = F.render([{'host': 'a'}])
    assert '<svg' not in page and 'No progress history' in page


def test_everything_from_the_data_is_escaped():
    page = F.render([{'host': '<script>alert(1)</script>', 'message': 'a & b "c"', 'x<y': '<b>'}])
    assert '<script>' not in page
    assert '&lt;script&gt;alert(1)&lt;/script&gt;' in page
    assert 'a &amp; b &quot;c&quot;' in page
    assert '<th>x&lt;y</th><td>&lt;b&gt;</td>' in page


def test_duplicate_and_odd_host_names_get_unique_anchors():
    page = F.render([{'host': 'Web 1'}, {'host': 'web-1'}, {'host': '***'}])
    assert anchors(page) == ['vm-web-1', 'vm-web-1-2', 'vm-vm']


def test_self_contained_no_external_reference_no_script():
    page = F.render(FLEET, json_name='encrypt.json')
    assert '<script' not in page
    assert not re.search(r'(src|href)="(https?:)?//', page)
    assert re.findall(r'href="([^"#][^"]*)"', page) == ['encrypt.json']
    assert page.startswith('<!DOCTYPE html>') and page.rstrip().endswith('</html>')


def test_extra_keys_land_in_the_detail_table_and_known_keys_do_not():
    page = F.render(FLEET)
    assert '<th>extra_thing</th><td><code>{&quot;a&quot;: 1}</code></td>' in page
    assert '<th>guest_reachable</th><td>True</td>' in page
    assert '<th>history</th>' not in page


def test_css_classes_of_outcomes_and_phases():
    assert F.css_class('succeeded') == 'good'
    assert F.css_class('failed') == 'bad'
    assert F.css_class('failed_restore_failed') == 'bad'
    assert F.css_class('failed_restored') == 'warn'
    assert F.css_class('in_progress') == 'busy'
    assert F.css_class('whatever') == 'idle'
    assert F.css_class(None) == 'idle'


def test_retirement_text_and_lists():
    assert F.retirement_text({'path': 'EncryptionAtHost', 'deadline': '2028-09-15'}) == 'EncryptionAtHost'
    assert F.retirement_text({'deadline': '2028-09-15'}) == 'deadline: 2028-09-15'
    assert F.retirement_text(None) == ''
    assert F.retirement_text({'path': 'migrate', 'days_left': 1020, 'message': 'm'}) == 'migrate (1020 days left)'
    assert F.retirement_detail({'path': 'migrate', 'message': 'ADE retires'}) == 'ADE retires'
    assert F.retirement_detail('x') == ''
    assert F.as_list('one') == ['one']
    assert F.as_list(None) == []
    assert F.as_list([{'message': 'm'}, 'x', None]) == ['m', 'x']


def test_parse_time_forms():
    assert F.parse_time('2026-11-30T05:00:00Z').hour == 5
    assert F.parse_time('2026-11-30T05:00:00.123+00:00').minute == 0
    assert F.parse_time('2026-11-30 05:07') .minute == 7
    assert F.parse_time('') is None and F.parse_time('soon') is None


def test_empty_fleet_page_says_so():
    page = F.render([])
    assert 'No VM in this run.' in page and '0 VMs' in page


def test_long_messages_fold_into_details():
    short = F.message_html('Encryption succeeded for all volumes')
    assert short == '<p class="message">Encryption succeeded for all volumes</p>'
    trace = 'Failed to encrypt OS volume: <oldroot>\nTraceback (most recent call last):\n  File "x"'
    folded = F.message_html(trace)
    assert folded.startswith('<details class="message"><summary>Failed to encrypt OS volume: &lt;oldroot&gt; &hellip;</summary>')
    assert 'Traceback (most recent call last):' in folded and '<oldroot>' not in folded
    assert F.message_html('x' * 500).count('x') == 240 + 500
