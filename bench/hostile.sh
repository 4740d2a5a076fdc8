#!/usr/bin/env bash
# Benchmark of dl-serve under hostile floods (issue 10): ping latency (median, max) while a
# burst of 100 000 requests drains, side by side with the idle ping latency of the same run,
# and peak RSS during a flood of 100 000 incomplete two-chunk messages (a chunk bomb).
# A benchmark, not a test: it prints figures (tests/hostile_service.rs asserts the bounds).
#
# Needs: RabbitMQ on 127.0.0.1:5672 and the release binaries (make bench builds them).
# BIN_DIR=target/debug checks the script against a debug build (the figures then mean little);
# REQUESTS and CHUNKS change the flood sizes.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/common.bash
bench_binaries dl-serve dl-cmd hostile-flood
requests="${REQUESTS:-100000}"
chunks="${CHUNKS:-100000}"

work=$(mktemp -d)
service="bench_hostile_$suffix"
endpoint="bench_hostile_peaches_$suffix"
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

"$bin/dl-serve" -q -c "$work/store.yaml" -b 127.0.0.1 -p 5672 &
serve_pid=$!
cleanup() { kill -TERM "$serve_pid" 2>/dev/null || true; wait "$serve_pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
for _ in $(seq 100); do
  "$bin/dl-cmd" "$service" -s ping -t 1s -b 127.0.0.1 -p 5672 >/dev/null 2>&1 && break
  sleep 0.1
done

echo "dl-serve from $bin; pings every 100 ms from a flood's start until one returns within 100 ms"
"$bin/hostile-flood" "$service" "$endpoint" "$serve_pid" "$requests" "$chunks"
