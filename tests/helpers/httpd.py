#!/usr/bin/python3
# See COPYING for copyright and license details.
"""A small HTTP(S) server for the lib/http unit test.

    httpd.py --port-file FILE [--tls CERT KEY]

Binds 127.0.0.1 on an ephemeral port, writes the port to FILE once it
listens, serves until SIGTERM. Routes:
    /echo            JSON: method, path, headers, body
    /status/N        status N, body "status N\\nsecond line"
    /html/N          status N with a Jetty-like HTML page
    /slow/MS         answer after MS milliseconds
    /big/N           N bytes of 'x'
    /header          sets "X-Galley-Test: a value " and two Set-Cookie lines
    /continue        answers 100 Continue, then 200
"""
import http.server
import json
import os
import signal
import ssl
import sys
import time


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body, ctype="text/plain", headers=()):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def handle_any(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        parts = self.path.split("/")
        if self.path.startswith("/echo"):
            doc = {"method": self.command, "path": self.path,
                   "headers": {k.lower(): v for k, v in self.headers.items()},
                   "body": body.decode("utf-8", "replace")}
            self.reply(200, json.dumps(doc).encode(), "application/json")
        elif parts[1] == "status":
            code = int(parts[2])
            self.reply(code, b"status %d\nsecond line" % code)
        elif parts[1] == "html":
            code = int(parts[2])
            page = (b"<html>\n<head><title>Error %d</title></head>\n"
                    b"<body><h2>HTTP ERROR %d</h2></body>\n</html>\n" % (code, code))
            self.reply(code, page, "text/html;charset=iso-8859-1")
        elif parts[1] == "slow":
            time.sleep(int(parts[2]) / 1000)
            self.reply(200, b"slow")
        elif parts[1] == "big":
            self.reply(200, b"x" * int(parts[2]))
        elif parts[1] == "header":
            self.reply(200, b"h", headers=[("X-Galley-Test", "a value "),
                                           ("Set-Cookie", "a=1"),
                                           ("Set-Cookie", "b=2")])
        else:
            self.reply(404, b"not found")

    do_GET = do_PUT = do_POST = do_DELETE = do_PATCH = do_HEAD = handle_any


def main():
    args = sys.argv[1:]
    port_file = args[args.index("--port-file") + 1]
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    if "--tls" in args:
        i = args.index("--tls")
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args[i + 1], args[i + 2])
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    tmp = port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
