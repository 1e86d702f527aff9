#!/bin/sh
# See COPYING for copyright and license details.
#
# tests/bench/service-wrapper.sh: service-wrapper against the article's
# shell script (tests/bench/service-wrapper-shell.sh: curl + jq + eval of
# the KV values + a background curl watcher), with the Consul and
# Marathon emulators. Measures the time from the start to the command's
# exec (20 keys), the processes and RssAnon of the wrapper in the steady
# state (the service itself not counted), the time from a KV write to
# the restart request, and the requests per minute while idle and while
# Consul has no leader (500 on every read). Writes
# tests/bench/service-wrapper.md. Run: make bench BENCH=service-wrapper
# (RUNS=N start-up runs, default 10; IDLE=S seconds idle, default 70).
set -eu

ROOT=${GALLEY_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
PYTHON=${PYTHON:-/usr/bin/python3}
RUNS=${RUNS:-10}
IDLE=${IDLE:-70}
DOWN=15
PATH=$ROOT/bin:$PATH
SHELL_WRAPPER=$ROOT/tests/bench/service-wrapper-shell.sh
CONSUL_EMU_HOME=$ROOT/tests/emulators/consul
MARATHON_EMU_HOME=$ROOT/tests/emulators/marathon
export CONSUL_EMU_HOME MARATHON_EMU_HOME PATH
# shellcheck source=../emulators/consul/emu.sh
. "$CONSUL_EMU_HOME/emu.sh"
# shellcheck source=../emulators/marathon/emu.sh
. "$MARATHON_EMU_HOME/emu.sh"
unset MARATHON_APP_ID CONSUL_HTTP_TOKEN CONSUL_HTTP_TOKEN_FILE

work=$(mktemp -d "${TMPDIR:-/tmp}/bench-service-wrapper.XXXXXX")
EMU_DIR=$work
export EMU_DIR
pids=
# tree PID: PID and its descendants, one per line, parents first.
tree() {
	echo "$1"
	for c in $(ps -o pid= --ppid "$1"); do
		tree "$c"
	done
}
# stop PID...: each with everything below it, the parent first.
stop() {
	for p in "$@"; do
		for q in $(tree "$p"); do
			kill -KILL "$q" 2>/dev/null || :
		done
	done
}
cleanup() {
	# shellcheck disable=SC2086
	stop $pids
	consul_emu_stop "${CPID:-}"
	marathon_emu_stop "${MARATHON_EMU_PID:-}"
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

consul_emu_start --name bench
CPID=$CONSUL_EMU_PID
C=${CONSUL_EMU_URL#http://}
marathon_emu_start --name bench
M=${MARATHON_EMU_URL#http://}
for t in c shell; do
	marathon_emu_ctl POST /v2/apps "{\"id\":\"/app/bench/$t\",\"instances\":1,\
\"container\":{\"type\":\"DOCKER\",\"docker\":{\"image\":\"web:1\"}}}" >/dev/null
	i=0
	while [ "$i" -lt 20 ]; do
		consul_emu_put "app/bench/$t/KEY_$i" "value-$i-without-spaces" >/dev/null
		i=$((i + 1))
	done
done

now_ns() {
	date +%s%N
}

median() {
	sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

# run WHICH args...: the tool (c) or the shell script (shell).
run() {
	w=$1
	shift
	if [ "$w" = c ]; then
		service-wrapper -q "$M" "$C" "app/bench/c" "$@"
	else
		sh "$SHELL_WRAPPER" "$M" "$C" "app/bench/shell" "$@"
	fi
}

# restarts WHICH: restart requests Marathon got for the app.
restarts() {
	marathon_emu_requests | grep -c "\"path\": *\"/v2/apps/app/bench/$1/restart\"" || :
}

# kv_requests WHICH: KV reads the wrapper made (not curl's PUTs).
kv_requests() {
	consul_emu_requests | grep "\"path\": *\"/v1/kv/app/bench/$1/\"" |
		grep -c '"method": *"GET"' || :
}

# per_minute N SECONDS
per_minute() {
	awk -v n="$1" -v s="$2" 'BEGIN { printf "%.1f", n * 60 / s }'
}

# --- 1. start to exec -------------------------------------------------
for w in c shell; do
	: >"$work/start.$w"
	i=0
	while [ "$i" -lt "$RUNS" ]; do
		t0=$(now_ns)
		run "$w" date +%s%N >"$work/t1" 2>/dev/null
		echo $(( ($(cat "$work/t1") - t0) / 1000 )) >>"$work/start.$w"
		i=$((i + 1))
	done
done
start_c=$(median <"$work/start.c")
start_shell=$(median <"$work/start.shell")

# --- 2. steady state: processes and RssAnon (not the service) ----------
# (Simple commands, so that $! is the wrapper itself, not a subshell.)
service-wrapper -q "$M" "$C" app/bench/c sleep 600 >/dev/null 2>&1 &
pid_c=$!
sh "$SHELL_WRAPPER" "$M" "$C" app/bench/shell sleep 600 >/dev/null 2>&1 &
pid_shell=$!
pids="$pid_c $pid_shell"
sleep 3
for w in c shell; do
	eval "p=\$pid_$w"
	n=0
	rss=0
	for q in $(tree "$p"); do
		[ "$(cat "/proc/$q/comm" 2>/dev/null)" = sleep ] && continue
		kb=$(awk '/^RssAnon:/ { print $2 }' "/proc/$q/status" 2>/dev/null || echo 0)
		n=$((n + 1))
		rss=$((rss + ${kb:-0}))
	done
	eval "procs_$w=$n rss_$w=$rss"
done

# --- 3. idle: requests per minute ---------------------------------------
consul_emu_ctl DELETE /_emu/requests >/dev/null
marathon_emu_ctl DELETE /_emu/requests >/dev/null
sleep "$IDLE"
for w in c shell; do
	eval "idle_$w=\$(per_minute \$(kv_requests $w) $IDLE)"
	eval "idle_restarts_$w=\$(restarts $w)"
done

# --- 4. Consul without a leader for DOWN seconds ------------------------
# The agent restarts (every connection dropped, the index kept), then
# answers 500 to every read until the fault is gone.
consul_emu_ctl DELETE /_emu/requests >/dev/null
marathon_emu_ctl DELETE /_emu/requests >/dev/null
consul_emu_ctl POST /_emu/fault '{"path": "/v1/kv/app/bench/*", "kind": "status",
	"status": 500, "body": "No cluster leader", "count": null}' >/dev/null
idx=$(consul_emu_ctl GET /_emu/state |
	"$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["index"])')
consul_emu_ctl POST /_emu/index-reset "{\"to\": $idx, \"mode\": \"restart\"}" >/dev/null
sleep "$DOWN"
for w in c shell; do
	eval "down_$w=\$(per_minute \$(kv_requests $w) $DOWN)"
done
consul_emu_ctl DELETE /_emu/faults >/dev/null
sleep 3
for w in c shell; do
	eval "down_restarts_$w=\$(restarts $w)"
done
# shellcheck disable=SC2086
stop $pids
pids=
sleep 1

# --- 5. a KV write to the restart request --------------------------------
# latency WHICH args...: ms from one write to the first restart request.
latency() {
	w=$1
	shift
	if [ "$w" = c ]; then
		service-wrapper -q "$@" "$M" "$C" app/bench/c sleep 600 >/dev/null 2>&1 &
	else
		sh "$SHELL_WRAPPER" "$M" "$C" app/bench/shell sleep 600 >/dev/null 2>&1 &
	fi
	p=$!
	pids="$pids $p"
	sleep 2
	marathon_emu_ctl DELETE /_emu/requests >/dev/null
	t0=$(now_ns)
	consul_emu_put "app/bench/$w/KEY_0" "changed $t0" >/dev/null
	i=0
	while [ "$(restarts "$w")" = 0 ] && [ "$i" -lt 600 ]; do
		sleep 0.02
		i=$((i + 1))
	done
	t1=$(now_ns)
	sleep 1
	n=$(restarts "$w")
	stop "$p"
	echo "$(( (t1 - t0) / 1000000 )) $n"
}
# shellcheck disable=SC2046
set -- $(latency c)
lat_c=$1 lat_n_c=$2
# shellcheck disable=SC2046
set -- $(latency c --debounce 0 --splay 0)
lat_fast=$1 lat_n_fast=$2
# shellcheck disable=SC2046
set -- $(latency shell)
lat_shell=$1 lat_n_shell=$2

ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "-"; else printf "%.1f", a / b }'
}

out=$ROOT/tests/bench/service-wrapper.md
# The measures are set through eval, by name.
# shellcheck disable=SC2154
cat >"$out" <<EOF
## service-wrapper

service-wrapper against the article's shell script
(\`tests/bench/service-wrapper-shell.sh\`: curl, jq, \`eval\` of the KV
values, a background curl watcher), with the Consul and Marathon
emulators on this machine; 20 keys under the prefix. Start-up: median of
$RUNS runs, from the start to the command's exec (the command is
\`date +%s%N\`). Steady state: the wrapper's processes and their RssAnon,
the service itself not counted. Requests: KV reads Consul got, per
minute, over ${IDLE} s idle and over ${DOWN} s of an outage (the agent
drops every connection, then answers 500 \`No cluster leader\` to every
read); restart requests: those Marathon got meanwhile (for the outage:
until 3 s after it ended).

| measure | service-wrapper | shell script | shell / C |
|---|---|---|---|
| start to exec | $(awk -v u="$start_c" 'BEGIN { printf "%.1f ms", u / 1000 }') | $(awk -v u="$start_shell" 'BEGIN { printf "%.1f ms", u / 1000 }') | $(ratio "$start_shell" "$start_c") |
| processes (steady state) | $procs_c | $procs_shell | $(ratio "$procs_shell" "$procs_c") |
| RssAnon (steady state) | $rss_c kB | $rss_shell kB | $(ratio "$rss_shell" "$rss_c") |
| KV reads per minute, idle | $idle_c | $idle_shell | |
| restart requests while idle | $idle_restarts_c | $idle_restarts_shell | |
| KV reads per minute, no leader | $down_c | $down_shell | $(ratio "$down_shell" "$down_c") |
| restart requests, no leader and back | $down_restarts_c | $down_restarts_shell | |
| KV write to restart request (defaults: 2 s debounce, splay up to 10 s) | $lat_c ms | $lat_shell ms | |
| KV write to restart request (\`--debounce 0 --splay 0\`) | $lat_fast ms | | |
| restart requests for one write | $lat_n_c ($lat_n_fast) | $lat_n_shell | |

The C wrapper's idle rate is one blocking query per \`--wait\` (5 m:
0.2 per minute, none in a shorter window), the script's one per 60 s.
Without a leader the script loops without a pause and asks Marathon for a
restart when the outage starts and again when it ends (the index went
from "" to a number), while service-wrapper backs off (full jitter,
250 ms doubling to 60 s, so its rate keeps falling) and asks nothing.
Its extra processes' memory is libcurl's; the script's is spread over
seven processes. Its delay before a restart request is deliberate: the debounce
and the splay make N instances ask for one rolling restart, not N.

Reproduce: \`make bench BENCH=service-wrapper\` (\`RUNS=N\`, \`IDLE=S\`).
EOF
cat "$out"
