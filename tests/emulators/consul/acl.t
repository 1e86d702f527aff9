#!/usr/bin/python3
# See COPYING for copyright and license details.
"""ACL tokens (consul.md §1.3, §1.8): where the token comes from, Consul's
403 texts, silent filtering of recursive reads, prefix rules."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from emutest import EmuTest, tap  # noqa: E402

ADMIN = {"X-Consul-Token": "admin-tok"}


class AclOffTest(EmuTest):
    def test_tokens_are_ignored(self):
        for h in ({}, {"X-Consul-Token": "whatever"}):
            self.assertIs(self.emu.put("k", b"1", headers=h), True)
        self.assertEqual(self.emu.request("GET", "/v1/kv/k?token=nope")[0], 200)
        self.assertFalse(self.emu.ctl("GET", "/state")["acl"]["enabled"])


class AclDenyTest(EmuTest):
    ARGS = ("--no-jitter", "--acl-default", "deny",
            "--token", "admin-tok:management",
            "--token", "app-tok:write:app/,deny:app/secret/",
            "--token", "ro-tok:read:app/,read:shared",
            "--token", "anonymous:read:public/")

    def setUp(self):
        super().setUp()
        for k in ("app/a", "app/secret/key", "app/z", "other/x", "public/p"):
            self.emu.put(k, b"1", headers=ADMIN)

    def test_default_policy_header(self):
        status, h, _ = self.emu.request("GET", "/v1/kv/public/p")
        self.assertEqual((status, h["X-Consul-Default-Acl-Policy"]), (200, "deny"))

    def test_token_sources_and_precedence(self):
        for h, q in (({"X-Consul-Token": "ro-tok"}, ""),
                     ({"Authorization": "Bearer ro-tok"}, ""),
                     ({"Authorization": "bearer  ro-tok extra"}, ""),
                     ({}, "?token=ro-tok"),
                     ({"X-Consul-Token": "nope"}, "?token=ro-tok"),
                     ({"X-Consul-Token": "ro-tok", "Authorization": "Bearer nope"}, "")):
            self.assertEqual(self.emu.request("GET", "/v1/kv/app/a" + q, headers=h)[0], 200,
                             (h, q))
        self.assertEqual(self.emu.request("GET", "/v1/kv/app/a",
                                          headers={"Authorization": "Basic ro-tok"})[0], 403,
                         "only Bearer counts")
        self.assertEqual([r["token"] for r in self.emu.requests()[5:]],
                         ["header", "bearer", "bearer", "query", "query", "header", "none"])

    def test_unknown_token(self):
        for method in ("GET", "PUT", "DELETE"):
            status, h, body = self.emu.request(method, "/v1/kv/app/a",
                                               b"1" if method == "PUT" else None,
                                               {"X-Consul-Token": "nope"})
            self.assertEqual((status, body), (403, b"ACL not found"), method)
            self.assertEqual(h["Content-Type"], "text/plain; charset=utf-8")
            self.assertIsNone(h["X-Consul-Index"])

    def test_denied_texts(self):
        status, _, body = self.emu.request("GET", "/v1/kv/other/x",
                                           headers={"X-Consul-Token": "ro-tok"})
        self.assertEqual(status, 403)
        text = body.decode()
        self.assertRegex(text, r"^Permission denied: token with AccessorID '[0-9a-f-]{36}' "
                               r"lacks permission 'key:read' on \"other/x\"$")
        self.assertNotIn("ro-tok", text)
        status, _, body = self.emu.request("GET", "/v1/kv/other/missing")
        self.assertEqual((status, body.decode()), (
            403, "Permission denied: anonymous token lacks permission 'key:read' on "
                 "\"other/missing\". The anonymous token is used implicitly when a request "
                 "does not specify a token."))
        status, _, body = self.emu.request("PUT", "/v1/kv/app/a", b"2",
                                           {"X-Consul-Token": "ro-tok"})
        self.assertEqual(status, 403)
        self.assertIn("lacks permission 'key:write' on \"app/a\"", body.decode())
        self.assertEqual(self.emu.json("GET", "/v1/kv/app/a", headers=ADMIN)[0]["ModifyIndex"],
                         11, "nothing written")

    def test_recursive_reads_are_filtered_silently(self):
        app = {"X-Consul-Token": "app-tok"}
        self.emu.put("app/secret/key", b"2", headers=ADMIN)        # 16
        status, h, body = self.emu.request("GET", "/v1/kv/app/?recurse", headers=app)
        self.assertEqual(status, 200)
        self.assertEqual([e["Key"] for e in json.loads(body)], ["app/a", "app/z"])
        self.assertEqual(h["X-Consul-Index"], "16", "computed before filtering")
        self.assertEqual(h["X-Consul-Results-Filtered-By-Acls"], "true")
        self.assertEqual(self.emu.json("GET", "/v1/kv/app/?keys", headers=app),
                         ["app/a", "app/z"])
        status, h, body = self.emu.request("GET", "/v1/kv/app/secret/?recurse", headers=app)
        self.assertEqual((status, body, h["X-Consul-Index"]), (404, b"", "16"))
        status, h, body = self.emu.request("GET", "/v1/kv/?recurse")
        self.assertEqual([e["Key"] for e in json.loads(body)], ["public/p"])
        self.assertIsNone(h["X-Consul-Results-Filtered-By-Acls"], "not without a token")
        status, _, body = self.emu.request("GET", "/v1/kv/?keys", headers=ADMIN)
        self.assertEqual(len(json.loads(body)), 5)

    def test_write_rules(self):
        app = {"X-Consul-Token": "app-tok"}
        self.assertIs(self.emu.put("app/new", b"1", headers=app), True)
        self.assertEqual(self.emu.request("PUT", "/v1/kv/app/secret/k", b"1", app)[0], 403)
        self.assertEqual(self.emu.request("DELETE", "/v1/kv/app/?recurse", headers=app)[0], 403,
                         "a deny rule below the prefix")
        self.assertIs(self.emu.delete("app/z", headers=app), True)
        self.assertIs(self.emu.delete("app/a", "recurse", headers=app), True)
        self.assertEqual(self.emu.request("DELETE", "/v1/kv/other/?recurse", headers=app)[0],
                         403)
        self.assertIs(self.emu.delete("", "recurse", headers=ADMIN), True)

    def test_explicit_anonymous_token(self):
        h = {"X-Consul-Token": "anonymous"}
        self.assertEqual(self.emu.request("GET", "/v1/kv/public/p", headers=h)[0], 200)
        status, _, body = self.emu.request("GET", "/v1/kv/app/a", headers=h)
        self.assertEqual(status, 403)
        self.assertIn(b"anonymous token lacks", body)


class AclAllowTest(EmuTest):
    ARGS = ("--no-jitter", "--acl-default", "allow", "--token", "lim:deny:private/",
            "ro:read")

    def test_default_allow(self):
        lim = {"X-Consul-Token": "lim"}
        self.assertIs(self.emu.put("private/k", b"1"), True, "anonymous may do anything")
        self.assertIs(self.emu.put("app/k", b"1", headers=lim), True)
        self.assertEqual(self.emu.request("GET", "/v1/kv/private/k", headers=lim)[0], 403)
        self.assertEqual([e["Key"] for e in self.emu.json("GET", "/v1/kv/?recurse",
                                                          headers=lim)], ["app/k"])
        status, h, _ = self.emu.request("GET", "/v1/kv/app/k")
        self.assertEqual(h["X-Consul-Default-Acl-Policy"], "allow")
        ro = {"X-Consul-Token": "ro"}          # --token A B: two tokens
        self.assertEqual(self.emu.request("GET", "/v1/kv/private/k", headers=ro)[0], 200)
        self.assertEqual(self.emu.request("PUT", "/v1/kv/app/k", b"2", ro)[0], 403)


if __name__ == "__main__":
    tap.main()
