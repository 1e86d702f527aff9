#!/usr/bin/python3
# See COPYING for copyright and license details.
"""Fault injection, no leader, a stale follower, the control endpoint and
request log, --state-dir across a restart, TLS, and the sh helper emu.sh."""
import base64
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from emutest import HERE, Async, Emu, EmuTest, tap  # noqa: E402


class FaultTest(EmuTest):
    def fault(self, **fault):
        return self.emu.ctl("POST", "/fault", fault)

    def test_status_faults_count_and_match(self):
        self.fault(path="/v1/kv/app/*", method="GET", kind="status", count=2)
        for _ in range(2):
            status, h, body = self.emu.request("GET", "/v1/kv/app/x")
            self.assertEqual((status, body), (500, b"No cluster leader"))
            self.assertEqual(h["Content-Type"], "text/plain; charset=utf-8")
            self.assertIsNone(h["X-Consul-Index"])
            self.assertEqual(h["X-Consul-Default-Acl-Policy"], "allow")
        self.assertEqual(self.emu.request("GET", "/v1/kv/app/x")[0], 404, "count used up")
        self.fault(path="/v1/kv/*", kind="status", status=429, count=None)
        for method in ("GET", "PUT"):
            status, _, body = self.emu.request(method, "/v1/kv/k", b"1")
            self.assertEqual((status, body), (429, b"RPC rate limit exceeded"))
        self.assertEqual(len(self.emu.ctl("GET", "/faults")), 1, "count null: forever")
        self.emu.ctl("DELETE", "/faults")
        self.assertEqual(self.emu.ctl("GET", "/faults"), [])
        self.fault(kind="status", status=503, body="upstream", consul_headers=False)
        status, h, body = self.emu.request("GET", "/v1/kv/k")
        self.assertEqual((status, body, h["Vary"]), (503, b"upstream", None))
        log = self.emu.requests()
        self.assertEqual([r["fault"] for r in log], ["status"] * 2 + [None] + ["status"] * 3)
        self.assertEqual([r["status"] for r in log], [500, 500, 404, 429, 429, 503])

    def test_blocking_matcher(self):
        self.fault(kind="status", blocking=True)
        self.assertEqual(self.emu.request("GET", "/v1/kv/k")[0], 404)
        self.assertEqual(self.emu.request("GET", "/v1/kv/k?index=1")[0], 500)

    def test_garbage_and_not_consul_404(self):
        self.emu.put("k", b"1")
        self.fault(kind="garbage")
        status, h, body = self.emu.request("GET", "/v1/kv/k")
        self.assertEqual((status, h["Content-Type"], h["X-Consul-Index"]),
                         (200, "application/json", "11"))
        self.assertRaises(ValueError, json.loads, body)
        self.fault(kind="not-consul-404")
        status, h, body = self.emu.request("GET", "/v1/kv/k?recurse")
        self.assertEqual((status, body), (404, b"404 page not found\n"))
        self.assertEqual([n for n in h.keys() if n.lower().startswith("x-consul")], [])
        self.assertIsNone(h["Vary"])

    def test_reset_hang_delay(self):
        self.fault(path="/v1/kv/r", kind="reset")
        with self.assertRaises(ConnectionResetError):
            self.emu.request("GET", "/v1/kv/r")
        self.fault(path="/v1/kv/h", kind="hang", seconds=0.5)
        with self.assertRaises(socket.timeout):
            self.emu.request("GET", "/v1/kv/h", timeout=0.2)
        start = time.monotonic()
        with self.assertRaises(http.client.RemoteDisconnected):
            self.fault(path="/v1/kv/h", kind="hang", seconds=0.3)
            self.emu.request("GET", "/v1/kv/h")
        self.assertGreaterEqual(time.monotonic() - start, 0.3)
        self.fault(path="/v1/kv/d", kind="delay", seconds=0.3)
        start = time.monotonic()
        self.assertEqual(self.emu.request("GET", "/v1/kv/d")[0], 404)
        self.assertGreaterEqual(time.monotonic() - start, 0.3)

    def test_reset_during_block(self):
        self.fault(kind="reset-during-block", seconds=0.4, blocking=True)
        q = Async(self.emu, "GET", "/v1/kv/k?index=1&wait=30s")
        self.blocked()
        with self.assertRaises(ConnectionResetError):
            q.result(5)
        self.assertGreaterEqual(q.elapsed, 0.4)

    def test_bad_control_requests(self):
        status, _, body = self.emu.request("POST", "/_emu/fault", b'{"kind": "nope"}')
        self.assertEqual(status, 400)
        self.assertEqual(self.emu.request("POST", "/_emu/fault", b"[1]")[0], 400)
        self.assertEqual(self.emu.request("GET", "/_emu/nothing")[0], 404)
        self.assertEqual(self.emu.request("POST", "/_emu/index-reset", b'{"to": 0}')[0], 400)
        self.assertEqual(self.emu.requests(), [], "control requests are not logged")


