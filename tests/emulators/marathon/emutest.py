# See COPYING for copyright and license details.
"""Helpers for the emulator's own tests: start and stop instances, plain
HTTP requests (no redirects followed), polling with deadlines."""
import http.client
import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import tap  # noqa: E402,F401  (re-exported for the .t files)

EMULATOR = os.path.join(HERE, "emulator.py")


class Emu:
    """One emulator process on an ephemeral port."""

    def __init__(self, *args, state_dir=None, scratch=None):
        self.dir = scratch or tempfile.mkdtemp(prefix="emu-test-")
        self.own_dir = scratch is None
        port_file = os.path.join(self.dir, "port.%d" % time.monotonic_ns())
        self.log = os.path.join(self.dir, "emu.log")
        cmd = ["/usr/bin/python3", EMULATOR, "--port-file", port_file,
               "--state-dir", state_dir or os.path.join(self.dir, "state")]
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(cmd + list(args), stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=log)
        deadline = time.monotonic() + 10
        while not os.path.exists(port_file):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("emulator did not start:\n" + open(self.log).read())
            time.sleep(0.02)
        self.port = int(open(port_file).read())
        self.tls = "--tls-cert" in args
        self.url = "%s://127.0.0.1:%d" % ("https" if self.tls else "http", self.port)

    def request(self, method, path, body=None, headers=None, timeout=10):
        """(status, headers, body bytes); body may be a JSON-able object."""
        headers = dict(headers or {})
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
            headers.setdefault("Content-Type", "application/json")
        if self.tls:
            conn = http.client.HTTPSConnection(
                "127.0.0.1", self.port, timeout=timeout,
                context=ssl._create_unverified_context())
        else:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            return resp.status, resp.headers, resp.read()
        finally:
            conn.close()

    def json(self, method, path, body=None, headers=None, expect=None):
        status, _, data = self.request(method, path, body, headers)
        if expect is not None and status != expect:
            raise AssertionError("%s %s: %d %s" % (method, path, status, data[:500]))
        return json.loads(data) if data else None

    def ctl(self, method, path, data=None):
        return self.json(method, "/_emu" + path, data if data is not None else
                         ({} if method == "POST" else None), expect=200)

    def advance(self, seconds):
        return self.ctl("POST", "/clock", {"advance": seconds})

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)
        return self.proc.returncode


def wait_for(predicate, timeout=10.0, interval=0.05, what="condition"):
    """Poll until predicate() is truthy; returns its value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %ss waiting for %s" % (timeout, what))
        time.sleep(interval)


class EmuTest(unittest.TestCase):
    """Starts one emulator per test with ARGS; self.emu."""
    ARGS = ()

    def setUp(self):
        self.emu = Emu(*self.ARGS)
        self.addCleanup(self.emu.stop)

    def app(self, app_id):
        return self.emu.json("GET", "/v2/apps" + app_id, expect=200)["app"]

    def deployments(self):
        return self.emu.json("GET", "/v2/deployments", expect=200)

    def wait_deployed(self, dep_id, timeout=10):
        wait_for(lambda: all(d["id"] != dep_id for d in self.deployments()),
                 timeout, what="deployment %s to finish" % dep_id)

    def events(self, event_type=None):
        return [e for e in self.emu.ctl("GET", "/events")
                if event_type is None or e["eventType"] == event_type]
