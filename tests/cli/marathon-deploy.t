#!/bin/sh
# shellcheck disable=SC2016
# shellcheck disable=SC2034
test_description='marathon-deploy against the Marathon emulator'
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"

MARATHON_EMU_HOME=$GALLEY_ROOT/tests/emulators/marathon
export MARATHON_EMU_HOME
# shellcheck source=../emulators/marathon/emu.sh
. "$MARATHON_EMU_HOME/emu.sh"
EMU_DIR=$TRASH/emu
mkdir -p "$EMU_DIR"
export EMU_DIR
unset MARATHON_CREDENTIALS DCOS_ACS_TOKEN MARATHON_CACERT

# Two emulators for most tests: M on the manual clock (the test moves
# time, so waits are exact), R on the real clock (real task processes).
marathon_emu_start --clock manual --name m || exit 1
M_URL=$MARATHON_EMU_URL
M_PID=$MARATHON_EMU_PID
marathon_emu_start --name r || exit 1
R_URL=$MARATHON_EMU_URL
R_PID=$MARATHON_EMU_PID
export M_URL R_URL
test_at_exit 'marathon_emu_stop "$M_PID"; marathon_emu_stop "$R_PID"'

# emu [URL] METHOD PATH [JSON]: a control request (default: to M).
emu() {
	case $1 in
	http*) u=$1; shift ;;
	*) u=$M_URL ;;
	esac
	MARATHON_EMU_URL=$u marathon_emu_ctl "$@"
}

advance() {
	emu POST /_emu/clock "{\"advance\": $1}" >/dev/null
}

# requests [URL]: the request log (default M's), one JSON object a line.
requests() {
	MARATHON_EMU_URL=${1:-$M_URL} marathon_emu_requests
}

# count PATTERN [URL]: how many logged requests match a grep pattern.
count() {
	requests "${2:-$M_URL}" | grep -c -- "$1" || :
}

# The emulator logs a request before it handles it: a test that moves
# the clock waits for the answer, so the deployment exists by then.
PUT_DONE='"method":"PUT".*"status":[0-9]'
DELETE_DONE='"method":"DELETE".*"status":[0-9]'

# at_least N PATTERN [URL]
at_least() {
	[ "$(count "$2" "${3:-$M_URL}")" -ge "$1" ]
}

# json_check FILE PY-EXPR: d is FILE's JSON document, or for a log with
# one document a line, r is the list and P, G, D its PUTs, GETs, DELETEs.
json_check() {
	"$PYTHON" - "$1" "$2" <<'EOF'
import json, sys
text = open(sys.argv[1]).read()
try:
    d = json.loads(text)
except ValueError:
    d = None
try:
    r = [json.loads(l) for l in text.splitlines() if l.strip()]
    if not all(isinstance(e, dict) and "seq" in e for e in r):
        r = []
except ValueError:
    r = []
P = [e for e in r if e["method"] == "PUT"]
G = [e for e in r if e["method"] == "GET"]
D = [e for e in r if e["method"] == "DELETE"]
if not eval(sys.argv[2]):
    sys.exit("json_check failed: %s\n%s" % (sys.argv[2], text[:4000]))
EOF
}

# json_get FILE KEY: a top-level string of a JSON document.
json_get() {
	"$PYTHON" -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"
}

# app URL ID: GET /v2/apps/ID into app.json.
app() {
	curl -sS "$1/v2/apps$2" >app.json
}

# md_start ARGS...: marathon-deploy in the background; out, err, then status.
md_start() {
	rm -f status
	(
		set +e
		marathon-deploy "$@" >out 2>err
		echo $? >status
	) &
	md_pid=$!
	test_when_finished "test_kill_tree $md_pid"
}

# md_wait STATUS: until it has exited, with STATUS.
md_wait() {
	test_wait_for 30 test -s status
	if [ "$(cat status)" != "$1" ]; then
		echo "marathon-deploy exited $(cat status), wanted $1"
		cat err
		return 1
	fi
}

# sim NAME TAG [MEMBERS]: a template for a simulated (container-only) app
# with an HTTP health check, as gen-service-defs leaves it.
sim() {
	cat <<EOF
{
  "id": "/$1/\$environment",
  "instances": \$instances,
  "cpus": 0.1,
  "mem": 64,
  "container": {"type": "DOCKER", "docker": {"image": "registry.local/$1:$2"}},
  "env": {"ENVIRONMENT": "\$environment"},
  "healthChecks": [{"protocol": "HTTP", "path": "/health",
    "gracePeriodSeconds": 30, "intervalSeconds": 10,
    "maxConsecutiveFailures": 3}]${3:+,
  $3}
}
EOF
}

