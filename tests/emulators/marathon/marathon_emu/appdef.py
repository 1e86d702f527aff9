# See COPYING for copyright and license details.
"""App definitions: parse, validate and normalise like Marathon 1.x.

Input is the JSON body of POST/PUT/PATCH /v2/apps; output is the canonical
1.5+ form Marathon answers with (networks, portDefinitions,
container.portMappings), defaults filled in (marathon.md §1.4, §1.5).
Errors are raised as ApiError carrying Marathon's exact status and body
(marathon.md §1.8).
"""
import re

from .errors import ApiError

# PathId.scala: each segment of an id must fully match this (marathon.md §1.2).
ID_SEGMENT = (r"^(([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9])\.)*"
              r"([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9])|(\.|\.\.)$")
_ID_SEGMENT_RE = re.compile(ID_SEGMENT)
RESERVED = ("restart", "tasks", "versions", ".", "..")

# Fields that only Marathon writes; ignored in request bodies.
READ_ONLY = ("version", "versionInfo", "tasks", "tasksStaged", "tasksRunning",
             "tasksHealthy", "tasksUnhealthy", "deployments", "lastTaskFailure",
             "readinessCheckResults", "taskStats")

# Defaults of AppDefinition / AppNormalization in Marathon 1.x.
DEFAULTS = {
    "backoffFactor": 1.15, "backoffSeconds": 1, "constraints": [], "cpus": 1,
    "dependencies": [], "disk": 0, "env": {}, "executor": "", "fetch": [],
    "gpus": 0, "healthChecks": [], "instances": 1, "labels": {},
    "maxLaunchDelaySeconds": 3600, "mem": 128, "readinessChecks": [],
    "requirePorts": False, "secrets": {},
    "upgradeStrategy": {"maximumOverCapacity": 1, "minimumHealthCapacity": 1},
    "killSelection": "YOUNGEST_FIRST",
    "unreachableStrategy": {"inactiveAfterSeconds": 0, "expungeAfterSeconds": 0},
}

# Expected JSON types (play-json error keys, marathon.md §1.8 "wrong JSON type").
_STR, _NUM, _INT, _BOOL, _ARR, _OBJ = "str", "num", "int", "bool", "arr", "obj"
TYPES = {
    "id": _STR, "cmd": _STR, "args": _ARR, "user": _STR, "env": _OBJ,
    "instances": _INT, "cpus": _NUM, "mem": _NUM, "disk": _NUM, "gpus": _INT,
    "executor": _STR, "constraints": _ARR, "uris": _ARR, "fetch": _ARR,
    "storeUrls": _ARR, "ports": _ARR, "portDefinitions": _ARR,
    "requirePorts": _BOOL, "backoffSeconds": _NUM, "backoffFactor": _NUM,
    "maxLaunchDelaySeconds": _NUM, "container": _OBJ, "healthChecks": _ARR,
    "readinessChecks": _ARR, "dependencies": _ARR, "upgradeStrategy": _OBJ,
    "labels": _OBJ, "acceptedResourceRoles": _ARR, "secrets": _OBJ,
    "taskKillGracePeriodSeconds": _NUM, "killSelection": _STR,
    "networks": _ARR, "version": _STR, "role": _STR, "ipAddress": _OBJ,
    "residency": _OBJ,
}
_TYPE_ERR = {_STR: "error.expected.jsstring", _NUM: "error.expected.jsnumber",
             _INT: "error.expected.jsnumber", _BOOL: "error.expected.jsboolean",
             _ARR: "error.expected.jsarray", _OBJ: "error.expected.jsobject"}

HEALTH_DEFAULTS = {"gracePeriodSeconds": 300, "intervalSeconds": 60,
                   "timeoutSeconds": 20, "maxConsecutiveFailures": 3,
                   "delaySeconds": 15}


def _is_type(value, kind):
    if kind == _STR:
        return isinstance(value, str)
    if kind == _BOOL:
        return isinstance(value, bool)
    if kind in (_NUM, _INT):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == _ARR:
        return isinstance(value, list)
    return isinstance(value, dict)


def invalid(details):
    """422 Object is not valid; details is [(path, message), ...]."""
    grouped = {}
    for path, msg in details:
        grouped.setdefault(path, []).append(msg)
    return ApiError(422, {"message": "Object is not valid", "details": [
        {"path": p, "errors": e} for p, e in grouped.items()]})


