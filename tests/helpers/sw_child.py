#!/usr/bin/python3
# See COPYING for copyright and license details.
"""A command for service-wrapper's tests to run.

    sw_child.py signals FILE   record every catchable signal received in FILE
                               (one number per line); FILE.ready once set up
    sw_child.py env FILE       write the environment to FILE as JSON, values
                               hex-encoded, then exit 0
    sw_child.py status FILE    write SigBlk/SigIgn/SigCgt of /proc/self/status
    sw_child.py serve          HTTP on $PORT0: GET / answers $GREETING and the
                               pid; FILE-less; runs until SIGTERM
"""
import http.server
import json
import os
import signal
import sys
import time


def write_atomic(path, data):
    with open(path + ".tmp", "wb") as f:
        f.write(data)
    os.rename(path + ".tmp", path)


def signals(path):
    def record(sig, _frame):
        with open(path, "a") as f:
            f.write("%d\n" % sig)

    for sig in sorted(signal.valid_signals()):
        if sig in (signal.SIGKILL, signal.SIGSTOP, signal.SIGCHLD):
            continue
        signal.signal(sig, record)
    write_atomic(path + ".ready", b"%d\n" % os.getpid())
    while True:
        time.sleep(3600)


def env(path):
    doc = {k.decode("latin-1"): v.hex() for k, v in os.environb.items()}
    write_atomic(path, json.dumps(doc, sort_keys=True).encode())


def status(path):
    with open("/proc/self/status") as f:
        lines = [l for l in f if l.startswith(("SigBlk:", "SigIgn:"))]
    write_atomic(path, "".join(lines).encode())


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        body = ("%s %d\n" % (os.environ.get("GREETING", ""), os.getpid())).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def serve():
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    srv = http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT0"])), Handler)
    srv.serve_forever()


if __name__ == "__main__":
    what = sys.argv[1]
    if what == "signals":
        signals(sys.argv[2])
    elif what == "env":
        env(sys.argv[2])
    elif what == "status":
        status(sys.argv[2])
    elif what == "serve":
        serve()
    else:
        sys.exit("sw_child.py: unknown mode %s" % what)
