# See COPYING for copyright and license details.
"""What the emulators share: the port file, the fault table and the
/_emu routes for faults and the request log, request bodies, and (for
their tests) the emulator process and polling with a deadline."""
import fnmatch
import http.client
import os
import shutil
import signal
import ssl
import subprocess
import tempfile
import threading
import time


def write_port_file(path, port):
    """The port and a newline, atomically (temp file + rename)."""
    tmp = "%s.%d.tmp" % (path, os.getpid())
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.rename(tmp, path)


class Faults:
    """Injected faults: {"path": GLOB, "method": M, "count": N, ...}.
    The first fault whose path, method and every extra matcher fit acts;
    count (1 unless given, None = forever) counts down."""

    def __init__(self, kinds, matchers=()):
        self.kinds = tuple(kinds)
        self.matchers = tuple(matchers)     # keys compared with take()'s facts
        self.items = []
        self.lock = threading.Lock()

    def add(self, fault):
        fault = dict(fault)
        fault.setdefault("count", 1)
        with self.lock:
            self.items.append(fault)
        return fault

    def list(self):
        with self.lock:
            return [dict(f) for f in self.items]

    def clear(self):
        with self.lock:
            self.items.clear()

    def take(self, method, path, **facts):
        with self.lock:
            for fault in self.items:
                if fault.get("method") not in (None, method):
                    continue
                if any(fault.get(k) is not None and fault[k] != facts.get(k)
                       for k in self.matchers):
                    continue
                if not fnmatch.fnmatchcase(path, fault.get("path", "*")):
                    continue
                if fault.get("count") is not None:
                    fault["count"] -= 1
                    if fault["count"] <= 0:
                        self.items.remove(fault)
                return dict(fault)
        return None


def control_route(method, path, query, data, faults, requests, encode):
    """GET/DELETE /_emu/requests[?format=ndjson], POST /_emu/fault,
    GET/DELETE /_emu/faults: (status, body) or None for other paths.
    encode(obj) gives one ndjson line's bytes (without the newline)."""
    if path == "/_emu/requests":
        if method == "DELETE":
            requests.clear()
            return 200, {}
        entries = list(requests)
        if "format=ndjson" in query:
            return 200, b"".join(encode(e) + b"\n" for e in entries)
        return 200, entries
    if path == "/_emu/faults" and method == "GET":
        return 200, faults.list()
    if path == "/_emu/faults" and method == "DELETE":
        faults.clear()
        return 200, {}
    if path == "/_emu/fault" and method == "POST":
        if data.get("kind") not in faults.kinds:
            return 400, {"message": "kind must be one of " + ", ".join(faults.kinds)}
        return 200, faults.add(data)
    return None


def read_chunked(rfile, limit=64 << 20):
    """A chunked request body; ValueError past limit bytes."""
    parts, size = [], 0
    while True:
        n = int(rfile.readline().split(b";")[0], 16)
        if n == 0:
            while rfile.readline() not in (b"\r\n", b"\n", b""):
                pass
            return b"".join(parts)
        size += n
        if size > limit:
            raise ValueError("request body over %d bytes" % limit)
        parts.append(rfile.read(n))
        rfile.readline()


def wait_for(predicate, timeout=10.0, interval=0.05, what="condition"):
    """Poll until predicate() is truthy; returns its value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %ss waiting for %s" % (timeout, what))
        time.sleep(interval)


class EmuProcess:
    """One emulator process on an ephemeral port, for tests: started with
    --port-file, stopped with SIGTERM (SIGKILL after 15 s)."""

    def __init__(self, emulator, args, scratch=None, prefix="emu-test-"):
        self.dir = scratch or tempfile.mkdtemp(prefix=prefix)
        self.own_dir = scratch is None
        args = self.arguments(list(args))
        port_file = os.path.join(self.dir, "port.%d" % time.monotonic_ns())
        self.log = os.path.join(self.dir, "emu.log")
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(["/usr/bin/python3", emulator, "--port-file",
                                          port_file] + args,
                                         stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        deadline = time.monotonic() + 10
        while not os.path.exists(port_file):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("emulator did not start:\n" + open(self.log).read())
            time.sleep(0.02)
        self.port = int(open(port_file).read())
        self.tls = "--tls-cert" in args
        self.url = "%s://127.0.0.1:%d" % ("https" if self.tls else "http", self.port)

    def arguments(self, args):
        """Hook: the emulator's arguments after --port-file."""
        return args

    def connect(self, timeout=10):
        if self.tls:
            return http.client.HTTPSConnection("127.0.0.1", self.port, timeout=timeout,
                                               context=ssl._create_unverified_context())
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)
        return self.proc.returncode