def canonical_id(raw):
    """Absolute id with '.' and '..' resolved (PathId.canonicalPath)."""
    parts = []
    for seg in raw.split("/"):
        if seg in ("", "."):
            continue
        if seg == "..":
            if parts:
                parts.pop()
            continue
        parts.append(seg)
    return "/" + "/".join(parts)


def id_errors(raw):
    """Validation messages for an id, as AppValidation words them."""
    errors = []
    segments = [s for s in raw.split("/") if s]
    if not all(_ID_SEGMENT_RE.fullmatch(s) for s in segments):
        errors.append("must fully match regular expression '%s'" % ID_SEGMENT)
    if not segments or segments[-1] in RESERVED:
        errors.append("must not end with any of the following reserved "
                      "keywords: " + ", ".join(RESERVED))
    return errors


def check_types(body):
    """422 "Invalid JSON" with play-json error keys for mistyped fields."""
    if not isinstance(body, dict):
        raise ApiError(422, {"message": "Invalid JSON", "details": [
            {"path": "", "errors": ["error.expected.jsobject"]}]})
    bad = []
    for key, kind in TYPES.items():
        if key in body and body[key] is not None and not _is_type(body[key], kind):
            bad.append({"path": "/" + key, "errors": [_TYPE_ERR[kind]]})
    if isinstance(body.get("args"), list) and not all(
            isinstance(a, str) for a in body["args"]):
        bad.append({"path": "/args", "errors": ["error.expected.jsstring"]})
    if bad:
        raise ApiError(422, {"message": "Invalid JSON", "details": bad})


def _port_definitions(body):
    """Host-network ports: portDefinitions, legacy `ports`, or the default."""
    if body.get("portDefinitions") is not None:
        defs = [dict(d) for d in body["portDefinitions"]]
    elif body.get("ports") is not None:
        defs = [{"port": p} for p in body["ports"]]
    else:
        defs = [{"port": 0, "name": "default"}]
    out = []
    for d in defs:
        pd = {"port": d.get("port", 0), "protocol": d.get("protocol", "tcp")}
        if d.get("name"):
            pd["name"] = d["name"]
        if d.get("labels"):
            pd["labels"] = d["labels"]
        out.append(pd)
    return out


def _container(body):
    """Canonical container and networks (network-api-migration.md, §1.4)."""
    c = body.get("container")
    networks = body.get("networks")
    if not c:
        return None, networks or [{"mode": "host"}]
    c = dict(c)
    out = {"type": c.get("type", "DOCKER"), "volumes": c.get("volumes", [])}
    docker = dict(c.get("docker") or {})
    legacy_net = docker.pop("network", None)
    legacy_maps = docker.pop("portMappings", None)
    if docker:
        docker.setdefault("forcePullImage", False)
        docker.setdefault("privileged", False)
        docker.setdefault("parameters", [])
        out["docker"] = docker
    maps = c.get("portMappings") if c.get("portMappings") is not None else legacy_maps
    if networks is None:
        networks = [{"mode": {"BRIDGE": "container/bridge", "USER": "container",
                              "NONE": "container"}.get(legacy_net, "host")}]
    if maps is not None or networks[0].get("mode") != "host":
        out["portMappings"] = [
            {"containerPort": m.get("containerPort", 0),
             "hostPort": m.get("hostPort", 0),
             "servicePort": m.get("servicePort", 0),
             "protocol": m.get("protocol", "tcp"),
             **({"name": m["name"]} if m.get("name") else {}),
             **({"labels": m["labels"]} if m.get("labels") else {})}
            for m in (maps or [])]
    return out, networks


def _health_check(hc):
    out = dict(HEALTH_DEFAULTS)
    out.update(hc)
    out.setdefault("protocol", "HTTP")
    proto = out["protocol"]
    if proto in ("HTTP", "HTTPS", "MESOS_HTTP", "MESOS_HTTPS"):
        out.setdefault("path", "/")
        out.setdefault("ignoreHttp1xx", False)
    if proto != "COMMAND" and "port" not in out:
        out.setdefault("portIndex", 0)
    if proto in ("HTTP", "HTTPS", "TCP"):
        out.setdefault("ipProtocol", "IPv4")
    return out


