#!/bin/sh
# shellcheck disable=SC2016
# shellcheck disable=SC2034
# shellcheck disable=SC2119
test_description='tests/examples: every example does what its README says'
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"

EX=$GALLEY_ROOT/tests/examples
MARATHON_EMU_HOME=$GALLEY_ROOT/tests/emulators/marathon
export MARATHON_EMU_HOME EX
# shellcheck source=../emulators/marathon/emu.sh
. "$MARATHON_EMU_HOME/emu.sh"
EMU_DIR=$TRASH
export EMU_DIR
unset MARATHON_CREDENTIALS DCOS_ACS_TOKEN MARATHON_CACERT

marathon_emu_start || exit 1
M=$MARATHON_EMU_URL
test_at_exit 'marathon_emu_stop'

# json FILE EXPR: print a Python expression over the JSON document d.
json() {
	"$PYTHON" -c 'import json, sys
d = json.load(open(sys.argv[1]))
v = eval(sys.argv[2])
print(v if isinstance(v, str) else json.dumps(v))' "$1" "$2"
}

# defs: service.json through gen-service-defs as the CI build would.
defs() {
	cp "$EX/service.json" . &&
	CI_BRANCH=master CI_COMMIT=abc1234 CI_BUILD_NUMBER=7 gen-service-defs >out &&
	test -s service-defs/service-master.json &&
	test -s service-defs/service-master-abc1234-7.json
}

test_expect_success 'service.json: gen-service-defs fills $tag, keeps $environment' '
	defs &&
	printf "%s\n" service-defs/service-master.json \
		service-defs/service-master-abc1234-7.json >expect &&
	test_cmp expect out &&
	grep "\"image\": \"registry.local/test-server:master-abc1234-7\"" \
		service-defs/service-master-abc1234-7.json &&
	grep "\"version\": \"master-abc1234-7\"" service-defs/service-master.json &&
	grep -F "\"id\": \"/app/\$environment/test-server\"" service-defs/service-master.json
'

