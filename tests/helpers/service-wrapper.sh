# See COPYING for copyright and license details.
# shellcheck shell=sh
# shellcheck disable=SC2034,SC2119
#
# Helpers for tests/cli/service-wrapper*.t, sourced after tests/lib.sh:
# the Consul and Marathon emulators' sh helpers, a test command
# (sw_child.py) and ways to run the wrapper in the background.

CONSUL_EMU_HOME=${CONSUL_EMU_HOME:-$GALLEY_ROOT/tests/emulators/consul}
MARATHON_EMU_HOME=${MARATHON_EMU_HOME:-$GALLEY_ROOT/tests/emulators/marathon}
export CONSUL_EMU_HOME MARATHON_EMU_HOME
# shellcheck source=../emulators/consul/emu.sh
. "$CONSUL_EMU_HOME/emu.sh"
# shellcheck source=../emulators/marathon/emu.sh
. "$MARATHON_EMU_HOME/emu.sh"
EMU_DIR=$TRASH
export EMU_DIR
SW_CHILD=$GALLEY_ROOT/tests/helpers/sw_child.py
unset MARATHON_APP_ID CONSUL_HTTP_TOKEN_FILE CONSUL_HTTP_AUTH CONSUL_HTTP_SSL \
	CONSUL_HTTP_SSL_VERIFY CONSUL_CACERT CONSUL_CLIENT_CERT CONSUL_CLIENT_KEY \
	MARATHON_CREDENTIALS DCOS_ACS_TOKEN

# sw_start ERRFILE args...: service-wrapper in the background, stderr in
# ERRFILE; SW_PID is its pid, killed (with what it started) after the test.
sw_start() {
	_sw_err=$1
	shift
	service-wrapper "$@" 2>"$_sw_err" &
	SW_PID=$!
	test_when_finished "test_kill_tree $SW_PID"
}

# sw_wait PID: wait for a background wrapper; SW_STATUS is its exit status.
sw_wait() {
	SW_STATUS=0
	wait "$1" || SW_STATUS=$?
}

# sw_put_file KEY FILE: PUT the exact bytes of FILE (NULs, newlines) as KEY.
sw_put_file() {
	_sw_out=$(curl -sS -X PUT --data-binary @"$2" "$CONSUL_EMU_URL/v1/kv/$1") &&
		[ "$_sw_out" = true ]
}

# sw_restarts APP-ID: restart requests in the Marathon emulator's log.
sw_restarts() {
	marathon_emu_requests | grep -c "\"method\": *\"POST\", *\"path\": *\"/v2/apps$1/restart\"" || :
}

# sw_accepted APP-ID: restart requests Marathon accepted.
sw_accepted() {
	marathon_emu_requests |
		grep "\"method\": *\"POST\", *\"path\": *\"/v2/apps$1/restart\"" |
		grep -c '"status": *200' || :
}

# sw_restarts_are APP-ID N, sw_accepted_are APP-ID N: for test_wait_for.
sw_restarts_are() {
	[ "$(sw_restarts "$1")" = "$2" ]
}
sw_accepted_are() {
	[ "$(sw_accepted "$1")" = "$2" ]
}

# sw_kv_requests: KV requests in the Consul emulator's log.
sw_kv_requests() {
	consul_emu_requests | grep -c '"path": *"/v1/kv/' || :
}

# sw_simulated_app ID: a Marathon app whose one task is simulated.
sw_simulated_app() {
	marathon_emu_ctl POST /v2/apps "{\"id\":\"$1\",\"instances\":1,\
\"container\":{\"type\":\"DOCKER\",\"docker\":{\"image\":\"web:1\"}}}" >/dev/null
}

# sw_emulators_start: a Consul and a Marathon emulator for the whole test
# file, stopped at its exit; C and M are their URLs.
sw_emulators_start() {
	consul_emu_start || exit 1
	_sw_cpid=$CONSUL_EMU_PID
	marathon_emu_start || { consul_emu_stop; exit 1; }
	# shellcheck disable=SC2016
	test_at_exit 'consul_emu_stop $_sw_cpid; marathon_emu_stop'
	C=$CONSUL_EMU_URL
	M=$MARATHON_EMU_URL
}
