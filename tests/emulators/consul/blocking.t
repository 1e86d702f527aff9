#!/usr/bin/python3
# See COPYING for copyright and license details.
"""Blocking queries (consul.md §1.5): index and wait, units, clamp, default,
jitter, 400s, which writes wake which query (memdb watch granularity),
index going backwards, a client that goes away."""
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from emutest import Async, Emu, EmuTest, tap, wait_for  # noqa: E402

SLACK = 1.5         # a loaded 2-core machine


class BlockingTest(EmuTest):
    def timed(self, path):
        start = time.monotonic()
        status, h, body = self.emu.request("GET", path)
        return status, h, body, time.monotonic() - start

    def test_without_index_or_with_0_no_blocking(self):
        self.emu.put("app/a", b"1")
        for q in ("", "&index=0&wait=10s", "&wait=10s"):
            status, h, _, took = self.timed("/v1/kv/app/?recurse" + q)
            self.assertEqual((status, h["X-Consul-Index"]), (200, "11"))
            self.assertLess(took, SLACK)
        self.assertEqual([r["blocking"] for r in self.emu.requests() if r["method"] == "GET"],
                         [False] * 3)

    def test_a_write_ends_the_block(self):
        self.emu.put("app/a", b"1")
        q = Async(self.emu, "GET", "/v1/kv/app/?recurse&index=11&wait=20s")
        self.blocked()
        self.assertFalse(q.done())
        self.emu.put("app/b", b"2")
        status, h, body = q.result(5)
        self.assertEqual((status, h["X-Consul-Index"]), (200, "12"))
        self.assertLess(q.elapsed, 5)
        self.assertIn(b'"app/b"', body)

    def test_deadline_returns_the_current_result(self):
        self.emu.put("app/a", b"1")
        status, h, body, took = self.timed("/v1/kv/app/?recurse&index=11&wait=300ms")
        self.assertEqual((status, h["X-Consul-Index"]), (200, "11"))
        self.assertIn(b'"app/a"', body)
        self.assertGreaterEqual(took, 0.3)
        log = self.emu.requests()[-1]
        self.assertTrue(log["blocking"])
        self.assertEqual(log["timeout_ms"], 300)
        self.assertGreaterEqual(log["blocked_ms"], 300)

    def test_wait_units(self):
        for wait, ms in (("250ms", 250), ("0.25s", 250), ("0.005m", 300), ("1m", 60000),
                         ("1h", 600000), ("250000us", 250)):
            path = "/v1/kv/x?index=%d&wait=%s" % (self.emu.index("/v1/kv/x"), wait)
            if ms <= 300:
                status, _, _, took = self.timed(path)
                self.assertEqual(status, 404)
                self.assertGreaterEqual(took, ms / 1000.0)
            else:
                q = Async(self.emu, "GET", path)
                self.blocked()
                self.emu.put("x", b"1")         # ends it; we only want timeout_ms
                q.result(5)
                self.emu.delete("x")
            log = [r for r in self.emu.requests() if r["blocking"]]
            self.assertEqual(log[-1]["timeout_ms"], ms, wait)

    def test_bad_wait_or_index_is_400(self):
        for wait in ("10", "abc", "5x", "1.2.3s", "s", "-"):
            status, _, body = self.emu.request("GET", "/v1/kv/x?index=1&wait=" + wait)
            self.assertEqual((status, body), (400, b"Invalid wait time"), wait)
        for index in ("abc", "-1", "+1", "1e3", "18446744073709551616"):
            status, _, body = self.emu.request("GET", "/v1/kv/x?index=" + index)
            self.assertEqual((status, body), (400, b"Invalid index"), index)
        status, _, _ = self.emu.request("GET", "/v1/kv/x?index=&wait=")
        self.assertEqual(status, 404, "empty values are absent ones")
        status, _, body = self.emu.request("PUT", "/v1/kv/x?wait=bad", b"1")
        self.assertEqual(status, 400, "parsed for writes too")
        status, _, body = self.emu.request("GET", "/v1/kv/x?stale&consistent")
        self.assertEqual((status, body), (400, b"Cannot specify ?stale with ?consistent, "
                                               b"conflicting semantics."))

    def test_index_above_the_servers_blocks_then_answers_lower(self):
        self.emu.put("app/a", b"1")
        status, h, _, took = self.timed("/v1/kv/app/?recurse&index=500&wait=300ms")
        self.assertEqual(h["X-Consul-Index"], "11")
        self.assertGreaterEqual(took, 0.3)

    def test_identical_put_wakes_nobody(self):
        self.emu.put("app/a", b"1")
        q = Async(self.emu, "GET", "/v1/kv/app/?recurse&index=11&wait=700ms")
        self.blocked()
        self.emu.put("app/a", b"1")
        time.sleep(0.2)
        self.assertFalse(q.done())
        status, h, _ = q.result(5)
        self.assertEqual(h["X-Consul-Index"], "11")
        self.assertGreaterEqual(q.elapsed, 0.7)

    def test_writes_elsewhere_do_not_end_a_prefix_query(self):
        self.emu.put("app/a", b"1")
        self.emu.put("app/b", b"1")
        q = Async(self.emu, "GET", "/v1/kv/app/?recurse&index=12&wait=600ms")
        self.blocked()
        self.emu.put("other/x", b"1")
        self.emu.put("app2/y", b"1")
        status, h, _ = q.result(5)
        self.assertEqual(h["X-Consul-Index"], "12")
        self.assertGreaterEqual(q.elapsed, 0.6)

    def test_delete_ends_a_prefix_query_with_the_tombstone_index(self):
        self.emu.put("app/a", b"1")
        self.emu.put("app/b", b"1")
        q = Async(self.emu, "GET", "/v1/kv/app/?recurse&index=12&wait=20s")
        self.blocked()
        self.emu.delete("app/a")
        status, h, body = q.result(5)
        self.assertEqual((status, h["X-Consul-Index"]), (200, "13"))
        self.assertNotIn(b'"app/a"', body)

    def test_keys_query_blocks_too(self):
        self.emu.put("app/a", b"1")
        q = Async(self.emu, "GET", "/v1/kv/app/?keys&separator=/&index=11&wait=20s")
        self.blocked()
        self.emu.put("app/b/c", b"1")
        status, h, body = q.result(5)
        self.assertEqual((h["X-Consul-Index"], body), ("12", b'["app/a","app/b/"]'))

    def test_missing_prefix_wakes_on_writes_to_its_radix_node_only(self):
        # nothing starts with "a": the query watches the root, every write wakes it
        self.emu.put("zzz/a", b"1")
        q = Async(self.emu, "GET", "/v1/kv/app/?recurse&index=11&wait=20s")
        self.blocked()
        self.emu.put("zzz/b", b"1")
        status, h, _ = q.result(5)
        self.assertEqual((status, h["X-Consul-Index"]), (404, "12"))
        # with app2/x in the tree the query watches that node: zzz/ writes
        # do not wake it, and the deadline answers with the index it had
        self.emu.put("app2/x", b"1")
        q = Async(self.emu, "GET", "/v1/kv/app/?recurse&index=13&wait=700ms")
        self.blocked()
        self.emu.put("zzz/c", b"1")
        status, h, _ = q.result(5)
        self.assertEqual((status, h["X-Consul-Index"]), (404, "13"))
        self.assertGreaterEqual(q.elapsed, 0.7)
        self.assertEqual(self.emu.index("/v1/kv/app/?recurse"), 14)
        # a write beside it, on the same node, wakes it
        q = Async(self.emu, "GET", "/v1/kv/app/?recurse&index=14&wait=20s")
        self.blocked()
        self.emu.put("app3", b"1")
        status, h, _ = q.result(5)
        self.assertEqual((status, h["X-Consul-Index"]), (404, "15"))
        self.assertLess(q.elapsed, 5)

    def test_missing_key_blocks_until_it_exists(self):
        # errNotFound: unrelated writes do not answer a query for a missing key
        q = Async(self.emu, "GET", "/v1/kv/k?index=1&wait=20s")
        self.blocked()
        self.emu.put("j", b"1")                 # 11: wakes (root), still missing
        time.sleep(0.2)
        self.assertFalse(q.done())
        self.emu.put("k", b"v")                 # 12
        status, h, body = q.result(5)
        self.assertEqual((status, h["X-Consul-Index"]), (200, "12"))
        q = Async(self.emu, "GET", "/v1/kv/missing?index=12&wait=600ms")
        self.blocked()
        self.emu.put("l", b"1")                 # 13
        status, h, _ = q.result(5)
        self.assertEqual((status, h["X-Consul-Index"]), (404, "13"))
        self.assertGreaterEqual(q.elapsed, 0.6)

    def test_a_reap_wakes_nobody_and_shows_at_the_next_timeout(self):
        self.emu.put("app/a", b"1")             # 11
        self.emu.put("app/b", b"1")             # 12
        self.emu.delete("app/b")                # 13
        q = Async(self.emu, "GET", "/v1/kv/app/?recurse&index=13&wait=500ms")
        self.blocked()
        self.emu.ctl("POST", "/tombstone-reap")
        status, h, _ = q.result(5)
        self.assertEqual(h["X-Consul-Index"], "13", "the result of the last run")
        status, h, _ = self.emu.request("GET", "/v1/kv/app/?recurse&index=13&wait=300ms")
        self.assertEqual(h["X-Consul-Index"], "11", "and then backwards")

    def test_a_client_that_leaves_frees_its_query(self):
        s = socket.create_connection(("127.0.0.1", self.emu.port), timeout=5)
        s.sendall(b"GET /v1/kv/k?index=1&wait=60s HTTP/1.1\r\nHost: x\r\n\r\n")
        self.blocked()
        s.close()
        wait_for(lambda: self.emu.ctl("GET", "/state")["blocking"] == 0, timeout=5,
                 what="the query to be dropped")
        self.assertIsNone(self.emu.requests()[-1]["status"], "never answered")


