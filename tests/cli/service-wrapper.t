#!/bin/sh
# shellcheck disable=SC2016
# shellcheck disable=SC2034
test_description='service-wrapper: the environment from Consul KV, usage, start-up errors'
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=../helpers/service-wrapper.sh
. "$GALLEY_ROOT/tests/helpers/service-wrapper.sh"

consul_emu_start --acl-default allow --token "s3cr3t-read:read:app/,deny:app/secret/" ||
	exit 1
test_at_exit 'consul_emu_stop'
C=$CONSUL_EMU_URL

test_expect_success 'usage: missing operands, bad values: 125, nothing run' '
	test_expect_code 125 service-wrapper - - app/x 2>err &&
	test_grep "^usage: service-wrapper " err &&
	test_expect_code 125 service-wrapper --wait 5x - - app/x touch ran 2>err &&
	test_grep "wait 5x: expected a duration" err &&
	test_expect_code 125 service-wrapper --debounce 3s,1s - - app/x touch ran 2>err &&
	test_grep "cap is shorter" err &&
	test_expect_code 125 service-wrapper -c reboot - - app/x touch ran 2>err &&
	test_grep "expected marathon, restart, exit or none" err &&
	test_expect_code 125 service-wrapper --rewrite TERM - - app/x touch ran 2>err &&
	test_expect_code 125 service-wrapper --rewrite KILL:TERM - - app/x touch ran 2>err &&
	test_expect_code 125 service-wrapper - - / touch ran 2>err &&
	test_grep "prefix is empty" err &&
	SERVICE_WRAPPER_ON_CHANGE=bogus test_expect_code 125 \
		service-wrapper - - app/x touch ran 2>err &&
	test_grep "SERVICE_WRAPPER_ON_CHANGE bogus" err &&
	CONSUL_HTTP_SSL=maybe test_expect_code 125 service-wrapper - "$C" app/x touch ran 2>err &&
	test_grep "CONSUL_HTTP_SSL=maybe" err &&
	test_expect_code 125 service-wrapper - "$C" app/Under_Score touch ran 2>err &&
	test_grep "app id ./app/Under_Score.: segment .Under_Score. must be lower-case" err &&
	test_grep "(from the prefix): give the Marathon app with --app-id" err &&
	test_expect_code 125 service-wrapper "ftp://m" "$C" app/x touch ran 2>err &&
	test_grep "^service-wrapper: marathon: ftp://m" err &&
	test ! -e ran
'

test_expect_success 'options stop at the first operand; -- is accepted' '
	consul_emu_put app/opt/A 1 &&
	service-wrapper --once -- - "$C" app/opt printf "[%s]" -q --once >out 2>err &&
	test "$(cat out)" = "[-q][--once]"
'

# The keys of the environment case, with the exact bytes of each value.
put_env_keys() {
	consul_emu_put app/env/PLAIN plain &&
	consul_emu_put app/env/db/host db.internal &&
	consul_emu_put "app/env/my-key.x%y" dashed &&
	consul_emu_put app/env/9lives nine &&
	consul_emu_put app/env/folder/ "" &&
	consul_emu_put app/env/NULLV "" &&
	consul_emu_put app/env/SPACES "  a  b   c " &&
	consul_emu_put app/env/QUOTES "it's \"quoted\" \\ back" &&
	consul_emu_put app/env/SUBST "\$(touch pwned1) \`touch pwned2\` \${HOME} ; touch pwned3" &&
	printf "line one\nline two\n\n" >nl.txt && sw_put_file app/env/NEWLINE nl.txt &&
	consul_emu_put app/env/UTF "grüße ☃ — ok" &&
	"$PYTHON" -c "import sys; sys.stdout.write(\"x\" * 200 * 1024)" >big &&
	sw_put_file app/env/BIG big &&
	"$PYTHON" -c "import sys; sys.stdout.write(\"y\" * 100 * 1024)" >big100 &&
	sw_put_file app/env/BIG100 big100 &&
	printf "before\000after" >nul && sw_put_file app/env/NUL nul &&
	consul_emu_put app/env/PORT0 1 &&
	consul_emu_put app/env/HOST evil &&
	consul_emu_put app/env/MARATHON_APP_ID /other &&
	consul_emu_put app/env/a-b first &&
	consul_emu_put app/env/a_b second &&
	consul_emu_put app/env/INHERITED from-kv &&
	consul_emu_put app/env2/LEAK leaked &&
	consul_emu_put app/envelope leaked-too
}

