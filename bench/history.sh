#!/usr/bin/env bash
# Benchmark of years of history (issue 15): a plain numeric_data against a partitioned one with
# rollups, side by side in one run, on a generated history of 200 sensors over 2 years at two
# sizes (SMALL_ROWS, default 10 M, and ROWS, default 50 M): one sensor's last day as CSV, one
# sensor's year at 1-hour buckets, all sensors' last hour as CSV (dl-export, median and spread
# of RUNS runs), the logger's insert rate into each (dl-log-to-pg --stdin; with PostgreSQL's and
# the logger's CPU per row, which swing less than the rate on 2 shared cores), disk size
# (pg_total_relation_size), and what keeping the rollups costs: the initial rollup of the whole
# history, one cron run (dl-history rollup) after an hour of 200 sensors at 1 Hz, against
# refreshing after every logger batch. A benchmark, not a test: it prints tables.
#
# The history: per sensor, the last day at one row every 10 s (the same in both sizes), and the
# 2 years before it evenly spread to make up the size (one row every ~4 min at 50 M, ~25 min at
# 10 M; every 5th value_cal NULL). It ends at a fixed whole hour T, and every query names its
# range from T, so figures do not drift while the run goes on.
# The partitioned tables are made here in SQL (monthly partitions and a default one, the same
# columns and unique key as our schema, no index on time), rollups by
# `dl-history rollup --init` (a step of its own, after generating).
#
# Disk: about 2 × 8 GB at 50 M rows (table, key, and a 1-minute rollup about as large as the
# table: rows 4 min apart each fill their own minute) plus 2 × 1.6 GB at 10 M. It stops with a
# message when `df` shows less than NEED_GB (default 30) free for PostgreSQL's data directory.
#
# Needs: release binaries (make bench builds them; or BIN_DIR), PostgreSQL on loopback, psql,
# python3, hyperfine (installed from Debian as root when missing).
# Settings: ROWS, SMALL_ROWS, RUNS (default 5), DAY_RUNS (20), INSERT_SECONDS (2500: rows per logger run /
# 200), INSERT_RUNS (8), CRON_SECONDS (3600), BATCH_SECONDS (600), PG (base URL without database, default
# postgresql://postgres:postgres@127.0.0.1:5432), BENCH_HISTORY_DB: a database to keep and
# reuse (generated once, not dropped), for running the figures again without generating;
# BENCH_HISTORY_PHASE=generate stops after generating (=rollup after the initial rollups),
# BENCH_HISTORY_ONLY="plain50 part50"
# generates only those (two generators may then run side by side on one kept database).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/common.bash
bench_binaries dl-export dl-log-to-pg dl-history
bench_needs_hyperfine
ROWS=${ROWS:-50000000}
SMALL_ROWS=${SMALL_ROWS:-10000000}
RUNS=${RUNS:-5}
SENSORS=200
PG=${PG:-postgresql://postgres:postgres@127.0.0.1:5432}
NEED_GB=${NEED_GB:-30}
db=${BENCH_HISTORY_DB:-bench_history_$suffix}
url="$PG/$db"
work=$(mktemp -d)
psql_() { psql "$url" -X -q -A -t -v ON_ERROR_STOP=1 "$@"; }
cleanup() {
  if [ -z "${BENCH_HISTORY_DB:-}" ]; then
    psql "$PG/postgres" -X -q -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

log() { echo "bench: $(date -u +%H:%M:%S) $*" >&2; }

# --- the history --------------------------------------------------------------------------

if ! psql "$PG/postgres" -X -A -t -c "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1; then
  data_dir=$(psql "$PG/postgres" -X -A -t -c "SHOW data_directory" 2>/dev/null || echo /)
  free_gb=$(df -BG --output=avail "$data_dir" 2>/dev/null | tail -1 | tr -dc 0-9)
  if [ -n "$free_gb" ] && [ "$free_gb" -lt "$NEED_GB" ]; then
    echo "bench: $free_gb GB free where PostgreSQL keeps its data; this benchmark needs about $NEED_GB GB (set ROWS lower, or NEED_GB)" >&2
    exit 1
  fi
  psql "$PG/postgres" -X -q -c "CREATE DATABASE $db" >/dev/null
fi

# T: the end of the history, a whole hour, recorded once.
psql_ -c "CREATE TABLE IF NOT EXISTS bench_meta (t timestamptz NOT NULL)"
psql_ -c "INSERT INTO bench_meta SELECT date_trunc('hour', now()) WHERE NOT EXISTS (SELECT 1 FROM bench_meta)"
T=$(psql_ -c "SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM bench_meta")

# generate SCHEMA ROWS plain|partitioned: the history in SCHEMA.numeric_data (once).
generate() {
  local schema=$1 rows=$2 layout=$3 table="$1.numeric_data"
  if [ -n "${BENCH_HISTORY_ONLY:-}" ] && [[ " $BENCH_HISTORY_ONLY " != *" $schema "* ]]; then return; fi
  if [ "$(psql_ -c "SELECT to_regclass('$schema.bench_done') IS NOT NULL")" = t ]; then return; fi
  log "generating $rows rows into $table ($layout)"
  psql_ -c "DROP SCHEMA IF EXISTS $schema CASCADE" -c "CREATE SCHEMA $schema"
  local columns='sensor_name text COLLATE "C" NOT NULL, "timestamp" timestamptz NOT NULL DEFAULT now(), value_raw double precision NOT NULL, value_cal double precision, message_id uuid'
  if [ "$layout" = plain ]; then
    psql_ -c "CREATE TABLE $table ($columns)"
  else
    # Monthly partitions from 2 years before T to 3 months after it, and a default one.
    psql_ <<SQL
CREATE TABLE $table ($columns) PARTITION BY RANGE ("timestamp");
DO \$\$
DECLARE m timestamptz;
BEGIN
  FOR m IN SELECT generate_series(date_trunc('month', t - interval '731 days', 'UTC'), t + interval '3 months', interval '1 month')
           FROM bench_meta LOOP
    EXECUTE format('CREATE TABLE %I.%I PARTITION OF $table FOR VALUES FROM (%L) TO (%L)',
      '$schema', 'numeric_data_p' || to_char(m AT TIME ZONE 'UTC', 'YYYYMMDD'), m, m + interval '1 month');
  END LOOP;
END \$\$;
CREATE TABLE $schema.numeric_data_default PARTITION OF $table DEFAULT;
-- What --init-schema --partition records: the logger then writes into the partitions.
COMMENT ON TABLE $table IS 'dripline: partitioned by month';
SQL
  fi
  local dense=$((SENSORS * 8640)) sparse_per_sensor step_ms
  [ "$rows" -gt $((dense + SENSORS * 100)) ] || { echo "bench: $rows rows: the last day alone is $dense" >&2; exit 1; }
  sparse_per_sensor=$(( (rows - dense) / SENSORS ))
  step_ms=$(( 729 * 86400 * 1000 / sparse_per_sensor ))
  psql_ <<SQL
SET work_mem = '256MB';
INSERT INTO $table
SELECT 'sensor_' || s, t - interval '1 day' + i * interval '10 s' + s * interval '1 ms',
       sin(i / 100.0) * 10 + s, CASE WHEN i % 5 = 0 THEN NULL ELSE sin(i / 100.0) * 20 END,
       gen_random_uuid()
FROM bench_meta, generate_series(0, 8639) AS i, generate_series(1, $SENSORS) AS s;
INSERT INTO $table
SELECT 'sensor_' || s, t - interval '730 days' + i * interval '$step_ms ms' + s * interval '1 ms',
       cos(i / 100.0) * 10 + s, CASE WHEN i % 5 = 0 THEN NULL ELSE cos(i / 100.0) * 20 END,
       gen_random_uuid()
FROM bench_meta, generate_series(0, $sparse_per_sensor - 1) AS i, generate_series(1, $SENSORS) AS s;
SET maintenance_work_mem = '1GB';
ALTER TABLE $table ADD CONSTRAINT numeric_data_sensor_time_message_id_key UNIQUE (sensor_name, "timestamp", message_id);
CREATE TABLE $schema.json_data (sensor_name text COLLATE "C" NOT NULL, "timestamp" timestamptz NOT NULL DEFAULT now(), payload jsonb NOT NULL, message_id uuid, UNIQUE (sensor_name, "timestamp", message_id));
VACUUM ANALYZE $table;
SQL
  psql_ -c "CREATE TABLE $schema.bench_done ()"
}

# roll_up SCHEMA: the initial rollup of a partitioned history (once, timed), a step of its own
# so that a kept database's raw history outlives a change of the rollup code (drop the
# rollup tables and bench_rollup_init to roll up again).
roll_up() {
  local schema=$1 table="$1.numeric_data"
  if [ -n "${BENCH_HISTORY_ONLY:-}" ] && [[ " $BENCH_HISTORY_ONLY " != *" $schema "* ]]; then return; fi
  if [ "$(psql_ -c "SELECT to_regclass('$schema.bench_rollup_init') IS NOT NULL")" = t ]; then return; fi
  log "initial rollup of $table"
  local start end
  start=$(date +%s.%N)
  "$bin/dl-history" rollup --init --pg-url "$url" --table "$table" -q > "$work/init.json"
  end=$(date +%s.%N)
  psql_ -c "CREATE TABLE $schema.bench_rollup_init AS SELECT $(echo "$end - $start" | bc -l)::float8 AS seconds"
  psql_ -c "VACUUM ANALYZE $schema.numeric_data_1m" -c "VACUUM ANALYZE $schema.numeric_data_1h"
}

generate plain10 "$SMALL_ROWS" plain
generate part10 "$SMALL_ROWS" partitioned
generate plain50 "$ROWS" plain
generate part50 "$ROWS" partitioned
[ "${BENCH_HISTORY_PHASE:-all}" = generate ] && { log "generated"; exit 0; }
roll_up part10
roll_up part50
[ "${BENCH_HISTORY_PHASE:-all}" = rollup ] && { log "rolled up"; exit 0; }

# --- queries ------------------------------------------------------------------------------

ago() { psql_ -c "SELECT to_char((timestamptz '$T' - interval '$1') AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"; }
day_ago=$(ago '1 day'); year_ago=$(ago '365 days'); hour_ago=$(ago '1 hour')
export_() { echo "$bin/dl-export --pg-url $url --table $1.numeric_data --until $T -o /dev/null -q ${*:2}"; }

# time_of NAME COMMAND: median, min, max (ms) of RUNS runs, into $work/NAME.
time_of() {
  hyperfine -N --style none --warmup 1 --runs "$RUNS" --export-json "$work/$1.json" "$2" >/dev/null 2>&1 \
    || { echo "bench: failed: $2" >&2; $2 >&2 || true; exit 1; }
  python3 - "$work/$1.json" > "$work/$1" <<'PY'
import json, statistics, sys
t = json.load(open(sys.argv[1]))["results"][0]["times"]
print("%.1f %.1f %.1f" % (statistics.median(t) * 1000, min(t) * 1000, max(t) * 1000))
PY
}
ms() { read -r median lo hi < "$work/$1"; printf '%8.1f ms (%.1f–%.1f)' "$median" "$lo" "$hi"; }
median_ms() { cut -d' ' -f1 "$work/$1"; }

# The last day of one sensor reads a heap page per row (the logger interleaves 200 sensors), so
# its time is that of 8 640 cached page visits and swings with whatever else the 2 cores do:
# DAY_RUNS runs (default 20), and the buffers the query touches (EXPLAIN ANALYZE), which do not
# swing, beside them.
day_buffers() {
  psql_ -c "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) SELECT sensor_name, \"timestamp\", value_raw, value_cal FROM $1.numeric_data WHERE sensor_name = 'sensor_17' AND \"timestamp\" >= '$day_ago' AND \"timestamp\" < '$T' ORDER BY \"timestamp\"" |
    python3 -c 'import json, sys; p = json.load(sys.stdin)[0]["Plan"]; print(p["Shared Hit Blocks"] + p["Shared Read Blocks"])' > "$work/buffers.$1"
}
log "timing exports ($RUNS runs each, the last day ${DAY_RUNS:-20})"
for schema in plain10 part10 plain50 part50; do
  RUNS=${DAY_RUNS:-20} time_of "day.$schema" "$(export_ $schema --sensor sensor_17 --since $day_ago)"
  day_buffers "$schema"
  time_of "year.$schema" "$(export_ $schema --sensor sensor_17 --since $year_ago --every 1h --agg mean,min,max,count)"
  time_of "hour.$schema" "$(export_ $schema --since $hour_ago)"
done
time_of "year.part50.raw" "$(export_ part50 --sensor sensor_17 --since $year_ago --every 1h --agg mean,min,max,count --no-rollup)"
time_of "allyear.part50" "$(export_ part50 --since $year_ago --every 1h --agg mean)"

# The same answer from rollups and raw rows (the bench's own check).
for args in "--sensor sensor_17 --since $year_ago --every 1h --agg mean,min,max,first,last,count" \
            "--since $day_ago --every 15m --agg mean,first,last,count"; do
  cmp -s <($bin/dl-export --pg-url "$url" --table part50.numeric_data --until "$T" $args) \
         <($bin/dl-export --pg-url "$url" --table part50.numeric_data --until "$T" $args --no-rollup) \
    || { echo "bench: rollups and raw rows disagree for: $args" >&2; exit 1; }
done

# --- the logger, and keeping the rollups --------------------------------------------------

# alerts FILE START_SECONDS_AFTER_T SECONDS: 200 sensors at 1 Hz from T + START.
alerts() {
  python3 - "$T" "$2" "$3" "$SENSORS" > "$1" <<'PY'
import sys, datetime
t0 = datetime.datetime.strptime(sys.argv[1], "%Y-%m-%dT%H:%M:%SZ")
start, seconds, sensors = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
out = sys.stdout
for i in range(seconds):
    stamp = (t0 + datetime.timedelta(seconds=start + i)).strftime("%Y-%m-%dT%H:%M:%S")
    for s in range(1, sensors + 1):
        out.write('{"routing_key":"sensor_value.sensor_%d","timestamp":"%s.%06dZ","payload":{"value_raw":%d.25,"value_cal":%d.5}}\n'
                  % (s, stamp, s, i, s))
PY
}
# load TABLE FILE: seconds the logger takes to store FILE.
load() {
  local start end
  start=$(date +%s.%N)
  "$bin/dl-log-to-pg" --stdin --pg-url "$url" --table "$1" -q < "$2"
  end=$(date +%s.%N)
  echo "$end - $start" | bc -l
}
# pg_cpu: CPU seconds PostgreSQL's processes have used so far: user and system time of each,
# and of its reaped children (the postmaster's), so that a backend which exited still counts.
pg_cpu() {
  local ticks=0 pid stat
  for pid in $(pgrep -x postgres); do
    stat=$(cut -d' ' -f14-17 "/proc/$pid/stat" 2>/dev/null) || continue
    ticks=$(( ticks + $(echo "$stat" | tr ' ' '+') ))
  done
  echo "$ticks / $(getconf CLK_TCK)" | bc -l
}
# load_measured TABLE FILE ROWS NAME: load, adding its rows/s, and PostgreSQL's and the logger's
# CPU µs per row, to $work/{rate,pgcpu,logcpu}.NAME. The wall rate swings with whatever else
# the 2 cores do; the CPU per row much less.
load_measured() {
  local cpu_before start end user system
  cpu_before=$(pg_cpu)
  start=$(date +%s.%N)
  /usr/bin/time -f '%U %S' -o "$work/logger.time" \
    "$bin/dl-log-to-pg" --stdin --pg-url "$url" --table "$1" -q < "$2"
  end=$(date +%s.%N)
  echo "$3 / ($end - $start)" | bc -l >> "$work/rate.$4"
  echo "($(pg_cpu) - $cpu_before) * 1000000 / $3" | bc -l >> "$work/pgcpu.$4"
  read -r user system < "$work/logger.time"
  echo "($user + $system) * 1000000 / $3" | bc -l >> "$work/logcpu.$4"
}
refresh() { "$bin/dl-history" rollup --pg-url "$url" --table "$1" -q; }

insert_seconds=${INSERT_SECONDS:-2500}   # 500 000 rows per run
insert_runs=${INSERT_RUNS:-8}
# The logger's rows go to days after T that no earlier run on a kept database wrote (their
# alerts would be duplicates, written another way): day $first_day on, one day per run, then
# the cron hour and the batches.
psql_ -c "CREATE TABLE IF NOT EXISTS bench_next_day (day int NOT NULL)"
psql_ -c "INSERT INTO bench_next_day SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM bench_next_day)"
first_day=$(psql_ -c "UPDATE bench_next_day SET day = day + $insert_runs + 2 RETURNING day - $insert_runs - 2")
log "logger insert rate ($insert_seconds s of 200 sensors at 1 Hz per run, $insert_runs runs each)"
# The two tables take turns, each first in every other run: a checkpoint or autovacuum that
# lands in one run then burdens both alike (with 3 runs in a fixed order, the spread of one
# table's rate was wider than the difference between the two).
for run in $(seq 1 "$insert_runs"); do
  alerts "$work/insert.jsonl" $(( (first_day + run - 1) * 86400 )) "$insert_seconds"
  order="plain50 part50"; [ $((run % 2)) = 0 ] && order="part50 plain50"
  for schema in $order; do
    load_measured "$schema.numeric_data" "$work/insert.jsonl" $(( insert_seconds * SENSORS )) "$schema"
  done
  refresh part50.numeric_data > /dev/null
done

log "rollup cost: one cron run after an hour at 1 Hz, against a refresh after every batch"
alerts "$work/hour.jsonl" $(( (first_day + insert_runs) * 86400 )) "${CRON_SECONDS:-3600}"
load part50.numeric_data "$work/hour.jsonl" > /dev/null
start=$(date +%s.%N)
refresh part50.numeric_data > "$work/cron.json"
end=$(date +%s.%N)
cron_s=$(echo "$end - $start" | bc -l)
# After every batch: 10 minutes at 1 Hz in logger batches of 5000 rows (25 s), each followed
# by a refresh; the refreshes' time, less an empty refresh's (process start, connection).
alerts "$work/ten.jsonl" $(( (first_day + insert_runs + 1) * 86400 )) "${BATCH_SECONDS:-600}"
split -l 5000 "$work/ten.jsonl" "$work/batch."
empty_s=0
for _ in 1 2 3; do
  start=$(date +%s.%N); refresh part50.numeric_data > /dev/null; end=$(date +%s.%N)
  empty_s=$(echo "$empty_s + ($end - $start) / 3" | bc -l)
done
per_batch_s=0; batches=0
for file in "$work"/batch.*; do
  load part50.numeric_data "$file" > /dev/null
  start=$(date +%s.%N); refresh part50.numeric_data > /dev/null; end=$(date +%s.%N)
  per_batch_s=$(echo "$per_batch_s + ($end - $start) - $empty_s" | bc -l)
  batches=$((batches + 1))
done
per_batch_hour_s=$(echo "$per_batch_s * 3600 / ${BATCH_SECONDS:-600}" | bc -l)

# --- report -------------------------------------------------------------------------------

size() { psql_ -c "SELECT pg_total_relation_size('$1') + coalesce((SELECT sum(pg_total_relation_size(relid)) FROM pg_partition_tree('$1') WHERE relid <> '$1'::regclass), 0)"; }
gb() { printf '%.2f' "$(echo "$1 / 1024^3" | bc -l)"; }
rows_of() { psql_ -c "SELECT count(*) FROM $1"; }
median_of() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
# range_of [FORMAT]: "min–max" of the numbers on stdin (FORMAT default %.0f).
range_of() { sort -n | awk -v f="${1:-%.0f}" 'NR==1{min=$1} {max=$1} END {printf f "–" f, min, max}'; }

echo
echo "history: $SENSORS sensors, 2 years to $T; RUNS=$RUNS ($(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)); dl-export wall time incl. start-up"
printf '%-40s %-28s %-28s %8s\n' "query" "plain table" "partitioned + rollups" "ratio"
for size_ in 10 50; do
  for q in day year hour; do
    case $q in
      day) what="one sensor, last day, CSV";;
      year) what="one sensor, a year at 1 h";;
      hour) what="all sensors, last hour, CSV";;
    esac
    printf '%-40s %-28s %-28s %7.2fx\n' "$what (${size_} M)" "$(ms $q.plain$size_)" "$(ms $q.part$size_)" \
      "$(echo "$(median_ms $q.plain$size_) / $(median_ms $q.part$size_)" | bc -l)"
  done
