#!/bin/sh
# shellcheck disable=SC2016
# shellcheck disable=SC2034
# shellcheck disable=SC2119
test_description='faults injected into Consul, the disk and signals (tests/FAULTS.md)'
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=../helpers/service-wrapper.sh
. "$GALLEY_ROOT/tests/helpers/service-wrapper.sh"

# Marathon's side is in faults-deploy.t.
consul_emu_start || exit 1
C=$CONSUL_EMU_URL
test_at_exit 'consul_emu_stop'

# Nothing listens there: the wrappers below never ask Marathon.
NOM=http://127.0.0.1:1
FAST="-v --debounce 200ms,1s --wait 1s -c restart"

# A command that logs its pid and $V, then runs until stopped.
LOGGER='echo "$$ $V" >>runs; exec sleep 600'

# runs_are N: the command has been started N times.
runs_are() {
	[ -f runs ] && [ "$(wc -l <runs)" -eq "$1" ]
}

# last_run_is VALUE: the latest command started with V=VALUE.
last_run_is() {
	[ "$(tail -n 1 runs | cut -d" " -f2)" = "$1" ]
}

# elapsed_ms T0: milliseconds since T0 (from date +%s%N).
elapsed_ms() {
	echo $(( ($(date +%s%N) - $1) / 1000000 ))
}

# hung: Consul has held a request with the hang fault.
hung() {
	consul_emu_requests | grep -q "\"fault\": \"hang\""
}

# cfault JSON: inject a fault into Consul; cleared after the test.
cfault() {
	consul_emu_ctl POST /_emu/fault "$1" >/dev/null &&
		test_when_finished "CONSUL_EMU_URL=$C consul_emu_ctl DELETE /_emu/faults >/dev/null"
}

# --- Consul, at service-wrapper's start -----------------------------------

test_expect_success 'Consul hanging at start: 125 within --consul-timeout plus one read, command not run' '
	consul_emu_put app/f1/V one &&
	cfault "{\"path\": \"/v1/kv/app/f1/*\", \"kind\": \"hang\", \"seconds\": 30, \"count\": null}" &&
	t0=$(date +%s%N) &&
	test_expect_code 125 service-wrapper --consul-timeout 1s - "$C" app/f1 touch ran 2>err &&
	ms=$(elapsed_ms "$t0") && echo "${ms}ms" &&
	test "$ms" -le 8000 &&
	test ! -e ran &&
	test_grep "GET $C/v1/kv/app/f1/?recurse: Operation timed out after [0-9]* milliseconds" err &&
	test_grep "gave up after [0-9]* attempts (--consul-timeout 1000ms): the command was not started" err
'

test_expect_success 'Consul answering garbage at start: never a configuration, 125, command not run' '
	cfault "{\"path\": \"/v1/kv/app/f1/*\", \"kind\": \"garbage\", \"body\": \"[{\\\"Key\\\": \\\"app/f1/V\\\", \\\"Val\", \"count\": null}" &&
	test_expect_code 125 service-wrapper --consul-timeout 1s - "$C" app/f1 touch ran 2>err &&
	test ! -e ran &&
	test_grep "GET $C/v1/kv/app/f1/?recurse: HTTP 200: " err &&
	test_grep "the command was not started" err
'

test_expect_success 'Consul flapping at start (reset, 500, garbage, then up): starts with the whole configuration' '
	consul_emu_put app/f3/V one && consul_emu_put app/f3/W two &&
	cfault "{\"path\": \"/v1/kv/app/f3/*\", \"kind\": \"reset\"}" &&
	cfault "{\"path\": \"/v1/kv/app/f3/*\", \"kind\": \"status\", \"status\": 500}" &&
	cfault "{\"path\": \"/v1/kv/app/f3/*\", \"kind\": \"garbage\"}" &&
	service-wrapper --once --consul-timeout 20s - "$C" app/f3 \
		sh -c "printf \"%s %s\" \"\$V\" \"\$W\"" >out 2>err &&
	echo "one two" >want && printf "\n" >>out && test_cmp want out &&
	test "$(grep -c "; retrying$" err)" = 3 &&
	test_grep "app/f3/: 2 variables (V, W) from Consul" err
