#!/bin/sh
# See COPYING for copyright and license details.
#
# tests/examples/demo.sh (`make demo`): the whole platform on one machine,
# narrated. As root. Inside a network namespace of its own: the Consul and
# Marathon emulators, a real HAProxy in master-worker mode, and the
# example service (tests/examples) deployed with the galley tools:
#
#   1 gen-service-defs   service.json -> versioned definitions (CI build)
#   2 marathon-deploy    staging, 2 instances, until both are healthy; each
#                        task is dockerhost-resolve -> service-wrapper ->
#                        server.py, started from the image's ENTRYPOINT
#   3 a request through HAProxy shows the value from Consul
#   4 a KV change -> one rolling restart -> the new value, no failed request
#   5 haproxy-reload under load, no failed request
#   6 teardown: no process, namespace, firewall rule or file left behind
#
# Exits 0 only when every step did what it says. DEMO_QUICK=1 makes the
# load phases shorter (for make check); DEMO_FAIL_AT=N fails on purpose
# at the start of step N (to test the teardown). Ctrl-C tears down too.

# A && B || fail: fail exits, so it is if-then-else here (SC2015); single
# quotes around $ are meant (SC2016).
# shellcheck disable=SC2015,SC2016

set -u

GALLEY_ROOT=${GALLEY_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
EX=$GALLEY_ROOT/tests/examples
PYTHON=${PYTHON:-/usr/bin/python3}
# The system's tools only (the tasks find python3 and the galley tools on it).
PATH=$GALLEY_ROOT/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
QUICK=${DEMO_QUICK:-0}
FAIL_AT=${DEMO_FAIL_AT:-0}
NS=galley-demo-$$
GW=192.0.2.1
APP=/app/staging/test-server
PREFIX=app/staging/test-server
export PATH
unset DOCKERHOST MARATHON_URL CONSUL_HTTP_ADDR CONSUL_HTTP_TOKEN \
	CONSUL_HTTP_TOKEN_FILE MARATHON_APP_ID HAPROXY_CONFIG \
	CI_BRANCH CI_COMMIT CI_BUILD_NUMBER DRONE_BRANCH DRONE_COMMIT_SHA \
	DRONE_BUILD_NUMBER
LC_ALL=C
export LC_ALL

T0=$(date +%s)
TMP=
PIDS=
NS_MADE=0
CLEANED=0

# --- narration --------------------------------------------------------

step() {
	echo
	echo "== $*"
}

say() {
	echo "   $*"
}

ok() {
	echo "   ok: $*"
}

fail() {
	echo "demo: FAILED: $*" >&2
	exit 1
}

# show CMD...: print the command, run it, print its output indented;
# returns its status. Paths under the scratch directory are shown short.
show() {
	_line=
	for _a in "$@"; do
		[ "$_a" = nsrun ] && [ -z "$_line" ] && continue
		case $_a in
		*[!A-Za-z0-9_./:=@%+,-]* | '') _a="'$(printf '%s' "$_a" | sed "s/'/'\\\\''/g")'" ;;
		esac
		_line="$_line $_a"
	done
	echo "   \$$_line" | sed "s|$TMP/|\$TMP/|g; s|$GALLEY_ROOT/|./|g"
	"$@" >"$TMP/out" 2>&1
	_rc=$?
	[ -s "$TMP/out" ] && [ -n "$(tail -c 1 "$TMP/out")" ] && echo >>"$TMP/out"
	sed 's/^/   | /' "$TMP/out"
	return $_rc
}

# nsrun CMD...: inside the demo's network namespace.
nsrun() {
	ip netns exec "$NS" "$@"
}