# deploy_ok NAME TAG INSTANCES: deploy on M and let it finish.
deploy_ok() {
	emu DELETE /_emu/requests >/dev/null
	sim "$1" "$2" >"$1-$2.json"
	md_start -q -m "$M_URL" "$1-$2.json" staging "$3"
	test_wait_for 10 at_least 1 "\"method\":\"PUT\",\"path\":\"/v2/apps/$1/staging\".*\"status\":[0-9]"
	advance 10
	md_wait 0
	emu DELETE /_emu/requests >/dev/null
}

# filled NAME TAG: the definition filled for staging, 1 instance.
filled() {
	sim "$1" "$2" | marathon-deploy -n - staging 1
}

# put_other NAME TAG: a deployment by someone else (curl), not forced.
put_other() {
	filled "$1" "$2" >other.json
	curl -sS -X PUT -H "Content-Type: application/json" --data @other.json \
		"$M_URL/v2/apps/$1/staging${3:+?$3}" >other.out
}

# srv: a real process serving HTTP on $PORT0, with a health check.
srv() {
	cat <<'EOF'
{
  "id": "/srv/$environment",
  "instances": $instances,
  "cmd": "exec python3 -m http.server $PORT0 --bind 127.0.0.1",
  "healthChecks": [{"protocol": "HTTP", "path": "/", "portIndex": 0,
    "gracePeriodSeconds": 20, "intervalSeconds": 1, "maxConsecutiveFailures": 3}]
}
EOF
}

# --- create, update, unchanged, scale -------------------------------------

test_expect_success 'create: 201, waits until healthy, progress on stderr' '
	emu DELETE /_emu/requests >/dev/null &&
	sim web v1 >web.json &&
	md_start -m "$M_URL" --json web.json staging 2 &&
	test_wait_for 10 grep -q "step 2/2 ScaleApplication: 2 running, 0 healthy" err &&
	sleep 0.3 && test ! -s status &&
	advance 10 &&
	md_wait 0 &&
	json_check out "d[\"result\"] == \"created\" and d[\"app\"] == \"/web/staging\"" &&
	app "$M_URL" /web/staging &&
	json_check app.json "d[\"app\"][\"tasksHealthy\"] == 2 and d[\"app\"][\"deployments\"] == []" &&
	json_check app.json "d[\"app\"][\"version\"] == \"$(json_get out version)\"" &&
	test_grep "creating: version" err &&
	test_grep "deployed version .*: 2 running, all healthy" err &&
	requests >log &&
	json_check log "len(P) == 1 and P[0][\"status\"] == 201 and P[0][\"params\"] == {\"partialUpdate\": [\"false\"]}" &&
	json_check log "P[0][\"json\"][\"id\"] == \"/web/staging\" and P[0][\"json\"][\"instances\"] == 2 and P[0][\"json\"][\"env\"] == {\"ENVIRONMENT\": \"staging\"}" &&
	json_check log "P[0][\"headers\"][\"Content-Type\"] == \"application/json\""
'

test_expect_success 'update: 200, rolling restart to the new image' '
	emu DELETE /_emu/requests >/dev/null &&
	sim web v2 >web.json &&
	md_start -m "$M_URL" --json web.json staging 2 &&
	test_wait_for 10 grep -q "step 1/1 RestartApplication" err &&
	advance 10 &&
	md_wait 0 &&
	json_check out "d[\"result\"] == \"updated\"" &&
	app "$M_URL" /web/staging &&
	json_check app.json "d[\"app\"][\"container\"][\"docker\"][\"image\"] == \"registry.local/web:v2\"" &&
	json_check app.json "d[\"app\"][\"version\"] == \"$(json_get out version)\" and d[\"app\"][\"tasksHealthy\"] == 2" &&
	json_check app.json "all(t[\"version\"] == d[\"app\"][\"version\"] for t in d[\"app\"][\"tasks\"])" &&
	requests >log && json_check log "len(P) == 1 and P[0][\"status\"] == 200"
'

