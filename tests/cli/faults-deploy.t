#!/bin/sh
# shellcheck disable=SC2016
# shellcheck disable=SC2034
test_description='faults injected into Marathon and signals, for marathon-deploy (tests/FAULTS.md)'
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"

MARATHON_EMU_HOME=$GALLEY_ROOT/tests/emulators/marathon
export MARATHON_EMU_HOME
# shellcheck source=../emulators/marathon/emu.sh
. "$MARATHON_EMU_HOME/emu.sh"
EMU_DIR=$TRASH
export EMU_DIR
unset MARATHON_CREDENTIALS DCOS_ACS_TOKEN MARATHON_CACERT

# M: a Marathon emulator on the manual clock (the test moves time, so a
# deployment waits until told).
marathon_emu_start --clock manual --name m || exit 1
M=$MARATHON_EMU_URL
test_at_exit 'marathon_emu_stop'

# elapsed_ms T0: milliseconds since T0 (from date +%s%N).
elapsed_ms() {
	echo $(( ($(date +%s%N) - $1) / 1000000 ))
}

# mfault JSON [URL]: inject a fault into M (or URL); cleared after the test.
mfault() {
	MARATHON_EMU_URL=${2:-$M} marathon_emu_ctl POST /_emu/fault "$1" >/dev/null &&
		test_when_finished "MARATHON_EMU_URL=${2:-$M} marathon_emu_ctl DELETE /_emu/faults >/dev/null"
}

# sim NAME: a template for a simulated app with a health check: on the
# manual clock it is done only once the test moves time.
sim() {
	cat <<EOF
{
  "id": "/$1/\$environment",
  "instances": \$instances,
  "container": {"type": "DOCKER", "docker": {"image": "registry.local/$1:1"}},
  "healthChecks": [{"protocol": "HTTP", "path": "/health",
    "gracePeriodSeconds": 30, "intervalSeconds": 10, "maxConsecutiveFailures": 3}]
}
EOF
}

# md_start URL ARGS...: marathon-deploy -m URL in the background; out, err,
# then status. md_put_done: its PUT has been answered.
md_start() {
	rm -f status
	murl=$1
	shift
	(
		set +e
		marathon-deploy -m "$murl" "$@" >out 2>err
		echo $? >status
	) &
	md_pid=$!
	test_when_finished "test_kill_tree $md_pid"
}
md_put_done() {
	MARATHON_EMU_URL=${1:-$M} marathon_emu_requests |
		grep -q "\"method\": *\"PUT\".*\"status\": *[0-9]"
}
# md_status: marathon-deploy's exit status, once it has exited.
md_status() {
	test_wait_for 30 test -s status && cat status
}
advance() {
	MARATHON_EMU_URL=${2:-$M} marathon_emu_ctl POST /_emu/clock "{\"advance\": $1}" >/dev/null
}
healthy() {
	curl -sS "${2:-$M}/v2/apps$1" >app.json &&
	"$PYTHON" -c '
import json, sys
d = json.load(open("app.json"))
a = d.get("app") or sys.exit("not an app: %r" % d)
sys.exit(0 if a["tasksHealthy"] == a["instances"] and not a["deployments"] else 1)'
}

test_expect_success 'Marathon hanging during the wait: exit 4 within --timeout plus 5 s, result timeout' '
	marathon_emu_ctl DELETE /_emu/requests >/dev/null &&
	sim mh >mh.json &&
	t0=$(date +%s%N) &&
	md_start "$M" --json -t 2s mh.json staging 1 &&
	test_wait_for 10 md_put_done &&
	mfault "{\"path\": \"/v2/*\", \"method\": \"GET\", \"kind\": \"hang\", \"seconds\": 60, \"count\": null}" &&
	test "$(md_status)" = 4 &&
	ms=$(elapsed_ms "$t0") && echo "${ms}ms" &&
	test "$ms" -le 7000 &&
	"$PYTHON" -c "import json; d = json.load(open(\"out\")); assert d[\"result\"] == \"timeout\" and d[\"deploymentId\"], d" &&
	test_grep "GET $M/v2/apps/mh/staging: Operation timed out after [0-9]* milliseconds" err &&
	test_grep "(not done after 2s)" err &&
	marathon_emu_ctl DELETE /_emu/faults >/dev/null && advance 60 &&
	healthy /mh/staging
