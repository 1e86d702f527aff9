#!/bin/sh
# shellcheck disable=SC2016,SC2034
test_description='haproxy-reload against a real HAProxy 2.6 in a network namespace (DESIGN.md §5)'
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=../haproxy-lib.sh
. "$GALLEY_ROOT/tests/haproxy-lib.sh"

if [ -x "$GALLEY_ROOT/bin/haproxy-reload" ]; then
	test_set_prereq HAPROXY_RELOAD
else
	say "bin/haproxy-reload is not built: its tests skip"
fi
test_have_prereq ROOT || say "not root: the namespace, HAProxy and firewall tests skip"
command -v flock >/dev/null 2>&1 && test_set_prereq FLOCK
# Everything that starts HAProxy or touches a firewall runs in a namespace.
NSP=ROOT,NETNS,HAPROXY,HAPROXY_RELOAD
FWP=$NSP,IPTABLES

# --- helpers -------------------------------------------------------------

# A reload command for the syn-drop tests: records the firewall during
# the hold, then does ACTION.
#   hold.sh DIR exec CMD...   run CMD
#   hold.sh DIR exit N        exit N
#   hold.sh DIR hang          write DIR/holding, then sleep 30 (until killed)
#   hold.sh DIR wait-gone     wait (<= 5 s) until no tagged rule is left,
#                             write DIR/gone, exit 0 (exit 9 if they stay)
# With PROBE=PORT, it also tries a new connection to PORT (DIR/probe:
# curl's status, 28 = timed out) and to the backend (DIR/probe-backend).
cat >"$TRASH/hold.sh" <<'EOF'
#!/bin/sh
PATH=/usr/sbin:/usr/bin:/sbin:/bin
d=$1 act=$2
shift 2
date +%s%N >"$d/started"
iptables -w -S INPUT >"$d/hold4" 2>&1
ip6tables -w -S INPUT >"$d/hold6" 2>&1 || :
if [ -n "${PROBE:-}" ]; then
	curl -s -o /dev/null --connect-timeout 0.5 "http://127.0.0.1:$PROBE/"
	echo $? >"$d/probe"
	curl -s -o /dev/null --max-time 2 http://127.0.0.1:9001/
	echo $? >"$d/probe-backend"
fi
case $act in
exec) exec "$@" ;;
exit) exit "$1" ;;
hang) echo $$ >"$d/hang.pid"; : >"$d/holding"; exec sleep 30 ;;
wait-gone)
	i=0
	while iptables -w -S INPUT | grep -q haproxy-reload; do
		i=$((i + 1))
		[ $i -lt 100 ] || exit 9
		sleep 0.05
	done
	date +%s%N >"$d/gone"
	exit 0 ;;
esac
exit 99
EOF
# argv.sh OUT ARG...: writes each argument as [ARG] on a line of OUT, and
# the targets of its open file descriptors to OUT.fds.
cat >"$TRASH/argv.sh" <<'EOF'
#!/bin/sh
out=$1
shift
for a; do printf '[%s]\n' "$a"; done >"$out"
for f in /proc/$$/fd/*; do readlink "$f"; done >"$out.fds" 2>/dev/null
exit 0
EOF
# gate.sh LOG NAME [GO-FILE]: appends "NAME start", waits (<= 10 s) for
# GO-FILE when given, appends "NAME end".
cat >"$TRASH/gate.sh" <<'EOF'
#!/bin/sh
echo "$2 start" >>"$1"
if [ -n "${3:-}" ]; then
	i=0
	while [ ! -e "$3" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
fi
echo "$2 end" >>"$1"
EOF
chmod +x "$TRASH/hold.sh" "$TRASH/argv.sh" "$TRASH/gate.sh"
HOLD=$TRASH/hold.sh
ARGV=$TRASH/argv.sh
GATE=$TRASH/gate.sh
export HOLD ARGV GATE

# mw_up [hpr_cfg options]: namespace, backend, a master-worker HAProxy
# with a master socket serving ./cfg.
mw_up() {
	hpr_setup && hpr_backend_start && hpr_cfg "$PWD/cfg" "$@" &&
		hpr_start_master "$PWD/cfg"
}

# rl ARGS...: haproxy-reload in the namespace with a private lock file.
rl() {
	hpr_reload -l "$PWD/lock" "$@"
}

test_path_is_missing() {
	[ ! -e "$1" ] || { echo "$1 exists, should not" >&2; return 1; }
}

now_ms() {
	echo $(( $(date +%s%N) / 1000000 ))
}

# elapsed_below MS: the time since T0 (now_ms) is below MS.
elapsed_below() {
	_e=$(( $(now_ms) - T0 ))
	[ "$_e" -lt "$1" ] || { echo "took ${_e}ms, wanted < $1ms" >&2; return 1; }
}

# same_children PID OLD: the haproxy children of PID are still OLD.
same_children() {
	_k=$(hpr_children "$1")
	[ "$_k" = "$2" ] && return 0
	echo "same_children: the children of $1 are '$_k', were '$2'" >&2
	ps -o pid,ppid,stat,args --ppid "$1" >&2
	return 1
}

# has_fd PID FILE: PID has FILE open.
has_fd() {
	for _f in /proc/"$1"/fd/*; do
		[ "$(readlink "$_f" 2>/dev/null)" = "$2" ] && return 0
	done
	return 1
}

# drop_rule FILE PORT: FILE (iptables -S) has one tagged SYN-drop rule
# for PORT: -p tcp, --dport PORT, SYN only, a comment naming the tool and
# the port, -j DROP.
drop_rule() {
	grep -e '^-A INPUT ' "$1" | grep -e "--dport $2 " | grep -e 'haproxy-reload' >"$1.$2" || :
	if [ "$(wc -l <"$1.$2")" != 1 ]; then
		echo "drop_rule: wanted one tagged rule for port $2 in $1:" >&2
		cat "$1" >&2
		return 1
	fi
	sed -n 's/.*--comment \("[^"]*"\|[^ ]*\).*/\1/p' "$1.$2" >"$1.$2.c"
	if ! grep -q -e '-p tcp' "$1.$2" ||
		! grep -q -e '--tcp-flags FIN,SYN,RST,ACK SYN' "$1.$2" ||
		! grep -q -e '-j DROP' "$1.$2" ||
		! grep -q haproxy-reload "$1.$2.c" || ! grep -q "$2" "$1.$2.c"; then
		echo "drop_rule: not a tagged SYN drop for port $2:" >&2
		cat "$1.$2" >&2
		return 1
	fi
}

