#!/usr/bin/python3
# See COPYING for copyright and license details.
"""Deployments step by step on the manual clock with simulated tasks:
rolling-upgrade arithmetic (marathon.md §1.7), revert and force (§1.6),
health checks, backoff and the per-app knobs."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from emutest import EmuTest, tap  # noqa: E402

HC = [{"protocol": "HTTP", "path": "/", "gracePeriodSeconds": 30,
       "intervalSeconds": 10, "maxConsecutiveFailures": 3}]


def sim(instances, strategy=None, **extra):
    app = {"container": {"docker": {"image": "nginx:1"}}, "instances": instances,
           "healthChecks": HC, "env": {"V": "1"}}
    if strategy:
        app["upgradeStrategy"] = {"minimumHealthCapacity": strategy[0],
                                  "maximumOverCapacity": strategy[1]}
    app.update(extra)
    return app


class DeployTest(EmuTest):
    ARGS = ("--clock", "manual")

    def tasks(self):
        return self.emu.json("GET", "/v2/apps/web/tasks", expect=200)["tasks"]

    def census(self, version):
        """(old, new, healthy) task counts against the app's new version."""
        tasks = self.tasks()
        new = [t for t in tasks if t["version"] == version]
        healthy = [t for t in tasks if t["healthCheckResults"]
                   and all(h["alive"] for h in t["healthCheckResults"])]
        return len(tasks) - len(new), len(new), len(healthy)

    def start(self, instances, strategy=None):
        self.emu.json("PUT", "/v2/apps/web", sim(instances, strategy), expect=201)
        self.emu.advance(10)                     # first health check passes
        self.assertEqual(self.deployments(), [])
        self.assertEqual(self.app("/web")["tasksHealthy"], instances)

    def upgrade(self):
        return self.emu.json("PUT", "/v2/apps/web", {"env": {"V": "2"}},
                             expect=200)["version"]

    def test_default_strategy_starts_all_new_alongside(self):
        self.start(4)                                       # 1 / 1
        v = self.upgrade()
        self.assertEqual(self.census(v), (4, 4, 4))        # maxCapacity 8
        dep = self.deployments()[0]
        self.assertEqual(dep["currentActions"][0]["action"], "RestartApplication")
        self.emu.advance(10)
        self.assertEqual(self.census(v), (0, 4, 4))
        self.assertEqual(self.deployments(), [])

    def test_half_capacity_no_overcapacity(self):
        self.start(4, (0.5, 0))           # minHealthy 2, maxCapacity 4
        v = self.upgrade()
        self.assertEqual(self.census(v), (2, 2, 2))        # kill 2, start 2
        self.emu.advance(10)
        self.assertEqual(self.census(v), (0, 4, 2))        # 2 healthy new: 2 more
        self.emu.advance(10)
        self.assertEqual(self.census(v), (0, 4, 4))
        self.assertEqual(self.deployments(), [])

    def test_full_capacity_one_extra_at_a_time(self):
        self.start(4, (1, 0))             # minHealthy == maxCapacity: one extra
        v = self.upgrade()
        for new in (1, 2, 3, 4):
            self.assertEqual(self.census(v), (5 - new, new, 4))
            self.emu.advance(10)
        self.assertEqual(self.census(v), (0, 4, 4))
        self.assertEqual(self.deployments(), [])

    def test_zero_capacity_kills_everything_first(self):
        self.start(4, (0, 0))
        v = self.upgrade()
        self.assertEqual(self.census(v), (0, 4, 0))        # downtime
        self.emu.advance(10)
        self.assertEqual(self.census(v), (0, 4, 4))

    def test_restart_endpoint_rolls_with_a_new_version(self):
        self.start(2, (0.5, 0))
        before = self.app("/web")
        result = self.emu.json("POST", "/v2/apps/web/restart", expect=200)
        after = self.app("/web")
        self.assertEqual(after["version"], result["version"])
        self.assertEqual(after["versionInfo"]["lastConfigChangeAt"], result["version"])
        self.assertNotEqual(before["version"], after["version"])
        self.assertEqual(self.census(result["version"]), (1, 1, 1))
        self.emu.advance(10)
        self.emu.advance(10)
        self.assertEqual(self.census(result["version"]), (0, 2, 2))
        self.assertEqual(self.deployments(), [])

    def test_scale_down_kills_youngest_first(self):
        self.start(2)
        self.emu.json("PUT", "/v2/apps/web", {"instances": 3}, expect=200)
        self.emu.advance(10)
        ids = [t["id"] for t in sorted(self.tasks(), key=lambda t: t["stagedAt"])]
        self.emu.json("PUT", "/v2/apps/web", {"instances": 2}, expect=200)
        self.assertEqual([t["id"] for t in sorted(self.tasks(), key=lambda t: t["stagedAt"])],
                         ids[:2])
        self.assertEqual(self.deployments(), [])

    def test_delete_deployment_reverts(self):
        self.start(2)
        v1 = self.app("/web")
        self.emu.ctl("POST", "/apps/web/knobs", {"neverHealthy": True})
        self.upgrade()
        self.emu.advance(10)
        dep = self.deployments()[0]
        self.emu.ctl("POST", "/apps/web/knobs", {"neverHealthy": None})
        status, headers, body = self.emu.request("DELETE", "/v2/deployments/" + dep["id"])
        self.assertEqual(status, 200)
        revert = self.deployments()
        self.assertEqual([d["id"] for d in revert], [headers["Marathon-Deployment-Id"]])
        self.assertEqual(self.app("/web")["env"], {"V": "1"})
        self.assertNotEqual(self.app("/web")["version"], v1["version"])
        self.assertEqual([e["id"] for e in self.events("deployment_failed")], [dep["id"]])
        self.emu.advance(10)
        self.assertEqual(self.deployments(), [])
        self.assertEqual(self.census(self.app("/web")["version"]), (0, 2, 2))

    def test_delete_deployment_with_force_only_cancels(self):
        self.start(2)
        self.emu.ctl("POST", "/apps/web/knobs", {"neverHealthy": True})
        v2 = self.upgrade()
        dep = self.deployments()[0]
        status, _, body = self.emu.request("DELETE", "/v2/deployments/%s?force=true" % dep["id"])
        self.assertEqual((status, body), (202, b""))
        self.assertEqual(self.deployments(), [])
        self.assertEqual(self.app("/web")["version"], v2)
        self.assertEqual(self.app("/web")["env"], {"V": "2"})
        self.assertEqual(self.events("deployment_failed")[0]["reason"],
                         "The upgrade has been cancelled")

    def test_never_healthy_hangs_kills_and_records_failure(self):
        self.emu.ctl("POST", "/apps/web/knobs", {"neverHealthy": True})
        self.emu.json("PUT", "/v2/apps/web", sim(1, backoffSeconds=5), expect=201)
        first = self.tasks()[0]["id"]
        self.emu.advance(29)                      # failures ignored during grace
        app = self.app("/web")
        self.assertEqual((app["tasksHealthy"], app["tasksUnhealthy"]), (0, 0))
        self.assertEqual(self.tasks()[0]["healthCheckResults"], [])
        self.emu.advance(11)                      # 30 s: 1st, 40 s: 2nd failure
        self.assertEqual(self.tasks()[0]["healthCheckResults"][0]["consecutiveFailures"], 2)
        self.assertEqual(self.app("/web")["tasksUnhealthy"], 1)
        self.emu.advance(10)                      # 50 s, 3rd failure: killed
        kills = self.events("unhealthy_instance_kill_event")
        self.assertEqual([k["taskId"] for k in kills], [first])
        self.assertEqual(self.app("/web")["lastTaskFailure"]["taskId"], first)
        queue = self.emu.json("GET", "/v2/queue")["queue"]
        self.assertEqual((queue[0]["count"], queue[0]["delay"]["timeLeftSeconds"]), (1, 5))
        self.emu.advance(5)
        self.assertNotEqual(self.tasks()[0]["id"], first)
        self.assertEqual(len(self.deployments()), 1, "Marathon never fails it")

    def test_crash_loop_backoff_grows_to_the_cap(self):
        self.emu.ctl("POST", "/apps/web/knobs", {"crashLoop": True, "crashAfterSeconds": 1})
        self.emu.json("PUT", "/v2/apps/web", sim(1, healthChecks=[], backoffSeconds=2,
                                                  backoffFactor=2, maxLaunchDelaySeconds=10),
                      expect=201)
        self.emu.advance(40)
        staged = [e for e in self.events("status_update_event")
                  if e["taskStatus"] == "TASK_STAGING"]
        failed = [e for e in self.events("status_update_event")
                  if e["taskStatus"] == "TASK_FAILED"]
        secs = lambda e: float(e["timestamp"][17:23]) + 60 * int(e["timestamp"][14:16])
        gaps = [round(secs(s) - secs(f)) for f, s in zip(failed, staged[1:])]
        self.assertEqual(gaps[:4], [2, 4, 8, 10])
        self.assertEqual(failed[0]["message"], "Command exited with status 1")
        self.assertEqual(self.app("/web")["lastTaskFailure"]["state"], "TASK_FAILED")

    def test_slow_start_stays_staged(self):
        self.emu.ctl("POST", "/apps/web/knobs", {"slowStartSeconds": 5})
        self.emu.json("PUT", "/v2/apps/web", sim(2, healthChecks=[]), expect=201)
        self.assertEqual(self.app("/web")["tasksStaged"], 2)
        self.emu.advance(4.9)
        self.assertEqual(self.app("/web")["tasksStaged"], 2)
        self.emu.advance(0.1)
        app = self.app("/web")
        self.assertEqual((app["tasksStaged"], app["tasksRunning"]), (0, 2))
        self.assertEqual(self.deployments(), [])


if __name__ == "__main__":
    tap.main()
