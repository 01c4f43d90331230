"""Every requirement ID (R0-R7) and reference section cited in the repository resolves to a heading of
docs/requirements.md. Also checks the other way: every requirement heading is cited somewhere outside that file.
And every module_utils file says in its header (first 12 lines) that it is private to the collection.

  python3 tests/ci/docrefs.py [REPO]      -> one line per problem, "N passed, N failed" last; exit 1 on a failure
"""
import os
import re
import sys

REPO = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), '..', '..'))
DOC = os.path.join(REPO, 'docs', 'requirements.md')
SCAN = ['plugins', 'roles', 'playbooks', 'tests', 'simulator', 'benchmarks', 'docs', 'extensions', 'meta',
        'README.md', 'changelogs/fragments']
SKIP_DIRS = {'output', '__pycache__', '.git', '.pytest_cache'}
EXTS = ('.py', '.yml', '.yaml', '.md', '.sh', '.j2', '.txt', '.cfg', '.ini', '.json')

RID = re.compile(r'(?<![\w.])R([0-7])(?:\.(\d+))?(?![\w])')
# ade-reference 5.6 | ade-reference.md sections 2, 3, 4 | reference §5.6, §11.1 | reference (section 5.6
REF = re.compile(r'(?:ade-reference(?:\.md)?|reference)\s*(?:\(\s*)?(?:sections?\s+|§\s*)'
                 r'((?:\d+(?:\.\d+)?)(?:\s*(?:,|and)\s*§?\s*\d+(?:\.\d+)?)*)', re.I)
REF_BARE = re.compile(r'ade-reference(?:\.md)?\s+((?:\d+(?:\.\d+)?)(?:\s*,\s*\d+(?:\.\d+)?)*)', re.I)


def headings():
    rids, refs = set(), set()
    in_ref = False
    with open(DOC) as f:
        for line in f:
            m = re.match(r'#+\s+(.*)', line)
            if not m:
                continue
            title = m.group(1)
            if title.startswith('Reference'):
                in_ref = True
            m = re.match(r'(R[0-7](?:\.\d+)?)\s', title + ' ')
            if m:
                rids.add(m.group(1))
            m = re.match(r'(\d+(?:\.\d+)?)\s', title + ' ')
            if m and in_ref:
                refs.add(m.group(1))
    return rids, refs


def files():
    for top in SCAN:
        p = os.path.join(REPO, top)
        if os.path.isfile(p):
            yield p
            continue
        for d, dirs, names in os.walk(p):
            dirs[:] = [x for x in dirs if x not in SKIP_DIRS]
            for n in names:
                if n.endswith(EXTS):
                    yield os.path.join(d, n)


def main():
    rids, refs = headings()
    passed, failed = 0, 0
    cited_rids = set()
    for path in files():
        rel = os.path.relpath(path, REPO)
        if rel in ('docs/requirements.md', 'tests/ci/docrefs.py'):
            continue
        try:
            with open(path, encoding='utf-8', errors='replace') as f:
                text = f.read()
        except OSError:
            continue
        for n, line in enumerate(text.splitlines(), 1):
            for m in RID.finditer(line):
                rid = 'R%s' % m.group(1) + ('.%s' % m.group(2) if m.group(2) else '')
                cited_rids.add(rid)
                if rid in rids:
                    passed += 1
                else:
                    failed += 1
                    print('%s:%d: requirement %s has no heading in docs/requirements.md' % (rel, n, rid))
            for rx in (REF, REF_BARE):
                for m in rx.finditer(line):
                    for sec in re.findall(r'\d+(?:\.\d+)?', m.group(1)):
                        if sec in refs:
                            passed += 1
                        else:
                            failed += 1
                            print('%s:%d: reference section %s has no heading in docs/requirements.md' % (rel, n, sec))
    for rid in sorted(rids):
        if rid in cited_rids or any(c.startswith(rid + '.') for c in cited_rids):
            passed += 1
        else:
            failed += 1
            print('docs/requirements.md: requirement %s is cited nowhere (no check, task, test or doc names it)' % rid)
    mu = os.path.join(REPO, 'plugins', 'module_utils')
    for d, dirs, names in os.walk(mu):
        dirs[:] = [x for x in dirs if x not in SKIP_DIRS]
        for n in sorted(names):
            if n.endswith('.py') and n != '__init__.py':   # ansible-test requires empty __init__.py files
                with open(os.path.join(d, n)) as f:
                    head = ''.join(f.readlines()[:12])
                if 'private' in head.lower():
                    passed += 1
                else:
                    failed += 1
                    print('%s: module_utils header does not say it is private to the collection'
                          % os.path.relpath(os.path.join(d, n), REPO))
    print('%d requirement IDs and %d reference sections defined; %d citations checked' % (len(rids), len(refs), passed + failed))
    print('%d passed, %d failed' % (passed, failed))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
