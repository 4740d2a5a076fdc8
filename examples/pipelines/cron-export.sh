#!/usr/bin/env bash
# Incremental export of dripline sensor history into dated files, for cron.
#
# Each run writes the rows logged since the previous run into one new file,
#   $EXPORT_DIR/YYYY-MM-DD/sensors-YYYYMMDDTHHMMSSZ.csv.gz   (the run's UTC date and time)
# and prints its path; a run with no new row writes nothing and prints nothing. dl-export's
# state file (--state) makes the runs line up: no row is exported twice and none is skipped,
# also when a run fails or the machine was off for a while (the next run catches up). Runs that
# would overlap (a slow export, a cron too eager) wait for each other on a lock.
#
# crontab line: every 15 minutes, as a user that may write /srv/dripline/export, with this
# script copied to /usr/local/bin:
#
#   */15 * * * *  EXPORT_DIR=/srv/dripline/export DATABASE_URL=postgresql://reader@db.example/sensor_data /usr/local/bin/cron-export.sh --table numeric_data >>/var/log/dl-export.log 2>&1
#
# Settings, from the environment:
#   EXPORT_DIR   where the dated directories go (required)
#   STATE_FILE   dl-export's state file [default: $EXPORT_DIR/.dl-export.state]
#   SETTLE       leave out the newest rows, younger than this, so that rows logged late are not
#                missed (dl-export --until) [default: 1m]
#   FORMAT       csv, tsv or jsonl [default: csv]
#   GZIP         1: gzip the files (.gz), 0: do not [default: 1]
# The database comes from dl-export's own settings: DATABASE_URL, PGHOST…, POSTGRES_USER and
# POSTGRES_PASSWORD, or flags. Arguments are passed to dl-export as they are (--table, --sensor,
# --match, --every, --pg-url, …); keep them the same from run to run, the state file belongs to
# one export job (dl-export checks the table and --every).
#
# Exit status: 0 (with or without new rows), else dl-export's (e.g. 69 database unreachable,
# 73 cannot write), or 64 when EXPORT_DIR is not set.
set -euo pipefail

if [ -z "${EXPORT_DIR:-}" ]; then
	echo "cron-export.sh: set EXPORT_DIR to the directory the dated exports go to" >&2
	exit 64
fi
state=${STATE_FILE:-$EXPORT_DIR/.dl-export.state}
settle=${SETTLE:-1m}
format=${FORMAT:-csv}
gzip=${GZIP:-1}

mkdir -p "$EXPORT_DIR" "$(dirname "$state")"
# One run at a time per state file.
exec 9>"$state.lock"
flock 9

now=$(date -u +%Y%m%dT%H%M%SZ)
day=$(date -u +%Y-%m-%d)
mkdir -p "$EXPORT_DIR/$day"
suffix=$format
compress=()
if [ "$gzip" = 1 ]; then
	suffix=$format.gz
	compress=(--gzip)
fi
file=$EXPORT_DIR/$day/sensors-$now.$suffix
n=1
while [ -e "$file" ]; do # two runs within one second
	n=$((n + 1))
	file=$EXPORT_DIR/$day/sensors-$now-$n.$suffix
done

status=0
dl-export --state "$state" --until "$settle" --format "$format" "${compress[@]}" \
	--fail-if-empty --no-progress -o "$file" "$@" || status=$?
case $status in
0) printf '%s\n' "$file" ;;
2) rm -f "$file" ;; # no new row: no file (dl-export wrote just a header)
*)
	rm -f "$file"
	exit "$status"
	;;
esac