class IndexResetTest(EmuTest):
    def fill(self):
        for k in ("app/a", "app/b", "app/c"):
            self.emu.put(k, b"1")               # 11, 12, 13

    def test_restore_answers_blocked_queries_then_the_index_is_lower(self):
        self.fill()
        q = Async(self.emu, "GET", "/v1/kv/app/?recurse&index=13&wait=20s")
        self.blocked()
        state = self.emu.ctl("POST", "/index-reset", {"to": 5})
        self.assertEqual((state["index"], state["kvs_index"]), (5, 5))
        status, h, _ = q.result(5)
        self.assertEqual(h["X-Consul-Index"], "13", "the abandoned store's answer")
        self.assertLess(q.elapsed, 5)
        entries = self.emu.json("GET", "/v1/kv/app/?recurse")
        self.assertEqual([(e["Value"], e["CreateIndex"], e["ModifyIndex"]) for e in entries],
                         [("MQ==", 5, 5)] * 3, "values kept, indexes lower")
        status, h, _ = self.emu.request("GET", "/v1/kv/app/?recurse&index=13&wait=300ms")
        self.assertEqual(h["X-Consul-Index"], "5")
        self.emu.put("app/d", b"1")
        self.assertEqual(self.emu.index("/v1/kv/app/?recurse"), 6)

    def test_restart_drops_connections_and_wipe_empties(self):
        self.fill()
        q = Async(self.emu, "GET", "/v1/kv/app/?recurse&index=13&wait=20s")
        self.blocked()
        idle = self.emu.connect()
        self.addCleanup(idle.close)
        self.assertEqual(self.emu.request("GET", "/v1/kv/app/a", conn=idle)[0], 200)
        self.emu.ctl("POST", "/index-reset", {"to": 2, "wipe": True, "mode": "restart"})
        with self.assertRaises(OSError):
            q.result(5)
        self.assertLess(q.elapsed, 5)
        with self.assertRaises(OSError):
            self.emu.request("GET", "/v1/kv/app/a", conn=idle)
        status, h, _ = self.emu.request("GET", "/v1/kv/app/?recurse")
        self.assertEqual((status, h["X-Consul-Index"]), (404, "1"))