test_expect_success 'unchanged: exit 0 at once, result unchanged, version kept' '
	app "$M_URL" /web/staging && cp app.json before.json &&
	sim web v2 >web.json &&
	marathon-deploy -m "$M_URL" --json web.json staging 2 >out 2>err &&
	json_check out "d[\"result\"] == \"unchanged\"" &&
	test_grep "unchanged: Marathon had nothing to deploy" err &&
	app "$M_URL" /web/staging &&
	json_check app.json "d[\"app\"][\"version\"] == \"$(json_get out version)\"" &&
	json_check before.json "d[\"app\"][\"version\"] == \"$(json_get out version)\""
'

test_expect_success 'scale only: the old tasks count, the new one must be healthy' '
	emu DELETE /_emu/requests >/dev/null &&
	sim web v2 >web.json &&
	md_start -m "$M_URL" --json web.json staging 3 &&
	test_wait_for 10 grep -q "ScaleApplication: 3 running, 2 healthy" err &&
	advance 10 &&
	md_wait 0 &&
	json_check out "d[\"result\"] == \"updated\"" &&
	app "$M_URL" /web/staging &&
	json_check app.json "d[\"app\"][\"tasksHealthy\"] == 3" &&
	json_check app.json "len({t[\"version\"] for t in d[\"app\"][\"tasks\"]}) == 2"
'

test_expect_success 'stdout is the deployment id without --json' '
	emu DELETE /_emu/requests >/dev/null &&
	sim web v3 >web.json &&
	md_start -q -m "$M_URL" web.json staging 3 &&
	test_wait_for 10 at_least 1 "$PUT_DONE" &&
	advance 10 &&
	md_wait 0 &&
	test_line_count = 1 out &&
	grep -Eq "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$" out &&
	test_line_count = 0 err
'

test_expect_success 'someone else overrides the deployment: failed, exit 1' '
	deploy_ok ovr v1 1 &&
	sim ovr v2 >ovr.json &&
	md_start -m "$M_URL" --json ovr.json staging 1 &&
	test_wait_for 10 grep -q RestartApplication err &&
	put_other ovr v9 force=true &&
	md_wait 1 &&
	json_check out "d[\"result\"] == \"failed\"" &&
	test_grep "cancelled or overridden" err
'

# --- timeouts and rollbacks ----------------------------------------------

test_expect_success 'never healthy: timeout, exit 4, diagnostics with lastTaskFailure' '
	emu DELETE /_emu/requests >/dev/null &&
	emu POST /_emu/apps/sick/staging/knobs "{\"neverHealthy\": true}" >/dev/null &&
	sim sick v1 >sick.json &&
	md_start -m "$M_URL" --json -t 2s sick.json staging 2 &&
	test_wait_for 10 at_least 1 "$PUT_DONE" &&
	advance 65 &&
	md_wait 4 &&
	json_check out "d[\"result\"] == \"timeout\" and d[\"app\"] == \"/sick/staging\"" &&
	app "$M_URL" /sick/staging &&
	msg=$("$PYTHON" -c "import json; print(json.load(open(\"app.json\"))[\"app\"][\"lastTaskFailure\"][\"message\"])") &&
	test -n "$msg" &&
	test_grep "not done after 2s" err &&
	test_grep "step 2/2 ScaleApplication" err &&
	test_grep "last task failure: TASK_KILLED at .*: $msg" err
'

test_expect_success 'no offers: the diagnostics show the launch queue' '
	emu POST /_emu/apps/stuck/staging/knobs "{\"noOffers\": true}" >/dev/null &&
	sim stuck v1 >stuck.json &&
	test_expect_code 4 marathon-deploy -m "$M_URL" -t 1s stuck.json staging 3 >out 2>err &&
	test_grep "0 running, 0 healthy, 0 unhealthy, 0 at the new version (want 3) (not done after 1s)" err &&
	test_grep "launch queue: 3 task(s) waiting for offers" err
'

test_expect_success '--rollback=previous: PUT the previous version with force, exit 4' '
	deploy_ok rbp v1 2 &&
	app "$M_URL" /rbp/staging &&
	v1=$("$PYTHON" -c "import json; print(json.load(open(\"app.json\"))[\"app\"][\"version\"])") &&
	sim rbp v2 >rbp.json &&
	md_start -m "$M_URL" --json -t 1s --rollback rbp.json staging 2 &&
	test_wait_for 10 at_least 2 "$PUT_DONE" &&
	advance 10 &&
	md_wait 4 &&
	json_check out "d[\"result\"] == \"rolled-back\"" &&
	test_grep "rolled back to the previous definition" err &&
	requests >log &&
	json_check log "len(P) == 2 and P[1][\"params\"] == {\"force\": [\"true\"]} and P[1][\"json\"] == {\"id\": \"/rbp/staging\", \"version\": \"$v1\"}" &&
	app "$M_URL" /rbp/staging &&
	json_check app.json "d[\"app\"][\"container\"][\"docker\"][\"image\"] == \"registry.local/rbp:v1\"" &&
	json_check app.json "d[\"app\"][\"tasksHealthy\"] == 2 and d[\"app\"][\"deployments\"] == []" &&
	json_check app.json "d[\"app\"][\"version\"] > \"$(json_get out version)\" and all(t[\"version\"] == d[\"app\"][\"version\"] for t in d[\"app\"][\"tasks\"])"
