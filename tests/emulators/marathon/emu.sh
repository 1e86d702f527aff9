# See COPYING for copyright and license details.
# Marathon emulator helpers for shell tests (POSIX sh; works with set -e).
#
#   . tests/emulators/marathon/emu.sh
#   marathon_emu_start --clock manual       # exports MARATHON_EMU_URL, _PID, _DIR
#   curl -s "$MARATHON_EMU_URL/v2/apps"
#   marathon_emu_ctl POST /_emu/clock '{"advance": 30}'
#   marathon_emu_requests | grep '"method":"PUT"'
#   marathon_emu_stop
#
# Scratch space: a new directory under $EMU_DIR when set, else under
# ${TMPDIR:-/tmp}. MARATHON_EMU_HOME names this directory when the caller's
# working directory is not the repository root.

if [ -z "${MARATHON_EMU_HOME:-}" ]; then
	if [ -f tests/emulators/marathon/emulator.py ]; then
		MARATHON_EMU_HOME=$PWD/tests/emulators/marathon
	else
		MARATHON_EMU_HOME=$(git rev-parse --show-toplevel 2>/dev/null || echo .)/tests/emulators/marathon
	fi
fi

# marathon_emu_start [emulator args...]: start one instance in the
# background; its own state dir unless the arguments give --state-dir.
marathon_emu_start() {
	_me_dir=$(mktemp -d "${EMU_DIR:-${TMPDIR:-/tmp}}/marathon-emu.XXXXXX") || return 1
	/usr/bin/python3 "$MARATHON_EMU_HOME/emulator.py" --port-file "$_me_dir/port" \
		--state-dir "$_me_dir/state" "$@" \
		</dev/null >"$_me_dir/emu.log" 2>&1 3>&- &
	MARATHON_EMU_PID=$!
	MARATHON_EMU_DIR=$_me_dir
	_me_i=0
	while [ ! -s "$_me_dir/port" ]; do
		if ! kill -0 "$MARATHON_EMU_PID" 2>/dev/null || [ "$_me_i" -ge 100 ]; then
			echo "marathon_emu_start: emulator did not start:" >&2
			cat "$_me_dir/emu.log" >&2
			kill "$MARATHON_EMU_PID" 2>/dev/null || :
			return 1
		fi
		sleep 0.1
		_me_i=$((_me_i + 1))
	done
	_me_scheme=http
	case " $* " in *" --tls-cert "*) _me_scheme=https ;; esac
	MARATHON_EMU_URL=$_me_scheme://127.0.0.1:$(cat "$_me_dir/port")
	export MARATHON_EMU_URL MARATHON_EMU_PID MARATHON_EMU_DIR
}

# marathon_emu_stop [PID]: SIGTERM, wait up to 10 s, then SIGKILL.
marathon_emu_stop() {
	_me_pid=${1:-${MARATHON_EMU_PID:-}}
	[ -n "$_me_pid" ] || return 0
	kill -TERM "$_me_pid" 2>/dev/null || return 0
	_me_i=0
	while kill -0 "$_me_pid" 2>/dev/null; do
		if [ "$_me_i" -ge 100 ]; then
			kill -KILL "$_me_pid" 2>/dev/null || :
			break
		fi
		sleep 0.1
		_me_i=$((_me_i + 1))
	done
	wait "$_me_pid" 2>/dev/null || :
}

# marathon_emu_ctl METHOD PATH [JSON]: a control request; prints the body.
marathon_emu_ctl() {
	if [ $# -ge 3 ]; then
		curl -sSk -X "$1" -H 'Content-Type: application/json' --data "$3" \
			"$MARATHON_EMU_URL$2"
	else
		curl -sSk -X "$1" "$MARATHON_EMU_URL$2"
	fi
}

# marathon_emu_requests: the request log, one JSON object per line.
marathon_emu_requests() {
	curl -sSk "$MARATHON_EMU_URL/_emu/requests?format=ndjson"
}
