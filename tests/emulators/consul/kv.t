#!/usr/bin/python3
# See COPYING for copyright and license details.
"""Raw HTTP: the KV endpoint's bodies, headers and status codes
(consul.md §1.1–§1.3) and the index rules (§1.4)."""
import base64
import gzip
import json
import os
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from emutest import EmuTest, tap  # noqa: E402


class BodyTest(EmuTest):
    def test_entry_json_is_go_shaped(self):
        self.assertIs(self.emu.put("app/a", b"hello"), True)
        status, h, body = self.emu.request("GET", "/v1/kv/app/a")
        self.assertEqual(status, 200)
        self.assertEqual(h["Content-Type"], "application/json")
        self.assertEqual(body, b'[{"LockIndex":0,"Key":"app/a","Flags":0,"Value":"aGVsbG8=",'
                               b'"CreateIndex":11,"ModifyIndex":11}]')
        self.assertEqual(h["X-Consul-Index"], "11")
        self.assertEqual(h["X-Consul-Knownleader"], "true")
        self.assertEqual(h["X-Consul-Lastcontact"], "0")
        self.assertEqual(h["X-Consul-Default-Acl-Policy"], "allow")
        self.assertEqual(h["Vary"], "Accept-Encoding")

    def test_header_names_are_go_canonical_on_the_wire(self):
        self.emu.put("k", b"v")
        s = socket.create_connection(("127.0.0.1", self.emu.port), timeout=5)
        self.addCleanup(s.close)
        s.sendall(b"GET /v1/kv/k HTTP/1.1\r\nHost: x\r\n\r\n")
        head = b""
        while b"\r\n\r\n" not in head:
            head += s.recv(4096)
        names = [line.split(b":")[0] for line in head.split(b"\r\n\r\n")[0].split(b"\r\n")[1:]]
        for name in (b"X-Consul-Index", b"X-Consul-Knownleader", b"X-Consul-Lastcontact",
                     b"X-Consul-Default-Acl-Policy", b"X-Consul-Query-Backend"):
            self.assertIn(name, names)
        self.assertNotIn(b"Server", names)
        self.assertEqual(names, sorted(names), "Go writes headers sorted")

    def test_empty_value_and_folder_key_are_null(self):
        self.emu.put("app/", b"")
        self.emu.put("app/empty", b"")
        self.emu.put("app/x", b"1")
        entries = self.emu.json("GET", "/v1/kv/app/?recurse")
        self.assertEqual([(e["Key"], e["Value"]) for e in entries],
                         [("app/", None), ("app/empty", None), ("app/x", "MQ==")])
        self.assertNotIn("Session", entries[0])

    def test_binary_and_unicode_round_trip(self):
        value = bytes(range(256)) + "ünï €".encode()
        self.emu.put("bin/ä ö", value)
        entry = self.emu.json("GET", "/v1/kv/bin/%C3%A4%20%C3%B6")[0]
        self.assertEqual(entry["Key"], "bin/ä ö")
        self.assertEqual(base64.b64decode(entry["Value"]), value)
        status, h, body = self.emu.request("GET", "/v1/kv/bin/%C3%A4%20%C3%B6?raw")
        self.assertEqual((status, body), (200, value))

    def test_go_escapes_html_characters(self):
        self.emu.put("a<b>&c", b"x")
        status, _, body = self.emu.request("GET", "/v1/kv/a%3Cb%3E%26c")
        self.assertIn(b'"Key":"a\\u003cb\\u003e\\u0026c"', body)

    def test_raw_headers(self):
        self.emu.put("page", b"<script>x</script>")
        status, h, body = self.emu.request("GET", "/v1/kv/page?raw")
        self.assertEqual((status, body), (200, b"<script>x</script>"))
        self.assertEqual(h["Content-Type"], "text/plain")
        self.assertEqual(h["X-Content-Type-Options"], "nosniff")
        self.assertEqual(h["Content-Security-Policy"], "sandbox")
        self.assertEqual(h["X-Consul-Index"], "11")
        status, h, body = self.emu.request("GET", "/v1/kv/page?raw&recurse")
        self.assertEqual(h["Content-Type"], "application/json", "raw ignored with recurse")

    def test_404_is_empty_with_index(self):
        status, h, body = self.emu.request("GET", "/v1/kv/nope")
        self.assertEqual((status, body), (404, b""))
        self.assertEqual(h["Content-Length"], "0")
        self.assertIsNone(h["Content-Type"])
        self.assertEqual(h["X-Consul-Index"], "1", "an empty store says 1, never 0")
        self.assertEqual(h["X-Consul-Knownleader"], "true")

    def test_put_answers_true_without_index(self):
        status, h, body = self.emu.request("PUT", "/v1/kv/k", b"v")
        self.assertEqual((status, body), (200, b"true"))
        self.assertEqual(h["Content-Type"], "application/json")
        self.assertIsNone(h["X-Consul-Index"])

    def test_presence_only_flags(self):
        self.emu.put("app/a", b"1")
        self.emu.put("app/b/c", b"2")
        for q in ("recurse", "recurse=", "recurse=true", "recurse=false", "recurse=0"):
            self.assertEqual(len(self.emu.json("GET", "/v1/kv/app/?" + q)), 2, q)
        for q in ("keys", "keys=false"):
            self.assertEqual(self.emu.json("GET", "/v1/kv/app/?" + q), ["app/a", "app/b/c"])
        self.assertEqual(self.emu.request("GET", "/v1/kv/app/a?raw=false")[2], b"1")

    def test_recurse_is_a_raw_prefix(self):
        for k in ("app/x", "app2/y", "application", "ap"):
            self.emu.put(k, b"1")
        self.assertEqual([e["Key"] for e in self.emu.json("GET", "/v1/kv/app?recurse")],
                         ["app/x", "app2/y", "application"])
        self.assertEqual([e["Key"] for e in self.emu.json("GET", "/v1/kv/?recurse")],
                         ["ap", "app/x", "app2/y", "application"])

    def test_keys_and_separator(self):
        for k in ("app/a", "app/b/c", "app/b/d", "app/e/", "other"):
            self.emu.put(k, b"1")
        self.assertEqual(self.emu.json("GET", "/v1/kv/app/?keys&separator=/"),
                         ["app/a", "app/b/", "app/e/"])
        self.assertEqual(self.emu.json("GET", "/v1/kv/app/?keys&seperator=/"),
                         ["app/a", "app/b/", "app/e/"], "the historic spelling")
        self.assertEqual(self.emu.json("GET", "/v1/kv/?keys&separator=/"),
                         ["app/", "other"])
        status, h, body = self.emu.request("GET", "/v1/kv/none/?keys")
        self.assertEqual((status, body), (404, b""))

    def test_root_keys_never_404(self):
        status, h, body = self.emu.request("GET", "/v1/kv/?keys")
        self.assertEqual((status, body), (200, b"[]"))
        status, h, body = self.emu.request("GET", "/v1/kv/?recurse")
        self.assertEqual((status, body), (404, b""))

    def test_missing_key_name(self):
        for method in ("GET", "PUT", "DELETE"):
            status, h, body = self.emu.request(method, "/v1/kv/")
            self.assertEqual((status, body), (400, b"Missing key name"), method)
            self.assertEqual(h["Content-Type"], "text/plain; charset=utf-8")

    def test_methods(self):
        status, h, body = self.emu.request("POST", "/v1/kv/x", b"1")
        self.assertEqual((status, body), (405, b"method POST not allowed"))
        self.assertEqual(h["Allow"], "OPTIONS,GET,PUT,DELETE")
        status, h, body = self.emu.request("OPTIONS", "/v1/kv/x")
        self.assertEqual((status, h["Allow"], body), (200, "OPTIONS,GET,PUT,DELETE", b""))

    def test_cas_and_flags(self):
        self.assertIs(self.emu.put("c", b"1", "cas=0"), True)
        self.assertIs(self.emu.put("c", b"2", "cas=0"), False, "cas=0 only creates")
        entry = self.emu.json("GET", "/v1/kv/c")[0]
        self.assertEqual(entry["Value"], "MQ==")
        self.assertIs(self.emu.put("c", b"3", "cas=%d" % (entry["ModifyIndex"] + 5)), False)
        self.assertIs(self.emu.put("c", b"3", "cas=%d&flags=42" % entry["ModifyIndex"]), True)
        entry = self.emu.json("GET", "/v1/kv/c")[0]
        self.assertEqual((entry["Value"], entry["Flags"]), ("Mw==", 42))
        self.assertIs(self.emu.put("missing", b"1", "cas=7"), False)
        self.assertIs(self.emu.delete("c", "cas=1"), False)
        self.assertIs(self.emu.delete("c", "cas=%d" % entry["ModifyIndex"]), True)
        self.assertIs(self.emu.delete("c", "cas=99"), True, "a missing key: true")

    def test_bad_numbers_are_500_with_gos_text(self):
        status, _, body = self.emu.request("PUT", "/v1/kv/k?flags=x", b"1")
        self.assertEqual((status, body),
                         (500, b'strconv.ParseUint: parsing "x": invalid syntax'))
        status, _, body = self.emu.request("PUT", "/v1/kv/k?cas=-1", b"1")
        self.assertEqual(status, 500)
        status, _, body = self.emu.request("DELETE", "/v1/kv/k?cas=99999999999999999999")
        self.assertEqual((status, body), (500, b'strconv.ParseUint: parsing '
                                               b'"99999999999999999999": value out of range'))

    def test_conflicting_flags(self):
        status, _, body = self.emu.request("PUT", "/v1/kv/k?release=s&cas=1", b"1")
        self.assertEqual((status, body), (400, b"Conflicting flags: cas=1&release=s\n"))
        status, _, body = self.emu.request("DELETE", "/v1/kv/k?recurse&cas=1")
        self.assertEqual((status, body), (400, b"Conflicting flags: cas=1&recurse=\n"))

    def test_sessions_do_not_exist(self):
        status, _, body = self.emu.request("PUT", "/v1/kv/k?acquire=abc", b"1")
        self.assertEqual((status, body), (500, b'invalid session "abc"'))
        self.assertEqual(self.emu.request("PUT", "/v1/kv/k?release=abc", b"1")[2], b"false")

    def test_value_size_limit(self):
        status, h, body = self.emu.request("PUT", "/v1/kv/big", b"x" * (512 * 1024 + 1))
        self.assertEqual(status, 413)
        self.assertTrue(body.startswith(b"Request body(524289 bytes) too large, max size: "
                                        b"524288 bytes. See "), body)
        self.assertIs(self.emu.put("big", b"x" * 512 * 1024), True)

    def test_large_answers_are_chunked_small_ones_not(self):
        self.emu.put("app/big", b"v" * 4000)
        status, h, body = self.emu.request("GET", "/v1/kv/app/big")
        self.assertEqual(h["Transfer-Encoding"], "chunked")
        self.assertIsNone(h["Content-Length"])
        self.assertEqual(len(json.loads(body)), 1)
        status, h, body = self.emu.request("GET", "/v1/kv/app/big?raw")
        self.assertEqual(h["Content-Length"], "4000", "raw sets its length")

    def test_gzip_only_when_asked(self):
        self.emu.put("g", b"hello")
        status, h, body = self.emu.request("GET", "/v1/kv/g", headers={"Accept-Encoding": "gzip"})
        self.assertEqual(h["Content-Encoding"], "gzip")
        self.assertEqual(json.loads(gzip.decompress(body))[0]["Key"], "g")
        status, h, body = self.emu.request("GET", "/v1/kv/g")
        self.assertIsNone(h["Content-Encoding"])

    def test_pretty(self):
        self.emu.put("p", b"1")
        status, _, body = self.emu.request("GET", "/v1/kv/p?pretty")
        self.assertTrue(body.startswith(b'[\n    {\n        "LockIndex": 0,\n'), body)
        self.assertTrue(body.endswith(b"]\n"))

    def test_unclean_paths_redirect(self):
        status, h, body = self.emu.request("GET", "/v1/kv/a//b?recurse")
        self.assertEqual((status, h["Location"]), (301, "/v1/kv/a/b?recurse"))
        status, h, body = self.emu.request("GET", "/v1/kv")
        self.assertEqual((status, h["Location"]), (301, "/v1/kv/"))

    def test_unprintable_path_and_bad_query(self):
        status, h, body = self.emu.request("GET", "/v1/kv/a%0Ab")
        self.assertEqual((status, body), (400, b""))
        status, h, body = self.emu.request("GET", "/v1/kv/a?recurse;x")
        self.assertEqual((status, body), (500, b""))

    def test_other_endpoints(self):
        self.assertEqual(self.emu.json("GET", "/v1/status/leader"), "127.0.0.1:8300")
        self.assertEqual(self.emu.json("GET", "/v1/status/peers"), ["127.0.0.1:8300"])
        self.assertEqual(self.emu.json("GET", "/v1/agent/self")["Config"]["Datacenter"], "dc1")
        status, h, body = self.emu.request("GET", "/v1/nope")
        self.assertEqual((status, body),
                         (404, b"Invalid URL path: not a recognized HTTP API endpoint\n"))
        status, _, body = self.emu.request("GET", "/v1/kv/x?dc=dc2")
        self.assertEqual((status, body), (500, b"No path to datacenter"))
        self.assertEqual(self.emu.request("GET", "/v1/kv/x?dc=dc1")[0], 404)

    def test_keep_alive(self):
        conn = self.emu.connect()
        self.addCleanup(conn.close)
        for i in range(3):
            self.assertEqual(self.emu.request("PUT", "/v1/kv/k%d" % i, b"1", conn=conn)[0], 200)
            self.assertEqual(self.emu.request("GET", "/v1/kv/nope", conn=conn)[0], 404)
        self.assertEqual(len({r["conn"] for r in self.emu.requests()}), 1)


