# See COPYING for copyright and license details.
#
# tests/bench/haproxy-reload-client.py: the new-connection-per-request
# load of tests/bench/haproxy-reload.sh. Open loop: a new request starts
# every 1/RATE s whatever the earlier ones are doing (a stalled connect
# does not slow the load down, so the stalls are counted, not hidden).
# Each request: connect() (timed on its own), "GET / HTTP/1.1" with
# "Connection: close", read to EOF, expect "HTTP/1.x 200". Latency is
# from the connect() call to EOF, so a dropped SYN shows up as >= 1 s.
#
#   haproxy-reload-client.py HOST PORT RATE MAX_SECONDS TIMEOUT OUT.json [RAW]
#
# Runs until SIGTERM or SIGINT (or MAX_SECONDS), then lets the requests
# in flight finish (each is bounded by TIMEOUT seconds) and writes a JSON
# summary to OUT.json; with RAW, also one line per request there: start
# (Unix time, s), connect time (s, "-" when it did not connect), total
# time (s), outcome.
import asyncio
import json
import os
import resource
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "helpers"))
import outcome  # noqa: E402

HOST, PORT = sys.argv[1], int(sys.argv[2])
RATE, MAXSEC, TMO, OUT = float(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]), sys.argv[6]
RAW = sys.argv[7] if len(sys.argv) > 7 else None
REQ = b"GET / HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n"
MAX_INFLIGHT = 8000

soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

done = []          # (total latency, connect time, outcome, start wall time)
skipped = 0        # ticks not started because MAX_INFLIGHT were in flight


async def one(loop):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setblocking(False)
    w0 = time.time()
    t0 = time.monotonic()
    tc = None
    phase = "connect"
    try:
        async def go():
            nonlocal tc, phase
            await loop.sock_connect(s, (HOST, PORT))
            tc = time.monotonic()
            phase = "read"
            await loop.sock_sendall(s, REQ)
            data = b""
            while len(data) < 65536:
                d = await loop.sock_recv(s, 65536)
                if not d:
                    break
                data += d
            return data
        oc = outcome.answer(await asyncio.wait_for(go(), TMO))
    except (asyncio.TimeoutError, OSError) as e:
        oc = outcome.error(e, phase)
    finally:
        s.close()
    t1 = time.monotonic()
    done.append((t1 - t0, (tc - t0) if tc is not None else None, oc, w0))


async def main():
    global skipped
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    tasks = set()
    start = time.monotonic()
    n = 0
    while not stop.is_set():
        now = time.monotonic()
        if now - start >= MAXSEC:
            break
        due = int((now - start) * RATE) + 1
        while n < due:
            n += 1
            if len(tasks) >= MAX_INFLIGHT:
                skipped += 1
                continue
            t = loop.create_task(one(loop))
            tasks.add(t)
            t.add_done_callback(tasks.discard)
        try:
            await asyncio.wait_for(stop.wait(), (n / RATE) - (time.monotonic() - start))
        except asyncio.TimeoutError:
            pass
    elapsed = time.monotonic() - start
    if tasks:
        await asyncio.wait(tasks)
    return elapsed


elapsed = asyncio.run(main())


pct = outcome.percentile_ms


ok = sorted(lat for lat, _, oc, _ in done if oc == "ok")
conn = sorted(c for _, c, _, _ in done if c is not None)
kinds = {}
for _, _, oc, _ in done:
    if oc != "ok":
        kinds[oc] = kinds.get(oc, 0) + 1
summary = {
    "seconds": round(elapsed, 3),
    "requests": len(done),
    "ok": len(ok),
    "failed": len(done) - len(ok),
    "connect_errors": sum(v for k, v in kinds.items() if k.endswith("_connect")),
    "errors": kinds,
    "skipped": skipped,
    "slow_1s": sum(1 for lat in ok if lat >= 1.0),
    "slow_connect_1s": sum(1 for c in conn if c >= 1.0),
    "p50_ms": pct(ok, 50),
    "p99_ms": pct(ok, 99),
    "max_ms": ok[-1] * 1000 if ok else None,
    "connect_p99_ms": pct(conn, 99),
    "connect_max_ms": conn[-1] * 1000 if conn else None,
}
with open(OUT, "w") as f:
    json.dump(summary, f)
    f.write("\n")
if RAW:
    with open(RAW, "w") as f:
        for lat, c, oc, w0 in sorted(done, key=lambda d: d[3]):
            f.write("%.4f\t%s\t%.4f\t%s\n" % (w0, "-" if c is None else "%.4f" % c, lat, oc))