'

test_expect_success '--rollback=revert: DELETE the deployment, Marathon reverts, exit 4' '
	deploy_ok rbr v1 2 &&
	sim rbr v2 >rbr.json &&
	md_start -m "$M_URL" --json -t 1s --rollback=revert rbr.json staging 2 &&
	test_wait_for 10 at_least 1 "$DELETE_DONE" &&
	advance 10 &&
	md_wait 4 &&
	json_check out "d[\"result\"] == \"rolled-back\"" &&
	requests >log &&
	json_check log "len(D) == 1 and D[0][\"path\"] == \"/v2/deployments/$(json_get out deploymentId)\" and D[0][\"status\"] == 200" &&
	app "$M_URL" /rbr/staging &&
	json_check app.json "d[\"app\"][\"container\"][\"docker\"][\"image\"] == \"registry.local/rbr:v1\" and d[\"app\"][\"tasksHealthy\"] == 2"
'

test_expect_success '--rollback of a new app removes it' '
	emu DELETE /_emu/requests >/dev/null &&
	sim fresh v1 >fresh.json &&
	md_start -m "$M_URL" --json -t 1s --rollback fresh.json staging 1 &&
	test_wait_for 10 at_least 1 "$DELETE_DONE" &&
	advance 1 &&
	md_wait 4 &&
	json_check out "d[\"result\"] == \"rolled-back\"" &&
	test_grep "the app is removed, as it did not exist before" err &&
	test "$(curl -s -o /dev/null -w "%{http_code}" "$M_URL/v2/apps/fresh/staging")" = 404
'

test_expect_success 'a rollback that does not finish: exit 5' '
	deploy_ok rbf v1 1 &&
	sim rbf v2 >rbf.json &&
	test_expect_code 5 marathon-deploy -m "$M_URL" --json -t 1s --rollback rbf.json staging 1 >out 2>err &&
	json_check out "d[\"result\"] == \"rollback-failed\"" &&
	test_grep "a human must look" err &&
	advance 10
'

# --- locks ----------------------------------------------------------------

test_expect_success 'a locked app: waits for the other deployment, then deploys' '
	deploy_ok lk v1 1 &&
	put_other lk v2 &&
	sim lk v3 >lk.json &&
	md_start -m "$M_URL" --json lk.json staging 1 &&
	test_wait_for 10 grep -q "locked by deployment $(json_get other.out deploymentId): waiting" err &&
	advance 10 &&
	test_wait_for 10 at_least 3 "$PUT_DONE" &&
	advance 10 &&
	md_wait 0 &&
	json_check out "d[\"result\"] == \"updated\"" &&
	requests >log &&
	json_check log "[e[\"status\"] for e in P] == [200, 409, 200]" &&
	app "$M_URL" /lk/staging &&
	json_check app.json "d[\"app\"][\"container\"][\"docker\"][\"image\"] == \"registry.local/lk:v3\""
'

test_expect_success '-f: overrides the lock (the other deployment is cancelled)' '
	put_other lk v4 &&
	emu DELETE /_emu/requests >/dev/null &&
	sim lk v5 >lk.json &&
	md_start -m "$M_URL" --json -f lk.json staging 1 &&
	test_wait_for 10 at_least 1 "$PUT_DONE" &&
	advance 10 &&
	md_wait 0 &&
	test_grep "f: cancelling deployment $(json_get other.out deploymentId)" err &&
	requests >log &&
	json_check log "len(P) == 1 and P[0][\"params\"] == {\"partialUpdate\": [\"false\"], \"force\": [\"true\"]} and P[0][\"status\"] == 200" &&
	emu GET /_emu/events >events &&
	json_check events "any(e[\"eventType\"] == \"deployment_failed\" and e[\"id\"] == \"$(json_get other.out deploymentId)\" for e in d)"
'