# wait_for SECONDS CMD...: poll every 100 ms until CMD succeeds.
wait_for() {
	_end=$(($(date +%s) + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		[ "$(date +%s)" -lt "$_end" ] || return 1
		sleep 0.1
	done
}

elapsed() {
	echo $(($(date +%s) - T0))
}

maybe_fail() {
	[ "$FAIL_AT" = "$1" ] && fail "DEMO_FAIL_AT=$1: failing on purpose"
	return 0
}

# --- teardown ---------------------------------------------------------

# stop PID: SIGTERM, up to 10 s, then SIGKILL.
stop() {
	kill -TERM "$1" 2>/dev/null || return 0
	_i=0
	while kill -0 "$1" 2>/dev/null; do
		if [ $_i -ge 100 ]; then
			kill -KILL "$1" 2>/dev/null
			break
		fi
		sleep 0.1
		_i=$((_i + 1))
	done
	wait "$1" 2>/dev/null
	return 0
}

cleanup() {
	[ "$CLEANED" = 1 ] && return 0
	CLEANED=1
	trap - INT TERM
	# The newest first: load clients, renderer, HAProxy, Marathon (which
	# stops its tasks), Consul.
	for pid in $PIDS; do
		stop "$pid"
	done
	PIDS=
	LEFT=0
	if [ "$NS_MADE" = 1 ]; then
		# Anything still in the namespace (an old HAProxy worker, a task
		# that outlived its group): killed by PID.
		for pid in $(ip netns pids "$NS" 2>/dev/null); do
			LEFT=$((LEFT + 1))
			kill -KILL "$pid" 2>/dev/null
		done
		FW_RULES=$(ip netns exec "$NS" iptables -S 2>/dev/null | grep -c haproxy-reload)
		ip netns del "$NS" 2>/dev/null
		NS_MADE=0
	fi
	[ -n "$TMP" ] && rm -rf "$TMP"
}

on_exit() {
	_status=$?
	[ -n "$INTERRUPTED" ] && echo "demo: interrupted (SIG$INTERRUPTED)" >&2
	if [ "$CLEANED" = 0 ]; then
		cleanup
		echo "demo: torn down after a failure or interruption (status $_status):" \
			"processes stopped, namespace $NS and scratch files removed" >&2
	fi
	exit "$_status"
}
trap on_exit EXIT
# The messages wait for on_exit: a trap may run inside a redirection.
INTERRUPTED=
trap 'INTERRUPTED=INT; exit 130' INT
trap 'INTERRUPTED=TERM; exit 143' TERM

# --- set-up -----------------------------------------------------------

[ "$(id -u)" = 0 ] || fail "run as root (network namespaces, bind mounts): sudo make demo"
for t in gen-service-defs marathon-deploy dockerhost-resolve service-wrapper \
	haproxy-reload; do
	[ -x "$GALLEY_ROOT/bin/$t" ] || fail "bin/$t is missing: run make first"
done
for t in haproxy ip unshare curl "$PYTHON"; do
	command -v "$t" >/dev/null 2>&1 || fail "$t not found: run make deps"
done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/galley-demo.XXXXXX") || fail "mktemp"
cd "$TMP" || fail "cd $TMP"

step "0. The stage: one machine playing a Mesos host"
say "A network namespace of its own ($NS), where $GW plays the Docker host:"
say "it is the default gateway, as docker0 is for a container. Every command"
say "below runs inside it (ip netns exec $NS ...), nothing touches the host."
ip netns add "$NS" || fail "ip netns add $NS"
NS_MADE=1
nsrun ip link set lo up &&
	nsrun ip link add dh0 type veth peer name dh1 &&
	nsrun ip addr add "$GW/24" dev dh0 &&
	nsrun ip addr add 192.0.2.2/24 dev dh1 &&
	nsrun ip link set dh0 up &&
	nsrun ip link set dh1 up &&
	nsrun ip route add default via "$GW" dev dh1 ||
	fail "setting up the namespace's network"
show nsrun ip route || fail "ip route"

# start_bg NAME CMD...: a background process inside the namespace; its PID
# goes first in PIDS (stopped first), its output to $TMP/NAME.log.
start_bg() {
	_name=$1
	shift
	# Not through nsrun: $! must be the process itself (ip execs it).
	ip netns exec "$NS" "$@" </dev/null >"$TMP/$_name.log" 2>&1 &
	PIDS="$! $PIDS"
	LAST_PID=$!
}

port_of() {
	[ -s "$1" ] && cat "$1"
}

say
say "Consul: the emulator in tests/emulators/consul (Consul's KV API)."
start_bg consul "$PYTHON" "$GALLEY_ROOT/tests/emulators/consul/emulator.py" \
	--port-file "$TMP/consul.port"
wait_for 10 port_of "$TMP/consul.port" || fail "the Consul emulator did not start: $(cat "$TMP/consul.log")"
CPORT=$(cat "$TMP/consul.port")

say "Marathon: the emulator in tests/emulators/marathon. It starts tasks as"
say "local processes, the way the Mesos docker containerizer starts a"
say "container: the image's ENTRYPOINT, then the app's args. The image is"
say "tests/examples/Dockerfile, read as docker inspect would report it:"
"$PYTHON" "$EX/dockerfile.py" "$EX/Dockerfile" --image registry.local/test-server \
	--workdir "$EX" >"$TMP/images.json" || fail "reading the Dockerfile"
show "$PYTHON" "$EX/dockerfile.py" "$EX/Dockerfile" || fail "reading the Dockerfile"
say "(WORKDIR /app is $EX here, where server.py is.)"
say "Containers get their own /etc/hosts: here the Marathon emulator runs in a"
say "mount namespace with a scratch file over /etc/hosts, which its tasks"
say "share, so dockerhost-resolve never touches the host's file."
printf '127.0.0.1\tlocalhost\n' >"$TMP/hosts"
# Shorter waits than the defaults, so that a change shows within seconds
# (in production: --splay 10s, --debounce 2s,30s).
start_bg marathon unshare -m --propagation private \
	sh -c 'mount --bind "$1" /etc/hosts && shift && exec "$@"' sh "$TMP/hosts" \
	env SERVICE_WRAPPER_SPLAY=1s SERVICE_WRAPPER_DEBOUNCE=200ms,2s \
	"$PYTHON" "$GALLEY_ROOT/tests/emulators/marathon/emulator.py" \
	--port-file "$TMP/marathon.port" --state-dir "$TMP/marathon" \
	--images "$TMP/images.json"
wait_for 10 port_of "$TMP/marathon.port" || fail "the Marathon emulator did not start: $(cat "$TMP/marathon.log")"
MPORT=$(cat "$TMP/marathon.port")
M_DIRECT=http://127.0.0.1:$MPORT
say "To keep it short, the tasks get SERVICE_WRAPPER_SPLAY=1s and"
say "SERVICE_WRAPPER_DEBOUNCE=200ms,2s (defaults 10s and 2s,30s)."

say
say "HAProxy (the real one, $(haproxy -v | sed -n '1s/^HAProxy version \([^ ]*\).*/\1/p')), in master-worker mode with a master socket."
say "Its configuration follows tests/examples/haproxy.cfg.ctmpl: Marathon on"
say ":18080, Chronos on :14400, Consul on :18500 (so a container reaches them"
say "as dockerhost:18080 ...), and a service tagged internal-listen-http-3000"
say "on :3000 (production) and :13000 (staging). consul-template is not in"
say "Debian: tests/examples/render.py stands in for it, reading the same facts"
say "from Marathon (each app's SERVICE_NAME/SERVICE_TAGS, its healthy tasks)"
say "and running the command consul-template.hcl names: haproxy-reload."
RENDER="$PYTHON $EX/render.py --marathon $M_DIRECT --out $TMP/haproxy.cfg
	--service marathon=127.0.0.1:$MPORT --service consul=127.0.0.1:$CPORT"
# shellcheck disable=SC2086
nsrun $RENDER >/dev/null || fail "rendering haproxy.cfg"
show haproxy -c -f "$TMP/haproxy.cfg" || fail "haproxy -c"
start_bg haproxy haproxy -W -db -S "$TMP/haproxy-master.sock" -f "$TMP/haproxy.cfg"
wait_for 10 nsrun curl -sf -o /dev/null "http://$GW:18080/ping" ||
	fail "HAProxy did not start: $(cat "$TMP/haproxy.log")"
RELOAD="haproxy-reload -f $TMP/haproxy.cfg -m master -S $TMP/haproxy-master.sock -l $TMP/haproxy-reload.lock"
# shellcheck disable=SC2086
start_bg render $RENDER --watch 0.2 -- $RELOAD
ok "Consul, Marathon and HAProxy are up ($(elapsed)s)"

# --- 1 ----------------------------------------------------------------

step "1. Build: gen-service-defs, as the CI build step (.drone.yml)"
maybe_fail 1
say "The service's repository holds service.json: a Marathon app definition"
say "with placeholders. The build fills in \$tag (the image tag the publish"
say "step pushes, BRANCH-COMMIT-BUILD) and leaves \$environment and \$instances"
say "for the deploy. It writes one definition per branch and one per build."
mkdir -p "$TMP/ci" && cp "$EX/service.json" "$TMP/ci/" && cd "$TMP/ci" || fail "ci dir"
show env CI_BRANCH=master CI_COMMIT=3f9c2e1 CI_BUILD_NUMBER=42 gen-service-defs ||
	fail "gen-service-defs"
DEF=$TMP/ci/service-defs/service-master-3f9c2e1-42.json
[ -s "$DEF" ] && [ -s "$TMP/ci/service-defs/service-master.json" ] ||
	fail "gen-service-defs did not write both definitions"
show grep -n -e '"image"' -e '"version"' -e 'staging\|\$environment' "$DEF"
grep -q '"image": "registry.local/test-server:master-3f9c2e1-42"' "$DEF" &&
	grep -q '"id": "/app/$environment/test-server"' "$DEF" ||
	fail "the definition does not carry the tag, or lost \$environment"
ok "two definitions; the image tag is master-3f9c2e1-42; \$environment is left for the deploy"
cd "$TMP" || fail "cd"

# --- 2 ----------------------------------------------------------------

step "2. Deploy: marathon-deploy to staging, 2 instances"
maybe_fail 2
say "First the service's configuration, in Consul KV under its prefix"
say "$PREFIX/ (through HAProxy's Consul port, as anyone on the host would):"
show nsrun curl -sS -X PUT --data-binary 'hello from Consul' \
	"http://$GW:18500/v1/kv/$PREFIX/GREETING" || fail "KV PUT"
say "Then the deploy, by hand here, or from CI, or as a Chronos job"
say "(chronos-job.json). It fills in \$environment and \$instances, PUTs the app"
say "and waits for the deployment's real outcome: both tasks healthy."
show nsrun marathon-deploy -m "http://$GW:18080" -t 60s --json "file://$DEF" staging 2 ||
	fail "marathon-deploy did not succeed"
grep -q '"result":"created"' "$TMP/out" || fail "marathon-deploy: not created"
say "Each task is the image's ENTRYPOINT chain. dockerhost-resolve found the"
say "default gateway, wrote it to the task's /etc/hosts and exec'd"
say "service-wrapper in its place (same PID), which read Consul and runs"
say "the service as its child:"
nsrun "$PYTHON" - "$M_DIRECT" >"$TMP/tasks" <<'EOF' || fail "reading the tasks"
import json, sys, urllib.request
for t in json.load(urllib.request.urlopen(sys.argv[1] + "/_emu/tasks")):
    if t["state"] == "TASK_RUNNING":
        print(t["pid"], t["ports"][0])
EOF
[ "$(wc -l <"$TMP/tasks")" = 2 ] || fail "not 2 running tasks: $(cat "$TMP/tasks")"
while read -r pid port; do
	echo "   task on port $port:"
	echo "     pid $pid: $(tr '\0' ' ' <"/proc/$pid/cmdline")"
	tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q '^service-wrapper dockerhost:18080 dockerhost:18500 app/staging/test-server python3 server.py' ||
		fail "task $pid is not service-wrapper"
	found=0
	for child in $(ps -o pid= --ppid "$pid"); do
		args=$(tr '\0' ' ' <"/proc/$child/cmdline")
		case $args in
		service-wrapper*) args="$args(its HTTP half: Consul, Marathon)" ;;
		*"python3 server.py "*) found=1 ;;
		esac
		echo "       pid $child: $args"
	done
	[ $found = 1 ] || fail "task $pid does not run the service"
