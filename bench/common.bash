# Shared by the bench/*.sh scripts (sourced, not run: `make bench` runs only *.sh).
#
# bench_binaries TOOL…   sets $bin to BIN_DIR (default: the release build `make bench` makes)
#                        and stops with one line when a tool is not built there.
# bench_needs_hyperfine  installs hyperfine and GNU time from Debian when missing (as root).
# bench_needs_gnu_time   installs GNU time (/usr/bin/time, for CPU time and peak RSS) when
#                        missing (as root), else stops with one line.
# bench_psql SQL         runs SQL on the local test database, unaligned, stopping on error.
# bench_logger_written PORT     the rows a dl-log-to-pg with --metrics-addr 127.0.0.1:PORT
#                        has written (its dl_log_to_pg_written_rows_total).
# bench_logger_wait_ready PORT  waits up to 30 s for that logger's /readyz, else stops.
# $suffix                a random word for names no other run or test uses.

bench_binaries() {
	bin="${BIN_DIR:-${CARGO_TARGET_DIR:-target}/release}"
	local tool
	for tool in "$@"; do
		[ -x "$bin/$tool" ] || {
			echo "bench: $bin/$tool missing: run cargo build --release --workspace (or set BIN_DIR)" >&2
			exit 1
		}
	done
}

bench_needs_hyperfine() {
	if ! command -v hyperfine >/dev/null || [ ! -x /usr/bin/time ]; then
		if [ "$(id -u)" = 0 ]; then
			apt-get update -qq >/dev/null && apt-get install -y -qq hyperfine time >/dev/null
		else
			echo "bench: install hyperfine and time: sudo apt-get install hyperfine time" >&2
			exit 1
		fi
	fi
}

bench_needs_gnu_time() {
	[ -x /usr/bin/time ] && return 0
	if [ "$(id -u)" = 0 ]; then
		apt-get update -qq >/dev/null && apt-get install -y -qq time >/dev/null
	else
		echo "bench: install GNU time: sudo apt-get install time" >&2
		exit 1
	fi
}

bench_logger_written() {
	curl -s "127.0.0.1:$1/metrics" | awk '/^dl_log_to_pg_written_rows_total/ {print $2}'
}

bench_logger_wait_ready() {
	local _
	for _ in $(seq 300); do
		[ "$(curl -s -o /dev/null -w '%{http_code}' "127.0.0.1:$1/readyz")" = 200 ] && return 0
		sleep 0.1
	done
	echo "bench: dl-log-to-pg did not become ready" >&2
	exit 1
}

bench_psql() {
	psql -X -q -A -t -v ON_ERROR_STOP=1 -h 127.0.0.1 -U postgres -d test -c "$1"
}

suffix=$(head -c4 /dev/urandom | od -An -tx1 | tr -d ' \n')
