# See COPYING for copyright and license details.
"""The HTTP side: Consul's wrap() (headers, errors), the KV endpoint and its
blocking queries, /v1/status, faults, the /_emu control endpoint and the
request log. See README.md for what is emulated and how."""
import collections
import email.utils
import gzip
import itertools
import json
import random
import select
import socket
import struct
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote

from emucommon import Faults, control_route, read_chunked

from .acl import Acl, AclError
from .gocompat import (clean_path, encode_str, marshal, parse_duration, parse_query,
                       parse_uint, path_from_target, printable, values_encode)
from .store import Store

CONSUL_VERSION = "1.15.4"
RAFT_ADDR = "127.0.0.1:8300"
TEXT = "text/plain; charset=utf-8"
KV_METHODS = ("GET", "PUT", "DELETE")
LOGGED_HEADERS = ("User-Agent", "Accept-Encoding", "Content-Type", "Content-Length",
                  "Transfer-Encoding", "Expect", "Connection", "X-Forwarded-For")
FAULT_KINDS = ("hang", "reset", "reset-during-block", "status", "garbage", "delay",
               "not-consul-404")
DEFAULT_FAULT_BODY = {500: "No cluster leader", 429: "RPC rate limit exceeded"}
CHUNK_AFTER = 2048          # net/http's bufferBeforeChunkingSize


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%03dZ" % (t % 1 * 1000)


class ConsulError(Exception):
    """An error answer: status and text body (Consul's wrap/handleErr)."""

    def __init__(self, status, text=""):
        super().__init__(text)
        self.status, self.text = status, text


class Aborted(Exception):
    """Drop the connection without an answer (exit, restart, client gone)."""


