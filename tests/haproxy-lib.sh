# See COPYING for copyright and license details.
# shellcheck shell=sh
# shellcheck disable=SC2034,SC2119,SC2120
#
# tests/haproxy-lib.sh: a real HAProxy 2.6 in a network namespace of our
# own, for tests/cli/haproxy-reload.t and tests/bench/haproxy-reload.sh.
# Source it after tests/lib.sh (or on its own: it brings a test_wait_for
# when there is none). POSIX sh. Needs root, ip(8), /usr/sbin/haproxy,
# curl, python3. Everything runs on 127.0.0.1 inside the namespace; the
# host's network and firewall are never touched.
#
# Functions (stable names; the benchmark uses them too):
#
#   hpr_setup [-t] [DIR]   create the namespace $HPR_NS (galley-hpr-$$ unless
#                          set) with lo up, and the state directory $HPR_DIR
#                          (DIR, default $PWD/hpr; with -t and no DIR a new
#                          mktemp -d, removed by the teardown). Registers
#                          hpr_teardown with test_when_finished, or with -t
#                          as an EXIT/INT/TERM/HUP trap (scripts, the bench).
#   hpr_teardown [DIR]     kill, by PID, every process in the namespace and
#                          every PID recorded with hpr_record (TERM, then KILL,
#                          bounded waits), delete the namespace, remove the
#                          sockets, pidfiles and (with -t) the directory.
#                          Safe under set -e. With -t, a TERM/INT/HUP is acted
#                          on when the current foreground command ends (sh):
#                          run long commands with & and wait for them.
#   hpr_nsx CMD...         run CMD inside the namespace.
#   hpr_record PID...      have hpr_teardown kill PID too (host-side helpers).
#   hpr_alive PID          true while PID exists and is not a zombie.
#   hpr_backend_start [PORT...]  keep-alive HTTP backends (hpr-backend.py) on
#                          127.0.0.1:PORT in the namespace (default
#                          $HPR_BACKEND_PORTS = "9001"); waits until they listen.
#   hpr_cfg FILE [-b ADDR] [-p PORT[,PORT...]] [-t TAG] [-m MODE] [-i] [-H]
#           [-g LINE] [-d LINE] [-f LINE]
#                          write a config: frontend fe on ADDR:PORT (default
#                          127.0.0.1:$HPR_PORT = 8080) to backend be (the
#                          backend ports), "X-Galley-Config: TAG" on every
#                          answer (default TAG v1), mode MODE (http), -i adds
#                          "option idle-close-on-response" to defaults, -H
#                          leaves out "hard-stop-after 3s"; -g/-d/-f add a
#                          line to global/defaults/frontend (repeatable).
#   hpr_start_master [-n] CFG [HAPROXY-ARGS...]
#                          haproxy -W (master-worker) in the namespace, with
#                          the master socket $HPR_MSOCK (-n: none), pidfile
#                          $HPR_PIDFILE, output in $HPR_LOG; sets
#                          $HPR_MASTER_PID; waits until a worker serves.
#   hpr_start_standalone CFG [HAPROXY-ARGS...]
#                          haproxy -D -p $HPR_PIDFILE; sets $HPR_STANDALONE_PID.
#   hpr_haproxy_pid        the first PID in $HPR_PIDFILE.
#   hpr_mcli CMD           the master CLI's answer to CMD (retried: right
#                          after a reload the master may not answer at once).
#   hpr_workers            current worker PIDs from "show proc", one a line.
#   hpr_old_workers        old (soft-stopping) worker PIDs from "show proc".
#   hpr_failed             the master's "[failed: N]" count.
#   hpr_children PID       haproxy processes whose parent is PID (from /proc).
#   hpr_get PORT [PATH]    one request in the namespace; prints
#                          "STATUS TAG" (TAG from X-Galley-Config).
#   hpr_serves PORT TAG    true when PORT answers 200 with config TAG.
#   hpr_expect_serves PORT TAG  the same, explaining on stderr when not.
#   hpr_wait_port PORT     wait (bounded) until PORT answers 200.
#   hpr_rules [PORT]       the tagged haproxy-reload rules in the namespace's
#                          INPUT chains (iptables -S and ip6tables -S), one a
#                          line prefixed "4 " or "6 "; only PORT's with PORT.
#   hpr_no_rules           true when there is no tagged rule left.
#   hpr_reload ARGS...     haproxy-reload ARGS... run inside the namespace.
#
# Variables: HPR_NS, HPR_DIR, HPR_PORT, HPR_BACKEND_PORTS, HPR_MSOCK,
# HPR_PIDFILE, HPR_LOG, HPR_MASTER_PID, HPR_STANDALONE_PID, HPR_HELPERS,
# HPR_HAPROXY (default /usr/sbin/haproxy), HPR_PYTHON ($PYTHON or python3).

