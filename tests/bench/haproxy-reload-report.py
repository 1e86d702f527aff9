# See COPYING for copyright and license details.
#
# tests/bench/haproxy-reload-report.py: the table of
# tests/bench/haproxy-reload.sh, from the files it leaves in its work
# directory (TAG.meta, TAG.wrk, TAG.nc.json; a tag is N-VARIANT); writes
# OUT (markdown, with the reading of the figures) and prints it.
#
#   haproxy-reload-report.py WORK OUT RELOADS INTERVAL KA_CONNS KA_DELAY_MS
#                            NC_RATE TMO ELAPSED MACHINE COMMAND TAG...
import json
import statistics
import sys

(work, out, reloads, rounds, interval, ka_conns, ka_delay, nc_rate, tmo, elapsed,
 machine, command), tags = sys.argv[1:13], sys.argv[13:]
reloads, rounds = int(reloads), int(rounds)

LABEL = {
    "none": "(0) no reloads",
    "check": "(0') no reloads, `haproxy -c` instead",
    "plain": "(a) plain `haproxy -sf`",
    "article": "(b) the article's script",
    "syn-drop": "(c) `haproxy-reload -m syn-drop`",
    "master": "(d) `haproxy-reload -m master`",
    "master-icr": "(e) `-m master`, `idle-close-on-response`",
}
LOADS = (("ka", "keep-alive"), ("nc", "new connection"))


def load(tag):
    """One run (one variant in one round)."""
    ok, failed, ms_total, longest, rules, procs, wait = open("%s/%s.meta" % (work, tag)).read().split()
    wrk = None
    for line in open("%s/%s.wrk" % (work, tag)):
        if line.startswith("HPRBENCH "):
            wrk = json.loads(line[len("HPRBENCH "):])
    nc = json.load(open("%s/%s.nc.json" % (work, tag)))
    # the longest time the open-loop client went without starting a
    # request (it starts one every 1/NC_RATE s): when it is long, the
    # client itself was not running, the machine stalled
    gap, last = 0.0, None
    try:
        for line in open("%s/%s.nc.raw" % (work, tag)):
            t = float(line.split("\t", 1)[0])
            if last is not None and t - last > gap:
                gap = t - last
            last = t
    except OSError:
        gap = None
    kinds = dict(nc["errors"])
    if nc["skipped"]:
        kinds["not started (too many in flight)"] = nc["skipped"]
    return {
        "ok": int(ok), "failed": int(failed), "ms": int(ms_total),
        "longest": int(longest),
        "rules": int(rules), "procs": 0 if procs == "-" else int(procs),
        "wait": int(wait), "gap": gap,
        # keep-alive: a request is lost when it was sent and never answered;
        # wrk's read errors also count idle connections closed under it.
        "ka": {"requests": wrk["sent"],
               "failed": wrk["sent"] - wrk["answered"] + wrk["not200"],
               "connect": wrk["connect"], "slow": wrk["slow_1s"],
               "p50": wrk["p50_us"] / 1000.0, "p99": wrk["p99_us"] / 1000.0,
               "max": wrk["max_us"] / 1000.0,
               "kinds": dict([(k, n) for k, n in (
                   ("sent, never answered", wrk["sent"] - wrk["answered"]),
                   ("answered, not 200", wrk["not200"])) if n]),
               "closed": wrk["read"] + wrk["write"]},
        "nc": {"requests": nc["requests"] + nc["skipped"],
               "failed": nc["failed"] + nc["skipped"],
               "connect": nc["connect_errors"], "slow": nc["slow_1s"],
               "slowconn": nc.get("slow_connect_1s", 0),
               "p50": nc["p50_ms"], "p99": nc["p99_ms"], "max": nc["max_ms"],
               "kinds": kinds},
    }


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


variants = []
runs = {}
for t in tags:
    v = t.split("-", 1)[1]
    if v not in runs:
        variants.append(v)
        runs[v] = []
    runs[v].append(load(t))

