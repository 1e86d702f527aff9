#!/usr/bin/python3
# See COPYING for copyright and license details.
"""Tasks as real local processes: environment, HTTP health checks, rolling
restart with minimumHealthCapacity, SIGTERM then SIGKILL, failures."""
import json
import os
import shutil
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from emutest import Emu, EmuTest, tap, wait_for  # noqa: E402

# A tiny service: dumps its environment, answers / with 200, can ignore TERM.
SERVER = r"""
import http.server, json, os, signal, sys
if "--ignore-term" in sys.argv:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
with open("env.json", "w") as f:
    json.dump(dict(os.environ), f)
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.send_header("Content-Length", "2")
        self.end_headers(); self.wfile.write(b"ok")
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT0"])), H).serve_forever()
"""

HC = [{"protocol": "HTTP", "path": "/", "portIndex": 0, "gracePeriodSeconds": 10,
       "intervalSeconds": 0.2, "timeoutSeconds": 1, "maxConsecutiveFailures": 3}]


class ProcTest(EmuTest):
    def setUp(self):
        super().setUp()
        self.script = os.path.join(self.emu.dir, "server.py")
        with open(self.script, "w") as f:
            f.write(SERVER)

    def tasks(self):
        return self.emu.ctl("GET", "/tasks")

    def settled(self, n):
        wait_for(lambda: not self.deployments() and self.app("/svc")["tasksHealthy"] == n,
                 timeout=15, what="%d healthy tasks" % n)

    def test_environment_and_health_check(self):
        self.emu.json("PUT", "/v2/apps/svc", {
            "cmd": "exec /usr/bin/python3 %s" % self.script, "instances": 1,
            "env": {"GREETING": "hi"}, "healthChecks": HC, "labels": {"team": "a"},
            "container": {"type": "MESOS", "docker": {"image": "galley/svc:1"}}},
            expect=201)
        self.settled(1)
        task = self.tasks()[0]
        env_file = os.path.join(task["sandbox"], "env.json")
        env = wait_for(lambda: os.path.exists(env_file) and json.load(open(env_file)))
        self.assertEqual(env["PORT0"], str(task["ports"][0]))
        self.assertEqual(env["PORT"], env["PORT0"])
        self.assertEqual(env["PORTS"], env["PORT0"])
        self.assertEqual(env["PORT_DEFAULT"], env["PORT0"])
        self.assertEqual(env["HOST"], "127.0.0.1")
        self.assertEqual(env["MARATHON_APP_ID"], "/svc")
        self.assertEqual(env["MARATHON_APP_VERSION"], task["version"])
        self.assertEqual(env["MESOS_TASK_ID"], task["id"])
        self.assertEqual(env["MESOS_SANDBOX"], task["sandbox"])
        self.assertEqual(env["MARATHON_APP_DOCKER_IMAGE"], "galley/svc:1")
        self.assertEqual(env["MARATHON_APP_LABEL_TEAM"], "a")
        self.assertEqual(env["GREETING"], "hi")
        self.assertEqual(os.getpgid(task["pid"]), task["pid"], "own process group")
        result = self.emu.json("GET", "/v2/apps/svc")["app"]["tasks"][0]["healthCheckResults"]
        self.assertTrue(result[0]["alive"])

    def test_rolling_restart_respects_minimum_health_capacity(self):
        self.emu.json("PUT", "/v2/apps/svc", {
            "cmd": "exec /usr/bin/python3 %s" % self.script, "instances": 2,
            "healthChecks": HC, "upgradeStrategy": {"minimumHealthCapacity": 0.5,
                                                    "maximumOverCapacity": 0}},
            expect=201)
        self.settled(2)
        old = {t["id"] for t in self.tasks()}
        restart = self.emu.json("POST", "/v2/apps/svc/restart", expect=200)
        lowest = 2
        deadline = time.monotonic() + 20
        while any(d["id"] == restart["deploymentId"] for d in self.deployments()):
            lowest = min(lowest, self.app("/svc")["tasksHealthy"])
            self.assertLess(time.monotonic(), deadline, "restart finished in time")
            time.sleep(0.02)
        self.assertGreaterEqual(lowest, 1, "never below ceil(2 * 0.5) healthy")
        tasks = self.tasks()
        self.assertFalse(old & {t["id"] for t in tasks})
        self.assertEqual({t["version"] for t in tasks}, {restart["version"]})

    def test_kill_sends_term_then_kill_after_grace(self):
        self.emu.json("PUT", "/v2/apps/svc", {
            "args": ["/usr/bin/python3", self.script, "--ignore-term"], "instances": 1,
            "taskKillGracePeriodSeconds": 1, "healthChecks": HC}, expect=201)
        self.settled(1)
        task = self.tasks()[0]
        with open("/proc/%d/cmdline" % task["pid"], "rb") as f:
            self.assertEqual(f.read().split(b"\0")[0], b"/usr/bin/python3", "no shell")
        env_file = os.path.join(task["sandbox"], "env.json")
        wait_for(lambda: os.path.exists(env_file), what="the TERM handler to be set")
        self.emu.json("DELETE", "/v2/apps/svc", expect=200)
        wait_for(lambda: not self.tasks(), timeout=10, what="the task to die")
        updates = [e for e in self.events("status_update_event")
                   if e["taskId"] == task["id"]]
        states = [e["taskStatus"] for e in updates]
        self.assertEqual(states[-2:], ["TASK_KILLING", "TASK_KILLED"])
        self.assertEqual(updates[-1]["message"], "Command terminated with signal Killed")
        stamp = lambda e: time.mktime(time.strptime(e["timestamp"][:19], "%Y-%m-%dT%H:%M:%S")) \
            + float(e["timestamp"][19:23])
        self.assertGreaterEqual(stamp(updates[-1]) - stamp(updates[-2]), 0.9)
        self.assertFalse(os.path.exists("/proc/%d" % task["pid"]))

    def test_exit_fails_and_is_relaunched(self):
        self.emu.json("PUT", "/v2/apps/svc", {"cmd": "exit 3", "instances": 1,
                                              "backoffSeconds": 0.2}, expect=201)
        failure = wait_for(lambda: self.app("/svc").get("lastTaskFailure"),
                           what="a task failure")
        self.assertEqual((failure["state"], failure["message"]),
                         ("TASK_FAILED", "Command exited with status 3"))
        wait_for(lambda: len({e["taskId"] for e in self.events("status_update_event")}) >= 3,
                 what="relaunches")

    def test_stop_leaves_no_processes(self):
        self.emu.json("PUT", "/v2/apps/svc", {
            "args": ["/usr/bin/python3", self.script, "--ignore-term"], "instances": 2},
            expect=201)
        wait_for(lambda: len([t for t in self.tasks() if t["pid"]]) == 2, what="2 processes")
        pids = [t["pid"] for t in self.tasks()]
        self.assertEqual(self.emu.stop(), 0)
        for pid in pids:
            self.assertFalse(os.path.exists("/proc/%d" % pid), "pid %d is gone" % pid)


