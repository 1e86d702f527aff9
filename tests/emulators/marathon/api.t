#!/usr/bin/python3
# See COPYING for copyright and license details.
"""Raw HTTP: Marathon 1.x status codes, headers and bodies
(marathon.md §1.3–§1.8, §1.10 and the Addendum)."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from emutest import EmuTest, tap  # noqa: E402

SIM = {"container": {"docker": {"image": "nginx:1"}}, "instances": 1}
JSON = {"Content-Type": "application/json"}


class ApiTest(EmuTest):
    ARGS = ("--clock", "manual")

    def put(self, path, body, query=""):
        return self.emu.request("PUT", path + query, body)

    def test_put_creates_201_then_updates_200(self):
        status, headers, body = self.put("/v2/apps/web", SIM)
        self.assertEqual(status, 201)
        created = json.loads(body)
        self.assertEqual(sorted(created), ["deploymentId", "version"])
        self.assertEqual(headers["Marathon-Deployment-Id"], created["deploymentId"])
        self.assertEqual(headers["Content-Type"], "application/json")
        self.assertEqual(headers["X-Marathon-Leader"], self.emu.url)
        self.assertEqual(headers["Cache-Control"], "no-cache, no-store, must-revalidate")
        status, headers, body = self.put("/v2/apps/web", dict(SIM, instances=2),
                                         "?partialUpdate=false")
        self.assertEqual(status, 200)
        self.assertEqual(headers["Marathon-Deployment-Id"], json.loads(body)["deploymentId"])

    def test_post_201_body_and_409_exists(self):
        status, headers, body = self.emu.request("POST", "/v2/apps", dict(SIM, id="shop/web"))
        self.assertEqual(status, 201)
        app = json.loads(body)
        self.assertEqual(app["id"], "/shop/web")
        self.assertEqual(app["deployments"], [{"id": headers["Marathon-Deployment-Id"]}])
        self.assertEqual([app[k] for k in ("tasksStaged", "tasksRunning", "tasksHealthy",
                                           "tasksUnhealthy")], [0, 0, 0, 0])
        self.assertNotIn("tasks", app)
        self.assertEqual(app["networks"], [{"mode": "host"}])
        self.assertEqual(app["portDefinitions"],
                         [{"port": 10000, "protocol": "tcp", "name": "default"}])
        status, _, body = self.emu.request("POST", "/v2/apps", dict(SIM, id="/shop/web"))
        self.assertEqual(status, 409)
        self.assertEqual(json.loads(body),
                         {"message": "An app with id [/shop/web] already exists."})

    def test_locked_409_and_force(self):
        self.emu.ctl("POST", "/apps/web/knobs", {"noOffers": True})
        first = self.emu.json("PUT", "/v2/apps/web", SIM, expect=201)
        status, _, body = self.put("/v2/apps/web", dict(SIM, instances=3))
        self.assertEqual(status, 409)
        self.assertEqual(json.loads(body), {
            "message": "App is locked by one or more deployments. Override with the "
                       "option '?force=true'. View details at "
                       "'/v2/deployments/<DEPLOYMENT_ID>'.",
            "deployments": [{"id": first["deploymentId"]}]})
        self.assertEqual(self.app("/web")["instances"], 1, "409 changed nothing")
        status, _, body = self.put("/v2/apps/web", dict(SIM, instances=3), "?force=TRUE")
        self.assertEqual(status, 200)
        second = json.loads(body)["deploymentId"]
        self.assertEqual([d["id"] for d in self.deployments()], [second])
        failed = self.events("deployment_failed")
        self.assertEqual([(e["id"], e["reason"]) for e in failed],
                         [(first["deploymentId"], "The upgrade has been cancelled")])
        self.assertEqual(self.put("/v2/apps/web", dict(SIM, instances=4), "?force=1")[0],
                         409, "force=1 is not true for JAX-RS")

    def test_unchanged_put_has_no_steps_and_keeps_version(self):
        self.emu.json("PUT", "/v2/apps/web", SIM, expect=201)
        self.emu.advance(1)
        before = self.app("/web")
        again = self.emu.json("PUT", "/v2/apps/web?partialUpdate=false", SIM, expect=200)
        self.assertNotEqual(again["version"], before["version"])
        self.assertEqual(self.deployments(), [])
        self.assertEqual(self.app("/web")["version"], before["version"])
        success = self.events("deployment_success")
        self.assertEqual(success[-1]["id"], again["deploymentId"])
        self.assertEqual(success[-1]["plan"]["steps"], [])
        self.assertEqual(self.emu.json("GET", "/v2/apps/web/versions")["versions"],
                         [before["version"]])

    def test_scale_only_moves_version_not_config_change(self):
        self.emu.json("PUT", "/v2/apps/web", SIM, expect=201)
        before = self.app("/web")
        self.emu.advance(1)
        result = self.emu.json("PUT", "/v2/apps/web", {"instances": 2}, expect=200)
        plan = self.deployments()[0] if self.deployments() else None
        after = self.app("/web")
        self.assertEqual(after["version"], result["version"])
        self.assertEqual(after["versionInfo"]["lastScalingAt"], result["version"])
        self.assertEqual(after["versionInfo"]["lastConfigChangeAt"],
                         before["versionInfo"]["lastConfigChangeAt"])
        steps = self.events("deployment_info")[-1]["plan"]["steps"]
        self.assertEqual(steps, [{"actions": [{"action": "ScaleApplication",
                                               "app": "/web"}]}])
        self.assertIsNone(plan)     # simulated tasks run at once

    def test_new_app_plan_has_start_then_scale(self):
        self.emu.ctl("POST", "/apps/web/knobs", {"noOffers": True})
        self.emu.json("PUT", "/v2/apps/web", SIM, expect=201)
        dep = self.deployments()[0]
        self.assertEqual(dep["steps"], [
            {"actions": [{"action": "StartApplication", "app": "/web"}]},
            {"actions": [{"action": "ScaleApplication", "app": "/web"}]}])
        self.assertEqual((dep["currentStep"], dep["totalSteps"]), (2, 2))
        self.assertEqual(dep["affectedApps"], ["/web"])
        self.assertEqual(dep["currentActions"], [
            {"action": "ScaleApplication", "app": "/web", "readinessCheckResults": []}])
        self.assertEqual(self.app("/web")["deployments"], [{"id": dep["id"]}])

    def test_partial_update_semantics(self):
        self.emu.json("PUT", "/v2/apps/web", dict(SIM, env={"A": "1", "B": "2"},
                                                  labels={"x": "y"}), expect=201)
        self.emu.json("PUT", "/v2/apps/web", {"env": {"A": "3"}}, expect=200)
        app = self.app("/web")
        self.assertEqual((app["env"], app["labels"]), ({"A": "3"}, {"x": "y"}))
        self.emu.json("PUT", "/v2/apps/web?partialUpdate=false", SIM, expect=200)
        app = self.app("/web")
        self.assertEqual((app["env"], app["labels"]), ({}, {}))
        self.emu.json("PATCH", "/v2/apps/web", {"instances": 2}, expect=200)
        self.assertEqual(self.app("/web")["instances"], 2)
        status, _, body = self.emu.request("PATCH", "/v2/apps/nope", {"instances": 2})
        self.assertEqual((status, json.loads(body)),
                         (404, {"message": "App '/nope' does not exist"}))

    def test_body_id_loses_to_path_and_versions_roll_back(self):
        self.emu.ctl("POST", "/apps/web/knobs", {"simulate": True})
        self.emu.json("PUT", "/v2/apps/web", dict(SIM, id="/other", cmd="a"), expect=201)
        self.assertEqual(sorted(a["id"] for a in self.emu.json("GET", "/v2/apps")["apps"]),
                         ["/web"])
        first = self.app("/web")["version"]
        self.emu.json("PUT", "/v2/apps/web", {"cmd": "b"}, expect=200)
        status, _, body = self.put("/v2/apps/web", {"version": first, "cmd": "c"})
        self.assertEqual(status, 422)
        self.assertEqual(json.loads(body), {"message": "Object is not valid", "details": [
            {"path": "/", "errors": ["The 'version' field may only be combined with "
                                     "the 'id' field."]}]})
        self.emu.json("PUT", "/v2/apps/web", {"version": first}, expect=200)
        self.assertEqual(self.app("/web")["cmd"], "a")
        self.assertEqual(self.emu.json("GET", "/v2/apps/web/versions/" + first,
                                       expect=200)["cmd"], "a")
        status, _, body = self.emu.request("GET", "/v2/apps/web/versions/2000-01-01T00:00:00.000Z")
        self.assertEqual(json.loads(body)["message"],
                         "App '/web' does not exist in version 2000-01-01T00:00:00.000Z")

    def test_422_validation_details(self):
        status, _, body = self.put("/v2/apps/Bad_Id", SIM)
        self.assertEqual(status, 422)
        err = json.loads(body)
        self.assertEqual(err["message"], "Object is not valid")
        self.assertEqual(err["details"][0]["path"], "/id")
        self.assertTrue(err["details"][0]["errors"][0].startswith(
            "must fully match regular expression '^(([a-z0-9]|"))
        status, _, body = self.put("/v2/apps/web", {"instances": 1})
        self.assertEqual((status, json.loads(body)["details"]), (422, [
            {"path": "/", "errors": ["AppDefinition must either contain one of 'cmd' "
                                     "or 'args', and/or a 'container'."]}]))
        status, _, body = self.put("/v2/apps/web", dict(SIM, upgradeStrategy={
            "minimumHealthCapacity": 1.5}))
        self.assertEqual(json.loads(body)["details"], [
            {"path": "/upgradeStrategy/minimumHealthCapacity",
             "errors": ["is greater than 1"]}])
        status, _, body = self.put("/v2/apps/web", dict(SIM, instances="two"))
        self.assertEqual((status, json.loads(body)), (422, {
            "message": "Invalid JSON",
            "details": [{"path": "/instances", "errors": ["error.expected.jsnumber"]}]}))
        status, _, body = self.emu.request("POST", "/v2/apps", dict(SIM))
        self.assertEqual(json.loads(body)["details"],
                         [{"path": "/id", "errors": ["error.path.missing"]}])

    def test_400_has_string_details(self):
        status, headers, body = self.emu.request("PUT", "/v2/apps/web", b'{"cmd": ', JSON)
        err = json.loads(body)
        self.assertEqual((status, err["message"]), (400, "Invalid JSON"))
        self.assertIsInstance(err["details"], str)
        status, _, body = self.emu.request("PUT", "/v2/apps/web", b"", JSON)
        err = json.loads(body)
        self.assertEqual((status, err["message"]), (400, "Please specify data in JSON format"))
        self.assertTrue(err["details"].startswith("No content to map due to end-of-input"))
        status, _, body = self.emu.request("PUT", "/v2/apps", SIM)
        self.assertEqual((status, json.loads(body)), (400, {
            "message": "Invalid JSON",
            "details": [{"path": "", "errors": ["error.expected.jsarray"]}]}))

    def test_415_404_405_500(self):
        status, _, body = self.emu.request(
            "PUT", "/v2/apps/web", json.dumps(SIM),
            {"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual((status, json.loads(body)), (415, {"message": "Unsupported Media Type"}))
        self.assertEqual(self.emu.request("PUT", "/v2/apps/web", json.dumps(SIM),
                                          {"Content-Type": "application/json; charset=utf-8"})[0], 201)
        for method, path, msg in (
                ("GET", "/v2/apps/nope", "App '/nope' does not exist"),
                ("POST", "/v2/apps/nope/restart", "App '/nope' does not exist"),
                ("DELETE", "/v2/deployments/abc", "DeploymentPlan abc does not exist")):
            status, _, body = self.emu.request(method, path)
            self.assertEqual((status, json.loads(body)), (404, {"message": msg}), path)
        status, _, body = self.emu.request("GET", "/v2/deployments/abc")
        self.assertEqual((status, json.loads(body)), (405, {"message": "Method Not Allowed"}))
        status, _, body = self.emu.request("GET", "/v2/nothing")
        self.assertEqual((status, json.loads(body)), (500, {"message": "URI not found"}))

    def test_delete_app_forces_by_default(self):
        self.emu.ctl("POST", "/apps/web/knobs", {"noOffers": True})
        self.emu.json("PUT", "/v2/apps/web", SIM, expect=201)
        self.assertEqual(self.emu.request("DELETE", "/v2/apps/web?force=false")[0], 409)
        status, headers, body = self.emu.request("DELETE", "/v2/apps/web")
        self.assertEqual(status, 200)
        self.assertEqual(headers["Marathon-Deployment-Id"], json.loads(body)["deploymentId"])
        self.assertEqual(self.emu.request("GET", "/v2/apps/web")[0], 404)
        self.assertEqual(self.deployments(), [])

    def test_ping_info_leader_queue(self):
        status, headers, body = self.emu.request("GET", "/ping")
        self.assertEqual((status, headers["Content-Type"], body), (200, "text/plain", b"pong"))
        status, _, body = self.emu.request("GET", "/ping", headers={"Accept": "application/json"})
        self.assertEqual(body, b'"pong"')
        self.assertEqual(self.emu.request("GET", "/ping", headers={"Accept": "image/png"})[0], 204)
        info = self.emu.json("GET", "/v2/info", expect=200)
        self.assertEqual((info["name"], info["elected"], info["leader"]),
                         ("marathon", True, "127.0.0.1:%d" % self.emu.port))
        self.assertEqual(self.emu.json("GET", "/v2/leader", expect=200),
                         {"leader": "127.0.0.1:%d" % self.emu.port})
        self.assertEqual(self.emu.json("GET", "/v2/queue", expect=200), {"queue": []})

    def test_app_listing_filters_and_embeds(self):
        self.emu.json("PUT", "/v2/apps/a/one", dict(SIM, labels={"tier": "web"}), expect=201)
        self.emu.json("PUT", "/v2/apps/b", dict(SIM, cmd="sleep 9", instances=0), expect=201)
        apps = self.emu.json("GET", "/v2/apps")["apps"]
        self.assertEqual([a["id"] for a in apps], ["/a/one", "/b"])
        self.assertTrue(all("tasks" not in a and "tasksRunning" in a for a in apps))
        self.assertEqual(len(self.emu.json("GET", "/v2/apps?embed=apps.tasks")["apps"][0]["tasks"]), 1)
        self.assertEqual([a["id"] for a in self.emu.json("GET", "/v2/apps?label=tier==web")["apps"]],
                         ["/a/one"])
        self.assertEqual([a["id"] for a in self.emu.json("GET", "/v2/apps?cmd=SLEEP")["apps"]], ["/b"])
        self.assertEqual([a["id"] for a in self.emu.json("GET", "/v2/apps/a/*")["*"]], ["/a/one"])
        tasks = self.emu.json("GET", "/v2/apps/a/one/tasks", expect=200)["tasks"]
        self.assertEqual(tasks[0]["appId"], "/a/one")
        self.assertTrue(tasks[0]["id"].startswith("a_one."))


if __name__ == "__main__":
    tap.main()
