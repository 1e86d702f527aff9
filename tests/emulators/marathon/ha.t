#!/usr/bin/python3
# See COPYING for copyright and license details.
"""HA: three instances on one state dir (marathon.md §1.10): followers
proxy, /v2/events is redirected, leadership moves, is lost, fails over."""
import json
import os
import shutil
import signal
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from emutest import Emu, tap, wait_for  # noqa: E402

SIM = {"container": {"docker": {"image": "nginx:1"}}, "instances": 1}


class HaTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="emu-ha-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        state = os.path.join(self.dir, "state")
        self.a, self.b, self.c = (
            Emu("--name", n, "--leader-wait", "0.3", state_dir=state, scratch=self.dir)
            for n in "abc")
        for e in (self.a, self.b, self.c):
            self.addCleanup(e.stop)

    def leader_of(self, emu):
        return emu.json("GET", "/v2/leader", expect=200)["leader"]

    def test_followers_proxy_to_the_leader(self):
        status, headers, body = self.b.request("PUT", "/v2/apps/web", SIM)
        self.assertEqual(status, 201)
        self.assertEqual(headers["X-Marathon-Leader"], self.a.url)
        self.assertEqual(headers["X-Marathon-Via"], "1.1 127.0.0.1:%d" % self.b.port)
        self.assertEqual(headers["Marathon-Deployment-Id"], json.loads(body)["deploymentId"])
        self.assertEqual(self.c.json("GET", "/v2/apps/web", expect=200)["app"]["id"], "/web")
        self.assertEqual(self.leader_of(self.c), "127.0.0.1:%d" % self.a.port)
        seen = [r for r in self.a.ctl("GET", "/requests") if r["method"] == "PUT"]
        self.assertEqual(len(seen), 1)
        self.assertEqual(seen[0]["headers"]["X-Marathon-Via"], "1.1 127.0.0.1:%d" % self.b.port)
        self.assertEqual([r["method"] for r in self.b.ctl("GET", "/requests")], ["PUT"])

    def test_events_are_redirected_to_the_leader(self):
        status, headers, _ = self.c.request("GET", "/v2/events?event_type=deployment_info",
                                            headers={"Accept": "text/event-stream"})
        self.assertEqual(status, 302)
        self.assertEqual(headers["Location"],
                         self.a.url + "/v2/events?event_type=deployment_info")

    def test_leader_moves_with_the_state(self):
        self.a.ctl("POST", "/apps/web/knobs", {"noOffers": True})
        dep = self.a.json("PUT", "/v2/apps/web", SIM, expect=201)["deploymentId"]
        self.c.ctl("POST", "/leader", {"leader": "b"})
        self.assertEqual(self.leader_of(self.a), "127.0.0.1:%d" % self.b.port)
        self.assertEqual([d["id"] for d in self.a.json("GET", "/v2/deployments")], [dep])
        self.assertEqual(self.c.ctl("GET", "/apps/web/knobs"), {"noOffers": True})
        self.a.ctl("POST", "/apps/web/knobs", {"noOffers": None})
        wait_for(lambda: self.c.json("GET", "/v2/apps/web")["app"]["tasksRunning"] == 1,
                 what="the new leader to run the task")
        self.assertEqual(self.b.json("GET", "/v2/info")["elected"], True)

    def test_no_leader_is_502(self):
        self.b.ctl("POST", "/leader", {"leader": None})
        for emu in (self.a, self.b, self.c):
            status, headers, body = emu.request("GET", "/v2/apps")
            self.assertEqual(status, 502)
            self.assertTrue(headers["Content-Type"].startswith("text/html"))
            self.assertIn(b"Could not determine the current leader", body)
        self.assertEqual(self.a.request("GET", "/ping")[0], 502)
        self.b.ctl("POST", "/leader", {"leader": "c"})
        self.assertEqual(self.a.request("GET", "/v2/apps")[0], 200)
        self.assertEqual(self.leader_of(self.a), "127.0.0.1:%d" % self.c.port)

    def test_failover_when_the_leader_dies(self):
        self.b.json("PUT", "/v2/apps/web", SIM, expect=201)
        wait_for(lambda: os.path.exists(os.path.join(self.dir, "state", "state.json"))
                 and "/web" in open(os.path.join(self.dir, "state", "state.json")).read(),
                 what="the state to be written")
        self.a.proc.send_signal(signal.SIGKILL)
        self.a.proc.wait()
        wait_for(lambda: self.b.request("GET", "/v2/leader")[0] == 200 and
                 self.leader_of(self.b) != "127.0.0.1:%d" % self.a.port,
                 what="a new leader")
        self.assertEqual(self.c.json("GET", "/v2/apps/web", expect=200)["app"]["id"], "/web")

    def test_abdication(self):
        status, _, body = self.b.request("DELETE", "/v2/leader")
        self.assertEqual((status, json.loads(body)), (200, {"message": "Leadership abdicated"}))
        wait_for(lambda: self.leader_of(self.c) != "127.0.0.1:%d" % self.a.port,
                 what="another leader")


if __name__ == "__main__":
    tap.main()