'

# --- Consul, during the watch ---------------------------------------------

# watch_start PREFIX: a wrapper restarting LOGGER on each change of PREFIX.
# shellcheck disable=SC2086
watch_start() {
	consul_emu_put "$1/V" one &&
	sw_start err $FAST "$NOM" "$C" "$1" sh -c "$LOGGER" &&
	test_wait_for 20 runs_are 1 &&
	test_wait_for 20 grep -q "started sh" err
}

test_expect_success 'Consul hanging during the watch: the command runs on, the change after it arrives' '
	consul_emu_ctl DELETE /_emu/requests >/dev/null &&
	watch_start app/f4 &&
	first=$(cut -d" " -f1 runs) &&
	cfault "{\"path\": \"/v1/kv/app/f4/*\", \"blocking\": true, \"kind\": \"hang\", \"seconds\": 60}" &&
	test_wait_for 10 hung &&
	consul_emu_put app/f4/V two &&
	test_wait_for 20 grep -q "Operation timed out after [0-9]* milliseconds with 0 bytes received; retrying with backoff, the command keeps running" err &&
	test_wait_for 20 runs_are 2 &&
	last_run_is two &&
	test_grep "app/f4/: Consul answers again: watching" err &&
	test_grep "configuration changed (changed V)" err &&
	kill -0 "$SW_PID"
'