'

test_expect_success 'Marathon hanging while another deployment locks the app: exit 3 within --timeout plus 2 s, nothing deployed' '
	sim lock >lock.json &&
	marathon-deploy -n lock.json staging 1 >other.json &&
	curl -sS -X PUT -H "Content-Type: application/json" --data @other.json "$M/v2/apps/lock/staging" >/dev/null &&
	marathon_emu_ctl DELETE /_emu/requests >/dev/null &&
	mfault "{\"path\": \"/v2/deployments\", \"method\": \"GET\", \"kind\": \"hang\", \"seconds\": 60, \"count\": null}" &&
	sed "s/:1\"/:2\"/" lock.json >ours.json &&
	t0=$(date +%s%N) &&
	test_expect_code 3 marathon-deploy -m "$M" --json -t 2s ours.json staging 1 >out 2>err &&
	ms=$(elapsed_ms "$t0") && echo "${ms}ms" &&
	test "$ms" -le 4000 &&
	"$PYTHON" -c "import json; d = json.load(open(\"out\")); assert d[\"result\"] == \"timeout\" and d[\"deploymentId\"] is None, d" &&
	test_grep "still locked by deployment .* after 2s: nothing was deployed" err &&
	test "$(marathon_emu_requests | grep -c "\"method\": *\"PUT\"")" = 1 &&
	advance 60
'

test_expect_success 'Marathon 503 and garbage during the wait: retried, never a verdict, then exit 0' '
	marathon_emu_ctl DELETE /_emu/requests >/dev/null &&
	sim m5 >m5.json &&
	md_start "$M" --json -t 30s m5.json staging 2 &&
	test_wait_for 10 md_put_done &&
	mfault "{\"path\": \"/v2/apps/m5/*\", \"method\": \"GET\", \"kind\": \"status\", \"status\": 503, \"count\": 3}" &&
	mfault "{\"path\": \"/v2/apps/m5/*\", \"method\": \"GET\", \"kind\": \"garbage\", \"count\": 3}" &&
	test_wait_for 20 grep -q "GET $M/v2/apps/m5/staging: HTTP 503 (retrying)" err &&
	test_wait_for 20 grep -q "GET $M/v2/apps/m5/staging: HTTP 200 but not JSON .* (retrying)" err &&
	sleep 0.5 && test ! -s status &&
	advance 60 &&
	test "$(md_status)" = 0 &&
	"$PYTHON" -c "import json; d = json.load(open(\"out\")); assert d[\"result\"] == \"created\", d" &&
	healthy /m5/staging
'

test_expect_success 'Marathon 500 and 503 on the PUT: exit 3, the PUT sent once, nothing deployed' '
	sim m6 >m6.json &&
	for s in 500 503; do
		marathon_emu_ctl DELETE /_emu/requests >/dev/null &&
		mfault "{\"path\": \"/v2/apps/*\", \"method\": \"PUT\", \"kind\": \"status\", \"status\": $s}" &&
		test_expect_code 3 marathon-deploy -m "$M" --json m6.json staging 1 >out 2>err &&
		test_grep "PUT $M/v2/apps/m6/staging?partialUpdate=false: HTTP $s" err &&
		test_line_count = 0 out &&
		test "$(marathon_emu_requests | grep -c "\"method\": *\"PUT\"")" = 1 &&
		test "$(curl -s -o /dev/null -w "%{http_code}" "$M/v2/apps/m6/staging")" = 404 ||
		exit 1
	done
'

