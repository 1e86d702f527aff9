#!/bin/sh
# shellcheck disable=SC2016
# shellcheck disable=SC2034
# shellcheck disable=SC2119
test_description='secrets: no token, password or KV value in any output or argv of ours'
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=../helpers/service-wrapper.sh
. "$GALLEY_ROOT/tests/helpers/service-wrapper.sh"

# The secrets, each distinct, and how they could show: as written, and
# base64'd as in an Authorization: Basic header.
M_USER=deployer
M_PASS=mpass-S3cr3t-01
M_PASS_FILE=mpassf-S3cr3t-02
M_TOKEN=mtoken-S3cr3t-03
M_TOKEN_FILE=mtokenf-S3cr3t-04
M_PASS_URL=mpassurl-S3cr3t-05
M_WRONG=mwrong-S3cr3t-06
C_TOKEN=ctoken-S3cr3t-07
C_TOKEN_FILE=ctokenf-S3cr3t-08
C_AUTH=cuser:cauth-S3cr3t-09
C_WRONG=cwrong-S3cr3t-10
C_PASS_URL=cpassurl-S3cr3t-11
KV_1=kv-S3cr3t-12
KV_2='kv S3cr3t 13 with "quotes" and $(sh)'
KV_3=kv-S3cr3t-14-new
SECRETS=$TRASH/secrets
{
	for s in "$M_PASS" "$M_PASS_FILE" "$M_TOKEN" "$M_TOKEN_FILE" "$M_PASS_URL" \
		"$M_WRONG" "$C_TOKEN" "$C_TOKEN_FILE" "$C_AUTH" "$C_WRONG" "$C_PASS_URL" \
		"$KV_1" "$KV_2" "$KV_3" "cauth-S3cr3t-09"; do
		printf '%s\n' "$s"
	done
	for up in "$M_USER:$M_PASS" "$M_USER:$M_PASS_FILE" "$M_USER:$M_PASS_URL" \
		"$M_USER:$M_WRONG" "$C_AUTH" "$M_USER:$C_PASS_URL"; do
		printf '%s' "$up" | base64 -w0
		echo
	done
	printf '%s' "$KV_1" | base64 -w0; echo
	printf '%s' "$KV_2" | base64 -w0; echo
} >"$SECRETS"

# secrets_scan FILE...: fails, naming the file and the secret's line in
# $SECRETS, when any secret is in any FILE.
secrets_scan() {
	_leak=0
	_n=0
	while IFS= read -r _s; do
		_n=$((_n + 1))
		for _f in "$@"; do
			if grep -q -F -e "$_s" "$_f"; then
				echo "secrets_scan: secret $_n of $SECRETS is in $_f" >&2
				_leak=1
			fi
		done
	done <"$SECRETS"
	return "$_leak"
}

# proc_tree PID: the command lines of PID and every process below it,
# one a line, NULs as spaces.
proc_tree() {
	tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null && echo
	for _c in $(ps -o pid= --ppid "$1" 2>/dev/null); do
		proc_tree "$_c"
	done
}

# argv_scan PID: no secret in the argv of PID or its descendants.
argv_scan() {
	proc_tree "$1" >"argv.$1"
	test -s "argv.$1" || { echo "argv_scan: no process $1" >&2; return 1; }
	secrets_scan "argv.$1"
}

# The emulators: Consul with ACLs, Marathon with basic auth (B) and with
# a DC/OS token (T).
consul_emu_start --acl-default deny \
	--token "$C_TOKEN:read:app/" --token "$C_TOKEN_FILE:read:app/" \
	--token "emu-admin:management" || exit 1
C_PID=$CONSUL_EMU_PID
C=$CONSUL_EMU_URL
marathon_emu_start --name b --auth "basic:$M_USER:$M_PASS" || { consul_emu_stop; exit 1; }
B_PID=$MARATHON_EMU_PID
B=$MARATHON_EMU_URL
marathon_emu_start --name t --auth "token:$M_TOKEN" ||
	{ consul_emu_stop; marathon_emu_stop "$B_PID"; exit 1; }