done <"$TMP/tasks"
say "The tasks' /etc/hosts (the scratch file):"
show cat "$TMP/hosts"
grep -q "^${GW}[[:space:]]*dockerhost\$" "$TMP/hosts" || fail "no dockerhost line in the hosts file"
ok "2 tasks healthy, each dockerhost-resolve -> service-wrapper -> server.py ($(elapsed)s)"

# --- 3 ----------------------------------------------------------------

step "3. A request through HAProxy"
maybe_fail 3
say "render.py saw the two healthy tasks and reloaded HAProxy with them in"
say "the test-server-staging backend (staging: port 10000 + 3000):"
servers_are() {
	[ "$(sed -n '/^backend test-server-staging/,/^$/p' "$TMP/haproxy.cfg" | grep -c '^    server ')" = "$1" ]
}
wait_for 20 servers_are 2 || fail "haproxy.cfg does not list the 2 tasks"
show sed -n '/^backend test-server-staging/,$p' "$TMP/haproxy.cfg"
wait_for 10 nsrun curl -sf -o /dev/null "http://$GW:13000/" || fail "no answer on :13000"
show nsrun curl -sS -o "$TMP/page" "http://$GW:13000/" || fail "request through HAProxy"
say "The page lists the service's whole environment; some of it:"
show grep -E '^It works|^(GREETING|DOCKERHOST|HOST|PORT0|MARATHON_APP_ID|MARATHON_APP_DOCKER_IMAGE):' "$TMP/page" ||
	fail "not the service's page"
