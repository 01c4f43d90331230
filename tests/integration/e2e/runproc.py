"""The processes of one test run of ansible-playbook, found by an environment marker, to kill a WHOLE run.

A user's cancel (AWX cancel or timeout, ^C, a dropped session) reaches ansible-playbook's process group, but
Ansible's workers call setsid(), so a module they started may live on (the "orphaned module" case, issue 14). To kill
a whole run - workers and modules included - the tests start it with ADE_RUN_MARK=<unique> in its environment:
every process of the run inherits it (fork/exec and setsid keep the environment; a parent that dies does not
matter, unlike a walk of the process tree by parent PID), and no other process has it.

  python3 runproc.py list MARK [PATTERN]   # PIDs (one per line) whose environment has ADE_RUN_MARK=MARK
                                           # (and whose command line contains PATTERN)
  python3 runproc.py kill MARK             # SIGKILL them all, repeatedly until none is left (max 5 s); rc 0
  python3 runproc.py orphans               # rc 0 when the ansible-core in use starts its workers with setsid()
                                           # (2.19 does; 2.16 does not, so there a process-group kill takes the
                                           # module with it and its lease stays until it expires)
"""
import os
import signal
import sys
import time


def pids(mark, pattern=None):
    want = ("ADE_RUN_MARK=%s" % mark).encode()
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == os.getpid():
            continue
        try:
            with open("/proc/%s/environ" % d, "rb") as f:
                env = f.read().split(b"\0")
            if want not in env:
                continue
            if pattern:
                with open("/proc/%s/cmdline" % d, "rb") as f:
                    if pattern.encode() not in f.read():
                        continue
            out.append(int(d))
        except OSError:
            continue
    return out


def workers_setsid():
    """True when this ansible-core's WorkerProcess calls os.setsid() (read from its source, not from a version)."""
    import inspect
    from ansible.executor.process import worker
    return "os.setsid()" in inspect.getsource(worker)


def main():
    if sys.argv[1] == "orphans":
        return 0 if workers_setsid() else 1
    cmd, mark = sys.argv[1], sys.argv[2]
    pattern = sys.argv[3] if len(sys.argv) > 3 else None
    if cmd == "list":
        found = pids(mark, pattern)
        if found:  # nothing at all when none: an empty line would count as one PID for `wc -l`
            print("\n".join(str(p) for p in found))
        return 0 if found else 1
    end = time.time() + 5
    while time.time() < end:
        found = pids(mark)
        if not found:
            return 0
        for p in found:
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.1)
    print("still alive: %s" % pids(mark), file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
