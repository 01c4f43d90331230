#!/usr/bin/env python
"""Fake Azure Instance Metadata Service + WireServer for one test host.

Runs inside the test host's network namespace (started by hostlib.py with
`ip netns exec`), outside its PID/mount namespaces, so the guest sees neither the process
nor its files - only the two endpoints, as on Azure:

* IMDS on 169.254.169.254:80 (address on the netns' lo): answers like Azure does -
  400 without `Metadata: true`, 400 with an `X-Forwarded-For` header (proxied request),
  400 without api-version, 404 for unknown paths; JSON or `format=text` for leaves.
* WireServer on the address written to the guest's /var/lib/waagent/WireServerEndpoint:
  `GET /?comp=versions` answers the versions document; anything else 400/404.

Usage: imds_server.py CONFIG.json   (keys: imds_addr, wireserver_addr, instance)
"""
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

NEWEST = ["2023-07-01", "2023-11-15", "2024-03-15"]
VERSIONS_XML = (
    '<?xml version="1.0" encoding="utf-8"?>\n'
    "<Versions>\n  <Preferred>\n    <Version>2015-04-05</Version>\n  </Preferred>\n"
    "  <Supported>\n    <Version>2015-04-05</Version>\n    <Version>2012-11-30</Version>\n"
    "    <Version>2012-09-15</Version>\n    <Version>2012-05-15</Version>\n"
    "    <Version>2011-12-31</Version>\n    <Version>2011-10-15</Version>\n"
    "    <Version>2011-08-31</Version>\n    <Version>2011-04-07</Version>\n"
    "    <Version>2010-12-15</Version>\n    <Version>2010-28-10</Version>\n"
    "  </Supported>\n</Versions>"
)


def make_imds_handler(instance):
    class Handler(BaseHTTPRequestHandler):
        server_version = ""
        sys_version = ""
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):
            sys.stderr.write("imds %s %s\n" % (self.address_string(), fmt % args))

        def send(self, code, body, ctype="application/json; charset=utf-8"):
            data = body.encode("utf-8")
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Server", "IMDS/150.870.65.1325")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            url = urlsplit(self.path)
            query = parse_qs(url.query)
            if self.headers.get("X-Forwarded-For"):
                return self.send(400, json.dumps({"error": "Bad request. X-Forwarded-For header is not allowed"}))
            if (self.headers.get("Metadata") or "").lower() != "true":
                return self.send(400, json.dumps({"error": "Bad request. Required metadata header not specified"}))
            path = url.path.rstrip("/")
            if not path.startswith("/metadata/instance"):
                return self.send(404, json.dumps({"error": "Not found"}))
            if "api-version" not in query:
                return self.send(400, json.dumps({"error": "Bad request. api-version was not specified in the querystring or header",
                                                  "newest-versions": NEWEST}))
            node = instance
            for part in [p for p in path[len("/metadata/instance"):].split("/") if p]:
                if isinstance(node, dict) and part in node:
                    node = node[part]
                elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                    node = node[int(part)]
                else:
                    return self.send(404, json.dumps({"error": "Not found"}))
            fmt = (query.get("format") or ["json"])[0]
            if fmt == "text":
                if isinstance(node, (dict, list)):
                    return self.send(400, json.dumps({"error": "Bad request. Only leaf nodes can be requested in text format"}))
                return self.send(200, "%s" % node, "text/plain; charset=utf-8")
            return self.send(200, json.dumps(node))

        def do_POST(self):
            self.send(405, json.dumps({"error": "Method not allowed"}))

        do_PUT = do_POST
        do_DELETE = do_POST

    return Handler


class WireHandler(BaseHTTPRequestHandler):
    server_version = "Microsoft-IIS/8.5"
    sys_version = ""
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        sys.stderr.write("wireserver %s %s\n" % (self.address_string(), fmt % args))

    def send(self, code, body):
        data = body.encode("utf-8")
        self.send_response(code)
        self.send_header("Content-Type", "text/xml; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if urlsplit(self.path).query == "comp=versions":
            return self.send(200, VERSIONS_XML)
        return self.send(400, "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>BadRequest</Code></Error>")

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        return self.send(400, "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>BadRequest</Code></Error>")


def main():
    with open(sys.argv[1]) as f:
        cfg = json.load(f)
    servers = [ThreadingHTTPServer((cfg["imds_addr"], 80), make_imds_handler(cfg["instance"]))]
    if cfg.get("wireserver_addr"):
        servers.append(ThreadingHTTPServer((cfg["wireserver_addr"], 80), WireHandler))
    for srv in servers[1:]:
        threading.Thread(target=srv.serve_forever, daemon=True).start()
    sys.stderr.write("serving %s\n" % ", ".join("%s:%d" % s.server_address for s in servers))
    sys.stderr.flush()
    servers[0].serve_forever()


if __name__ == "__main__":
    main()
