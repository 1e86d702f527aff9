#!/usr/bin/python3
# See COPYING for copyright and license details.
"""Auth modes and TLS (marathon.md §1.11), the event stream (§1.9), fault
injection, the request log and the sh helper emu.sh."""
import base64
import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from emutest import HERE, Emu, EmuTest, tap  # noqa: E402

import marathon  # noqa: E402

logging.getLogger("marathon").setLevel(logging.CRITICAL)
SIM = {"container": {"docker": {"image": "nginx:1"}}, "instances": 1}


class BasicAuthTest(EmuTest):
    ARGS = ("--auth", "basic:ops:s3cr:et")

    def test_401_is_jetty_html_with_challenge(self):
        for headers in ({}, {"Authorization": "Basic " + base64.b64encode(b"ops:no").decode()}):
            status, h, body = self.emu.request("GET", "/ping", headers=headers)
            self.assertEqual(status, 401)
            self.assertEqual(h["WWW-Authenticate"], 'basic realm="Mesosphere"')
            self.assertTrue(h["Content-Type"].startswith("text/html"))
            self.assertIn(b"<h2>HTTP ERROR 401</h2>", body)

    def test_credentials_work_and_are_never_logged(self):
        client = marathon.MarathonClient(self.emu.url, username="ops", password="s3cr:et")
        self.assertEqual(client.create_app("/web", marathon.MarathonApp(
            cmd="sleep 1", instances=0)).id, "/web")
        log = self.emu.ctl("GET", "/requests")
        self.assertEqual(log[-1]["authorization"], "basic")
        self.assertNotIn("s3cr", json.dumps(log))
        self.assertNotIn(base64.b64encode(b"ops:s3cr:et").decode(), json.dumps(log))


class TokenAuthTest(EmuTest):
    ARGS = ("--auth", "token:tok123")

    def test_token(self):
        status, h, body = self.emu.request("GET", "/v2/apps")
        self.assertEqual((status, h["WWW-Authenticate"]), (401, "acsjwt"))
        self.assertEqual(json.loads(body), {"message": "Invalid username or password."})
        client = marathon.MarathonClient(self.emu.url, auth_token="tok123")
        self.assertEqual(client.list_apps(), [])
        self.assertEqual(self.emu.ctl("GET", "/requests")[-1]["authorization"], "token")


class TlsTest(unittest.TestCase):
    def test_https(self):
        d = tempfile.mkdtemp(prefix="emu-tls-")
        self.addCleanup(shutil.rmtree, d, True)
        cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                        "-keyout", key, "-out", cert, "-days", "1", "-subj",
                        "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                       check=True, capture_output=True)
        emu = Emu("--tls-cert", cert, "--tls-key", key)
        self.addCleanup(emu.stop)
        self.assertTrue(emu.url.startswith("https://"))
        self.assertEqual(emu.request("GET", "/ping")[2], b"pong")
        client = marathon.MarathonClient(emu.url, verify=cert)
        self.assertEqual(client.list_apps(), [])


class EventsTest(EmuTest):
    ARGS = ("--heartbeat", "0.2")

    def stream(self, path="/v2/events", accept="text/event-stream"):
        s = socket.create_connection(("127.0.0.1", self.emu.port), timeout=5)
        s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nAccept: %s\r\n\r\n" % (path, accept)).encode())
        self.addCleanup(s.close)
        return s

    @staticmethod
    def read_until(s, needle, timeout=5):
        data = b""
        deadline = time.monotonic() + timeout
        while needle not in data:
            if time.monotonic() > deadline:
                raise AssertionError("no %r in %r" % (needle, data))
            data += s.recv(65536)
        return data

    def test_wrong_accept_is_405_html(self):
        for accept in ("*/*", "text/event-stream, application/json"):
            status, h, body = self.emu.request("GET", "/v2/events", headers={"Accept": accept})
            self.assertEqual(status, 405)
            self.assertIn(b"HTTP method GET is not supported by this URL", body)
            self.assertTrue(h["Content-Type"].startswith("text/html"))

    def test_framing_heartbeat_and_deployment_events(self):
        s = self.stream()
        data = self.read_until(s, b"\r\n\r\n" + b"event: event_stream_attached\r\n")
        head = data.split(b"\r\n\r\n")[0].decode()
        self.assertIn("Content-Type: text/event-stream;charset=utf-8", head)
        self.assertIn("Connection: close", head)
        data = self.read_until(s, b"\r\n\r\n\r\n")          # a bare CRLF heartbeat
        self.emu.json("PUT", "/v2/apps/web", SIM, expect=201)
        data += self.read_until(s, b"event: deployment_success\r\n")
        data += self.read_until(s, b"\r\n\r\n")
        body = data.split(b"\r\n\r\n", 1)[1].decode()
        blocks = [b.lstrip("\r\n") for b in body.split("\r\n\r\n")]   # heartbeats
        events = [b for b in blocks if b.startswith("event: ")]
        names = [b.split("\r\n")[0][len("event: "):] for b in events]
        for name in ("api_post_event", "group_change_success", "deployment_info",
                     "status_update_event", "deployment_step_success", "deployment_success"):
            self.assertIn(name, names)
        for block in events:
            name, data_line = block.split("\r\n")
            event = json.loads(data_line[len("data: "):])
            self.assertEqual(event["eventType"], name[len("event: "):])
            self.assertIn("timestamp", event)
        self.assertNotIn("\n", body.replace("\r\n", ""), "CRLF only")

    def test_event_type_filter(self):
        s = self.stream("/v2/events?event_type=deployment_success&event_type=api_post_event")
        self.read_until(s, b"\r\n\r\n")
        self.emu.json("PUT", "/v2/apps/web", SIM, expect=201)
        data = self.read_until(s, b"event: deployment_success\r\n")
        names = [line for line in data.decode().split("\r\n") if line.startswith("event: ")]
        self.assertEqual(names, ["event: api_post_event", "event: deployment_success"])


