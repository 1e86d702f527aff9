# See COPYING for copyright and license details.
# shellcheck shell=sh
#
# tests/lib.sh: a small git-style harness for CLI tests, printing TAP for
# prove. A test script reads:
#
#	#!/bin/sh
#	test_description='what this script covers'
#	. "$(dirname "$0")/../lib.sh"
#
#	test_expect_success 'title' '
#		gen-service-defs -t x - <in >out &&
#		test_cmp expected out
#	'
#	test_expect_success ROOT 'needs root' '...'
#	test_done
#
# Each body runs in a subshell, in its own scratch directory under $TRASH,
# with `set -e` and the built tools first on PATH; its output goes to a
# log shown as TAP diagnostics when it fails (or always with -v/TEST_VERBOSE).
# A body that runs longer than $TEST_TIMEOUT seconds (default 120) is
# killed and fails. test_when_finished registers cleanup for the current
# test. Missing prerequisites (ROOT, NETNS, HAPROXY, IPTABLES, VALGRIND, COVERAGE,
# or any name for which test_set_prereq was called) skip with a reason.

GALLEY_ROOT=${GALLEY_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
export GALLEY_ROOT
PYTHON=${PYTHON:-/usr/bin/python3}
export PYTHON
TEST_NAME=$(basename "$0" .t)
TEST_TIMEOUT=${TEST_TIMEOUT:-120}
TEST_DATA=$(cd "$(dirname "$0")" && pwd)/data
export TEST_DATA
test_count=0
test_failed=0

case " $* " in
*" -v "*|*" --verbose "*) TEST_VERBOSE=1 ;;
esac

# The built tools first; with VALGRIND=1, through valgrind wrappers that
# log to $TRASH/valgrind, checked by test_done.
TRASH=$GALLEY_ROOT/tests/trash/$TEST_NAME
rm -rf "$TRASH"
mkdir -p "$TRASH"
if [ "${VALGRIND:-0}" = 1 ]; then
	mkdir -p "$TRASH/valgrind/bin"
	for t in "$GALLEY_ROOT"/bin/*; do
		[ -x "$t" ] || continue
		cat >"$TRASH/valgrind/bin/${t##*/}" <<VG
#!/bin/sh
exec valgrind -q --leak-check=full --errors-for-leak-kinds=definite \\
	--trace-children=no --child-silent-after-fork=yes \\
	--log-file="$TRASH/valgrind/%p.log" "$t" "\$@"
VG
		chmod +x "$TRASH/valgrind/bin/${t##*/}"
	done
	PATH=$TRASH/valgrind/bin:$GALLEY_ROOT/bin:$PATH
else
	PATH=$GALLEY_ROOT/bin:$PATH
fi
export PATH TRASH
# Tests do not depend on the caller's locale, terminal or CI variables.
unset CI_BRANCH CI_COMMIT CI_BUILD_NUMBER DRONE_BRANCH DRONE_COMMIT_SHA \
	DRONE_BUILD_NUMBER MARATHON_URL CONSUL_HTTP_ADDR CONSUL_HTTP_TOKEN \
	DOCKERHOST HAPROXY_CONFIG
LC_ALL=C
export LC_ALL
cd "$TRASH" || exit 1

test_prereqs=" "
test_set_prereq() {
	test_prereqs="$test_prereqs$1 "
}
[ "$(id -u)" = 0 ] && test_set_prereq ROOT
command -v valgrind >/dev/null 2>&1 && test_set_prereq VALGRIND
command -v haproxy >/dev/null 2>&1 && test_set_prereq HAPROXY
command -v iptables >/dev/null 2>&1 && test_set_prereq IPTABLES
[ "$(id -u)" = 0 ] && command -v ip >/dev/null 2>&1 && test_set_prereq NETNS
# A make coverage build: the tools also write gcov files (extra syscalls).
grep -q GALLEY_COVERAGE "$GALLEY_ROOT/build/flags" 2>/dev/null && test_set_prereq COVERAGE

test_have_prereq() {
	for p in $(echo "$1" | tr , ' '); do
		case $p in
		!*)
			case $test_prereqs in
			*" ${p#!} "*) missing_prereq=$p; return 1 ;;
			esac ;;
		*)
			case $test_prereqs in
			*" $p "*) ;;
			*) missing_prereq=$p; return 1 ;;
			esac ;;
		esac
	done
	return 0
}

say() {
	echo "# $*"
}

# Kill a process and everything below it (the parent first, so that it
# cannot react to its children's deaths).
test_kill_tree() {
	set -- "$1" "$(ps -o pid= --ppid "$1" 2>/dev/null)"
	kill -KILL "$1" 2>/dev/null || :
	for c in $2; do
		test_kill_tree "$c"
	done
}

test_when_finished() {
	printf '%s\n' "$*" >>"$TRASH/.cleanup"
}

