#!/usr/bin/python3
# See COPYING for copyright and license details.
"""The real python3-marathon client against the emulator."""
import logging
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from emutest import EmuTest, tap, wait_for  # noqa: E402

import marathon  # noqa: E402
from marathon.models import MarathonApp  # noqa: E402
from marathon.models.container import MarathonContainer  # noqa: E402

logging.getLogger("marathon").setLevel(logging.CRITICAL)   # expected 4xx


class ClientTest(EmuTest):
    def setUp(self):
        super().setUp()
        self.client = marathon.MarathonClient(self.emu.url, timeout=5)

    def create(self, app_id="/shop/web", instances=2):
        app = MarathonApp(instances=instances, cpus=0.1, mem=32,
                          container=MarathonContainer(docker={"image": "nginx:1"}))
        return self.client.create_app(app_id, app)

    def settle(self, app_id, instances):
        wait_for(lambda: not self.client.list_deployments() and
                 self.client.get_app(app_id).tasks_running == instances,
                 what="%s to run %d tasks" % (app_id, instances))

    def test_ping_info_leader(self):
        self.assertEqual(self.client.ping(), b'"pong"')
        info = self.client.get_info()
        self.assertEqual(info.name, "marathon")
        self.assertTrue(info.elected)
        self.assertEqual(self.client.get_leader(),
                         {"leader": "127.0.0.1:%d" % self.emu.port})

    def test_create_and_get(self):
        created = self.create()
        self.assertEqual(created.id, "/shop/web")
        self.assertEqual(created.instances, 2)
        self.assertEqual(created.tasks_running, 0)
        self.assertEqual(len(created.deployments), 1)
        self.settle("/shop/web", 2)
        app = self.client.get_app("/shop/web")
        self.assertEqual(app.container.docker.image, "nginx:1")
        self.assertEqual(len(app.tasks), 2)
        self.assertEqual(app.tasks_healthy, 0)   # no health checks: never counted
        self.assertEqual([a.id for a in self.client.list_apps()], ["/shop/web"])
        with self.assertRaises(marathon.exceptions.MarathonHttpError) as e:
            self.create()
        self.assertEqual(e.exception.status_code, 409)

    def test_update_scale_restart(self):
        self.create()
        self.settle("/shop/web", 2)
        before = self.client.get_app("/shop/web")
        old_tasks = {t.id for t in before.tasks}

        result = self.client.scale_app("/shop/web", instances=3)
        self.assertIn("deploymentId", result)
        self.settle("/shop/web", 3)
        scaled = self.client.get_app("/shop/web")
        self.assertTrue(old_tasks <= {t.id for t in scaled.tasks}, "scale kept tasks")
        self.assertEqual(scaled.version_info.last_config_change_at,
                         before.version_info.last_config_change_at)
        self.assertNotEqual(scaled.version, before.version)

        update = MarathonApp(env={"COLOUR": "blue"})
        result = self.client.update_app("/shop/web", update)
        self.settle("/shop/web", 3)
        updated = self.client.get_app("/shop/web")
        self.assertEqual(updated.env, {"COLOUR": "blue"})
        self.assertEqual(updated.instances, 3)      # partial update kept it
        self.assertEqual(updated.version, result["version"])
        self.assertFalse(old_tasks & {t.id for t in updated.tasks}, "rolled")

        restart = self.client.restart_app("/shop/web")
        self.settle("/shop/web", 3)
        restarted = self.client.get_app("/shop/web")
        self.assertEqual(restarted.version, restart["version"])
        self.assertTrue(all(t.version == restart["version"] for t in restarted.tasks))

        versions = self.client.list_versions("/shop/web")
        self.assertEqual(versions[0], restarted.version)
        self.assertEqual(len(versions), 4)
        first = self.client.get_version("/shop/web", versions[-1])
        self.assertEqual(first.instances, 2)

    def test_tasks_deployments_queue(self):
        self.emu.ctl("POST", "/apps/slow/knobs", {"noOffers": True})
        self.client.create_app("/slow", MarathonApp(
            instances=2, container=MarathonContainer(docker={"image": "x"})))
        deployments = self.client.list_deployments()
        self.assertEqual(len(deployments), 1)
        self.assertEqual(deployments[0].affected_apps, ["/slow"])
        self.assertEqual(deployments[0].current_actions[0].action, "ScaleApplication")
        queue = self.client.list_queue()
        self.assertEqual(queue[0].app.id, "/slow")
        self.assertEqual(queue[0].count, 2)
        self.emu.ctl("POST", "/apps/slow/knobs", {"noOffers": None})
        self.settle("/slow", 2)
        tasks = self.client.list_tasks("/slow")
        self.assertEqual(len(tasks), 2)
        self.assertTrue(all(t.state == "TASK_RUNNING" for t in tasks))
        self.assertEqual(self.client.list_queue(), [])
        self.client.kill_task("/slow", tasks[0].id)
        wait_for(lambda: tasks[0].id not in {t.id for t in self.client.list_tasks("/slow")}
                 and len(self.client.list_tasks("/slow")) == 2,
                 what="the killed task to be replaced")
        self.client.delete_app("/slow")
        wait_for(lambda: not self.client.list_apps() and not self.client.list_tasks(),
                 what="the app to go away")

    def test_delete_deployment(self):
        self.emu.ctl("POST", "/apps/hold/knobs", {"noOffers": True})
        self.client.create_app("/hold", MarathonApp(
            instances=1, container=MarathonContainer(docker={"image": "x"})))
        dep = self.client.list_deployments()[0]
        self.client.delete_deployment(dep.id, force=True)
        self.assertEqual(self.client.list_deployments(), [])


if __name__ == "__main__":
    tap.main()