HPR_HELPERS=${HPR_HELPERS:-${GALLEY_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/helpers}
HPR_HAPROXY=${HPR_HAPROXY:-/usr/sbin/haproxy}
HPR_PYTHON=${HPR_PYTHON:-${PYTHON:-python3}}
HPR_PORT=${HPR_PORT:-8080}
HPR_BACKEND_PORTS=${HPR_BACKEND_PORTS:-9001}
HPR_NS=${HPR_NS:-galley-hpr-$$}
# The tool's environment twins must not leak in from the caller.
unset HAPROXY_CONFIG HAPROXY_MASTER_SOCKET HAPROXY_PIDFILE HAPROXY_RELOAD_METHOD

if ! command -v test_wait_for >/dev/null 2>&1; then
	# shellcheck source=wait.sh
	. "${GALLEY_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/wait.sh"
fi

hpr_setup() {
	_hpr_trap=
	if [ "${1:-}" = -t ]; then
		_hpr_trap=1
		shift
	fi
	if [ -n "${1:-}" ]; then
		HPR_DIR=$1
		mkdir -p "$HPR_DIR" || return 1
		HPR_DIR=$(cd "$HPR_DIR" && pwd) || return 1
		_hpr_made=
	elif [ -n "$_hpr_trap" ]; then
		HPR_DIR=$(mktemp -d "${TMPDIR:-/tmp}/galley-hpr.XXXXXX") || return 1
		_hpr_made=1
	else
		HPR_DIR=$PWD/hpr
		mkdir -p "$HPR_DIR" || return 1
		_hpr_made=
	fi
	HPR_MSOCK=$HPR_DIR/master.sock
	HPR_PIDFILE=$HPR_DIR/haproxy.pid
	HPR_LOG=$HPR_DIR/haproxy.log
	HPR_MASTER_PID=
	HPR_STANDALONE_PID=
	echo "$HPR_NS" >"$HPR_DIR/ns"
	: >"$HPR_DIR/pids"
	[ -n "$_hpr_made" ] && : >"$HPR_DIR/.made"
	# Teardown first, so that a half-done setup is undone too.
	if [ -n "$_hpr_trap" ]; then
		# shellcheck disable=SC2064
		trap "hpr_teardown '$HPR_DIR'" EXIT
		trap 'exit 130' INT
		trap 'exit 143' TERM
		trap 'exit 129' HUP
	else
		test_when_finished "hpr_teardown '$HPR_DIR'"
	fi
	if ip netns list | grep -q "^$HPR_NS\\( \\|\$\\)"; then
		echo "hpr_setup: network namespace $HPR_NS already exists" >&2
		return 1
	fi
	ip netns add "$HPR_NS" || return 1
	ip -n "$HPR_NS" link set lo up || return 1
}

hpr_alive() {
	[ -r "/proc/$1/stat" ] || return 1
	# The state is the field after the parenthesised command name.
	_hpr_st=$(sed 's/^.*) \(.\).*/\1/' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$_hpr_st" ] && [ "$_hpr_st" != Z ] && [ "$_hpr_st" != X ]
}

# _hpr_alive_any PID...: one of them is still alive.
_hpr_alive_any() {
	for _hpr_p in "$@"; do
		hpr_alive "$_hpr_p" && return 0
	done
	return 1
}

hpr_teardown() {
	# Never stopped half-way by the caller's set -e: a process may die
	# between the listing and the kill.
	case $- in
	*e*) _hpr_errexit=1; set +e ;;
	*) _hpr_errexit='' ;;
	esac
	_hpr_teardown_ "$@"
	[ -z "$_hpr_errexit" ] || set -e
	return 0
}