grep -q '^GREETING: hello from Consul$' "$TMP/out" || fail "the service does not show the value from Consul"
grep -q "^DOCKERHOST: $GW\$" "$TMP/out" || fail "DOCKERHOST is not $GW"
ok "the service runs with GREETING from Consul, behind HAProxy"

# --- 4 ----------------------------------------------------------------

# values_now N: N requests through HAProxy all show GREETING $WANT.
values_now() {
	_n=0
	while [ $_n -lt "$1" ]; do
		nsrun curl -sf "http://$GW:13000/" | grep -qx "GREETING: $WANT" || return 1
		_n=$((_n + 1))
	done
}

# app_settled: no deployment, 2 healthy tasks, all of the newest version.
app_settled() {
	nsrun "$PYTHON" - "$M_DIRECT" <<-'EOF'
	import json, sys, urllib.request
	app = json.load(urllib.request.urlopen(sys.argv[1] + "/v2/apps/app/staging/test-server?embed=app.tasks"))["app"]
	ok = not app["deployments"] and app["tasksHealthy"] == 2 and len(app["tasks"]) == 2 \
	    and all(t["version"] == app["version"] for t in app["tasks"])
	sys.exit(0 if ok else 1)
	EOF
}

restarts() {
	# $1: all or accepted (HTTP 200)
	nsrun curl -sS "$M_DIRECT/_emu/requests?format=ndjson" |
		grep "\"path\": *\"/v2/apps$APP/restart\"" |
		{ if [ "$1" = accepted ]; then grep '"status": *200'; else cat; fi; } | wc -l
}

