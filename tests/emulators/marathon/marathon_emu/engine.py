# See COPYING for copyright and license details.
"""The leader's state: apps and their versions, tasks, the launch queue and
deployments, advanced by tick() on the emulator clock.

Section numbers (§) refer to /work/shared/reference/marathon.md; Scala
names to the Marathon 1.x classes whose behaviour is mirrored.
"""
import collections
import json
import math
import os
import queue
import random
import signal
import threading
import time
import uuid

from . import appdef
from .errors import ApiError, app_not_found, message
from .procs import exit_message, free_port, signal_group

ACTIVE = ("TASK_STAGING", "TASK_STARTING", "TASK_RUNNING", "TASK_KILLING")
CONDITION = {"TASK_STAGING": "Staging", "TASK_RUNNING": "Running",
             "TASK_KILLING": "Killing", "TASK_KILLED": "Killed",
             "TASK_FAILED": "Failed", "TASK_FINISHED": "Finished",
             "TASK_LOST": "Gone"}
DEFAULT_KILL_GRACE = 3          # Mesos command executor's default kill grace
MAX_DEPLOYMENTS = 100           # --max_running_deployments (§1.6)
CANCELLED = "The upgrade has been cancelled"   # DeploymentManagerActor (§1.6)
LOCKED = ("App is locked by one or more deployments. Override with the option "
          "'?force=true'. View details at '/v2/deployments/<DEPLOYMENT_ID>'.")


def iso(t):
    """Marathon's timestamp: ISO-8601 UTC with milliseconds (§1.1)."""
    ms = int(round(t * 1000))
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + \
        ".%03dZ" % (ms % 1000)


class Clock:
    """Real time, or manual time that only moves when told to."""

    def __init__(self, manual):
        self.manual = manual
        self._now = time.time()

    def now(self):
        return self._now if self.manual else time.time()

    def set(self, t):
        self._now = t


class EventBus:
    """Fans events out to /v2/events subscribers; keeps a log for /_emu."""

    def __init__(self):
        self.lock = threading.Lock()
        self.subscribers = set()
        self.log = collections.deque(maxlen=20000)

    def publish(self, event):
        line = json.dumps(event, separators=(",", ":"))
        with self.lock:
            self.log.append(event)
            for sub in self.subscribers:
                if not sub.types or event["eventType"] in sub.types:
                    sub.put((event["eventType"], line))

    def subscribe(self, types):
        sub = Subscription(types)
        with self.lock:
            self.subscribers.add(sub)
        return sub

    def unsubscribe(self, sub):
        with self.lock:
            self.subscribers.discard(sub)

    def close_all(self):
        with self.lock:
            for sub in self.subscribers:
                sub.put(None)


class Subscription(queue.Queue):
    def __init__(self, types):
        super().__init__()
        self.types = set(types)


def _safe_id(app_id):
    return app_id.strip("/").replace("/", "_")


