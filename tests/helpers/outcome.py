# See COPYING for copyright and license details.
#
# tests/helpers/outcome.py: how one HTTP request over a new connection
# ended, as the load clients (tests/helpers/hpr-newconn.py and
# tests/bench/haproxy-reload-client.py) count it: "ok" for an HTTP/1.x
# 200, "http_NNN" for another status, "empty" for no answer at all, and
# for an error "timeout_", "refused_", "reset_" or the error's name,
# followed by the phase it happened in ("connect" or "read").
import asyncio


def answer(data):
    """The outcome of the bytes read up to EOF."""
    if not data:
        return "empty"
    if data[:12] in (b"HTTP/1.1 200", b"HTTP/1.0 200"):
        return "ok"
    return "http_" + data[9:12].decode(errors="replace")


def error(e, phase):
    """The outcome of an exception raised in phase."""
    if isinstance(e, asyncio.TimeoutError):
        return "timeout_" + phase
    if isinstance(e, ConnectionRefusedError):
        return "refused_" + phase
    if isinstance(e, ConnectionResetError):
        return "reset_" + phase
    return "%s_%s" % (type(e).__name__, phase)


def percentile_ms(xs, p):
    """The p-th percentile of sorted seconds xs, in milliseconds; None
    for no values."""
    if not xs:
        return None
    return xs[min(len(xs) - 1, int(p / 100.0 * len(xs)))] * 1000
