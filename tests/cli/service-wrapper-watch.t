#!/bin/sh
# shellcheck disable=SC2016
# shellcheck disable=SC2034
# shellcheck disable=SC2119
test_description='service-wrapper: the watch: what is a change, and what is not'
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=../helpers/service-wrapper.sh
. "$GALLEY_ROOT/tests/helpers/service-wrapper.sh"

sw_emulators_start

# Short timings: act 300 ms after the last change, ask Marathon within
# 200 ms, block 1 s at most.
FAST="-v --debounce 300ms,2s --splay 200ms --wait 1s --restart-retry 60s"

# Where a test writes several times within one debounce, each write is
# a process of its own (curl), which on a loaded machine can take longer
# than 300 ms: those tests wait 2 s for quiet instead.
BURST="--debounce 2s,5s"

# watch N [FLAG...]: a wrapper on app/wN for Marathon app /app/wN,
# running sleep; FLAGs after FAST's.
# shellcheck disable=SC2086
watch() {
	n=$1 &&
	shift &&
	sw_simulated_app "/app/w$n" &&
	consul_emu_put "app/w$n/A" 1 &&
	sw_start err $FAST "$@" "$M" "$C" "app/w$n" sleep 600 &&
	test_wait_for 20 grep -q "started sleep" err
}

# quiet_for MS PATTERN: PATTERN appears in err (the wrapper has seen the
# event), and then nothing more happens for MS: no restart request.
quiet_after() {
	test_wait_for 20 grep -q "$2" err &&
	sleep "$1" &&
	test "$(sw_restarts "$3")" = 0 &&
	test_grep -v "asking Marathon" err
}

test_expect_success 'one change: exactly one restart request, after the debounce' '
	watch 1 &&
	t0=$(date +%s%N) &&
	consul_emu_put app/w1/A 2 &&
	test_wait_for 20 sw_restarts_are /app/w1 1 &&
	ms=$(( ($(date +%s%N) - t0) / 1000000 )) && echo "after ${ms}ms" &&
	test "$ms" -ge 300 &&
	test_grep "app/w1/: configuration changed (changed A), hash" err &&
	test_grep "asked Marathon at $M for a rolling restart of /app/w1: deployment [0-9a-f-]*$" err &&
	sleep 1.5 &&
	test "$(sw_restarts /app/w1)" = 1 &&
	test "$(sw_accepted /app/w1)" = 1 &&
	kill -0 "$SW_PID"
'

test_expect_success 'a burst of five writes: one restart request' '
	watch 2 $BURST &&
	for v in 2 3 4 5 6; do consul_emu_put app/w2/A "$v"; sleep 0.05; done &&
	test_wait_for 20 sw_restarts_are /app/w2 1 &&
	sleep 1.5 &&
	test "$(sw_restarts /app/w2)" = 1
'

test_expect_success 'a change undone within the debounce: no request' '
	watch 3 $BURST &&
	consul_emu_put app/w3/A 2 &&
	consul_emu_put app/w3/A 1 &&
	quiet_after 2.5 "back to the configuration the command runs with" /app/w3
'

test_expect_success 'an identical PUT: nothing (the index does not move)' '
	watch 4 &&
	consul_emu_put app/w4/A 1 &&
	sleep 0.5 &&
	consul_emu_put app/w4/OTHER x &&
	test_wait_for 20 sw_restarts_are /app/w4 1 &&
	test "$(grep -c "configuration changed" err)" = 1 &&
	test_grep "configuration changed (added OTHER)" err &&
	sleep 1 &&
	test "$(sw_restarts /app/w4)" = 1
'

test_expect_success 'an identical PUT on a pre-1.6 Consul (new index): nothing' '
	consul_emu_start --legacy-index &&
	test_when_finished "consul_emu_stop $CONSUL_EMU_PID" &&
	C=$CONSUL_EMU_URL &&
	watch 5 &&
	consul_emu_put app/w5/A 1 &&
	quiet_after 1 "index [0-9]*: the environment is unchanged" /app/w5
'

test_expect_success 'a tombstone reaped (the index goes back): nothing' '
	consul_emu_put app/w6/A 1 &&
	consul_emu_put app/w6/B gone &&
	consul_emu_delete app/w6/B &&
	watch 6 &&
	consul_emu_ctl POST /_emu/tombstone-reap "{}" &&
	quiet_after 1 "app/w6/: the index went back to [0-9]*: reading afresh" /app/w6
'

test_expect_success 'an index reset (snapshot restore, then a restart): nothing' '
	watch 7 &&
	consul_emu_ctl POST /_emu/index-reset "{\"to\": 3}" &&
	test_wait_for 20 grep -q "app/w7/: the index went back" err &&
	consul_emu_ctl POST /_emu/index-reset "{\"to\": 2, \"mode\": \"restart\"}" &&
	quiet_after 1.5 "app/w7/: index [0-9]*: the environment is unchanged" /app/w7
'