# drop_rule6 FILE PORT: drop_rule for ip6tables -S, when there is ip6tables.
drop_rule6() {
	command -v ip6tables >/dev/null 2>&1 || return 0
	drop_rule "$@"
}

# --- command line ----------------------------------------------------------

test_expect_success HAPROXY_RELOAD '--help on stdout lists every option, exit 0' '
	haproxy-reload --help >out 2>err &&
	test_line_count = 0 err &&
	test_grep "^usage: haproxy-reload " out &&
	for o in -f -l -m -p -P -S -q -v --settle --max-hold --timeout; do
		test_grep -e "$o" out || exit 1
	done &&
	haproxy-reload -h >out2 && test_cmp out out2
'

test_expect_success HAPROXY_RELOAD '--version' '
	haproxy-reload --version >out 2>err &&
	test_line_count = 0 err &&
	test_grep "^haproxy-reload (galley) [0-9][0-9.]*\$" out
'

test_expect_success HAPROXY_RELOAD 'usage errors: exit 2, the flag named, one usage line' '
	for args in "--no-such-option" "-m bogus" "--timeout 5x" "--settle -1s" \
		"--max-hold soon" "-p 0" "-p 99999" "-p http" "-p 80,,81" "-p 80,x" "-f"; do
		# shellcheck disable=SC2086
		test_expect_code 2 haproxy-reload -l "$PWD/lock" $args >out 2>err || exit 1
		test_line_count = 0 out || exit 1
		tail -n 1 err | grep -q "^usage: haproxy-reload " || {
			echo "no usage line for: $args"; cat err; exit 1; }
		test_grep "^haproxy-reload: " err || exit 1
	done &&
	test_expect_code 2 haproxy-reload -m bogus 2>err &&
	test_grep "^haproxy-reload: -m bogus: expected master, signal, syn-drop or command" err &&
	test_expect_code 2 env HAPROXY_RELOAD_METHOD=bogus haproxy-reload 2>err &&
	test_grep "^haproxy-reload: HAPROXY_RELOAD_METHOD=bogus: " err &&
	test_expect_code 2 haproxy-reload --timeout 5x 2>err &&
	test_grep "^haproxy-reload: --timeout 5x: .*duration" err &&
	test_expect_code 2 haproxy-reload --max-hold soon 2>err &&
	test_grep "^haproxy-reload: --max-hold soon: .*duration" err &&
	test_expect_code 2 haproxy-reload -p 99999 2>err && test_grep "^haproxy-reload: -p 99999: " err &&
	test_expect_code 2 haproxy-reload -p http 2>err && test_grep "^haproxy-reload: -p http: " err
'

# --- no root needed: the check, the command method, advice, the lock -----

test_expect_success HAPROXY,HAPROXY_RELOAD 'command: an invalid config is exit 1 with HAProxy'"'"'s message, the command not run' '
	hpr_cfg cfg -d bogus_kw &&
	test_expect_code 1 haproxy-reload -l "$PWD/lock" -m command -f "$PWD/cfg" \
		-- "$ARGV" "$PWD/ran" 2>err &&
	test_grep "unknown keyword .bogus_kw. in .defaults. section" err &&
	test_grep "^haproxy-reload: " err &&
	test_path_is_missing ran &&
	test_grep -v "idle-close-on-response" err &&
	test_expect_code 1 haproxy-reload -l "$PWD/lock" -m command -f "$PWD/missing.cfg" \
		-- "$ARGV" "$PWD/ran" 2>err &&
	test_grep "missing.cfg" err &&
	test_path_is_missing ran
'

