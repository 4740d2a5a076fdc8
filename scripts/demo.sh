#!/usr/bin/env bash
# `make demo`: the main job of dripline-tools in one minute. Makes sure RabbitMQ and PostgreSQL
# run on loopback (scripts/services.sh), builds, starts dl-serve with the controls-guide
# key-value store (examples/local-mesh/key-value-store.yaml: service my_store, endpoints
# peaches, chips, waffles), shows dl-get, dl-set and dl-cmd against it, then stops dl-serve.
# Whatever happens (failure, Ctrl-C), nothing it started is left running.
set -euo pipefail
cd "$(dirname "$0")/.."

config=examples/local-mesh/key-value-store.yaml
service=my_store

if ! command -v cargo >/dev/null; then
	echo "demo: cargo not found: install Rust (https://rustup.rs), then run make demo again" >&2
	exit 1
fi

bash scripts/services.sh
echo "demo: building (cargo build --workspace)"
cargo build --workspace --quiet
target_dir=$(cargo metadata --format-version 1 --no-deps |
	sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
export PATH="$target_dir/debug:$PATH"
# The demo talks to the local broker as guest, whatever the caller's environment says.
unset DRIPLINE_BROKER DRIPLINE_BROKER_PORT DRIPLINE_AMQP_URL DRIPLINE_USER DRIPLINE_PASSWORD

work=$(mktemp -d)
serve_pid=
stop() {
	if [ -n "$serve_pid" ] && kill -0 "$serve_pid" 2>/dev/null; then
		kill -TERM "$serve_pid" 2>/dev/null || true
		for _ in $(seq 50); do
			kill -0 "$serve_pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$serve_pid" 2>/dev/null || true
		wait "$serve_pid" 2>/dev/null || true
	fi
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

echo "demo: starting dl-serve -c $config"
dl-serve -c "$config" --heartbeat-interval-s 0 >"$work/serve.log" 2>&1 &
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
echo "demo: $service is up (pid $serve_pid); the programs below are in $target_dir/debug"

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
echo "demo: done; stopping dl-serve"
