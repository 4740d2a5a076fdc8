#!/usr/bin/env bash
# `make demo`: the main job of dripline-tools in about a minute. Makes sure RabbitMQ and
# PostgreSQL run on loopback (scripts/services.sh --runtime-only: no test-only packages),
# builds the programs, starts dl-serve with the controls-guide key-value store
# (examples/local-mesh/key-value-store.yaml: service my_store, endpoints peaches, chips,
# waffles; here peaches logs its value every second), shows requests (dl-get, dl-set, dl-cmd),
# then the data path: dl-listen shows a few sensor_value alerts, dl-listen | dl-log-to-pg
# --init-schema stores them in a demo database while a few dl-sets change peaches, dl-export
# reads them back, and dl-plot draws them in the terminal and into a PNG whose path it prints.
# Whatever happens (failure, Ctrl-C), nothing it started is left running.
#
# Environment: DEMO_DATABASE (default dripline_demo; rows of earlier runs stay there, the
# export takes this run's), DEMO_PLOT (default ${TMPDIR:-/tmp}/dripline-demo/peaches.png),
# DEMO_BIN_DIR (use the programs already built there instead of building).
set -euo pipefail
cd "$(dirname "$0")/.."

config=examples/local-mesh/key-value-store.yaml
service=my_store
database=${DEMO_DATABASE:-dripline_demo}
plot=${DEMO_PLOT:-${TMPDIR:-/tmp}/dripline-demo/peaches.png}

if [ -z "${DEMO_BIN_DIR:-}" ] && ! command -v cargo >/dev/null; then
	echo "demo: cargo not found: install Rust (https://rustup.rs), then run make demo again" >&2
	exit 1
fi

bash scripts/services.sh --runtime-only
if [ -n "${DEMO_BIN_DIR:-}" ]; then
	bin_dir=$DEMO_BIN_DIR
