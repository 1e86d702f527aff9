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
import sys

(work, out, reloads, interval, ka_conns, ka_delay, nc_rate, tmo, elapsed,
 machine, command), tags = sys.argv[1:12], sys.argv[12:]
reloads = int(reloads)

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
WRK_ERRORS = ("connect", "read", "write", "status", "timeout")


def load(tag):
    ok, failed, avg_ms, rules, procs = open("%s/%s.meta" % (work, tag)).read().split()
    wrk = None
    for line in open("%s/%s.wrk" % (work, tag)):
        if line.startswith("HPRBENCH "):
            wrk = json.loads(line[len("HPRBENCH "):])
    nc = json.load(open("%s/%s.nc.json" % (work, tag)))
    ka = {
        "requests": wrk["requests"],
        "failed": sum(wrk[k] for k in WRK_ERRORS),
        "connect": wrk["connect"],
        "slow": wrk["slow_1s"],
        "p50": wrk["p50_us"] / 1000.0,
        "p99": wrk["p99_us"] / 1000.0,
        "max": wrk["max_us"] / 1000.0,
        "kinds": {k: wrk[k] for k in WRK_ERRORS if wrk[k]},
    }
    kinds = dict(nc["errors"])
    if nc["skipped"]:
        kinds["not started (too many in flight)"] = nc["skipped"]
    newc = {
        "requests": nc["requests"] + nc["skipped"],
        "failed": nc["failed"] + nc["skipped"],
        "connect": nc["connect_errors"],
        "slow": nc["slow_1s"],
        "p50": nc["p50_ms"],
        "p99": nc["p99_ms"],
        "max": nc["max_ms"],
        "kinds": kinds,
    }
    return {"variant": tag.split("-", 1)[1], "ok": int(ok), "failed": int(failed),
            "avg_ms": int(avg_ms), "rules": int(rules), "procs": procs,
            "ka": ka, "nc": newc}


res = {t: load(t) for t in tags}
nones = [t for t in tags if res[t]["variant"] == "none"]
base = res[nones[0]] if nones else None


def first(variant):
    for t in tags:
        if res[t]["variant"] == variant:
            return res[t]
    return None


def label(t):
    v = res[t]["variant"]
    if v == "none" and t != nones[0]:
        return LABEL[v] + ", again at the end"
    return LABEL[v]


def ms(x):
    return "-" if x is None else ("%.0f" % x if x >= 100 else "%.2f" % x)


def rise(r, k):
    """p99 of r over the first no-reload run, in %, or None."""
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
L.append("under two loads at once, in a network namespace on loopback: keep-alive")
L.append("(wrk, %s connections, each sending its next request %s ms after the" % (ka_conns, ka_delay))
L.append("last answer; wrk's latency starts when the request is written, so the")
L.append("time to connect is never in it) and a new connection per request")
L.append("(%s per second, open loop, latency from the connect() call to the end of" % nc_rate)
L.append("the answer, %s s timeout). HAProxy 2.6 in front of two backends (one more" % tmo)
L.append("HAProxy answering 200 itself), with `hard-stop-after 5s`; (a)–(c) run it")
L.append("standalone (`-D`), (0), (0') and (d)–(e) in master-worker mode (`-W -S`).")
L.append("(0') is a control: no reload, but `haproxy -c` on the same schedule, the")
L.append("CPU cost of reading the configuration without touching the sockets.")
L.append("\"Failed\": every request without a 200 answer (connect errors, resets,")
L.append("timeouts, errors answered by HAProxy); \"> 1 s\": answered, after more")
L.append("than a second; the latencies are those of the answered requests.")
L.append("")
L.append("| variant | load | reloads ok / failed (avg time) | requests | failed | connect errors | > 1 s | p50 ms | p99 ms | p99 vs (0) | max ms |")
L.append("|---|---|---|---|---|---|---|---|---|---|---|")
for t in tags:
    r = res[t]
    rl = "-" if r["variant"] == "none" else "%d / %d (%d ms)" % (r["ok"], r["failed"], r["avg_ms"])
    for k, name in LOADS:
        x = r[k]
        L.append("| %s | %s | %s | %d | %d | %d | %d | %s | %s | %s | %s |" % (
            label(t) if k == "ka" else "", name, rl if k == "ka" else "",
            x["requests"], x["failed"], x["connect"], x["slow"],
            ms(x["p50"]), ms(x["p99"]), "-" if t == nones[0] else pc(rise(r, k)),
            ms(x["max"])))
L.append("")

kinds = []
for t in tags:
    for k, name in LOADS:
        if res[t][k]["kinds"]:
            kinds.append("%s, %s: %s" % (label(t), name, ", ".join(
                "%s %d" % kv for kv in sorted(res[t][k]["kinds"].items()))))