T_PID=$MARATHON_EMU_PID
T=$MARATHON_EMU_URL
test_at_exit 'consul_emu_stop $C_PID; marathon_emu_stop $B_PID; marathon_emu_stop $T_PID'
CONSUL_EMU_TOKEN=emu-admin consul_emu_put app/s/PLAIN "$KV_1" || exit 1
CONSUL_EMU_TOKEN=emu-admin consul_emu_put app/s/QUOTED "$KV_2" || exit 1
printf '%s\n' "$M_USER:$M_PASS" >"$TRASH/creds"
printf '%s\n' "$M_USER:$M_PASS_FILE" >"$TRASH/creds-wrong"
printf '%s\n' "$M_TOKEN" >"$TRASH/mtoken"
printf '%s\n' "$M_TOKEN_FILE" >"$TRASH/mtoken-wrong"
printf '  %s\n' "$C_TOKEN_FILE" >"$TRASH/ctoken"

# A simulated app, as gen-service-defs leaves it.
cat >"$TRASH/app.json" <<'EOF'
{
  "id": "/sec/$environment",
  "instances": $instances,
  "container": {"type": "DOCKER", "docker": {"image": "registry.local/sec:$tag"}},
  "env": {"ENVIRONMENT": "$environment"}
}
EOF

test_expect_success 'the scan finds a secret echoed on stdout, stderr, base64d, or in argv' '
	MARATHON_CREDENTIALS=$M_USER:$M_PASS sh -c "echo \"creds: \$MARATHON_CREDENTIALS\"" >o 2>e &&
	test_must_fail secrets_scan o e 2>why &&
	test_grep "secret 1 of .* is in o" why &&
	DCOS_ACS_TOKEN=$M_TOKEN sh -c "echo \"\$DCOS_ACS_TOKEN\" >&2" >o 2>e &&
	test_must_fail secrets_scan o e 2>why &&
	test_grep "is in e" why &&
	printf "Authorization: Basic %s\n" "$(printf %s "$M_USER:$M_PASS" | base64 -w0)" >o &&
	test_must_fail secrets_scan o &&
	printf "%s\n" "$KV_2" >o && test_must_fail secrets_scan o || exit 1
	"$PYTHON" -c "import time; time.sleep(30)" "$C_TOKEN" &
	pid=$! && test_when_finished "kill $pid" &&
	test_wait_for 10 grep -q time.sleep "/proc/$pid/cmdline" &&
	test_must_fail argv_scan "$pid" 2>why &&
	test_grep "secret 7 of" why &&
	echo "nothing here" >o && secrets_scan o
'

# --- marathon-deploy ------------------------------------------------------

# md NAME ARGS...: marathon-deploy -v ARGS; stdout in NAME.out, stderr in
# NAME.err; the status in NAME.st.
md() {
	_name=$1
	shift
	_st=0
	marathon-deploy -v "$@" >"$_name.out" 2>"$_name.err" || _st=$?
	echo "$_st" >"$_name.st"
}