test_expect_success 'a lock that outlasts the timeout: exit 3, nothing deployed' '
	put_other lk v6 &&
	sim lk v7 >lk.json &&
	test_expect_code 3 marathon-deploy -m "$M_URL" --json -t 1s lk.json staging 1 >out 2>err &&
	json_check out "d[\"result\"] == \"timeout\" and d[\"deploymentId\"] is None" &&
	test_grep "still locked by deployment $(json_get other.out deploymentId) after 1s: nothing was deployed" err &&
	advance 10
'

# --- Marathon says no -----------------------------------------------------

test_expect_success '422: the path and the message, exit 1' '
	emu DELETE /_emu/requests >/dev/null &&
	sim bad v1 "\"upgradeStrategy\": {\"minimumHealthCapacity\": 2}" >bad.json &&
	test_expect_code 1 marathon-deploy -m "$M_URL" --json bad.json staging 1 >out 2>err &&
	test_grep "PUT $M_URL/v2/apps/bad/staging?partialUpdate=false: HTTP 422: Object is not valid; /upgradeStrategy/minimumHealthCapacity: is greater than 1" err &&
	json_check out "d[\"result\"] == \"failed\" and d[\"deploymentId\"] is None" &&
	test "$(count "\"method\":\"PUT\"")" = 1
'

test_expect_success '400: the message and its string details, exit 1' '
	emu POST /_emu/fault "{\"path\": \"/v2/apps/*\", \"method\": \"PUT\", \"kind\": \"status\", \"status\": 400, \"body\": {\"message\": \"Invalid JSON\", \"details\": \"Unexpected end-of-input: expected close marker for Object\"}}" >/dev/null &&
	sim web v3 >web.json &&
	test_expect_code 1 marathon-deploy -m "$M_URL" web.json staging 3 >out 2>err &&
	test_grep "HTTP 400: Invalid JSON: Unexpected end-of-input: expected close marker for Object" err &&
	test_line_count = 0 out
'

test_expect_success 'a PUT whose connection breaks: read the app before sending it again' '
	emu DELETE /_emu/requests >/dev/null &&
	emu POST /_emu/fault "{\"path\": \"/v2/apps/*\", \"method\": \"PUT\", \"kind\": \"reset\"}" >/dev/null &&
	sim web v4 >web.json &&
	md_start -m "$M_URL" --json web.json staging 3 &&
	test_wait_for 10 at_least 1 "$PUT_DONE" &&
	advance 10 &&
	md_wait 0 &&
	test_grep "reading the app before anything else" err &&
	requests >log &&
	json_check log "[(e[\"method\"], e[\"fault\"]) for e in r][:4] == [(\"GET\", None), (\"PUT\", \"reset\"), (\"GET\", None), (\"PUT\", None)]"
'

# --- templates: fetched and checked before any request --------------------

test_expect_success 'templates over HTTP: 404 and an HTML page are errors, nothing sent' '
	mkdir www && sim web v4 >www/web.json &&
	printf "<!DOCTYPE html>\\n<html><body>Access Denied</body></html>\\n" >www/denied.json &&
	cp www/denied.json www/page.html &&
	"$PYTHON" -u -m http.server 0 --bind 127.0.0.1 --directory www >httpd.out 2>&1 &
	httpd=$! && test_when_finished "kill $httpd" &&
	test_wait_for 10 grep -q "port" httpd.out &&
	port=$(sed -n "s/.* port \\([0-9]*\\) .*/\\1/p" httpd.out) &&
	emu DELETE /_emu/requests >/dev/null &&
	test_expect_code 1 marathon-deploy -m "$M_URL" "http://127.0.0.1:$port/missing.json?X-Amz-Signature=s3cr3t" staging 1 2>err &&
	test_grep "GET http://127.0.0.1:$port/missing.json?...: HTTP 404" err &&
	test_grep -v s3cr3t err &&
	test_expect_code 1 marathon-deploy -m "$M_URL" "http://127.0.0.1:$port/page.html" staging 1 2>err &&
	test_grep "HTTP 200 with an HTML page, not a template" err &&
	test_expect_code 1 marathon-deploy -m "$M_URL" "http://127.0.0.1:$port/denied.json" staging 1 2>err &&
	test_grep "HTML page" err &&
	test "$(count .)" = 0 &&
	marathon-deploy -m "$M_URL" --json --no-wait "http://127.0.0.1:$port/web.json" staging 3 >out &&
	json_check out "d[\"result\"] == \"accepted\"" &&
	advance 10
'

