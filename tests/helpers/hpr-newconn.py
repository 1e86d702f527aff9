#!/usr/bin/python3
# See COPYING for copyright and license details.
"""Closed-loop HTTP load with a new TCP connection per request.

    hpr-newconn.py [-H HOST] [-p PORT] [-d SECONDS] [-c CONCURRENCY]
                   [-t TIMEOUT] [--path PATH] [--raw FILE] [--ready FILE]

CONCURRENCY workers each loop for SECONDS: connect(), send
"GET PATH HTTP/1.1" with "Connection: close", read the answer to EOF.
connect() and the whole request are timed separately (the request time
includes the connect, so dropped SYNs show up as >= 1 s). A request
fails when it errs (refused, reset, timeout, empty or non-200 answer);
connect errors are the failures that happened before the connection was
up. Prints one JSON line on stdout:

  {"requests": N, "ok": N, "failed": N, "connect_errors": N,
   "slow_1s": N, "errors": {"kind": N}, "rps": R,
   "p50_ms": .., "p90_ms": .., "p99_ms": .., "max_ms": ..,
   "connect_p50_ms": .., "connect_p99_ms": .., "connect_max_ms": ..,
   "duration_s": D, "concurrency": C}

slow_1s counts successful requests that took 1 s or more; latency
figures are over successful requests. --raw writes one line per request
(start offset s, connect s, total s, outcome). --ready is written when
the load starts. Exit 0 unless the arguments are wrong (2).
Python 3 standard library only.
"""
import argparse
import asyncio
import json
import os
import sys
import time

import outcome


def parse():
    p = argparse.ArgumentParser(prog="hpr-newconn.py")
    p.add_argument("-H", "--host", default="127.0.0.1")
    p.add_argument("-p", "--port", type=int, default=8080)
    p.add_argument("-d", "--duration", type=float, default=5.0)
    p.add_argument("-c", "--concurrency", type=int, default=10)
    p.add_argument("-t", "--timeout", type=float, default=5.0)
    p.add_argument("--path", default="/")
    p.add_argument("--raw")
    p.add_argument("--ready")
    a = p.parse_args()
    if a.duration <= 0 or a.concurrency < 1 or a.timeout <= 0:
        p.error("duration, concurrency and timeout must be positive")
    return a


A = parse()
REQ = ("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n"
       % (A.path, A.host)).encode()
T0 = time.monotonic()
results = []  # (start offset, connect s or None, total s, outcome)


async def one():
    t0 = time.monotonic()
    tc = None
    w = None
    phase = "connect"

    async def go():
        nonlocal w, phase, tc
        r, w = await asyncio.open_connection(A.host, A.port)
        tc = time.monotonic() - t0
        phase = "read"
        w.write(REQ)
        return await r.read()

    try:
        oc = outcome.answer(await asyncio.wait_for(go(), A.timeout))
    except (asyncio.TimeoutError, OSError) as e:
        oc = outcome.error(e, phase)
    finally:
        if w is not None:
            w.close()
    results.append((t0 - T0, tc, time.monotonic() - t0, oc))


async def worker(end):
    while time.monotonic() < end:
        await one()


async def main():
    end = time.monotonic() + A.duration
    if A.ready:
        with open(A.ready + ".tmp", "w") as f:
            f.write("%d\n" % os.getpid())
        os.rename(A.ready + ".tmp", A.ready)
    await asyncio.gather(*(worker(end) for _ in range(A.concurrency)))


def pct(xs, p):
    ms = outcome.percentile_ms(xs, p)
    return None if ms is None else round(ms, 2)


asyncio.run(main())
elapsed = time.monotonic() - T0
ok = sorted(t for _, _, t, o in results if o == "ok")
conn = sorted(c for _, c, _, o in results if c is not None)
errors = {}
for _, _, _, o in results:
    if o != "ok":
        errors[o] = errors.get(o, 0) + 1
summary = {
    "requests": len(results),
    "ok": len(ok),
    "failed": len(results) - len(ok),
    "connect_errors": sum(n for k, n in errors.items()
                          if k.endswith("_connect")),
    "slow_1s": sum(1 for t in ok if t >= 1.0),
    "errors": dict(sorted(errors.items())),
    "rps": round(len(results) / elapsed, 1) if elapsed > 0 else 0,
    "p50_ms": pct(ok, 50), "p90_ms": pct(ok, 90), "p99_ms": pct(ok, 99),
    "max_ms": round(ok[-1] * 1000, 2) if ok else None,
    "connect_p50_ms": pct(conn, 50), "connect_p99_ms": pct(conn, 99),
    "connect_max_ms": round(conn[-1] * 1000, 2) if conn else None,
    "duration_s": round(elapsed, 3),
    "concurrency": A.concurrency,
}
print(json.dumps(summary))
sys.stdout.flush()
if A.raw:
    with open(A.raw, "w") as f:
        for t, c, tot, o in results:
            f.write("%.4f\t%s\t%.4f\t%s\n"
                    % (t, "-" if c is None else "%.4f" % c, tot, o))