class LeaderTest(EmuTest):
    def test_no_leader(self):
        self.emu.put("k", b"1")
        self.emu.ctl("POST", "/leader", {"leader": False})
        self.assertFalse(self.emu.ctl("GET", "/state")["leader"])
        for method, path in (("GET", "/v1/kv/k"), ("GET", "/v1/kv/?recurse"),
                             ("GET", "/v1/kv/k?consistent"), ("PUT", "/v1/kv/k"),
                             ("DELETE", "/v1/kv/k")):
            status, h, body = self.emu.request(method, path, b"2" if method == "PUT" else None)
            self.assertEqual((status, body), (500, b"No cluster leader"), path)
        self.assertEqual(self.emu.json("GET", "/v1/status/leader"), "")
        time.sleep(0.05)
        status, h, body = self.emu.request("GET", "/v1/kv/k?stale")
        self.assertEqual((status, h["X-Consul-Knownleader"]), (200, "false"))
        self.assertGreaterEqual(int(h["X-Consul-Lastcontact"]), 50)
        self.emu.ctl("POST", "/leader", {"leader": False,
                                         "message": "rpc error making call: No cluster leader"})
        self.assertEqual(self.emu.request("GET", "/v1/kv/k")[2],
                         b"rpc error making call: No cluster leader")
        self.emu.ctl("POST", "/leader", {"leader": True})
        status, h, _ = self.emu.request("GET", "/v1/kv/k")
        self.assertEqual((status, h["X-Consul-Knownleader"], h["X-Consul-Lastcontact"]),
                         (200, "true", "0"))


class StaleTest(EmuTest):
    def test_a_lagging_follower(self):
        self.emu.put("app/a", b"1")             # 11
        self.emu.put("app/a", b"2")             # 12
        self.emu.put("app/b", b"1")             # 13
        self.emu.ctl("POST", "/stale", {"lag": 2, "last_contact_ms": 250})
        status, h, body = self.emu.request("GET", "/v1/kv/app/?recurse&stale")
        self.assertEqual((h["X-Consul-Index"], h["X-Consul-Lastcontact"],
                          h["X-Consul-Knownleader"]), ("11", "250", "true"))
        self.assertEqual([(e["Key"], e["Value"]) for e in json.loads(body)],
                         [("app/a", "MQ==")], "old data")
        self.assertEqual(self.emu.index("/v1/kv/app/?recurse"), 13, "the leader is current")
        q = Async(self.emu, "GET", "/v1/kv/app/?recurse&stale&index=11&wait=20s")
        self.blocked()
        self.emu.put("other", b"1")             # 14: the follower reaches 12
        status, h, body = q.result(5)
        self.assertEqual(h["X-Consul-Index"], "12")
        self.emu.ctl("POST", "/stale", {"lag": 3, "always": True})
        self.assertEqual(self.emu.index("/v1/kv/app/?recurse"), 11, "always: every read")
        self.emu.ctl("DELETE", "/stale")
        self.assertEqual(self.emu.index("/v1/kv/app/?recurse&stale"), 13)