def _fetch(body):
    if body.get("fetch") is not None:
        return body["fetch"]
    return [{"uri": u, "extract": True, "executable": False, "cache": False}
            for u in body.get("uris") or []]


def normalize(body, app_id):
    """A complete request body → canonical app (no version fields)."""
    app = {"id": app_id}
    for key, value in DEFAULTS.items():
        v = body.get(key)
        app[key] = value if v is None else v
    for key in ("cmd", "args", "user", "acceptedResourceRoles", "ipAddress",
                "residency", "taskKillGracePeriodSeconds", "role"):
        if body.get(key) is not None:
            app[key] = body[key]
    strategy = dict(DEFAULTS["upgradeStrategy"])
    strategy.update(body.get("upgradeStrategy") or {})
    app["upgradeStrategy"] = strategy
    app["fetch"] = _fetch(body)
    app["healthChecks"] = [_health_check(h) for h in app["healthChecks"]]
    container, networks = _container(body)
    if container is not None:
        app["container"] = container
    app["networks"] = networks
    if networks[0].get("mode") == "host":
        app["portDefinitions"] = _port_definitions(body)
    else:
        app["portDefinitions"] = []
    return app


def validate(app):
    """Semantic validation (AppValidation); raises 422 Object is not valid."""
    errors = [("/id", e) for e in id_errors(app["id"])]
    has_cmd, has_args = app.get("cmd") is not None, bool(app.get("args"))
    if (has_cmd and has_args) or not (has_cmd or has_args or app.get("container")):
        errors.append(("/", "AppDefinition must either contain one of 'cmd' or "
                            "'args', and/or a 'container'."))
    if app["instances"] < 0:
        errors.append(("/instances", "got %s, expected 0 or more" % app["instances"]))
    for key in ("minimumHealthCapacity", "maximumOverCapacity"):
        v = app["upgradeStrategy"].get(key)
        if not _is_type(v, _NUM):
            errors.append(("/upgradeStrategy/" + key, "error.expected.jsnumber"))
        elif v > 1:
            errors.append(("/upgradeStrategy/" + key, "is greater than 1"))
        elif v < 0:
            errors.append(("/upgradeStrategy/" + key, "is less than 0"))
    nports = len(app["portDefinitions"]) or len(
        (app.get("container") or {}).get("portMappings", []))
    for i, hc in enumerate(app["healthChecks"]):
        if "portIndex" in hc and not 0 <= hc["portIndex"] < max(nports, 1):
            errors.append(("/healthChecks(%d)" % i,
                           "Health check port indices must address an element "
                           "of the ports array or container port mappings."))
    if errors:
        raise invalid(errors)


def merge_update(current, body):
    """Partial update: top-level fields of body replace those of current."""
    merged = {k: v for k, v in current.items() if k not in READ_ONLY}
    for key, value in body.items():
        if key not in READ_ONLY and key != "id":
            merged[key] = value
    if "container" in body and "networks" not in body:
        # let a legacy container.docker.network decide the networks again
        merged.pop("networks", None)
    if "ports" in body and "portDefinitions" not in body:
        merged.pop("portDefinitions", None)
    return merged


def service_ports(app):
    """Service ports of an app, in port order."""
    if app["portDefinitions"]:
        return [p["port"] for p in app["portDefinitions"]]
    return [m["servicePort"] for m in (app.get("container") or {}).get("portMappings", [])]


def assign_service_ports(app, previous, taken):
    """Fill service port 0 like Marathon: keep the previous version's port at
    the same index, else the next free one from local_port_min 10000."""
    old = service_ports(previous) if previous else []
    entries = app["portDefinitions"] or (app.get("container") or {}).get("portMappings", [])
    key = "port" if app["portDefinitions"] else "servicePort"
    for i, entry in enumerate(entries):
        if entry[key] == 0:
            if i < len(old) and old[i]:
                entry[key] = old[i]
            else:
                port = 10000
                while port in taken:
                    port += 1
                entry[key] = port
        taken.add(entry[key])


def config_of(app):
    """The parts of an app that decide scale-only vs restart."""
    return {k: v for k, v in app.items()
            if k not in ("version", "versionInfo", "instances")}