res = {}
for v in variants:
    rs = runs[v]
    agg = {"ok": sum(r["ok"] for r in rs), "failed": sum(r["failed"] for r in rs),
           "ms": sum(r["ms"] for r in rs), "rules": sum(r["rules"] for r in rs),
           "longest": max(r["longest"] for r in rs),
           "procs": sum(r["procs"] for r in rs)}
    for k, _ in LOADS:
        x = {c: sum(r[k].get(c, 0) for r in rs)
             for c in ("requests", "failed", "connect", "slow", "closed")}
        x["p50"] = median(r[k]["p50"] for r in rs)
        x["p99"] = median(r[k]["p99"] for r in rs)
        p99s = [r[k]["p99"] for r in rs if r[k]["p99"] is not None]
        x["p99lo"], x["p99hi"] = (min(p99s), max(p99s)) if p99s else (None, None)
        x["max"] = max([r[k]["max"] for r in rs if r[k]["max"] is not None] or [None])
        x["kinds"] = {}
        for r in rs:
            for kind, n in r[k]["kinds"].items():
                x["kinds"][kind] = x["kinds"].get(kind, 0) + n
        agg[k] = x
    agg["avg_ms"] = agg["ms"] // max(1, agg["ok"] + agg["failed"])
    agg["wait"] = median(r["wait"] for r in rs)
    agg["waitlo"] = min(r["wait"] for r in rs)
    agg["waithi"] = max(r["wait"] for r in rs)
    res[v] = agg
base = res.get("none")


def first(variant):
    return res.get(variant)


def label(v):
    return LABEL[v]


def ms(x):
    return "-" if x is None else ("%.0f" % x if x >= 100 else "%.1f" % x if x >= 10 else "%.2f" % x)


def rise(r, k):
    """median p99 of r over that of the run without reloads, in %, or None."""
    if base is None or r[k]["p99"] is None or not base[k]["p99"]:
        return None
    return 100.0 * (r[k]["p99"] / base[k]["p99"] - 1)


def pc(x):
    return "-" if x is None else "%+.0f %%" % x


def per_reload(r, k):
    return r[k]["failed"] / float(r["ok"] + r["failed"]) if r["ok"] + r["failed"] else 0.0


L = []
L.append("## haproxy-reload")
L.append("")
L.append("HAProxy reloaded %d times per variant, %s s after each reload returned," % (reloads, interval))
L.append("in %d interleaved rounds (every variant once per round, with its share" % rounds)
L.append("of the reloads), under two loads at once, in a network namespace on")
L.append("loopback: keep-alive (wrk, %s connections, each sending its next request" % ka_conns)
L.append("%s ms after the last answer; wrk's latency starts when the request is" % ka_delay)
L.append("written, so the time to connect is never in it) and a new connection per")
L.append("request (%s per second, open loop, latency from the connect() call to the" % nc_rate)
L.append("end of the answer, %s s timeout). HAProxy 2.6 in front of two backends (one" % tmo)
L.append("more HAProxy answering 200 itself), with `hard-stop-after 5s`; (a)–(c) run")
L.append("it standalone (`-D`), the others in master-worker mode (`-W -S`). (0') is a")
L.append("control: no reload, but `haproxy -c` on the same schedule, the CPU cost of")
L.append("reading the configuration without touching the sockets. \"Failed\": every")
L.append("request without a 200 answer (keep-alive: sent and never answered, or")
L.append("answered with another status; new connection: also connect errors,")
L.append("resets, timeouts); \"> 1 s\": answered, after more than a second. The")
L.append("latencies are those of the answered requests; p50 and p99 are the median")
L.append("of the rounds' (the p99 range over the rounds in brackets), max the")
L.append("largest; counts are totals. \"CPU wait\": the share of the time some task")
L.append("was waiting for a CPU (Linux PSI, the whole machine: the benchmark's own")
L.append("processes and anything else running), median and range of the rounds.")
L.append("")
L.append("| variant | load | reloads ok / failed (time: avg, max) | CPU wait | requests | failed | connect errors | > 1 s | p50 ms | p99 ms (rounds) | p99 vs (0) | max ms |")
L.append("|---|---|---|---|---|---|---|---|---|---|---|---|")
for v in variants:
    r = res[v]
    rl = "-" if v == "none" else "%d / %d (%d, %d ms)" % (
        r["ok"], r["failed"], r["avg_ms"], r["longest"])
    for k, name in LOADS:
        x = r[k]
        cw = "%d %% (%d–%d)" % (r["wait"], r["waitlo"], r["waithi"])
        L.append("| %s | %s | %s | %s | %d | %d | %d | %d | %s | %s (%s–%s) | %s | %s |" % (
            label(v) if k == "ka" else "", name, rl if k == "ka" else "",
            cw if k == "ka" else "",
            x["requests"], x["failed"], x["connect"], x["slow"], ms(x["p50"]),
            ms(x["p99"]), ms(x["p99lo"]), ms(x["p99hi"]),
            "-" if v == "none" else pc(rise(r, k)), ms(x["max"])))
L.append("")

