#!/usr/bin/env bash
# Benchmark of dl-metrics (issue 11): CPU time per alert, resident memory with BENCH_SENSORS
# sensors tracked (default 10 000), and the time and size of one /metrics scrape of them.
# A benchmark, not a test: it prints figures.
#
# dl-metrics listens on an alerts exchange of its own (so the shared broker's other traffic
# does not count); dl-alert publishes BENCH_ALERTS alerts (default 200 000) spread over the
# sensors; dl-metrics' user+system CPU time is read from /proc before and after, once every
# alert has been counted in its /metrics. A part of that CPU is the scrapes that poll for the
# count (about one a second), so the figure is an upper bound.
#
# Needs: dl-metrics and dl-alert in BIN_DIR (default: the release build `make bench` makes;
# BIN_DIR=target/debug checks the script quickly), RabbitMQ on loopback, curl.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/common.bash
bench_binaries dl-metrics dl-alert

alerts="${BENCH_ALERTS:-200000}"
sensors="${BENCH_SENSORS:-10000}"
exchange="bench_metrics_$suffix"
port=$((20000 + RANDOM % 20000))
work=$(mktemp -d)
pid=""
cleanup() {
  if [ -n "$pid" ]; then
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  if command -v rabbitmqadmin >/dev/null; then
    rabbitmqadmin -q delete exchange name="$exchange" >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

python3 - "$alerts" "$sensors" > "$work/alerts.jsonl" <<'PY'
import sys
n, sensors = int(sys.argv[1]), int(sys.argv[2])
out = sys.stdout
for i in range(n):
    out.write('{"routing_key":"sensor_value.bench_s%d","payload":{"value_raw":%d,"value_cal":%d.5}}\n'
              % (i % sensors, i, i))
PY

"$bin/dl-metrics" -b 127.0.0.1 -p 5672 --alerts-exchange "$exchange" \
  --max-sensors "$((sensors + 1))" --metrics-addr "127.0.0.1:$port" -q &
pid=$!
for _ in $(seq 300); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' "127.0.0.1:$port/readyz")" = 200 ] && break
  sleep 0.1
done
[ "$(curl -s -o /dev/null -w '%{http_code}' "127.0.0.1:$port/readyz")" = 200 ] \
  || { echo "bench: dl-metrics never became ready" >&2; exit 1; }

ticks() { awk '{ s = $0; sub(/.*\) /, "", s); split(s, f, " "); print f[12] + f[13] }' "/proc/$pid/stat"; }
counted() {
  curl -s "127.0.0.1:$port/metrics" \
    | awk '/^dripline_sensor_alerts_total/ { n += $2 } END { printf "%d\n", n }'
}
hz=$(getconf CLK_TCK)
rss_idle=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")

before=$(ticks)
start=$(date +%s.%N)
"$bin/dl-alert" -b 127.0.0.1 -p 5672 --alerts-exchange "$exchange" --transient -q < "$work/alerts.jsonl"
published=$(date +%s.%N)
for _ in $(seq 600); do
  [ "$(counted)" -ge "$alerts" ] && break
  sleep 1
done
seen=$(counted)
after=$(ticks)
[ "$seen" -ge "$alerts" ] || echo "bench: dl-metrics counted $seen of $alerts alerts" >&2

rss=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")
hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$pid/status")
scrape_before=$(ticks)
scrape=$(curl -s -o "$work/metrics.txt" -w '%{time_total}' "127.0.0.1:$port/metrics")
scrape_after=$(ticks)
tracked=$(awk '/^dl_metrics_tracked\{kind="sensor"\}/ {print $2}' "$work/metrics.txt")

awk -v alerts="$alerts" -v seen="$seen" -v ticks="$((after - before))" -v hz="$hz" \
    -v start="$start" -v published="$published" -v sensors="$tracked" \
    -v rss_idle="$rss_idle" -v rss="$rss" -v hwm="$hwm" -v scrape="$scrape" \
    -v scrape_ticks="$((scrape_after - scrape_before))" \
    -v bytes="$(wc -c < "$work/metrics.txt")" -v bin="$bin" 'BEGIN {
  printf "dl-metrics (%s), %d alerts over %d sensors\n", bin, alerts, sensors
  printf "  %-38s %10.2f us\n", "CPU per alert (user+system)", ticks / hz / seen * 1e6
  printf "  %-38s %10.0f /s\n", "dl-alert publishing rate", alerts / (published - start)
  printf "  %-38s %10.1f MiB\n", "RSS before any alert", rss_idle / 1024
  printf "  %-38s %10.1f MiB\n", "RSS with the sensors tracked", rss / 1024
  printf "  %-38s %10.1f MiB\n", "peak RSS (VmHWM)", hwm / 1024
  printf "  %-38s %10.1f ms\n", "one /metrics scrape (wall)", scrape * 1000
  printf "  %-38s %10.0f ms\n", "one /metrics scrape (CPU, 10 ms ticks)", scrape_ticks / hz * 1000
  printf "  %-38s %10.1f MiB\n", "one /metrics scrape (size)", bytes / 1048576
}'