test_expect_success 'marathon-deploy -v, each credential source, success and 401' '
	a=$TRASH/app.json &&
	MARATHON_CREDENTIALS=$M_USER:$M_PASS md env-ok -m "$B" --json "$a" staging 0 &&
	md credf-ok -m "$B" --credentials-file "$TRASH/creds" --json "$a" staging 0 &&
	DCOS_ACS_TOKEN=$M_TOKEN md tok-ok -m "$T" --json "$a" staging 0 &&
	MARATHON_CREDENTIALS=$M_USER:$M_WRONG md tokf-ok -m "$T" --token-file "$TRASH/mtoken" --json "$a" staging 0 &&
	md url-ok -m "http://$M_USER:$M_PASS_URL@${B#http://}" --json "$a" staging 0 &&
	MARATHON_CREDENTIALS=$M_USER:$M_WRONG md env-401 -m "$B" "$a" staging 0 &&
	DCOS_ACS_TOKEN=$M_WRONG md tok-401 -m "$T" "$a" staging 0 &&
	md tokf-401 -m "$T" --token-file "$TRASH/mtoken-wrong" "$a" staging 0 &&
	md credf-401 -m "$B" --credentials-file "$TRASH/creds-wrong" "$a" staging 0 &&
	MARATHON_CREDENTIALS=$M_USER:$M_PASS md dry -n -m "$B" "$a" staging 0 &&
	for n in env-ok credf-ok tok-ok tokf-ok dry; do
		test "$(cat $n.st)" = 0 || { echo "$n: exit $(cat $n.st)"; cat $n.err; exit 1; }
	done &&
	for n in env-401 tok-401 tokf-401 credf-401; do
		test "$(cat $n.st)" = 1 || { echo "$n: exit $(cat $n.st)"; cat $n.err; exit 1; }
	done &&
	test_grep "HTTP 401: check the credentials from MARATHON_CREDENTIALS" env-401.err &&
	test_grep "check the credentials from --token-file" tokf-401.err &&
	test_grep "check the credentials from --credentials-file" credf-401.err &&
	test_grep "GET http://127.0.0.1:[0-9]*/v2/apps/sec/staging" url-ok.err &&
	secrets_scan ./*.out ./*.err
'

test_expect_success 'marathon-deploy: Marathon quoting the secret in an error body is not repeated' '
	for auth in "MARATHON_CREDENTIALS=$M_USER:$M_PASS $B" "DCOS_ACS_TOKEN=$M_TOKEN $T"; do
		env=${auth% *} url=${auth##* } &&
		MARATHON_EMU_URL=$url marathon_emu_ctl POST /_emu/fault "{\"path\": \"/v2/apps/*\", \"method\": \"PUT\", \"kind\": \"status\", \"status\": 400, \"body\": {\"message\": \"bad header Authorization: token=$M_TOKEN Basic $(printf %s "$M_USER:$M_PASS" | base64 -w0) $M_PASS\"}}" >/dev/null &&
		st=0 && env "$env" marathon-deploy -v -m "$url" "$TRASH/app.json" staging 1 >o 2>e || st=$?
		test "$st" = 1 && test_grep "HTTP 400" e && secrets_scan o e || exit 1
	done
'

test_expect_success 'marathon-deploy waiting: no secret in its argv' '
	sed "s/sec/wait/" "$TRASH/app.json" >w.json &&
	curl -sS "$B/_emu/apps/wait/staging/knobs" -X POST -H "Content-Type: application/json" --data "{\"slowStartSeconds\": 30}" >/dev/null || exit 1
	MARATHON_CREDENTIALS=$M_USER:$M_PASS marathon-deploy -v -m "$B" -t 20s w.json staging 1 >o 2>e &
	pid=$! && test_when_finished "kill $pid 2>/dev/null || :" &&
	test_wait_for 10 grep -q "creating: version" e &&
	argv_scan "$pid" &&
	kill "$pid" && secrets_scan o e
'

# --- service-wrapper ------------------------------------------------------

# sw NAME ARGS...: service-wrapper -v ARGS; as md.
sw() {
	_name=$1
	shift
	_st=0
	service-wrapper -v "$@" >"$_name.out" 2>"$_name.err" || _st=$?
	echo "$_st" >"$_name.st"
}

# The child proves it had the values: their hashes, never the values.
KVSUM='printf "%s|%s" "$PLAIN" "$QUOTED" | sha256sum'

test_expect_success 'service-wrapper -v --once: each token source, KV values, success and 403' '
	printf "%s|%s" "$KV_1" "$KV_2" | sha256sum >want &&
	CONSUL_HTTP_TOKEN=$C_TOKEN sw tok --once - "$C" app/s sh -c "$KVSUM" &&
	CONSUL_HTTP_TOKEN_FILE=$TRASH/ctoken sw tokf --once - "$C" app/s sh -c "$KVSUM" &&
	CONSUL_HTTP_TOKEN=$C_TOKEN CONSUL_HTTP_AUTH=$C_AUTH sw auth --once - "$C" app/s sh -c "$KVSUM" &&
	for n in tok tokf auth; do
		test "$(cat $n.st)" = 0 || { echo "$n: exit $(cat $n.st)"; cat $n.err; exit 1; }
		test_cmp want $n.out || exit 1
	done &&
	CONSUL_HTTP_TOKEN=$C_WRONG sw tok-403 --once - "$C" app/s true &&
	printf "%s\n" "$C_WRONG" >wrong && CONSUL_HTTP_TOKEN_FILE=$PWD/wrong sw tokf-403 --once - "$C" app/s true &&
	CONSUL_HTTP_TOKEN=$C_TOKEN sw url --once - "http://cuser:$C_PASS_URL@${C#http://}" app/s true &&
	MARATHON_CREDENTIALS=$M_USER:$M_PASS sw murl "ftp://$M_USER:$M_PASS_URL@${B#http://}" "$C" app/s true &&
	for n in tok-403 tokf-403 url murl; do
		test "$(cat $n.st)" = 125 || { echo "$n: exit $(cat $n.st)"; cat $n.err; exit 1; }
	done &&
	test_grep "HTTP 403: ACL not found (token: CONSUL_HTTP_TOKEN)" tok-403.err &&
	test_grep "HTTP 403: .* (token: CONSUL_HTTP_TOKEN_FILE ($PWD/wrong))" tokf-403.err &&
	test_grep "app/s/: 2 variables (PLAIN, QUOTED) from Consul" tok.err &&
	test_grep "consul: http://127.0.0.1:[0-9]*: user:password@ in the address is not supported: use CONSUL_HTTP_AUTH" url.err &&
	test_grep "marathon: ftp://127.0.0.1:[0-9]*: not an http:// or https:// URL" murl.err &&
	secrets_scan ./*.out ./*.err
'

test_expect_success 'service-wrapper: Consul quoting the token in an error body is not repeated' '
	consul_emu_ctl POST /_emu/fault "{\"path\": \"/v1/kv/*\", \"kind\": \"status\", \"status\": 500, \"body\": \"no leader for token $C_TOKEN\"}" >/dev/null &&
	consul_emu_ctl POST /_emu/fault "{\"path\": \"/v1/kv/*\", \"kind\": \"status\", \"status\": 403, \"body\": \"ACL not found: $C_TOKEN\"}" >/dev/null &&
	test_when_finished "consul_emu_ctl DELETE /_emu/faults >/dev/null" &&
	CONSUL_HTTP_TOKEN=$C_TOKEN sw echo --once --consul-timeout 5s - "$C" app/s true &&
	test "$(cat echo.st)" = 125 &&
	test_grep "message withheld: it quoted the token" echo.err &&
	secrets_scan echo.out echo.err
'

test_expect_success 'service-wrapper watching, restarting through Marathon: no secret in logs or argv' '
	curl -sS -u "$M_USER:$M_PASS" -X POST -H "Content-Type: application/json" \
		--data "{\"id\":\"/app/s\",\"instances\":1,\"container\":{\"type\":\"DOCKER\",\"docker\":{\"image\":\"web:1\"}}}" \
		"$B/v2/apps" >/dev/null || exit 1
	CONSUL_HTTP_TOKEN=$C_TOKEN MARATHON_CREDENTIALS=$M_USER:$M_PASS \
		service-wrapper -v --debounce 100ms,1s --splay 0 --wait 1s "$B" "$C" app/s \
		sh -c "exec sleep 600" >o 2>e &
	pid=$! && test_when_finished "test_kill_tree $pid" &&
	test_wait_for 20 grep -q "started sh" e &&
	argv_scan "$pid" &&
	CONSUL_EMU_TOKEN=emu-admin consul_emu_put app/s/PLAIN "$KV_3" &&
	test_wait_for 20 grep -q "asked Marathon at .* for a rolling restart of /app/s" e &&
	argv_scan "$pid" &&
	test_grep "configuration changed (changed PLAIN)" e &&
	kill -TERM "$pid" && wait "$pid" || : &&
	secrets_scan o e
'

test_expect_success 'service-wrapper: a 401 from Marathon on the restart request' '
	CONSUL_HTTP_TOKEN=$C_TOKEN DCOS_ACS_TOKEN=$M_WRONG \
		service-wrapper -v --debounce 100ms,1s --splay 0 --wait 1s --app-id /app/s "$T" "$C" app/s \
		sh -c "exec sleep 600" >o 2>e &
	pid=$! && test_when_finished "test_kill_tree $pid" &&
	test_wait_for 20 grep -q "started sh" e &&
	CONSUL_EMU_TOKEN=emu-admin consul_emu_put app/s/PLAIN "$KV_1" &&
	test_wait_for 20 grep -q "restart: HTTP 401" e &&
	argv_scan "$pid" &&
	kill -TERM "$pid" && wait "$pid" || : &&
	secrets_scan o e
'

# --- the tools without secrets of their own: the environment full of them --

test_expect_success 'gen-service-defs and dockerhost-resolve with every secret in the environment' '
	cp "$TRASH/app.json" service.json &&
	export MARATHON_CREDENTIALS="$M_USER:$M_PASS" DCOS_ACS_TOKEN="$M_TOKEN" \
		CONSUL_HTTP_TOKEN="$C_TOKEN" CONSUL_HTTP_AUTH="$C_AUTH" \
		CONSUL_HTTP_TOKEN_FILE="$TRASH/ctoken" &&
	gen-service-defs -b main -t 1 >g.out 2>g.err &&
	printf "{\"x\": \"\$tag\"}" | gen-service-defs -t 1 - >>g.out 2>>g.err &&
	test_expect_code 1 gen-service-defs -b main -t 1 -o g.out >>g.out 2>>g.err &&
	: >hosts &&
	dockerhost-resolve -v -a 192.0.2.1 -f hosts >d.out 2>d.err || exit 1
	dockerhost-resolve -v -a 192.0.2.1 -f hosts -- sh -c "exec sleep 30" >>d.out 2>>d.err &
	pid=$! && test_when_finished "kill $pid 2>/dev/null || :" &&
	test_wait_for 10 sh -c "tr \"\\\\0\" \" \" </proc/$pid/cmdline | grep -q \"^sleep 30\"" &&
	argv_scan "$pid" &&
	secrets_scan g.out g.err d.out d.err service-defs/*.json hosts
'

test_expect_success HAPROXY 'haproxy-reload with every secret in the environment: checked, reloaded, refused' '
	export MARATHON_CREDENTIALS="$M_USER:$M_PASS" DCOS_ACS_TOKEN="$M_TOKEN" \
		CONSUL_HTTP_TOKEN="$C_TOKEN" CONSUL_HTTP_AUTH="$C_AUTH" &&
	printf "defaults\n    mode http\n    timeout connect 1s\n    timeout client 1s\n    timeout server 1s\nfrontend f\n    bind 127.0.0.1:18099\n" >cfg &&
	haproxy-reload -v -m command -f "$PWD/cfg" -l "$PWD/lock" -- sh -c "exec sleep 1" >h.out 2>h.err &
	pid=$!
	test_when_finished "kill $pid 2>/dev/null || :" &&
	test_wait_for 10 pgrep -P "$pid" sleep &&
	argv_scan "$pid" &&
	wait "$pid" &&
	test_grep "reloaded: sh exited 0" h.err &&
	echo "    bind 127.0.0.1:0" >>cfg &&
	test_expect_code 1 haproxy-reload -v -m command -f "$PWD/cfg" -l "$PWD/lock" -- true >>h.out 2>>h.err &&
	test_grep "invalid configuration: nothing reloaded" h.err &&
	secrets_scan h.out h.err
'

test_done
