#!/usr/bin/python3
# See COPYING for copyright and license details.
"""A stand-in for consul-template (not packaged in Debian), for the demo
and the tests: renders the HAProxy configuration that haproxy.cfg.ctmpl
describes, and runs a command when the file changes.

consul-template reads the Consul catalog, where marathon-registrator
registers every task; this reads the same facts from Marathon instead:
each app's SERVICE_NAME and SERVICE_TAGS, and its running tasks that pass
their health checks (as the catalog's passing instances).

    render.py --out FILE [--marathon URL] [--catalog FILE]
              [--service NAME=HOST:PORT]... [--watch SECONDS] [-- command...]

--catalog FILE: a JSON catalog instead of Marathon:
    {"name": [{"Address": A, "Port": P, "Tags": [...]}, ...], ...}
--service: an instance of a well-known service (marathon, chronos, consul).
--watch: poll Marathon every SECONDS; on each change write FILE (temp
file + rename) and run the command (no shell); until SIGTERM or SIGINT.
Without it: render once, run the command if FILE changed.
"""
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request

HEAD = """\
# Rendered by consul-template from haproxy.cfg.ctmpl; do not edit.
global
    master-worker
    hard-stop-after 30s

defaults
    mode http
    option idle-close-on-response
    option redispatch 1
    retries 2
    retry-on conn-failure empty-response response-timeout
    timeout connect 2s
    timeout client 30s
    timeout server 3s
    timeout http-keep-alive 2s
    timeout check 5s
    default-server inter 2s fall 3 rise 1

# Well-known services: long timeouts for Marathon's event stream and
# Consul's blocking queries.
"""

WELL_KNOWN = [("marathon", 18080, "/ping", True),
              ("chronos", 14400, "/scheduler/jobs", False),
              ("consul", 18500, "/v1/status/leader", True)]
LISTEN = re.compile(r"^internal-listen-http-([0-9]+)$")


def servers(instances):
    return "".join("\n    server %s:%d %s:%d check" % (i["Address"], i["Port"],
                                                     i["Address"], i["Port"])
                   for i in instances)


def render(catalog):
    """The text haproxy.cfg.ctmpl renders for this catalog."""
    out = [HEAD]
    for n, (name, port, check, long_timeouts) in enumerate(WELL_KNOWN):
        out.append("%sfrontend %s\n    bind :%d\n%s    default_backend %s\n\n"
                   "backend %s\n%s    option httpchk GET %s%s\n"
                   % ("\n" if n else "", name, port,
                      "    timeout client 10m\n" if long_timeouts else "", name, name,
                      "    timeout server 10m\n" if long_timeouts else "", check,
                      servers(catalog.get(name, []))))
    for svc in sorted(catalog):
        tags = sorted({t for i in catalog[svc] for t in i.get("Tags", [])})
        for tag in tags:
            m = LISTEN.match(tag)
            if not m:
                continue
            port = int(m.group(1))
            out.append("\n# %s: tag %s" % (svc, tag))
            for env, bind in (("production", port), ("staging", 10000 + port)):
                passing = [i for i in catalog[svc] if env in i.get("Tags", [])]
                out.append("\nfrontend %s-%s\n    bind :%d\n    default_backend %s-%s\n\n"
                           "backend %s-%s\n    option httpchk GET /healthcheck%s\n"
                           % (svc, env, bind, svc, env, svc, env, servers(passing)))
    text = "".join(out)
    return text.rstrip("\n") + "\n"


def from_marathon(url, wellknown):
    """The catalog marathon-registrator would have made: healthy tasks."""
    with urllib.request.urlopen(url.rstrip("/") + "/v2/apps?embed=apps.tasks",
                                timeout=5) as r:
        apps = json.load(r)["apps"]
    catalog = {k: list(v) for k, v in wellknown.items()}
    for app in apps:
        env = app.get("env") or {}
        name = env.get("SERVICE_NAME") or app["id"].rsplit("/", 1)[-1]
        tags = [t for t in (env.get("SERVICE_TAGS") or "").split(",") if t]
        entries = catalog.setdefault(name, [])
        for task in app.get("tasks", []):
            checks = task.get("healthCheckResults") or []
            if task.get("state") != "TASK_RUNNING" or not task.get("ports") or \
                    len(checks) < len(app.get("healthChecks") or []) or \
                    not all(c.get("alive") for c in checks):
                continue
            entries.append({"Address": task["host"], "Port": task["ports"][0],
                            "Tags": tags})
    for entries in catalog.values():
        entries.sort(key=lambda i: (i["Address"], i["Port"]))
    return catalog


def write_atomic(path, text):
    tmp = "%s.%d.tmp" % (path, os.getpid())
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, path)


def log(text):
    print("render: " + text, flush=True)


def main(argv):
    if "--" in argv:
        i = argv.index("--")
        argv, command = argv[:i], argv[i + 1:]
    else:
        command = []
    opts = {"--service": []}
    it = iter(argv)
    for a in it:
        if a in ("--out", "--marathon", "--catalog", "--watch"):
            opts[a] = next(it)
        elif a == "--service":
            opts[a].append(next(it))
        else:
            sys.exit("render.py: unknown argument %s\n%s" % (a, __doc__))
    if "--out" not in opts or ("--marathon" in opts) == ("--catalog" in opts):
        sys.exit(__doc__)
    wellknown = {}
    for s in opts["--service"]:
        name, _, hp = s.partition("=")
        host, _, port = hp.rpartition(":")
        wellknown.setdefault(name, []).append({"Address": host, "Port": int(port),
                                               "Tags": []})
    out = opts["--out"]

    def once():
        if "--catalog" in opts:
            with open(opts["--catalog"]) as f:
                catalog = json.load(f)
        else:
            catalog = from_marathon(opts["--marathon"], wellknown)
        text = render(catalog)
        try:
            with open(out) as f:
                if f.read() == text:
                    return False
        except OSError:
            pass
        write_atomic(out, text)
        counts = ", ".join("%s %d" % (k, len(v)) for k, v in sorted(catalog.items()))
        if command:
            rc = subprocess.call(command)
            log("wrote %s (%s); %s exited %d" % (out, counts, command[0], rc))
        else:
            log("wrote %s (%s)" % (out, counts))
        return True

    if "--watch" not in opts:
        once()
        return 0
    stop = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.append(1))
    period = float(opts["--watch"])
    while not stop:
        try:
            once()
        except (OSError, ValueError, KeyError) as e:
            log("Marathon: %s" % e)
        time.sleep(period)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
