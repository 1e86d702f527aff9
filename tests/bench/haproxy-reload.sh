#!/bin/sh
# See COPYING for copyright and license details.
#
# tests/bench/haproxy-reload.sh: HAProxy reloads under load. Inside a
# network namespace of its own (loopback only) it runs HAProxy
# ($HAPROXY, default /usr/sbin/haproxy) in front of two small backends
# (one more HAProxy answering 200 itself), puts two loads through it at
# once — wrk on keep-alive connections (tests/bench/haproxy-reload.lua)
# and a client opening a new connection per request whose latency
# includes connect() (tests/bench/haproxy-reload-client.py) — and
# reloads HAProxy RELOADS times, INTERVAL seconds after each reload
# returned, with each method, in ROUNDS interleaved rounds (each variant
# once per round with its share of the reloads):
#   none        no reloads (the reference for the latencies)
#   check       no reloads, but haproxy -c on the same schedule (a control:
#               the CPU cost of reading the configuration)
#   plain       haproxy -D -sf <old pid>, no protection
#   article     the article's script (tests/bench/haproxy-reload-shell.sh:
#               iptables SYN drop, sleep 0.2, plain reload, rule removed)
#   syn-drop    haproxy-reload -m syn-drop -p 80 -- <plain reload>
#   master      haproxy-reload -m master (HAProxy in master-worker mode)
#   master-icr  the same with "option idle-close-on-response"
# For each load: requests, failed requests, connect errors, requests
# slower than 1 s, p50/p99/max latency. Writes the table to
# tests/bench/haproxy-reload.md (make bench then gathers it into
# RESULTS.md) and prints it. Needs root (namespace, iptables); skips
# otherwise. Run: make bench BENCH=haproxy-reload
# Knobs: RELOADS (100), ROUNDS (5), INTERVAL (0.2 s), VARIANTS (all of
# the above),
# KA_CONNS (20 keep-alive connections), KA_DELAY_MS (10 ms between the
# requests of a connection), NC_RATE (500 new connections per second),
# TMO (5 s per request); KEEP=1 keeps the work directory (per-request
# times of the new-connection client in TAG.nc.raw, reload start times
# in TAG.reloads). The reloads themselves set the duration: about 7 to
# 10 minutes with the defaults on a 2-CPU machine; RELOADS=50 halves it.
set -eu

ROOT=${GALLEY_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
PYTHON=${PYTHON:-/usr/bin/python3}
HAPROXY=${HAPROXY:-/usr/sbin/haproxy}
RELOADS=${RELOADS:-100}
ROUNDS=${ROUNDS:-5}
INTERVAL=${INTERVAL:-0.2}
VARIANTS=${VARIANTS:-none check plain article syn-drop master master-icr}
KA_CONNS=${KA_CONNS:-20}
KA_DELAY_MS=${KA_DELAY_MS:-10}
NC_RATE=${NC_RATE:-500}
TMO=${TMO:-5}
OUT=${OUT:-$ROOT/tests/bench/haproxy-reload.md}
PATH=$ROOT/bin:$PATH
BENCH=$ROOT/tests/bench

me=bench/haproxy-reload
if [ "$(id -u)" != 0 ]; then
	echo "$me: skipped: needs root (network namespace, iptables)" >&2
	exit 0
fi
for v in $VARIANTS; do
	case $v in
	none | check | plain | article) ;;
	syn-drop | master | master-icr)
		need_tool=1 ;;
	*)
		echo "$me: VARIANTS: unknown variant '$v'" >&2
		exit 2 ;;
	esac
	case " ${seen:-} " in
	*" $v "*) echo "$me: VARIANTS: '$v' twice" >&2; exit 2 ;;
	esac
	seen="${seen:-} $v"
done
for t in "$HAPROXY" wrk iptables ip "$PYTHON"; do
	command -v "$t" >/dev/null || { echo "$me: $t: not found" >&2; exit 1; }