test_expect_success 'environment: every value byte for byte, no shell, the right names' '
	put_env_keys &&
	PORT0=31000 HOST=10.0.0.5 INHERITED=from-env MARATHON_APP_ID=/app/env \
		service-wrapper -v --once - "$C" app/env "$PYTHON" "$SW_CHILD" env env.json \
		2>"$TRASH/env.err" &&
	test ! -e pwned1 && test ! -e pwned2 && test ! -e pwned3 &&
	"$PYTHON" - env.json <<-\EOF
	import json, sys
	env = {k: bytes.fromhex(v) for k, v in json.load(open(sys.argv[1])).items()}
	want = {
	    "PLAIN": b"plain", "db_host": b"db.internal", "my_key_x_y": b"dashed",
	    "_9lives": b"nine", "NULLV": b"", "SPACES": b"  a  b   c ",
	    "QUOTES": b"it'"'"'s \"quoted\" \\ back",
	    "SUBST": b"$(touch pwned1) `touch pwned2` ${HOME} ; touch pwned3",
	    "NEWLINE": b"line one\nline two\n\n",
	    "UTF": "grüße ☃ — ok".encode(), "PORT0": b"31000", "HOST": b"10.0.0.5",
	    "MARATHON_APP_ID": b"/app/env", "a_b": b"second",
	    "INHERITED": b"from-kv", "BIG100": b"y" * 100 * 1024,
	}
	bad = [(k, env.get(k), v) for k, v in want.items() if env.get(k) != v]
	for k in ("BIG", "NUL", "LEAK", "folder", "folder_", "velope", "lope"):
	    if k in env:
	        bad.append((k, env[k][:20], "absent"))
	if bad:
	    sys.exit("wrong: %r" % bad)
	EOF
'

test_expect_success 'environment: each mapping, drop and skip is warned, by key and name' '
	cp "$TRASH/env.err" err &&
	test_grep "warning: key app/env/db/host: not a valid variable name, using db_host" err &&
	test_grep "warning: key app/env/9lives: not a valid variable name, using _9lives" err &&
	test_grep "warning: key app/env/my-key.x%y: not a valid variable name, using my_key_x_y" err &&
	test_grep "warning: key app/env/PORT0: PORT0 is set by Marathon: dropped" err &&
	test_grep "warning: key app/env/HOST: HOST is set by Marathon: dropped" err &&
	test_grep "warning: key app/env/MARATHON_APP_ID: MARATHON_APP_ID is set by Marathon: dropped" err &&
	test_grep "warning: keys app/env/a-b and app/env/a_b both map to a_b: using app/env/a_b" err &&
	test_grep "warning: key app/env/NUL: value holds a NUL byte" err &&
	test_grep "warning: key app/env/BIG: value of 204800 bytes is over" err &&
	test_grep "app/env/: 13 variables (BIG100, INHERITED, NEWLINE, NULLV, PLAIN, QUOTES, SPACES, SUBST, UTF, _9lives, a_b, db_host, my_key_x_y) from Consul, hash [0-9a-f]\\{16\\}$" err
'

test_expect_success 'no KV value in any log line (with -v)' '
	cp "$TRASH/env.err" err &&
	for v in plain db.internal dashed nine "a  b" quoted pwned "line one" \
		grüße "xxxxxxxx" "yyyyyyyy" before after evil /other first second from-kv leaked; do
		if grep -F -- "$v" err; then echo "value $v logged"; exit 1; fi
	done
'

test_expect_success 'the command argv is passed untouched' '
	consul_emu_put app/argv/A 1 &&
	service-wrapper --once - "$C" app/argv printf "[%s]" "a b" "" "\$(id)" "*" "-x" \
		"--once" "%s" >out &&
	printf "[%s]" "a b" "" "\$(id)" "*" "-x" "--once" "%s" >want &&
	test_cmp want out
'

test_expect_success 'exit status: 127 not found, 126 cannot run, nothing else started' '
	test_expect_code 127 service-wrapper --once - "$C" app/argv galley-no-such-cmd 2>err &&
	test_grep "service-wrapper: galley-no-such-cmd: No such file or directory" err &&
	printf "#!/bin/sh\necho hi\n" >noexec && chmod 644 noexec &&
	test_expect_code 126 service-wrapper --once - "$C" app/argv ./noexec 2>err &&
	test_grep "./noexec: Permission denied" err &&
	test_expect_code 126 service-wrapper --once - "$C" app/argv /etc 2>err
'

test_expect_success 'a missing prefix is an empty configuration, with a warning' '
	service-wrapper --once - "$C" app/nothing-here "$PYTHON" "$SW_CHILD" env env.json 2>err &&
	test_grep "warning: app/nothing-here/: no keys under the prefix (404)" err &&
	test_grep "0 variables from Consul" err
'

test_expect_success '--upcase and its twin SERVICE_WRAPPER_UPCASE' '
	consul_emu_put app/up/db/host h &&
	service-wrapper --once --upcase - "$C" app/up sh -c "printf %s \"\$DB_HOST\"" >out 2>err &&
	test "$(cat out)" = h &&
	SERVICE_WRAPPER_UPCASE=1 service-wrapper --once - "$C" app/up \
		sh -c "printf %s \"\$DB_HOST\"" >out 2>err &&
	test "$(cat out)" = h