class IndexTest(EmuTest):
    def entry(self, key):
        return self.emu.json("GET", "/v1/kv/" + key)[0]

    def test_create_and_modify_index(self):
        self.emu.put("app/a", b"1")                     # raft 11
        self.emu.put("app/b", b"1")                     # 12
        self.emu.put("app/a", b"2")                     # 13
        a = self.entry("app/a")
        self.assertEqual((a["CreateIndex"], a["ModifyIndex"], a["LockIndex"]), (11, 13, 0))
        self.assertEqual(self.emu.index("/v1/kv/app/?recurse"), 13)
        self.assertEqual(self.emu.index("/v1/kv/app/b"), 12, "a key's own ModifyIndex")
        self.assertEqual(self.emu.index("/v1/kv/app/?keys"), 13)

    def test_identical_put_changes_nothing_but_uses_a_raft_index(self):
        self.emu.put("app/a", b"1")                     # 11
        self.emu.put("app/a", b"1")                     # 12: no-op
        self.assertEqual(self.entry("app/a")["ModifyIndex"], 11)
        self.assertEqual(self.emu.index("/v1/kv/app/?recurse"), 11)
        self.emu.put("app/a", b"1", "flags=1")          # 13: flags differ
        self.assertEqual(self.entry("app/a")["ModifyIndex"], 13)
        self.emu.put("other", b"x")                     # 14
        self.assertEqual(self.entry("other")["CreateIndex"], 14)
        self.assertEqual(self.emu.ctl("GET", "/state")["index"], 14)

    def test_missing_prefix_has_the_table_index(self):
        self.emu.put("other/a", b"1")
        self.assertEqual(self.emu.index("/v1/kv/app/?recurse"), 11)
        self.assertEqual(self.emu.index("/v1/kv/app/x"), 11, "a missing key too")
        self.emu.put("other/b", b"1")
        self.assertEqual(self.emu.index("/v1/kv/app/?recurse"), 12, "moves with any write")
        self.emu.put("app/x", b"1")
        self.emu.put("other/c", b"1")
        self.assertEqual(self.emu.index("/v1/kv/app/?recurse"), 13, "not once it exists")

    def test_keys_omitted_by_separator_still_count(self):
        self.emu.put("app/b/c", b"1")
        self.emu.put("app/a", b"1")
        self.emu.put("app/b/d", b"2")
        self.assertEqual(self.emu.json("GET", "/v1/kv/app/?keys&separator=/"),
                         ["app/a", "app/b/"])
        self.assertEqual(self.emu.index("/v1/kv/app/?keys&separator=/"), 13)

    def test_delete_leaves_a_tombstone_and_reaping_drops_the_index(self):
        self.emu.put("app/a", b"1")                     # 11
        self.emu.put("app/b", b"1")                     # 12
        self.emu.put("other", b"1")                     # 13
        self.emu.delete("app/b")                        # 14: tombstone app/b
        self.assertEqual(self.emu.index("/v1/kv/app/?recurse"), 14)
        self.assertEqual([e["Key"] for e in self.emu.json("GET", "/v1/kv/app/?recurse")],
                         ["app/a"])
        self.emu.delete("app/zzz")                      # 15: nothing there, no change
        self.assertEqual(self.emu.index("/v1/kv/app/?recurse"), 14)
        self.emu.put("other", b"2")                     # 16
        self.assertEqual(self.emu.index("/v1/kv/app/?recurse"), 14)
        state = self.emu.ctl("GET", "/state")
        self.assertEqual(state["tombstones"], [{"key": "app/b", "index": 14}])
        reaped = self.emu.ctl("POST", "/tombstone-reap")
        self.assertEqual(reaped["reaped"], ["app/b"])
        self.assertEqual(self.emu.index("/v1/kv/app/?recurse"), 11, "index went backwards")
        self.assertEqual(self.emu.ctl("GET", "/state")["index"], 17, "a reap is a raft op")

    def test_delete_tree_one_tombstone_none_for_the_root(self):
        for k in ("app/a", "app/b", "app/c/d"):
            self.emu.put(k, b"1")                       # 11-13
        self.emu.delete("app/", "recurse")              # 14
        self.assertEqual(self.emu.ctl("GET", "/state")["tombstones"],
                         [{"key": "app/", "index": 14}])
        status, h, _ = self.emu.request("GET", "/v1/kv/app/?recurse")
        self.assertEqual((status, h["X-Consul-Index"]), (404, "14"))
        self.assertEqual(self.emu.index("/v1/kv/app/c/?recurse"), 14,
                         "a tombstone's key is a prefix of the query: no match")
        self.emu.put("x", b"1")                         # 15
        self.assertEqual(self.emu.index("/v1/kv/ap?recurse"), 14, "ap covers app/")
        self.emu.delete("", "recurse")                  # 16
        self.assertEqual(self.emu.ctl("GET", "/state")["tombstones"],
                         [{"key": "app/", "index": 14}])
        self.assertEqual(self.emu.index("/v1/kv/?recurse"), 16)
        self.assertIs(self.emu.delete("nothing/", "recurse"), True)
        self.assertEqual(self.emu.index("/v1/kv/?recurse"), 16, "deleting nothing: no change")

    def test_unrelated_prefix_index_stays(self):
        self.emu.put("app/a", b"1")
        self.emu.put("app2/a", b"1")
        self.emu.delete("app2/a")
        self.assertEqual(self.emu.index("/v1/kv/app/?recurse"), 11)
        self.assertEqual(self.emu.index("/v1/kv/app?recurse"), 13, "app2/ tombstone counts")


class LegacyIndexTest(EmuTest):
    ARGS = ("--no-jitter", "--legacy-index")

    def test_identical_put_bumps_modify_index(self):
        self.emu.put("app/a", b"1")
        self.emu.put("app/a", b"1")
        entry = self.emu.json("GET", "/v1/kv/app/a")[0]
        self.assertEqual((entry["CreateIndex"], entry["ModifyIndex"]), (11, 12))
        self.assertEqual(self.emu.index("/v1/kv/app/?recurse"), 12)
        self.assertTrue(self.emu.ctl("GET", "/state")["legacy_index"])


class DevModeTest(EmuTest):
    ARGS = ("--no-jitter", "--dev", "--start-index", "100")

    def test_dev_always_pretty_and_start_index(self):
        self.emu.put("a", b"1")
        status, _, body = self.emu.request("GET", "/v1/kv/a")
        self.assertTrue(body.startswith(b"[\n    {"))
        self.assertEqual(json.loads(body)[0]["CreateIndex"], 101)


if __name__ == "__main__":
    tap.main()
