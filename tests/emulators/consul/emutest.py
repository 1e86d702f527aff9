# See COPYING for copyright and license details.
"""Helpers for the emulator's own tests: start and stop instances, raw
HTTP requests on fresh or kept-alive connections, polling with deadlines."""
import json
import os
import sys
import threading
import time
import unittest
from urllib.parse import quote

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import tap  # noqa: E402,F401  (re-exported for the .t files)
from emucommon import EmuProcess, wait_for  # noqa: E402,F401

EMULATOR = os.path.join(HERE, "emulator.py")


class Emu(EmuProcess):
    """One emulator process on an ephemeral port."""

    def __init__(self, *args, scratch=None):
        super().__init__(EMULATOR, args, scratch, prefix="consul-emu-test-")

    def request(self, method, path, body=None, headers=None, timeout=10, conn=None):
        """(status, headers, body bytes). Pass conn to reuse a connection."""
        own = conn is None
        conn = conn or self.connect(timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, resp.headers, resp.read()
        finally:
            if own:
                conn.close()

    def json(self, method, path, body=None, headers=None, expect=200):
        status, _, data = self.request(method, path, body, headers)
        if expect is not None and status != expect:
            raise AssertionError("%s %s: %d %r" % (method, path, status, data[:300]))
        return json.loads(data) if data else None

    def put(self, key, value, query="", headers=None):
        status, _, body = self.request("PUT", "/v1/kv/" + quote(key) +
                                       ("?" + query if query else ""), value, headers)
        if status != 200:
            raise AssertionError("PUT %s: %d %r" % (key, status, body))
        return json.loads(body)

    def delete(self, key, query="", headers=None):
        status, _, body = self.request("DELETE", "/v1/kv/" + quote(key) +
                                       ("?" + query if query else ""), headers=headers)
        if status != 200:
            raise AssertionError("DELETE %s: %d %r" % (key, status, body))
        return json.loads(body)

    def index(self, path, headers=None):
        """The X-Consul-Index of a GET."""
        status, h, _ = self.request("GET", path, headers=headers)
        return int(h["X-Consul-Index"])

    def ctl(self, method, path, data=None):
        body = json.dumps(data) if data is not None else ("{}" if method == "POST" else None)
        return self.json(method, "/_emu" + path, body,
                         {"Content-Type": "application/json"} if body else None)

    def requests(self):
        return self.ctl("GET", "/requests")

class Async:
    """A request in a thread: start it, do something, then .result()."""

    def __init__(self, emu, method, path, headers=None, timeout=20):
        self.out = None
        self.err = None
        self.started = time.monotonic()
        self.elapsed = None

        def run():
            try:
                self.out = emu.request(method, path, headers=headers, timeout=timeout)
            except Exception as e:          # reported by result()
                self.err = e
            self.elapsed = time.monotonic() - self.started
        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def done(self):
        return not self.thread.is_alive()

    def result(self, timeout=20):
        self.thread.join(timeout)
        if self.thread.is_alive():
            raise AssertionError("request still running after %ss" % timeout)
        if self.err is not None:
            raise self.err
        return self.out


class EmuTest(unittest.TestCase):
    """Starts one emulator per test with ARGS; self.emu."""
    ARGS = ("--no-jitter",)

    def setUp(self):
        self.emu = Emu(*self.ARGS)
        self.addCleanup(self.emu.stop)

    def blocked(self, n=1):
        """Wait until n queries block in the emulator."""
        wait_for(lambda: self.emu.ctl("GET", "/state")["blocking"] >= n,
                 what="%d blocking queries" % n)