# load_start NAME: the load client on :13000; load_stop: its summary.
load_start() {
	start_bg "$1" "$PYTHON" "$EX/load.py" "http://$GW:13000/" "$TMP/$1.summary"
	LOAD_PID=$LAST_PID
}
load_stop() {
	stop "$LOAD_PID"
	PIDS=$(echo "$PIDS" | sed "s/\\b$LOAD_PID\\b//")
	[ -s "$TMP/$1.summary" ] || fail "the load client wrote no summary: $(cat "$TMP/$1.log")"
	read -r LOAD_REQUESTS LOAD_FAILED <"$TMP/$1.summary"
	if [ "$LOAD_FAILED" != 0 ]; then
		sed 's/^/   | /' "$TMP/$1.log"
		echo "   render.py's log:"
		sed 's/^/   | /' "$TMP/render.log"
	fi
}

step "4. A configuration change: one rolling restart, no failed request"
maybe_fail 4
VERSION_BEFORE=$(nsrun curl -sS "$M_DIRECT/v2/apps$APP" | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["app"]["version"])')
say "A load client sends requests through HAProxy all along (4 at a time,"
say "a new connection each). Now the value changes in Consul:"
load_start load4
show nsrun curl -sS -X PUT --data-binary 'bonjour from Consul' \
	"http://$GW:18500/v1/kv/$PREFIX/GREETING" || fail "KV PUT"
