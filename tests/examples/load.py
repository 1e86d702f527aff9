#!/usr/bin/python3
# See COPYING for copyright and license details.
"""A load client for the demo: GET URL over and over from THREADS threads
(a new connection each time, as most clients through a load balancer),
until SIGTERM or SIGINT. Then writes to FILE one line "REQUESTS FAILED"
and one line per value of the response's KEY: line ("COUNT VALUE"), in
the order the values were first seen, and exits 0.

    load.py URL FILE [KEY] [THREADS]

A failed request is a connection error, a timeout (10 s: more than HAProxy's 3 tries of 3 s) or a status
other than 200; each kind is counted on stderr."""
import http.client
import os
import signal
import sys
import threading
import urllib.parse


def main(argv):
    url, out = argv[0], argv[1]
    key = (argv[2] if len(argv) > 2 else "GREETING") + ": "
    threads = int(argv[3]) if len(argv) > 3 else 4
    u = urllib.parse.urlsplit(url)
    stop = threading.Event()
    lock = threading.Lock()
    counts = {"requests": 0, "failed": 0}
    values = {}
    errors = {}

    def worker():
        while not stop.is_set():
            value, err = None, None
            try:
                conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
                conn.request("GET", u.path or "/", headers={"Connection": "close"})
                resp = conn.getresponse()
                body = resp.read().decode("utf-8", "replace")
                conn.close()
                if resp.status != 200:
                    err = "HTTP %d" % resp.status
                else:
                    for line in body.splitlines():
                        if line.startswith(key):
                            value = line[len(key):]
            except (OSError, http.client.HTTPException) as e:
                err = "%s: %s" % (type(e).__name__, e)
            with lock:
                counts["requests"] += 1
                if err:
                    counts["failed"] += 1
                    errors[err] = errors.get(err, 0) + 1
                else:
                    values[value] = values.get(value, 0) + 1

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    pool = [threading.Thread(target=worker, daemon=True) for _ in range(threads)]
    for t in pool:
        t.start()
    while not stop.wait(3600):
        pass
    for t in pool:
        t.join(10)
    with open(out + ".tmp", "w") as f:
        f.write("%d %d\n" % (counts["requests"], counts["failed"]))
        for value, n in values.items():
            f.write("%d %s\n" % (n, value))
    for err, n in errors.items():
        print("load.py: %d times: %s" % (n, err), file=sys.stderr, flush=True)
    os.rename(out + ".tmp", out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
