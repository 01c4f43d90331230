#!/usr/bin/env python
"""One fake IMDS + WireServer process for a whole fleet of test hosts (tests/hosts/lib/fleet.py).

The per-host imds_server.py costs one Python process (~15 MB) per host. Here one process enters each
host's network namespace in turn (setns), binds that namespace's 169.254.169.254:80 and WireServer
address there (a socket stays in the namespace it was created in), and serves them all; each host's
IMDS answers with its own instance document (its own vmId), exactly like imds_server.py does.

Usage: fleet_imds.py CONFIG.json   (a list of {netns, imds_addr, wireserver_addr, instance})
"""
import ctypes
import json
import os
import selectors
import sys
from http.server import ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import imds_server  # noqa: E402

CLONE_NEWNET = 0x40000000
libc = ctypes.CDLL("libc.so.6", use_errno=True)


def setns(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            e = ctypes.get_errno()
            raise OSError(e, "setns(%s): %s" % (path, os.strerror(e)))
    finally:
        os.close(fd)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64


def main():
    with open(sys.argv[1]) as f:
        hosts = json.load(f)
    own = "/proc/self/ns/net"
    home = os.open(own, os.O_RDONLY)
    servers = []
    for h in hosts:
        setns("/run/netns/" + h["netns"])
        servers.append(Server((h["imds_addr"], 80), imds_server.make_imds_handler(h["instance"])))
        if h.get("wireserver_addr"):
            servers.append(Server((h["wireserver_addr"], 80), imds_server.WireHandler))
    if libc.setns(home, CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), "setns back")
    sel = selectors.DefaultSelector()
    for srv in servers:
        sel.register(srv, selectors.EVENT_READ, srv)
    sys.stderr.write("serving %d hosts (%d listeners)\n" % (len(hosts), len(servers)))
    sys.stderr.flush()
    while True:   # one thread waits on every listener; each request is answered in its own thread
        for key, _mask in sel.select():
            key.data._handle_request_noblock()  # pylint: disable=protected-access


if __name__ == "__main__":
    main()
