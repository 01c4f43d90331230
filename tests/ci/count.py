"""Turn a test log into "PASSED FAILED" counts (stdout, two integers).

    count.py sanity LOG RC   ansible-test sanity: one count per sanity test (per Python for multi-version tests)
    count.py pytest LOG RC   sum of every pytest summary line ("=== 3 passed, 1 failed, 2 skipped in 1.2s ===")
    count.py rc     LOG RC   1 passed or 1 failed by the exit code
    count.py auto   LOG RC   a step of any kind: its last plain "N passed, N failed" line if it prints one,
                             else the pytest summaries, else ansible-playbook's PLAY RECAP,
                             else the step itself counts as 1 passed or 1 failed by its exit code

Whatever the log says, a non-zero RC never counts as zero failures, and a zero RC with nothing
counted is one passed step (auto) or zero (sanity/pytest: the caller decides what "ran nothing" means).
"""
import re
import sys

PLAIN = re.compile(r'^(?:\w+: )?(\d+) passed, (\d+) failed(?:, \d+ skipped)?\s*$')
# "===== 3 passed, 1 failed in 1.2s =====", "57 passed in 17.89s" (-q), "176 passed in 1.76 seconds" (pytest 4)
PYTEST = re.compile(r'^(?:=+ )?((?:\d+ \w+|no tests ran)(?:, (?:\d+ \w+))*) in [0-9.]+ ?s(?:econds)?(?: \([0-9:]+\))?(?: =+)?\s*$')
RECAP = re.compile(r'^\S+\s+:\s+ok=(\d+)\s+changed=\d+\s+unreachable=(\d+)\s+failed=(\d+)')


def pytest_counts(lines):
    passed = failed = found = 0
    for line in lines:
        m = PYTEST.match(line.strip())
        if not m:
            continue
        found += 1
        body = m.group(1)
        for num, word in re.findall(r'(\d+) (passed|failed|errors?|xpassed)', body):
            if word in ('passed', 'xpassed'):
                passed += int(num)
            else:
                failed += int(num)
    return found, passed, failed


def sanity_counts(lines):
    ran = sum(1 for line in lines if line.startswith('Running sanity test '))
    failed = found = 0
    for line in lines:
        m = re.search(r'The (\d+) sanity test\(s\) listed below \(out of \d+\) failed', line)
        if m:
            failed += int(m.group(1))
        # "ERROR: Found 3 pylint issue(s)": one failed test (counted even when a crash ends the run early)
        if re.match(r'ERROR: Found \d+ \S+ issue', line):
            found += 1
        # a multi-version test that was silently not run (no virtualenv support, interpreter missing) is a failure
        if 'WARNING: Skipping sanity test' in line and 'because it is unsupported' not in line:
            failed += 1
            ran += 1
    failed = max(failed, found)
    return ran, max(ran - failed, 0), failed


def main():
    kind, log, rc = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with open(log, errors='replace') as handle:
        lines = [line.rstrip('\n') for line in handle]
    if kind == 'sanity':
        _ran, passed, failed = sanity_counts(lines)
    elif kind == 'rc':
        passed, failed = (1, 0) if rc == 0 else (0, 1)
    elif kind == 'pytest':
        _found, passed, failed = pytest_counts(lines)
    else:
        passed = failed = None
        for line in reversed(lines):
            if line.strip():
                m = PLAIN.match(line.strip())
                if m:
                    passed, failed = int(m.group(1)), int(m.group(2))
                break
        if passed is None:
            found, passed, failed = pytest_counts(lines)
            if not found:
                recaps = [RECAP.match(line) for line in lines]
                recaps = [m for m in recaps if m]
                if recaps:
                    bad = sum(1 for m in recaps if int(m.group(2)) or int(m.group(3)))
                    passed, failed = len(recaps) - bad, bad
                else:
                    passed, failed = (1, 0) if rc == 0 else (0, 1)
    if rc != 0 and failed == 0:
        failed = 1
    print(passed, failed)


if __name__ == '__main__':
    main()