class RequestLogTest(EmuTest):
    def test_entries(self):
        self.emu.put("k", b"v", headers={"X-Consul-Token": "s3cr3t"})
        self.emu.request("GET", "/v1/kv/k?token=t0ps3cr3t&index=11&wait=100ms")
        self.emu.request("GET", "/v1/kv/k", headers={"Authorization": "Bearer b34r3r"})
        self.emu.ctl("GET", "/state")
        log = self.emu.requests()
        self.assertEqual([r["seq"] for r in log], [1, 2, 3])
        self.assertEqual([r["token"] for r in log], ["header", "query", "bearer"])
        text = json.dumps(log)
        for secret in ("s3cr3t", "t0ps3cr3t", "b34r3r"):
            self.assertNotIn(secret, text)
        put, block, get = log
        self.assertEqual((put["method"], put["path"], put["status"], put["index"]),
                         ("PUT", "/v1/kv/k", 200, None))
        self.assertEqual(put["headers"]["Content-Length"], "1")
        self.assertEqual((block["blocking"], block["index"], block["timeout_ms"]),
                         (True, 11, 100))
        self.assertGreaterEqual(block["blocked_ms"], 100)
        self.assertEqual(block["params"]["token"], ["<hidden>"])
        self.assertEqual(block["query"], "token=<hidden>&index=11&wait=100ms")
        self.assertEqual((get["blocking"], get["index"], get["fault"]), (False, 11, None))
        status, h, body = self.emu.request("GET", "/_emu/requests?format=ndjson")
        self.assertEqual(h["Content-Type"], "application/x-ndjson")
        self.assertEqual([json.loads(line) for line in body.splitlines()], log)
        self.emu.ctl("DELETE", "/requests")
        self.assertEqual(self.emu.requests(), [])

    def test_state_and_kv_dump(self):
        self.emu.put("a", b"1")
        self.emu.delete("a")
        state = self.emu.ctl("GET", "/state")
        self.assertEqual({k: state[k] for k in ("index", "kvs_index", "tombstone_index", "keys",
                                                "leader", "blocking")},
                         {"index": 12, "kvs_index": 12, "tombstone_index": 12, "keys": 0,
                          "leader": True, "blocking": 0})
        self.assertEqual(state["url"], self.emu.url)
        self.emu.put("b", b"2")
        self.assertEqual([e["Key"] for e in self.emu.ctl("GET", "/kv")], ["b"])


class AutoReapTest(EmuTest):
    ARGS = ("--no-jitter", "--tombstone-ttl", "300ms")

    def test_tombstones_expire(self):
        self.emu.put("app/a", b"1")
        self.emu.put("app/b", b"1")
        self.emu.delete("app/b")
        self.assertEqual(self.emu.index("/v1/kv/app/?recurse"), 13)
        deadline = time.monotonic() + 5
        while self.emu.ctl("GET", "/state")["tombstones"] and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(self.emu.index("/v1/kv/app/?recurse"), 11)


class ProcessTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="consul-emu-proc-")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def test_state_dir_survives_a_restart_on_the_same_port(self):
        state = os.path.join(self.dir, "state")
        emu = Emu("--state-dir", state, scratch=self.dir)
        self.addCleanup(emu.stop)
        emu.put("app/a", b"1")
        emu.put("app/b", b"2")
        emu.delete("app/b")
        port = emu.port
        self.assertEqual(emu.stop(), 0)
        again = Emu("--state-dir", state, "--port", str(port), scratch=self.dir)
        self.addCleanup(again.stop)
        self.assertEqual(again.port, port)
        entries = again.json("GET", "/v1/kv/app/?recurse")
        self.assertEqual([(e["Key"], e["ModifyIndex"]) for e in entries], [("app/a", 11)])
        self.assertEqual(again.index("/v1/kv/app/?recurse"), 13, "tombstone kept")
        again.put("app/c", b"3")
        self.assertEqual(again.index("/v1/kv/app/?recurse"), 14)

    def test_tls(self):
        cert, key = os.path.join(self.dir, "cert.pem"), os.path.join(self.dir, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                        "-keyout", key, "-out", cert, "-days", "1", "-subj",
                        "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                       check=True, capture_output=True)
        emu = Emu("--tls-cert", cert, "--tls-key", key, scratch=self.dir)
        self.addCleanup(emu.stop)
        self.assertTrue(emu.url.startswith("https://"))
        emu.put("k", b"v")
        self.assertEqual(emu.request("GET", "/v1/kv/k?raw")[2], b"v")
        s = socket.create_connection(("127.0.0.1", emu.port))      # no handshake
        self.addCleanup(s.close)
        self.assertEqual(emu.request("GET", "/v1/kv/k?raw")[2], b"v", "others still served")

    def test_bad_arguments(self):
        for args in (["--token", "x"], ["--token", "x:bogus:y"], ["--tls-cert", "c"],
                     ["--max-query-time", "10"], ["--acl-default", "maybe"]):
            out = subprocess.run(["/usr/bin/python3", os.path.join(HERE, "emulator.py"),
                                  "--port-file", os.path.join(self.dir, "p")] + args,
                                 capture_output=True, text=True, timeout=10)
            self.assertEqual(out.returncode, 2, args)
            self.assertFalse(os.path.exists(os.path.join(self.dir, "p")))


class ShellHelperTest(unittest.TestCase):
    def test_emu_sh_under_dash_with_set_e(self):
        d = tempfile.mkdtemp(prefix="consul-emu-sh-")
        self.addCleanup(shutil.rmtree, d, True)
        script = r"""
set -eu
. "$CONSUL_EMU_HOME/emu.sh"
consul_emu_start --no-jitter --acl-default deny --token 'w-tok:write:app/'
case $CONSUL_EMU_URL in http://127.0.0.1:*) ;; *) exit 9 ;; esac
[ -s "$CONSUL_EMU_DIR/port" ] && [ -f "$CONSUL_EMU_DIR/emu.log" ]
case $CONSUL_EMU_DIR in "$EMU_DIR"/*) ;; *) exit 8 ;; esac
if consul_emu_put app/x 1 2>/dev/null; then exit 7; fi
CONSUL_EMU_TOKEN=w-tok
consul_emu_put 'app/sp ace' 'a $(b) `c`
d'
consul_emu_put app/flagged 1 flags=5
consul_emu_put app/gone 1
consul_emu_delete app/gone
if consul_emu_put app/flagged 2 cas=1 2>/dev/null; then exit 6; fi
curl -s -H 'X-Consul-Token: w-tok' "$CONSUL_EMU_URL/v1/kv/app/?recurse" >"$EMU_DIR/kv.json"
consul_emu_ctl POST /_emu/fault '{"kind": "status", "status": 500}' | grep -q '"count": 1'
consul_emu_ctl GET /_emu/state | grep -q '"index": '
consul_emu_requests >"$EMU_DIR/log.ndjson"
echo "pid=$CONSUL_EMU_PID"
consul_emu_stop
"""
        env = dict(os.environ, EMU_DIR=d, CONSUL_EMU_HOME=HERE)
        out = subprocess.run(["dash", "-c", script], env=env, capture_output=True,
                             text=True, timeout=30, cwd=d)
        self.assertEqual(out.returncode, 0, out.stderr)
        pid = int(out.stdout.split("pid=")[1])
        self.assertFalse(os.path.exists("/proc/%d" % pid))
        entries = json.load(open(os.path.join(d, "kv.json")))
        self.assertEqual([(e["Key"], e["Flags"]) for e in entries],
                         [("app/flagged", 5), ("app/sp ace", 0)])
        self.assertEqual(base64.b64decode(entries[1]["Value"]), b"a $(b) `c`\nd")
        log = [json.loads(line) for line in open(os.path.join(d, "log.ndjson"))]
        self.assertEqual([r["method"] for r in log], ["PUT"] * 4 + ["DELETE", "PUT", "GET"])
        self.assertEqual(log[0]["token"], "none")
        self.assertEqual(log[1]["token"], "header")


if __name__ == "__main__":
    tap.main()
