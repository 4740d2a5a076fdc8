#!/usr/bin/env bash
# Benchmark of the request path (issue 2): one-shot dl-get latency, batch dl-get throughput,
# dl-serve throughput, and peak RSS of each. A benchmark, not a test: it prints figures.
#
# Needs: release binaries (make bench builds them), RabbitMQ on 127.0.0.1:5672, hyperfine and
# GNU time (installed here from Debian when missing and we are root).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/common.bash
bench_binaries dl-get dl-cmd dl-serve
bench_needs_hyperfine

work=$(mktemp -d)
service="bench_store_$suffix"
endpoint="bench_peaches_$suffix"
cat > "$work/store.yaml" <<YAML
name: $service
module: Service
heartbeat_interval_s: 0
endpoints:
  - name: $endpoint
    module: KeyValueStore
    calibration: '2*{}'
    initial_value: 0.75
YAML

"$bin/dl-serve" -q -c "$work/store.yaml" &
serve_pid=$!
cleanup() { kill -TERM "$serve_pid" 2>/dev/null || true; wait "$serve_pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
for _ in $(seq 100); do
  "$bin/dl-cmd" "$service" -s ping -t 1s >/dev/null 2>&1 && break
  sleep 0.1
done

rss_kib() { awk -F': ' '/Maximum resident set size/ {print $2}' "$1"; }
median_of() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else printf "%.1f\n", (a[NR/2]+a[NR/2+1])/2}'; }
minmax_of() { sort -n | awk 'NR==1{min=$1} {max=$1} END {printf "%s–%s", min, max}'; }

# 1. One-shot dl-get: process start to printed reply.
hyperfine -N --warmup 3 --runs 50 --export-json "$work/oneshot.json" \
  "$bin/dl-get $endpoint" >/dev/null 2>&1
read -r oneshot_median oneshot_stddev oneshot_min oneshot_max < <(python3 - "$work/oneshot.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
print(f"{r['median']*1000:.2f} {r['stddev']*1000:.2f} {r['min']*1000:.2f} {r['max']*1000:.2f}")
PY
)
/usr/bin/time -v -o "$work/oneshot.time" "$bin/dl-get" "$endpoint" >/dev/null

# 2. Batch dl-get over 10 000 requests on one connection (3 runs).
requests=10000
for _ in $(seq $requests); do echo "{\"target\":\"$endpoint\"}"; done > "$work/batch.jsonl"
batch_rates=()
for run in 1 2 3; do
  start=$(date +%s.%N)
  /usr/bin/time -v -o "$work/batch.time" "$bin/dl-get" - < "$work/batch.jsonl" > "$work/batch.out"
  end=$(date +%s.%N)
  lines=$(wc -l < "$work/batch.out")
  [ "$lines" = "$requests" ] || { echo "bench: batch printed $lines lines, expected $requests" >&2; exit 1; }
  batch_rates+=("$(python3 -c "print(round($requests/($end-$start)))")")
done

# 3. dl-serve throughput: two batch clients at once, 20 000 requests in all (3 runs).
serve_rates=()
for run in 1 2 3; do
  start=$(date +%s.%N)
  "$bin/dl-get" - < "$work/batch.jsonl" > /dev/null &
  first=$!
  "$bin/dl-get" - < "$work/batch.jsonl" > /dev/null
  wait "$first"
  end=$(date +%s.%N)
  serve_rates+=("$(python3 -c "print(round(2*$requests/($end-$start)))")")
done

# Peak RSS of the service over the whole run, read before it stops (VmHWM).
serve_rss=$(awk '/^VmHWM:/ {print $2}' "/proc/$serve_pid/status")
kill -TERM "$serve_pid"; wait "$serve_pid" || true

echo
echo "request path — $(nproc) cores, $(uname -m), RabbitMQ on loopback, release build"
printf '%-44s %s\n' "measure" "result"
printf '%-44s %s\n' "one-shot dl-get wall time (50 runs)" "median ${oneshot_median} ms, stddev ${oneshot_stddev} ms, range ${oneshot_min}–${oneshot_max} ms"
printf '%-44s %s\n' "batch dl-get - (10 000 requests, 3 runs)" "median $(printf '%s\n' "${batch_rates[@]}" | median_of) req/s, range $(printf '%s\n' "${batch_rates[@]}" | minmax_of)"
printf '%-44s %s\n' "dl-serve (2 clients, 20 000 requests, 3 runs)" "median $(printf '%s\n' "${serve_rates[@]}" | median_of) req/s, range $(printf '%s\n' "${serve_rates[@]}" | minmax_of)"
printf '%-44s %s\n' "peak RSS one-shot dl-get" "$(( $(rss_kib "$work/oneshot.time") / 1024 )) MiB ($(rss_kib "$work/oneshot.time") KiB)"
printf '%-44s %s\n' "peak RSS batch dl-get (10 000)" "$(( $(rss_kib "$work/batch.time") / 1024 )) MiB ($(rss_kib "$work/batch.time") KiB)"
printf '%-44s %s\n' "peak RSS dl-serve (whole run)" "$(( serve_rss / 1024 )) MiB (${serve_rss} KiB)"
echo "targets: one-shot median ≤ 10 ms, batch ≥ 5 000 req/s, dl-serve RSS ≤ 20 MiB"
