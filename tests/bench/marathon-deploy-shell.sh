#!/bin/sh
# See COPYING for copyright and license details.
#
# The shell way: x-cray's marathon-deploy.sh (2015) as the article and
# /work/shared/reference/marathon.md §0 describe it, the baseline for
# tests/bench/marathon-deploy.sh. Kept faithful, defects included: it
# exits once Marathon accepts the deployment, not when it succeeds.
#
#   marathon-deploy-shell.sh <service-template-url> <environment> [instances-count]
#
# The one change: Marathon is $MARATHON (host:port), since mesos-resolve
# and /etc/mesos/zk do not exist here; the original computes
#   MASTER=$(mesos-resolve $(cat /etc/mesos/zk)); MARATHON=${MASTER%:*}:8080
set -e

if [ $# -lt 2 ]; then
	echo "usage: marathon-deploy <service-template-url> <environment> [instances-count]" >&2
	exit 1
fi
URL=$1
ENVIRONMENT=$2
INSTANCES=${3:-1}
MARATHON=${MARATHON:?set MARATHON=host:port}

curl -sSLO "$URL"
FILE=$(basename "$URL")
JSON=$(sed "s/\$environment/$ENVIRONMENT/g;s/\$instances/$INSTANCES/g" "$FILE")
APP_ID=$(echo "$JSON" | jq -r .id)

# send METHOD URL: the JSON to Marathon; sets CODE, prints the answer.
send() {
	RESPONSE=$(echo "$JSON" | curl -s -w '\n%{http_code}' -X "$1" \
		-H 'Content-Type: application/json' -d @- "$2")
	CODE=$(echo "$RESPONSE" | tail -n 1)
	BODY=$(echo "$RESPONSE" | head -n -1)
	echo "Response code: $CODE, body: $(echo "$BODY" | jq .)"
}

send POST "http://$MARATHON/v2/apps"
case $CODE in
2*)
	echo "Successfully created $APP_ID"
	exit 0
	;;
409)
	;;
*)
	exit 1
	;;
esac

send PUT "http://$MARATHON/v2/apps$APP_ID"
case $CODE in
2*)
	echo "Successfully updated $APP_ID"
	exit 0
	;;
esac
exit 1
