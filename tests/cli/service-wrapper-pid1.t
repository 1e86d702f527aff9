#!/bin/sh
# shellcheck disable=SC2016
# shellcheck disable=SC2034
# shellcheck disable=SC2119
test_description='service-wrapper: supervision: exit status, signals, grace, PID 1, reaping'
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=../helpers/service-wrapper.sh
. "$GALLEY_ROOT/tests/helpers/service-wrapper.sh"

consul_emu_start || exit 1
test_at_exit 'consul_emu_stop'
C=$CONSUL_EMU_URL
consul_emu_put app/sup/GREETING hello || exit 1

# Under valgrind every run costs half a second: a sample of the codes.
if [ "${VALGRIND:-0}" = 1 ]; then
	CODES="0 1 2 3 64 125 126 127 128 129 200 254 255"
else
	CODES=$(seq 0 255)
fi

test_expect_success 'exit status: each code the command exits with' '
	for i in $CODES; do
		st=0
		service-wrapper -q --once - "$C" app/sup sh -c "exit $i" || st=$?
		if [ "$st" != "$i" ]; then echo "exit $i gave $st"; exit 1; fi
	done
'

test_expect_success 'a command killed by TERM, KILL, SEGV: 128+N, and said so' '
	test_expect_code 143 service-wrapper --once - "$C" app/sup sh -c "kill -TERM \$\$" 2>err &&
	test_grep "sh was killed by SIGTERM" err &&
	test_expect_code 137 service-wrapper --once - "$C" app/sup sh -c "kill -KILL \$\$" 2>err &&
	test_expect_code 139 service-wrapper --once - "$C" app/sup sh -c "kill -SEGV \$\$" 2>err &&
	test_grep "sh was killed by SIGSEGV" err
'

# The signals a command can be sent through the wrapper: all but KILL,
# STOP, CHLD and glibc's 32 and 33. Valgrind takes ILL, TRAP, BUS, FPE,
# SEGV, SYS and RTMAX for its own (they never reach a signalfd under it): not
# those with VALGRIND=1.
catchable() {
	for s in $(seq 1 64); do
		case $s in
		9|17|19|32|33) ;;
		4|5|7|8|11|31|64) [ "${VALGRIND:-0}" = 1 ] || echo "$s" ;;
		*) echo "$s" ;;
		esac
	done
}

# has_lines FILE N: FILE has at least N lines.
has_lines() {
	[ -f "$1" ] && [ "$(wc -l <"$1")" -ge "$2" ]
}

test_expect_success 'every catchable signal is forwarded, once each' '
	sw_start err --once - "$C" app/sup "$PYTHON" "$SW_CHILD" signals rec &&
	test_wait_for 20 test -s rec.ready &&
	n=0 &&
	for s in $(catchable); do
		kill -"$s" "$SW_PID" &&
		n=$((n + 1)) &&
		test_wait_for 10 has_lines rec "$n" ||
		{ echo "signal $s not forwarded"; exit 1; }
	done &&
	catchable >want &&
	test_cmp want rec &&
	kill -KILL "$(cat rec.ready)" &&
	sw_wait "$SW_PID" &&
	test "$SW_STATUS" = 137
'

test_expect_success '--rewrite: TERM as QUIT, USR1 dropped, the rest as is' '
	sw_start err --once --rewrite TERM:QUIT --rewrite SIGUSR1:0 - "$C" app/sup \
		"$PYTHON" "$SW_CHILD" signals rec &&
	test_wait_for 20 test -s rec.ready &&
	kill -TERM "$SW_PID" && test_wait_for 10 grep -qx 3 rec &&
	kill -USR1 "$SW_PID" && kill -USR2 "$SW_PID" &&
	test_wait_for 10 grep -qx 12 rec &&
	printf "3\n12\n" >want && test_cmp want rec &&
	SERVICE_WRAPPER_REWRITE=HUP:INT sw_start err2 --once - "$C" app/sup \
		"$PYTHON" "$SW_CHILD" signals rec2 &&
	test_wait_for 20 test -s rec2.ready &&
	kill -HUP "$SW_PID" && test_wait_for 10 grep -qx 2 rec2
'

test_expect_success '-g signals the process group; without it only the command' '
	sw_start err --once -g - "$C" app/sup \
		sh -c "sleep 60 & echo \$! >gc; wait" &&
	test_wait_for 20 test -s gc &&
	kill -TERM "$SW_PID" && sw_wait "$SW_PID" &&
	test "$SW_STATUS" = 143 &&
	test_wait_for 10 sh -c "! kill -0 $(cat gc)" &&
	rm gc &&
	sw_start err --once - "$C" app/sup sh -c "sleep 60 & echo \$! >gc; wait" &&
	test_wait_for 20 test -s gc &&
	test_when_finished "kill $(cat gc)" &&
	kill -TERM "$SW_PID" && sw_wait "$SW_PID" &&
	test "$SW_STATUS" = 143 &&
	kill -0 "$(cat gc)"
'

