#!/bin/sh
# shellcheck disable=SC2016
# shellcheck disable=SC2034
test_description='make demo: every step as narrated, and nothing left behind, also on failure or Ctrl-C'
# About 40 s each on an idle machine; a loaded one may take twice that.
TEST_TIMEOUT=${TEST_TIMEOUT:-240}
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"

DEMO=$GALLEY_ROOT/tests/examples/demo.sh

# demo_run [VAR=value...]: the demo in the background, in a session of its
# own (so that a Ctrl-C can go to its whole process group), scratch files
# under ./tmp; DEMO_PID is its PID, DEMO_NS its namespace.
demo_run() {
	mkdir -p tmp
	# As from a terminal: SIGINT not ignored (sh ignores it for what it
	# starts in the background, and a shell cannot trap what it was
	# started with ignored), in a session of its own.
	env TMPDIR="$PWD/tmp" DEMO_QUICK=1 "$@" "$PYTHON" -c "import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.setsid()
os.execvp(sys.argv[1], sys.argv[1:])" sh "$DEMO" >out 2>&1 </dev/null &
	DEMO_PID=$!
	DEMO_NS=galley-demo-$DEMO_PID
	test_when_finished "test_kill_tree $DEMO_PID; ip netns pids $DEMO_NS 2>/dev/null | xargs -r kill -KILL; ip netns del $DEMO_NS 2>/dev/null || :"
}

# demo_wait: its exit status in DEMO_STATUS.
demo_wait() {
	DEMO_STATUS=0
	wait "$DEMO_PID" || DEMO_STATUS=$?
	cat out
	echo "demo exited $DEMO_STATUS"
}

# nothing_left: no namespace, no scratch file, no process from the demo.
nothing_left() {
	if ip netns list | grep -q "^$DEMO_NS\\b"; then
		echo "namespace $DEMO_NS left"
		return 1
	fi
	if [ -n "$(ls -A tmp)" ]; then
		echo "files left:"
		ls -lA tmp
		return 1
	fi
	# shellcheck disable=SC2009
	if ps -eo pid=,args= | grep -F "$PWD/tmp/" | grep -v grep; then
		echo "processes left"
		return 1
	fi
}

test_expect_success ROOT,NETNS,HAPROXY 'the quick demo: six steps, exit 0, nothing left' '
	demo_run &&
	demo_wait &&
	test "$DEMO_STATUS" = 0 &&
	for s in 0 1 2 3 4 5 6; do grep "^== $s\\. " out || exit 1; done &&
	grep "^   ok: 2 tasks healthy, each dockerhost-resolve -> service-wrapper -> server.py" out &&
	grep "^   | GREETING: hello from Consul\$" out &&
	grep "^   ok: one rolling restart, the new value served, 0 of [0-9]* requests failed" out &&
	grep "^   ok: 3 reloads, 0 of [0-9]* requests failed; a broken file was refused" out &&
	grep "^   ok: no process, namespace, firewall rule or scratch file left\$" out &&
	grep "^demo: all steps behaved as narrated" out &&
	nothing_left
'

test_expect_success ROOT,NETNS,HAPROXY 'a step that fails: exit 1, torn down' '
	demo_run DEMO_FAIL_AT=1 &&
	demo_wait &&
	test "$DEMO_STATUS" = 1 &&
	grep "^demo: FAILED: DEMO_FAIL_AT=1" out &&
	grep "^demo: torn down after a failure" out &&
	nothing_left
'

test_expect_success ROOT,NETNS,HAPROXY 'Ctrl-C while marathon-deploy waits: exit 130, torn down' '
	demo_run &&
	test_wait_for 60 grep -q "^   \\$ marathon-deploy " out &&
	sleep 1 &&
	/bin/kill -s INT -- "-$DEMO_PID" &&
	demo_wait &&
	test "$DEMO_STATUS" = 130 &&
	grep "^demo: interrupted (SIGINT)" out &&
	grep "^demo: torn down after a failure or interruption (status 130)" out &&
	nothing_left
'

test_done
