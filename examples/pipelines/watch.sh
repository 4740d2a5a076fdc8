#!/usr/bin/env bash
# Watch dripline endpoints: ask them all every few seconds (one dl-get batch on one
# connection), print a line when a value changes, and raise an alert when a value is out of
# range: an ALERT line, and optionally a dripline alert on the mesh (dl-alert).
#
#   watch.sh [-i SECONDS] [-n POLLS] [-f FIELD] [-r MIN:MAX] [-a ROUTING_KEY] ENDPOINT...
#
#   -i SECONDS     time between polls [default: 5]
#   -n POLLS       stop after this many polls [default: run until Ctrl-C]
#   -f FIELD       payload field to watch [default: value_cal, or value_raw when an endpoint
#                  has no value_cal]
#   -r MIN:MAX     allowed range, bounds included; either may be left out (-r :100, -r 0:).
#                  A value outside it, or no value at all (the endpoint did not answer), is
#                  an alert
#   -a KEY         also publish each alert with dl-alert on routing key KEY, payload
#                  {"endpoint", "value", "range"} (e.g. -a status_message.warning.watch)
#
# Output: one line per change, `<UTC time> <endpoint> <value>`, the first poll printing every
# endpoint; ` ALERT outside MIN:MAX` is appended when the new value is out of range. An endpoint
# that does not answer shows the error's name (client_error_unable_to_send, …) as its value,
# and no_reply when dl-get could not ask at all (the broker is unreachable; its error is
# printed on stderr).
# The broker is dl-get's (DRIPLINE_BROKER, DRIPLINE_AMQP_URL, ~/.dripline_mesh.yaml, …), and
# so is the reply timeout (DRIPLINE_TIMEOUT, default 10s).
#
#   watch.sh -i 10 -r 0:5 peaches chips waffles
#   watch.sh -n 1 -r :80 temp_cryo || echo "temp_cryo is out of range"   # a one-shot check
#
# Exit status: 0, or 1 when an alert was raised during the run; 64 bad usage.
set -euo pipefail

usage() {
	sed -n 's/^#   watch.sh \[/watch.sh [/p' "$0" >&2
	exit 64
}

interval=5 polls='' field=value_cal range='' alert_key=''
while getopts 'i:n:f:r:a:h' option; do
	case $option in
	i) interval=$OPTARG ;;
	n) polls=$OPTARG ;;
	f) field=$OPTARG ;;
	r) range=$OPTARG ;;
	a) alert_key=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -gt 0 ] || usage
if [ -n "$range" ] && [[ $range != *:* ]]; then
	echo "watch.sh: -r takes MIN:MAX, e.g. 0:5, :80 or 10:" >&2
	exit 64
fi
min=${range%%:*} max=${range#*:}

# Status 0 when VALUE is out of range: below MIN, above MAX, or not a number.
out_of_range() {
	awk -v v="$1" -v lo="$min" -v hi="$max" 'BEGIN {
		if (v !~ /^[-+]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][-+]?[0-9]+)?$/) exit 0
		if (lo != "" && v + 0 < lo + 0) exit 0
		if (hi != "" && v + 0 > hi + 0) exit 0
		exit 1
	}'
}

# One poll: `endpoint<TAB>value` per endpoint that dl-get had an answer or error for;
# dl-get's messages go to $errors.
poll() {
	printf '%s\n' "$@" | jq -cR '{target: .}' | { dl-get --full - 2>"$errors" || true; } |
		jq -r --arg field "$field" '
			def shown: if . == null then "-" else tostring end;
			if .error then [.error.target, .error.return_name]
			elif (.return_code // 0) >= 100 then [.routing_key, .return_name]
			else [.routing_key,
			      (.payload[$field]
			       // (if $field == "value_cal" then .payload.value_raw else null end))]
			end
			| map(shown) | @tsv'
}

declare -A last=()
alerted=0 done_polls=0
errors=$(mktemp)
trap 'rm -f "$errors"' EXIT
while :; do
	now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
	declare -A value_of=()
	while IFS=$'\t' read -r endpoint value; do
		value_of[$endpoint]=$value
	done < <(poll "$@")
	for endpoint in "$@"; do
		# No line at all: dl-get could not ask (the broker is unreachable, say).
		value=${value_of[$endpoint]-no_reply}
		if [ "${last[$endpoint]+set}" = set ] && [ "${last[$endpoint]}" = "$value" ]; then
			continue
		fi
		last[$endpoint]=$value
		line="$now $endpoint $value"
		if [ -n "$range" ] && out_of_range "$value"; then
			alerted=1
			line="$line ALERT outside $range"
			if [ -n "$alert_key" ]; then
				payload=$(jq -cn --arg endpoint "$endpoint" --arg value "$value" \
					--arg range "$range" \
					'{endpoint: $endpoint, value: ($value | tonumber? // $value), range: $range}')
				dl-alert "$alert_key" "$payload" >/dev/null ||
					echo "watch.sh: could not publish the alert for $endpoint" >&2
			fi
		fi
		printf '%s\n' "$line"
		if [ "$value" = no_reply ]; then
			tail -n 1 "$errors" | sed 's/^/watch.sh: /' >&2
		fi
	done
	unset value_of
	done_polls=$((done_polls + 1))
	if [ -n "$polls" ] && [ "$done_polls" -ge "$polls" ]; then
		break
	fi
	sleep "$interval"
done
exit "$alerted"