test_expect_success '--grace: a command that ignores TERM is killed after it' '
	sw_start err --once --grace 500ms - "$C" app/sup \
		sh -c "trap \"\" TERM; touch ready; exec sleep 60" &&
	test_wait_for 20 test -e ready &&
	sleep 0.2 &&
	t0=$(date +%s%N) &&
	kill -TERM "$SW_PID" && sw_wait "$SW_PID" &&
	ms=$(( ($(date +%s%N) - t0) / 1000000 )) && echo "after ${ms}ms" &&
	test "$SW_STATUS" = 137 &&
	test "$ms" -ge 450 && test "$ms" -lt 8000 &&
	test_grep "sh outlived --grace 500ms: SIGKILL" err
'

test_expect_success 'without --grace, TERM is only forwarded' '
	sw_start err --once - "$C" app/sup sh -c "trap \"\" TERM; touch ready; exec sleep 60" &&
	test_wait_for 20 test -e ready &&
	kill -TERM "$SW_PID" && sleep 1 &&
	kill -0 "$SW_PID"
'

test_expect_success 'started with signals blocked and ignored, the command gets neither' '
	"$PYTHON" -c "
import os, signal, sys
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGUSR1, signal.SIGHUP})
for s in (signal.SIGINT, signal.SIGQUIT, signal.SIGTTOU, signal.SIGCHLD):
    signal.signal(s, signal.SIG_IGN)
os.execvp(sys.argv[1], sys.argv[1:])" grep -E "^Sig(Blk|Ign)" /proc/self/status >launcher &&
	grep -v "0000000000000000" launcher | grep -c . >n && test "$(cat n)" = 2 &&
	"$PYTHON" -c "
import os, signal, sys
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGUSR1, signal.SIGHUP})
for s in (signal.SIGINT, signal.SIGQUIT, signal.SIGTTOU, signal.SIGCHLD):
    signal.signal(s, signal.SIG_IGN)
os.execvp(sys.argv[1], sys.argv[1:])" service-wrapper --once - "$C" app/sup \
		grep -E "^Sig(Blk|Ign)" /proc/self/status >out &&
	printf "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n" >want &&
	test_cmp want out
'

test_expect_success 'a background job of sh (INT and QUIT ignored) does not pass that on' '
	sh -c "service-wrapper --once - \"$C\" app/sup grep -E \"^SigIgn\" /proc/self/status >out & wait" &&
	printf "SigIgn:\t0000000000000000\n" >want &&
	test_cmp want out
'

test_expect_success 'not PID 1: orphans of the command come to the wrapper (subreaper)' '
	service-wrapper --once - "$C" app/sup sh -c "(sleep 2 & echo \$! >orphan); sleep 0.3;
		ps -o ppid= -p \$(cat orphan) | tr -d \" \" >ppid; echo \$PPID >me" &&
	test -s me && test_cmp me ppid &&
	kill "$(cat orphan)"
'

test_expect_success 'TERM before the command started ends the wait' '
	sw_start err --consul-timeout 60s - 127.0.0.1:1 app/sup touch ran &&
	test_wait_for 10 grep -q "retrying" err &&
	kill -TERM "$SW_PID" &&
	sw_wait "$SW_PID" &&
	test "$SW_STATUS" = 143 && test ! -e ran &&
	test_grep "SIGTERM before the command started" err
'

test_expect_success ROOT 'as PID 1: orphans reaped, no zombie left, status passed on' '
	unshare --pid --fork --mount-proc service-wrapper --once - "$C" app/sup sh -c "
		i=0; while [ \$i -lt 50 ]; do (sleep 0.05 &); i=\$((i + 1)); done
		sleep 1; ps -A -o stat=,pid=,ppid=,args= >ps.out; exit 3" 2>err ||
	st=$? &&
	cat ps.out &&
	test "$st" = 3 &&
	test_grep "^S[^ ]* *1 *0 " ps.out &&
	test_grep -v "^Z" ps.out &&
	test "$(awk "\$4 == \"sleep\"" ps.out | wc -l)" = 0
'

# pid1_term ARGS...: service-wrapper ARGS as PID 1 of a new PID namespace;
# once its command has touched ready, TERM from outside; SW_STATUS.
pid1_term() {
	unshare --pid --fork --mount-proc service-wrapper "$@" 2>err &
	up=$!
	test_when_finished "test_kill_tree $up"
	test_wait_for 20 test -e ready &&
	pid1=$(ps -o pid= --ppid "$up" | tr -d " ") &&
	test -n "$pid1" &&
	kill -TERM "$pid1" &&
	sw_wait "$up"
}

test_expect_success ROOT 'as PID 1: TERM from outside is forwarded, exit 143, no re-raise' '
	pid1_term --once - "$C" app/sup sh -c "touch ready; exec sleep 60" &&
	test "$SW_STATUS" = 143
'

test_expect_success ROOT 'as PID 1: a command that ignores TERM, --grace, exit 137' '
	pid1_term --once --grace 300ms - "$C" app/sup \
		sh -c "trap \"\" TERM; touch ready; exec sleep 60" &&
	test "$SW_STATUS" = 137 &&
	test_grep "outlived --grace 300ms" err
'

test_done