test_expect_success 'invalid JSON: file:line:col, exit 1, nothing sent' '
	emu DELETE /_emu/requests >/dev/null &&
	printf "{\\n  \"id\": \"/x\",\\n  \"cmd\": \"sleep 1\",\\n}\\n" >bad.json &&
	test_expect_code 1 marathon-deploy -m "$M_URL" bad.json staging 2>err &&
	test_grep "^marathon-deploy: bad.json:4:1: " err &&
	test "$(count .)" = 0
'

test_expect_success 'an undefined placeholder outside strings: exit 1, nothing sent' '
	emu DELETE /_emu/requests >/dev/null &&
	printf "{\"id\": \"/x/\$environment\", \"cmd\": \"sleep 1\",\\n \"instances\": \$count}\\n" >t.json &&
	test_expect_code 1 marathon-deploy -m "$M_URL" t.json staging 2>err &&
	test_grep "t.json:2:15: \\\$count is not defined: use -s count=VALUE" err &&
	test "$(count .)" = 0 &&
	marathon-deploy -n -s count=4 t.json staging >out &&
	json_check out "d[\"instances\"] == 4 and d[\"id\"] == \"/x/staging\""
'

test_expect_success '$PORT0 in cmd: left alone with a warning; a real task gets it' '
	srv >srv.json &&
	marathon-deploy -m "$R_URL" --json -t 30s srv.json staging 2 >out 2>err &&
	test_grep "warning: srv.json:4:[0-9]*: \\\$PORT0 is not defined: left as written" err &&
	json_check out "d[\"result\"] == \"created\"" &&
	requests "$R_URL" >log &&
	json_check log "P[0][\"json\"][\"cmd\"] == \"exec python3 -m http.server \$PORT0 --bind 127.0.0.1\"" &&
	app "$R_URL" /srv/staging &&
	json_check app.json "d[\"app\"][\"tasksHealthy\"] == 2"
'

test_expect_success '--strict: an undefined placeholder in a string is an error' '
	emu DELETE /_emu/requests >/dev/null &&
	srv >srv.json &&
	test_expect_code 1 marathon-deploy -m "$M_URL" --strict srv.json staging 2>err &&
	test_grep "srv.json:4:[0-9]*: \\\$PORT0 is not defined: use -s PORT0=VALUE" err &&
	test "$(count .)" = 0
'

test_expect_success 'read-only fields pasted from GET output: removed with a warning' '
	emu DELETE /_emu/requests >/dev/null &&
	sim pasted v1 "\"version\": \"2016-04-04T05:38:27.077Z\", \"versionInfo\": {}, \"tasksRunning\": 3, \"tasksHealthy\": 2, \"tasks\": [], \"deployments\": [{\"id\": \"97c1\"}], \"lastTaskFailure\": {\"message\": \"x\"}" >p.json &&
	marathon-deploy -m "$M_URL" --no-wait p.json staging 1 >out 2>err &&
	test_grep "warning: p.json: removed read-only fields (pasted from GET output?): deployments, lastTaskFailure, tasks, tasksHealthy, tasksRunning, version, versionInfo" err &&
	requests >log &&
	json_check log "len(P) == 1 and not set(P[0][\"json\"]) & {\"version\", \"versionInfo\", \"tasks\", \"tasksRunning\", \"tasksHealthy\", \"deployments\", \"lastTaskFailure\"}" &&
	advance 10
'

test_expect_success 'GET output pasted whole, a bad id: exit 1, nothing sent' '
	emu DELETE /_emu/requests >/dev/null &&
	echo "{\"app\": {\"id\": \"/x\"}}" >wrapped.json &&
	test_expect_code 1 marathon-deploy -m "$M_URL" wrapped.json staging 2>err &&
	test_grep "looks like the output of GET /v2/apps/<id>" err &&
	echo "{\"id\": \"/My_App/\$environment\", \"cmd\": \"true\"}" >id.json &&
	test_expect_code 1 marathon-deploy -m "$M_URL" id.json staging 2>err &&
	test_grep "id.json: app id ./My_App/staging.: segment .My_App. must be lower-case" err &&
	test "$(count .)" = 0
'

