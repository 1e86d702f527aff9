# See COPYING for copyright and license details.
#
# tests/bench/haproxy-reload-report.py: the table of
# tests/bench/haproxy-reload.sh, from the files it leaves in its work
# directory; writes OUT (markdown) and prints it.
#
#   haproxy-reload-report.py WORK OUT RELOADS INTERVAL KA_CONNS KA_DELAY_MS
#                            NC_RATE TMO ELAPSED MACHINE COMMAND VARIANT...
import json
import sys

(work, out, reloads, interval, ka_conns, ka_delay, nc_rate, tmo, elapsed,
 machine, command), variants = sys.argv[1:12], sys.argv[12:]
reloads = int(reloads)

LABEL = {
    "none": "(0) no reloads",
    "plain": "(a) plain `haproxy -sf`",
    "article": "(b) the article's script",
    "syn-drop": "(c) `haproxy-reload -m syn-drop`",
    "master": "(d) `haproxy-reload -m master`",
    "master-icr": "(e) `-m master` + `idle-close-on-response`",
}


def load(v):
    ok, failed, avg_ms, rules, procs = open("%s/%s.meta" % (work, v)).read().split()
    wrk = None
    for line in open("%s/%s.wrk" % (work, v)):
        if line.startswith("HPRBENCH "):
            wrk = json.loads(line[len("HPRBENCH "):])
    nc = json.load(open("%s/%s.nc.json" % (work, v)))
    ka = {
        "requests": wrk["requests"],
        "failed": sum(wrk[k] for k in ("connect", "read", "write", "status", "timeout")),
        "connect": wrk["connect"],
        "slow": wrk["slow_1s"],
        "p50": wrk["p50_us"] / 1000.0,
        "p99": wrk["p99_us"] / 1000.0,
        "max": wrk["max_us"] / 1000.0,
        "kinds": {k: wrk[k] for k in ("connect", "read", "write", "status", "timeout") if wrk[k]},
    }
    newc = {
        "requests": nc["requests"] + nc["skipped"],
        "failed": nc["failed"] + nc["skipped"],
        "connect": nc["connect_errors"],
        "slow": nc["slow_1s"],
        "p50": nc["p50_ms"],
        "p99": nc["p99_ms"],
        "max": nc["max_ms"],
        "kinds": dict(nc["errors"], **({"not started": nc["skipped"]} if nc["skipped"] else {})),
    }
    return {"ok": int(ok), "failed": int(failed), "avg_ms": int(avg_ms),
            "rules": int(rules), "procs": procs, "ka": ka, "nc": newc}


res = {v: load(v) for v in variants}
base = res.get("none")


def ms(x):
    return "-" if x is None else ("%.0f" % x if x >= 100 else "%.2f" % x)


def vs(v, k):
    if base is None or v == "none" or res[v][k]["p99"] is None or not base[k]["p99"]:
        return "-"
    return "%+.0f %%" % (100.0 * (res[v][k]["p99"] / base[k]["p99"] - 1))


L = []
L.append("## haproxy-reload")
L.append("")
L.append("HAProxy reloaded %d times per variant, %s s after each reload returned," % (reloads, interval))
L.append("under two loads at once, in a network namespace on loopback: keep-alive")
L.append("(wrk, %s connections, each sending its next request %s ms after the" % (ka_conns, ka_delay))
L.append("last answer; wrk's latency starts when the request is written) and a new")
L.append("connection per request (%s per second, open loop, latency from the" % nc_rate)
L.append("connect() call to the end of the answer, %s s timeout). HAProxy 2.6 in" % tmo)
L.append("front of two backends (one more HAProxy answering 200); `hard-stop-after 5s`.")
L.append("\"Failed\" counts every request without a 200 answer: connect errors, resets,")
L.append("timeouts, errors answered by HAProxy. \"> 1 s\": answered, but after more than")
L.append("a second. Latencies are those of the answered requests.")
L.append("")
L.append("| variant | load | reloads ok / failed (avg time) | requests | failed | connect errors | > 1 s | p50 ms | p99 ms | p99 vs (0) | max ms |")
L.append("|---|---|---|---|---|---|---|---|---|---|---|")
for v in variants:
    r = res[v]
    rl = "-" if v == "none" else "%d / %d (%d ms)" % (r["ok"], r["failed"], r["avg_ms"])
    for k, name in (("ka", "keep-alive"), ("nc", "new connection")):
        x = r[k]
        L.append("| %s | %s | %s | %d | %d | %d | %d | %s | %s | %s | %s |" % (
            LABEL[v] if k == "ka" else "", name, rl if k == "ka" else "",
            x["requests"], x["failed"], x["connect"], x["slow"],
            ms(x["p50"]), ms(x["p99"]), vs(v, k), ms(x["max"])))
L.append("")
kinds = []
for v in variants:
    for k, name in (("ka", "keep-alive"), ("nc", "new connection")):
        if res[v][k]["kinds"]:
            kinds.append("%s, %s: %s" % (LABEL[v], name, ", ".join(
                "%s %d" % kv for kv in sorted(res[v][k]["kinds"].items()))))
if kinds:
    L.append("Failures by kind: " + "; ".join(kinds) + ".")
    L.append("")
extra = []
for v in variants:
    if res[v]["rules"]:
        extra.append("%s left %d firewall rules behind" % (LABEL[v], res[v]["rules"]))
    if res[v]["procs"] != "-":
        extra.append("%s: the master counted %s reloads" % (LABEL[v], res[v]["procs"]))
if extra:
    L.append("Checks after each run: " + "; ".join(extra) + ".")
    L.append("")

if "master-icr" in res and base is not None:
    e = res["master-icr"]
    fails = e["ka"]["failed"] + e["nc"]["failed"]
    within = all(e[k]["p99"] is not None and e[k]["p99"] <= 1.1 * base[k]["p99"] for k in ("ka", "nc"))
    L.append("Target, for the default method (`master`) on the recommended configuration")
    L.append("(`option idle-close-on-response`, `hard-stop-after`), variant (e): 0 failed")
    L.append("requests over %d reloads — **%s** (%d keep-alive, %d new connection); p99" % (
        reloads, "met" if fails == 0 and e["failed"] == 0 else "not met",
        e["ka"]["failed"], e["nc"]["failed"]))
    L.append("within 10 %% of the run without reloads — **%s** (keep-alive %s ms vs %s ms," % (
        "met" if within else "not met", ms(e["ka"]["p99"]), ms(base["ka"]["p99"])))
    L.append("new connection %s ms vs %s ms)." % (ms(e["nc"]["p99"]), ms(base["nc"]["p99"])))
    L.append("")
L.append("Machine: %s. Whole run: %s s." % (machine, elapsed))
L.append("")
L.append("Reproduce (as root): `%s`" % command)
text = "\n".join(L) + "\n"
with open(out, "w") as f:
    f.write(text)
sys.stdout.write(text)
