#!/usr/bin/env bash
# Benchmark of the operating tools (issue 11): dl-list's time to a full listing of 50 services
# (median, with the management API, which ends the ping wait once every service answered) and
# dl-watch's CPU time per poll. A benchmark, not a test: it prints figures.
#
# Needs: release binaries (make bench builds them; BIN_DIR=… points elsewhere, e.g. a
# debug build to try the script), RabbitMQ on 127.0.0.1:5672 with the management plugin
# (make services), hyperfine and GNU time (installed here from Debian when missing and root).
# BENCH_SERVICES=N changes the 50.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/common.bash
bench_binaries dl-list dl-watch dl-serve dl-cmd
count="${BENCH_SERVICES:-50}"
bench_needs_hyperfine

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# $count services of 4 endpoints each, one dl-serve process each.
for i in $(seq "$count"); do
  cat > "$work/s$i.yaml" <<YAML
name: bench_list_${suffix}_$i
module: Service
heartbeat_interval_s: 0
endpoints:
$(for e in 1 2 3 4; do printf '  - name: bench_list_%s_%s_e%s\n    module: KeyValueStore\n    initial_value: %s\n' "$suffix" "$i" "$e" "$e"; done)
YAML
  "$bin/dl-serve" -q -b 127.0.0.1 -c "$work/s$i.yaml" &
  pids+=($!)
done
for i in $(seq "$count"); do
  for _ in $(seq 100); do
    "$bin/dl-cmd" -b 127.0.0.1 "bench_list_${suffix}_$i" -s ping -t 1s >/dev/null 2>&1 && break
    sleep 0.1
  done
done

# 1. dl-list: process start to the full listing.
listed=$("$bin/dl-list" -b 127.0.0.1 -f jsonl | grep -c "\"service\":\"bench_list_${suffix}_" || true)
[ "$listed" = "$count" ] || { echo "bench: dl-list listed $listed of $count services" >&2; exit 1; }
hyperfine -N --warmup 2 --runs 20 --export-json "$work/list.json" \
  "$bin/dl-list -b 127.0.0.1 -f jsonl" >/dev/null 2>&1
read -r list_median list_min list_max < <(python3 - "$work/list.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
print(f"{r['median']*1000:.1f} {r['min']*1000:.1f} {r['max']*1000:.1f}")
PY
)
hyperfine -N --warmup 1 --runs 5 --export-json "$work/list-ping.json" \
  "$bin/dl-list -b 127.0.0.1 -f jsonl --no-management -t 1s" >/dev/null 2>&1
read -r ping_only < <(python3 - "$work/list-ping.json" <<'PY'
import json, sys
print(f"{json.load(open(sys.argv[1]))['results'][0]['median']*1000:.1f}")
PY
)

# 2. dl-watch: CPU time (user + sys) per poll, polling every 10 ms for 10 s with --always.
endpoint="bench_list_${suffix}_1_e1"
/usr/bin/time -f '%U %S %M' -o "$work/watch.time" \
  timeout -s INT 10 "$bin/dl-watch" -b 127.0.0.1 "$endpoint" -i 10ms --always > "$work/watch.out" || true
polls=$(wc -l < "$work/watch.out")
read -r user sys rss < <(tail -n 1 "$work/watch.time")
cpu_per_poll=$(python3 -c "print(f'{($user + $sys) * 1e6 / max($polls, 1):.0f}')")

printf '\n%-52s %s\n' "operate (issue 11), $count services" "figure"
printf '%-52s %s ms (min %s, max %s; 20 runs)\n' "dl-list full listing, management API (median)" "$list_median" "$list_min" "$list_max"
printf '%-52s %s ms\n' "dl-list ping only, -t 1s (median; the wait is -t)" "$ping_only"
printf '%-52s %s µs CPU per poll (%s polls in 10 s, peak RSS %s KiB)\n' "dl-watch -i 10ms --always" "$cpu_per_poll" "$polls" "$rss"