class ImageTest(unittest.TestCase):
    """--images: a Docker image's ENTRYPOINT, CMD, WORKDIR and ENV, run as
    the Mesos docker containerizer would (without the container)."""

    def setUp(self):
        self.scratch = tempfile.mkdtemp(prefix="emu-test-")
        self.addCleanup(shutil.rmtree, self.scratch, True)
        self.workdir = os.path.join(self.scratch, "app")
        os.mkdir(self.workdir)
        with open(os.path.join(self.workdir, "server.py"), "w") as f:
            f.write(SERVER)
        images = os.path.join(self.scratch, "images.json")
        with open(images, "w") as f:
            json.dump({"galley/svc": {
                "Entrypoint": ["/usr/bin/env", "FROM_ENTRYPOINT=1"],
                "Cmd": ["/usr/bin/python3", "server.py", "--from-cmd"],
                "WorkingDir": self.workdir, "Env": ["IMAGE_ENV=yes", "GREETING=image"]}}, f)
        self.emu = Emu("--images", images, scratch=self.scratch)
        self.addCleanup(self.emu.stop)

    def run_app(self, definition):
        definition = dict(definition, instances=1, container={
            "type": "DOCKER", "docker": {"image": "galley/svc:1.0"}})
        self.emu.json("PUT", "/v2/apps/svc", definition, expect=201)
        task = wait_for(lambda: [t for t in self.emu.ctl("GET", "/tasks") if t["pid"]],
                        what="a process")[0]
        env_file = os.path.join(self.workdir, "env.json")
        env = wait_for(lambda: os.path.exists(env_file) and json.load(open(env_file)),
                       what="env.json in WorkingDir")
        with open("/proc/%d/cmdline" % task["pid"], "rb") as f:
            argv = f.read().split(b"\0")[:-1]
        os.unlink(env_file)
        return argv, env

    def test_args_follow_the_entrypoint(self):
        argv, env = self.run_app({"args": ["/usr/bin/python3", "server.py", "--a"],
                                  "env": {"GREETING": "app"}})
        self.assertEqual(argv, [b"/usr/bin/python3", b"server.py", b"--a"],
                         "env(1) exec'd the args after the ENTRYPOINT")
        self.assertEqual((env["FROM_ENTRYPOINT"], env["IMAGE_ENV"], env["GREETING"]),
                         ("1", "yes", "app"), "ENTRYPOINT ran; image ENV under app env")

    def test_no_args_runs_the_cmd_and_cmd_skips_the_entrypoint(self):
        argv, env = self.run_app({})
        self.assertEqual(argv[-1], b"--from-cmd")
        self.assertEqual(env["FROM_ENTRYPOINT"], "1")
        self.emu.json("DELETE", "/v2/apps/svc", expect=200)
        wait_for(lambda: not self.emu.ctl("GET", "/tasks"), what="no tasks")
        argv, env = self.run_app({"cmd": "exec /usr/bin/python3 server.py --from-sh"})
        self.assertEqual(argv[-1], b"--from-sh")
        self.assertNotIn("FROM_ENTRYPOINT", env, "cmd replaces the ENTRYPOINT (MESOS-1770)")


if __name__ == "__main__":
    tap.main()