class Engine:
    def __init__(self, clock, bus, agent, state_dir, name):
        self.clock = clock
        self.bus = bus
        self.agent = agent
        self.state_dir = state_dir
        self.name = name
        self.lock = threading.RLock()
        self.pending_jobs = []  # real health checks due, for the caller to run
        self.images = {}        # --images: name -> docker inspect's Config
        self.reset()

    # ---- state and persistence -------------------------------------------

    def reset(self):
        self.apps = {}          # id -> canonical app with version fields
        self.versions = {}      # id -> [app, ...] newest first
        self.tasks = {}         # task id -> task record
        self.deployments = []   # running plans, oldest first
        self.queue = {}         # app id -> {"count", "since"}: launch queue
        self.delays = {}        # app id -> {"delay", "until"}: RateLimiter
        self.failures = {}      # app id -> lastTaskFailure
        self.knobs = {}         # app id -> per-app knobs (README)
        self.last_version = 0.0
        self.cluster_id = str(uuid.uuid4())
        self.changed = False

    SNAPSHOT = ("apps", "versions", "tasks", "deployments", "queue", "delays",
                "failures", "knobs", "last_version", "cluster_id")

    def snapshot(self):
        data = {k: getattr(self, k) for k in self.SNAPSHOT}
        data["clock"] = self.clock.now()
        return data

    def load(self, data):
        self.reset()
        for k in self.SNAPSHOT:
            if k in data:
                setattr(self, k, data[k])
        if self.clock.manual and "clock" in data:
            self.clock.set(max(self.clock.now(), data["clock"]))

    # ---- events ----------------------------------------------------------

    def emit(self, event_type, **fields):
        fields["eventType"] = event_type
        fields["timestamp"] = iso(self.clock.now())
        self.changed = True
        self.bus.publish(fields)

    def new_version(self):
        """A fresh, strictly increasing timestamp (versions are timestamps)."""
        t = max(round(self.clock.now(), 3), round(self.last_version + 0.001, 3))
        self.last_version = t
        return iso(t)

    # ---- reading ---------------------------------------------------------

    def app(self, app_id):
        app = self.apps.get(app_id)
        if app is None:
            raise app_not_found(app_id)
        return app

    def app_tasks(self, app_id):
        return sorted((t for t in self.tasks.values() if t["appId"] == app_id),
                      key=lambda t: t["stagedAt"])

    def health_of(self, task):
        """True/False, or None while the task has no health results."""
        results = [h for h in task["health"] if h is not None]
        if not results:
            return None
        if not all(h["alive"] for h in results):
            return False
        return True if len(results) == len(task["health"]) else None

    def ready(self, task):
        """Healthy for deployments: running, and alive if it has checks
        (ReadinessBehavior; without health checks running counts, §1.7)."""
        if task["state"] != "TASK_RUNNING":
            return False
        return not task["health"] or self.health_of(task) is True

    def counts(self, app_id):
        """TaskCounts: healthy/unhealthy exclude tasks without health info."""
        c = {"tasksStaged": 0, "tasksRunning": 0, "tasksHealthy": 0,
             "tasksUnhealthy": 0}
        for t in self.app_tasks(app_id):
            if t["state"] == "TASK_STAGING":
                c["tasksStaged"] += 1
            elif t["state"] == "TASK_RUNNING":
                c["tasksRunning"] += 1
            h = self.health_of(t)
            if h is True:
                c["tasksHealthy"] += 1
            elif h is False:
                c["tasksUnhealthy"] += 1
        return c

    def task_json(self, t):
        out = {"id": t["id"], "appId": t["appId"], "host": "127.0.0.1",
               "slaveId": self.cluster_id + "-S0", "state": t["state"],
               "ports": t["ports"], "servicePorts": t["servicePorts"],
               "ipAddresses": [{"ipAddress": "127.0.0.1", "protocol": "IPv4"}],
               "stagedAt": iso(t["stagedAt"]), "version": t["version"],
               "localVolumes": [],
               "healthCheckResults": [dict(h, instanceId=t["instanceId"])
                                      for h in t["health"] if h is not None]}
        if t["startedAt"] is not None:
            out["startedAt"] = iso(t["startedAt"])
        return out

    def app_json(self, app_id, tasks=False, failure=False, readiness=False):
        """AppInfo: counts and deployments always (AppsResource, §1.5)."""
        out = dict(self.apps[app_id])
        out.update(self.counts(app_id))
        out["deployments"] = [{"id": p["id"]} for p in self.deployments
                              if app_id in p["affectedApps"]]
        if readiness:
            out["readinessCheckResults"] = []
        if tasks:
            out["tasks"] = [self.task_json(t) for t in self.app_tasks(app_id)]
        if failure and app_id in self.failures:
            out["lastTaskFailure"] = self.failures[app_id]
        return out

    def deployment_json(self, plan):
        """DeploymentPlanConversion (§1.6)."""
        current = plan["steps"][plan["currentStep"] - 1]["actions"]
        return {"id": plan["id"], "version": plan["version"],
                "affectedApps": plan["affectedApps"], "affectedPods": [],
                "steps": plan["steps"],
                "currentActions": [dict(a, readinessCheckResults=[]) for a in current],
                "currentStep": plan["currentStep"], "totalSteps": len(plan["steps"])}

    def queue_json(self):
        """/v2/queue items with the RateLimiter delay (§1.5)."""
        now = self.clock.now()
        items = []
        for app_id, q in self.queue.items():
            if app_id not in self.apps:
                continue
            d = self.delays.get(app_id)
            left = max(0.0, d["until"] - now) if d else 0.0
            items.append({
                "app": self.app_json(app_id), "count": q["count"],
                "delay": {"timeLeftSeconds": int(math.ceil(left)),
                          "overdue": left == 0},
                "since": iso(q["since"]),
                "processedOffersSummary": {
                    "processedOffersCount": 0, "unusedOffersCount": 0,
                    "rejectSummaryLastOffers": [],
                    "rejectSummaryLaunchAttempt": []}})
        return items

    # ---- changing apps: every change is a deployment plan ----------------

    def deploy(self, targets, force, restart=()):
        """targets: {app id: new app or None (delete)}. Builds the plan the way
        DeploymentPlan.apply does: Stop, Start(0), then Scale/Restart; the
        unchanged apps keep their version (GroupVersioningUtil, §1.4).
        The caller runs advance() to set the plan going."""
        version = self.new_version()
        stop, start, main, final = [], [], [], {}
        for app_id, new in targets.items():
            old = self.apps.get(app_id)
            if new is None:
                if old is not None:
                    stop.append({"action": "StopApplication", "app": app_id})
                continue
            new = dict(new)
            if old is None:
                new["versionInfo"] = {"lastScalingAt": version,
                                      "lastConfigChangeAt": version}
                start.append({"action": "StartApplication", "app": app_id})
                main.append({"action": "ScaleApplication", "app": app_id})
            elif app_id in restart or appdef.config_of(old) != appdef.config_of(new):
                new["versionInfo"] = {"lastScalingAt": version,
                                      "lastConfigChangeAt": version}
                main.append({"action": "RestartApplication", "app": app_id})
            elif old["instances"] != new["instances"]:
                new["versionInfo"] = {
                    "lastScalingAt": version,
                    "lastConfigChangeAt": old["versionInfo"]["lastConfigChangeAt"]}
                main.append({"action": "ScaleApplication", "app": app_id})
            else:
                new = old
            if new is not old:
                new["version"] = version
            final[app_id] = new
        steps = [{"actions": s} for s in (stop, start, main) if s]
        affected = sorted({a["app"] for s in steps for a in s["actions"]})
        conflicts = [p for p in self.deployments if set(p["affectedApps"]) & set(affected)]
        if conflicts and not force:
            raise ApiError(409, {"message": LOCKED, "deployments": [
                {"id": p["id"]} for p in conflicts]})
        if steps and len(self.deployments) - len(conflicts) >= MAX_DEPLOYMENTS:
            raise message(403, "Max number (%d) of running deployments is achieved. "
                               "Wait for existing deployments to complete."
                          % MAX_DEPLOYMENTS)
        for plan in conflicts:
            self.cancel(plan)
        original = {a: self.apps.get(a) for a in targets}
        for app_id, new in final.items():
            if new is not self.apps.get(app_id):
                self.apps[app_id] = new
                self.versions.setdefault(app_id, []).insert(0, new)
            if app_id in restart or (original[app_id] is not None and
                                     appdef.config_of(original[app_id])
                                     != appdef.config_of(new)):
                self.delays.pop(app_id, None)   # LaunchQueue.resetDelay
        for app_id in targets:
            if targets[app_id] is None:
                self.apps.pop(app_id, None)
                self.versions.pop(app_id, None)
        plan = {"id": str(uuid.uuid4()), "version": version, "steps": steps,
                "affectedApps": affected, "currentStep": 1,
                "original": original, "state": {}}
        for app_id in targets:
            self.emit("group_change_success",
                      groupId=app_id.rsplit("/", 1)[0] or "/", version=version)
        if steps:
            self.deployments.append(plan)
            self._start_step(plan)
        else:
            self.emit("deployment_success", id=plan["id"], plan=self._light(plan))
        return plan

    def cancel(self, plan):
        """End a deployment without reverting (force, §1.6)."""
        self.deployments.remove(plan)
        for app_id in plan["affectedApps"]:
            self.queue.pop(app_id, None)
        self.emit("deployment_failed", id=plan["id"], plan=self._light(plan),
                  reason=CANCELLED)

    def revert(self, plan):
        """DELETE /v2/deployments/<id> without force: a forced deployment back
        to the original definitions (DeploymentPlanReverter, §1.6)."""
        targets = {}
        for app_id in plan["affectedApps"]:
            orig = plan["original"].get(app_id)
            if orig is None:
                targets[app_id] = None
            else:
                targets[app_id] = {k: v for k, v in orig.items()
                                   if k not in ("version", "versionInfo")}
        return self.deploy(targets, force=True)

    def find_deployment(self, dep_id):
        for plan in self.deployments:
            if plan["id"] == dep_id:
                return plan
        raise message(404, "DeploymentPlan %s does not exist" % dep_id)

    @staticmethod
    def _light(plan):
        """plan-format=light, the only format since 1.8 (§1.9)."""
        return {"id": plan["id"], "steps": plan["steps"], "version": plan["version"]}

    # ---- deployment steps ------------------------------------------------

    def _start_step(self, plan):
        step = plan["steps"][plan["currentStep"] - 1]
        plan["state"] = {}
        self.emit("deployment_info", plan=self._light(plan), currentStep=step)
        for action in step["actions"]:
            plan["state"][action["app"]] = self._init_action(action)

    def _init_action(self, action):
        app_id, kind = action["app"], action["action"]
        active = [t for t in self.app_tasks(app_id) if t["state"] in ACTIVE]
        if kind == "StopApplication":
            self.queue.pop(app_id, None)
            for t in active:
                self.kill(t, "DeletingApp")
            return {}
        if kind != "RestartApplication":
            return {}
        # TaskReplaceActor.computeRestartStrategy (§1.7)
        app = self.apps[app_id]
        n = app["instances"]
        if n == 0:
            return {"done": True}
        old = [t["id"] for t in active if t["version"] != app["version"]]
        strategy = app["upgradeStrategy"]
        min_healthy = math.ceil(n * strategy["minimumHealthCapacity"])
        max_capacity = int(n * (1 + strategy["maximumOverCapacity"]))
        kill_now = max(0, len(active) - min_healthy)
        if min_healthy == max_capacity <= len(active):
            max_capacity += 1
        state = {"old": old, "toKill": list(old), "maxCapacity": max_capacity,
                 "healthy": []}
        for _ in range(kill_now):
            self._kill_next_old(state)
        return state

    def _kill_next_old(self, state):
        while state["toKill"]:
            task = self.tasks.get(state["toKill"].pop(0))
            if task is not None:
                self.kill(task, "Upgrading")
                return

    def _run_action(self, action, state, now):
        """Progress one action; True when it is done."""
        app_id, kind = action["app"], action["action"]
        tasks = [t for t in self.app_tasks(app_id) if t["state"] in ACTIVE]
        if kind == "StartApplication":      # StartApplication(app, 0): no-op
            return True
        if kind == "StopApplication":
            if tasks:
                return False
            self.delays.pop(app_id, None)
            self.failures.pop(app_id, None)
            self.emit("app_terminated_event", appId=app_id)
            return True
        app = self.apps[app_id]
        n = app["instances"]
        queued = self.queue.get(app_id, {}).get("count", 0)
        if kind == "ScaleApplication":
            # ScalingProposition, then TaskStartActor waiting for health
            live = [t for t in tasks if t["state"] != "TASK_KILLING"]
            if len(live) + queued > n:
                self._drop_queued(app_id, len(live) + queued - n)
                queued = self.queue.get(app_id, {}).get("count", 0)
                for t in self._kill_order(app, live)[:max(0, len(live) - n)]:
                    self.kill(t, "DeploymentScaling")
                return False
            if any(t["state"] == "TASK_KILLING" for t in tasks):
                return False
            if len(live) + queued < n:
                self._enqueue(app_id, n - len(live) - queued, now)
                return False
            return queued == 0 and sum(self.ready(t) for t in live) >= n
        # RestartApplication: TaskReplaceActor
        if state.get("done"):
            return True
        ids = {t["id"] for t in tasks}
        state["old"] = [i for i in state["old"] if i in ids]
        new = [t for t in tasks if t["version"] == app["version"]]
        healthy = [t["id"] for t in new if self.ready(t)]
        for task_id in healthy:
            if task_id not in state["healthy"]:
                self._kill_next_old(state)
        state["healthy"] = healthy
        started = len(new) + queued
        left = max(0, state["maxCapacity"] - len(state["old"]) - started)
        to_start = min(n - started, left)
        if to_start > 0:
            self._enqueue(app_id, to_start, now)
        return len(healthy) >= n and not state["old"]

    def _run_deployments(self, now):
        for plan in list(self.deployments):
            while plan in self.deployments:
                step = plan["steps"][plan["currentStep"] - 1]
                done = [self._run_action(a, plan["state"][a["app"]], now)
                        for a in step["actions"]]
                if not all(done):
                    break
                self.emit("deployment_step_success", plan=self._light(plan),
                          currentStep=step)
                if plan["currentStep"] == len(plan["steps"]):
                    self.deployments.remove(plan)
                    self.emit("deployment_success", id=plan["id"],
                              plan=self._light(plan))
                    break
                plan["currentStep"] += 1
                self._start_step(plan)

    # ---- keeping the instance count (scale check, launch queue) ----------

    def _kill_order(self, app, tasks):
        """Which tasks to kill first: not yet running, then by killSelection."""
        youngest = app.get("killSelection", "YOUNGEST_FIRST") == "YOUNGEST_FIRST"
        return sorted(tasks, key=lambda t: (t["state"] == "TASK_RUNNING",
                                            -t["stagedAt"] if youngest else t["stagedAt"]))

    def _enqueue(self, app_id, count, now):
        q = self.queue.setdefault(app_id, {"count": 0, "since": now})
        q["count"] += count
        self.changed = True

    def _drop_queued(self, app_id, count):
        q = self.queue.get(app_id)
        if q:
            q["count"] -= min(count, q["count"])
            if q["count"] == 0:
                del self.queue[app_id]
            self.changed = True

    def _reconcile(self, now):
        """Apps without a deployment keep `instances` tasks (scale check)."""
        locked = {a for p in self.deployments for a in p["affectedApps"]}
        for app_id, app in self.apps.items():
            if app_id in locked:
                continue
            live = [t for t in self.app_tasks(app_id)
                    if t["state"] in ACTIVE and t["state"] != "TASK_KILLING"]
            queued = self.queue.get(app_id, {}).get("count", 0)
            n = app["instances"]
            if len(live) + queued < n:
                self._enqueue(app_id, n - len(live) - queued, now)
            elif len(live) + queued > n:
                self._drop_queued(app_id, len(live) + queued - n)
                for t in self._kill_order(app, live)[:max(0, len(live) - n)]:
                    self.kill(t, "OverCapacity")

    def _launch_queued(self, now):
        for app_id in list(self.queue):
            app = self.apps.get(app_id)
            if app is None:
                del self.queue[app_id]
                continue
            d = self.delays.get(app_id)
            if self.knobs.get(app_id, {}).get("noOffers") or (d and now < d["until"]):
                continue
            count = self.queue.pop(app_id)["count"]
            for _ in range(count):
                self._launch(app, now)

    # ---- tasks -----------------------------------------------------------

    def _simulated(self, app):
        return (self.knobs.get(app["id"], {}).get("simulate")
                or (app.get("cmd") is None and not app.get("args")
                    and self._image(app) is None))

    def _image(self, app):
        """The --images entry for the app's Docker image (by name:tag, then
        by name), or None."""
        name = ((app.get("container") or {}).get("docker") or {}).get("image")
        if not name or not self.images:
            return None
        if name in self.images:
            return self.images[name]
        slash = name.rfind("/")
        colon = name.rfind(":")
        if colon > slash:
            return self.images.get(name[:colon])
        return None

    def _launch(self, app, now):
        knobs = self.knobs.get(app["id"], {})
        u = str(uuid.uuid1())
        safe = _safe_id(app["id"])
        service = appdef.service_ports(app)
        maps = (app.get("container") or {}).get("portMappings", [])
        simulated = self._simulated(app)
        ports = []
        for i, sp in enumerate(service):
            if app["requirePorts"]:
                ports.append(sp)
            elif i < len(maps) and maps[i].get("hostPort"):
                ports.append(maps[i]["hostPort"])
            else:
                ports.append(random.randint(31000, 32000) if simulated else free_port())
        task = {"id": "%s.%s" % (safe, u), "instanceId": "%s.marathon-%s" % (safe, u),
                "appId": app["id"], "version": app["version"],
                "state": "TASK_STAGING", "stagedAt": now, "startedAt": None,
                "runAt": now + knobs.get("slowStartSeconds", 0), "crashAt": None,
                "ports": ports, "servicePorts": service, "simulated": simulated,
                "pid": None, "agent": None, "kill": None, "forceHealth": None,
                "health": [None] * len(app["healthChecks"]),
                "nextCheck": [None] * len(app["healthChecks"])}
        self.tasks[task["id"]] = task
        self._status(task, "TASK_STAGING", "")

    def _status(self, task, state, msg):
        task["state"] = state
        self.emit("status_update_event", slaveId=self.cluster_id + "-S0",
                  taskId=task["id"], taskStatus=state, message=msg,
                  appId=task["appId"], host="127.0.0.1",
                  ipAddresses=[{"ipAddress": "127.0.0.1", "protocol": "IPv4"}],
                  ports=task["ports"], version=task["version"])
        self.emit("instance_changed_event", instanceId=task["instanceId"],
                  condition=CONDITION.get(state, state), runSpecId=task["appId"],
                  agentId=self.cluster_id + "-S0", host="127.0.0.1",
                  runSpecVersion=task["version"])

    def _run(self, task, now):
        """STAGING → RUNNING: start the process, or just the simulation."""
        app = self.apps[task["appId"]]
        knobs = self.knobs.get(task["appId"], {})
        if not task["simulated"]:
            image = self._image(app) or {}
            pid, err = self.agent.spawn(task["id"], self._argv(app),
                                        self._env(app, task),
                                        self.sandbox(task["id"]),
                                        image.get("WorkingDir") or None)
            if err:
                self._end(task, "TASK_FAILED", err, now)
                return
            task["pid"], task["agent"] = pid, self.name
        elif knobs.get("crashLoop"):
            task["crashAt"] = now + knobs.get("crashAfterSeconds", 1)
        task["startedAt"] = now
        for i, hc in enumerate(app["healthChecks"]):
            task["nextCheck"][i] = now + hc["intervalSeconds"]
        self._status(task, "TASK_RUNNING", "")

    def sandbox(self, task_id):
        return os.path.join(self.state_dir, "sandboxes", task_id)

    def _argv(self, app):
        """As the Mesos docker containerizer: `cmd` replaces the image's
        ENTRYPOINT with /bin/sh -c (MESOS-1770); `args` follow the
        ENTRYPOINT in place of CMD; neither runs ENTRYPOINT + CMD. Without
        a known image, `args` are the whole command."""
        if app.get("cmd") is not None:
            return ["/bin/sh", "-c", app["cmd"]]
        image = self._image(app)
        if image is None:
            return list(app["args"])
        args = app.get("args")
        return list(image.get("Entrypoint") or []) + \
            list(args if args else image.get("Cmd") or [])

    def _env(self, app, task):
        """The environment Marathon gives a task (EnvironmentHelper)."""
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("MARATHON_", "MESOS_", "PORT")) and k != "HOST"}
        for item in (self._image(app) or {}).get("Env") or []:
            name, _, value = item.partition("=")
            env[name] = value
        env.update({k: v for k, v in app["env"].items() if isinstance(v, str)})
        env.update({"HOST": "127.0.0.1", "MARATHON_APP_ID": app["id"],
                    "MARATHON_APP_VERSION": task["version"],
                    "MARATHON_APP_RESOURCE_CPUS": str(float(app["cpus"])),
                    "MARATHON_APP_RESOURCE_MEM": str(float(app["mem"])),
                    "MARATHON_APP_RESOURCE_DISK": str(float(app["disk"])),
                    "MARATHON_APP_RESOURCE_GPUS": str(int(app["gpus"])),
                    "MARATHON_APP_LABELS": " ".join(sorted(app["labels"])),
                    "MESOS_TASK_ID": task["id"],
                    "MESOS_SANDBOX": self.sandbox(task["id"])})
        for name, value in app["labels"].items():
            env["MARATHON_APP_LABEL_" + name.upper()] = str(value)
        image = ((app.get("container") or {}).get("docker") or {}).get("image")
        if image:
            env["MARATHON_APP_DOCKER_IMAGE"] = image
        if task["ports"]:
            env["PORT"] = str(task["ports"][0])
            env["PORTS"] = ",".join(map(str, task["ports"]))
        names = [p.get("name") for p in app["portDefinitions"]] or \
            [m.get("name") for m in (app.get("container") or {}).get("portMappings", [])]
        for i, port in enumerate(task["ports"]):
            env["PORT%d" % i] = str(port)
            if i < len(names) and names[i]:
                env["PORT_" + names[i].upper()] = str(port)
        return env

    def kill(self, task, reason, health=False):
        """Kill a task: KILLING, SIGTERM to its group, SIGKILL after
        taskKillGracePeriodSeconds; simulated ones die at once."""
        if task["kill"] is not None or task["state"] not in ACTIVE:
            return
        now = self.clock.now()
        app = self.apps.get(task["appId"]) or {}
        grace = app.get("taskKillGracePeriodSeconds") or DEFAULT_KILL_GRACE
        task["kill"] = {"reason": reason, "health": health,
                        "deadline": now + grace, "escalated": False}
        if task["state"] == "TASK_STAGING":
            self._end(task, "TASK_KILLED", "Killed before start", now)
            return
        self._status(task, "TASK_KILLING", "")
        if task["simulated"]:
            self._end(task, "TASK_KILLED", exit_message(-signal.SIGTERM), now)
        else:
            signal_group(task["pid"], signal.SIGTERM)

    def _end(self, task, state, msg, now):
        """A terminal status: expunge the task; a failure feeds the launch
        backoff (RateLimiter.addDelay) and lastTaskFailure."""
        self._status(task, state, msg)
        del self.tasks[task["id"]]
        killed_by_us = task["kill"] is not None and not task["kill"]["health"]
        app = self.apps.get(task["appId"])
        if killed_by_us or app is None:
            return
        d = self.delays.get(app["id"])
        delay = (min(d["delay"] * app["backoffFactor"], app["maxLaunchDelaySeconds"])
                 if d else app["backoffSeconds"])
        self.delays[app["id"]] = {"delay": delay, "until": now + delay}
        if state != "TASK_FINISHED":
            self.failures[app["id"]] = {
                "appId": app["id"], "host": "127.0.0.1", "message": msg,
                "state": state, "taskId": task["id"],
                "instanceId": task["instanceId"], "slaveId": self.cluster_id + "-S0",
                "timestamp": iso(now), "version": task["version"]}

    def _advance_tasks(self, now):
        for task in list(self.tasks.values()):
            if task["id"] not in self.tasks:
                continue
            state = task["state"]
            if state == "TASK_STAGING" and task["kill"] is None and now >= task["runAt"]:
                self._run(task, now)
            elif task["simulated"] and state == "TASK_RUNNING" and \
                    task["crashAt"] is not None and now >= task["crashAt"]:
                self._end(task, "TASK_FAILED", exit_message(1), now)
            elif task["pid"] is not None and state in ("TASK_RUNNING", "TASK_KILLING"):
                ended, code = self.agent.exit_status(task["id"], task["pid"])
                if ended:
                    if task["kill"] is not None:
                        final = "TASK_KILLED"
                    elif code is None:
                        final = "TASK_LOST"
                    else:
                        final = "TASK_FINISHED" if code == 0 else "TASK_FAILED"
                    self._end(task, final, exit_message(code), now)
                elif state == "TASK_KILLING" and not task["kill"]["escalated"] \
                        and now >= task["kill"]["deadline"]:
                    task["kill"]["escalated"] = True
                    signal_group(task["pid"], signal.SIGKILL)

    # ---- health checks (§1.7) --------------------------------------------

    def _due_checks(self, now):
        """Simulated results are applied here; real checks are returned as
        jobs (task id, index, check, ports, env) for the caller to run."""
        jobs = []
        for task in list(self.tasks.values()):
            if task["state"] != "TASK_RUNNING" or task["id"] not in self.tasks:
                continue
            app = self.apps.get(task["appId"])
            for i, hc in enumerate(app["healthChecks"] if app else []):
                due = task["nextCheck"][i]
                if due is None or now < due:
                    continue
                nxt = due + hc["intervalSeconds"]
                task["nextCheck"][i] = nxt if self.clock.manual and nxt > now \
                    else now + hc["intervalSeconds"]
                if task["simulated"]:
                    never = self.knobs.get(app["id"], {}).get("neverHealthy")
                    alive = task["forceHealth"] if task["forceHealth"] is not None \
                        else not never
                    self.health_result(task["id"], i, alive,
                                       None if alive else "503 Service Unavailable")
                else:
                    jobs.append((task["id"], i, hc, list(task["ports"]),
                                 self._env(app, task)))
        return jobs

    def health_result(self, task_id, index, alive, cause):
        task = self.tasks.get(task_id)
        if task is None or task["state"] != "TASK_RUNNING":
            return
        app = self.apps[task["appId"]]
        hc = app["healthChecks"][index]
        now = self.clock.now()
        before = self.health_of(task)
        h = task["health"][index] or {"alive": False, "consecutiveFailures": 0,
                                       "firstSuccess": None, "lastSuccess": None,
                                       "lastFailure": None, "lastFailureCause": None}
        if alive:
            h = dict(h, alive=True, consecutiveFailures=0, lastSuccess=iso(now),
                     firstSuccess=h["firstSuccess"] or iso(now))
        else:
            if h["firstSuccess"] is None and now < task["startedAt"] + hc["gracePeriodSeconds"]:
                return                  # failures are ignored during grace
            h = dict(h, alive=False, consecutiveFailures=h["consecutiveFailures"] + 1,
                     lastFailure=iso(now), lastFailureCause=cause)
            self.emit("failed_health_check_event", appId=app["id"],
                      instanceId=task["instanceId"], healthCheck=hc)
        task["health"][index] = h
        self.changed = True
        after = self.health_of(task)
        if after is not None and after != before:
            self.emit("health_status_changed_event", appId=app["id"],
                      instanceId=task["instanceId"], version=task["version"],
                      alive=after)
        limit = hc["maxConsecutiveFailures"]
        if not alive and limit > 0 and h["consecutiveFailures"] >= limit:
            self.emit("unhealthy_instance_kill_event", appId=app["id"],
                      taskId=task["id"], instanceId=task["instanceId"],
                      version=task["version"], reason=cause or "unhealthy",
                      host="127.0.0.1", slaveId=self.cluster_id + "-S0")
            self.kill(task, "FailedHealthChecks", health=True)

    # ---- the clock -------------------------------------------------------

    def advance(self, now):
        """Run everything due at `now` until nothing changes. Real health
        checks that became due are left in pending_jobs (see take_jobs)."""
        for _ in range(50):
            self.changed = False
            self._advance_tasks(now)
            self.pending_jobs += self._due_checks(now)
            self._launch_queued(now)
            self._run_deployments(now)
            self._reconcile(now)
            if not self.changed:
                break

    def take_jobs(self):
        jobs, self.pending_jobs = self.pending_jobs, []
        return jobs

    def next_due(self):
        """The earliest future time at which something is scheduled."""
        now = self.clock.now()
        times = []
        for t in self.tasks.values():
            if t["state"] == "TASK_STAGING" and t["kill"] is None:
                times.append(t["runAt"])
            if t["crashAt"] is not None:
                times.append(t["crashAt"])
            if t["kill"] is not None and not t["kill"]["escalated"]:
                times.append(t["kill"]["deadline"])
            if t["state"] == "TASK_RUNNING":
                times.extend(c for c in t["nextCheck"] if c is not None)
        for app_id in self.queue:
            d = self.delays.get(app_id)
            if d:
                times.append(d["until"])
        future = [x for x in times if x > now]
        return min(future) if future else None