done
HPR=
if [ -n "${need_tool:-}" ]; then
	HPR=$(command -v haproxy-reload) ||
		{ echo "$me: haproxy-reload: not found (make all)" >&2; exit 1; }
fi
for n in "$RELOADS" "$ROUNDS" "$KA_CONNS" "$KA_DELAY_MS" "$NC_RATE" "$TMO"; do
	case $n in
	'' | *[!0-9]* | 0) echo "$me: not a positive number: '$n'" >&2; exit 2 ;;
	esac
done
[ "$ROUNDS" -le "$RELOADS" ] || { echo "$me: ROUNDS > RELOADS" >&2; exit 2; }
case $INTERVAL in
'' | *[!0-9.]*) echo "$me: INTERVAL: not a number of seconds: $INTERVAL" >&2; exit 2 ;;
esac

ns=galley-hprbench-$$
work=$(mktemp -d "${TMPDIR:-/tmp}/bench-haproxy-reload.XXXXXX")
backend=
master=
load_pids=

nsx() {
	ip netns exec "$ns" "$@"
}

# ns_pids: every process in the namespace (all of them started here).
ns_pids() {
	ip netns pids "$ns" 2>/dev/null || :
}

cleanup() {
	set +e
	for p in $load_pids $master $backend $(ns_pids); do
		kill -TERM "$p" 2>/dev/null
	done
	i=0
	while [ -n "$(ns_pids)" ] && [ "$i" -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	for p in $(ns_pids); do
		kill -KILL "$p" 2>/dev/null
	done
	ip netns del "$ns" 2>/dev/null
	if [ -n "${KEEP:-}" ]; then
		echo "$me: kept $work" >&2
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

now_ms() {
	echo $(($(date +%s%N) / 1000000))
}

# cpu_wait: microseconds some task spent waiting for a CPU (PSI), 0 without.
cpu_wait() {
	sed -n 's/^some .*total=\([0-9]*\).*/\1/p' /proc/pressure/cpu 2>/dev/null | grep . || echo 0
}

# wait_port PORT: until something accepts on 127.0.0.1:PORT (5 s at most).
wait_port() {
	nsx "$PYTHON" - "$1" <<'EOF'
import socket, sys, time
end = time.monotonic() + 5
while True:
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.5).close()
        break
    except OSError:
        if time.monotonic() > end:
            sys.exit("port %s never came up" % sys.argv[1])
        time.sleep(0.05)
EOF
}

# mcli COMMAND: one command on the master CLI, its answer on stdout.
mcli() {
	nsx "$PYTHON" "$ROOT/tests/helpers/hpr-mcli.py" "$work/master.sock" "$1" 3
}

# front_pids: the HAProxy processes in front (not the backends).
front_pids() {
	for p in $(ns_pids); do
		[ "$p" != "$backend" ] || continue
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = haproxy ] && echo "$p"
	done
	:
}

# write_cfg FILE [EXTRA-DEFAULTS-LINE]
write_cfg() {
	cat >"$1" <<EOF
global
    maxconn 5000
    hard-stop-after 5s

defaults
    mode http
    timeout connect 2s
    timeout client 10s
    timeout server 10s
    timeout http-keep-alive 5s
${2:-}

frontend fe
    bind 127.0.0.1:80
    default_backend be

backend be
    balance roundrobin
    server s1 127.0.0.1:8001
    server s2 127.0.0.1:8002
EOF
}

# start_front VARIANT: HAProxy standalone (-D) or in master-worker mode.
start_front() {
	case $1 in
	none | check | master-icr) cfg=$work/icr.cfg ;;
	*) cfg=$work/plain.cfg ;;
	esac
	rm -f "$work/haproxy.pid"
	case $1 in
	none | check | master | master-icr)
		# ip netns exec execs HAProxy: $! is the master's PID.
		ip netns exec "$ns" "$HAPROXY" -W -S "$work/master.sock" \
			-f "$cfg" -p "$work/haproxy.pid" >"$work/$1.master.log" 2>&1 &
		master=$! ;;
	*)
		nsx "$HAPROXY" -D -f "$cfg" -p "$work/haproxy.pid" ;;
	esac
	wait_port 80
}