# test_at_exit CMD: run CMD when the script ends: in test_done, before the
# scratch directory goes (servers started in it stop first), or on any
# other exit. Replaces an EXIT trap of the script's own.
test_at_exit() {
	_test_at_exit=$*
	trap 'test_at_exit_run_' EXIT
}

test_at_exit_run_() {
	if [ -n "${_test_at_exit:-}" ]; then
		_t=$_test_at_exit
		_test_at_exit=
		eval "$_t"
	fi
}

test_run_() {
	: >"$TRASH/.cleanup"
	test_dir=$TRASH/t$test_count
	mkdir -p "$test_dir"
	(
		set -e
		cd "$test_dir"
		eval "$1"
	) >"$TRASH/.log" 2>&1 </dev/null &
	body_pid=$!
	(
		sleep "$TEST_TIMEOUT"
		echo "test_timeout: body ran past ${TEST_TIMEOUT}s, killed" >>"$TRASH/.log"
		test_kill_tree "$body_pid"
	) >/dev/null 2>&1 &
	watch_pid=$!
	wait "$body_pid"
	body_status=$?
	test_kill_tree "$watch_pid"
	wait "$watch_pid" 2>/dev/null
	if [ -s "$TRASH/.cleanup" ]; then
		# shellcheck source=/dev/null
		(cd "$test_dir" && . "$TRASH/.cleanup") >>"$TRASH/.log" 2>&1 </dev/null ||
			echo "test_when_finished: cleanup failed" >>"$TRASH/.log"
	fi
	return "$body_status"
}

test_expect_success() {
	if [ $# = 3 ]; then
		prereq=$1
		shift
	else
		prereq=
	fi
	test_count=$((test_count + 1))
	if [ -n "$prereq" ] && ! test_have_prereq "$prereq"; then
		echo "ok $test_count # skip $1 (missing $missing_prereq)"
		return 0
	fi
	if test_run_ "$2"; then
		echo "ok $test_count - $1"
		[ -n "$TEST_VERBOSE" ] && sed 's/^/#   /' "$TRASH/.log"
	else
		test_failed=$((test_failed + 1))
		echo "not ok $test_count - $1"
		sed 's/^/#   /' "$TRASH/.log" >&2
	fi
	return 0
}

test_done() {
	if [ "${VALGRIND:-0}" = 1 ] && [ -d "$TRASH/valgrind" ]; then
		test_count=$((test_count + 1))
		if find "$TRASH/valgrind" -name '*.log' -size +0 | grep -q .; then
			test_failed=$((test_failed + 1))
			echo "not ok $test_count - valgrind found no errors"
			find "$TRASH/valgrind" -name '*.log' -size +0 -exec cat {} + |
				sed 's/^/#   /' >&2
		else
			echo "ok $test_count - valgrind found no errors"
		fi
	fi
	echo "1..$test_count"
	test_at_exit_run_
	if [ "$test_failed" = 0 ]; then
		cd "$GALLEY_ROOT" && rm -rf "$TRASH"
		exit 0
	fi
	say "$test_failed of $test_count failed; scratch files kept in $TRASH"
	exit 1
}

# --- helpers for bodies ---

test_cmp() {
	diff -u "$1" "$2"
}

# test_expect_code N command...: the command must exit with status N.
test_expect_code() {
	want=$1
	shift
	set +e
	"$@"
	got=$?
	set -e
	if [ "$got" != "$want" ]; then
		echo "test_expect_code: '$*' exited $got, wanted $want" >&2
		return 1
	fi
	return 0
}

# test_must_fail command...: a clean failure (1..125), not a crash or a
# missing command.
test_must_fail() {
	set +e
	"$@"
	got=$?
	set -e
	if [ "$got" = 0 ] || [ "$got" -gt 125 ]; then
		echo "test_must_fail: '$*' exited $got" >&2
		return 1
	fi
	return 0
}

# test_grep [-v] [grep options] pattern file: grep that shows the file on failure.
test_grep() {
	last=
	if [ "$1" = -v ]; then
		shift
		if grep "$@" >/dev/null; then
			eval "last=\${$#}"
			echo "test_grep: unexpected match for '$1' in $last:" >&2
			cat "$last" >&2
			return 1
		fi
		return 0
	fi
	if ! grep "$@" >/dev/null; then
		eval "last=\${$#}"
		echo "test_grep: no match for '$1' in $last:" >&2
		cat "$last" >&2
		return 1
	fi
}

# test_line_count = N file
test_line_count() {
	n=$(wc -l <"$3" | tr -d ' ')
	if ! test "$n" "$1" "$2"; then
		echo "test_line_count: $3 has $n lines, wanted $1 $2:" >&2
		cat "$3" >&2
		return 1
	fi
}

# test_wait_for SECONDS command...: poll (every 50 ms) until it succeeds.
# shellcheck source=wait.sh
. "$GALLEY_ROOT/tests/wait.sh"
