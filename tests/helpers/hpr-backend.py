#!/usr/bin/python3
# See COPYING for copyright and license details.
"""A tiny, fast HTTP/1.1 backend for the haproxy-reload tests and benchmark.

    hpr-backend.py PORT [READY-FILE]

Listens on 127.0.0.1:PORT (one thread, selectors, keep-alive capable), answers every
request with 200 and the body "ok from PORT\\n"; closes the connection
after the answer when the request says "Connection: close" (or is
HTTP/1.0 without keep-alive). Writes READY-FILE once it listens. Runs
until SIGTERM. Request bodies (Content-Length) are read and dropped.
"""
import os
import selectors
import signal
import socket
import sys

PORT = int(sys.argv[1])
BODY = b"ok from %d\n" % PORT
HEAD = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
        b"Content-Length: %d\r\n" % len(BODY))
KEEP = HEAD + b"\r\n" + BODY
CLOSE = HEAD + b"Connection: close\r\n\r\n" + BODY
MAX_HEAD = 64 * 1024


class Conn:
    """One client connection: parse requests, queue answers."""

    def __init__(self, sock):
        self.s = sock
        self.buf = b""
        self.out = b""
        self.skip = 0
        self.closing = False

    def feed(self, data):
        self.buf += data
        while not self.closing:
            if self.skip:
                n = min(self.skip, len(self.buf))
                self.buf, self.skip = self.buf[n:], self.skip - n
                if self.skip:
                    return
            i = self.buf.find(b"\r\n\r\n")
            if i < 0:
                if len(self.buf) > MAX_HEAD:
                    self.closing = True
                return
            head, self.buf = self.buf[:i].lower(), self.buf[i + 4:]
            lines = head.split(b"\r\n")
            close = (b"connection: close" in head or
                     (lines[0].endswith(b"http/1.0") and
                      b"connection: keep-alive" not in head))
            for line in lines[1:]:
                if line.startswith(b"content-length:"):
                    try:
                        self.skip = int(line.split(b":", 1)[1])
                    except ValueError:
                        self.closing = True
                        return
            self.out += CLOSE if close else KEEP
            if close:
                self.closing = True


def main():
    # SIGTERM keeps its default action: the backend dies at once (a
    # handler would only run after select() returned).
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", PORT))
    srv.listen(1024)
    srv.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(srv, selectors.EVENT_READ, None)
    if len(sys.argv) > 2:
        with open(sys.argv[2] + ".tmp", "w") as f:
            f.write("%d\n" % os.getpid())
        os.rename(sys.argv[2] + ".tmp", sys.argv[2])

    def drop(c):
        sel.unregister(c.s)
        c.s.close()

    while True:
        try:
            events = sel.select(1.0)
        except InterruptedError:
            continue
        for key, mask in events:
            if key.data is None:
                for _ in range(64):
                    try:
                        cs, _ = srv.accept()
                    except (BlockingIOError, InterruptedError):
                        break
                    except OSError:
                        break
                    cs.setblocking(False)
                    sel.register(cs, selectors.EVENT_READ, Conn(cs))
                continue
            c = key.data
            try:
                if mask & selectors.EVENT_READ:
                    d = c.s.recv(65536)
                    if not d:
                        drop(c)
                        continue
                    c.feed(d)
                if c.out:
                    n = c.s.send(c.out)
                    c.out = c.out[n:]
            except (BlockingIOError, InterruptedError):
                pass
            except OSError:
                drop(c)
                continue
            if c.out:
                sel.modify(c.s, selectors.EVENT_READ | selectors.EVENT_WRITE, c)
            elif c.closing:
                drop(c)
            elif mask & selectors.EVENT_WRITE:
                sel.modify(c.s, selectors.EVENT_READ, c)


main()