stop_front() {
	# shellcheck disable=SC2046 # PIDs, one word each
	set -- $master $(front_pids)
	for p in "$@"; do
		kill -TERM "$p" 2>/dev/null || :
	done
	i=0
	while [ -n "$(front_pids)" ] && [ "$i" -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	for p in $(front_pids); do
		kill -KILL "$p" 2>/dev/null || :
	done
	[ -z "$master" ] || wait "$master" 2>/dev/null || :
	master=
}

# reload VARIANT: one reload as the variant does it; its status.
reload() {
	read -r old <"$work/haproxy.pid"
	case $1 in
	check)
		nsx "$HAPROXY" -c -q -f "$cfg" ;;
	plain)
		nsx "$HAPROXY" -D -f "$cfg" -p "$work/haproxy.pid" -sf "$old" ;;
	article)
		nsx sh "$BENCH/haproxy-reload-shell.sh" \
			"$HAPROXY" -D -f "$cfg" -p "$work/haproxy.pid" -sf "$old" ;;
	syn-drop)
		nsx "$HPR" -m syn-drop -p 80 -f "$cfg" -l "$work/lock" -- \
			"$HAPROXY" -D -f "$cfg" -p "$work/haproxy.pid" -sf "$old" ;;
	master | master-icr)
		nsx "$HPR" -m master -S "$work/master.sock" -f "$cfg" \
			-l "$work/lock" ;;
	esac || return 1
	case $1 in
	plain | article | syn-drop)
		# a reload that worked left a new, live PID in the pidfile
		read -r new <"$work/haproxy.pid" || return 1
		[ "$new" != "$old" ] && kill -0 "$new" 2>/dev/null ;;
	esac
}

# run VARIANT TAG N: start HAProxy and the loads, reload N times, stop;
# leaves $work/TAG.{meta,wrk,nc.json}.
run() {
	v=$1
	t=$2
	count=$3
	start_front "$v"
	maxsec=$((count * 15 + 60))
	rm -f "$work/ka.stop"
	HPR_KA_DELAY_MS=$KA_DELAY_MS HPR_KA_STOP=$work/ka.stop \
		ip netns exec "$ns" wrk -t1 -c"$KA_CONNS" \
		-d"${maxsec}s" --timeout "${TMO}s" -s "$BENCH/haproxy-reload.lua" \
		http://127.0.0.1:80/ >"$work/$t.wrk" 2>&1 &
	ka=$!
	ip netns exec "$ns" "$PYTHON" "$BENCH/haproxy-reload-client.py" \
		127.0.0.1 80 "$NC_RATE" "$maxsec" "$TMO" "$work/$t.nc.json" "$work/$t.nc.raw" \
		>"$work/$t.nc.out" 2>&1 &
	nc=$!
	load_pids="$ka $nc"
	w0=$(cpu_wait)
	m0=$(now_ms)
	sleep 0.5
	ok=0 failed=0 total=0 longest=0 n=0
	while [ "$n" -lt "$count" ]; do
		n=$((n + 1))
		if [ "$v" = none ]; then
			sleep "$INTERVAL"
			continue
		fi
		t0=$(now_ms)
		echo "$t0" >>"$work/$t.reloads"
		if reload "$v" >>"$work/$t.reload.log" 2>&1; then
			ok=$((ok + 1))
		else
			failed=$((failed + 1))
			echo "-- reload $n failed" >>"$work/$t.reload.log"
		fi
		d=$(($(now_ms) - t0))
		total=$((total + d))
		[ "$d" -le "$longest" ] || longest=$d
		sleep "$INTERVAL"
	done
	sleep 1
	w1=$(cpu_wait)
	m1=$(now_ms)
	# no new keep-alive request from now on; those in flight get answered
	: >"$work/ka.stop"
	sleep 0.5
	kill -INT "$ka" 2>/dev/null || :
	kill -TERM "$nc" 2>/dev/null || :
	wait "$ka" || :
	wait "$nc" || :
	load_pids=
	procs=-
	case $v in
	master | master-icr)
		# the master's own count of reloads: "<pid> master <reloads> [failed: N] ..."
		procs=$(mcli "show proc" | awk '$2 == "master" { print $3 }')
		[ -n "$procs" ] || procs=-
		;;
	esac
	rules=$( { nsx iptables -S INPUT; nsx ip6tables -S INPUT 2>/dev/null; } |
		grep -c '^-A' || :)
	stop_front
	printf '%s %s %s %s %s %s %s\n' "$ok" "$failed" "$total" "$longest" \
		"$rules" "$procs" "$(((w1 - w0) / 10 / (m1 - m0 > 0 ? m1 - m0 : 1)))" \
		>"$work/$t.meta"
	if [ "$failed" -gt 0 ]; then
		echo "$me: $t: $failed of $count reloads failed; first lines of the log:" >&2
		head -n 5 "$work/$t.reload.log" >&2
	fi
	grep -q '^HPRBENCH ' "$work/$t.wrk" ||
		{ echo "$me: $t: wrk gave no figures:" >&2; cat "$work/$t.wrk" >&2; exit 1; }
	[ -s "$work/$t.nc.json" ] ||
		{ echo "$me: $t: the client gave no figures:" >&2; cat "$work/$t.nc.out" >&2; exit 1; }
}

