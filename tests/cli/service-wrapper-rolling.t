#!/bin/sh
# shellcheck disable=SC2016
# shellcheck disable=SC2034
# shellcheck disable=SC2119
test_description='service-wrapper: N instances under Marathon, one rolling restart per change'
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=../helpers/service-wrapper.sh
. "$GALLEY_ROOT/tests/helpers/service-wrapper.sh"

sw_emulators_start

# serving VALUE: the app runs 4 tasks, no deployment, and each task's
# command answers VALUE on its port (so it started with that value).
cat >serving.py <<\EOF
import json, sys, urllib.request
m, want = sys.argv[1], sys.argv[2]
def get(url):
    with urllib.request.urlopen(url, timeout=5) as r:
        return r.read().decode()
app = json.loads(get(m + "/v2/apps/app/roll?embed=app.tasks"))["app"]
tasks = [t for t in app["tasks"] if t["state"] == "TASK_RUNNING"]
if app["deployments"] or len(tasks) != 4 or len(app["tasks"]) != 4:
    sys.exit("%d deployments, %d tasks" % (len(app["deployments"]), len(tasks)))
for t in tasks:
    got = get("http://127.0.0.1:%d/" % t["ports"][0]).split()
    if not got or got[0] != want:
        sys.exit("task %s serves %r" % (t["id"], got))
EOF
serving() {
	"$PYTHON" "$TRASH/serving.py" "$M" "$1"
}

# one_serves VALUE: at least one running task answers VALUE.
one_serves() {
	"$PYTHON" - "$M" "$1" <<-\EOF
	import json, sys, urllib.request
	m, want = sys.argv[1], sys.argv[2]
	app = json.load(urllib.request.urlopen(m + "/v2/apps/app/roll?embed=app.tasks"))["app"]
	for t in app["tasks"]:
	    if t["state"] != "TASK_RUNNING":
	        continue
	    try:
	        got = urllib.request.urlopen("http://127.0.0.1:%d/" % t["ports"][0], timeout=2).read()
	    except OSError:
	        continue
	    if got.split()[:1] == [want.encode()]:
	        sys.exit(0)
	sys.exit(1)
	EOF
}

# deploying: the app has a deployment in flight.
deploying() {
	marathon_emu_ctl GET /v2/deployments | grep -q '"id"'
}

test_expect_success 'four real tasks, each a service-wrapper, all serving v1' '
	consul_emu_put app/roll/GREETING v1 &&
	cat >app.json <<-EOF &&
	{"id": "/app/roll", "instances": 4, "cpus": 0.1, "mem": 32,
	 "upgradeStrategy": {"minimumHealthCapacity": 0.5, "maximumOverCapacity": 0},
	 "env": {"SERVICE_WRAPPER_DEBOUNCE": "300ms,2s", "SERVICE_WRAPPER_SPLAY": "1s",
	         "SERVICE_WRAPPER_WAIT": "2s", "SERVICE_WRAPPER_RESTART_RETRY": "3s",
	         "SERVICE_WRAPPER_VERBOSE": "1"},
	 "args": ["service-wrapper", "$M", "$C", "app/roll",
	          "$PYTHON", "$SW_CHILD", "serve"]}
	EOF
	marathon_emu_ctl POST /_emu/apps/app/roll/knobs "{\"slowStartSeconds\": 2}" &&
	marathon_emu_ctl POST /v2/apps "$(cat app.json)" >out &&
	test_grep "\"id\":\"/app/roll\"" out &&
	test_wait_for 40 serving v1
'

test_expect_success 'one KV change: exactly one rolling restart, then all serve v2' '
	marathon_emu_ctl DELETE /_emu/requests >/dev/null &&
	consul_emu_put app/roll/GREETING v2 &&
	test_wait_for 40 sw_accepted_are /app/roll 1 &&
	test_wait_for 60 serving v2 &&
	sleep 4 &&
	serving v2 &&
	test "$(sw_accepted /app/roll)" = 1 &&
	n=$(sw_restarts /app/roll) && echo "$n restart requests, 1 accepted" &&
	test "$n" -ge 1 && test "$n" -le 12
'

test_expect_success 'a change during the restart: the instances started with v3 converge on v4' '
	marathon_emu_ctl DELETE /_emu/requests >/dev/null &&
	consul_emu_put app/roll/GREETING v3 &&
	test_wait_for 40 sw_accepted_are /app/roll 1 &&
	test_wait_for 40 one_serves v3 &&
	consul_emu_put app/roll/GREETING v4 &&
	deploying &&
	test_wait_for 90 serving v4 &&
	sleep 4 &&
	serving v4 &&
	test "$(sw_accepted /app/roll)" = 2 &&
	n=$(sw_restarts /app/roll) && echo "$n restart requests, 2 accepted" &&
	test "$n" -le 30
'

test_done