_hpr_teardown_() {
	_hpr_d=${1:-${HPR_DIR:-}}
	[ -n "$_hpr_d" ] && [ -d "$_hpr_d" ] || return 0
	_hpr_ns=$(cat "$_hpr_d/ns" 2>/dev/null)
	_hpr_pids=$(cat "$_hpr_d/pids" 2>/dev/null)
	if [ -n "$_hpr_ns" ] && ip netns list | grep -q "^$_hpr_ns\\( \\|\$\\)"; then
		_hpr_pids="$_hpr_pids $(ip netns pids "$_hpr_ns" 2>/dev/null)"
	fi
	for _hpr_sig in TERM KILL; do
		for _hpr_p in $_hpr_pids; do
			hpr_alive "$_hpr_p" && kill -s "$_hpr_sig" "$_hpr_p" 2>/dev/null
		done
		# shellcheck disable=SC2016,SC2086
		test_wait_for 3 eval '! _hpr_alive_any $_hpr_pids' 2>/dev/null && break
	done
	# Anything that appeared in the namespace meanwhile (a respawn).
	if [ -n "$_hpr_ns" ] && ip netns list | grep -q "^$_hpr_ns\\( \\|\$\\)"; then
		for _hpr_p in $(ip netns pids "$_hpr_ns" 2>/dev/null); do
			kill -s KILL "$_hpr_p" 2>/dev/null
		done
		ip netns delete "$_hpr_ns" || echo "hpr_teardown: ip netns delete $_hpr_ns failed" >&2
	fi
	rm -f "$_hpr_d/master.sock" "$_hpr_d"/*.sock "$_hpr_d"/*.pid
	if [ -f "$_hpr_d/.made" ]; then
		rm -rf "$_hpr_d"
	fi
}

hpr_nsx() {
	ip netns exec "$HPR_NS" "$@"
}

hpr_record() {
	for _hpr_p in "$@"; do
		echo "$_hpr_p" >>"$HPR_DIR/pids"
	done
}

hpr_backend_start() {
	# shellcheck disable=SC2086
	[ $# -gt 0 ] || set -- $HPR_BACKEND_PORTS
	for _hpr_bp in "$@"; do
		rm -f "$HPR_DIR/backend-$_hpr_bp.ready"
		ip netns exec "$HPR_NS" "$HPR_PYTHON" "$HPR_HELPERS/hpr-backend.py" "$_hpr_bp" \
			"$HPR_DIR/backend-$_hpr_bp.ready" >"$HPR_DIR/backend-$_hpr_bp.log" 2>&1 </dev/null &
		hpr_record $!
	done
	for _hpr_bp in "$@"; do
		test_wait_for 10 test -s "$HPR_DIR/backend-$_hpr_bp.ready" || {
			echo "hpr_backend_start: backend on port $_hpr_bp did not start:" >&2
			cat "$HPR_DIR/backend-$_hpr_bp.log" >&2
			return 1
		}
	done
}

hpr_cfg() {
	_hpr_file=$1
	shift
	_hpr_addr=127.0.0.1 _hpr_ports=$HPR_PORT _hpr_tag=v1 _hpr_mode=http
	_hpr_icr='' _hpr_hsa=1 _hpr_g='' _hpr_dl='' _hpr_fl=''
	OPTIND=1
	while getopts b:p:t:m:iHg:d:f: _hpr_o; do
		case $_hpr_o in
		b) _hpr_addr=$OPTARG ;;
		p) _hpr_ports=$OPTARG ;;
		t) _hpr_tag=$OPTARG ;;
		m) _hpr_mode=$OPTARG ;;
		i) _hpr_icr=1 ;;
		H) _hpr_hsa= ;;
		g) _hpr_g="$_hpr_g    $OPTARG
" ;;
		d) _hpr_dl="$_hpr_dl    $OPTARG
" ;;
		f) _hpr_fl="$_hpr_fl    $OPTARG
" ;;
		*) echo "hpr_cfg: bad option" >&2; return 2 ;;
		esac
	done
	{
		echo "global"
		echo "    maxconn 4000"
		[ -n "$_hpr_hsa" ] && echo "    hard-stop-after 3s"
		printf '%s' "$_hpr_g"
		echo "defaults"
		echo "    mode $_hpr_mode"
		echo "    timeout connect 2s"
		echo "    timeout client 10s"
		echo "    timeout server 10s"
		[ "$_hpr_mode" = http ] && echo "    timeout http-keep-alive 5s"
		[ -n "$_hpr_icr" ] && echo "    option idle-close-on-response"
		printf '%s' "$_hpr_dl"
		echo "frontend fe"
		for _hpr_fp in $(echo "$_hpr_ports" | tr , ' '); do
			echo "    bind $_hpr_addr:$_hpr_fp"
		done
		[ "$_hpr_mode" = http ] &&
			echo "    http-response set-header X-Galley-Config $_hpr_tag"
		echo "    default_backend be"
		printf '%s' "$_hpr_fl"
		echo "backend be"
		for _hpr_bp in $HPR_BACKEND_PORTS; do
			echo "    server s$_hpr_bp 127.0.0.1:$_hpr_bp"
		done
	} >"$_hpr_file.tmp" && mv "$_hpr_file.tmp" "$_hpr_file"
}

hpr_haproxy_pid() {
	head -n 1 "$HPR_PIDFILE" 2>/dev/null
}

hpr_start_master() {
	_hpr_sock=1
	if [ "$1" = -n ]; then
		_hpr_sock=
		shift
	fi
	_hpr_cfgf=$1
	shift
	rm -f "$HPR_PIDFILE" "$HPR_MSOCK"
	# ip netns exec execs haproxy: $! is the master's PID.
	if [ -n "$_hpr_sock" ]; then
		ip netns exec "$HPR_NS" "$HPR_HAPROXY" -W -S "$HPR_MSOCK" -f "$_hpr_cfgf" \
			-p "$HPR_PIDFILE" "$@" >>"$HPR_LOG" 2>&1 </dev/null &
	else
		ip netns exec "$HPR_NS" "$HPR_HAPROXY" -W -f "$_hpr_cfgf" \
			-p "$HPR_PIDFILE" "$@" >>"$HPR_LOG" 2>&1 </dev/null &
	fi
	HPR_MASTER_PID=$!
	hpr_record "$HPR_MASTER_PID"
	if [ -n "$_hpr_sock" ]; then
		test_wait_for 10 test -S "$HPR_MSOCK" || { cat "$HPR_LOG" >&2; return 1; }
	fi
	test_wait_for 10 _hpr_has_children "$HPR_MASTER_PID" || { cat "$HPR_LOG" >&2; return 1; }
	_hpr_first_port=$(sed -n 's/^    bind [^ ]*:\([0-9]*\)$/\1/p' "$_hpr_cfgf" | head -n 1)
	[ -z "$_hpr_first_port" ] || hpr_wait_port "$_hpr_first_port" || { cat "$HPR_LOG" >&2; return 1; }
	if [ -n "$_hpr_sock" ]; then
		test_wait_for 10 _hpr_has_workers || { cat "$HPR_LOG" >&2; return 1; }
	fi
}

_hpr_has_children() {
	[ -n "$(hpr_children "$1")" ]
}

_hpr_has_workers() {
	[ -n "$(hpr_workers)" ]
}

hpr_start_standalone() {
	_hpr_cfgf=$1
	shift
	rm -f "$HPR_PIDFILE"
	ip netns exec "$HPR_NS" "$HPR_HAPROXY" -D -f "$_hpr_cfgf" -p "$HPR_PIDFILE" "$@" \
		>>"$HPR_LOG" 2>&1 </dev/null || { cat "$HPR_LOG" >&2; return 1; }
	test_wait_for 10 test -s "$HPR_PIDFILE" || return 1
	HPR_STANDALONE_PID=$(hpr_haproxy_pid)
	hpr_record "$HPR_STANDALONE_PID"
	_hpr_first_port=$(sed -n 's/^    bind [^ ]*:\([0-9]*\)$/\1/p' "$_hpr_cfgf" | head -n 1)
	[ -z "$_hpr_first_port" ] || hpr_wait_port "$_hpr_first_port"
}

hpr_mcli() {
	for _hpr_try in 1 2 3 4; do
		if "$HPR_PYTHON" "$HPR_HELPERS/hpr-mcli.py" "$HPR_MSOCK" "$1" 1.5 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	echo "hpr_mcli: $HPR_MSOCK: no answer to '$1'" >&2
	return 3
}

# _hpr_show_proc SECTION: PIDs of "show proc" lines of type worker under
# "# SECTION".
_hpr_show_proc() {
	hpr_mcli "show proc" >"$HPR_DIR/show-proc" || return 1
	awk -v want="# $1" '
		/^#/ { sec = $0; next }
		sec == want && $2 == "worker" { print $1 }' "$HPR_DIR/show-proc"
}

hpr_workers() {
	_hpr_show_proc workers
}

hpr_old_workers() {
	_hpr_show_proc "old workers"
}

hpr_failed() {
	hpr_mcli "show proc" >"$HPR_DIR/show-proc" || return 1
	sed -n 's/^[0-9]*[[:space:]]*master[[:space:]].*\[failed: \([0-9]*\)\].*/\1/p' "$HPR_DIR/show-proc"
}

