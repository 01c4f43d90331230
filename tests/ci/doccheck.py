"""Docs that must match the code, checked (lint step) or regenerated from it.

  python3 tests/ci/doccheck.py [REPO]          check; one line per problem, "N passed, N failed" last; exit 1 on a failure
  python3 tests/ci/doccheck.py --write [REPO]  rewrite the generated CI step table in docs/testing.md

Checks:
  ci-steps       docs/testing.md holds, between `<!-- ci-steps:begin -->` and `<!-- ci-steps:end -->`, the table this
                 script generates from tests/ci/pipeline.sh (every step of every lane, its timeout and script).
  parts          the "## Parts" table of docs/architecture.md names every module, filter (plugins/filter/<name>.yml),
                 module_utils file, doc fragment, role and playbook of the collection; every file or directory it names
                 exists.
  azure-numbers  tests/integration/azure/NN_*.yml: each number used once, each playbook has a row in
                 tests/integration/azure/README.md, each row's playbook exists.
  hosts-declared the CI host step scripts name test hosts only as ${VAR:-host} parameters, which the pipeline reads
                 (tests/ci/hosts_of.py) to lock each host a step uses: two steps sharing a host never run at once.
  readme-demo    the README's `make demo` preflight table: one row per test host, with the verdict and the
                 blocking / fixable checks the guest integration asserts exactly
                 (tests/integration/targets/preflight/vars/main.yml preflight_expected), and its count line.
"""
import os
import re
import sys

ARGS = [a for a in sys.argv[1:] if not a.startswith('--')]
WRITE = '--write' in sys.argv[1:]
REPO = os.path.abspath(ARGS[0] if ARGS else os.path.join(os.path.dirname(__file__), '..', '..'))
BEGIN, END = '<!-- ci-steps:begin -->', '<!-- ci-steps:end -->'
PROBLEMS = []
PASSED = []


def check(name, problems):
    (PROBLEMS if problems else PASSED).append(name)
    for p in problems:
        print('FAILED %s: %s' % (name, p))


def read(*parts):
    with open(os.path.join(REPO, *parts)) as f:
        return f.read()


# ---------------------------------------------------------------- CI steps from pipeline.sh
STEP_RE = re.compile(r'(?:^|&&|;)\s*(?:[A-Z_]+=\S+\s+)*(script_step|step|host_step\s+[\w-]+)\s+"?([\w.$-]+)"?\s+(\d+)\s+(.*)$')
LANE_RE = re.compile(r'^(lane_(\w+))\(\)\s*\{')
# helper functions whose steps run at the end of a lane: hosts_down() (hosts lane), chaos_steps() (sim lane by default)
HELPERS = {'hosts_down': 'hosts', 'chaos_steps': 'sim'}
HELPER_RE = re.compile(r'^(%s)\(\)\s*\{' % '|'.join(HELPERS))


def pipeline_steps():
    """[(lane, step, timeout, runs, note)] in the order of tests/ci/pipeline.sh (lane "main" = before the lanes)."""
    rows, late, lane, helper, placed = [], [], 'main', False, []
    owner = []   # the helper each late row came from
    for line in read('tests', 'ci', 'pipeline.sh').splitlines():
        s = line.strip()
        m = LANE_RE.match(s)
        if m:
            lane, helper = m.group(2), False
            continue
        m = HELPER_RE.match(s)
        if m:
            lane, helper, current = HELPERS[m.group(1)], True, m.group(1)
            continue
        if not helper and not s.startswith('#') and not s.startswith('trap '):
            called = [h for h in HELPERS if HELPERS[h] == lane and re.search(r'\b%s\b' % h, s)]
            if called:   # the helper's steps run where its lane calls it last (the default place, e.g. chaos in sim)
                if called[0] in placed:
                    rows.remove(called[0])
                else:
                    placed.append(called[0])
                rows.append(called[0])
        if line.startswith('}'):
            lane, helper = 'main', False
            continue
        if s.startswith('#') or s.startswith('step()') or s.startswith('script_step()'):
            continue
        m = STEP_RE.search(s)
        if not m:
            continue
        kind, name, timeout, rest = m.groups()
        note = ''
        if '  # ' in rest:
            rest, note = rest.split('  # ', 1)
        rest = rest.rstrip(' \\')
        if kind != 'step':   # script_step, host_step KIND
            runs = rest.split()[0]
        else:
            words = [w.strip('"') for w in rest.split()]
            runs = next((w.replace('$ADE_REPO/', '') for w in words if w.endswith('.sh')), ' '.join(words))
        name = name.replace('$core', '<core>')
        if helper:
            late.append((lane, name, int(timeout), runs, note.strip()))
            owner.append(current)
        else:
            rows.append((lane, name, int(timeout), runs, note.strip()))
    out = []
    for r in rows:   # a helper's steps where its lane calls it, else at the end of its lane
        out.extend([x for x, o in zip(late, owner) if o == r] if isinstance(r, str) else [r])
    rows = out + [x for x, o in zip(late, owner) if o not in placed]
    order = ['main', 'checks', 'sim', 'hosts', 'hosts2']
    rows.sort(key=lambda r: order.index(r[0]) if r[0] in order else len(order))   # stable: pipeline order in a lane
    return rows