ip netns add "$ns"
ip -n "$ns" link set lo up
nsx sysctl -qw net.ipv4.ip_local_port_range="10000 65000"
nsx sysctl -qw net.ipv4.tcp_tw_reuse=1
write_cfg "$work/plain.cfg"
write_cfg "$work/icr.cfg" "    option idle-close-on-response"
cat >"$work/backend.cfg" <<EOF
global
    maxconn 5000
    nbthread 1

defaults
    mode http
    timeout client 10s

frontend be
    bind 127.0.0.1:8001
    bind 127.0.0.1:8002
    http-request return status 200 content-type text/plain string ok
EOF
for c in plain icr backend; do
	nsx "$HAPROXY" -c -q -f "$work/$c.cfg" ||
		{ echo "$me: $work/$c.cfg: invalid" >&2; exit 1; }
done
ip netns exec "$ns" "$HAPROXY" -db -f "$work/backend.cfg" >"$work/backend.log" 2>&1 &
backend=$!
wait_port 8001
wait_port 8002

# ROUNDS rounds, each running every variant once with its share of the
# reloads: noise from the rest of the machine is spread over the variants
# instead of falling on one of them.
started=$(date +%s)
tags=
r=0
while [ "$r" -lt "$ROUNDS" ]; do
	count=$((RELOADS / ROUNDS + (r < RELOADS % ROUNDS ? 1 : 0)))
	r=$((r + 1))
	for v in $VARIANTS; do
		tag=$r-$v
		tags="$tags $tag"
		echo "$me: round $r/$ROUNDS: $v ($count reloads)" >&2
		run "$v" "$tag" "$count"
	done
done
elapsed=$(($(date +%s) - started))

machine="nproc $(nproc), $("$HAPROXY" -v | head -n 1 | cut -d' ' -f1-3), kernel $(uname -r)"
command="make bench BENCH=haproxy-reload RELOADS=$RELOADS ROUNDS=$ROUNDS INTERVAL=$INTERVAL"
command="$command KA_CONNS=$KA_CONNS KA_DELAY_MS=$KA_DELAY_MS NC_RATE=$NC_RATE TMO=$TMO"
# shellcheck disable=SC2086 # the variants, one word each
"$PYTHON" "$BENCH/haproxy-reload-report.py" "$work" "$OUT" "$RELOADS" "$ROUNDS" \
	"$INTERVAL" "$KA_CONNS" "$KA_DELAY_MS" "$NC_RATE" "$TMO" "$elapsed" \
	"$machine" "$command" $tags
