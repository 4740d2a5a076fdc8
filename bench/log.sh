#!/usr/bin/env bash
# Benchmark of the sensor-log path (issue 3): alerts per second from a full queue to committed
# rows by dl-log-to-pg, against the ceiling of a bare consumer (no decoding, no database) on the
# same broker, queue and prefetch; dl-alert's publishing rate; dl-log-to-pg's peak RSS.
# A benchmark, not a test: it prints figures.
#
# Each run: dl-alert fills a private durable queue with BENCH_ALERTS small alerts (default
# 1 000 000, transient as dripline sends them), then either dl-log-to-pg drains it into a
# private schema (timed from its start until /metrics counts every row written) or bare-consume
# drains it. Three interleaved runs; the table is emptied between runs.
#
# Needs: release binaries (make bench builds them), RabbitMQ and PostgreSQL on loopback, GNU time.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/common.bash
bench_binaries dl-alert dl-log-to-pg bare-consume
bench_needs_gnu_time

alerts="${BENCH_ALERTS:-1000000}"
runs="${BENCH_RUNS:-3}"
batch_size=5000
prefetch=6000   # dl-log-to-pg's default for batch 5000 (1.2 batches); bare-consume gets the same
work=$(mktemp -d)
queue="bench_log_$suffix"
schema="bench_log_$suffix"
key="bench_value_$suffix"
port=$((20000 + RANDOM % 20000))
pg_url="postgresql://postgres@127.0.0.1:5432/test"
logger_pid=""
cleanup() {
  if [ -n "$logger_pid" ]; then
    pkill -TERM -P "$logger_pid" 2>/dev/null || kill -TERM "$logger_pid" 2>/dev/null || true
    wait "$logger_pid" 2>/dev/null || true
  fi
  rabbitmqctl -q delete_queue "$queue" >/dev/null 2>&1 || true
  rabbitmqctl -q delete_queue "$queue.dead" >/dev/null 2>&1 || true
  bench_psql "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

python3 - "$alerts" "$key" > "$work/alerts.jsonl" <<'PY'
import sys
n, key = int(sys.argv[1]), sys.argv[2]
out = sys.stdout
for i in range(n):
    out.write('{"routing_key":"%s.s%d","payload":{"value_raw":%d,"value_cal":%d.5}}\n' % (key, i % 100, i, i))
PY

logger_args=(--queue "$queue" --keys "$key.#" --pg-url "$pg_url" --table "$schema.numeric_data"
  --batch-size "$batch_size" --prefetch "$prefetch" --metrics-addr "127.0.0.1:$port" -q)

written() { bench_logger_written "$port"; }
wait_ready() { bench_logger_wait_ready "$port"; }

# Create the schema, the queue and its binding once, with the logger itself.
"$bin/dl-log-to-pg" "${logger_args[@]}" --init-schema &
logger_pid=$!
wait_ready
kill -TERM "$logger_pid"; wait "$logger_pid" || true; logger_pid=""

fill() {
  local start end
  start=$(date +%s.%N)
  "$bin/dl-alert" --transient - < "$work/alerts.jsonl"
  end=$(date +%s.%N)
  echo "$alerts / ($end - $start)" | bc -l >> "$work/publish.rates"
}

for run in $(seq "$runs"); do
  bench_psql "TRUNCATE $schema.numeric_data"
  fill
  start=$(date +%s.%N)
  /usr/bin/time -v -o "$work/logger.time" "$bin/dl-log-to-pg" "${logger_args[@]}" &
  logger_pid=$!
  until [ "$(written 2>/dev/null || echo 0)" = "$alerts" ]; do sleep 0.05; done
  end=$(date +%s.%N)
  # $logger_pid is GNU time, which reports once the logger it runs has stopped.
  pkill -TERM -P "$logger_pid"; wait "$logger_pid" || true; logger_pid=""
  echo "$alerts / ($end - $start)" | bc -l >> "$work/logger.rates"
  awk -F': ' '/Maximum resident set size/ {print $2}' "$work/logger.time" >> "$work/logger.rss"
  rows=$(bench_psql "SELECT count(*) FROM $schema.numeric_data")
  [ "$rows" = "$alerts" ] || { echo "bench: run $run: $rows rows for $alerts alerts" >&2; exit 1; }

  fill
  "$bin/bare-consume" "$queue" "$alerts" "$prefetch" "$batch_size" \
    | awk '{print $(NF-1)}' >> "$work/bare.rates"
done

median_of() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
range_of() { sort -n | awk 'NR==1{min=$1} {max=$1} END {printf "%.0f–%.0f", min, max}'; }
logger=$(median_of < "$work/logger.rates")
bare=$(median_of < "$work/bare.rates")
publish=$(median_of < "$work/publish.rates")
rss=$(sort -n "$work/logger.rss" | tail -1)

echo
echo "sensor log, $alerts alerts per run, $runs runs, batch $batch_size, prefetch $prefetch ($(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg))"
printf '%-44s %12s %16s\n' "measure" "median" "range"
printf '%-44s %12.0f %16s\n' "dl-alert publish (alerts/s, confirmed)" "$publish" "$(range_of < "$work/publish.rates")"
printf '%-44s %12.0f %16s\n' "dl-log-to-pg queue -> committed rows (alerts/s)" "$logger" "$(range_of < "$work/logger.rates")"
printf '%-44s %12.0f %16s\n' "bare consume ceiling (messages/s)" "$bare" "$(range_of < "$work/bare.rates")"
printf '%-44s %11.0f%%\n' "dl-log-to-pg / ceiling" "$(echo "100 * $logger / $bare" | bc -l)"
printf '%-44s %9.1f MiB\n' "dl-log-to-pg peak RSS (largest run)" "$(echo "$rss / 1024" | bc -l)"
echo "targets: >= 50 000 alerts/s committed, >= 50% of the ceiling, RSS <= 50 MiB"