kinds = []
for v in variants:
    for k, name in LOADS:
        if res[v][k]["kinds"]:
            kinds.append("%s, %s: %s" % (label(v), name, ", ".join(
                "%s %d" % kv for kv in sorted(res[v][k]["kinds"].items()))))
if kinds:
    L.append("Failures by kind: " + "; ".join(kinds) + ".")
    L.append("")
checks = []
for v in variants:
    r = res[v]
    if v in ("syn-drop", "article") or r["rules"]:
        checks.append("%s: %d firewall rules left" % (label(v), r["rules"]))
    if v in ("master", "master-icr"):
        checks.append("%s: the master counted %d reloads" % (label(v), r["procs"]))
if checks:
    L.append("Checks after each run (a reload of (a)–(c) counts as done when the")
    L.append("pidfile names a new live PID, one of (d)–(e) when `haproxy-reload`")
    L.append("confirmed it; the master's own count is read afterwards): " + "; ".join(checks) + ".")
    L.append("")

L.append("Per round (the order they ran in): keep-alive p99 / new-connection p99")
L.append("in ms; new connections over 1 s (in brackets those whose connect() alone")
L.append("took over 1 s: a SYN sent again); CPU wait; the longest the open-loop")
L.append("client went without starting a request (it starts one every %.0f ms: a" % (1000.0 / float(nc_rate)))
L.append("long gap means the client itself did not run, the machine stalled):")
L.append("")
L.append("| variant | " + " | ".join("round %d" % (i + 1) for i in range(rounds)) + " |")
L.append("|---|" + "---|" * rounds)
for v in variants:
    L.append("| %s | %s |" % (label(v), " | ".join(
        "%s / %s; %d (%d); %d %%; %s" % (ms(r["ka"]["p99"]), ms(r["nc"]["p99"]), r["nc"]["slow"],
                                          r["nc"]["slowconn"], r["wait"],
                                          "-" if r["gap"] is None else "%.0f ms" % (1000 * r["gap"]))
        for r in runs[v])))
L.append("")

# ----------------------------------------------------------- reading --
L.append("### What the figures say")
L.append("")
e = first("master-icr")
if e is not None and base is not None:
    fails = e["ka"]["failed"] + e["nc"]["failed"]
    within = all(e[k]["p99"] is not None and e[k]["p99"] <= 1.1 * base[k]["p99"] for k, _ in LOADS)
    L.append("**Target** (the default method, `master`, on the recommended configuration,")
    L.append("`option idle-close-on-response` and `hard-stop-after`: variant (e)):")
    L.append("- 0 failed requests over %d reloads: **%s** — %d keep-alive, %d new" % (
        reloads, "met" if fails == 0 and e["failed"] == 0 else "not met",
        e["ka"]["failed"], e["nc"]["failed"]))
    L.append("  connection; %d of %d reloads confirmed." % (e["ok"], e["ok"] + e["failed"]))
    L.append("- p99 within 10 %% of the run without reloads: **%s** — keep-alive %s ms" % (
        "met" if within else "not met", ms(e["ka"]["p99"])))
    L.append("  vs %s ms (%s), new connection %s ms vs %s ms (%s)." % (
        ms(base["ka"]["p99"]), pc(rise(e, "ka")), ms(e["nc"]["p99"]), ms(base["nc"]["p99"]),
        pc(rise(e, "nc"))))
    L.append("")

zero = [label(v) for v in variants if v != "none"
        and res[v]["ka"]["failed"] + res[v]["nc"]["failed"] == 0]
L.append("No request failed, on either load, with: %s." % (", ".join(zero) or "none of them"))
lost = ["%s %.1f" % (label(v), per_reload(res[v], "ka")) for v in variants
        if v in ("plain", "article", "syn-drop", "master")]
if lost:
    L.append("Keep-alive requests lost per reload: %s. A soft-stopping HAProxy 2.6" % ", ".join(lost))
    L.append("closes its idle keep-alive connections at once, and a request sent on one")
    L.append("at that moment is lost, whatever the reload method; `option")
    L.append("idle-close-on-response` makes the old worker answer the next request")
    L.append("first, with `Connection: close`. (wrk itself reports more \"read errors\"")
    L.append("— %s — because it also counts a connection closed while idle, which" % ", ".join(
        "%s %d" % (label(v), res[v]["ka"]["closed"]) for v in variants if res[v]["ka"]["closed"]))
    L.append("loses nothing; the table counts requests sent and never answered.)")
