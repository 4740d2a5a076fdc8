#!/usr/bin/env bash
# Benchmark of the sensor-log path on a three-node RabbitMQ cluster (issue 12), side by side in
# the same run with the single node: dl-log-to-pg's drain rate (a full queue to committed rows)
# and its live end-to-end rate (alerts published while it runs, from the first publish until
# the last row is committed), each against a bare consumer (tests/bare_consume.rs: no decoding,
# no database) on the same queue, node and prefetch, drained or fed the same way.
# A benchmark, not a test: it prints figures (median and range of the runs).
#
# single node   the machine's RabbitMQ (127.0.0.1:5672), the logger's default classic queue;
# cluster       a private 3-node cluster started by the tests' own harness (the rabbit-cluster
#               helper, tests/rabbit_cluster.rs), a quorum queue (three replicas). The logger and
#               the bare consumer connect to node 1 (the queue's leader: the node that declared
#               it), the publisher to node 2, as behind a Service that spreads connections.
#
# Needs: release binaries (make bench builds them, rabbit-cluster too), RabbitMQ and PostgreSQL
# on loopback, the rabbitmq-server package, GNU time; root or the rabbitmq user for the cluster.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/common.bash
bench_binaries dl-alert dl-log-to-pg bare-consume rabbit-cluster
bench_needs_gnu_time

