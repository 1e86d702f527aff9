#!/bin/sh
# See COPYING for copyright and license details.
#
# tests/bench/marathon-deploy.sh: marathon-deploy against the article's
# shell script (tests/bench/marathon-deploy-shell.sh: curl POST, then PUT
# on 409, exit on accept), deploying a 4-instance app with HTTP health
# checks to the Marathon emulator (real clock, simulated tasks). For each
# tool: requests sent to Marathon, and the delay between the
# deployment's real end (its deployment_success event) and the tool's
# exit — negative when the tool exits before the deployment is done —
# plus the exit status when the new version never becomes healthy.
# Writes tests/bench/marathon-deploy.md. Run: make bench BENCH=marathon-deploy
# (RUNS=N for more runs per case; default 5).
set -eu

ROOT=${GALLEY_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
PYTHON=${PYTHON:-/usr/bin/python3}
RUNS=${RUNS:-5}
PATH=$ROOT/bin:$PATH
MARATHON_EMU_HOME=$ROOT/tests/emulators/marathon
export MARATHON_EMU_HOME PATH
# shellcheck source=../emulators/marathon/emu.sh
. "$MARATHON_EMU_HOME/emu.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/bench-marathon-deploy.XXXXXX")
EMU_DIR=$work
export EMU_DIR
httpd=
cleanup() {
	[ -z "$httpd" ] || kill "$httpd" 2>/dev/null || :
	marathon_emu_stop "${MARATHON_EMU_PID:-}"
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

marathon_emu_start --name bench
MARATHON=${MARATHON_EMU_URL#http://}
export MARATHON

mkdir "$work/www" "$work/run"
"$PYTHON" -u -m http.server 0 --bind 127.0.0.1 --directory "$work/www" \
	>"$work/httpd.out" 2>&1 &
httpd=$!
i=0
until grep -q ' port ' "$work/httpd.out"; do
	i=$((i + 1))
	[ "$i" -lt 100 ] || { echo "bench: template server did not start" >&2; exit 1; }
	sleep 0.1
done
port=$(sed -n 's/.* port \([0-9]*\) .*/\1/p' "$work/httpd.out")

# template NAME REV: a 4-instance app, HTTP health check every 2 s.
template() {
	cat >"$work/www/$1.json" <<EOF
{
  "id": "/bench/$1/\$environment",
  "instances": \$instances,
  "cpus": 0.1,
  "mem": 64,
  "container": {"type": "DOCKER", "docker": {"image": "registry.local/$1:rev$2"}},
  "env": {"ENVIRONMENT": "\$environment", "REV": "$2"},
  "healthChecks": [{"protocol": "HTTP", "path": "/health",
    "gracePeriodSeconds": 10, "intervalSeconds": 2, "maxConsecutiveFailures": 3}]
}
EOF
}

now() {
	date +%s.%N
}

# settle ID: wait (up to 60 s) until the app has no deployment left.
settle() {
	i=0
	while curl -s "$MARATHON_EMU_URL/v2/apps$1" | grep -q '"deployments":\[{'; do
		i=$((i + 1))
		[ "$i" -lt 600 ] || { echo "bench: $1 never settled" >&2; exit 1; }
		sleep 0.1
	done
}

# run TOOL CASE N NAME: one deployment; appends a line to results.
run() {
	app=/bench/$4/staging
	url="http://127.0.0.1:$port/$4.json"
	marathon_emu_ctl DELETE /_emu/requests >/dev/null
	marathon_emu_ctl DELETE /_emu/events >/dev/null
	start=$(now)
	set +e
	case $1 in
	marathon-deploy)
		marathon-deploy -q -m "$MARATHON_EMU_URL" -t "${TIMEOUT:-60s}" \
			"$url" staging 4 >"$work/out" 2>"$work/err" ;;
	shell)
		(cd "$work/run" && rm -f "$4.json" &&
			sh "$ROOT/tests/bench/marathon-deploy-shell.sh" "$url" staging 4) \
			>"$work/out" 2>"$work/err" ;;
	esac
	status=$?
	set -e
	end=$(now)
	requests=$(marathon_emu_requests | grep -c '"method"' || :)
	[ "$2" = broken ] || settle "$app"
	marathon_emu_ctl GET /_emu/events >"$work/events.json"
	done_at=$("$PYTHON" - "$work/events.json" "$app" <<'EOF'
import datetime, json, sys
events, app = json.load(open(sys.argv[1])), sys.argv[2]
ends = [e["timestamp"] for e in events if e["eventType"] == "deployment_success"
        and any(a["app"] == app for s in e["plan"]["steps"] for a in s["actions"])]
if not ends:
    print("-")
else:
    t = datetime.datetime.strptime(ends[-1], "%Y-%m-%dT%H:%M:%S.%fZ")
    print("%.3f" % t.replace(tzinfo=datetime.timezone.utc).timestamp())
EOF
)
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$status" \
		"$start" "$end" "$requests" "$done_at" >>"$work/results"
	if [ "$status" != 0 ] && [ "$2" != broken ]; then
		echo "bench: $1 $2 run $3 exited $status" >&2
		cat "$work/err" >&2
		exit 1
	fi
}

