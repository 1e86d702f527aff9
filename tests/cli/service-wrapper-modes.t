#!/bin/sh
# shellcheck disable=SC2016
# shellcheck disable=SC2034
# shellcheck disable=SC2119
test_description='service-wrapper: --on-change restart, exit and none; --once'
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=../helpers/service-wrapper.sh
. "$GALLEY_ROOT/tests/helpers/service-wrapper.sh"

consul_emu_start || exit 1
test_at_exit 'consul_emu_stop'
C=$CONSUL_EMU_URL
# Nothing listens there: these modes never ask Marathon.
M=http://127.0.0.1:1
FAST="-v --debounce 200ms,1s --wait 1s"

# A command that logs its pid and $V, then runs until stopped.
LOGGER='echo "$$ $V" >>runs; exec sleep 600'

# runs_are N: the command has been started N times.
runs_are() {
	[ -f runs ] && [ "$(wc -l <runs)" -eq "$1" ]
}

test_expect_success '--on-change restart: the command again, in place, with the new value' '
	consul_emu_put app/m1/V one &&
	# shellcheck disable=SC2086
	sw_start err $FAST -c restart "$M" "$C" app/m1 sh -c "$LOGGER" &&
	test_wait_for 20 runs_are 1 &&
	first=$(cut -d" " -f1 runs) &&
	consul_emu_put app/m1/V two &&
	test_wait_for 20 runs_are 2 &&
	sed -n 2p runs | cut -d" " -f2 >v && echo two >want && test_cmp want v &&
	test "$(sed -n 2p runs | cut -d" " -f1)" != "$first" &&
	test_wait_for 10 sh -c "! kill -0 $first" &&
	kill -0 "$SW_PID" &&
	test_grep "configuration changed: restarting sh (--on-change restart)" err &&
	test_grep "sh was killed by SIGTERM" err &&
	sleep 1 && runs_are 2 &&
	kill -TERM "$SW_PID" && sw_wait "$SW_PID" && test "$SW_STATUS" = 143 &&
	test_grep -v "Marathon" err
'

test_expect_success '--on-change restart honours --rewrite and --grace' '
	consul_emu_put app/m2/V one &&
	# shellcheck disable=SC2086
	sw_start err $FAST -c restart --rewrite TERM:USR1 --grace 300ms "$M" "$C" app/m2 \
		sh -c "trap \"\" USR1; $LOGGER" &&
	test_wait_for 20 runs_are 1 &&
	consul_emu_put app/m2/V two &&
	test_wait_for 20 runs_are 2 &&
	test_grep "sh outlived --grace 300ms: SIGKILL" err &&
	test "$(sed -n 2p runs | cut -d" " -f2)" = two
'

test_expect_success '--on-change exit: stop the command, exit with its status' '
	consul_emu_put app/m3/V one &&
	SERVICE_WRAPPER_ON_CHANGE=exit sw_start err $FAST "$M" "$C" app/m3 \
		sh -c "trap \"exit 7\" TERM; touch ready; while :; do sleep 0.1; done" &&
	test_wait_for 20 test -e ready &&
	consul_emu_put app/m3/V two &&
	sw_wait "$SW_PID" &&
	test "$SW_STATUS" = 7 &&
	test_grep "configuration changed: stopping sh (--on-change exit)" err
'

test_expect_success '--on-change none: only said; the command runs on' '
	consul_emu_put app/m4/V one &&
	# shellcheck disable=SC2086
	sw_start err $FAST -c none "$M" "$C" app/m4 sh -c "$LOGGER" &&
	test_wait_for 20 runs_are 1 &&
	consul_emu_put app/m4/V two &&
	test_wait_for 20 grep -q "(--on-change none: nothing done)" err &&
	sleep 0.5 && runs_are 1 && kill -0 "$SW_PID" &&
	test_grep "app/m4/: configuration changed (changed V)" err
'

test_expect_success '--once: no watch at all' '
	consul_emu_put app/m5/V one &&
	# shellcheck disable=SC2086
	sw_start err $FAST --once -c restart "$M" "$C" app/m5 sh -c "$LOGGER" &&
	test_wait_for 20 runs_are 1 &&
	curl -sS -X DELETE "$C/_emu/requests" >/dev/null &&
	consul_emu_put app/m5/V two &&
	sleep 1.5 &&
	runs_are 1 && kill -0 "$SW_PID" &&
	consul_emu_requests | grep -c "galley/" >n || : &&
	test "$(cat n)" = 0
'

test_done