alerts="${BENCH_CLUSTER_ALERTS:-100000}"
runs="${BENCH_RUNS:-3}"
batch_size=5000
prefetch=6000   # dl-log-to-pg's default for batch 5000; bare-consume gets the same
work=$(mktemp -d)
queue="bench_cluster_$suffix"
schema="bench_cluster_$suffix"
key="bench_cluster_$suffix"
port=$((20000 + RANDOM % 20000))
pg_url="postgresql://postgres@127.0.0.1:5432/test"
logger=""   # the running logger's GNU time, or the logger itself while creating the queues
bare=""
cluster_pid=""
cleanup() {
  local pid
  for pid in $logger $bare; do
    pkill -TERM -P "$pid" 2>/dev/null || true
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rabbitmqctl -q delete_queue "$queue" >/dev/null 2>&1 || true
  rabbitmqctl -q delete_queue "$queue.dead" >/dev/null 2>&1 || true
  bench_psql "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1 || true
  # The end of its stdin stops and deletes the cluster.
  if [ -n "$cluster_pid" ]; then
    exec 3>&-
    wait "$cluster_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

exec 3> >(exec "$bin/rabbit-cluster" > "$work/cluster.out")
cluster_pid=$!
for _ in $(seq 600); do
  grep -q '^started_in' "$work/cluster.out" 2>/dev/null && break
  kill -0 "$cluster_pid" 2>/dev/null || { echo "bench: rabbit-cluster failed" >&2; exit 1; }
  sleep 0.5
done
grep -q '^started_in' "$work/cluster.out" || { echo "bench: the cluster did not start" >&2; exit 1; }
read -r _ node1 node2 _ < <(grep '^ports' "$work/cluster.out")
cluster_started=$(awk '/^started_in/ {print $2}' "$work/cluster.out")

python3 - "$alerts" "$key" > "$work/alerts.jsonl" <<'PY'
import sys
n, key = int(sys.argv[1]), sys.argv[2]
out = sys.stdout
for i in range(n):
    out.write('{"routing_key":"%s.s%d","payload":{"value_raw":%d,"value_cal":%d.5}}\n' % (key, i % 100, i, i))
PY

# setup name: consumer port, publisher port, queue type.
declare -A consume_port=([single]=5672 [cluster]=$node1)
declare -A publish_port=([single]=5672 [cluster]=$node2)
declare -A queue_type=([single]=classic [cluster]=quorum)
setups=(single cluster)

logger_args() {
  echo --queue "$queue" --keys "$key.#" --pg-url "$pg_url" --table "$schema.numeric_data" \
    --batch-size "$batch_size" --prefetch "$prefetch" --metrics-addr "127.0.0.1:$port" -q \
    -p "${consume_port[$1]}" --queue-type "${queue_type[$1]}"
}
written() { bench_logger_written "$port"; }
wait_ready() { bench_logger_wait_ready "$port"; }
wait_written() {
  until [ "$(written 2>/dev/null || echo 0)" = "$alerts" ]; do
    kill -0 "$logger" 2>/dev/null || { echo "bench: dl-log-to-pg stopped" >&2; exit 1; }
    sleep 0.05
  done
}
now() { date +%s.%N; }
rate() { echo "$alerts / ($2 - $1)" | bc -l; }
# Start the logger under GNU time (its pid in $logger); stop it, keeping CPU seconds and RSS.
start_logger() {
  # shellcheck disable=SC2046
  /usr/bin/time -f '%U %S %M' -o "$work/logger.time" "$bin/dl-log-to-pg" $(logger_args "$1") &
  logger=$!
}
stop_logger() {
  pkill -TERM -P "$logger"; wait "$logger" || true
  logger=""
  read -r user sys rss < <(tail -1 "$work/logger.time")
  echo "($user + $sys) * 1000000 / $alerts" | bc -l >> "$work/$1.cpu"
  echo "$rss" >> "$work/$1.rss"
}
fill() {
  "$bin/dl-alert" -p "${publish_port[$1]}" --transient - < "$work/alerts.jsonl"
}
rows_check() {
  local rows
  rows=$(bench_psql "SELECT count(*) FROM $schema.numeric_data")
  [ "$rows" = "$alerts" ] || { echo "bench: $1: $rows rows for $alerts alerts" >&2; exit 1; }
}

# Create the schema once, and each setup's queue and binding with the logger itself.
for setup in "${setups[@]}"; do
  # shellcheck disable=SC2046
  "$bin/dl-log-to-pg" $(logger_args "$setup") --init-schema &
  logger=$!
  wait_ready
  kill -TERM "$logger"; wait "$logger" || true
  logger=""
done

for run in $(seq "$runs"); do
  for setup in "${setups[@]}"; do
    # Drain: the queue filled first, the logger timed from its start.
    bench_psql "TRUNCATE $schema.numeric_data"
    fill "$setup"
    start=$(now)
    start_logger "$setup"
    wait_written
    end=$(now)
    stop_logger "$setup"
    rate "$start" "$end" >> "$work/$setup.drain"
    rows_check "$setup drain run $run"

    fill "$setup"
    DRIPLINE_BROKER_PORT="${consume_port[$setup]}" \
      "$bin/bare-consume" "$queue" "$alerts" "$prefetch" "$batch_size" \
      | awk '{print $(NF-1)}' >> "$work/$setup.bare_drain"

    # Live: the logger waits on an empty queue; timed from the first publish to the last row.
    bench_psql "TRUNCATE $schema.numeric_data"
    start_logger "$setup"
    wait_ready
    start=$(now)
    fill "$setup"
    wait_written
    end=$(now)
    stop_logger "$setup"
    rate "$start" "$end" >> "$work/$setup.live"
    rows_check "$setup live run $run"

    start=$(now)
    DRIPLINE_BROKER_PORT="${consume_port[$setup]}" \
      "$bin/bare-consume" "$queue" "$alerts" "$prefetch" "$batch_size" > /dev/null &
    bare=$!
    fill "$setup"
    wait "$bare"
    end=$(now)
    bare=""
    rate "$start" "$end" >> "$work/$setup.bare_live"
  done
done

median_of() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
range_of() { sort -n | awk 'NR==1{min=$1} {max=$1} END {printf "%.0f–%.0f", min, max}'; }
median() { median_of < "$work/$1"; }

echo
echo "sensor log on one node and on a 3-node cluster, $alerts alerts per run, $runs runs, batch $batch_size, prefetch $prefetch ($(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg); cluster started and joined in $cluster_started s)"
printf '%-40s %12s %14s %12s %14s\n' "measure (alerts/s)" "single" "range" "cluster" "range"
row() {
  printf '%-40s %12.0f %14s %12.0f %14s\n' "$1" "$(median "single.$2")" "$(range_of < "$work/single.$2")" \
    "$(median "cluster.$2")" "$(range_of < "$work/cluster.$2")"
}
row "dl-log-to-pg drain (queue -> rows)" drain
row "bare consumer drain (ceiling)" bare_drain
row "dl-log-to-pg live (publish -> rows)" live
row "bare consumer live (publish -> acked)" bare_live
ratio() { echo "100 * $(median "$1.$2") / $(median "$1.$3")" | bc -l; }
printf '%-40s %11.0f%% %14s %11.0f%%\n' "drain / bare drain" "$(ratio single drain bare_drain)" "" "$(ratio cluster drain bare_drain)"
printf '%-40s %11.0f%% %14s %11.0f%%\n' "live / bare live" "$(ratio single live bare_live)" "" "$(ratio cluster live bare_live)"
printf '%-40s %12.1f %14s %12.1f\n' "logger CPU µs per alert (median)" "$(median single.cpu)" "" "$(median cluster.cpu)"
printf '%-40s %8.1f MiB %14s %8.1f MiB\n' "logger peak RSS (largest run)" \
  "$(echo "$(sort -n "$work/single.rss" | tail -1) / 1024" | bc -l)" "" \
  "$(echo "$(sort -n "$work/cluster.rss" | tail -1) / 1024" | bc -l)"
echo "cluster: quorum queue (3 replicas), logger and bare consumer on node 1 (the leader), publisher on node 2"
