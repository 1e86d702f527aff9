#!/bin/sh
# See COPYING for copyright and license details.
#
# The shell way: x-cray's service-wrapper.sh as the article and
# /work/shared/reference/consul.md §0 describe it, the baseline for
# tests/bench/service-wrapper.sh. Kept faithful, defects included (eval
# of KV values, index != instead of >, a restart request per instance on
# any Consul blip, no backoff, the wait loop that spins when the child
# dies of a signal). Do not use it for anything else.
#
#   service-wrapper-shell.sh <marathon host:port> <consul host:port> <prefix> <command...>

MARATHON=$1
CONSUL=$2
PREFIX=$3
shift 3
APP="$*"

RESPONSE=$(curl -si "http://$CONSUL/v1/kv/$PREFIX/?recurse")
HEADERS=$(echo "$RESPONSE" | awk '/^\r?$/ { exit } { print }')
BODY=$(echo "$RESPONSE" | awk 'body { print } /^\r?$/ { body = 1 }')
LAST_INDEX=$(echo "$HEADERS" | grep -i '^X-Consul-Index' | awk '{ print $2 }' | tr -d '\r')

# shellcheck disable=SC2046
eval $(echo "$BODY" | jq -r '.[] | [.Key, .Value] | join(" ")' | sed "s|$PREFIX/||" |
	while read -r KEY VALUE; do
		# shellcheck disable=SC2059,SC2086
		printf "export $KEY=%s\n" "$(echo $VALUE | base64 -d)"
	done)

$APP &
CHILD_PID=$!

(
	while true; do
		CURRENT_INDEX=$(curl -sS -o /dev/null -D - \
			"http://$CONSUL/v1/kv/$PREFIX/?recurse&wait=60s&index=$LAST_INDEX" |
			grep -i '^X-Consul-Index' | awk '{ print $2 }' | tr -d '\r')
		if [ "$CURRENT_INDEX" != "$LAST_INDEX" ]; then
			curl -s -X POST "http://$MARATHON/v2/apps/$PREFIX/restart" >/dev/null
		fi
		LAST_INDEX=$CURRENT_INDEX
	done
) &
WATCHER_PID=$!

trap 'kill -TERM $CHILD_PID' TERM
trap 'kill -INT $CHILD_PID; exit 0' INT

while true; do
	wait $CHILD_PID
	STATUS=$?
	if [ $STATUS -le 128 ]; then
		kill -KILL $WATCHER_PID
		exit $STATUS
	fi
done