class Instance:
    """Everything one emulator process owns."""

    def __init__(self, opts, port, scheme, state_file=None):
        self.opts = opts
        self.url = "%s://127.0.0.1:%d" % (scheme, port)
        self.name = opts.name or "consul-%d" % port
        self.log_file = open(opts.log, "a", buffering=1) if opts.log else None
        self.log_lock = threading.Lock()
        self.store = Store(opts.start_index, opts.legacy_index, state_file, self.log)
        self.acl = Acl(opts.acl_default, opts.token or ())
        self.requests = collections.deque(maxlen=20000)
        self.request_seq = itertools.count(1)
        self.conn_seq = itertools.count(1)
        self.faults = Faults(FAULT_KINDS, matchers=("blocking",))
        self.stopping = threading.Event()
        self.wake = threading.Condition()   # sleeping faults: stop, restart
        self.restart_gen = 0
        self.connections = set()
        self.conn_lock = threading.Lock()
        self.leader = True
        self.leader_lost = None
        self.no_leader_text = "No cluster leader"
        self.stale = {"lag": 0, "always": False, "last_contact_ms": 100}
        self.blocking = 0

    def log(self, text):
        line = "%s %s %s\n" % (iso(time.time()), self.name, text)
        with self.log_lock:
            (self.log_file or sys.stderr).write(line)

    def query_timeout(self, wait):
        """RPCQueryTimeout: default when absent or <= 0, clamp, + wait/16 jitter."""
        t = wait if wait is not None and wait > 0 else self.opts.default_query_time
        t = min(t, self.opts.max_query_time)
        if not self.opts.no_jitter:
            t += random.uniform(0, t / 16.0)
        return t

    def sleep(self, seconds):
        """Wait up to seconds; False when interrupted by exit or restart."""
        gen = self.restart_gen
        with self.wake:
            self.wake.wait_for(lambda: self.stopping.is_set() or gen != self.restart_gen,
                               timeout=seconds)
        return not (self.stopping.is_set() or gen != self.restart_gen)

    def kick(self):
        with self.wake:
            self.wake.notify_all()
        with self.store.cond:
            self.store.cond.notify_all()

    def drop_connections(self, keep):
        """Drop every connection but `keep`, like a process restart."""
        self.kick()
        with self.conn_lock:
            conns = list(self.connections)
        for h in conns:
            if h is not keep:
                h.drop()

    def view(self, stale):
        """(read function source, KnownLeader, LastContact ms) for a read."""
        lag = self.stale["lag"]
        lagging = lag > 0 and (stale or self.stale["always"])
        if self.leader:
            return (lag if lagging else 0), True, \
                (self.stale["last_contact_ms"] if lagging else 0)
        since = int((time.monotonic() - self.leader_lost) * 1000)
        return (lag if lagging else 0), False, since

    def state(self):
        out = {"name": self.name, "url": self.url, "leader": self.leader,
               "stale": dict(self.stale), "blocking": self.blocking,
               "acl": {"enabled": self.acl.enabled, "default": self.acl.default},
               "version": CONSUL_VERSION}
        out.update(self.store.state())
        return out


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Consul"

    def setup(self):
        super().setup()
        inst = self.server.inst
        self.conn_id = next(inst.conn_seq)
        with inst.conn_lock:
            inst.connections.add(self)

    def finish(self):
        inst = self.server.inst
        with inst.conn_lock:
            inst.connections.discard(self)
        try:
            super().finish()
        except OSError:
            pass

    def handle(self):
        if hasattr(self.connection, "do_handshake"):
            try:
                self.connection.settimeout(10)
                self.connection.do_handshake()
                self.connection.settimeout(None)
            except (OSError, ValueError):
                return
        try:
            super().handle()
        except (ConnectionError, OSError, ValueError):
            pass

    def log_message(self, fmt, *args):
        self.server.inst.log("%s %s" % (self.address_string(), fmt % args))

    def do_GET(self):
        self.dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    # ---- plumbing --------------------------------------------------------

    def drop(self):
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def rst(self):
        """Close with a TCP RST (SO_LINGER 0)."""
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.rfile.close()
            self.connection.close()
        except OSError:
            pass
        self.close_connection = True

    def client_gone(self):
        """The client closed its end while we block (Consul cancels the RPC)."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            if not readable:
                return False
            return socket.socket.recv(self.connection, 1, socket.MSG_PEEK) == b""
        except (OSError, ValueError):
            return True

    def read_body(self, limit):
        """The request body, or None when Content-Length is over limit."""
        if not self.body_pending:
            return b""
        self.body_pending = False
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            try:
                return read_chunked(self.rfile)
            except ValueError as e:
                self.close_connection = self.body_pending = True
                raise ConsulError(413, str(e))
        length = int(self.headers.get("Content-Length") or 0)
        if length > limit:
            self.body_pending = True
            return None
        return self.rfile.read(length) if length else b""

    def respond(self, status, body=b"", headers=None, close=False, length=False):
        """Write one answer. Go sends Content-Length for small bodies and
        chunks larger ones unless the handler set a length (length=True)."""
        headers = dict(headers or {})
        chunked = False
        if status in (204, 304) or 100 <= status < 200:
            body = b""
        elif length or len(body) <= CHUNK_AFTER or self.request_version == "HTTP/1.0":
            headers["Content-Length"] = str(len(body))
        else:
            headers["Transfer-Encoding"] = "chunked"
            chunked = True
        headers["Date"] = email.utils.formatdate(usegmt=True)
        self.settle(status)
        if close or self.request_version == "HTTP/1.0":
            headers["Connection"] = "close"
            self.close_connection = True
        self.send_response_only(status)
        for name in sorted(headers):
            self.send_header(name, headers[name])
        self.end_headers()
        if self.command != "HEAD" and body:
            if chunked:
                self.wfile.write(b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))
            else:
                self.wfile.write(body)

    def settle(self, status):
        """Complete the request's log entry before the answer leaves, so
        that a client reading /_emu/requests next finds it whole."""
        self.status = status
        if self.entry is not None:
            self.entry.update(status=status, index=self.index_sent,
                              ms=int((time.monotonic() - self.started) * 1000))

    def wrapped(self, status, body=b"", headers=None, ctype=None, length=False):
        """An answer from one of Consul's registered endpoints (gzip handler,
        wrap's X-Consul-Default-Acl-Policy)."""
        headers = dict(headers or {})
        headers["Vary"] = "Accept-Encoding"
        headers["X-Consul-Default-Acl-Policy"] = self.server.inst.acl.default
        if ctype:
            headers["Content-Type"] = ctype
        if body and "gzip" in self.headers.get("Accept-Encoding", "") and \
                self.command != "HEAD":
            body = gzip.compress(body)
            headers["Content-Encoding"] = "gzip"
            length = False
        self.respond(status, body, headers, length=length)

    def error(self, e):
        self.wrapped(e.status, e.text.encode(), ctype=TEXT if e.text else None)

    # ---- dispatch --------------------------------------------------------

    def dispatch(self):
        inst = self.server.inst
        self.status = None
        self.index_sent = None
        self.entry = None
        self.body_pending = bool(self.headers.get("Content-Length", "0") != "0" or
                                 self.headers.get("Transfer-Encoding"))
        try:
            self.dispatch_one()
        finally:
            if self.body_pending and not self.close_connection:
                # net/http reads a small unread body after the handler, else closes
                if int(self.headers.get("Content-Length") or 0) <= 256 << 10:
                    try:
                        self.read_body(256 << 10)
                    except (OSError, ValueError):
                        self.close_connection = True
                else:
                    self.close_connection = True
            if self.body_pending and self.close_connection:
                self.linger()

    def linger(self):
        """net/http's closeWriteAndWait: half-close after the answer, then wait
        (rstAvoidanceDelay, 500 ms) so that a client still sending the body it
        was refused reads the answer instead of a reset. The unread body is
        drained and dropped while waiting; closing on it would send the RST."""
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_WR)
            deadline = time.monotonic() + 0.5
            while time.monotonic() < deadline:
                ready, _, _ = select.select([self.connection], [], [],
                                            max(0, deadline - time.monotonic()))
                if ready and not socket.socket.recv(self.connection, 65536):
                    break
        except (OSError, ValueError):
            pass

    def dispatch_one(self):
        inst = self.server.inst
        path, raw_query = path_from_target(self.path)
        if path.startswith("/_emu/"):
            return self.control(path, raw_query)
        self.started = time.monotonic()
        values, qerr = parse_query(raw_query)
        entry = self.entry = self.record(path, raw_query, values)
        try:
            self.public(path, raw_query, values, qerr, entry)
        except Aborted:
            self.drop()
            self.close_connection = True
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception:
            inst.log(traceback.format_exc())
            if self.status is None:
                self.respond(500, b"internal emulator error", {"Content-Type": TEXT})
        if self.status is None:             # dropped: no answer was settled
            entry["ms"] = int((time.monotonic() - self.started) * 1000)
        inst.log("%s %s%s %s index=%s %dms%s" % (
            self.command, path, "?" + entry["query"] if entry["query"] else "",
            self.status if self.status is not None else "-", self.index_sent, entry["ms"],
            " fault=" + entry["fault"] if entry["fault"] else ""))

    def token(self, values):
        """parseTokenInternal: ?token=, then X-Consul-Token, then Bearer."""
        q = (values.get("token") or [""])[0]
        if q:
            return q, "query"
        h = self.headers.get("X-Consul-Token") or ""
        if h:
            return h, "header"
        auth = self.headers.get("Authorization") or ""
        parts = auth.split(" ")
        if len(parts) > 1 and parts[0].lower() == "bearer":
            return " ".join(parts[1:]).strip().split(" ")[0].strip(), "bearer"
        return "", "none"

    def record(self, path, raw_query, values):
        inst = self.server.inst
        index = (values.get("index") or [""])[0]
        entry = {"seq": next(inst.request_seq), "time": iso(time.time()),
                 "conn": self.conn_id, "method": self.command, "path": path,
                 "query": raw_query,
                 "params": {k: (["<hidden>"] * len(v) if k == "token" else v)
                            for k, v in values.items()},
                 "headers": {h: self.headers[h] for h in LOGGED_HEADERS
                             if self.headers[h] is not None},
                 "token": self.token(values)[1],
                 "blocking": index not in ("", "0"),
                 "status": None, "index": None, "timeout_ms": None, "blocked_ms": 0,
                 "ms": None,
                 "fault": None}
        if "token=" in raw_query:
            entry["query"] = "&".join("token=<hidden>" if p.startswith("token=") else p
                                      for p in raw_query.split("&"))
        inst.requests.append(entry)
        return entry

    # ---- faults ----------------------------------------------------------

    def fault(self, fault, entry):
        """Apply an injected fault; True when it replaces the answer."""
        inst = self.server.inst
        kind = fault["kind"]
        entry["fault"] = kind
        if kind == "delay":
            if not inst.sleep(fault.get("seconds", 1)):
                raise Aborted()
            return False
        if kind == "hang":
            inst.sleep(fault.get("seconds", 3600))
            raise Aborted()
        if kind == "reset":
            self.rst()
        elif kind == "reset-during-block":
            with inst.store.cond:
                inst.blocking += 1
            try:
                inst.sleep(fault.get("seconds", 1))
            finally:
                with inst.store.cond:
                    inst.blocking -= 1
            self.rst()
        elif kind == "status":
            status = int(fault.get("status", 500))
            body = fault.get("body", DEFAULT_FAULT_BODY.get(status, ""))
            headers = dict(fault.get("headers") or {})
            if body:
                headers.setdefault("Content-Type", TEXT)
            if fault.get("consul_headers", True):
                self.wrapped(status, body.encode(), headers)
            else:
                self.respond(status, body.encode(), headers)
        elif kind == "garbage":
            body = fault.get("body", '[{"LockIndex":0,"Key":"\x00<html>garbage{{{').encode()
            headers = {"Content-Type": "application/json"}
            if fault.get("consul_headers", True):
                with inst.store.cond:
                    idx = max(inst.store.kvs_idx, inst.store.tomb_idx, 1)
                headers.update({"X-Consul-Index": str(idx), "X-Consul-Knownleader": "true",
                                "X-Consul-Lastcontact": "0"})
                self.wrapped(200, body, headers)
            else:
                self.respond(200, body, headers)
        elif kind == "not-consul-404":
            self.respond(404, fault.get("body", "404 page not found\n").encode(),
                         {"Content-Type": TEXT, "X-Content-Type-Options": "nosniff"})
        return True

    # ---- the public API --------------------------------------------------

    def public(self, path, raw_query, values, qerr, entry):
        inst = self.server.inst
        blocking = entry["blocking"]
        fault = inst.faults.take(self.command, path, blocking=blocking)
        if fault and self.fault(fault, entry):
            return
        if not printable(path):                 # cleanhttp: 400, no body
            return self.respond(400)
        cleaned = clean_path(path)
        if path == "/v1/kv":
            cleaned = "/v1/kv/"
        if cleaned != path:                     # ServeMux redirect
            location = quote(encode_str(cleaned), safe="/:@!$&'()*+,;=-._~") + \
                ("?" + raw_query if raw_query else "")
            body = b""
            headers = {"Location": location}
            if self.command in ("GET", "HEAD"):
                body = b'<a href="%s">Moved Permanently</a>.\n\n' % location.encode()
                headers["Content-Type"] = "text/html; charset=utf-8"
            return self.respond(301, body, headers)
        if path.startswith("/v1/kv/"):
            return self.endpoint(KV_METHODS, qerr, lambda: self.kv(path[len("/v1/kv/"):],
                                                                 values, entry))
        if path in ("/v1/status/leader", "/v1/status/peers"):
            return self.endpoint(("GET",), qerr, lambda: self.status_endpoint(path, values))
        if path == "/v1/agent/self":
            return self.endpoint(("GET",), qerr, lambda: self.agent_self(values))
        if path == "/":
            return self.respond(200, b"Consul Agent: UI disabled. To enable, set "
                                b"ui_config.enabled=true in the agent configuration "
                                b"and restart.", {"Content-Type": TEXT})
        text = "Invalid URL path: not a recognized HTTP API endpoint\n" if "/v1/" in path \
            else "Invalid URL path: if attempting to use the HTTP API, ensure the path " \
                 "starts with '/v1/'\n"
        self.respond(404, text.encode(), {"Content-Type": TEXT})

    def endpoint(self, methods, qerr, handler):
        """wrap(): bad query → 500, OPTIONS, 405, then the handler."""
        if qerr:
            return self.wrapped(500)
        allow = ",".join(("OPTIONS",) + methods)
        if self.command == "OPTIONS":
            return self.wrapped(200, headers={"Allow": allow})
        if self.command not in methods:
            return self.wrapped(405, ("method %s not allowed" % self.command).encode(),
                                {"Allow": allow}, ctype=TEXT)
        try:
            handler()
        except ConsulError as e:
            self.error(e)
        except AclError as e:
            self.error(ConsulError(403, str(e)))

    def parse(self, values):
        """s.parse(): dc, token, consistency, wait and index."""
        inst = self.server.inst
        q = {"dc": (values.get("dc") or [""])[0] or inst.opts.datacenter}
        q["token"] = self.token(values)[0]
        q["stale"] = "stale" in values
        q["consistent"] = "consistent" in values
        max_stale = (values.get("max_stale") or [""])[0]
        if max_stale:
            try:
                if parse_duration(max_stale) > 0:
                    q["stale"] = True
            except ValueError:
                raise ConsulError(400, "Invalid max_stale value %s" % json.dumps(max_stale))
        if q["stale"] and q["consistent"]:
            raise ConsulError(400, "Cannot specify ?stale with ?consistent, conflicting "
                                   "semantics.")
        wait = (values.get("wait") or [""])[0]
        q["wait"] = None
        if wait:
            try:
                q["wait"] = parse_duration(wait)
            except ValueError:
                raise ConsulError(400, "Invalid wait time")
        index = (values.get("index") or [""])[0]
        q["index"] = 0
        if index:
            try:
                q["index"] = parse_uint(index)
            except ValueError:
                raise ConsulError(400, "Invalid index")
        return q

    def rpc(self, q, write=False):
        """What happens before the server runs the request: datacenter,
        leader (stale reads need none), token resolution."""
        inst = self.server.inst
        if q["dc"] != inst.opts.datacenter:
            raise ConsulError(500, "No path to datacenter")
        if not inst.leader and (write or not q["stale"]):
            raise ConsulError(500, inst.no_leader_text)
        return inst.acl.resolve(q["token"])

    def meta_headers(self, index, known, last, filtered=False):
        self.index_sent = max(index, 1)
        headers = {"X-Consul-Index": str(self.index_sent),
                   "X-Consul-Knownleader": "true" if known else "false",
                   "X-Consul-Lastcontact": str(last),
                   "X-Consul-Query-Backend": "blocking-query"}
        if filtered:
            headers["X-Consul-Results-Filtered-By-Acls"] = "true"
        return headers

    # ---- /v1/kv ----------------------------------------------------------

    def kv(self, key, values, entry):
        q = self.parse(values)
        if self.command == "GET":
            if "keys" in values:
                return self.kv_keys(key, values, q, entry)
            return self.kv_get(key, values, q, entry)
        if self.command == "PUT":
            return self.kv_put(key, values, q)
        return self.kv_delete(key, values, q)

    def conflicting(self, values, *flags):
        if sum(1 for f in flags if f in values) > 1:
            raise ConsulError(400, "Conflicting flags: %s\n" % values_encode(values))

    def block(self, q, op, kb, entry):
        """blockingQuery(): run, and while the result's index is not above
        the client's, wait for a watch to fire, the store to be abandoned
        or the deadline (then the last result is the answer)."""
        inst = self.server.inst
        store = inst.store
        lag, known, last = inst.view(q["stale"])

        def run():
            if lag:
                return getattr(store.follower_view(lag), op)(kb, [store.commit_watch])
            return getattr(store, op)(kb)

        with store.cond:
            res = run()
            min_index = q["index"]
            if min_index == 0:
                return res, known, last
            timeout = inst.query_timeout(q["wait"])
            entry["timeout_ms"] = int(timeout * 1000)
            deadline = time.monotonic() + timeout
            abandon = store.abandon
            gen = inst.restart_gen
            started = time.monotonic()
            not_found = False
            inst.blocking += 1
            try:
                while True:
                    if res.not_found:
                        if not_found:
                            min_index = res.index
                        not_found = True
                    if res.index > min_index:
                        break
                    fired = False
                    while not fired:
                        if inst.stopping.is_set() or gen != inst.restart_gen:
                            raise Aborted()
                        if abandon.closed:
                            return res, known, last
                        now = time.monotonic()
                        if now >= deadline:
                            return res, known, last
                        if self.client_gone():
                            raise Aborted()
                        store.cond.wait(min(deadline - now, 0.2))
                        fired = any(w.closed for w in res.watches)
                    if abandon.closed:
                        return res, known, last
                    res = run()
                return res, known, last
            finally:
                inst.blocking -= 1
                entry["blocked_ms"] = int((time.monotonic() - started) * 1000)

    def kv_get(self, key, values, q, entry):
        inst = self.server.inst
        recurse = "recurse" in values
        if not recurse and key == "":
            raise ConsulError(400, "Missing key name")
        token = self.rpc(q)
        kb = encode_str(key)
        if not recurse and not inst.acl.can_read(token, key):
            raise inst.acl.denied(token, "read", key)
        res, known, last = self.block(q, "list" if recurse else "get", kb, entry)
        entries = res.entries
        filtered = False
        if recurse and token is not None:
            entries = [e for e in entries if inst.acl.can_read(token, e.key)]
            filtered = len(entries) != len(res.entries) and q["token"] != ""
        headers = self.meta_headers(res.index, known, last, filtered)
        if not entries:
            return self.wrapped(404, b"", headers)
        if "raw" in values and not recurse:
            value = entries[0].value or b""
            headers.update({"X-Content-Type-Options": "nosniff",
                            "Content-Security-Policy": "sandbox"})
            return self.wrapped(200, value, headers, ctype="text/plain", length=True)
        body = marshal([e.json() for e in entries], self.pretty(values))
        self.wrapped(200, body, headers, ctype="application/json")

    def pretty(self, values):
        return "pretty" in values or self.server.inst.opts.dev

    def kv_keys(self, prefix, values, q, entry):
        inst = self.server.inst
        sep = ""
        if "seperator" in values:                   # the historic spelling
            sep = values["seperator"][0]
        if "separator" in values:
            sep = values["separator"][0]
        token = self.rpc(q)
        kb = encode_str(prefix)
        res, known, last = self.block(q, "list", kb, entry)
        entries = res.entries
        filtered = False
        if token is not None:
            entries = [e for e in entries if inst.acl.can_read(token, e.key)]
            filtered = len(entries) != len(res.entries) and q["token"] != ""
        keys, seen = [], set()
        for e in entries:
            if not sep:
                keys.append(e.key)
                continue
            at = e.key.find(sep, len(prefix))
            if at < 0:
                keys.append(e.key)
            else:
                k = e.key[:at + len(sep)]
                if k not in seen:
                    seen.add(k)
                    keys.append(k)
        headers = self.meta_headers(res.index, known, last, filtered)
        if not keys and prefix != "":
            return self.wrapped(404, b"", headers)
        self.wrapped(200, marshal(keys, self.pretty(values)), headers,
                     ctype="application/json")

    def kv_put(self, key, values, q):
        inst = self.server.inst
        if key == "":
            raise ConsulError(400, "Missing key name")
        self.conflicting(values, "cas", "acquire", "release")
        flags = 0
        cas = None
        try:
            if "flags" in values:
                flags = parse_uint(values["flags"][0])
            if "cas" in values:
                cas = parse_uint(values["cas"][0])
        except ValueError as e:
            raise ConsulError(500, str(e))
        limit = inst.opts.kv_max_value_size
        body = self.read_body(limit)
        if body is None or len(body) > limit:
            n = int(self.headers.get("Content-Length") or 0) if body is None else len(body)
            self.close_connection = body is None
            raise ConsulError(413, "Request body(%d bytes) too large, max size: %d bytes. "
                                   "See https://developer.hashicorp.com/docs/agent/config/"
                                   "config-files#kv_max_value_size." % (n, limit))
        token = self.rpc(q, write=True)
        if not inst.acl.can_write(token, key):
            raise inst.acl.denied(token, "write", key)
        kb = encode_str(key)
        if "acquire" in values or "release" in values:
            session = (values.get("acquire") or values.get("release"))[0]
            inst.store.noop()
            if not session:
                raise ConsulError(500, "missing session")
            if "acquire" in values:                 # no session ever exists here
                raise ConsulError(500, "invalid session %s" % json.dumps(session))
            ok = False
        else:
            ok = inst.store.set(kb, body, flags, cas)
        self.wrapped(200, b"true" if ok else b"false", ctype="application/json")

    def kv_delete(self, key, values, q):
        inst = self.server.inst
        self.read_body(inst.opts.kv_max_value_size)
        self.conflicting(values, "recurse", "cas")
        recurse = "recurse" in values
        if not recurse and key == "":
            raise ConsulError(400, "Missing key name")
        cas = None
        if "cas" in values:
            try:
                cas = parse_uint(values["cas"][0])
            except ValueError as e:
                raise ConsulError(500, str(e))
        token = self.rpc(q, write=True)
        kb = encode_str(key)
        if recurse:
            if not inst.acl.can_write_prefix(token, key):
                raise inst.acl.denied(token, "write", key)
            ok = inst.store.delete_tree(kb)
        else:
            if not inst.acl.can_write(token, key):
                raise inst.acl.denied(token, "write", key)
            ok = inst.store.delete(kb, cas)
        self.wrapped(200, b"true" if ok else b"false", ctype="application/json")

    # ---- /v1/status, /v1/agent/self ----------------------------------------

    def status_endpoint(self, path, values):
        inst = self.server.inst
        if path.endswith("/leader"):
            body = marshal(RAFT_ADDR if inst.leader else "", self.pretty(values))
        else:
            body = marshal([RAFT_ADDR], self.pretty(values))
        self.wrapped(200, body, ctype="application/json")

    def agent_self(self, values):
        inst = self.server.inst
        q = self.parse(values)
        inst.acl.resolve(q["token"])
        body = {"Config": {"Datacenter": inst.opts.datacenter, "NodeName": inst.name,
                           "NodeID": "00000000-0000-0000-0000-00000000e001",
                           "Server": True, "Revision": "emulator",
                           "Version": CONSUL_VERSION, "PrimaryDatacenter":
                           inst.opts.datacenter},
                "DebugConfig": {}, "Coord": None,
                "Member": {"Name": inst.name, "Addr": "127.0.0.1", "Port": 8301,
                           "Tags": {"role": "consul", "dc": inst.opts.datacenter,
                                    "build": CONSUL_VERSION + ":emulator"},
                           "Status": 1},
                "Stats": {}, "Meta": {}, "xDS": None}
        self.wrapped(200, marshal(body, self.pretty(values)), ctype="application/json")

    # ---- /_emu -----------------------------------------------------------

    def control(self, path, raw_query):
        inst = self.server.inst
        try:
            body = self.read_body(64 << 20) or b""
            data = json.loads(body) if body.strip() else {}
            if not isinstance(data, dict):
                raise ValueError("want a JSON object")
            status, out = self.control_route(path, raw_query, data)
        except ConsulError as e:
            status, out = e.status, {"message": e.text}
        except (ValueError, KeyError, TypeError) as e:
            status, out = 400, {"message": "bad control request: %s" % e}
        if path == "/_emu/index-reset" and status == 200 and data.get("mode") == "restart":
            inst.drop_connections(self)     # before answering: the caller then sees them gone
        if isinstance(out, bytes):
            return self.respond(status, out, {"Content-Type": "application/x-ndjson"})
        self.respond(status, json.dumps(out).encode(), {"Content-Type": "application/json"})

    def control_route(self, path, raw_query, data):
        inst = self.server.inst
        store = inst.store
        method = self.command
        if path == "/_emu/state" and method == "GET":
            return 200, inst.state()
        if path == "/_emu/kv" and method == "GET":
            return 200, store.dump()
        routed = control_route(method, path, raw_query, data, inst.faults, inst.requests,
                               lambda e: json.dumps(e).encode())
        if routed is not None:
            if path == "/_emu/fault" and routed[0] == 200:
                inst.log("fault added: %s" % json.dumps(routed[1]))
            return routed
        if path == "/_emu/index-reset" and method == "POST":
            to = int(data["to"])
            if to < 1:
                raise ConsulError(400, "to must be at least 1")
            mode = data.get("mode", "restore")
            if mode not in ("restore", "restart"):
                raise ConsulError(400, "mode must be restore or restart")
            with store.cond:
                if mode == "restart":       # in-flight requests die, not answer
                    inst.restart_gen += 1
                store.reset(to, bool(data.get("wipe")))
            return 200, inst.state()
        if path == "/_emu/tombstone-reap" and method == "POST":
            upto = data.get("index")
            reaped = store.reap(None if upto is None else int(upto))
            return 200, {"reaped": reaped, "index": store.raft}
        if path == "/_emu/stale":
            if method == "POST":
                lag = int(data.get("lag", 0))
                if lag < 0:
                    raise ConsulError(400, "lag must be >= 0")
                with store.cond:
                    inst.stale = {"lag": lag, "always": bool(data.get("always", False)),
                                  "last_contact_ms": int(data.get("last_contact_ms", 100))}
                    store.cond.notify_all()
            elif method == "DELETE":
                inst.stale = {"lag": 0, "always": False, "last_contact_ms": 100}
            return 200, dict(inst.stale)
        if path == "/_emu/leader":
            if method == "POST":
                leader = bool(data.get("leader", True))
                if leader != inst.leader:
                    inst.leader_lost = None if leader else time.monotonic()
                inst.leader = leader
                inst.no_leader_text = data.get("message", "No cluster leader")
                inst.log("leader: %s" % ("yes" if leader else "none"))
            return 200, {"leader": inst.leader, "message": inst.no_leader_text}
        raise ConsulError(404, "no control route %s %s" % (method, path))


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128