hpr_children() {
	ps -o pid=,stat=,comm= --ppid "$1" 2>/dev/null |
		awk '$3 == "haproxy" && $2 !~ /^[ZX]/ { print $1 }'
}

hpr_get() {
	ip netns exec "$HPR_NS" curl -sS -o /dev/null --max-time 3 \
		-w '%{http_code} %header{x-galley-config}\n' \
		"http://127.0.0.1:$1${2:-/}" 2>/dev/null
}

hpr_serves() {
	[ "$(hpr_get "$1")" = "200 $2" ]
}

hpr_expect_serves() {
	_hpr_got=$(hpr_get "$1") || :
	[ "$_hpr_got" = "200 $2" ] && return 0
	echo "hpr_expect_serves: port $1 answered '$_hpr_got', wanted '200 $2'" >&2
	return 1
}

_hpr_answers() {
	hpr_get "$1" | grep -q '^200 '
}

hpr_wait_port() {
	test_wait_for 10 _hpr_answers "$1" || {
		echo "hpr_wait_port: port $1 does not answer" >&2
		return 1
	}
}

hpr_rules() {
	for _hpr_v in 4 6; do
		if [ $_hpr_v = 4 ]; then _hpr_t=iptables; else _hpr_t=ip6tables; fi
		command -v $_hpr_t >/dev/null 2>&1 || continue
		ip netns exec "$HPR_NS" $_hpr_t -w -S INPUT 2>/dev/null |
			grep 'haproxy-reload' |
			if [ -n "${1:-}" ]; then grep -- "--dport $1 "; else cat; fi |
			sed "s/^/$_hpr_v /"
	done
}

hpr_no_rules() {
	[ -z "$(hpr_rules)" ]
}

hpr_reload() {
	ip netns exec "$HPR_NS" haproxy-reload "$@"
}