def step_hosts(lane, name):
    """The test hosts a host step locks (tests/ci/hosts_of.py; hosts2: with the pipeline's default HOSTS2_ENV)."""
    sys.path.insert(0, os.path.join(REPO, 'tests', 'ci'))
    import hosts_of
    kind = name.replace('-<core>', '')
    if kind not in hosts_of.SCRIPTS and kind not in ('guest', 'molecule'):
        return ''
    m = re.search(r'^HOSTS2_ENV=\$\{HOSTS2_ENV-"([^"]*)"\}', read('tests', 'ci', 'pipeline.sh'), re.M)
    env = dict(kv.split('=', 1) for kv in (m.group(1).split() if m and lane == 'hosts2' else []))
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        hosts = hosts_of.hosts_of(kind)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return 'all %d' % len(hosts) if kind == 'guest' else ' '.join(hosts)


def steps_table():
    out = ['| lane | step | timeout (s) | runs | test hosts (locked) | |', '| --- | --- | --- | --- | --- | --- |']
    for lane, name, timeout, runs, note in pipeline_steps():
        hosts = step_hosts(lane, name)
        out.append('| %s | `%s` | %d | `%s` | %s | %s |' % (lane, name, timeout, runs, hosts, note.replace('|', '/')))
    return '\n'.join(out)


def check_hosts_declared():
    """Host scripts name their test hosts only through ${VAR:-host} parameters (what the pipeline locks)."""
    sys.path.insert(0, os.path.join(REPO, 'tests', 'ci'))
    import hosts_of
    return hosts_of.check()


def check_ci_steps():
    path = os.path.join(REPO, 'docs', 'testing.md')
    text = read('docs', 'testing.md')
    if BEGIN not in text or END not in text:
        return ['docs/testing.md has no %s ... %s block (python3 tests/ci/doccheck.py --write adds nothing: '
                'put the two markers in the "CI" section first)' % (BEGIN, END)]
    head, rest = text.split(BEGIN, 1)
    body, tail = rest.split(END, 1)
    want = '\n' + steps_table() + '\n'
    if WRITE and body != want:
        with open(path, 'w') as f:
            f.write(head + BEGIN + want + END + tail)
        print('rewrote the CI step table in docs/testing.md')
        return []
    if not pipeline_steps():
        return ['no steps found in tests/ci/pipeline.sh (has its step syntax changed? update doccheck.py)']
    if body != want:
        return ['the CI step table in docs/testing.md differs from tests/ci/pipeline.sh: run '
                '`python3 tests/ci/doccheck.py --write` and commit docs/testing.md']
    return []


# ---------------------------------------------------------------- parts table of docs/architecture.md
def section(text, title):
    m = re.search(r'^## %s\s*$(.*?)(?=^## |\Z)' % re.escape(title), text, re.M | re.S)
    return m.group(1) if m else ''


def stems(*parts, ext='.py'):
    d = os.path.join(REPO, *parts)
    if not os.path.isdir(d):
        return []
    return sorted(f[:-len(ext)] for f in os.listdir(d) if f.endswith(ext) and f != '__init__.py')


