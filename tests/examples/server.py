#!/usr/bin/python3
# See COPYING for copyright and license details.
"""The example service (the article's test-server, in Python): answers
every path with its environment, /healthcheck with 200 (503 once it is
stopping). It listens on PORT0 (Marathon's host port; with BRIDGE
networking and containerPort 0 the container port is the same), else 3000.

On SIGTERM it fails its health check at once, goes on serving for
DRAIN_SECONDS (default 5) so that the load balancer can take it out of
rotation without a failed request, then exits 0."""
import http.server
import os
import signal
import sys
import threading

stopping = threading.Event()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "test-server"
    timeout = 2     # an idle keep-alive connection ends after this (a stop waits for it)

    def log_message(self, *args):
        pass

    def reply(self, status, text):
        body = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        if stopping.is_set():
            # Draining: no connection outlives its request.
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self):
        if self.path == "/healthcheck":
            if stopping.is_set():
                self.reply(503, "Stopping\n")
            else:
                self.reply(200, "Test server is working\n")
            return
        env = "".join("%s: %s\n" % kv for kv in sorted(os.environ.items()))
        self.reply(200, "It works! pid %d. Environment:\n========================\n%s"
                   % (os.getpid(), env))

    do_HEAD = do_GET


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = False      # server_close() waits for the requests in flight

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


def main():
    port = int(os.environ.get("PORT0") or 3000)
    drain = float(os.environ.get("DRAIN_SECONDS") or 5)
    srv = Server(("", port), Handler)

    def term(*_):
        stopping.set()
        threading.Timer(drain, srv.shutdown).start()

    signal.signal(signal.SIGTERM, term)
    signal.signal(signal.SIGINT, term)
    print("test-server: listening on %d" % port, flush=True)
    srv.serve_forever(0.1)
    srv.server_close()
    print("test-server: stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