if kinds:
    L.append("Failures by kind: " + "; ".join(kinds) + ".")
    L.append("")
checks = []
for t in tags:
    r = res[t]
    if r["variant"] in ("syn-drop", "article"):
        checks.append("%s: %d firewall rules left" % (label(t), r["rules"]))
    elif r["rules"]:
        checks.append("%s: %d firewall rules left" % (label(t), r["rules"]))
    if r["procs"] != "-" and r["variant"] != "none":
        checks.append("%s: the master counted %s reloads" % (label(t), r["procs"]))
if checks:
    L.append("Checks after each run (a reload of (a)–(c) counts as done when the")
    L.append("pidfile names a new live PID; (d)–(e) ask the master itself): " + "; ".join(checks) + ".")
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
    L.append("- 0 failed requests over %d reloads: **%s** — %d keep-alive, %d new connection," % (
        reloads, "met" if fails == 0 and e["failed"] == 0 else "not met",
        e["ka"]["failed"], e["nc"]["failed"]))
    L.append("  %d of %d reloads confirmed." % (e["ok"], e["ok"] + e["failed"]))
    L.append("- p99 within 10 %% of the run without reloads: **%s** — keep-alive %s ms vs" % (
        "met" if within else "not met", ms(e["ka"]["p99"])))
    L.append("  %s ms (%s), new connection %s ms vs %s ms (%s)." % (
        ms(base["ka"]["p99"]), pc(rise(e, "ka")), ms(e["nc"]["p99"]), ms(base["nc"]["p99"]),
        pc(rise(e, "nc"))))
    L.append("")

zero = [label(t) for t in tags if res[t]["variant"] != "none"
        and res[t]["ka"]["failed"] + res[t]["nc"]["failed"] == 0]
if zero:
    L.append("No request failed, on either load, with: %s." % ", ".join(zero))
lost = ["%s %.1f" % (label(t), per_reload(res[t], "ka")) for t in tags
        if res[t]["variant"] in ("plain", "article", "syn-drop", "master")]
if lost:
    L.append("Keep-alive requests failed per reload: %s. A soft-stopping HAProxy 2.6" % ", ".join(lost))
    L.append("closes its idle keep-alive connections at once, and a client that sends on")
    L.append("one at that moment gets a read error, whatever the reload method;")
    L.append("`option idle-close-on-response` makes the old worker answer the next")
    L.append("request first, with `Connection: close`.")
p = first("plain")
if p is not None:
    L.append("The plain `-sf` reload lost %d new connections over %d reloads: the old" % (
        p["nc"]["failed"], p["ok"] + p["failed"]))
    L.append("listener's accept queue is reset when it closes, which at this rate is")
    L.append("rarely non-empty (the reference measured 23–47 resets per reload with")
    L.append("1000 clients saturating the machine).")
drops = [(t, res[t]) for t in tags if res[t]["variant"] in ("article", "syn-drop")]
if drops:
    L.append("The SYN drop, %s: %s. Each dropped SYN" % (
        " and ".join(label(t) for t, _ in drops),
        "; ".join("%d new connections over 1 s, %d timed out (> %s s), p99 %s ms" % (
            r["nc"]["slow"], r["nc"]["failed"], tmo, ms(r["nc"]["p99"])) for _, r in drops)))
    L.append("costs its client the retransmission (1 s on this kernel, then 1 s more")
    L.append("for each retry that lands in the next drop window, %s s later): failures" % interval)
    L.append("become stalls, and the method is only for an HAProxy without socket")
    L.append("passing. wrk does not show it: its clock starts after connect().")
c = first("check")
if c is not None and base is not None:
    L.append("")
    L.append("The p99: the control (0') — no reload, only `haproxy -c` on the same")
    L.append("schedule — raised the p99 by %s (keep-alive) and %s (new connection)." % (
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
    else:
        L.append("Reading the configuration alone stayed within 10 %, so a larger rise")
        L.append("under a reload is the reload's own.")
if len(nones) > 1:
    r2 = res[nones[-1]]
    L.append("The run without reloads, repeated at the end, differs from the first by")
    L.append("%s and %s in p99: the machine is shared, and that is the noise floor of" % (
        pc(rise(r2, "ka")), pc(rise(r2, "nc"))))
    L.append("these percentages.")
L.append("")
L.append("Machine: %s. Whole run: %s s." % (machine, elapsed))
L.append("")
L.append("Reproduce (as root): `%s`" % command)
text = "\n".join(L) + "\n"
with open(out, "w") as f:
    f.write(text)
sys.stdout.write(text)