else
	echo "demo: building (cargo build --workspace)"
	cargo build --workspace --quiet
	bin_dir=$(cargo metadata --format-version 1 --no-deps |
		sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')/debug
fi
built=$SECONDS
export PATH="$bin_dir:$PATH"
# The demo talks to the local broker as guest, whatever the caller's environment says.
unset DRIPLINE_BROKER DRIPLINE_BROKER_PORT DRIPLINE_AMQP_URL DRIPLINE_USER DRIPLINE_PASSWORD
# ... and to the local PostgreSQL as postgres (the tools' defaults).
unset DATABASE_URL PGHOST PGPORT PGDATABASE PGUSER PGPASSWORD PGSERVICE POSTGRES_USER \
	POSTGRES_PASSWORD

work=$(mktemp -d)
serve_pid=
listen_pid=
logger_pid=
# stop_pid PID: SIGTERM, up to 5 s to finish, then SIGKILL; reaped either way.
stop_pid() {
	[ -n "$1" ] || return 0
	if kill -0 "$1" 2>/dev/null; then
		kill -TERM "$1" 2>/dev/null || true
		for _ in $(seq 50); do
			kill -0 "$1" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$1" 2>/dev/null || true
	fi
	wait "$1" 2>/dev/null || true
}
stop() {
	stop_pid "$listen_pid"
	stop_pid "$logger_pid"
	stop_pid "$serve_pid"
	rm -rf "$work"
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Show a command as a reader would type it, then run it. `show_status N CMD` expects status N.
show() {
	printf '\n$ %s\n' "$1"
	bash -c "$1"
}
show_status() {
	local want=$1 status=0
	printf '\n$ %s\n' "$2"
	bash -c "$2" || status=$?
	if [ "$status" != "$want" ]; then
		echo "demo: expected exit status $want, got $status" >&2
		return 1
	fi
	echo "(exit status $status)"
}

if dl-cmd "$service" -s ping -t 2s >/dev/null 2>&1; then
	echo "demo: a service named $service already answers on this broker; stop it first" >&2
	exit 1
fi

# The controls-guide store, with peaches logging every second instead of every ten.
sed 's/^    log_interval: 10$/    log_interval: 1/' "$config" >"$work/store.yaml"
grep -q '^    log_interval: 1$' "$work/store.yaml" || {
	echo "demo: $config no longer has peaches' log_interval: 10" >&2
	exit 1
}
echo "demo: starting dl-serve -c $config (peaches logging every second)"
dl-serve -c "$work/store.yaml" --heartbeat-interval-s 0 >"$work/serve.log" 2>&1 &
serve_pid=$!

for attempt in $(seq 100); do
	if ! kill -0 "$serve_pid" 2>/dev/null; then
		status=0
		wait "$serve_pid" || status=$?
		serve_pid=
		echo "demo: dl-serve exited (status $status) before answering:" >&2
		cat "$work/serve.log" >&2
		[ "$status" = 69 ] && echo "demo: is another $service already running on this broker?" >&2
		exit 1
	fi
	dl-cmd "$service" -s ping -t 1s >/dev/null 2>&1 && break
	if [ "$attempt" = 100 ]; then
		echo "demo: $service did not answer a ping; dl-serve said:" >&2
		cat "$work/serve.log" >&2
		exit 1
	fi
	sleep 0.2
done
echo "demo: $service is up (pid $serve_pid); the programs below are in $bin_dir"

show "dl-get peaches"
show "dl-get peaches --field value_cal"
show "dl-set peaches 500"
show "dl-get peaches --full --pretty"
# Lockout is per endpoint (as in dripline-cpp): lock peaches, then sets need its key.
printf '\n$ %s\n' "dl-cmd peaches -s lock --field key"
key=$(dl-cmd peaches -s lock --field key)
echo "$key"
show_status 3 "dl-set peaches 600                 # no key: refused (307), exit status 3"
show "dl-set peaches 600 -k $key"
show "dl-get peaches -s is-locked --field is_locked"
show "dl-cmd peaches -s unlock force=true"
show "dl-cmd broadcast -s ping --broadcast -t 1s"
show "printf '{\"target\":\"peaches\"}\\n{\"target\":\"chips\"}\\n' | dl-get -"

echo
echo "demo: the data path: alerts → PostgreSQL → export → plot"
show "dl-listen sensor_value.peaches --count 3 -f text"

# Everything from here on is this run's: the export starts at this time.
start=$(date -u +%Y-%m-%dT%H:%M:%SZ)
printf '\n$ %s\n' "dl-listen 'sensor_value.#' | dl-log-to-pg --stdin --init-schema --pg-database $database &"
mkfifo "$work/alerts"
dl-listen 'sensor_value.#' >"$work/alerts" 2>"$work/listen.log" &
listen_pid=$!
dl-log-to-pg --stdin --init-schema --pg-database "$database" <"$work/alerts" 2>"$work/logger.log" &
logger_pid=$!
for value in 650 720 580 690 610; do
	sleep 2
	show "dl-set peaches $value"
done
sleep 2
# dl-listen ends on SIGTERM and closes the pipe; dl-log-to-pg then commits what it holds and
# exits by itself.
stop_pid "$listen_pid"
listen_pid=
status=0
wait "$logger_pid" || status=$?
logger_pid=
if [ "$status" != 0 ]; then
	echo "demo: dl-log-to-pg failed (status $status):" >&2
	cat "$work/logger.log" >&2
	exit 1
fi
echo "(stored; dl-log-to-pg ended with the input)"

show "dl-export --pg-database $database --sensor peaches --since $start | head -5"
show "dl-export --pg-database $database --sensor peaches --since $start --format jsonl | dl-plot --unit V --size 100x20"
mkdir -p "$(dirname "$plot")"
show "dl-export --pg-database $database --sensor peaches --since $start | dl-plot -o '$plot' --title 'make demo' --unit V"
echo
echo "demo: plot written to $plot"
echo "demo: done in $((SECONDS - built)) s after the build; stopping dl-serve"
