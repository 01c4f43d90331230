# -*- coding: utf-8 -*-
# Copyright: azure_ade.linux maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Render a fleet's ADE run as one self-contained HTML page (pure: data in, text out).

Private to azure_ade.linux (used by the fleet_report module): not a public API, may change without notice.

Input: one dict per VM, as the status and encrypt playbooks collect them. Known keys (all optional but
``host``): host, vm, resource_group, outcome, phase, blockers, snapshot_set, mismatch, retirement, message,
history ([{time, phase, message, os, data}], from vm_encryption_info's wait). Every other key is shown in the
VM's detail table. The page has no scripts and no external assets: inline CSS and inline SVG only.
Controller code, but it must compile on Python 2.7 (ansible-test sanity): no f-strings.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime
import json
import re

KNOWN_KEYS = ('host', 'vm', 'resource_group', 'outcome', 'phase', 'blockers', 'snapshot_set', 'mismatch',
              'retirement', 'message', 'progress_message', 'history', 'steps', 'kept', 'to_confirm')
# migrate / rebuild pages (issue 17): a VM's ``steps`` ([{step, at, state, message}], as its record in the tags
# lists them) are its timeline; ``kept`` (what stays until the operator confirms: old VM, disks, keys, snapshot set)
# and ``to_confirm`` (what is left for the operator: verify, then state=verified) are listed.
STEP_KINDS = ('migrate', 'rebuild')

# outcome / phase -> CSS class (colour): good, bad, warn, busy, idle
_GOOD = ('succeeded', 'encrypted', 'already_encrypted', 'encrypted_added_disks', 'ready', 'verified', 'done', 'cut_over', 'migrated',
         'rebuilt')
_BAD = ('failed', 'failed_restore_failed', 'restore_failed', 'mismatch', 'unreachable', 'error', 'timeout',
        'refused')
_WARN = ('failed_restored', 'restored', 'blocked', 'prerequisites_failed', 'reboot_required', 'restart_pending',
         'not_encrypted', 'stalled', 'no_result', 'skipped', 'stopped', 'not_attempted', 'fallback')
_BUSY = ('in_progress', 'encrypting', 'waiting', 'copying', 'planned', 'configuring', 'creating', 'nic',
         'configured', 'copied', 'compared')

CSS = """
body{font:14px/1.4 system-ui,-apple-system,'DejaVu Sans',sans-serif;margin:0;color:#1d2430;background:#f5f7fa}
header{background:#1d2430;color:#fff;padding:14px 24px}header h1{margin:0;font-size:20px}
header p{margin:4px 0 0;color:#c9d1dc}main{padding:16px 24px}
section{background:#fff;border:1px solid #dde3ea;border-radius:6px;padding:12px 16px;margin:0 0 16px}
h2{font-size:17px;margin:4px 0 10px}h3{font-size:14px;margin:12px 0 6px}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #e7ebf0;
vertical-align:top}th{background:#eef2f6;font-weight:600}tr:hover td{background:#fafbfd}
.pill{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;white-space:nowrap}
.good{background:#d7f2df;color:#13602d}.bad{background:#fbdada;color:#8a1414}.warn{background:#fff0c7;color:#7a5300}
.busy{background:#d9e8fb;color:#154a8a}.idle{background:#e9edf1;color:#48525e}
.counts .pill{margin-right:6px}ul.flat{margin:0;padding-left:18px}.muted{color:#6b7684}
a{color:#1559b3}a:focus,a:hover{text-decoration:underline}code{font-size:12px}
svg.timeline{width:100%;height:auto;max-width:900px;display:block}
details.message summary{cursor:pointer}details.message pre{white-space:pre-wrap;font-size:12px;background:#f5f7fa;
padding:8px;border-radius:4px;max-height:360px;overflow:auto}
.kv th{width:200px}table.history td:first-child{white-space:nowrap}
"""


def _esc(value):
    """HTML-escape any value (None -> '')."""
    if value is None:
        return ''
    if not isinstance(value, str):
        try:
            value = unicode(value)  # noqa: F821 pylint: disable=undefined-variable
        except NameError:
            value = str(value)
    return (value.replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;')
            .replace('"', '&quot;').replace("'", '&#39;'))


def slug(text, used=None):
    """A unique, HTML-id-safe anchor for a VM ('vm-' + lowercase letters, digits, dashes)."""
    base = 'vm-' + (re.sub(r'[^a-z0-9]+', '-', (text or 'vm').lower()).strip('-') or 'vm')
    if used is None:
        return base
    anchor, n = base, 2
    while anchor in used:
        anchor = '%s-%d' % (base, n)
        n += 1
    used.add(anchor)
    return anchor


def css_class(state):
    """Colour class of an outcome or phase."""
    s = (state or '').lower()
    if s in _GOOD:
        return 'good'
    if s in _WARN:
        return 'warn'
    if s in _BAD or s.startswith('failed'):
        return 'bad'
    if s in _BUSY:
        return 'busy'
    return 'idle'


def pill(state):
    return '<span class="pill %s">%s</span>' % (css_class(state), _esc(state or '-'))


def as_list(value):
    """A list of display strings from a list, a string, a dict or None."""
    if value is None or value == '' or value == []:
        return []
    if isinstance(value, (list, tuple)):
        out = []
        for v in value:
            if isinstance(v, dict):
                out.append(v.get('id') or v.get('name') or v.get('message') or json.dumps(v, sort_keys=True))
            else:
                out.append(v)
        return [('%s' % v) for v in out if v not in (None, '')]
    if isinstance(value, dict):
        return ['%s: %s' % (k, value[k]) for k in sorted(value)]
    return ['%s' % value]


def retirement_text(value):
    """One line for the retirement/migration path: a string, or vm_encryption_info's retirement dict
    (path, days_left, ...): 'enable_encryption_at_host (1020 days left)'."""
    if value in (None, '', {}):
        return ''
    if isinstance(value, dict):
        for key in ('path', 'recommended', 'target', 'action', 'summary'):
            if value.get(key):
                left = value.get('days_left')
                return '%s%s' % (value[key], (' (%s days left)' % left) if left not in (None, '') else '')
        return '; '.join(as_list(value))
    return '%s' % value


def retirement_detail(value):
    """The retirement's explanation (its message), '' when there is none."""
    if isinstance(value, dict):
        return '%s' % (value.get('message') or '')
    return ''


def parse_time(text):
    """'2026-11-30T05:10:00Z' (or with fraction / +00:00) -> naive UTC datetime, None when unreadable."""
    if not text:
        return None
    t = ('%s' % text).strip().replace(' ', 'T')
    t = re.sub(r'(\.\d+)?(Z|[+-]00:?00)?$', '', t)
    for fmt in ('%Y-%m-%dT%H:%M:%S', '%Y-%m-%dT%H:%M'):
        try:
            return datetime.datetime.strptime(t, fmt)
        except ValueError:
            pass
    return None


def _fmt_duration(seconds):
    seconds = int(round(seconds))
    if seconds < 120:
        return '%d s' % seconds
    if seconds < 7200:
        return '%d min' % (seconds // 60)
    return '%.1f h' % (seconds / 3600.0)


def timeline_svg(history, width=900, height=64):
    """Inline SVG of a VM's progress: one coloured segment per phase from one history entry to the next,
    a dot per entry (its time, phase and message as a tooltip). '' when there is no history."""
    points = []
    for h in history or []:
        if not isinstance(h, dict):
            continue
        points.append((parse_time(h.get('time')), h))
    if not points:
        return ''
    times = [p[0] for p in points if p[0] is not None]
    if times:
        t0, t1 = min(times), max(times)
    else:
        t0 = t1 = None
    span = (t1 - t0).total_seconds() if t0 is not None else 0
    left, right, y = 10, width - 10, 26
    n = len(points)

    def x_of(i, t):
        if t is not None and span > 0:
            return left + (right - left) * (t - t0).total_seconds() / span
        return left + (right - left) * (i / float(max(n - 1, 1)))

    xs = [x_of(i, p[0]) for i, p in enumerate(points)]
    colour = {'good': '#2f9e56', 'bad': '#d23b3b', 'warn': '#e0a500', 'busy': '#3b82d6', 'idle': '#9aa5b1'}
    parts = ['<svg class="timeline" viewBox="0 0 %d %d" role="img" aria-label="progress over time">' % (width, height),
             '<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#dde3ea" stroke-width="8" stroke-linecap="round"/>'
             % (left, y, right, y)]
    for i, (t, h) in enumerate(points):
        x_end = xs[i + 1] if i + 1 < n else xs[i]
        if x_end > xs[i]:
            parts.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s" stroke-width="8"/>'
                         % (xs[i], y, x_end, y, colour[css_class(h.get('phase'))]))
    for i, (t, h) in enumerate(points):
        tip = '%s  %s  %s' % (h.get('time') or '?', h.get('phase') or '?', h.get('message') or '')
        parts.append('<circle cx="%.1f" cy="%d" r="6" fill="%s" stroke="#fff" stroke-width="2"><title>%s</title></circle>'
                     % (xs[i], y, colour[css_class(h.get('phase'))], _esc(tip.strip())))
    if t0 is not None:
        parts.append('<text x="%d" y="%d" font-size="11" fill="#6b7684">%s</text>'
                     % (left, height - 8, _esc(t0.strftime('%Y-%m-%d %H:%M:%SZ'))))
        parts.append('<text x="%d" y="%d" font-size="11" fill="#6b7684" text-anchor="end">%s (+%s)</text>'
                     % (right, height - 8, _esc(t1.strftime('%H:%M:%SZ')), _esc(_fmt_duration(span))))
    parts.append('</svg>')
    return ''.join(parts)


def normalize(row):
    """The display fields of one VM row (tolerant of missing keys and of None)."""
    row = row if isinstance(row, dict) else {'host': '%s' % row}
    host = row.get('host') or row.get('vm') or row.get('name') or '?'
    return dict(
        host='%s' % host,
        vm=row.get('vm') or row.get('name') or '',
        resource_group=row.get('resource_group') or '',
        outcome=row.get('outcome') or '',
        phase=row.get('phase') or '',
        blockers=as_list(row.get('blockers')),
        snapshot_set=row.get('snapshot_set') or '',
        mismatch=as_list(row.get('mismatch')),
        retirement=retirement_text(row.get('retirement')),
        retirement_detail=retirement_detail(row.get('retirement')),
        message=(row.get('message') or row.get('progress_message') or ''),
        history=[h for h in (row.get('history') or []) if isinstance(h, dict)] or steps_history(row.get('steps')),
        kept=as_list(row.get('kept')),
        to_confirm=as_list(row.get('to_confirm')),
        extra=dict((k, v) for k, v in row.items() if k not in KNOWN_KEYS and k != 'name'),
    )


def steps_history(steps):
    """A migrate/rebuild record's steps as timeline entries ({time, phase, message})."""
    out = []
    for st in steps or []:
        if not isinstance(st, dict):
            continue
        out.append({'time': st.get('at') or st.get('time'), 'phase': st.get('state') or 'done',
                    'message': '%s%s' % (st.get('step') or '?',
                                         (': ' + st['message']) if st.get('message') else ''),
                    'os': st.get('os') or '', 'data': st.get('data') or ''})
    return out


def inventory_html(inv):
    """The section 'What ADE touched' of a subscription inventory (ade_inventory_info), or ''."""
    if not isinstance(inv, dict) or not isinstance(inv.get('entries'), list):
        return ''
    items = [i for i in inv['entries'] if isinstance(i, dict)]
    touched = [i for i in items if i.get('kind') != 'vm' or i.get('carries') not in (None, 'none')]
    out = ['<section id="inventory"><h2>What ADE touched%s: %d item%s, %s days left until %s</h2>' % (
        (' in subscription ' + _esc(inv.get('subscription_id'))) if inv.get('subscription_id') else '',
        len(touched), '' if len(touched) == 1 else 's', _esc(inv.get('days_left')), _esc(inv.get('retirement_date')))]
    summ = inv.get('summary') or {}
    out.append('<p class="counts">%s</p>' % ''.join('%s&nbsp;%s ' % (pill(k), _esc(summ[k])) for k in sorted(summ)
                                                    if not isinstance(summ[k], dict)))
    out.append('<table id="inventory-items"><thead><tr><th>Kind</th><th>Name</th><th>Carries</th><th>Path</th>'
               '<th>Before the retirement</th><th>Why</th></tr></thead><tbody>')
    for i in items:
        out.append('<tr data-kind="%s"><td>%s</td><td>%s%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>' % (
            _esc(i.get('kind')), _esc(i.get('kind')), _esc(i.get('name')),
            (' <span class="muted">(%s)</span>' % _esc(i.get('resource_group'))) if i.get('resource_group') else '',
            pill(i.get('carries') or 'none'), _esc(i.get('path') or '-'), _esc(i.get('action')),
            message_html(i.get('why') or '', limit=160)))
    if not items:
        out.append('<tr><td colspan="6" class="muted">Nothing in this subscription.</td></tr>')
    out.append('</tbody></table></section>')
    return '\n'.join(out)


def counts(rows, key):
    out = {}
    for r in rows:
        k = r[key] or '-'
        out[k] = out.get(k, 0) + 1
    return out


def _cell_list(items):
    if not items:
        return '<span class="muted">-</span>'
    return '<ul class="flat">%s</ul>' % ''.join('<li>%s</li>' % _esc(i) for i in items)


def message_html(message, limit=240):
    """The VM's message: a paragraph, or for a long one (stack traces) its start with the whole text folded
    in a <details> element (no script needed)."""
    text = '%s' % message
    if len(text) <= limit and '\n' not in text:
        return '<p class="message">%s</p>' % _esc(text)
    head = text.split('\n', 1)[0][:limit].rstrip()
    return ('<details class="message"><summary>%s &hellip;</summary><pre>%s</pre></details>'
            % (_esc(head), _esc(text)))


def _extra_value(v):
    if isinstance(v, (dict, list)):
        return '<code>%s</code>' % _esc(json.dumps(v, sort_keys=True))
    return _esc(v)


def render(vms, title='Azure Disk Encryption', kind='status', generated=None, run_id=None, json_name=None,
           inventory=None):
    """The whole page as text. ``vms``: list of VM dicts (see module docstring). ``kind``: status | encrypt |
    migrate | rebuild. ``inventory``: an ade_inventory_info result (or a list of them, one per subscription)."""
    rows = [normalize(v) for v in (vms or [])]
    used = set()
    for r in rows:
        r['anchor'] = slug(r['host'], used)
    generated = generated or datetime.datetime.utcnow().strftime('%Y-%m-%dT%H:%M:%SZ')
    key = 'outcome' if any(r['outcome'] for r in rows) else 'phase'
    c = counts(rows, key)
    out = ['<!DOCTYPE html>', '<html lang="en"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           '<title>%s</title>' % _esc('%s: %s' % (title, kind)),
           '<style>%s</style></head><body>' % CSS,
           '<header><h1>%s</h1><p>%s run, %s, %d VM%s%s%s</p></header><main>' % (
               _esc(title), _esc(kind), _esc(generated), len(rows), '' if len(rows) == 1 else 's',
               (', run ' + _esc(run_id)) if run_id else '',
               (', data: <a href="%s">%s</a>' % (_esc(json_name), _esc(json_name))) if json_name else '')]
    out.append('<section id="summary"><h2>Fleet at a glance</h2><p class="counts">%s</p>' % ''.join(
        '%s&nbsp;%d ' % (pill(k), c[k]) for k in sorted(c)))
    steps = kind in STEP_KINDS
    out.append('<table id="fleet"><thead><tr><th>Host</th><th>VM</th><th>Outcome</th><th>Phase</th><th>Blockers</th>'
               '<th>Snapshot set</th><th>%s</th><th>Retirement path</th></tr></thead><tbody>'
               % ('Left to confirm' if steps else 'Mismatch'))
    for r in rows:
        out.append('<tr data-host="%s"><td><a href="#%s">%s</a></td><td>%s</td><td>%s</td><td>%s</td><td>%s</td>'
                   '<td>%s</td><td>%s</td><td>%s</td></tr>' % (
                       _esc(r['host']), r['anchor'], _esc(r['host']),
                       _esc(r['vm']) + ((' <span class="muted">(%s)</span>' % _esc(r['resource_group']))
                                        if r['resource_group'] else ''),
                       pill(r['outcome']) if r['outcome'] else '<span class="muted">-</span>',
                       pill(r['phase']) if r['phase'] else '<span class="muted">-</span>',
                       _cell_list(r['blockers']), _esc(r['snapshot_set']) or '<span class="muted">-</span>',
                       _cell_list(r['to_confirm'] if steps else r['mismatch']),
                       _esc(r['retirement']) or '<span class="muted">-</span>'))
    if not rows:
        out.append('<tr><td colspan="8" class="muted">No VM in this run.</td></tr>')
    out.append('</tbody></table></section>')
    for inv in (inventory if isinstance(inventory, list) else [inventory] if inventory else []):
        out.append(inventory_html(inv))
    for r in rows:
        out.append('<section class="vm" id="%s"><h2>%s %s</h2>' % (
            r['anchor'], _esc(r['host']), pill(r['outcome'] or r['phase'])))
        out.append('<p><a href="#summary">&larr; back to the fleet</a></p>')
        if r['message']:
            out.append(message_html(r['message']))
        out.append('<table class="kv"><tbody>')
        for label, val in (('VM', r['vm']), ('Resource group', r['resource_group']), ('Outcome', r['outcome']),
                           ('Phase', r['phase']), ('Snapshot set', r['snapshot_set']),
                           ('Retirement path', r['retirement']), ('Retirement', r['retirement_detail'])):
            if val:
                out.append('<tr><th>%s</th><td>%s</td></tr>' % (label, _esc(val)))
        for label, items in (('Blockers', r['blockers']), ('Mismatch', r['mismatch']),
                             ('Kept until confirmed', r['kept']), ('Left to confirm', r['to_confirm'])):
            if items:
                out.append('<tr><th>%s</th><td>%s</td></tr>' % (label, _cell_list(items)))
        for k in sorted(r['extra']):
            out.append('<tr><th>%s</th><td>%s</td></tr>' % (_esc(k), _extra_value(r['extra'][k])))
        out.append('</tbody></table>')
        if r['history']:
            out.append('<h3>%s</h3>' % ('Steps over time' if steps else 'Progress over time'))
            out.append(timeline_svg(r['history']))
            out.append('<table class="history"><thead><tr><th>Time</th><th>Phase</th><th>OS</th><th>Data</th>'
                       '<th>Message</th></tr></thead><tbody>')
            for h in r['history']:
                out.append('<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>' % (
                    _esc(h.get('time')), pill(h.get('phase')), _esc(h.get('os')), _esc(h.get('data')),
                    message_html(h.get('message') or '', limit=160)))
            out.append('</tbody></table>')
        else:
            out.append('<p class="muted">No progress history in this run (nothing was waited on).</p>')
        out.append('</section>')
    out.append('</main></body></html>')
    return '\n'.join(out) + '\n'