: >"$work/results"
n=1
while [ "$n" -le "$RUNS" ]; do
	for tool in marathon-deploy shell; do
		name=$(echo "$tool" | cut -c1)$n
		template "$name" 1
		run "$tool" create "$n" "$name"
		template "$name" 2
		run "$tool" update "$n" "$name"
	done
	n=$((n + 1))
done
# A new version that never becomes healthy.
for tool in marathon-deploy shell; do
	name=x$(echo "$tool" | cut -c1)
	template "$name" 1
	run "$tool" create 1 "$name"
	marathon_emu_ctl POST "/_emu/apps/bench/$name/staging/knobs" '{"neverHealthy": true}' >/dev/null
	template "$name" 2
	TIMEOUT=5s run "$tool" broken 1 "$name"
done

"$PYTHON" - "$work/results" "$ROOT/tests/bench/marathon-deploy.md" "$RUNS" <<'EOF'
import statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
out, runs = sys.argv[2], int(sys.argv[3])

def pick(tool, case):
    return [r for r in rows if r[0] == tool and r[1] == case]

def med(xs):
    return statistics.median(xs) if xs else float("nan")

def delay(tool, case):
    d = [float(r[5]) - float(r[7]) for r in pick(tool, case) if r[7] != "-"]
    return med(d)

def reqs(tool, case):
    return med([int(r[6]) for r in pick(tool, case)])

def wall(tool, case):
    return med([float(r[5]) - float(r[4]) for r in pick(tool, case)])

def fmt_delay(x):
    if x != x:
        return "-"
    if x < 0:
        return "%+.2f s (exits before the deployment is done)" % x
    return "%+.2f s" % x

lines = []
lines.append("## marathon-deploy")
lines.append("")
lines.append("Deploying a 4-instance app with an HTTP health check (every 2 s) to the")
lines.append("Marathon emulator (real clock, simulated tasks), %d runs per case, medians." % runs)
lines.append("Baseline: `tests/bench/marathon-deploy-shell.sh`, the article's script")
lines.append("(curl POST, then PUT on 409, exit once Marathon accepts). \"Exit - end\" is")
lines.append("the tool's exit minus the deployment's real end (its `deployment_success`")
lines.append("event); requests are those Marathon received (the template download is")
lines.append("not counted).")
lines.append("")
lines.append("| case | measure | marathon-deploy | shell script |")
lines.append("|---|---|---|---|")
for case, what in (("create", "new app"), ("update", "new image (rolling restart)")):
    lines.append("| %s | requests to Marathon | %d | %d |" % (
        what, reqs("marathon-deploy", case), reqs("shell", case)))
    lines.append("| %s | exit - end of the deployment | %s | %s |" % (
        what, fmt_delay(delay("marathon-deploy", case)), fmt_delay(delay("shell", case))))
    lines.append("| %s | wall time | %.2f s | %.2f s |" % (
        what, wall("marathon-deploy", case), wall("shell", case)))
b_tool, b_shell = pick("marathon-deploy", "broken"), pick("shell", "broken")
lines.append("| new version never healthy (`-t 5s`) | exit status | %s (timeout, with diagnostics) | %s (reports success) |" % (
    b_tool[0][3] if b_tool else "-", b_shell[0][3] if b_shell else "-"))
lines.append("| new version never healthy (`-t 5s`) | requests to Marathon | %d | %d |" % (
    int(b_tool[0][6]) if b_tool else 0, int(b_shell[0][6]) if b_shell else 0))
lines.append("")
lines.append("Reproduce: `make bench BENCH=marathon-deploy` (`RUNS=N` for more runs).")
text = "\n".join(lines) + "\n"
open(out, "w").write(text)
sys.stdout.write(text)
for case in ("create", "update"):
    r_t, r_s = reqs("marathon-deploy", case), reqs("shell", case)
    print("%s: requests marathon-deploy/shell = %.1f; exit - end: %+.2f s vs %+.2f s" % (
        case, r_t / r_s if r_s else float("nan"),
        delay("marathon-deploy", case), delay("shell", case)))
EOF
