# See COPYING for copyright and license details.
"""Helpers for the emulator's own tests: start and stop instances, plain
HTTP requests (no redirects followed), polling with deadlines."""
import json
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import tap  # noqa: E402,F401  (re-exported for the .t files)
from emucommon import EmuProcess, wait_for  # noqa: E402,F401

EMULATOR = os.path.join(HERE, "emulator.py")


class Emu(EmuProcess):
    """One emulator process on an ephemeral port."""

    def __init__(self, *args, state_dir=None, scratch=None):
        self.state_dir = state_dir
        super().__init__(EMULATOR, args, scratch)

    def arguments(self, args):
        return ["--state-dir", self.state_dir or os.path.join(self.dir, "state")] + args

    def request(self, method, path, body=None, headers=None, timeout=10):
        """(status, headers, body bytes); body may be a JSON-able object."""
        headers = dict(headers or {})
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
            headers.setdefault("Content-Type", "application/json")
        conn = self.connect(timeout)
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