class ClampTest(EmuTest):
    ARGS = ("--no-jitter", "--max-query-time", "400ms", "--default-query-time", "300ms")

    def test_clamp_and_default(self):
        for wait, ms in (("&wait=1m", 400), ("", 300), ("&wait=0s", 300), ("&wait=-5s", 300),
                         ("&wait=200ms", 200)):
            start = time.monotonic()
            status, _, _ = self.emu.request("GET", "/v1/kv/x?index=1" + wait)
            self.assertGreaterEqual(time.monotonic() - start, ms / 1000.0)
            self.assertEqual(self.emu.requests()[-1]["timeout_ms"], ms, wait)


class JitterTest(EmuTest):
    ARGS = ()

    def test_jitter_is_up_to_a_sixteenth(self):
        timeouts = []
        for _ in range(8):
            q = Async(self.emu, "GET", "/v1/kv/x?index=%d&wait=16s"
                      % self.emu.index("/v1/kv/x"))
            self.blocked()
            self.emu.put("x", b"1")
            q.result(5)
            self.emu.delete("x")
            timeouts.append([r for r in self.emu.requests() if r["blocking"]][-1]["timeout_ms"])
        self.assertTrue(all(16000 <= t <= 17000 for t in timeouts), timeouts)
        self.assertGreater(len(set(timeouts)), 1, "random")


class StopTest(EmuTest):
    def test_sigterm_while_blocking_exits_0_promptly(self):
        emu = Emu("--no-jitter")
        q = Async(emu, "GET", "/v1/kv/x?index=1&wait=60s")
        wait_for(lambda: emu.ctl("GET", "/state")["blocking"] == 1)
        emu.ctl("POST", "/fault", {"path": "/v1/status/leader", "kind": "hang"})
        h = Async(emu, "GET", "/v1/status/leader")
        wait_for(lambda: any(r["fault"] == "hang" for r in emu.requests()))
        start = time.monotonic()
        self.assertEqual(emu.stop(), 0)
        self.assertLess(time.monotonic() - start, 3)
        for r in (q, h):
            with self.assertRaises(OSError):
                r.result(5)


if __name__ == "__main__":
    tap.main()
