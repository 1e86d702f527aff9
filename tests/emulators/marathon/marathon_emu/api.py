# See COPYING for copyright and license details.
"""Marathon's REST resources (/ping and /v2 except /v2/events), answered
from the leader's Engine. Each handler returns (status, body, headers);
body is JSON-able, bytes, or None. Errors are raised as ApiError."""
import json
import re

from . import appdef
from .engine import ACTIVE
from .errors import ApiError, app_not_found, message


class Request:
    def __init__(self, method, path, params, headers, body, client_ip):
        self.method = method
        self.path = path
        self.params = params            # name -> [values]
        self.headers = headers          # email.message.Message
        self.body = body
        self.client_ip = client_ip

    def flag(self, name, default):
        """JAX-RS boolean: "true" in any case is true, anything else false
        (marathon.md Addendum)."""
        values = self.params.get(name)
        if not values:
            return default
        return values[0].lower() == "true"

    def embeds(self):
        return {e for v in self.params.get("embed", []) for e in v.split(",")}


def parse_json(body):
    """Jackson's two failure modes (MarathonExceptionMapper, §1.8)."""
    text = body.decode("utf-8", "replace")
    if not text.strip():
        raise ApiError(400, {"message": "Please specify data in JSON format",
                             "details": "No content to map due to end-of-input\n"
                                        ' at [Source: (byte[])""; line: 1, column: 0]'})
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        if e.pos < len(text):
            ch = text[e.pos]
            detail = "Unexpected character ('%s' (code %d)): %s" % (ch, ord(ch), e.msg)
        else:
            detail = "Unexpected end-of-input: " + e.msg
        raise ApiError(400, {"message": "Invalid JSON", "details": detail})


def deployment_result(plan, status=200, headers=None):
    """RestResource.deploymentResult plus the Marathon-Deployment-Id header."""
    h = {"Marathon-Deployment-Id": plan["id"]}
    h.update(headers or {})
    return status, {"version": plan["version"], "deploymentId": plan["id"]}, h