test_expect_success '--dry-run: the filled definition on stdout, nothing sent' '
	emu DELETE /_emu/requests >/dev/null &&
	sim dry v1 "\"labels\": {\"NOTE\": \"\$note\"}" >dry.json &&
	marathon-deploy -m "$M_URL" -n -s "note=say \"hi\" \\ bye" dry.json production 5 >out 2>err &&
	json_check out "d[\"instances\"] == 5 and d[\"id\"] == \"/dry/production\"" &&
	json_check out "d[\"labels\"][\"NOTE\"] == \"say \\\"hi\\\" \\\\ bye\"" &&
	test "$(count .)" = 0 &&
	marathon-deploy -m http://127.0.0.1:1 --dry-run dry.json production 2 -s note=x >out &&
	json_check out "d[\"instances\"] == 2"
'

test_expect_success 'a template on stdin' '
	emu DELETE /_emu/requests >/dev/null &&
	sim piped v1 | marathon-deploy -m "$M_URL" --json --no-wait - staging 2 >out &&
	json_check out "d[\"result\"] == \"accepted\" and d[\"app\"] == \"/piped/staging\"" &&
	requests >log && json_check log "len(P) == 1 and P[0][\"json\"][\"instances\"] == 2" &&
	advance 10
'

test_expect_success 'file:// URLs, and usage errors (exit 2)' '
	sim furl v1 >f.json &&
	marathon-deploy -n "file://$PWD/f.json" staging >out &&
	json_check out "d[\"id\"] == \"/furl/staging\"" &&
	test_expect_code 2 marathon-deploy f.json &&
	test_expect_code 2 marathon-deploy f.json staging two 2>err &&
	test_grep "two: the instance count must be a whole number" err &&
	test_expect_code 2 marathon-deploy -t soon f.json staging 2>err &&
	test_grep "t soon: expected a duration" err &&
	test_expect_code 2 marathon-deploy --rollback=undo f.json staging 2>err &&
	test_grep "rollback=undo: expected previous or revert" err &&
	test_expect_code 2 marathon-deploy -m ftp://x f.json staging 2>err &&
	test_expect_code 2 marathon-deploy s3://bucket/f.json staging 2>err &&
	test_grep "unsupported URL" err &&
	test_expect_code 1 marathon-deploy missing.json staging 2>err &&
	test_grep "missing.json: No such file or directory" err
'

# --- finding Marathon -----------------------------------------------------

test_expect_success 'the first Marathon URL is down: the second is used' '
	emu DELETE /_emu/requests >/dev/null &&
	sim two v1 >two.json &&
	marathon-deploy -m http://127.0.0.1:1 -m "$M_URL" --json --no-wait two.json staging 1 >out 2>err &&
	json_check out "d[\"result\"] == \"accepted\"" &&
	test_grep "GET http://127.0.0.1:1/v2/apps/two/staging: .*trying the next Marathon" err &&
	test "$(count "\"method\":\"PUT\"")" = 1 &&
	advance 10
'

test_expect_success 'a follower URL: the leader is reached; no leader: exit 3' '
	mkdir ha &&
	marathon_emu_start --name a --state-dir "$PWD/ha" --leader-wait 0.2 && a=$MARATHON_EMU_URL &&
	test_when_finished "marathon_emu_stop $MARATHON_EMU_PID" &&
	marathon_emu_start --name b --state-dir "$PWD/ha" --leader-wait 0.2 && b=$MARATHON_EMU_URL &&
	test_when_finished "marathon_emu_stop $MARATHON_EMU_PID" &&
	emu "$b" GET /_emu/state >state && json_check state "d[\"leader\"] == \"a\"" &&
	sim ha v1 >ha.json &&
	MARATHON_URL=$b marathon-deploy --json -t 20s ha.json staging 1 >out 2>err &&
	json_check out "d[\"result\"] == \"created\"" &&
	requests "$b" >follower.log && requests "$a" >leader.log &&
	json_check follower.log "[e[\"method\"] for e in r] == [\"GET\"]" &&
	json_check leader.log "G[0][\"headers\"].get(\"X-Marathon-Via\") and len(P) == 1 and not P[0][\"headers\"].get(\"X-Marathon-Via\")" &&
	emu "$a" POST /_emu/leader "{\"leader\": null}" >/dev/null &&
	test_expect_code 3 marathon-deploy -m "$a,$b" ha.json staging 1 >out 2>err &&
	test_grep "GET $b/v2/apps/ha/staging: HTTP 502" err &&
	test_line_count = 0 out
'

# --- auth and TLS ---------------------------------------------------------

