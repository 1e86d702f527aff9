# See COPYING for copyright and license details.
# Consul emulator helpers for shell tests (POSIX sh; works with set -e).
#
#   . tests/emulators/consul/emu.sh
#   consul_emu_start --acl-default deny --token s3cret:write:app/
#   consul_emu_put app/web/PORT 8080        # through the public /v1/kv API
#   curl -s "$CONSUL_EMU_URL/v1/kv/app/web/?recurse"
#   consul_emu_ctl POST /_emu/fault '{"path": "/v1/kv/*", "kind": "status", "status": 500}'
#   consul_emu_requests | grep -c '"blocking": true'
#   consul_emu_delete app/web/PORT
#   consul_emu_stop
#
# Scratch space: a new directory under $EMU_DIR when set, else under
# ${TMPDIR:-/tmp}, with port and emu.log. CONSUL_EMU_HOME names this
# directory when the caller's working directory is not the repository root.
# CONSUL_EMU_TOKEN, when set, is sent as X-Consul-Token by put and delete.

if [ -z "${CONSUL_EMU_HOME:-}" ]; then
	if [ -f tests/emulators/consul/emulator.py ]; then
		CONSUL_EMU_HOME=$PWD/tests/emulators/consul
	else
		CONSUL_EMU_HOME=$(git rev-parse --show-toplevel 2>/dev/null || echo .)/tests/emulators/consul
	fi
fi

# consul_emu_start [emulator args...]: start one instance in the background.
consul_emu_start() {
	_ce_dir=$(mktemp -d "${EMU_DIR:-${TMPDIR:-/tmp}}/consul-emu.XXXXXX") || return 1
	/usr/bin/python3 "$CONSUL_EMU_HOME/emulator.py" --port-file "$_ce_dir/port" "$@" \
		</dev/null >"$_ce_dir/emu.log" 2>&1 3>&- &
	CONSUL_EMU_PID=$!
	CONSUL_EMU_DIR=$_ce_dir
	_ce_i=0
	while [ ! -s "$_ce_dir/port" ]; do
		if ! kill -0 "$CONSUL_EMU_PID" 2>/dev/null || [ "$_ce_i" -ge 100 ]; then
			echo "consul_emu_start: emulator did not start:" >&2
			cat "$_ce_dir/emu.log" >&2
			kill "$CONSUL_EMU_PID" 2>/dev/null || :
			return 1
		fi
		sleep 0.1
		_ce_i=$((_ce_i + 1))
	done
	_ce_scheme=http
	case " $* " in *" --tls-cert "*) _ce_scheme=https ;; esac
	CONSUL_EMU_URL=$_ce_scheme://127.0.0.1:$(cat "$_ce_dir/port")
	export CONSUL_EMU_URL CONSUL_EMU_PID CONSUL_EMU_DIR
}

# consul_emu_stop [PID]: SIGTERM, wait up to 10 s, then SIGKILL.
consul_emu_stop() {
	_ce_pid=${1:-${CONSUL_EMU_PID:-}}
	[ -n "$_ce_pid" ] || return 0
	kill -TERM "$_ce_pid" 2>/dev/null || return 0
	_ce_i=0
	while kill -0 "$_ce_pid" 2>/dev/null; do
		if [ "$_ce_i" -ge 100 ]; then
			kill -KILL "$_ce_pid" 2>/dev/null || :
			break
		fi
		sleep 0.1
		_ce_i=$((_ce_i + 1))
	done
	wait "$_ce_pid" 2>/dev/null || :
}

# consul_emu_ctl METHOD PATH [JSON]: a request (usually to /_emu/...); prints the body.
consul_emu_ctl() {
	if [ $# -ge 3 ]; then
		curl -sSk -X "$1" -H 'Content-Type: application/json' --data-binary "$3" \
			"$CONSUL_EMU_URL$2"
	else
		curl -sSk -X "$1" "$CONSUL_EMU_URL$2"
	fi
}

# consul_emu_requests: the request log, one JSON object per line.
consul_emu_requests() {
	curl -sSk "$CONSUL_EMU_URL/_emu/requests?format=ndjson"
}

# _consul_emu_kv METHOD KEY QUERY [VALUE]: one /v1/kv request; fails unless
# Consul answers 200 true.
_consul_emu_kv() {
	_ce_method=$1
	_ce_path=$(/usr/bin/python3 -c 'import sys, urllib.parse
print(urllib.parse.quote(sys.argv[1], safe="/"))' "$2") || return 1
	_ce_url="$CONSUL_EMU_URL/v1/kv/$_ce_path${3:+?$3}"
	_ce_nargs=$#
	_ce_value=${4-}
	set --
	if [ -n "${CONSUL_EMU_TOKEN:-}" ]; then
		set -- -H "X-Consul-Token: $CONSUL_EMU_TOKEN"
	fi
	if [ "$_ce_nargs" -ge 4 ]; then
		_ce_out=$(printf '%s' "$_ce_value" | curl -sSk -X "$_ce_method" \
			--data-binary @- "$@" "$_ce_url") || return 1
	else
		_ce_out=$(curl -sSk -X "$_ce_method" "$@" "$_ce_url") || return 1
	fi
	[ "$_ce_out" = true ] || {
		echo "consul_emu: $_ce_method /v1/kv/$_ce_path: $_ce_out" >&2
		return 1
	}
}

# consul_emu_put KEY VALUE [QUERY]: PUT /v1/kv/KEY (e.g. QUERY flags=3 or cas=0).
consul_emu_put() {
	_consul_emu_kv PUT "$1" "${3-}" "$2"
}

# consul_emu_delete KEY [QUERY]: DELETE /v1/kv/KEY (e.g. QUERY recurse).
consul_emu_delete() {
	_consul_emu_kv DELETE "$1" "${2-}"
}