class Api:
    def __init__(self, engine, info, leader_ops, base_url):
        self.engine = engine
        self.info = info                # () -> /v2/info body
        self.leader_ops = leader_ops    # (get, abdicate) for /v2/leader
        self.base_url = base_url
        self.routes = [
            (r"/ping", {"GET": self.ping}),
            (r"/v2/info", {"GET": self.get_info}),
            (r"/v2/leader", {"GET": self.get_leader, "DELETE": self.abdicate}),
            (r"/v2/apps", {"GET": self.list_apps, "POST": self.create,
                           "PUT": self.update_many, "PATCH": self.update_many}),
            (r"/v2/apps/(.+)/restart", {"POST": self.restart}),
            (r"/v2/apps/(.+)/tasks", {"GET": self.app_tasks, "DELETE": self.kill_tasks}),
            (r"/v2/apps/(.+)/tasks/([^/]+)", {"DELETE": self.kill_task}),
            (r"/v2/apps/(.+)/versions", {"GET": self.versions}),
            (r"/v2/apps/(.+)/versions/([^/]+)", {"GET": self.version}),
            (r"/v2/apps/(.+)", {"GET": self.show, "PUT": self.update,
                                "PATCH": self.patch, "DELETE": self.delete}),
            (r"/v2/tasks", {"GET": self.all_tasks}),
            (r"/v2/deployments", {"GET": self.deployments}),
            (r"/v2/deployments/([^/]+)", {"DELETE": self.cancel_deployment}),
            (r"/v2/queue", {"GET": self.get_queue}),
            (r"/v2/queue/(.+)/delay", {"DELETE": self.reset_delay}),
        ]

    def handle(self, req):
        for pattern, methods in self.routes:
            m = re.fullmatch(pattern, req.path)
            if m:
                if req.method not in methods:
                    # Jersey's NotAllowedException through the mapper (§1.8)
                    raise message(405, "Method Not Allowed")
                self._check_media_type(req)
                with self.engine.lock:
                    try:
                        return methods[req.method](req, *m.groups())
                    finally:    # set new deployments going
                        self.engine.advance(self.engine.clock.now())
        # Jersey's NotFoundException is mapped to 500 in M1 (§1.8)
        raise message(500, "URI not found")

    @staticmethod
    def _check_media_type(req):
        """@Consumes(application/json): other bodies get 415 (Addendum)."""
        ctype = req.headers.get("Content-Type")
        if req.path.startswith("/v2/") and req.method in ("POST", "PUT", "PATCH") \
                and ctype is not None \
                and ctype.split(";")[0].strip().lower() != "application/json":
            raise message(415, "Unsupported Media Type")

    # ---- system ----------------------------------------------------------

    def ping(self, req):
        """SystemResource.ping: text/plain pong, JSON "pong", or 204."""
        accept = [a.split(";")[0].strip() for a in
                  (req.headers.get("Accept") or "*/*").split(",")]
        for a in accept:
            if a in ("text/plain", "text/*", "*/*"):
                return 200, b"pong", {"Content-Type": "text/plain"}
            if a == "application/json":
                return 200, "pong", {}
        return 204, None, {}

    def get_info(self, req):
        return 200, self.info(), {}

    def get_leader(self, req):
        leader = self.leader_ops[0]()
        if leader is None:
            raise message(404, "There is no leader")
        return 200, {"leader": leader}, {}

    def abdicate(self, req):
        self.leader_ops[1]()
        return 200, {"message": "Leadership abdicated"}, {}

    # ---- apps ------------------------------------------------------------

    def _taken_ports(self, app_id):
        return {p for other_id, a in self.engine.apps.items() if other_id != app_id
                for p in appdef.service_ports(a)}

    def _post_event(self, req, app):
        self.engine.emit("api_post_event", clientIp=req.client_ip, uri=req.path,
                         appDefinition=app)

    def list_apps(self, req):
        e = self.engine
        cmd = (req.params.get("cmd") or [None])[0]
        sub = (req.params.get("id") or [None])[0]
        label = (req.params.get("label") or [None])[0]
        embeds = req.embeds()
        out = []
        for app_id in sorted(e.apps):
            app = e.apps[app_id]
            if cmd and cmd.lower() not in (app.get("cmd") or "").lower():
                continue
            if sub and sub.lower() not in app_id.lower():
                continue
            if label and not _label_matches(label, app["labels"]):
                continue
            out.append(e.app_json(
                app_id, tasks="apps.tasks" in embeds or "apps.failures" in embeds,
                failure=bool(embeds & {"apps.lastTaskFailure", "apps.failures"}),
                readiness="apps.readiness" in embeds))
        return 200, {"apps": out}, {}

    def show(self, req, raw_id):
        e = self.engine
        m = re.fullmatch(r"((?:.+/)|)\*", raw_id)
        if m:                           # GET /v2/apps/group/*
            prefix = appdef.canonical_id(m.group(1))
            prefix = prefix if prefix.endswith("/") else prefix + "/"
            ids = [a for a in sorted(e.apps) if a.startswith(prefix)]
            if not ids and prefix != "/":
                raise message(404, "Group '%s' does not exist" % prefix.rstrip("/"))
            return 200, {"*": [e.app_json(a, tasks=True, failure=True)
                               for a in ids]}, {}
        app_id = appdef.canonical_id(raw_id)
        e.app(app_id)
        return 200, {"app": e.app_json(app_id, tasks=True, failure=True,
                                       readiness="app.readiness" in req.embeds())}, {}

    def create(self, req):
        """POST /v2/apps: create only; 201 with the app (§1.3)."""
        body = parse_json(req.body)
        appdef.check_types(body)
        if body.get("id") is None:
            raise ApiError(422, {"message": "Invalid JSON", "details": [
                {"path": "/id", "errors": ["error.path.missing"]}]})
        app_id = appdef.canonical_id(body["id"])
        app = appdef.normalize(body, app_id)
        appdef.validate(app)
        if app_id in self.engine.apps:
            raise message(409, "An app with id [%s] already exists." % app_id)
        appdef.assign_service_ports(app, None, self._taken_ports(app_id))
        plan = self.engine.deploy({app_id: app}, req.flag("force", False))
        out = dict(self.engine.apps[app_id], tasksStaged=0, tasksRunning=0,
                   tasksHealthy=0, tasksUnhealthy=0, deployments=[{"id": plan["id"]}])
        self._post_event(req, self.engine.apps[app_id])
        return 201, out, {"Location": self.base_url + app_id,
                          "Marathon-Deployment-Id": plan["id"]}

    def _target(self, app_id, body, partial):
        """The app an update body asks for (AppsResource.update, §1.4)."""
        appdef.check_types(body)
        existing = self.engine.apps.get(app_id)
        if existing is not None and partial:
            if "version" in body:
                if set(body) - {"id", "version"}:
                    raise appdef.invalid([("/", "The 'version' field may only be "
                                                "combined with the 'id' field.")])
                for old in self.engine.versions.get(app_id, []):
                    if old["version"] == body["version"]:
                        target = {k: v for k, v in old.items()
                                  if k not in ("version", "versionInfo")}
                        break
                else:
                    raise app_not_found(app_id)
            else:
                target = appdef.normalize(appdef.merge_update(existing, body), app_id)
        else:
            target = appdef.normalize(body, app_id)
        appdef.validate(target)
        appdef.assign_service_ports(target, existing, self._taken_ports(app_id))
        return existing, target

    def update(self, req, raw_id, allow_creation=True, partial=None):
        app_id = appdef.canonical_id(raw_id)
        if partial is None:
            partial = req.flag("partialUpdate", True)
        body = parse_json(req.body)
        if not allow_creation and app_id not in self.engine.apps:
            raise app_not_found(app_id)
        existing, target = self._target(app_id, body, partial)
        plan = self.engine.deploy({app_id: target}, req.flag("force", False))
        self._post_event(req, self.engine.apps[app_id])
        if existing is None:
            return deployment_result(plan, 201, {"Location": self.base_url + app_id})
        return deployment_result(plan)

    def patch(self, req, raw_id):
        return self.update(req, raw_id, allow_creation=False, partial=True)

    def update_many(self, req):
        """PUT/PATCH /v2/apps: an array of updates, one deployment."""
        body = parse_json(req.body)
        if not isinstance(body, list):
            raise ApiError(400, {"message": "Invalid JSON", "details": [
                {"path": "", "errors": ["error.expected.jsarray"]}]})
        partial = req.method == "PATCH" or req.flag("partialUpdate", True)
        targets = {}
        for item in body:
            if not isinstance(item, dict) or item.get("id") is None:
                raise message(422, "App Update must have app id set")
            app_id = appdef.canonical_id(item["id"])
            if req.method == "PATCH" and app_id not in self.engine.apps:
                raise app_not_found(app_id)
            targets[app_id] = self._target(app_id, item, partial)[1]
        return deployment_result(self.engine.deploy(targets, req.flag("force", False)))

    def delete(self, req, raw_id):
        """DELETE /v2/apps/<id>: force defaults to true here (§1.5)."""
        app_id = appdef.canonical_id(raw_id)
        self.engine.app(app_id)
        self._post_event(req, appdef.normalize({}, app_id))
        return deployment_result(self.engine.deploy({app_id: None},
                                                    req.flag("force", True)))

    def restart(self, req, raw_id):
        """POST /restart: a new version, rolled out like a config change."""
        app_id = appdef.canonical_id(raw_id)
        app = {k: v for k, v in self.engine.app(app_id).items()
               if k not in ("version", "versionInfo")}
        return deployment_result(self.engine.deploy(
            {app_id: app}, req.flag("force", False), restart={app_id}))

    def versions(self, req, raw_id):
        app_id = appdef.canonical_id(raw_id)
        self.engine.app(app_id)
        return 200, {"versions": [a["version"] for a in
                                  self.engine.versions.get(app_id, [])]}, {}

    def version(self, req, raw_id, ts):
        app_id = appdef.canonical_id(raw_id)
        for app in self.engine.versions.get(app_id, []):
            if app["version"] == ts:
                return 200, app, {}
        raise app_not_found(app_id, ts)

    # ---- tasks -----------------------------------------------------------

    def app_tasks(self, req, raw_id):
        e = self.engine
        app_id = appdef.canonical_id(raw_id)
        app = e.app(app_id)
        tasks = e.app_tasks(app_id)
        accept = req.headers.get("Accept") or ""
        if "text/plain" in accept and "json" not in accept:
            # EndpointsHelper: app, service port, then host:port per task
            lines = []
            for i, sp in enumerate(appdef.service_ports(app)):
                hosts = "".join("127.0.0.1:%d\t" % t["ports"][i] for t in tasks
                                if i < len(t["ports"]))
                lines.append("%s\t%d\t%s\n" % (app_id.strip("/").replace("/", "_"),
                                               sp, hosts))
            return 200, "".join(lines).encode(), {"Content-Type": "text/plain"}
        return 200, {"tasks": [e.task_json(t) for t in tasks]}, {}

    def all_tasks(self, req):
        tasks = sorted(self.engine.tasks.values(), key=lambda t: t["stagedAt"])
        return 200, {"tasks": [self.engine.task_json(t) for t in tasks]}, {}

    def _kill(self, req, app_id, tasks):
        """Kill tasks; scale=true also lowers `instances` (a deployment)."""
        e = self.engine
        for t in tasks:
            e.kill(t, "KillingTasksViaApi")
        if req.flag("scale", False):
            app = {k: v for k, v in e.apps[app_id].items()
                   if k not in ("version", "versionInfo")}
            app["instances"] = max(0, app["instances"] - len(tasks))
            return deployment_result(e.deploy({app_id: app}, req.flag("force", False)))
        return None

    def kill_tasks(self, req, raw_id):
        app_id = appdef.canonical_id(raw_id)
        self.engine.app(app_id)
        host = (req.params.get("host") or [None])[0]
        tasks = [t for t in self.engine.app_tasks(app_id) if t["state"] in ACTIVE
                 and host in (None, "*", "127.0.0.1", "localhost")]
        out = [self.engine.task_json(t) for t in tasks]
        return self._kill(req, app_id, tasks) or (200, {"tasks": out}, {})

    def kill_task(self, req, raw_id, task_id):
        app_id = appdef.canonical_id(raw_id)
        self.engine.app(app_id)
        task = self.engine.tasks.get(task_id)
        if task is None or task["appId"] != app_id:
            raise message(404, "Task '%s' does not exist" % task_id)
        out = self.engine.task_json(task)
        return self._kill(req, app_id, [task]) or (200, {"task": out}, {})

    # ---- deployments and queue -------------------------------------------

    def deployments(self, req):
        return 200, [self.engine.deployment_json(p) for p in self.engine.deployments], {}

    def cancel_deployment(self, req, dep_id):
        """force: cancel only, 202 and no body; else revert (§1.6)."""
        plan = self.engine.find_deployment(dep_id)
        if req.flag("force", False):
            self.engine.cancel(plan)
            return 202, None, {}
        return deployment_result(self.engine.revert(plan))

    def get_queue(self, req):
        return 200, {"queue": self.engine.queue_json()}, {}

    def reset_delay(self, req, raw_id):
        app_id = appdef.canonical_id(raw_id)
        if app_id not in self.engine.queue:
            raise message(404, "Application %s not found in tasks queue." % app_id)
        self.engine.delays.pop(app_id, None)
        return 204, None, {}


def _label_matches(selector, labels):
    """A small subset of LabelSelectorParsers: k, k==v, k!=v, comma = and."""
    for term in selector.split(","):
        term = term.strip()
        if "!=" in term:
            k, v = (s.strip() for s in term.split("!=", 1))
            if labels.get(k) == v:
                return False
        elif "==" in term:
            k, v = (s.strip() for s in term.split("==", 1))
            if labels.get(k) != v:
                return False
        elif term not in labels:
            return False
    return True
