#!/usr/bin/python3
# See COPYING for copyright and license details.
"""The real python3-consul client (Debian's, 0.7.x) against the emulator."""
import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from emutest import EmuTest, tap  # noqa: E402

import consul  # noqa: E402


class ClientTest(EmuTest):
    def setUp(self):
        super().setUp()
        for var in ("CONSUL_HTTP_ADDR", "CONSUL_HTTP_TOKEN", "CONSUL_HTTP_SSL",
                    "CONSUL_HTTP_SSL_VERIFY"):
            os.environ.pop(var, None)
        self.c = consul.Consul(host="127.0.0.1", port=self.emu.port)

    def test_put_get(self):
        self.assertTrue(self.c.kv.put("app/web/PORT", "8080"))
        index, entry = self.c.kv.get("app/web/PORT")
        self.assertEqual(entry["Value"], b"8080")
        self.assertEqual(entry["Key"], "app/web/PORT")
        self.assertEqual(index, str(entry["ModifyIndex"]))
        index, missing = self.c.kv.get("app/none")
        self.assertIsNone(missing)
        self.assertEqual(index, str(entry["ModifyIndex"]), "the table index")

    def test_none_and_binary_values(self):
        self.c.kv.put("app/folder/", None)
        self.c.kv.put("app/bin", b"\x00\xff\n")
        _, entries = self.c.kv.get("app/", recurse=True)
        self.assertEqual([(e["Key"], e["Value"]) for e in entries],
                         [("app/bin", b"\x00\xff\n"), ("app/folder/", None)])

    def test_recurse_keys_delete(self):
        for k in ("app/a", "app/b/c", "app/b/d", "other"):
            self.c.kv.put(k, "1")
        _, entries = self.c.kv.get("app/", recurse=True)
        self.assertEqual([e["Key"] for e in entries], ["app/a", "app/b/c", "app/b/d"])
        _, keys = self.c.kv.get("app/", keys=True, separator="/")
        self.assertEqual(keys, ["app/a", "app/b/"])
        _, keys = self.c.kv.get("", keys=True)
        self.assertEqual(keys, ["app/a", "app/b/c", "app/b/d", "other"])
        self.assertTrue(self.c.kv.delete("app/b/", recurse=True))
        _, keys = self.c.kv.get("", keys=True)
        self.assertEqual(keys, ["app/a", "other"])
        self.assertTrue(self.c.kv.delete("other"))
        self.assertEqual(self.c.kv.get("other"), (self.c.kv.get("other")[0], None))

    def test_cas_and_flags(self):
        self.assertTrue(self.c.kv.put("lock", "a", cas=0))
        self.assertFalse(self.c.kv.put("lock", "b", cas=0))
        _, entry = self.c.kv.get("lock")
        self.assertFalse(self.c.kv.put("lock", "b", cas=entry["ModifyIndex"] + 1))
        self.assertTrue(self.c.kv.put("lock", "b", cas=entry["ModifyIndex"], flags=7))
        _, entry = self.c.kv.get("lock")
        self.assertEqual((entry["Value"], entry["Flags"]), (b"b", 7))
        self.assertFalse(self.c.kv.delete("lock", cas=entry["ModifyIndex"] + 1))
        self.assertTrue(self.c.kv.delete("lock", cas=entry["ModifyIndex"]))

    def test_blocking_index(self):
        self.c.kv.put("app/a", "1")
        index, _ = self.c.kv.get("app/", recurse=True)
        got = {}

        def watch():
            got["result"] = self.c.kv.get("app/", recurse=True, index=index, wait="10s")
        t = threading.Thread(target=watch, daemon=True)
        t.start()
        self.blocked()
        self.c.kv.put("app/b", "2")
        t.join(5)
        new_index, entries = got["result"]
        self.assertGreater(int(new_index), int(index))
        self.assertEqual([e["Key"] for e in entries], ["app/a", "app/b"])
        log = [r for r in self.emu.requests() if r["blocking"]]
        self.assertEqual(log[0]["params"]["wait"], ["10s"])

    def test_blocking_timeout_and_stale(self):
        self.c.kv.put("k", "1")
        index, _ = self.c.kv.get("k")
        start = time.monotonic()
        same, entry = self.c.kv.get("k", index=index, wait="300ms", consistency="stale")
        self.assertGreaterEqual(time.monotonic() - start, 0.3)
        self.assertEqual((same, entry["Value"]), (index, b"1"))
        self.assertIn("stale", self.emu.requests()[-1]["params"])

    def test_status_leader_and_agent_self(self):
        self.assertEqual(self.c.status.leader(), "127.0.0.1:8300")
        self.assertEqual(self.c.status.peers(), ["127.0.0.1:8300"])
        self.assertEqual(self.c.agent.self()["Config"]["Datacenter"], "dc1")

    def test_no_leader_is_a_consul_exception(self):
        self.emu.ctl("POST", "/leader", {"leader": False})
        self.assertEqual(self.c.status.leader(), "")
        with self.assertRaises(consul.ConsulException) as e:
            self.c.kv.get("k")
        self.assertIn("No cluster leader", str(e.exception))
        _, entry = self.c.kv.get("k", consistency="stale")     # a follower answers
        self.assertIsNone(entry)


class AclClientTest(EmuTest):
    ARGS = ("--no-jitter", "--acl-default", "deny", "--token", "rw-secret-1:write:app/",
            "--token", "ro-secret-2:read:app/")

    def test_tokens(self):
        rw = consul.Consul(port=self.emu.port, token="rw-secret-1")
        ro = consul.Consul(port=self.emu.port, token="ro-secret-2")
        self.assertTrue(rw.kv.put("app/a", "1"))
        self.assertEqual(ro.kv.get("app/a")[1]["Value"], b"1")
        with self.assertRaises(consul.ACLPermissionDenied) as e:
            ro.kv.put("app/a", "2")
        self.assertIn("lacks permission 'key:write' on \"app/a\"", str(e.exception))
        with self.assertRaises(consul.ACLPermissionDenied) as e:
            consul.Consul(port=self.emu.port, token="nope").kv.get("app/a")
        self.assertEqual(str(e.exception), "ACL not found")
        with self.assertRaises(consul.ACLPermissionDenied):
            consul.Consul(port=self.emu.port).kv.put("app/a", "3")
        self.assertEqual([r["token"] for r in self.emu.requests()],
                         ["query", "query", "query", "query", "none"])
        self.assertNotIn("-secret-", json.dumps(self.emu.requests()))


if __name__ == "__main__":
    tap.main()