test_expect_success 'service.json: a valid staging definition with args, no cmd' '
	defs &&
	marathon-deploy -n service-defs/service-master-abc1234-7.json staging 2 >app.json &&
	test "$(json app.json "d[\"id\"]")" = /app/staging/test-server &&
	test "$(json app.json "d[\"instances\"]")" = 2 &&
	test "$(json app.json "\"cmd\" in d")" = false &&
	test "$(json app.json "d[\"args\"][:3]")" = \
		"[\"dockerhost:18080\", \"dockerhost:18500\", \"app/staging/test-server\"]" &&
	test "$(json app.json "d[\"env\"][\"SERVICE_TAGS\"]")" = staging,internal-listen-http-3000
'

test_expect_success 'service.json: Marathon takes it and reports 2 healthy tasks' '
	defs &&
	marathon_emu_ctl POST /_emu/apps/app/staging/test-server/knobs "{\"simulate\": true}" &&
	marathon-deploy -q -m "$M" --json -t 60s \
		"file://$PWD/service-defs/service-master-abc1234-7.json" staging 2 >result &&
	grep "\"result\":\"created\"" result &&
	curl -sS "$M/v2/apps/app/staging/test-server" >app &&
	test "$(json app "d[\"app\"][\"tasksHealthy\"]")" = 2 &&
	curl -sS -X DELETE "$M/v2/apps/app/staging/test-server" >/dev/null
'

test_expect_success 'chronos-job.json: its command and arguments deploy to staging' '
	defs &&
	json "$EX/chronos-job.json" "d[\"shell\"]" >shell &&
	test "$(cat shell)" = false &&
	json "$EX/chronos-job.json" "d[\"command\"]" >cmd &&
	test "$(cat cmd)" = marathon-deploy &&
	url=$(json "$EX/chronos-job.json" "d[\"arguments\"][-3]") &&
	case $url in https://*/test-server/service-master.json) ;; *) false ;; esac &&
	json "$EX/chronos-job.json" "[e[\"name\"] for e in d[\"environmentVariables\"]]" >vars &&
	test "$(cat vars)" = "[\"MARATHON_URL\"]" &&
	# The job as Chronos runs it, with our emulator for the cluster and
	# the local file for the S3 URL:
	"$PYTHON" -c "import json, os, sys
job = json.load(open(sys.argv[1]))
args = [sys.argv[2] if a == sys.argv[3] else a for a in job[\"arguments\"]]
env = dict(os.environ, MARATHON_URL=sys.argv[4])
os.execvpe(job[\"command\"], [job[\"command\"], \"-q\"] + args, env)" \
		"$EX/chronos-job.json" "file://$PWD/service-defs/service-master.json" \
		"$url" "$M" </dev/null >id &&
	test -s id &&
	curl -sS "$M/v2/apps/app/staging/test-server" >app &&
	test "$(json app "d[\"app\"][\"instances\"]")" = 2 &&
	curl -sS -X DELETE "$M/v2/apps/app/staging/test-server" >/dev/null
'

test_expect_success '.drone.yml: the build step writes what the publish steps push' '
	cp "$EX/service.json" . &&
	"$PYTHON" -c "import json, sys, yaml
d = yaml.safe_load(open(sys.argv[1]))
json.dump(d, open(\"drone.json\", \"w\"))" "$EX/.drone.yml" &&
	test "$(json drone.json "d[\"build\"][\"commands\"]")" = "[\"gen-service-defs\"]" &&
	test "$(json drone.json "d[\"publish\"][\"s3\"][\"source\"]")" = service-defs/ &&
	test "$(json drone.json "d[\"publish\"][\"docker\"][\"repo\"]")" = registry.local/test-server &&
	# Drone 0.4 runs each command with CI_BRANCH, CI_COMMIT, CI_BUILD_NUMBER
	# and substitutes $$BRANCH, $$COMMIT, $$BUILD_NUMBER in the publish tags.
	export CI_BRANCH=feature-x CI_COMMIT=0f1e2d3 CI_BUILD_NUMBER=99 &&
	json drone.json "\"\\n\".join(d[\"build\"][\"commands\"])" >commands &&
	while read -r c; do $c; done <commands &&
	tag=$(json drone.json "d[\"publish\"][\"docker\"][\"tag\"][2]" |
		sed "s/\\\$\\\$BRANCH/$CI_BRANCH/; s/\\\$\\\$COMMIT/$CI_COMMIT/; s/\\\$\\\$BUILD_NUMBER/$CI_BUILD_NUMBER/") &&
	test "$tag" = feature-x-0f1e2d3-99 &&
	test -s "service-defs/service-$tag.json" &&
	grep "\"image\": \"registry.local/test-server:$tag\"" "service-defs/service-$tag.json"
'

test_expect_success 'Dockerfile: ENTRYPOINT and CMD in exec form, WORKDIR has server.py' '
	"$PYTHON" "$EX/dockerfile.py" "$EX/Dockerfile" >config &&
	test "$(json config "d[\"Entrypoint\"]")" = "[\"dockerhost-resolve\", \"service-wrapper\"]" &&
	test "$(json config "d[\"Cmd\"][:2]")" = "[\"dockerhost:18080\", \"dockerhost:18500\"]" &&
	test "$(json config "d[\"WorkingDir\"]")" = /app &&
	grep "^COPY tests/examples/server.py /app/\$" "$EX/Dockerfile" &&
	grep "^COPY --from=build /out/usr/local/bin/ /usr/local/bin/\$" "$EX/Dockerfile" &&
	grep "^RUN make all && make install PREFIX=/usr/local DESTDIR=/out\$" "$EX/Dockerfile" &&
	printf "FROM x\nENTRYPOINT dockerhost-resolve service-wrapper\n" >Shell &&
	test_must_fail "$PYTHON" "$EX/dockerfile.py" Shell 2>err &&
	grep "not in exec form" err
'

# The image's ENTRYPOINT + CMD as PID 1 of a PID namespace, in a network
# namespace with a Consul emulator on dockerhost:18500 (DOCKERHOST names
# 127.0.0.1: there is no gateway in a fresh namespace) and a scratch file
# over /etc/hosts.
test_expect_success ROOT,NETNS 'Dockerfile: ENTRYPOINT + CMD run as PID 1, serve, stop on SIGTERM' '
	ns=galley-examples-$$ &&
	ip netns add "$ns" &&
	test_when_finished "ip netns pids $ns | xargs -r kill -KILL; ip netns del $ns" &&
	ip netns exec "$ns" ip link set lo up
	ip netns exec "$ns" "$PYTHON" "$GALLEY_ROOT/tests/emulators/consul/emulator.py" \
		--port 18500 --port-file "$PWD/consul.port" </dev/null >consul.log 2>&1 &
	test_wait_for 10 test -s consul.port &&
	ip netns exec "$ns" curl -sS -X PUT --data-binary "from Consul" \
		http://127.0.0.1:18500/v1/kv/app/production/test-server/GREETING &&
	printf "127.0.0.1\tlocalhost\n" >hosts &&
	"$PYTHON" "$EX/dockerfile.py" "$EX/Dockerfile" >config &&
	"$PYTHON" -c "import json, sys
c = json.load(open(sys.argv[1]))
print(\"\\0\".join(c[\"Entrypoint\"] + c[\"Cmd\"]), end=\"\")
print(\"\\n\" + \"\\n\".join(c[\"Env\"]), file=open(\"env\", \"w\"))" config >argv
	(
		cd "$EX" &&
		xargs -0 ip netns exec "$ns" unshare -m -fp --mount-proc \
			sh -c "mount --bind \"\$1\" /etc/hosts && shift && exec env \$(cat \"\$0\") \"\$@\"" \
			"$TRASH/t$test_count/env" "$TRASH/t$test_count/hosts" \
			env DOCKERHOST=127.0.0.1 PORT0=3000 DRAIN_SECONDS=0.2 \
			<"$TRASH/t$test_count/argv" >"$TRASH/t$test_count/task.log" 2>&1
		echo $? >"$TRASH/t$test_count/status"
	) &
	test_wait_for 10 ip netns exec "$ns" curl -sf http://127.0.0.1:3000/healthcheck &&
	ip netns exec "$ns" curl -sS http://127.0.0.1:3000/ >page &&
	grep "^GREETING: from Consul\$" page &&
	grep "^DOCKERHOST: 127.0.0.1\$" page &&
	grep "^SERVICE_WRAPPER_GRACE: 8s\$" page &&
	grep "^127.0.0.1[[:space:]]*dockerhost\$" hosts &&
	pid1=$(for p in $(ip netns pids "$ns"); do
		grep -qx "NSpid:[[:space:]]*$p[[:space:]]*1" "/proc/$p/status" && echo "$p"; done || :) &&
	echo "PID 1 of the task: $pid1" &&
	test -n "$pid1" &&
	tr "\\0" " " </proc/$pid1/cmdline >cmdline &&
	grep "^service-wrapper dockerhost:18080 dockerhost:18500 app/production/test-server python3 server.py \$" cmdline &&
	kill -TERM "$pid1" &&
	test_wait_for 10 test -s status &&
	cat task.log &&
	test "$(cat status)" = 0
'

test_expect_success HAPROXY 'haproxy.cfg: valid for HAProxy, and what render.py makes of catalog.json' '
	haproxy -c -f "$EX/haproxy.cfg" &&
	"$PYTHON" "$EX/render.py" --catalog "$EX/catalog.json" --out rendered.cfg &&
	test_cmp "$EX/haproxy.cfg" rendered.cfg &&
	grep -x "    bind :3000" rendered.cfg &&
	grep -x "    bind :13000" rendered.cfg &&
	for p in 18080 14400 18500; do grep -x "    bind :$p" rendered.cfg || exit 1; done
'

test_expect_success 'haproxy.cfg.ctmpl: balanced, and its fixed lines are haproxy.cfg'"'"'s' '
	"$PYTHON" - "$EX/haproxy.cfg.ctmpl" "$EX/haproxy.cfg" <<-\EOF
	import re, sys
	tmpl, cfg = open(sys.argv[1]).read(), open(sys.argv[2]).read().splitlines()
	body = re.sub(r"\{\{-? */\*.*?\*/ *-?\}\}", "", tmpl, flags=re.S)
	actions = re.findall(r"\{\{-? *(\w+)", body)
	opens = sum(a in ("range", "if", "with") for a in actions)
	assert opens == actions.count("end"), (opens, actions.count("end"))
	fixed = [l for l in body.splitlines() if "{{" not in l and l.strip()]
	i = 0
	for line in fixed:
	    while i < len(cfg) and cfg[i] != line:
	        i += 1
	    assert i < len(cfg), "not in haproxy.cfg, in order: %r" % line
	print("%d fixed lines, %d blocks" % (len(fixed), opens))
	EOF
'

test_expect_success 'consul-template.hcl: the command is haproxy-reload on the destination' '
	"$PYTHON" - "$EX/consul-template.hcl" >argv <<-\EOF &&
	import json, re, sys
	text = open(sys.argv[1]).read()
	tmpl = re.search(r"template \{(.*?)\n\}", text, re.S).group(1)
	get = lambda k: re.search(r"\n *%s *= *(.*)" % k, tmpl).group(1)
	cmd = json.loads(get("command"))
	assert cmd[0] == "haproxy-reload", cmd
	dest = json.loads(get("destination"))
	assert cmd[cmd.index("-f") + 1] == dest, (cmd, dest)
	assert json.loads(get("source")).endswith("haproxy.cfg.ctmpl")
	print("\n".join(cmd))
	EOF
	test "$(head -n 1 argv)" = haproxy-reload &&
	haproxy-reload --help >help &&
	for o in $(grep "^-" argv); do grep -e "$o" help || exit 1; done
'

test_done
