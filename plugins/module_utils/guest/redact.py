# -*- coding: utf-8 -*-
# Copyright: azure_ade.linux maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to azure_ade.linux: used by this collection's modules and plugins only, not a public API; may change in any release.
"""No secret leaves a guest (issue 15). Pure; Python 2.7 and 3.6+, stdlib only.

What the guest modules report goes into controller logs, AWX job events and the fleet reports, so facts are built
without secrets and checked once more before they leave:

- processes are reported by name (the kernel's 15-character ``comm``) and PID, plus a fixed set of non-secret facts
  (application family, uid, age, paths held open on /); never by command line. The command line is read inside the
  guest where a rule needs it (the agent's version, Cassandra's main class, system daemons) and dropped there.
- URLs (package sources, proxies) lose their userinfo (``user:password@``), query string and fragment: a proxy
  ``http://ade:pw@10.0.0.1:3128/`` is reported as ``http://10.0.0.1:3128/``; a metalink
  ``https://mirrors.example/metalink?repo=x&token=y`` as ``https://mirrors.example/metalink``. Host and port stay,
  so the reachability probe and the check messages still name the endpoint.
- ``scrub`` walks the whole facts tree as a last pass: any URL with userinfo inside a string loses it and
  ``--password=x`` / ``password=x`` / ``token: x`` style assignments of secret-looking keys lose their value.
"""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

REDACTED = '********'

# scheme://  (authority ends at the first / ? # as in the WHATWG URL standard; userinfo = up to the last @ in it)
_SCHEME_RE = r'^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<rest>.*)$'
_HOSTPORT_RE = r'^(?:[A-Za-z0-9._~%-]*|\[[0-9A-Fa-f:.]+\])(?::\d*)?$'
# inside free text: scheme://userinfo@ -> scheme://
_TEXT_USERINFO_RE = r'(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)[^\s/?#@]*@'
# secret-looking key = value / key: value / --key=value, and a flag --key value (the value up to whitespace or a quote)
_SECRET_KEY = r'[A-Za-z0-9_.-]*(?:passw(?:or)?d|passphrase|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|' \
              r'credentials?)[A-Za-z0-9_.-]*|pwd|pass'
# every alternative of _SECRET_KEY contains one of these (lower case): a string without any skips both secret regexes
_SECRET_WORDS = ('pass', 'secret', 'token', 'key', 'credential', 'pwd')
_VALUE = r'(?P<value>"[^"]*"|\'[^\']*\'|[^\s"\',;&]+)'
_SECRET_ASSIGN_RE = r'(?P<key>(?:^|(?<=[\s"\'&;,?{(]))-{0,2}(?:' + _SECRET_KEY + r'))(?P<sep>\s*=\s*|:\s*)' + _VALUE
_SECRET_FLAG_RE = r'(?P<key>(?:^|(?<=\s))--?(?:' + _SECRET_KEY + r'))(?P<sep>\s+)(?!-)' + _VALUE
_COMPILED = {}


def _re(pattern, flags=0):
    """The compiled pattern, compiled on first use: most guests never need the secret patterns (their compile is
    most of this module's import cost)."""
    key = (pattern, flags)
    if key not in _COMPILED:
        _COMPILED[key] = re.compile(pattern, flags)
    return _COMPILED[key]


def _maybe_secret(value):
    """False only when neither secret pattern can match: no secret word in the lower-cased ASCII text. Text with
    other characters always goes through the patterns (case-insensitive matching folds a few non-ASCII letters
    such as the Kelvin sign onto ASCII ones)."""
    try:
        value.encode('ascii')
    except (UnicodeError, AttributeError):
        return True
    low = value.lower()
    for word in _SECRET_WORDS:
        if word in low:
            return True
    return False


def url(value):
    """A URL (or a schemeless ``user:pw@host:port``) without userinfo, query string and fragment. None -> None."""
    if value is None:
        return None
    text = (value if isinstance(value, _STRING_TYPES) else str(value)).strip()  # no str() of py2 unicode
    match = _re(_SCHEME_RE, re.DOTALL).match(text)
    scheme, rest = (match.group('scheme'), match.group('rest')) if match else ('', text)
    if not match and '@' not in text:
        # file:/srv/mirror, cdrom:[...]/, a bare path: no authority; only a query/fragment to cut
        return _cut_query(text)
    end = len(rest)
    for ch in '/?#':
        pos = rest.find(ch)
        if pos != -1:
            end = min(end, pos)
    authority, tail = rest[:end], rest[end:]
    if '@' in authority:
        authority = authority.rsplit('@', 1)[1]
    if not _re(_HOSTPORT_RE).match(authority) or '@' in tail.split('?', 1)[0].split('#', 1)[0]:
        # userinfo with an unencoded / ? # (no client parses it; part of it would show): keep nothing of it
        return scheme + REDACTED
    return scheme + authority + _cut_query(tail)


def _cut_query(text):
    for ch in '?#':
        text = text.split(ch, 1)[0]
    return text


def text(value):
    """Free text (a message, a mount option, an error) with URL userinfo and secret-looking assignments removed."""
    if not value:
        return value
    out = value
    if '@' in out and '://' in out:
        out = _re(_TEXT_USERINFO_RE).sub(lambda m: m.group('scheme'), out)
    if _maybe_secret(out):
        for regex in (_re(_SECRET_ASSIGN_RE, re.IGNORECASE), _re(_SECRET_FLAG_RE, re.IGNORECASE)):
            out = regex.sub(lambda m: m.group('key') + m.group('sep') + REDACTED, out)
    return out


# What a process entry may carry (checks.py's blocking_apps and root_busy rules need no more)
PROCESS_KEYS = {
    'blocking': ('app', 'name', 'pid'),
    'root_busy': ('pid', 'name', 'uid', 'age_seconds', 'open'),
}


def facts(value):
    """The facts dict as it may leave the guest: process entries reduced to PROCESS_KEYS (facts handed to the
    preflight by an older guest_facts may still carry command lines), then every string through ``text``."""
    out = dict(value)
    procs = out.get('processes')
    if isinstance(procs, dict):
        procs = dict(procs)
        for kind, keep in PROCESS_KEYS.items():
            if isinstance(procs.get(kind), list):
                procs[kind] = [dict((k, p.get(k)) for k in keep if k in p) if isinstance(p, dict) else p
                               for p in procs[kind]]
        out['processes'] = procs
    return scrub(out)


def scrub(obj):
    """Every string of a facts tree (dicts, lists, tuples) through ``text``; returns a new tree."""
    if isinstance(obj, dict):
        return dict((k, scrub(v)) for k, v in obj.items())
    if isinstance(obj, (list, tuple)):
        return [scrub(v) for v in obj]
    if isinstance(obj, _STRING_TYPES):
        return text(obj)
    return obj


try:
    _STRING_TYPES = (str, unicode)  # noqa: F821  (Python 2)
except NameError:
    _STRING_TYPES = (str,)