test_expect_success 'basic auth: MARATHON_CREDENTIALS, --credentials-file; 401 exit 1, secret never shown' '
	marathon_emu_start --auth basic:deployer:s3cr3t-pw && u=$MARATHON_EMU_URL &&
	test_when_finished "marathon_emu_stop $MARATHON_EMU_PID" &&
	sim auth v1 >a.json &&
	MARATHON_CREDENTIALS=deployer:s3cr3t-pw marathon-deploy -v -m "$u" --json a.json staging 0 >out 2>err &&
	json_check out "d[\"result\"] == \"created\"" &&
	printf "deployer:s3cr3t-pw\\n" >creds &&
	marathon-deploy -m "$u" --credentials-file creds --json a.json staging 0 >>out 2>>err &&
	requests "$u" >log && json_check log "all(e[\"authorization\"] == \"basic\" for e in r) and len(r) >= 4" &&
	test_expect_code 1 env MARATHON_CREDENTIALS=deployer:wr0ng-pw marathon-deploy -v -m "$u" --json a.json staging 0 >>out 2>>err &&
	test_grep "GET $u/v2/apps/auth/staging: HTTP 401: check the credentials from MARATHON_CREDENTIALS" err &&
	test_expect_code 1 marathon-deploy -m "$u" a.json staging 0 2>err2 &&
	test_grep "Marathon wants credentials: set MARATHON_CREDENTIALS" err2 &&
	! grep -r -e s3cr3t -e wr0ng -e "ZGVwbG95ZXI6" out err err2
'

test_expect_success 'token auth: DCOS_ACS_TOKEN, --token-file; 401 exit 1, secret never shown' '
	marathon_emu_start --auth token:t0ken-s3cr3t && u=$MARATHON_EMU_URL &&
	test_when_finished "marathon_emu_stop $MARATHON_EMU_PID" &&
	sim tok v1 >t.json &&
	DCOS_ACS_TOKEN=t0ken-s3cr3t marathon-deploy -v -m "$u" --json t.json staging 0 >out 2>err &&
	json_check out "d[\"result\"] == \"created\"" &&
	echo t0ken-s3cr3t >token &&
	MARATHON_CREDENTIALS=x:y marathon-deploy -v -m "$u" --token-file token --json t.json staging 0 >>out 2>>err &&
	requests "$u" >log && json_check log "all(e[\"authorization\"] == \"token\" for e in r)" &&
	echo wr0ng-t0ken >bad-token &&
	test_expect_code 1 marathon-deploy -v -m "$u" --token-file bad-token t.json staging 0 >>out 2>>err &&
	test_grep "HTTP 401: Invalid username or password.: check the credentials from --token-file" err &&
	! grep -r -e s3cr3t -e wr0ng out err
'

test_expect_success 'TLS: a self-signed certificate is refused by default, --cacert works' '
	openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem \
		-days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 2>/dev/null &&
	marathon_emu_start --tls-cert cert.pem --tls-key key.pem && u=$MARATHON_EMU_URL &&
	test_when_finished "marathon_emu_stop $MARATHON_EMU_PID" &&
	case $u in https://*) ;; *) false ;; esac &&
	sim tls v1 >t.json &&
	test_expect_code 3 marathon-deploy -m "$u" t.json staging 0 2>err &&
	test_grep "GET $u/v2/apps/tls/staging: .*certificate.*: is Marathon.s certificate signed by a CA you trust" err &&
	test "$(count . "$u")" = 0 &&
	marathon-deploy -m "$u" --cacert cert.pem --json t.json staging 0 >out &&
	json_check out "d[\"result\"] == \"created\"" &&
	MARATHON_CACERT=$PWD/cert.pem marathon-deploy -m "$u" --json t.json staging 0 >out &&
	json_check out "d[\"result\"] == \"unchanged\"" &&
	marathon-deploy -m "$u" --insecure --json t.json staging 0 >out &&
	json_check out "d[\"result\"] == \"unchanged\""
'

# --- as a Chronos job runs it ---------------------------------------------

test_expect_success 'no terminal, no HOME, no locale (env -i), as a Chronos job' '
	sim cron v1 >cron.json &&
	sed -i "s/\"intervalSeconds\": 10/\"intervalSeconds\": 1/" cron.json &&
	md=$(command -v marathon-deploy) &&
	env -i "$md" -m "$R_URL" -t 30s "file://$PWD/cron.json" nightly 2 </dev/null >out 2>err &&
	test_line_count = 1 out &&
	test_grep "deployed version" err &&
	app "$R_URL" /cron/nightly &&
	json_check app.json "d[\"app\"][\"tasksHealthy\"] == 2 and d[\"app\"][\"env\"] == {\"ENVIRONMENT\": \"nightly\"}"
'

test_done
