#!/usr/bin/env bash
# Benchmark of dl-export (issue 4): rows per second exporting the same 5 000 000 rows as CSV and
# as JSON lines with dl-export, side by side with psql's `\copy (SELECT …) TO STDOUT WITH CSV`
# running the very SELECT dl-export runs (from `dl-export --print-query`); median and spread over
# RUNS runs (default 3, interleaved), and peak RSS of each from GNU time's -v report.
# A benchmark, not a test: it prints a table and exits 0. Targets (issue 4): CSV ≥ psql
# (ratio ≥ 1.0), JSON lines ≥ 0.7 of psql, dl-export RSS ≤ 30 MiB.
#
# Needs: a release dl-export (make bench builds it; or cargo build --release -p dl-export),
# PostgreSQL at $PG_URL (default postgresql://postgres:postgres@127.0.0.1:5432/postgres, what
# scripts/services.sh sets up; the benchmark works in a schema of its own), psql, and GNU time
# as /usr/bin/time — installed here from Debian's `time` package when missing and we are root.
# Settings: ROWS (default 5000000), RUNS (default 3), PG_URL.
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${ROWS:-5000000}
RUNS=${RUNS:-3}
PG_URL=${PG_URL:-postgresql://postgres:postgres@127.0.0.1:5432/postgres}
. bench/common.bash
bench_binaries dl-export
bin="$bin/dl-export"
command -v psql >/dev/null || { echo "bench: psql missing (apt-get install postgresql-client)" >&2; exit 1; }
# GNU time, for peak RSS (the shell's `time` keyword cannot report it).
bench_needs_gnu_time

work=$(mktemp -d)
schema="bench_export_$(head -c4 /dev/urandom | od -An -tx1 | tr -d ' \n')"
table="$schema.numeric_data"
sql() { psql "$PG_URL" -X -q -v ON_ERROR_STOP=1 "$@"; }
cleanup() { sql -c "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT

# The dripline table (PROTOCOL.md §A6.4) with the index dripline-store's init_schema adds;
# 10 sensors, one row per sensor per second, every 5th value_cal NULL.
sensors=10
seconds=$(( (ROWS + sensors - 1) / sensors ))
echo "bench: generating $ROWS rows in $table …" >&2
sql >/dev/null <<SQL
CREATE SCHEMA $schema;
CREATE TABLE $table (
    sensor_name text NOT NULL,
    "timestamp" timestamp with time zone NOT NULL DEFAULT now(),
    value_raw double precision NOT NULL,
    value_cal double precision
);
INSERT INTO $table
SELECT 'sensor_' || s, timestamptz '2026-11-01 00:00:00+00' + i * interval '1 second' + s * interval '1 millisecond',
       i * 0.001 + s, CASE WHEN i % 5 = 0 THEN NULL ELSE sin(i) * 100 END
FROM generate_series(0, $seconds - 1) AS i, generate_series(1, $sensors) AS s
LIMIT $ROWS;
CREATE INDEX ON $table (sensor_name, "timestamp");
VACUUM ANALYZE $table;
SQL

export_args=(--pg-url "$PG_URL" --table "$table" --no-progress --until now)
query=$("$bin" "${export_args[@]}" --print-query)
echo "bench: query: $query" >&2

# run NAME COMMAND…: one timed run, stdout to /dev/null; appends "seconds rss_kib" to $work/NAME.
run() {
  local name=$1; shift
  local start end
  start=$(date +%s.%N)
  /usr/bin/time -v -o "$work/time.txt" "$@" >/dev/null
  end=$(date +%s.%N)
  local rss
  rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$work/time.txt")
  awk -v s="$start" -v e="$end" -v r="$rss" 'BEGIN { printf "%.4f %d\n", e - s, r }' >> "$work/$name"
}

methods=(psql dl-export-csv dl-export-jsonl)
# Warm the cache once, untimed.
psql "$PG_URL" -X -q -c "\\copy ($query) TO STDOUT WITH CSV" >/dev/null
for i in $(seq "$RUNS"); do
  echo "bench: run $i/$RUNS" >&2
  run psql psql "$PG_URL" -X -q -c "\\copy ($query) TO STDOUT WITH CSV"
  run dl-export-csv "$bin" "${export_args[@]}" --format csv
  run dl-export-jsonl "$bin" "${export_args[@]}" --format jsonl
done

# median/min/max of column 1 (seconds) and max of column 2 (RSS) per method.
stats() {
  sort -n "$work/$1" | awk '{ t[NR] = $1; if ($2 > rss) rss = $2 }
    END { n = NR; m = (n % 2) ? t[(n + 1) / 2] : (t[n / 2] + t[n / 2 + 1]) / 2;
          printf "%.3f %.3f %.3f %d\n", m, t[1], t[n], rss }'
}
read -r psql_median _ _ _ < <(stats psql)

echo
echo "dl-export benchmark: $ROWS rows, $RUNS runs each (interleaved), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-17s %10s %19s %12s %9s %12s %9s\n' method "median s" "min..max s" "rows/s" spread "peak RSS" "vs psql"
for method in "${methods[@]}"; do
  read -r median low high rss < <(stats "$method")
  awk -v name="$method" -v rows="$ROWS" -v m="$median" -v lo="$low" -v hi="$high" -v rss="$rss" -v p="$psql_median" \
    'BEGIN { printf "%-17s %10.3f %8.3f..%-9.3f %12.0f %8.1f%% %8.1f MiB %8.2f\n",
             name, m, lo, hi, rows / m, 100 * (hi - lo) / m, rss / 1024, p / m }'
done
echo "(rows/s from the median; spread = (max - min) / median; vs psql = psql time / this time, >1 is faster)"
