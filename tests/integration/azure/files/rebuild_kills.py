"""The rebuild killed at every step and resumed (issue 17): vm_rebuild runs as its own process (as under
ansible-playbook, the real SDK against the simulator); at each step of the whole rebuild - every record PATCH and every
Azure write, in order - the simulator holds that request (fault ``hold``; a PATCH of the old VM's tags is told apart
by its body), the module is SIGKILLed while it waits, then the request goes on (Azure accepted it, nobody saw the
answer). The next run - a new process, so another run for the VM lease (issue 14) - waits for the killed run's lease
to expire, takes it over, resumes from the record and is killed at the next step. After the last step, each state once
more: no write. Prints JSON {points: [...], final: [...], ok, problems}; exit 0 when every point was reached in order,
every resumed run took the lease over and the final runs sent no write.
  rebuild_kills.py RG VM CUTOVER(private_ip|dns) OLD_PIP_NAME(dns only, else -) [ONLY]
ONLY=dns: killed only at the steps of the DNS cut-over (the new public IP's create, the swap marker, the old label
freed, the new public IP given it); a state whose last step was not killed is run to its end by a run that is not
killed (it takes the killed run's lease over), so the cheap variant still ends where the whole one does; at the end
only cut_over and verified once more (the whole variant runs every state once more)."""
import json
import os
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request

ADMIN = os.environ["SIM_ADMIN"]
CTX = ssl.create_default_context(cafile=os.environ["AZURE_CA_BUNDLE"])
RG, VM, CUTOVER, OLD_PIP = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
ONLY = sys.argv[5] if len(sys.argv) > 5 else None
NEW = VM + "-eah"
TTL = 4            # the killed run's lease: the next run takes it over ~TTL + skew (1 s) after it was taken
MODULE = "ansible_collections.azure_ade.linux.plugins.modules.vm_rebuild"


def admin(method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(ADMIN + path, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, context=CTX, timeout=30) as r:
        text = r.read()
    return json.loads(text) if text else None


def stage(s):
    return r'"azure_ade_rebuild_stage":\s*"%s"' % s


OLD_VM = "/virtualMachines/%s$" % VM
POINTS = [("present", "plan recorded", "PATCH", OLD_VM, stage("planned"))]
if CUTOVER == "dns":
    POINTS += [("present", "new public IP create", "PUT", "/publicIPAddresses/%s-pip$" % NEW, None)]
POINTS += [
    ("present", "new NIC create", "PUT", "/networkInterfaces/%s-nic$" % NEW, None),
    ("present", "NIC recorded", "PATCH", OLD_VM, stage("nic")),
    ("present", "new VM create", "PUT", "/virtualMachines/%s$" % NEW, None),
    ("present", "VM recorded", "PATCH", OLD_VM, stage("vm")),
    ("configured", "configured recorded", "PATCH", OLD_VM, stage("configured")),
    ("copied", "copied recorded", "PATCH", OLD_VM, stage("copied")),
    ("compared", "compared recorded", "PATCH", OLD_VM, stage("compared")),
    ("cut_over", "old VM deallocate", "POST", "/virtualMachines/%s/deallocate$" % VM, None)]
if CUTOVER == "dns":
    POINTS += [
        ("cut_over", "swap marker recorded", "PATCH", OLD_VM, r'"azure_ade_rebuild_swap":\s*"dns"'),
        ("cut_over", "old public IP's label freed", "PUT", "/publicIPAddresses/%s$" % OLD_PIP, None),
        ("cut_over", "new public IP given the label", "PUT", "/publicIPAddresses/%s-pip$" % NEW, None)]
else:
    POINTS += [
        ("cut_over", "spare address recorded", "PATCH", OLD_VM, r'"azure_ade_rebuild_spare_ip"'),
        ("cut_over", "old NIC to the spare address", "PUT", "/networkInterfaces/%s-nic$" % VM, None),
        ("cut_over", "new NIC takes the address", "PUT", "/networkInterfaces/%s-nic$" % NEW, None)]
POINTS += [("cut_over", "cut-over recorded", "PATCH", OLD_VM, stage("cut_over")),
           ("verified", "verified recorded", "PATCH", OLD_VM, stage("verified"))]
STATES = ("present", "configured", "copied", "compared", "cut_over", "verified")
DNS_POINTS = ("new public IP create", "swap marker recorded", "old public IP's label freed",
              "new public IP given the label")
KILLED = [p for p in POINTS if ONLY is None or (ONLY == "dns" and p[1] in DNS_POINTS)]


class Run:
    """One module run, detached from this script (and so from the ansible-playbook that runs it): the module's lease
    token comes from the ansible-playbook process a module descends from (base.run_token) - a run of its own gets a
    token of its own, as a re-run by the operator does."""

    def __init__(self, state, work):
        args = {"resource_group": RG, "name": VM, "state": state, "auth_source": "env", "lease_ttl": TTL,
                "lease_wait": 120, "timeout": 600}
        if state == "present":
            args["cutover"] = CUTOVER
        path = os.path.join(work, "args.json")
        with open(path, "w") as f:
            json.dump({"ANSIBLE_MODULE_ARGS": args}, f)
        self.out = os.path.join(work, "out.json")
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            [x for x in os.environ.get("ANSIBLE_COLLECTIONS_PATH", "").split(os.pathsep) if x] +
            [os.environ.get("PYTHONPATH", "")]))
        # the shell that starts it exits at once: the module's parent is no longer this script
        self.pid = int(subprocess.check_output(
            ["sh", "-c", 'setsid "$0" -m "$1" "$2" >"$3" 2>&1 </dev/null & echo $!', sys.executable, MODULE, path,
             self.out], env=env).decode().strip())

    def alive(self):
        try:
            with open("/proc/%d/stat" % self.pid) as f:
                return f.read().rsplit(")", 1)[1].split()[0] != "Z"
        except OSError:
            return False

    def kill(self):
        try:
            os.kill(self.pid, signal.SIGKILL)
        except OSError:
            pass
        while self.alive():
            time.sleep(0.05)

    def wait(self, timeout=900):
        end = time.time() + timeout
        while self.alive() and time.time() < end:
            time.sleep(0.2)
        if self.alive():
            self.kill()

    def result(self):
        with open(self.out) as f:
            text = f.read()
        try:
            return json.loads(text[text.index("{"):])
        except ValueError:
            return {"failed": True, "msg": text[-2000:]}


