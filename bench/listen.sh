#!/usr/bin/env bash
# Benchmark of the alert path (issue 3): dl-alert publish rate, and dl-listen messages/s to
# /dev/null from its temporary queue and from a durable --queue. A benchmark, not a test: it
# prints figures (median and range of 3 runs).
#
# dl-listen is measured alone, not behind a slower publisher: it is stopped (SIGSTOP) while
# the alerts are queued for it, and timed from SIGCONT until it has printed them all.
#
# Needs: release binaries (make bench builds them), RabbitMQ on 127.0.0.1:5672.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/common.bash
bench_binaries dl-alert dl-listen

alerts=${LISTEN_BENCH_ALERTS:-200000}
work=$(mktemp -d)
key="bench_listen_$suffix"
queue="bench_listen_queue_$suffix"
listen_pid=""
cleanup() {
  [ -n "$listen_pid" ] && { kill -CONT "$listen_pid" 2>/dev/null || true; kill -TERM "$listen_pid" 2>/dev/null || true; }
  # The durable queue outlives dl-listen: delete it.
  if ! rabbitmqctl -q delete_queue "$queue" >/dev/null 2>&1; then
    echo "bench: could not delete the durable queue $queue; rabbitmqctl delete_queue $queue" >&2
  fi
  rm -rf "$work"
}
trap cleanup EXIT

python3 - "$work/alerts.jsonl" "$key" "$alerts" <<'PY'
import json, sys
path, key, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
with open(path, "w") as out:
    for i in range(count):
        out.write(json.dumps({"routing_key": f"{key}.t{i % 10}",
                              "payload": {"value_raw": i * 0.5, "value_cal": i}}) + "\n")
PY
# The same alerts to a key nobody binds, for the bare publish rate.
sed "s/$key/${key}_nobody/" "$work/alerts.jsonl" > "$work/unbound.jsonl"

now() { date +%s.%N; }
rate() { python3 -c "print(round($1/($3-$2)))"; }
median_of() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else printf "%.0f\n", (a[NR/2]+a[NR/2+1])/2}'; }
minmax_of() { sort -n | awk 'NR==1{min=$1} {max=$1} END {printf "%s–%s", min, max}'; }

# Start dl-listen with "$@" (output to /dev/null), wait until it listens.
start_listener() {
  : > "$work/listen.err"
  "$bin/dl-listen" -v "$@" > /dev/null 2> "$work/listen.err" &
  listen_pid=$!
  for _ in $(seq 300); do
    grep -q listening "$work/listen.err" && return 0
    sleep 0.1
  done
  echo "bench: dl-listen did not start: $(cat "$work/listen.err")" >&2; exit 1
}

# 1. dl-alert: alerts/s published with confirms (persistent, the default), nobody bound.
publish_rates=()
for run in 1 2 3; do
  start=$(now); "$bin/dl-alert" - < "$work/unbound.jsonl"; end=$(now)
  publish_rates+=("$(rate "$alerts" "$start" "$end")")
done

# 2. dl-listen, temporary queue: alerts queued while it is stopped, then drained.
temp_rates=()
for run in 1 2 3; do
  start_listener -n "$alerts" "$key.#"
  kill -STOP "$listen_pid"
  "$bin/dl-alert" --transient - < "$work/alerts.jsonl"
  start=$(now); kill -CONT "$listen_pid"; wait "$listen_pid"; end=$(now)
  listen_pid=""
  temp_rates+=("$(rate "$alerts" "$start" "$end")")
done

# 3. dl-listen --queue: a durable queue filled while no listener runs, then drained (each
#    message acknowledged after its line is flushed).
start_listener --queue "$queue" -n 1 "$key.#"          # creates and binds the queue
"$bin/dl-alert" "$key.t0" 0
wait "$listen_pid"; listen_pid=""
durable_rates=()
for run in 1 2 3; do
  "$bin/dl-alert" - < "$work/alerts.jsonl"
  start=$(now)
  "$bin/dl-listen" --queue "$queue" -n "$alerts" "$key.#" > /dev/null
  end=$(now)
  durable_rates+=("$(rate "$alerts" "$start" "$end")")
done

echo
echo "alert path — $(nproc) cores, $(uname -m), RabbitMQ on loopback, release build, $alerts alerts per run"
printf '%-52s %s\n' "measure" "result (3 runs)"
printf '%-52s %s\n' "dl-alert publish, confirmed, persistent" "median $(printf '%s\n' "${publish_rates[@]}" | median_of) alerts/s, range $(printf '%s\n' "${publish_rates[@]}" | minmax_of)"
printf '%-52s %s\n' "dl-listen > /dev/null, temporary queue" "median $(printf '%s\n' "${temp_rates[@]}" | median_of) messages/s, range $(printf '%s\n' "${temp_rates[@]}" | minmax_of)"
printf '%-52s %s\n' "dl-listen --queue > /dev/null, durable, acked" "median $(printf '%s\n' "${durable_rates[@]}" | median_of) messages/s, range $(printf '%s\n' "${durable_rates[@]}" | minmax_of)"
echo "targets: dl-alert ≥ 30 000 alerts/s, dl-listen ≥ 50 000 messages/s"