done
printf '%-40s %-28s\n' "all sensors, a year at 1 h (50 M)" "partitioned: $(ms allyear.part50)"
printf '%-40s %-28s\n' "one sensor, a year at 1 h, --no-rollup" "partitioned: $(ms year.part50.raw)"
for layout in plain part; do
  printf 'last day 50 M / 10 M (%s): %.2f in time, %s / %s buffers   ' "$layout" \
    "$(echo "$(median_ms day.${layout}50) / $(median_ms day.${layout}10)" | bc -l)" \
    "$(cat "$work/buffers.${layout}50")" "$(cat "$work/buffers.${layout}10")"
done
echo
plain_rate=$(median_of < "$work/rate.plain50"); part_rate=$(median_of < "$work/rate.part50")
printf '%-40s %-28s %-28s %7.2fx\n' "dl-log-to-pg --stdin (rows/s, 50 M)" \
  "$(printf '%.0f (%s)' "$plain_rate" "$(range_of < "$work/rate.plain50")")" \
  "$(printf '%.0f (%s)' "$part_rate" "$(range_of < "$work/rate.part50")")" "$(echo "$part_rate / $plain_rate" | bc -l)"
# The two loads of one run are back to back, so their ratio is spared the drift between runs.
printf '%-40s %-28s\n' "  partitioned / plain, per run" \
  "$(paste "$work/rate.part50" "$work/rate.plain50" | awk '{print $1 / $2}' > "$work/ratios"
     printf '%.3f (%s)' "$(median_of < "$work/ratios")" "$(range_of %.2f < "$work/ratios")")"
