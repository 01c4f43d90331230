"""Command line: python -m azsim serve|seed|log|stop|clock|fault|state --workdir DIR ..."""

import argparse
import json
import os
import signal
import subprocess
import sys
import time

from . import DEFAULT_CLIENT_ID, DEFAULT_SECRET, DEFAULT_SUBSCRIPTION, DEFAULT_TENANT
from .admin import SimAdmin
from .server import serve


def _interrupt(_signum, _frame):
    raise KeyboardInterrupt()


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m azsim", description="Local Azure (ARM + login) simulator")
    sp = ap.add_subparsers(dest="cmd", required=True)

    p = sp.add_parser("serve", help="start the server (foreground unless --daemon)")
    p.add_argument("--workdir", required=True)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--time-scale", type=float, default=60.0, help="simulated seconds per wall second")
    p.add_argument("--scenario", help="scenario JSON file to seed at start")
    p.add_argument("--daemon", action="store_true", help="run in the background; return once ready")
    p.add_argument("--tenant-id", default=DEFAULT_TENANT)
    p.add_argument("--client-id", default=DEFAULT_CLIENT_ID)
    p.add_argument("--client-secret", default=DEFAULT_SECRET)
    p.add_argument("--subscription-id", default=DEFAULT_SUBSCRIPTION)

    p = sp.add_parser("seed", help="load a scenario JSON into a running server")
    p.add_argument("--workdir", required=True)
    p.add_argument("--replace", action="store_true", help="reset the world first")
    p.add_argument("file")

    p = sp.add_parser("log", help="print the request log")
    p.add_argument("--workdir", required=True)
    p.add_argument("--since", type=int, default=0)
    p.add_argument("--json", action="store_true")
    p.add_argument("--clear", action="store_true")
    p.add_argument("--stats", action="store_true", help="print the summary (GET /_sim/stats) instead")

    p = sp.add_parser("stop", help="stop a running server")
    p.add_argument("--workdir", required=True)

    p = sp.add_parser("clock", help="show or change the simulated clock")
    p.add_argument("--workdir", required=True)
    p.add_argument("--advance", type=float)
    p.add_argument("--time-scale", type=float)

    p = sp.add_parser("fault", help="add a fault rule (JSON) or clear all with --clear")
    p.add_argument("--workdir", required=True)
    p.add_argument("--clear", action="store_true")
    p.add_argument("rule", nargs="?")

    p = sp.add_parser("state", help="dump the simulator state")
    p.add_argument("--workdir", required=True)

    a = ap.parse_args(argv)
    wd = os.path.abspath(a.workdir)

    if a.cmd == "serve":
        if a.daemon:
            os.makedirs(wd, exist_ok=True)
            for name in ("endpoints.json", "server.pid"):
                try:
                    os.unlink(os.path.join(wd, name))
                except FileNotFoundError:
                    pass
            cmd = [sys.executable, "-m", "azsim", "serve", "--workdir", wd, "--port", str(a.port), "--host", a.host,
                   "--time-scale", str(a.time_scale)]
            if a.scenario:
                cmd += ["--scenario", os.path.abspath(a.scenario)]
            cmd += ["--tenant-id", a.tenant_id, "--client-id", a.client_id, "--client-secret", a.client_secret,
                    "--subscription-id", a.subscription_id]
            env = dict(os.environ)
            env["PYTHONPATH"] = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + (
                os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
            with open(os.path.join(wd, "server.log"), "ab") as log:
                proc = subprocess.Popen(cmd, stdout=log, stderr=log, stdin=subprocess.DEVNULL, env=env,
                                        start_new_session=True)
            try:
                adm = SimAdmin.wait(wd, timeout=30)
            except TimeoutError:
                proc.kill()
                sys.stderr.write(open(os.path.join(wd, "server.log")).read()[-2000:])
                return 1
            print(json.dumps(adm.endpoints, indent=2))
            return 0

        def ready(srv, ep):
            print(json.dumps(ep, indent=2), flush=True)
        signal.signal(signal.SIGTERM, _interrupt)
        try:
            serve(wd, a.port, a.host, a.time_scale, a.scenario, ready_cb=ready,
                  identity=(a.tenant_id, a.client_id, a.client_secret, a.subscription_id))
        except KeyboardInterrupt:
            pass
        return 0

    if a.cmd == "stop":
        pidfile = os.path.join(wd, "server.pid")
        try:
            pid = int(open(pidfile).read().strip())
        except (OSError, ValueError):
            print("no server.pid in %s" % wd, file=sys.stderr)
            return 1
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            os.unlink(pidfile)
            return 0
        for _unused in range(100):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return 0
            time.sleep(0.05)
        print("server %d did not stop" % pid, file=sys.stderr)
        return 1

    adm = SimAdmin(wd)
    if a.cmd == "seed":
        with open(a.file) as fh:
            print(json.dumps(adm.seed(json.load(fh), replace=a.replace)))
    elif a.cmd == "log":
        if a.clear:
            adm.clear_log()
            return 0
        if a.stats:
            print(json.dumps(adm.stats(since=a.since), indent=2))
            return 0
        ents = adm.log(since=a.since)
        if a.json:
            print(json.dumps(ents, indent=1))
        else:
            for e in ents:
                print("%6d %s %-6s %3d %7d %-5s %s%s%s" % (
                    e["seq"], e["wall_iso"][11:23], e["method"], e["status"], e["bytes"], e["kind"], e["path"],
                    "?" + e["query"] if e["query"] else "", "  [fault %s]" % e["fault"] if e["fault"] else ""))
            print("# %d requests" % len(ents))
    elif a.cmd == "clock":
        if a.time_scale is not None:
            adm.set_time_scale(a.time_scale)
        print(json.dumps(adm.advance(a.advance) if a.advance is not None else adm.clock(), indent=2))
    elif a.cmd == "fault":
        if a.clear:
            adm.clear_faults()
        elif a.rule:
            print(json.dumps(adm.add_fault(**json.loads(a.rule))))
        else:
            print(json.dumps(adm.faults(), indent=2))
    elif a.cmd == "state":
        print(json.dumps(adm.state(), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