# ha NAME...: Marathon emulators sharing one state dir (one cluster) on
# the manual clock; HA_URL_<name> and HA_PID_<name>.
ha() {
	mkdir -p ha
	for n in "$@"; do
		marathon_emu_start --clock manual --name "$n" --state-dir "$PWD/ha" \
			--leader-wait 0.2 || return 1
		test_when_finished "marathon_emu_stop $MARATHON_EMU_PID"
		eval "HA_URL_$n=\$MARATHON_EMU_URL HA_PID_$n=\$MARATHON_EMU_PID"
	done
}

test_expect_success 'no leader during the wait: retried (502), the verdict once a leader is back' '
	ha a b &&
	sim nl >nl.json &&
	md_start "$HA_URL_a,$HA_URL_b" --json -t 30s nl.json staging 1 &&
	test_wait_for 10 md_put_done "$HA_URL_a" &&
	MARATHON_EMU_URL=$HA_URL_a marathon_emu_ctl POST /_emu/leader "{\"leader\": null}" >/dev/null &&
	test_wait_for 20 grep -q "HTTP 502 (retrying)" err &&
	sleep 0.5 && test ! -s status &&
	MARATHON_EMU_URL=$HA_URL_a marathon_emu_ctl POST /_emu/leader "{\"leader\": \"a\"}" >/dev/null &&
	advance 60 "$HA_URL_a" &&
	test "$(md_status)" = 0 &&
	healthy /nl/staging "$HA_URL_b"
'

test_expect_success 'the leader dies during the wait: the next Marathon is used, the verdict is exit 0' '
	ha a b &&
	sim lc >lc.json &&
	md_start "$HA_URL_a,$HA_URL_b" --json -t 30s lc.json staging 1 &&
	test_wait_for 10 md_put_done "$HA_URL_a" &&
	test_wait_for 10 grep -q "step 2/2" err &&
	marathon_emu_stop "$HA_PID_a" &&
	test_wait_for 20 sh -c "curl -s \"$HA_URL_b/_emu/state\" | grep -q \"\\\"leader\\\": *\\\"b\\\"\"" &&
	advance 60 "$HA_URL_b" &&
	test "$(md_status)" = 0 &&
	"$PYTHON" -c "import json; d = json.load(open(\"out\")); assert d[\"result\"] == \"created\", d" &&
	healthy /lc/staging "$HA_URL_b" &&
	MARATHON_EMU_URL=$HA_URL_b marathon_emu_requests | grep -q "/v2/apps/lc/staging"
'

test_expect_success 'TERM and INT during the wait: marathon-deploy stops at once, the deployment goes on' '
	for sig in TERM INT; do
		app=sig$(echo "$sig" | tr A-Z a-z)
		sim "$app" >s.json
		marathon_emu_ctl DELETE /_emu/requests >/dev/null
		env --default-signal=INT marathon-deploy -m "$M" --json -t 60s s.json staging 1 >out 2>err &
		pid=$! &&
		test_wait_for 10 md_put_done &&
		test_wait_for 10 grep -q "step 2/2" err &&
		t0=$(date +%s%N) &&
		kill -s "$sig" "$pid" &&
		st=0 && { wait "$pid" || st=$?; } &&
		ms=$(elapsed_ms "$t0") && echo "$sig: exit $st after ${ms}ms" &&
		case $sig in TERM) want=143 ;; INT) want=130 ;; esac &&
		test "$st" = "$want" &&
		test "$ms" -le 1000 &&
		test_line_count = 0 out &&
		advance 60 &&
		healthy "/$app/staging" || exit 1
	done
'

test_expect_success 'a full or closed stdout after a deploy: exit 1, said so, the deployment stands' '
	sim so1 >so1.json && sim so2 >so2.json &&
	test_expect_code 1 marathon-deploy -m "$M" --no-wait so1.json staging 1 >/dev/full 2>err &&
	test_grep "^marathon-deploy: write <stdout>: No space left on device" err &&
	test_expect_code 1 marathon-deploy -m "$M" --json --no-wait so2.json staging 2 >&- 2>err &&
	test_grep "^marathon-deploy: write <stdout>: Bad file descriptor" err &&
	advance 60 &&
	healthy /so1/staging && healthy /so2/staging
'

test_done