for what in pgcpu logcpu; do
  plain_cpu=$(median_of < "$work/$what.plain50"); part_cpu=$(median_of < "$work/$what.part50")
  printf '%-40s %-28s %-28s %7.2fx\n' \
    "$([ $what = pgcpu ] && echo "  PostgreSQL CPU per row (µs)" || echo "  dl-log-to-pg CPU per row (µs)")" \
    "$(printf '%.2f (%s)' "$plain_cpu" "$(range_of %.2f < "$work/$what.plain50")")" \
    "$(printf '%.2f (%s)' "$part_cpu" "$(range_of %.2f < "$work/$what.part50")")" "$(echo "$part_cpu / $plain_cpu" | bc -l)"
done
echo "disk (pg_total_relation_size):"
for schema in plain10 part10 plain50 part50; do
  raw=$(size $schema.numeric_data)
  line="  $schema: raw $(gb "$raw") GB ($(rows_of $schema.numeric_data) rows)"
  if [ "$(psql_ -c "SELECT to_regclass('$schema.numeric_data_1m') IS NOT NULL")" = t ]; then
    line="$line, 1m rollup $(gb "$(size $schema.numeric_data_1m)") GB ($(rows_of $schema.numeric_data_1m) rows), 1h rollup $(gb "$(size $schema.numeric_data_1h)") GB ($(rows_of $schema.numeric_data_1h) rows); initial rollup $(psql_ -c "SELECT coalesce(round(seconds)::text || ' s', 'not timed') FROM $schema.bench_rollup_init")"
  fi
  echo "$line"
done
printf 'rollups for %d s of %d sensors at 1 Hz: one cron run %.2f s; a refresh after each of %d batches of 5000 rows (%d s of data) %.2f s beyond an empty refresh (%.3f s), so %.2f s per hour in the logger\n' \
  "${CRON_SECONDS:-3600}" "$SENSORS" "$cron_s" "$batches" "${BATCH_SECONDS:-600}" "$per_batch_s" "$empty_s" "$per_batch_hour_s"
echo "cron run: $(cat "$work/cron.json")"
echo "targets: a year at 1 h for one sensor < 100 ms; last day 50 M / 10 M within 1.2; insert rate partitioned >= plain"