test_expect_success 'Consul answering garbage during the watch: not a change, the next change arrives' '
	watch_start app/f5 &&
	cfault "{\"path\": \"/v1/kv/app/f5/*\", \"blocking\": true, \"kind\": \"garbage\", \"count\": 4}" &&
	test_wait_for 20 grep -q "HTTP 200: .*; retrying with backoff, the command keeps running" err &&
	test_wait_for 20 grep -q "app/f5/: Consul answers again: watching" err &&
	runs_are 1 &&
	consul_emu_put app/f5/V two &&
	test_wait_for 20 runs_are 2 &&
	last_run_is two &&
	test "$(grep -c "configuration changed (" err)" = 1
'

test_expect_success 'Consul index reset during the watch, then a write at a lower index: the change arrives' '
	watch_start app/f6 &&
	consul_emu_put app/f6/PAD 1 &&
	test_wait_for 20 runs_are 2 &&
	consul_emu_ctl POST /_emu/index-reset "{\"to\": 2}" >/dev/null &&
	test_wait_for 20 grep -q "app/f6/: the index went back to [0-9]*: reading afresh" err &&
	sleep 0.5 && runs_are 2 &&
	consul_emu_put app/f6/V two &&
	test_wait_for 20 runs_are 3 &&
	last_run_is two &&
	consul_emu_ctl POST /_emu/index-reset "{\"to\": 1, \"mode\": \"restart\"}" >/dev/null &&
	consul_emu_put app/f6/V three &&
	test_wait_for 20 runs_are 4 &&
	last_run_is three
'

test_expect_success 'Consul 403 during the watch (token revoked): the command runs on, retried, resumes' '
	watch_start app/f7 &&
	cfault "{\"path\": \"/v1/kv/app/f7/*\", \"blocking\": true, \"kind\": \"status\", \"status\": 403, \"body\": \"ACL not found\", \"count\": 3}" &&
	test_wait_for 20 grep -q "HTTP 403: ACL not found (token: no token .*; retrying with backoff" err &&
	test_wait_for 20 grep -q "app/f7/: Consul answers again: watching" err &&
	runs_are 1 && kill -0 "$(cut -d" " -f1 runs)" &&
	consul_emu_put app/f7/V two &&
	test_wait_for 20 runs_are 2 &&
	last_run_is two
'

test_expect_success 'TERM while the watch hangs on Consul: forwarded at once, exit 143' '
	consul_emu_ctl DELETE /_emu/requests >/dev/null &&
	watch_start app/f8 &&
	cfault "{\"path\": \"/v1/kv/app/f8/*\", \"blocking\": true, \"kind\": \"hang\", \"seconds\": 60, \"count\": null}" &&
	test_wait_for 10 hung &&
	t0=$(date +%s%N) &&
	kill -TERM "$SW_PID" &&
	sw_wait "$SW_PID" &&
	ms=$(elapsed_ms "$t0") && echo "${ms}ms" &&
	test "$SW_STATUS" = 143 &&
	test "$ms" -le 2000 &&
	test_grep "sh was killed by SIGTERM" err
'

# --- gen-service-defs: the disk -------------------------------------------

test_expect_success ROOT 'gen-service-defs on a full disk: exit 1, the previous files byte for byte, no temporary file' '
	mkdir disk &&
	cat >inner.sh <<-\EOF &&
	set -e
	mount -t tmpfs -o size=64k tmpfs disk
	cd disk
	"$PYTHON" -c "import sys; sys.stdout.write(\"{\\\"image\\\": \\\"x:\$tag\\\", \\\"pad\\\": \\\"\" + \"p\" * 5000 + \"\\\"}\")" >service.json
	gen-service-defs -q -b main -t old >/dev/null
	cp -R service-defs ../before
	dd if=/dev/zero of=fill bs=1k count=1024 2>/dev/null || :
	st=0; gen-service-defs -b main -t new >../out 2>../err || st=$?
	echo $st >../st
	rm fill
	ls -A service-defs >../files
	diff -r ../before service-defs
	gen-service-defs -q -b main -t new >/dev/null
	ls -A service-defs >../files2
	EOF
	unshare -m sh inner.sh &&
	echo 1 >want && test_cmp want st &&
	test_line_count = 0 out &&
	test_grep "service-defs/service-main.json: cannot write: No space left on device" err &&
	printf "service-main.json\nservice-old.json\n" >want && test_cmp want files &&
	printf "service-main.json\nservice-new.json\nservice-old.json\n" >want && test_cmp want files2
'

test_expect_success 'gen-service-defs killed at random points (SIGKILL, 30 times): each file whole, old or new' '
	"$PYTHON" -c "import sys; sys.stdout.write(\"{\\\"image\\\": \\\"x:\$tag\\\", \\\"pad\\\": \\\"\" + \"\$tag\" * 25000 + \"\\\"}\")" >service.json &&
	pad=$(head -c 99 /dev/zero | tr "\\0" a) &&
	gen-service-defs -q -b main -t "${pad}1" -o v1 >/dev/null &&
	gen-service-defs -q -b main -t "${pad}2" -o v2 >/dev/null &&
	test "$(wc -c <v1/service-main.json)" -gt 2500000 &&
	t0=$(date +%s%N) &&
	gen-service-defs -q -b main -t "${pad}1" >/dev/null &&
	d=$(( $(elapsed_ms "$t0") + 20 )) && echo "one run: $((d - 20))ms" &&
	killed=0 && i=0 && while [ $i -lt 30 ]; do
		t=2; [ $((i % 2)) = 0 ] || t=1
		gen-service-defs -q -b main -t "$pad$t" >/dev/null 2>&1 &
		p=$!
		ms=$((i * d / 30)) && sleep "$((ms / 1000)).$(printf %03d $((ms % 1000)))"
		kill -KILL "$p" 2>/dev/null || :
		st=0 && wait "$p" 2>/dev/null || st=$?
		[ "$st" != 137 ] || killed=$((killed + 1))
		cmp -s service-defs/service-main.json v1/service-main.json ||
			cmp -s service-defs/service-main.json v2/service-main.json ||
			{ echo "run $i: service-main.json is neither the old nor the new one"; exit 1; }
		i=$((i + 1))
	done &&
	for f in service-defs/service-a*.json; do
		n=${f##*/} &&
		{ cmp "$f" "v1/$n" 2>/dev/null || cmp "$f" "v2/$n"; } || exit 1
	done &&
	echo "killed mid-run: $killed of 30; temporary files left: $(ls service-defs | grep -c "\\.json\\.......\$")" &&
	test "$killed" -ge 5
'

test_done