test_expect_success HAPROXY,HAPROXY_RELOAD 'command: the arguments after -- arrive intact, without a shell' '
	hpr_cfg cfg -i &&
	haproxy-reload -q -l "$PWD/lock" -m command -f "$PWD/cfg" -- "$ARGV" "$PWD/argv" \
		"a b" "c;d" "\$HOME" "*" "" "x\"y" "-q" "--" "e|f&g" >out 2>err &&
	test_line_count = 0 out &&
	cat >expect <<-\EOF &&
	[a b]
	[c;d]
	[$HOME]
	[*]
	[]
	[x"y]
	[-q]
	[--]
	[e|f&g]
	EOF
	test_cmp expect argv
'

test_expect_success HAPROXY,HAPROXY_RELOAD 'command: the lock is not inherited by the reload command' '
	hpr_cfg cfg &&
	haproxy-reload -q -l "$PWD/lock" -m command -f "$PWD/cfg" -- "$ARGV" "$PWD/argv" &&
	test -e lock &&
	test_grep -v -x "$PWD/lock" argv.fds
'

test_expect_success HAPROXY,HAPROXY_RELOAD 'command: a failing reload command is exit 1 naming its status' '
	hpr_cfg cfg &&
	test_expect_code 1 haproxy-reload -q -l "$PWD/lock" -m command -f "$PWD/cfg" \
		-- sh -c "exit 7" 2>err &&
	test_grep "^haproxy-reload: " err &&
	test_grep -E "(status|code|exited( with)?) 7" err
'

test_expect_success HAPROXY,HAPROXY_RELOAD 'command: a reload command that is not there is exit 3, named' '
	hpr_cfg cfg &&
	test_expect_code 3 haproxy-reload -q -l "$PWD/lock" -m command -f "$PWD/cfg" \
		-- "$PWD/no-such-command" 2>err &&
	test_grep "no-such-command" err &&
	test_expect_code 3 haproxy-reload -q -l "$PWD/lock" -m command -f "$PWD/cfg" \
		-- galley-no-such-command-here 2>err &&
	test_grep "galley-no-such-command-here" err
'

test_expect_success HAPROXY,HAPROXY_RELOAD 'command: outliving --timeout it is killed (TERM, then KILL), exit 1' '
	hpr_cfg cfg &&
	T0=$(now_ms) &&
	test_expect_code 1 haproxy-reload -q -l "$PWD/lock" -m command -f "$PWD/cfg" --timeout 500ms \
		-- sh -c "echo \$\$ >\"\$1\"; trap \"\" TERM; exec sleep 30" sh "$PWD/pid" 2>err &&
	elapsed_below 6000 &&
	test_grep "^haproxy-reload: " err &&
	test -s pid &&
	test_wait_for 2 eval "! hpr_alive $(cat pid)"
'

test_expect_success HAPROXY,HAPROXY_RELOAD 'signal: a pidfile missing, without a PID, or naming no process: exit 3, named' '
	hpr_cfg cfg &&
	test_expect_code 3 haproxy-reload -q -l "$PWD/lock" -m signal -f "$PWD/cfg" \
		-P "$PWD/none.pid" 2>err &&
	test_grep "none.pid: cannot read the master.s PID" err &&
	echo abc >bad.pid &&
	test_expect_code 3 haproxy-reload -q -l "$PWD/lock" -m signal -f "$PWD/cfg" \
		-P "$PWD/bad.pid" 2>err &&
	test_grep "bad.pid: no PID on its first line" err &&
	sh -c "exit 0" & gone=$! && wait $gone &&
	echo "$gone" >gone.pid &&
	test_expect_code 3 haproxy-reload -q -l "$PWD/lock" -m signal -f "$PWD/cfg" \
		-P "$PWD/gone.pid" 2>err &&
	test_grep "gone.pid: no process $gone: HAProxy is not running" err
'

test_expect_success HAPROXY,HAPROXY_RELOAD 'the flags win over their environment twins' '
	hpr_cfg good -i && hpr_cfg bad -d bogus_kw &&
	env HAPROXY_CONFIG="$PWD/bad" HAPROXY_RELOAD_METHOD=bogus \
		HAPROXY_MASTER_SOCKET="$PWD/none.sock" HAPROXY_PIDFILE="$PWD/none.pid" \
		haproxy-reload -q -l "$PWD/lock" -m command -f "$PWD/good" -- "$ARGV" "$PWD/ran" &&
	test -e ran &&
	test_expect_code 1 env HAPROXY_CONFIG="$PWD/bad" \
		haproxy-reload -q -l "$PWD/lock" -m command -- "$ARGV" "$PWD/ran2" 2>err &&
	test_grep "bogus_kw" err &&
	test_path_is_missing ran2
'

test_expect_success HAPROXY,HAPROXY_RELOAD 'the default reload command is systemctl reload haproxy (exit 3 when not found)' '
	hpr_cfg cfg -i && mkdir onlyha &&
	ln -s "$(command -v haproxy)" onlyha/haproxy &&
	tool=$(command -v haproxy-reload) &&
	test_expect_code 3 env PATH="$PWD/onlyha" "$tool" -q -l "$PWD/lock" -m command \
		-f "$PWD/cfg" 2>err &&
	test_grep "^haproxy-reload: .*systemctl" err
'

test_expect_success HAPROXY,HAPROXY_RELOAD 'a missing haproxy binary: exit 3, named' '
	hpr_cfg cfg &&
	tool=$(command -v haproxy-reload) &&
	test_expect_code 3 env PATH="$GALLEY_ROOT/bin" "$tool" -l "$PWD/lock" -m command \
		-f "$PWD/cfg" -- "$ARGV" "$PWD/ran" 2>err &&
	test_grep "^haproxy-reload: .*haproxy" err &&
	test_path_is_missing ran
'

test_expect_success HAPROXY,HAPROXY_RELOAD 'advice: no idle-close-on-response in mode http, once' '
	hpr_cfg cfg &&
	haproxy-reload -l "$PWD/lock" -m command -f "$PWD/cfg" -- true 2>err &&
	grep "idle-close-on-response" err >advice &&
	test_line_count = 1 advice &&
	test_grep "^haproxy-reload: " advice &&
	test_grep -v "hard-stop-after" err
'

test_expect_success HAPROXY,HAPROXY_RELOAD 'advice: none when the config has idle-close-on-response and hard-stop-after' '
	hpr_cfg cfg -i &&
	haproxy-reload -l "$PWD/lock" -m command -f "$PWD/cfg" -- true 2>err &&
	test_grep -v "idle-close-on-response" err &&
	test_grep -v "hard-stop-after" err
'

test_expect_success HAPROXY,HAPROXY_RELOAD 'advice: hard-stop-after missing' '
	hpr_cfg cfg -i -H &&
	haproxy-reload -l "$PWD/lock" -m command -f "$PWD/cfg" -- true 2>err &&
	grep "hard-stop-after" err >advice &&
	test_line_count = 1 advice &&
	test_grep "^haproxy-reload: " advice &&
	test_grep -v "idle-close-on-response" err
'

test_expect_success HAPROXY,HAPROXY_RELOAD 'advice: only for mode http sections (none about idle-close for mode tcp)' '
	hpr_cfg cfg -m tcp &&
	haproxy-reload -l "$PWD/lock" -m command -f "$PWD/cfg" -- true 2>err &&
	test_grep -v "idle-close-on-response" err
'

test_expect_success HAPROXY,HAPROXY_RELOAD 'advice: a listen section in mode http counts, under mode tcp defaults' '
	cat >cfg <<-\EOF &&
	global
	    hard-stop-after 3s
	defaults
	    mode tcp
	    timeout connect 2s
	    timeout client 10s
	    timeout server 10s
	listen web
	    mode http
	    bind 127.0.0.1:8080
	    server s1 127.0.0.1:9001
	EOF
	haproxy-reload -l "$PWD/lock" -m command -f "$PWD/cfg" -- true 2>err &&
	grep "idle-close-on-response" err >advice &&
	test_line_count = 1 advice &&
	test_grep "listen" advice &&
	sed "/^listen/a\\
	    option idle-close-on-response" cfg >cfg2 &&
	haproxy-reload -l "$PWD/lock" -m command -f "$PWD/cfg2" -- true 2>err &&
	test_grep -v "idle-close-on-response" err
'

test_expect_success HAPROXY,HAPROXY_RELOAD 'advice: command without socket passing suggests tcp_migrate_req' '
	hpr_cfg cfg -i &&
	haproxy-reload -l "$PWD/lock" -m command -f "$PWD/cfg" -- true 2>err &&
	test_grep "net.ipv4.tcp_migrate_req" err
'

test_expect_success HAPROXY,HAPROXY_RELOAD 'advice: -q silences it all (stderr empty on success)' '
	hpr_cfg cfg -H &&
	haproxy-reload -q -l "$PWD/lock" -m command -f "$PWD/cfg" -- true >out 2>err &&
	test_line_count = 0 err &&
	test_line_count = 0 out
'

test_expect_success HAPROXY,HAPROXY_RELOAD,FLOCK 'lock busy past --timeout: exit 3 naming the lock, nothing run' '
	hpr_cfg cfg &&
	{ sh -c "exec 9>\"\$1\"; flock 9; exec sleep 30" sh "$PWD/lock" & } &&
	holder=$! &&
	test_when_finished "kill $holder" &&
	test_wait_for 5 test_must_fail flock -n "$PWD/lock" true &&
	T0=$(now_ms) &&
	test_expect_code 3 haproxy-reload -q -l "$PWD/lock" --timeout 1s -m command \
		-f "$PWD/cfg" -- "$ARGV" "$PWD/ran" 2>err &&
	test $(( $(now_ms) - T0 )) -ge 900 &&
	elapsed_below 5000 &&
	test_grep "^haproxy-reload: .*$PWD/lock" err &&
	test_path_is_missing ran
'

test_expect_success HAPROXY,HAPROXY_RELOAD,FLOCK 'lock held: the second waits, then runs when it is free' '
	hpr_cfg cfg &&
	{ sh -c "exec 9>\"\$1\"; flock 9; exec sleep 30" sh "$PWD/lock" & } &&
	holder=$! &&
	test_when_finished "kill $holder 2>/dev/null || :" &&
	test_wait_for 5 test_must_fail flock -n "$PWD/lock" true &&
	{ haproxy-reload -q -l "$PWD/lock" --timeout 10s -m command -f "$PWD/cfg" \
		-- "$ARGV" "$PWD/ran" 2>err & } &&
	tool=$! &&
	test_when_finished "kill $tool 2>/dev/null || :" &&
	test_wait_for 5 has_fd "$tool" "$PWD/lock" &&
	sleep 0.3 &&
	hpr_alive "$tool" &&
	test_path_is_missing ran &&
	kill "$holder" &&
	wait "$tool" &&
	test -e ran
'

test_expect_success HAPROXY,HAPROXY_RELOAD 'two invocations at once are serialised' '
	hpr_cfg cfg -i &&
	{ haproxy-reload -q -l "$PWD/lock" -m command -f "$PWD/cfg" \
		-- "$GATE" "$PWD/log" A "$PWD/go" 2>errA & } &&
	a=$! &&
	test_when_finished "kill $a 2>/dev/null || :" &&
	test_wait_for 5 grep -q "A start" log &&
	{ haproxy-reload -q -l "$PWD/lock" -m command -f "$PWD/cfg" \
		-- "$GATE" "$PWD/log" B 2>errB & } &&
	b=$! &&
	test_when_finished "kill $b 2>/dev/null || :" &&
	test_wait_for 5 has_fd "$b" "$PWD/lock" &&
	sleep 0.3 &&
	hpr_alive "$b" &&
	: >go &&
	wait "$a" && wait "$b" &&
	printf "A start\nA end\nB start\nB end\n" >expect &&
	test_cmp expect log
'

# --- master ---------------------------------------------------------------

test_expect_success "$NSP" 'master: an invalid config is exit 1, nothing reloaded, the old worker serving; then a new worker, confirmed by PID; the old one leaves' '
	mw_up -t v1 &&
	old=$(hpr_workers) && test -n "$old" &&
	hpr_cfg cfg -t v2 -d bogus_kw &&
	test_expect_code 1 rl -m master -S "$HPR_MSOCK" -f "$PWD/cfg" 2>err &&
	test_grep "unknown keyword .bogus_kw. in .defaults. section" err &&
	test_grep -v "idle-close-on-response" err &&
	test "$(hpr_workers)" = "$old" &&
	test "$(hpr_failed)" = 0 &&
	awk "\$2 == \"master\" && \$3 != 0 { exit 1 }" "$HPR_DIR/show-proc" &&
	test_grep -v "Reloading HAProxy" "$HPR_LOG" &&
	hpr_expect_serves 8080 v1 &&
	hpr_cfg cfg -t v2 -i &&
	rl -m master -S "$HPR_MSOCK" -f "$PWD/cfg" >out 2>err &&
	test_line_count = 0 out &&
	new=$(hpr_workers) && test -n "$new" &&
	test "$new" != "$old" &&
	hpr_old_workers >olds && test_grep -v -x "$new" olds &&
	test "$(hpr_failed)" = 0 &&
	hpr_expect_serves 8080 v2 &&
	test_wait_for 5 eval "! hpr_alive $old" &&
	test_grep -v "idle-close-on-response" err
'

test_expect_success "$NSP" 'master: the default method when the socket exists; environment twins' '
	mw_up -t v1 &&
	old=$(hpr_workers) &&
	hpr_cfg cfg -t v2 -i &&
	rl -q -S "$HPR_MSOCK" -f "$PWD/cfg" &&
	w2=$(hpr_workers) && test -n "$w2" && test "$w2" != "$old" &&
	hpr_expect_serves 8080 v2 &&
	hpr_cfg cfg -t v3 -i &&
	hpr_nsx env HAPROXY_RELOAD_METHOD=master HAPROXY_MASTER_SOCKET="$HPR_MSOCK" \
		HAPROXY_CONFIG="$PWD/cfg" haproxy-reload -l "$PWD/lock" -q &&
	w3=$(hpr_workers) && test -n "$w3" && test "$w3" != "$w2" &&
	hpr_expect_serves 8080 v3
'

test_expect_success "$NSP" 'master: passes -c, fails at start (bind 192.0.2.1): refused, exit 1; the next good one works' '
	mw_up -t v1 &&
	old=$(hpr_workers) &&
	hpr_cfg cfg -t v2 -i -b 192.0.2.1 &&
	hpr_nsx haproxy -c -q -f "$PWD/cfg" &&
	T0=$(now_ms) &&
	test_expect_code 1 rl -m master -S "$HPR_MSOCK" -f "$PWD/cfg" --timeout 5s 2>err &&
	elapsed_below 6000 &&
	test_grep "^haproxy-reload: " err &&
	test_grep -i -E "refused|fail" err &&
	test "$(hpr_workers)" = "$old" &&
	test "$(hpr_failed)" = 1 &&
	hpr_expect_serves 8080 v1 &&
	hpr_cfg cfg -t v3 -i &&
	rl -q -m master -S "$HPR_MSOCK" -f "$PWD/cfg" &&
	new=$(hpr_workers) && test -n "$new" && test "$new" != "$old" &&
	hpr_expect_serves 8080 v3
'

test_expect_success "$NSP" 'master: a socket that never answers is exit 3 with the cause, within --timeout' '
	hpr_setup &&
	hpr_cfg cfg -i &&
	{ hpr_nsx "$HPR_PYTHON" "$HPR_HELPERS/hpr-mute-socket.py" "$PWD/mute.sock" "$PWD/mute.ready" & } &&
	test_wait_for 5 test -s mute.ready &&
	T0=$(now_ms) &&
	test_expect_code 3 rl -m master -S "$PWD/mute.sock" -f "$PWD/cfg" --timeout 1s 2>err &&
	elapsed_below 5000 &&
	test -s mute.ready.count &&
	test_grep "^haproxy-reload: .*mute.sock" err
'

test_expect_success "$NSP" 'master: a socket path that is not a socket, or missing: exit 3, named' '
	hpr_setup &&
	hpr_cfg cfg -i &&
	echo "not a socket" >plain &&
	test_expect_code 3 rl -m master -S "$PWD/plain" -f "$PWD/cfg" --timeout 1s 2>err &&
	test_grep "^haproxy-reload: .*plain" err &&
	test_expect_code 3 rl -m master -S "$PWD/none.sock" -f "$PWD/cfg" --timeout 1s 2>err &&
	test_grep "^haproxy-reload: .*none.sock" err
'

test_expect_success "$NSP" 'master: 0 failed new-connection requests across reloads under load' '
	mw_up -t v0 -i &&
	{ hpr_nsx "$HPR_PYTHON" "$HPR_HELPERS/hpr-newconn.py" -p 8080 -d 1.5 -c 20 -t 3 \
		--ready "$PWD/load.ready" >load.json & } &&
	load=$! &&
	test_wait_for 5 test -e load.ready &&
	for v in v1 v2 v3; do
		hpr_cfg cfg -t $v -i && rl -q -m master -S "$HPR_MSOCK" -f "$PWD/cfg" || exit 1
	done &&
	hpr_expect_serves 8080 v3 &&
	wait "$load" &&
	cat load.json &&
	"$HPR_PYTHON" -c "import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d[\"failed\"] == 0 and d[\"requests\"] > 100 else 1)" load.json
'

# --- signal ---------------------------------------------------------------

test_expect_success "$NSP" 'signal: no signal for an invalid config; SIGUSR2 to the master in the pidfile, the new worker confirmed' '
	hpr_setup && hpr_backend_start && hpr_cfg "$PWD/cfg" -t v1 &&
	hpr_start_master -n "$PWD/cfg" &&
	test "$(hpr_haproxy_pid)" = "$HPR_MASTER_PID" &&
	old=$(hpr_children "$HPR_MASTER_PID") && test -n "$old" &&
	hpr_cfg cfg -t v2 -d bogus_kw &&
	test_expect_code 1 rl -m signal -P "$HPR_PIDFILE" -f "$PWD/cfg" 2>err &&
	test_grep "bogus_kw" err &&
	test_grep -v "Reloading HAProxy" "$HPR_LOG" &&
	same_children "$HPR_MASTER_PID" "$old" &&
	hpr_expect_serves 8080 v1 &&
	hpr_cfg cfg -t v2 -i &&
	rl -q -m signal -P "$HPR_PIDFILE" -f "$PWD/cfg" 2>err &&
	hpr_children "$HPR_MASTER_PID" >kids &&
	test_grep -v -x "$old" kids &&
	test_line_count -ge 1 kids &&
	hpr_expect_serves 8080 v2 &&
	test_wait_for 5 eval "! hpr_alive $old"
'

# -S names a socket that does not exist: the rule "master when the master
# socket exists; else signal when -P is given" picks signal. (Not the
# default -S: a HAProxy of the host may own /run/haproxy-master.sock.)
test_expect_success "$NSP" 'signal: the default method with -P when the master socket does not exist' '
	hpr_setup && hpr_backend_start && hpr_cfg "$PWD/cfg" -t v1 -i &&
	hpr_start_master -n "$PWD/cfg" &&
	hpr_cfg cfg -t v2 -i &&
	rl -q -S "$PWD/none.sock" -P "$HPR_PIDFILE" -f "$PWD/cfg" &&
	hpr_expect_serves 8080 v2 &&
	hpr_cfg cfg -t v3 -i &&
	hpr_nsx env HAPROXY_PIDFILE="$HPR_PIDFILE" HAPROXY_MASTER_SOCKET="$PWD/none.sock" \
		haproxy-reload -l "$PWD/lock" -q -f "$PWD/cfg" &&
	hpr_expect_serves 8080 v3
'

test_expect_success "$NSP" 'signal: a reload that fails at start is not confirmed: exit 1, old worker serving' '
	hpr_setup && hpr_backend_start && hpr_cfg "$PWD/cfg" -t v1 -i &&
	hpr_start_master -n "$PWD/cfg" &&
	old=$(hpr_children "$HPR_MASTER_PID") &&
	hpr_cfg cfg -t v2 -i -b 192.0.2.1 &&
	T0=$(now_ms) &&
	test_expect_code 1 rl -m signal -P "$HPR_PIDFILE" -f "$PWD/cfg" --timeout 1s 2>err &&
	elapsed_below 5000 &&
	test_grep "^haproxy-reload: .*$HPR_PIDFILE" err &&
	same_children "$HPR_MASTER_PID" "$old" &&
	test_wait_for 5 grep -q "Loading failure" "$HPR_LOG" &&
	same_children "$HPR_MASTER_PID" "$old" &&
	test_wait_for 5 hpr_serves 8080 v1
'

# --- command, with a real standalone HAProxy -----------------------------

test_expect_success "$NSP" 'command: a standalone HAProxy reloaded by the command after --' '
	hpr_setup && hpr_backend_start && hpr_cfg "$PWD/cfg" -t v1 -i &&
	hpr_start_standalone "$PWD/cfg" &&
	old=$HPR_STANDALONE_PID &&
	hpr_cfg cfg -t v2 -i &&
	rl -q -m command -f "$PWD/cfg" -- haproxy -D -f "$PWD/cfg" -p "$HPR_PIDFILE" -sf "$old" &&
	new=$(hpr_haproxy_pid) && test -n "$new" && test "$new" != "$old" &&
	hpr_record "$new" &&
	hpr_expect_serves 8080 v2 &&
	test_wait_for 5 eval "! hpr_alive $old"
'

# --- syn-drop -------------------------------------------------------------

test_expect_success "$FWP" 'syn-drop: tagged rules during the hold (SYNs really dropped), none after' '
	hpr_setup && hpr_backend_start && hpr_cfg "$PWD/cfg" -t v1 &&
	hpr_start_standalone "$PWD/cfg" &&
	old=$HPR_STANDALONE_PID &&
	hpr_cfg cfg -t v2 &&
	mkdir h &&
	T0=$(date +%s%N) &&
	hpr_nsx env PROBE=8080 haproxy-reload -l "$PWD/lock" -m syn-drop -p 8080 --settle 300ms -f "$PWD/cfg" \
		-- "$HOLD" "$PWD/h" exec haproxy -D -f "$PWD/cfg" -p "$HPR_PIDFILE" -sf "$old" 2>err &&
	test $(( ($(cat h/started) - T0) / 1000000 )) -ge 300 &&
	drop_rule h/hold4 8080 &&
	drop_rule6 h/hold6 8080 &&
	echo 28 >expect && test_cmp expect h/probe &&
	echo 0 >expect && test_cmp expect h/probe-backend &&
	hpr_no_rules &&
	new=$(hpr_haproxy_pid) && hpr_record "$new" && test "$new" != "$old" &&
	hpr_expect_serves 8080 v2
'

test_expect_success "$FWP" 'syn-drop: an invalid config inserts nothing, runs nothing; a failing reload command: exit 1, the rules gone' '
	hpr_setup && hpr_cfg "$PWD/cfg" -d bogus_kw && mkdir h &&
	test_expect_code 1 rl -m syn-drop --settle 50ms -p 8080 -f "$PWD/cfg" -- "$HOLD" "$PWD/h" exit 0 2>err &&
	test_grep "bogus_kw" err &&
	test_path_is_missing h/started &&
	hpr_no_rules &&
	hpr_cfg "$PWD/cfg" &&
	test_expect_code 1 rl -m syn-drop --settle 50ms -p 8080 -f "$PWD/cfg" -- "$HOLD" "$PWD/h" exit 7 2>err &&
	drop_rule h/hold4 8080 &&
	test_grep -E "(status|code|exited( with)?) 7" err &&
	hpr_no_rules
'

# Stopped by SIGn, the tool removes its rules and exits 128+n (the
# convention of DESIGN.md §3 for a process that dies of a signal).
for sig in TERM:143 INT:130 HUP:129; do
	want=${sig#*:}
	sig=${sig%:*}
	test_expect_success "$FWP" "syn-drop: SIG$sig during the hold removes the rules, exit $want" '
		hpr_setup && hpr_cfg "$PWD/cfg" && mkdir h &&
		{ env --default-signal=INT ip netns exec "$HPR_NS" haproxy-reload -l "$PWD/lock" \
			-m syn-drop --settle 50ms -p 8080 -f "$PWD/cfg" --timeout 20s --max-hold 20s \
			-- "$HOLD" "$PWD/h" hang 2>err & } &&
		tool=$! &&
		test_wait_for 5 test -e h/holding &&
		drop_rule h/hold4 8080 &&
		test -n "$(hpr_rules 8080)" &&
		kill -s '"$sig"' "$tool" &&
		T0=$(now_ms) &&
		status=0 && { wait "$tool" || status=$?; } &&
		echo "haproxy-reload exited $status on SIG'"$sig"'" &&
		elapsed_below 3000 &&
		test "$status" = '"$want"' &&
		if hpr_alive "$(cat h/hang.pid)"; then
			echo "note: the reload command (pid $(cat h/hang.pid)) outlived it"
		fi &&
		hpr_no_rules
	'
done

test_expect_success "$FWP" 'syn-drop: rules a kill -9ed run left (any port) are cleared by the next run' '
	hpr_setup && hpr_cfg "$PWD/cfg" && mkdir h h2 &&
	{ ip netns exec "$HPR_NS" haproxy-reload -l "$PWD/lock" -m syn-drop --settle 50ms -p 8080,8081 \
		-f "$PWD/cfg" --timeout 20s --max-hold 20s -- "$HOLD" "$PWD/h" hang 2>err & } &&
	tool=$! &&
	test_wait_for 5 test -e h/holding &&
	kill -s KILL "$tool" &&
	{ wait "$tool" || :; } &&
	kill "$(cat h/hang.pid)" &&
	test -n "$(hpr_rules 8080)" && test -n "$(hpr_rules 8081)" &&
	rl -m syn-drop --settle 50ms -p 8080 -f "$PWD/cfg" -- "$HOLD" "$PWD/h2" exit 0 2>err &&
	drop_rule h2/hold4 8080 &&
	drop_rule6 h2/hold6 8080 &&
	test_grep -v -e "--dport 8081 " h2/hold4 &&
	test_grep -v -e "--dport 8081 " h2/hold6 &&
	hpr_no_rules
'

# The stale-rule sweep happens under the lock: a run waiting for the lock
# leaves the rules of the run that holds it alone.
test_expect_success "$FWP" 'syn-drop: a run waiting for the lock does not touch the holder'"'"'s rules' '
	hpr_setup && hpr_cfg "$PWD/cfg" && mkdir h h2 &&
	{ ip netns exec "$HPR_NS" haproxy-reload -l "$PWD/lock" -m syn-drop --settle 50ms -p 8080 \
		-f "$PWD/cfg" --timeout 20s --max-hold 20s -- "$HOLD" "$PWD/h" hang 2>err & } &&
	tool=$! &&
	test_wait_for 5 test -e h/holding &&
	test_expect_code 3 rl -m syn-drop --settle 50ms -p 8080,8081 --timeout 1s -f "$PWD/cfg" \
		-- "$HOLD" "$PWD/h2" exit 0 2>err2 &&
	test_grep "lock" err2 &&
	test_path_is_missing h2/started &&
	hpr_rules 8080 | grep "^4 " >rules &&
	test_line_count = 1 rules &&
	test -z "$(hpr_rules 8081)" &&
	kill "$tool" &&
	{ wait "$tool" || :; } &&
	hpr_no_rules
'

test_expect_success "$FWP" 'syn-drop: --max-hold removes the rules while the command still runs' '
	hpr_setup && hpr_cfg "$PWD/cfg" && mkdir h &&
	T0=$(now_ms) &&
	rl -m syn-drop -p 8080 --settle 50ms --max-hold 300ms --timeout 5s -f "$PWD/cfg" \
		-- "$HOLD" "$PWD/h" wait-gone 2>err &&
	drop_rule h/hold4 8080 &&
	test -s h/gone &&
	held=$(( ($(cat h/gone) - $(cat h/started)) / 1000000 )) &&
	echo "rules went $held ms after the command started" &&
	test "$held" -lt 1500 &&
	hpr_no_rules
'

test_expect_success "$FWP" 'syn-drop: a hanging command: rules gone at --max-hold, command killed at --timeout' '
	hpr_setup && hpr_cfg "$PWD/cfg" && mkdir h &&
	T0=$(now_ms) &&
	{ ip netns exec "$HPR_NS" haproxy-reload -l "$PWD/lock" -m syn-drop --settle 50ms -p 8080 \
		--settle 50ms --max-hold 300ms --timeout 1500ms -f "$PWD/cfg" \
		-- "$HOLD" "$PWD/h" hang 2>err & } &&
	tool=$! &&
	test_wait_for 5 test -e h/holding &&
	test_wait_for 2 hpr_no_rules &&
	hpr_alive "$tool" &&
	echo "rules gone after $(( $(now_ms) - T0 )) ms, tool still running" &&
	status=0 && { wait "$tool" || status=$?; } &&
	test "$status" = 1 &&
	elapsed_below 6000 &&
	test_wait_for 2 eval "! hpr_alive $(cat h/hang.pid)" &&
	hpr_no_rules
'

test_expect_success "$FWP" 'syn-drop: several ports (-p 8080,8081); the defaults: port 80, settle 200ms' '
	hpr_setup && hpr_cfg "$PWD/cfg" -p 8080,8081 && mkdir h h2 &&
	rl -m syn-drop --settle 50ms -p 8080,8081 -f "$PWD/cfg" -- "$HOLD" "$PWD/h" exit 0 2>err &&
	drop_rule h/hold4 8080 && drop_rule h/hold4 8081 &&
	drop_rule6 h/hold6 8080 && drop_rule6 h/hold6 8081 &&
	hpr_no_rules &&
	T0=$(date +%s%N) &&
	rl -m syn-drop -f "$PWD/cfg" -- "$HOLD" "$PWD/h2" exit 0 2>err &&
	test $(( ($(cat h2/started) - T0) / 1000000 )) -ge 200 &&
	drop_rule h2/hold4 80 &&
	hpr_no_rules
'

test_expect_success "$FWP" 'syn-drop: no iptables on PATH: exit 3 naming it, nothing run' '
	hpr_setup && hpr_cfg "$PWD/cfg" && mkdir h onlyha &&
	ln -s "$(command -v haproxy)" onlyha/haproxy &&
	tool=$(command -v haproxy-reload) &&
	test_expect_code 3 hpr_nsx env PATH="$PWD/onlyha" "$tool" -l "$PWD/lock" \
		-m syn-drop --settle 50ms -p 8080 -f "$PWD/cfg" -- "$HOLD" "$PWD/h" exit 0 2>err &&
	test_grep "^haproxy-reload: .*iptables" err &&
	test_path_is_missing h/started &&
	hpr_no_rules
'

test_expect_success "$FWP" 'syn-drop: iptables without ip6tables works (IPv4 rules only)' '
	hpr_setup && hpr_cfg "$PWD/cfg" && mkdir h bin &&
	ln -s "$(command -v haproxy)" bin/haproxy &&
	ln -s "$(command -v iptables)" bin/iptables &&
	tool=$(command -v haproxy-reload) &&
	hpr_nsx env PATH="$PWD/bin" "$tool" -q -l "$PWD/lock" \
		-m syn-drop --settle 50ms -p 8080 -f "$PWD/cfg" -- "$HOLD" "$PWD/h" exit 0 2>err &&
	drop_rule h/hold4 8080 &&
	test_grep -v "haproxy-reload" h/hold6 &&
	hpr_no_rules
'

test_expect_success "$NSP" 'every namespace of this file is gone' '
	! ip netns list | grep -q "^galley-hpr-$$\\b"
'

test_done