def writes_since(seq):
    log = admin("GET", "/log?kind=arm&since=%d" % seq)
    return [e for e in log["entries"] if e["method"] != "GET" and e.get("tags_changed") != ["azure_ade_lease"]], \
        log["last_seq"]


def main():
    work = tempfile.mkdtemp(prefix="rebuild-kills-")
    points, problems = [], []
    took_over_needed = False
    t0 = time.time()
    completed = []
    for state, what, method, path, body in POINTS:
        if (state, what, method, path, body) not in KILLED:
            # not killed here (ONLY): once the state's last step is passed, a run that is not killed ends the state
            if [p for p in POINTS if p[0] == state][-1][1] == what:
                run = Run(state, work)
                run.wait()
                res = run.result()
                completed.append({"state": state, "failed": bool(res.get("failed")), "steps": res.get("steps")})
                if res.get("failed"):
                    problems.append("%s (not killed): %s" % (state, res.get("msg")))
                took_over_needed = False
            continue
        rule = admin("POST", "/faults", {"method": method, "path": path, "body": body, "action": "hold", "count": 1,
                                         "seconds": 90})
        rid = rule["rules"][0]["id"]
        run = Run(state, work)
        hit = False
        deadline = time.time() + 150
        while run.alive() and time.time() < deadline:
            if any(r.get("id") == rid and r.get("hits", 0) >= 1 for r in admin("GET", "/faults")["rules"]):
                hit = True
                break
            time.sleep(0.2)
        run.kill()
        admin("DELETE", "/faults")          # the held request goes on: Azure accepted it, nobody saw the answer
        time.sleep(0.5)
        res = run.result() if not hit else None
        points.append({"state": state, "killed_at": what, "reached": hit,
                       "result": None if hit else {k: res.get(k) for k in ("failed", "msg", "steps")}})
        if not hit:
            why = (res or {}).get("msg") or (res or {}).get("steps")
            problems.append("%s: the run did not reach '%s' (%s)" % (state, what, why))
        took_over_needed = True
    # every state once more: each must send no write (the first takes the last killed run's lease over)
    final = []
    _w, seq = writes_since(0)
    for state in (STATES if ONLY is None else ("cut_over", "verified")):
        run = Run(state, work)
        run.wait()
        res = run.result()
        w, seq2 = writes_since(seq)
        seq = seq2
        # warnings are strings up to ansible-core 2.18, summaries (dicts) from 2.19: look at the text
        warned = "taking over an expired lease" in json.dumps(res.get("warnings") or [])
        final.append({"state": state, "failed": bool(res.get("failed")), "changed": res.get("changed"),
                      "steps": res.get("steps"), "writes": ["%s %s" % (e["method"], e["path"]) for e in w],
                      "took_over": warned, "msg": res.get("msg")})
        if res.get("failed") or res.get("changed") or w:
            problems.append("final %s: %s" % (state, final[-1]))
    if took_over_needed and not final[0]["took_over"]:
        problems.append("the first final run did not take the killed run's lease over: %s" % final[0])
    print(json.dumps({"points": points, "completed": completed, "final": final, "ok": not problems, "problems": problems,
                      "seconds": round(time.time() - t0, 1)}))
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