'

test_expect_success '- takes CONSUL_HTTP_ADDR and MARATHON_URL' '
	consul_emu_put app/dash/V from-env-addr &&
	CONSUL_HTTP_ADDR=${C#http://} MARATHON_URL=http://127.0.0.1:1 \
		service-wrapper --once - - app/dash sh -c "printf %s \"\$V\"" >out &&
	test "$(cat out)" = from-env-addr &&
	CONSUL_HTTP_ADDR=$C service-wrapper -c none --once - - /app/dash/ \
		sh -c "printf %s \"\$V\"" >out &&
	test "$(cat out)" = from-env-addr
'

test_expect_success 'Consul down at start: retries with backoff, then 125, command not run' '
	t0=$(date +%s) &&
	test_expect_code 125 service-wrapper --consul-timeout 1500ms - 127.0.0.1:1 app/x \
		touch ran 2>err &&
	test ! -e ran &&
	test $(( $(date +%s) - t0 )) -le 6 &&
	test_grep "GET http://127.0.0.1:1/v1/kv/app/x/?recurse: .*; gave up after [0-9]* attempts" err &&
	n=$(sed -n "s/.*gave up after \\([0-9]*\\) attempts.*/\\1/p" err) &&
	test "$n" -ge 2 && test "$n" -le 10
'

test_expect_success 'Consul failing at start: no request storm, then 125' '
	curl -sS -X DELETE "$C/_emu/requests" >/dev/null &&
	consul_emu_ctl POST /_emu/fault "{\"path\": \"/v1/kv/app/down/*\", \"kind\": \"status\", \"status\": 500, \"body\": \"No cluster leader\", \"count\": null}" >/dev/null &&
	test_when_finished "consul_emu_ctl DELETE /_emu/faults" &&
	test_expect_code 125 service-wrapper --consul-timeout 2s - "$C" app/down touch ran 2>err &&
	test ! -e ran &&
	test_grep "HTTP 500: No cluster leader" err &&
	n=$(sw_kv_requests) && echo "requests: $n" &&
	test "$n" -ge 3 && test "$n" -le 12
'

test_expect_success 'Consul not Consul (a 404 without an index): an error, not an empty config' '
	consul_emu_ctl POST /_emu/fault "{\"path\": \"/v1/kv/app/proxy/*\", \"kind\": \"not-consul-404\", \"count\": null}" >/dev/null &&
	test_when_finished "consul_emu_ctl DELETE /_emu/faults" &&
	test_expect_code 125 service-wrapper --consul-timeout 500ms - "$C" app/proxy touch ran 2>err &&
	test ! -e ran &&
	test_grep "not a Consul agent" err
'

test_expect_success '403 at start: 125 at once, naming the token source, never the token' '
	t0=$(date +%s) &&
	CONSUL_HTTP_TOKEN=n0t-a-kn0wn-t0ken test_expect_code 125 \
		service-wrapper --consul-timeout 30s - "$C" app/env touch ran 2>err &&
	test $(( $(date +%s) - t0 )) -le 5 &&
	test ! -e ran &&
	test_grep "HTTP 403: ACL not found (token: CONSUL_HTTP_TOKEN): retrying cannot fix a token" err &&
	test_grep -v "n0t-a-kn0wn" err &&
	printf "  wr0ng-t0ken-value\n" >tok &&
	CONSUL_HTTP_TOKEN_FILE=$PWD/tok CONSUL_HTTP_TOKEN=s3cr3t-read test_expect_code 125 \
		service-wrapper - "$C" app/env touch ran 2>err &&
	test_grep "HTTP 403: ACL not found (token: CONSUL_HTTP_TOKEN_FILE ($PWD/tok))" err &&
	test_grep -v "wr0ng-t0ken" err &&
	test_grep -v "s3cr3t" err &&
	test ! -e ran &&
	CONSUL_HTTP_TOKEN=s3cr3t-read service-wrapper --once - "$C" app/env touch ran 2>err &&
	test -e ran
'

test_expect_success 'the token goes in X-Consul-Token, never in the URL' '
	curl -sS -X DELETE "$C/_emu/requests" >/dev/null &&
	CONSUL_HTTP_TOKEN=s3cr3t-read service-wrapper --once - "$C" app/env true 2>err &&
	consul_emu_requests >log &&
	test_grep "/v1/kv/app/env/" log &&
	test_grep -v "token=" log &&
	test_grep -v "s3cr3t" log &&
	"$PYTHON" -c "
import json, sys
src = [json.loads(l).get(\"token\") for l in open(\"log\")]
print(src)
sys.exit(0 if src and all(s == \"header\" for s in src) else 1)"
'

test_done