class FaultTest(EmuTest):
    def test_status_garbage_and_count(self):
        self.emu.ctl("POST", "/fault", {"path": "/v2/apps/*", "method": "PUT",
                                        "kind": "status", "status": 503, "count": 2})
        for _ in range(2):
            status, h, body = self.emu.request("PUT", "/v2/apps/web", SIM)
            self.assertEqual(status, 503)
            self.assertIn(b"HTTP ERROR 503", body)
        self.assertEqual(self.emu.request("PUT", "/v2/apps/web", SIM)[0], 201)
        self.emu.ctl("POST", "/fault", {"path": "/v2/apps", "kind": "garbage"})
        status, h, body = self.emu.request("GET", "/v2/apps")
        self.assertEqual((status, h["Content-Type"]), (200, "application/json"))
        self.assertRaises(ValueError, json.loads, body)
        log = self.emu.ctl("GET", "/requests")
        self.assertEqual([r["fault"] for r in log], ["status", "status", None, "garbage"])
        self.assertEqual([r["status"] for r in log], [503, 503, 201, 200])

    def test_reset_hang_and_delay(self):
        self.emu.ctl("POST", "/fault", {"path": "/v2/info", "kind": "reset"})
        with self.assertRaises(OSError):
            self.emu.request("GET", "/v2/info")
        self.emu.ctl("POST", "/fault", {"path": "/v2/info", "kind": "hang"})
        with self.assertRaises(socket.timeout):
            self.emu.request("GET", "/v2/info", timeout=0.5)
        self.emu.ctl("POST", "/fault", {"path": "/ping", "kind": "delay", "seconds": 0.3})
        start = time.monotonic()
        self.assertEqual(self.emu.request("GET", "/ping")[0], 200)
        self.assertGreaterEqual(time.monotonic() - start, 0.3)

    def test_request_log(self):
        self.emu.request("PUT", "/v2/apps/web?partialUpdate=false&force=true", SIM)
        self.emu.ctl("GET", "/state")
        log = self.emu.ctl("GET", "/requests")
        self.assertEqual(len(log), 1, "control requests are not logged")
        entry = log[0]
        self.assertEqual((entry["method"], entry["path"]), ("PUT", "/v2/apps/web"))
        self.assertEqual(entry["params"], {"partialUpdate": ["false"], "force": ["true"]})
        self.assertEqual(entry["json"], SIM)
        self.assertEqual(entry["headers"]["Content-Type"], "application/json")
        self.assertIsNone(entry["authorization"])
        self.emu.ctl("DELETE", "/requests")
        self.assertEqual(self.emu.ctl("GET", "/requests"), [])


class ShellHelperTest(unittest.TestCase):
    def test_emu_sh_under_dash_with_set_e(self):
        d = tempfile.mkdtemp(prefix="emu-sh-")
        self.addCleanup(shutil.rmtree, d, True)
        script = r"""
set -eu
. "$HOME_DIR/emu.sh"
marathon_emu_start --clock manual --name one
case $MARATHON_EMU_URL in http://127.0.0.1:*) ;; *) exit 9 ;; esac
curl -sf -X PUT -H 'Content-Type: application/json' \
    -d '{"cmd":"sleep 1","instances":0}' "$MARATHON_EMU_URL/v2/apps/web" >/dev/null
marathon_emu_ctl POST /_emu/clock '{"advance": 5}' | grep -q '"clock"'
marathon_emu_requests | grep '"method":"PUT"' | grep -q '"path":"/v2/apps/web"'
echo "pid=$MARATHON_EMU_PID"
marathon_emu_stop
"""
        env = dict(os.environ, HOME_DIR=HERE, EMU_DIR=d, MARATHON_EMU_HOME=HERE)
        out = subprocess.run(["dash", "-c", script], env=env, capture_output=True,
                             text=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        pid = int(out.stdout.split("pid=")[1])
        self.assertFalse(os.path.exists("/proc/%d" % pid))


if __name__ == "__main__":
    tap.main()