test_expect_success 'a stale read (a lagging follower): nothing' '
	watch 8 &&
	consul_emu_put app/w8/A 2 && consul_emu_put app/w8/A 3 &&
	test_wait_for 20 grep -q "configuration changed (changed A)" err &&
	test_wait_for 20 sw_restarts_are /app/w8 1 &&
	changes=$(grep -c "configuration changed" err) &&
	consul_emu_ctl POST /_emu/stale "{\"lag\": 2, \"always\": true}" &&
	test_when_finished "consul_emu_ctl DELETE /_emu/stale" &&
	test_wait_for 20 grep -q "is a stale answer" err &&
	sleep 1 &&
	test "$(sw_restarts /app/w8)" = 1 &&
	test "$(grep -c "configuration changed" err)" = "$changes"
'

test_expect_success 'a missing prefix: unrelated writes are nothing, a new key is a change' '
	sw_simulated_app /app/w9 &&
	sw_start err $FAST "$M" "$C" app/w9 sleep 600 &&
	test_wait_for 20 grep -q "started sleep" err &&
	for i in 1 2 3 4 5; do consul_emu_put "other/k$i" "$i"; done &&
	test_wait_for 20 grep -q "app/w9/: index [0-9]*: the environment is unchanged" err &&
	sleep 1 &&
	test "$(sw_restarts /app/w9)" = 0 &&
	consul_emu_put app/w9/NEW 1 &&
	test_wait_for 20 sw_restarts_are /app/w9 1 &&
	test_grep "configuration changed (added NEW)" err
'

test_expect_success 'Consul failing for a while: the command runs on, no storm, the watch resumes' '
	watch 10 &&
	child=$(ps -o pid= --ppid "$SW_PID" | tr -d " " | while read -r p; do
		[ "$(cat /proc/$p/comm)" = sleep ] && echo "$p"; done) &&
	test -n "$child" &&
	consul_emu_ctl POST /_emu/fault "{\"path\": \"/v1/kv/app/w10/*\", \"kind\": \"reset-during-block\", \"count\": 1}" &&
	consul_emu_ctl POST /_emu/fault "{\"path\": \"/v1/kv/app/w10/*\", \"kind\": \"status\", \"status\": 500, \"body\": \"No cluster leader\", \"count\": null}" &&
	test_when_finished "consul_emu_ctl DELETE /_emu/faults" &&
	test_wait_for 20 grep -q "retrying with backoff, the command keeps running" err &&
	consul_emu_requests >before &&
	sleep 4 &&
	consul_emu_requests >after &&
	n=$(( $(grep -c "/v1/kv/app/w10/" after) - $(grep -c "/v1/kv/app/w10/" before) )) &&
	echo "$n requests in 4 s" &&
	test "$n" -ge 2 && test "$n" -le 12 &&
	kill -0 "$child" &&
	test "$(sw_restarts /app/w10)" = 0 &&
	consul_emu_ctl DELETE /_emu/faults &&
	consul_emu_put app/w10/A 2 &&
	test_wait_for 30 sw_restarts_are /app/w10 1 &&
	test_grep "app/w10/: Consul answers again: watching" err &&
	test "$(grep -c "retrying with backoff" err)" -le 2
'

test_expect_success 'Consul gone and back on the same port: the watch resumes' '
	consul_emu_start --state-dir "$TRASH/kv11" &&
	echo "$CONSUL_EMU_PID" >c11.pid &&
	test_when_finished "consul_emu_stop \$(cat c11.pid)" &&
	C=$CONSUL_EMU_URL && port=${C##*:} &&
	watch 11 &&
	consul_emu_stop "$CONSUL_EMU_PID" &&
	test_wait_for 20 grep -q "Couldn.t connect to server; retrying with backoff" err &&
	sleep 2 &&
	kill -0 "$SW_PID" &&
	consul_emu_start --state-dir "$TRASH/kv11" --port "$port" &&
	echo "$CONSUL_EMU_PID" >c11.pid &&
	consul_emu_put app/w11/A 2 &&
	test_wait_for 30 sw_restarts_are /app/w11 1
'

test_expect_success 'a 409 (deployment running): asked again while stale, then accepted' '
	marathon_emu_ctl POST /_emu/apps/app/w12/knobs "{\"noOffers\": true}" &&
	sw_simulated_app /app/w12 &&
	consul_emu_put app/w12/A 1 &&
	sw_start err -v --debounce 100ms --splay 0 --wait 1s --restart-retry 2s "$M" "$C" \
		app/w12 sleep 600 &&
	test_wait_for 20 grep -q "started sleep" err &&
	consul_emu_put app/w12/A 2 &&
	test_wait_for 20 grep -q "a deployment is running; asking again in" err &&
	sleep 3 &&
	n=$(sw_restarts /app/w12) && echo "$n requests" &&
	test "$n" -ge 2 && test "$n" -le 4 &&
	test "$(sw_accepted /app/w12)" = 0 &&
	marathon_emu_ctl POST /_emu/apps/app/w12/knobs "{\"noOffers\": null}" &&
	test_wait_for 30 sw_accepted_are /app/w12 1
'

test_done