say "Both service-wrappers see it (a Consul blocking query); after the"
say "debounce and a random splay each asks Marathon to restart the app"
say "(POST /v2/apps$APP/restart). The first request starts one rolling"
say "restart; a later one gets 409 (deployment in progress) and, once its"
say "own task is replaced, has nothing left to ask. Marathon replaces the"
say "tasks one by one: a new one healthy, then an old one stopped (SIGTERM:"
say "server.py fails its health check and goes on serving for 5 s, so that"
say "HAProxy learns of its replacement first), and render.py reloads HAProxy"
say "as the healthy set changes."
WANT='bonjour from Consul'
version_moved() {
	v=$(nsrun curl -sS "$M_DIRECT/v2/apps$APP" | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["app"]["version"])')
	[ "$v" != "$VERSION_BEFORE" ]
}
wait_for 30 version_moved || fail "Marathon was not asked to restart the app"
wait_for 60 app_settled || fail "the rolling restart did not finish"
wait_for 20 values_now 10 || fail "HAProxy does not serve the new value"
sleep 1
load_stop load4
say "What the service-wrappers logged (each task's stderr, oldest task first):"
# shellcheck disable=SC2045
for d in $(ls -dtr "$TMP"/marathon/sandboxes/*/); do
	id=${d%/}
	id=${id##*.}
	echo "   task ${id%%-*}:"
	sed 's/^/   | /' "$d/stderr"
done
RELOADS_RENDER=$(grep -c 'haproxy-reload exited 0' "$TMP/render.log")
say "render.py wrote haproxy.cfg $(grep -c '^render: wrote' "$TMP/render.log") times so far, each time"
say "followed by haproxy-reload; $RELOADS_RENDER of them exited 0."
grep '^render: wrote' "$TMP/render.log" | grep -v 'haproxy-reload exited 0$' >/dev/null &&
	fail "a reload by render.py failed: $(cat "$TMP/render.log")"
say "Marathon's request log: restart requests $(restarts all), accepted $(restarts accepted)."
[ "$(restarts accepted)" = 1 ] || fail "not exactly one restart accepted"
say "The load client: $LOAD_REQUESTS requests, $LOAD_FAILED failed; values served, in order:"
tail -n +2 "$TMP/load4.summary" | sed 's/^\([0-9]*\) \(.*\)/     \2: \1 requests/'
[ "$LOAD_FAILED" = 0 ] || fail "$LOAD_FAILED requests failed during the rolling restart"
sed -n 2p "$TMP/load4.summary" | grep -q ' hello from Consul$' &&
	tail -n 1 "$TMP/load4.summary" | grep -q ' bonjour from Consul$' ||
	fail "the load client did not see hello, then bonjour"
ok "one rolling restart, the new value served, 0 of $LOAD_REQUESTS requests failed ($(elapsed)s)"

# --- 5 ----------------------------------------------------------------

step "5. HAProxy reloads under load: haproxy-reload"
maybe_fail 5
if [ "$QUICK" = 1 ]; then RELOADS=3; else RELOADS=5; fi
say "consul-template runs haproxy-reload on every change. It checks the new"
say "file (haproxy -c), asks the master to reload (master socket), and"
say "confirms that a new worker took over. The listening sockets pass from"
say "worker to worker, so no connection is refused. $RELOADS reloads, under load:"
load_start load5
sleep 1
i=1
while [ $i -le $RELOADS ]; do
	# shellcheck disable=SC2086
	show nsrun $RELOAD -v || fail "haproxy-reload failed (reload $i)"
	grep -q 'reloaded: master [0-9]*: new worker [0-9]*' "$TMP/out" ||
		fail "haproxy-reload did not confirm a new worker"
	sleep 0.5
	i=$((i + 1))
done
sleep 1
load_stop load5
say "The load client: $LOAD_REQUESTS requests, $LOAD_FAILED failed."
[ "$LOAD_FAILED" = 0 ] || fail "$LOAD_FAILED requests failed during the reloads"
[ "$LOAD_REQUESTS" -gt 0 ] || fail "the load client sent nothing"
say "And an invalid configuration changes nothing: haproxy-reload exits 1."
cp "$TMP/haproxy.cfg" "$TMP/broken.cfg" && echo "backend broken
    server x 127.0.0.1:1 no-such-keyword" >>"$TMP/broken.cfg"
show nsrun haproxy-reload -q -f "$TMP/broken.cfg" -m master -S "$TMP/haproxy-master.sock" -l "$TMP/haproxy-reload.lock"
rc=$?
[ "$rc" = 1 ] || fail "haproxy-reload of a broken file exited $rc, not 1"
nsrun curl -sf -o /dev/null "http://$GW:13000/" || fail "HAProxy stopped serving"
ok "$RELOADS reloads, 0 of $LOAD_REQUESTS requests failed; a broken file was refused ($(elapsed)s)"

# --- 6 ----------------------------------------------------------------

step "6. Teardown"
maybe_fail 6
say "Stopping by PID: render.py, HAProxy, the Marathon emulator (which stops"
say "its tasks: SIGTERM to service-wrapper, forwarded to server.py), Consul;"
say "then the namespace and the scratch directory."
KEEP_TMP=$TMP
cleanup
[ "$LEFT" = 0 ] || fail "$LEFT processes were still in the namespace and had to be killed"
[ "${FW_RULES:-0}" = 0 ] || fail "$FW_RULES haproxy-reload firewall rules were left"
ip netns list | grep -q "^$NS\\b" && fail "namespace $NS is still there"
[ -e "$KEEP_TMP" ] && fail "$KEEP_TMP is still there"
# shellcheck disable=SC2009
ps -eo args= | grep -F "$KEEP_TMP" | grep -v grep >/dev/null && fail "a process still runs from $KEEP_TMP"
ok "no process, namespace, firewall rule or scratch file left"
echo
echo "demo: all steps behaved as narrated, in $(elapsed)s."