p = first("plain")
if p is not None:
    L.append("The plain `-sf` reload failed %d new connections over %d reloads: the" % (
        p["nc"]["failed"], p["ok"] + p["failed"]))
    L.append("old listener's accept queue is reset when it closes, and at this rate it")
    L.append("is seldom not empty (the reference measured 23–47 resets per reload with")
    L.append("1000 clients saturating the machine).")
drops = [(v, res[v]) for v in variants if v in ("article", "syn-drop")]
if drops:
    L.append("The SYN drop, %s: %s. Each dropped SYN" % (
        " and ".join(label(v) for v, _ in drops),
        "; ".join("%d new connections over 1 s, %d failed (%s s timeout), p99 %s ms" % (
            r["nc"]["slow"], r["nc"]["failed"], tmo, ms(r["nc"]["p99"])) for _, r in drops)))
    L.append("costs its client the retransmission (1 s on this kernel, then 1 s more")
    L.append("for each retry that lands in the next drop window, %s s later): failures" % interval)
    L.append("become stalls, and the method is only for an HAProxy without socket")
    L.append("passing. wrk does not show it: its clock starts after connect().")
odd = ["%s: %s" % (label(v), ", ".join(
    "round %d: %d (%d in connect())" % (i + 1, r["nc"]["slow"], r["nc"]["slowconn"])
    for i, r in enumerate(runs[v]) if r["nc"]["slow"]))
    for v in variants if v not in ("article", "syn-drop") and res[v]["nc"]["slow"]]
if odd:
    L.append("")
    L.append("New connections over 1 s without a SYN drop — %s." % "; ".join(odd))
    gaps = [r["gap"] for v in variants if v not in ("article", "syn-drop")
            for r in runs[v] if r["nc"]["slow"] and r["gap"] is not None]
    if gaps and min(gaps) >= 0.25:
        L.append("In each of those rounds the client itself went %.1f to %.1f s without" % (
            min(gaps), max(gaps)))
        L.append("starting a request: the load generator was not running either. Whether")
        L.append("the reloads or the rest of this shared machine held everything up is not")
        L.append("established by this run.")
    if base is not None and base["nc"]["slow"]:
        L.append("The run without reloads had some too: on this shared machine a stall")
        L.append("of a second does not need a reload. Their cause was not established")
        L.append("(the CPU wait of those rounds is in the table per round).")
    else:
        L.append("The run without reloads had none.")
c = first("check")
if c is not None and base is not None:
    L.append("")
    L.append("The p99: the control (0') — no reload, only `haproxy -c` on the same")
    L.append("schedule — moved the p99 by %s (keep-alive) and %s (new connection)." % (
        pc(rise(c, "ka")), pc(rise(c, "nc"))))
    L.append("Every reload starts a HAProxy process that reads the whole configuration")
    L.append("(the master re-executes itself, then forks the new worker), here on 2 CPUs")
    L.append("that the loads, the backends and the worker already share, %s s apart;" % interval)
    L.append("`haproxy-reload` adds its own `haproxy -c` before each reload.")
    if any((rise(c, k) or 0) > 10 for k, _ in LOADS):
        L.append("Since reading the configuration alone costs more than 10 % here, part of")
        L.append("the rise is CPU, not connections: no reload that starts a new HAProxy")
        L.append("process can stay within 10 % on this machine at this rate. What the")
        L.append("socket-passing reload removes is the failures and the stalls, not the")
        L.append("cost of starting HAProxy.")
    if e is not None and all(c[k]["p99"] for k, _ in LOADS):
        L.append("Against the control, (e)'s p99 is %s (keep-alive) and %s (new" % tuple(
            pc(100.0 * (e[k]["p99"] / c[k]["p99"] - 1)) for k, _ in LOADS))
        L.append("connection).")
    else:
        L.append("Reading the configuration alone stayed within 10 %, so a larger rise")
        L.append("under a reload is the reload's own.")
if base is not None and rounds > 1:
    L.append("The run without reloads alone had a p99 between %s and %s ms (keep-alive)" % (
        ms(base["ka"]["p99lo"]), ms(base["ka"]["p99hi"])))
    L.append("and %s and %s ms (new connection) from one round to the next: the machine" % (
        ms(base["nc"]["p99lo"]), ms(base["nc"]["p99hi"])))
    L.append("is shared, and that is the noise the percentages above stand on.")
L.append("")
L.append("Machine: %s. Whole run: %s s." % (machine, elapsed))
L.append("")
L.append("Reproduce (as root): `%s`" % command)
text = "\n".join(L) + "\n"
with open(out, "w") as f:
    f.write(text)
sys.stdout.write(text)