def check_parts():
    parts = section(read('docs', 'architecture.md'), 'Parts')
    if not parts:
        return ['docs/architecture.md has no "## Parts" section']
    named = set(re.findall(r'`([^`]+)`', parts))
    words = set()
    for n in named:
        words.update(w.strip(',') for w in n.split())
    problems = []
    want = [('module', m, (m,)) for m in stems('plugins', 'modules')]
    want += [('filter', f, (f,)) for f in stems('plugins', 'filter', ext='.yml')]
    for sub in sorted(os.listdir(os.path.join(REPO, 'plugins', 'module_utils'))):
        for u in stems('plugins', 'module_utils', sub):
            want.append(('module_utils file', '%s/%s.py' % (sub, u), (u + '.py', 'plugins/module_utils/%s/%s.py' % (sub, u))))
    want += [('doc fragment', d, (d,)) for d in stems('plugins', 'doc_fragments')]
    roles = os.path.join(REPO, 'roles')
    want += [('role', r, (r,)) for r in sorted(os.listdir(roles)) if os.path.isdir(os.path.join(roles, r))] \
        if os.path.isdir(roles) else []
    want += [('playbook', p, (p, p + '.yml')) for p in stems('playbooks', ext='.yml')]
    for kind, name, spellings in want:
        if not any(s in words for s in spellings):
            problems.append('%s %s is not in the parts table of docs/architecture.md' % (kind, name))
    for n in sorted(named):
        if ' ' not in n and n.startswith(('plugins/', 'roles/', 'playbooks/', 'tests/', 'simulator/', 'docs/',
                                          'benchmarks/', 'meta/', 'extensions/')):
            if not os.path.exists(os.path.join(REPO, n.rstrip('/'))):
                problems.append('the parts table names %s, which does not exist' % n)
    return problems


# ---------------------------------------------------------------- tests/integration/azure numbering
def check_azure_numbers():
    d = os.path.join(REPO, 'tests', 'integration', 'azure')
    books = sorted(f for f in os.listdir(d) if re.match(r'\d\d_.*\.yml$', f))
    problems = []
    seen = {}
    for b in books:
        seen.setdefault(b[:2], []).append(b)
    for num, names in sorted(seen.items()):
        if len(names) > 1:
            problems.append('number %s is used by %s: give each playbook its own number' % (num, ', '.join(names)))
    readme = read('tests', 'integration', 'azure', 'README.md')
    rows = set(re.findall(r'^\|\s*`(\d\d_[\w.-]+\.yml)`', readme, re.M))
    for b in books:
        if b not in rows:
            problems.append('%s has no row in tests/integration/azure/README.md' % b)
    for r in sorted(rows - set(books)):
        problems.append('tests/integration/azure/README.md has a row for %s, which does not exist' % r)
    return problems


# ---------------------------------------------------------------- README's make demo table
def check_readme_demo():
    try:
        import yaml  # pylint: disable=import-outside-toplevel
    except ImportError:
        return ['PyYAML is needed for this check (run it with a core line\'s venv python)']
    with open(os.path.join(REPO, 'tests', 'integration', 'targets', 'preflight', 'vars', 'main.yml')) as f:
        expected = yaml.safe_load(f)['preflight_expected']
    rows = {}
    for line in read('README.md').splitlines():
        m = re.match(r'^([a-z0-9][a-z0-9-]+)\s+(READY|FIXABLE|BLOCKED)\s+(.*)$', line)
        if m:
            rows[m.group(1)] = (m.group(2), m.group(3))
    problems = []
    for host in sorted(set(expected) - set(rows)):
        problems.append('README demo table has no row for test host %s' % host)
    for host in sorted(set(rows) - set(expected)):
        problems.append('README demo table has a row for %s, which is not a test host' % host)
    counts = {}
    for host, want in sorted(expected.items()):
        verdict = 'READY' if want['ready'] else ('BLOCKED' if want['blocking'] else 'FIXABLE')
        counts[verdict] = counts.get(verdict, 0) + 1
        if host not in rows:
            continue
        got, why = rows[host]
        if got != verdict:
            problems.append('README demo table: %s is %s, the tests expect %s' % (host, got, verdict))
        for kind in ('blocking', 'fixable'):
            m = re.search(r'%s[^:]*: ([\w,]+)' % kind, why)
            listed = m.group(1).split(',') if m else []
            if sorted(listed) != sorted(want[kind]):
                problems.append('README demo table: %s %s %s, the tests expect %s' % (host, kind, listed, want[kind]))
    line = '%d hosts: %s' % (len(expected), ', '.join('%s %d' % (v, counts[v]) for v in sorted(counts)))
    if line not in read('README.md'):
        problems.append('README demo table: the count line should read "%s"' % line)
    return problems


if __name__ == '__main__':
    check('ci-steps', check_ci_steps())
    check('parts', check_parts())
    check('azure-numbers', check_azure_numbers())
    check('readme-demo', check_readme_demo())
    check('hosts-declared', check_hosts_declared())
    print('%d passed, %d failed' % (len(PASSED), len(PROBLEMS)))
    sys.exit(1 if PROBLEMS else 0)
