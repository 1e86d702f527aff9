# See COPYING for copyright and license details.
"""One emulator instance: the HTTP front (faults, auth, leader proxy,
/v2/events, the /_emu control endpoint, the request log) and the
scheduler loop that drives the leader's engine."""
import base64
import collections
import email.utils
import http.client
import itertools
import json
import socket
import ssl
import struct
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from emucommon import Faults, control_route, read_chunked

from . import health
from .api import Api, Request
from .cluster import Cluster
from .engine import Clock, Engine, EventBus, iso
from .errors import ApiError, JETTY_HEADERS, jetty_page, json_bytes
from .procs import Agent, signal_group

# Headers a leader adds to its answers (LeaderProxyFilter, CacheDisablingFilter).
LEADER_HEADERS = {"X-Frame-Options": "DENY", "X-XSS-Protection": "1; mode=block",
                  "Cache-Control": "no-cache, no-store, must-revalidate",
                  "Pragma": "no-cache", "Expires": "0"}
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length",
              "host", "te", "trailer", "upgrade", "proxy-connection"}
LOGGED_HEADERS = ("Content-Type", "Accept", "User-Agent", "X-Marathon-Via",
                  "X-Forwarded-For")
MARATHON_VERSION = "1.9.109"


class Instance:
    """Everything one emulator process owns."""

    def __init__(self, opts, state_dir, port, scheme):
        self.opts = opts
        self.host_port = "127.0.0.1:%d" % port
        self.url = "%s://%s" % (scheme, self.host_port)
        self.name = opts.name or "m%d" % port
        self.clock = Clock(opts.clock == "manual")
        self.bus = EventBus()
        self.agent = Agent(state_dir)
        self.engine = Engine(self.clock, self.bus, self.agent, state_dir, self.name)
        self.cluster = Cluster(state_dir, self.name, self.url, self.engine,
                               self.bus.close_all)
        self.api = Api(self.engine, self.info, (self._leader_host_port, self.abdicate),
                       self.url)
        self.requests = collections.deque(maxlen=10000)
        self.request_seq = itertools.count(1)
        self.faults = Faults(("hang", "reset", "status", "garbage", "delay"))
        self.stopping = threading.Event()
        self.advancing = False
        self.log_file = open(opts.log, "a", buffering=1) if opts.log else None

    def log(self, text):
        line = "%s %s %s\n" % (iso(time.time()), self.name, text)
        (self.log_file or sys.stderr).write(line)

    # ---- leadership ------------------------------------------------------

    def current_leader(self):
        """"self", the leader's member record, or None."""
        with self.engine.lock:
            self.cluster.sync()
            if self.cluster.active:
                return "self"
        return self.cluster.leader()

    def _leader_host_port(self):
        leader = self.current_leader()
        if leader == "self":
            return self.host_port
        return urlsplit(leader["url"]).netloc if leader else None

    def abdicate(self):
        """DELETE /v2/leader: hand over after 500 ms (LeaderResource)."""
        def later():
            with self.engine.lock:
                if self.cluster.active:
                    self.cluster.hand_over(self.cluster.successor())
        threading.Timer(0.5, later).start()

    def info(self):
        port = int(self.host_port.rsplit(":", 1)[1])
        return {
            "name": "marathon", "version": MARATHON_VERSION, "buildref": "emulator",
            "elected": self.cluster.active, "leader": self._leader_host_port(),
            "frameworkId": self.engine.cluster_id + "-0000",
            "marathon_config": {
                "checkpoint": True, "executor": "//cmd", "failover_timeout": 604800,
                "framework_name": "marathon", "ha": True, "hostname": "127.0.0.1",
                "leader_proxy_connection_timeout_ms": 5000,
                "leader_proxy_read_timeout_ms": int(self.opts.proxy_timeout * 1000),
                "local_port_min": 10000, "local_port_max": 20000,
                "master": "zk://127.0.0.1:2181/mesos", "mesos_role": None,
                "mesos_user": "root", "webui_url": None,
                "reconciliation_initial_delay": 15000,
                "reconciliation_interval": 600000, "task_launch_timeout": 300000,
                "task_reservation_timeout": 20000, "features": []},
            "zookeeper_config": {"zk": "zk://127.0.0.1:2181/marathon",
                                 "zk_timeout": 10000, "zk_session_timeout": 10000,
                                 "zk_max_versions": 50},
            "http_config": {"http_port": port, "https_port": 8443},
            "event_subscriber": None}

    # ---- the scheduler ---------------------------------------------------

    def run_jobs(self, jobs, wait):
        """Run real health checks outside the engine lock."""
        def one(task_id, index, check, ports, env):
            alive, cause = health.run_check(check, ports, env)
            with self.engine.lock:
                if self.cluster.active:
                    self.engine.health_result(task_id, index, alive, cause)
        threads = [threading.Thread(target=one, args=job, daemon=True) for job in jobs]
        for t in threads:
            t.start()
        if wait:
            for t in threads:
                t.join()

    def scheduler(self):
        while not self.stopping.is_set():
            try:
                self.cluster.elect()
                jobs = []
                with self.engine.lock:
                    self.cluster.sync()
                    if self.cluster.active and not self.advancing:
                        self.engine.advance(self.clock.now())
                        jobs = self.engine.take_jobs()
                        self.cluster.flush()
                self.run_jobs(jobs, wait=self.clock.manual)
            except Exception:
                self.log("scheduler: " + traceback.format_exc())
            self.stopping.wait(0.05)

    def advance_clock(self, seconds):
        """Manual clock: step from one scheduled moment to the next."""
        self.advancing = True
        try:
            with self.engine.lock:
                target = self.clock.now() + seconds
            while True:
                with self.engine.lock:
                    due = self.engine.next_due()
                    step = min(due, target) if due is not None else target
                    self.clock.set(step)
                    self.engine.advance(step)
                    jobs = self.engine.take_jobs()
                self.run_jobs(jobs, wait=True)
                if step >= target and not jobs:
                    break
            with self.engine.lock:
                self.cluster.flush()
        finally:
            self.advancing = False

    # ---- auth, faults, request log ---------------------------------------

    def check_auth(self, headers):
        """None when allowed, else the 401 answer (§1.11)."""
        mode = self.opts.auth
        if mode == "none":
            return None
        given = headers.get("Authorization") or ""
        kind, _, secret = mode.partition(":")
        if kind == "basic":
            scheme, _, value = given.partition(" ")
            try:
                ok = scheme.lower() == "basic" and \
                    base64.b64decode(value.strip(), validate=True).decode() == secret
            except (ValueError, UnicodeDecodeError):
                ok = False
            if ok:
                return None
            return 401, jetty_page(401, ""), dict(
                JETTY_HEADERS, **{"WWW-Authenticate": 'basic realm="Mesosphere"'})
        if given == "token=" + secret:
            return None
        return 401, json_bytes({"message": "Invalid username or password."}), {
            "Content-Type": "application/json", "WWW-Authenticate": "acsjwt"}

    def record(self, handler, method, path, query, body):
        auth = handler.headers.get("Authorization")
        text = body.decode("utf-8", "replace")
        try:
            parsed = json.loads(text) if text.strip() else None
        except ValueError:
            parsed = None
        entry = {"seq": next(self.request_seq), "time": iso(time.time()),
                 "instance": self.name, "method": method, "path": path,
                 "query": query, "params": parse_qs(query, keep_blank_values=True),
                 "headers": {h: handler.headers[h] for h in LOGGED_HEADERS
                             if handler.headers[h] is not None},
                 # whether and how, never the secret itself
                 "authorization": None if auth is None else
                 ("token" if auth.startswith("token=") else auth.split(" ")[0].lower()),
                 "body": text if body else None, "json": parsed,
                 "status": None, "fault": None}
        self.requests.append(entry)
        return entry


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        self.dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    def log_message(self, fmt, *args):
        self.server.inst.log("%s %s" % (self.address_string(), fmt % args))

    # ---- plumbing --------------------------------------------------------

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return read_chunked(self.rfile)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def respond(self, status, body=b"", headers=None, close=False):
        self.settle(status)
        self.send_response_only(status)
        self.send_header("Date", email.utils.formatdate(usegmt=True))
        for name, value in (headers or {}).items():
            for v in value if isinstance(value, list) else [value]:
                self.send_header(name, v)
        if status not in (204, 304):
            self.send_header("Content-Length", str(len(body)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)

    def settle(self, status):
        """Complete the request's log entry before the answer leaves, so
        that a client reading /_emu/requests next finds it whole."""
        self.status = status
        if self.entry is not None:
            self.entry["status"] = status

    def dispatch(self):
        inst = self.server.inst
        self.status = None
        self.entry = None
        url = urlsplit(self.path)
        body = self.read_body()
        if url.path.startswith("/_emu/"):
            return self.control(url.path, url.query, body)
        entry = self.entry = inst.record(self, self.command, url.path, url.query, body)
        try:
            self.public(url.path, url.query, body, entry)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception:
            inst.log(traceback.format_exc())
            self.respond(500, json_bytes({"message": "internal emulator error"}),
                         {"Content-Type": "application/json"})
        entry["status"] = self.status

    # ---- the public API --------------------------------------------------

    def public(self, path, query, body, entry):
        inst = self.server.inst
        fault = inst.faults.take(self.command, path)
        if fault:
            entry["fault"] = fault["kind"]
            if self.fault(fault):
                return
        denied = inst.check_auth(self.headers)
        if denied:
            return self.respond(*denied)
        leader = inst.current_leader()
        deadline = time.monotonic() + inst.opts.leader_wait
        while leader is None and time.monotonic() < deadline:
            time.sleep(0.05)            # waitForConsistentLeadership
            leader = inst.current_leader()
        if leader is None:
            return self.respond(502, jetty_page(
                502, path, "Could not determine the current leader"), JETTY_HEADERS)
        target = path + ("?" + query if query else "")
        if leader != "self":
            if path.startswith("/v2/events"):   # redirected, not proxied (§1.9)
                return self.respond(302, b"", {"Location": leader["url"] + target})
            return self.proxy(leader["url"], target, body)
        headers = dict(LEADER_HEADERS, **{"X-Marathon-Leader": inst.url})
        if path == "/v2/events":
            return self.events(query, headers)
        params = parse_qs(query, keep_blank_values=True)
        req = Request(self.command, path, params, self.headers, body,
                      self.client_address[0])
        try:
            status, obj, extra = inst.api.handle(req)
        except ApiError as e:
            status, obj, extra = e.status, e.body, e.headers
        if isinstance(obj, bytes):
            data = obj
        elif obj is None:
            data = b""
        else:
            data = json_bytes(obj)
            headers["Content-Type"] = "application/json"
        headers.update(extra)
        self.respond(status, data, headers)

    def fault(self, fault):
        """Apply an injected fault; True when it replaces the answer."""
        inst = self.server.inst
        kind = fault["kind"]
        if kind == "delay":
            inst.stopping.wait(fault.get("seconds", 1))
            return False
        if kind == "hang":
            inst.stopping.wait(fault.get("seconds", 3600))
            self.close_connection = True
        elif kind == "reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.close_connection = True
        elif kind == "status":
            status = fault.get("status", 503)
            if "body" in fault:
                self.respond(status, json_bytes(fault["body"]),
                             {"Content-Type": "application/json"})
            else:
                self.respond(status, jetty_page(status, urlsplit(self.path).path),
                             JETTY_HEADERS)
        elif kind == "garbage":
            self.respond(fault.get("status", 200),
                         fault.get("body", "<html>\x00garbage{{{").encode(),
                         {"Content-Type": "application/json"})
        return True

    def proxy(self, leader_url, target, body):
        """Forward to the leader (RequestForwarder, §1.10)."""
        inst = self.server.inst
        via = "1.1 " + inst.host_port
        if via in (self.headers.get_all("X-Marathon-Via") or []):
            return self.respond(502, jetty_page(502, self.path, "Detected proxying loop."),
                                JETTY_HEADERS)
        u = urlsplit(leader_url)
        if u.scheme == "https":
            conn = http.client.HTTPSConnection(u.hostname, u.port,
                                               timeout=inst.opts.proxy_timeout,
                                               context=ssl._create_unverified_context())
        else:
            conn = http.client.HTTPConnection(u.hostname, u.port,
                                              timeout=inst.opts.proxy_timeout)
        try:
            conn.putrequest(self.command, target, skip_host=True,
                            skip_accept_encoding=True)
            conn.putheader("Host", u.netloc)
            for name, value in self.headers.items():
                if name.lower() not in HOP_BY_HOP:
                    conn.putheader(name, value)
            conn.putheader("X-Marathon-Via", via)
            forwarded = [self.headers.get("X-Forwarded-For"), self.client_address[0]]
            conn.putheader("X-Forwarded-For", ",".join(f for f in forwarded if f))
            if body or self.command in ("POST", "PUT", "PATCH"):
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body or None)
            resp = conn.getresponse()
            data = resp.read()
        except socket.timeout:
            return self.respond(504, jetty_page(504, self.path,
                                                "Connection to leader timed out."),
                                JETTY_HEADERS)
        except (OSError, http.client.HTTPException):
            return self.respond(502, jetty_page(502, self.path,
                                                "Connection to leader refused."),
                                JETTY_HEADERS)
        finally:
            conn.close()
        headers = collections.OrderedDict()
        for name, value in resp.getheaders():
            if name.lower() not in HOP_BY_HOP and name.lower() != "date":
                headers.setdefault(name, []).append(value)
        headers["X-Marathon-Via"] = via
        self.respond(resp.status, data, headers)

    def events(self, query, headers):
        """/v2/events: Jetty's EventSourceServlet (§1.9)."""
        inst = self.server.inst
        accepts = self.headers.get_all("Accept") or []
        if self.command != "GET" or "text/event-stream" not in accepts:
            return self.respond(405, jetty_page(
                405, "/v2/events",
                "HTTP method %s is not supported by this URL" % self.command),
                JETTY_HEADERS)
        types = parse_qs(query).get("event_type", [])
        sub = inst.bus.subscribe(types)
        headers["Content-Type"] = "text/event-stream;charset=utf-8"
        self.settle(200)
        self.send_response_only(200)
        self.send_header("Date", email.utils.formatdate(usegmt=True))
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        remote = self.client_address[0]
        with inst.engine.lock:
            inst.engine.emit("event_stream_attached", remoteAddress=remote)
        try:
            while not inst.stopping.is_set():
                try:
                    item = sub.get(timeout=inst.opts.heartbeat)
                except Exception:       # queue.Empty: heartbeat, a bare CRLF
                    self.wfile.write(b"\r\n")
                    continue
                if item is None:
                    break
                self.wfile.write(("event: %s\r\ndata: %s\r\n\r\n" % item).encode())
        except OSError:
            pass
        finally:
            inst.bus.unsubscribe(sub)
            with inst.engine.lock:
                if inst.cluster.active:
                    inst.engine.emit("event_stream_detached", remoteAddress=remote)

    # ---- /_emu -----------------------------------------------------------

    def control(self, path, query, body):
        try:
            data = json.loads(body) if body.strip() else {}
            status, out = self.control_route(path, query, data, body)
        except ApiError as e:
            status, out = e.status, e.body
        except (ValueError, KeyError, TypeError) as e:
            status, out = 400, {"message": "bad control request: %s" % e}
        if isinstance(out, bytes):
            return self.respond(status, out, {"Content-Type": "application/x-ndjson"})
        self.respond(status, json_bytes(out), {"Content-Type": "application/json"})

    def control_route(self, path, query, data, body):
        inst = self.server.inst
        method = self.command
        if path == "/_emu/state" and method == "GET":
            leader = inst.current_leader()
            return 200, {"name": inst.name, "url": inst.url,
                         "leader": inst.name if leader == "self" else
                         (leader or {}).get("name"),
                         "clock": inst.clock.now(), "now": iso(inst.clock.now())}
        routed = control_route(method, path, query, data, inst.faults, inst.requests,
                               json_bytes)
        if routed is not None:
            if routed[0] != 200:
                raise ApiError(*routed)
            return routed
        if path == "/_emu/leader":
            return self.control_leader(data)
        # everything else works on the leader's state
        leader = inst.current_leader()
        if leader is None:
            raise ApiError(503, {"message": "there is no leader"})
        if leader != "self":
            return self.forward_control(leader["url"], path, query, body)
        return self.control_leader_state(path, data)

    def control_leader(self, data):
        inst = self.server.inst
        if self.command == "GET":
            record = inst.cluster.leader_record()
            return 200, dict(record, members=sorted(inst.cluster.members()))
        target = data.get("leader")
        if target is not None and target not in inst.cluster.members():
            raise ApiError(404, {"message": "no live instance named %s" % target})
        leader = inst.current_leader()
        if leader not in (None, "self"):
            return self.forward_control(leader["url"], "/_emu/leader", "",
                                        json_bytes(data))
        with inst.engine.lock:
            inst.cluster.hand_over(target)
        return 200, {"leader": target}

    def forward_control(self, url, path, query, body):
        u = urlsplit(url)
        cls = http.client.HTTPSConnection if u.scheme == "https" else http.client.HTTPConnection
        kwargs = {"context": ssl._create_unverified_context()} if u.scheme == "https" else {}
        conn = cls(u.hostname, u.port, timeout=60, **kwargs)
        try:
            conn.request(self.command, path + ("?" + query if query else ""),
                         body=body or None, headers={"Content-Type": "application/json"})
            resp = conn.getresponse()
            data = resp.read()
        finally:
            conn.close()
        if resp.getheader("Content-Type") == "application/json":
            return resp.status, json.loads(data)
        return resp.status, data

    def control_leader_state(self, path, data):
        inst = self.server.inst
        e = inst.engine
        method = self.command
        if path == "/_emu/clock" and method == "POST":
            if not inst.clock.manual:
                raise ApiError(400, {"message": "the clock is real (--clock manual)"})
            inst.advance_clock(float(data.get("advance", 0)))
            return 200, {"clock": inst.clock.now(), "now": iso(inst.clock.now())}
        if path == "/_emu/events":
            if method == "DELETE":
                inst.bus.log.clear()
                return 200, {}
            return 200, list(inst.bus.log)
        with e.lock:
            if path.startswith("/_emu/apps/") and path.endswith("/knobs"):
                app_id = "/" + path[len("/_emu/apps/"):-len("/knobs")].strip("/")
                knobs = e.knobs.setdefault(app_id, {})
                if method == "POST":
                    for k, v in data.items():
                        if v is None:
                            knobs.pop(k, None)
                        else:
                            knobs[k] = v
                    e.advance(inst.clock.now())
                return 200, knobs
            if path == "/_emu/tasks" and method == "GET":
                return 200, [dict(e.task_json(t), pid=t["pid"], simulated=t["simulated"],
                                  sandbox=e.sandbox(t["id"]), instanceId=t["instanceId"])
                             for t in sorted(e.tasks.values(), key=lambda t: t["stagedAt"])]
            if path.startswith("/_emu/tasks/") and method == "POST":
                return 200, self.task_outcome(path[len("/_emu/tasks/"):], data)
        raise ApiError(404, {"message": "no control route %s %s" % (method, path)})

    def task_outcome(self, task_id, data):
        """Force what happens to a task (README: Control API)."""
        inst = self.server.inst
        e = inst.engine
        task = e.tasks.get(task_id)
        if task is None:
            raise ApiError(404, {"message": "no task %s" % task_id})
        now = inst.clock.now()
        if "health" in data:
            task["forceHealth"] = data["health"]
        outcome = data.get("outcome")
        if outcome == "kill":
            e.kill(task, "KillingTasksViaApi")
        elif outcome == "fail" and not task["simulated"]:
            signal_group(task["pid"], 9)
        elif outcome in ("fail", "finish", "lost"):
            if not task["simulated"]:
                raise ApiError(400, {"message": "finish/lost only for simulated tasks"})
            state = {"fail": "TASK_FAILED", "finish": "TASK_FINISHED",
                     "lost": "TASK_LOST"}[outcome]
            e._end(task, state, data.get("message") or
                   {"fail": "Command exited with status 1", "finish":
                    "Command exited with status 0", "lost": "Agent lost"}[outcome], now)
        elif outcome is not None:
            raise ApiError(400, {"message": "outcome must be kill, fail, finish or lost"})
        e.advance(now)
        return {"task": task_id, "outcome": outcome}


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64
