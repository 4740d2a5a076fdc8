#!/usr/bin/env bash
# Make sure RabbitMQ and PostgreSQL are installed and running on loopback, the way the tests and
# the demo expect them (RabbitMQ guest/guest on 127.0.0.1:5672; PostgreSQL on 127.0.0.1:5432 with
# user postgres, password postgres, the tools' defaults).
#
# As root: installs the Debian packages when missing (apt-get update once), starts what is down,
# and gives the postgres user its default password if it cannot log in over TCP.
# As anyone else: prints exactly what to run as root, and exits 1.
# The RabbitMQ management plugin is enabled too (dl-list reads its HTTP API on 15672).
# Quiet and quick when everything is already up; idempotent.
# --runtime-only: only what the programs need to run (RabbitMQ, PostgreSQL), not the packages
# only the tests use (make demo).
set -euo pipefail

runtime_only=false
[ "${1:-}" = --runtime-only ] && runtime_only=true

say() { printf 'services: %s\n' "$*" >&2; }

root=false
[ "$(id -u)" = 0 ] && root=true
need_root=()     # commands a non-root user has to run
export PATH="$PATH:/usr/sbin:/sbin"

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for() { # wait_for SECONDS DESCRIPTION COMMAND... : poll COMMAND every half second
	local limit=$1 what=$2 i
	shift 2
	for ((i = 0; i < limit * 2; i++)); do
		"$@" && return 0
		sleep 0.5
	done
	say "$what did not come up within ${limit}s"
	return 1
}

# --- packages ------------------------------------------------------------------------------
missing=()
[ -x /usr/sbin/rabbitmq-server ] || missing+=(rabbitmq-server)
{ [ -x /usr/bin/pg_ctlcluster ] && ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; } ||
	missing+=(postgresql)
# The tests also use socat and openssl (a TLS front for the broker), jq (examples/pipelines),
# zsh, fish, man and groff (tests/packaging.rs: the installed completions and man pages), and
# tmux (tests/top_tmux.rs drives dl-top in a real terminal).
if ! $runtime_only; then
	command -v socat >/dev/null || missing+=(socat)
	command -v jq >/dev/null || missing+=(jq)
	command -v openssl >/dev/null || missing+=(openssl)
	command -v zsh >/dev/null || missing+=(zsh)
	command -v fish >/dev/null || missing+=(fish)
	command -v man >/dev/null || missing+=(man-db)
	command -v groff >/dev/null || missing+=(groff-base)
	command -v tmux >/dev/null || missing+=(tmux)
fi
if [ ${#missing[@]} -gt 0 ]; then
	if $root; then
		say "installing ${missing[*]}"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq
		apt-get install -y -qq "${missing[@]}" >/dev/null
	else
		need_root+=("apt-get update && apt-get install -y ${missing[*]}")
	fi
fi

# --- RabbitMQ ------------------------------------------------------------------------------
if ! port_open 5672; then
	if $root && [ -x /usr/sbin/rabbitmq-server ]; then
		say "starting RabbitMQ"
		log=$(mktemp)
		# Already booting? then this start fails harmlessly and await_startup still waits.
		rabbitmq-server -detached >"$log" 2>&1 || true
		if ! wait_for 120 "RabbitMQ (127.0.0.1:5672)" port_open 5672; then
			cat "$log" >&2
			rm -f "$log"
			exit 1
		fi
		rm -f "$log"
		rabbitmqctl -q await_startup --timeout 60 >/dev/null
	else
		need_root+=("rabbitmq-server -detached && rabbitmqctl await_startup")
	fi
fi

# The management plugin (shipped in Debian's package) serves the HTTP API on 15672 that dl-list
# reads for each service queue's bindings and consumers; the tests use it when it answers.
if port_open 5672 && ! port_open 15672; then
	if $root && command -v rabbitmq-plugins >/dev/null; then
		say "enabling the RabbitMQ management plugin (HTTP API on 15672)"
		rabbitmq-plugins enable -q rabbitmq_management >/dev/null
		wait_for 60 "RabbitMQ management API (127.0.0.1:15672)" port_open 15672 || exit 1
	else
		need_root+=("rabbitmq-plugins enable rabbitmq_management")
	fi
fi

# --- PostgreSQL ----------------------------------------------------------------------------
pg_ready() { pg_isready -q -h 127.0.0.1 -p 5432 -t 2; }
if ! pg_ready; then
	version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1 || true)
	if $root && [ -z "$version" ] && [ -x /usr/bin/pg_createcluster ]; then
		version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
		say "creating PostgreSQL cluster $version/main"
		pg_createcluster "$version" main >/dev/null
	fi
	if $root && [ -n "$version" ]; then
		say "starting PostgreSQL $version/main"
		pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
		wait_for 60 "PostgreSQL (127.0.0.1:5432)" pg_ready || exit 1
	else
		need_root+=("pg_ctlcluster --skip-systemctl-redirect ${version:-<version>} main start")
	fi
fi

# The tools default to user postgres / password postgres; a fresh Debian cluster has no
# password for postgres (peer login only), so give it one when TCP login fails.
if pg_ready && ! PGPASSWORD=postgres PGCONNECT_TIMEOUT=5 psql -h 127.0.0.1 -U postgres -d postgres \
	-tAc 'select 1' >/dev/null 2>&1; then
	if $root; then
		say "setting the password of PostgreSQL user postgres to 'postgres' (loopback test default)"
		su postgres -s /bin/sh -c "psql -q -c \"ALTER USER postgres PASSWORD 'postgres'\"" >/dev/null
	else
		need_root+=("su postgres -c \"psql -c \\\"ALTER USER postgres PASSWORD 'postgres'\\\"\"")
	fi
fi

if [ ${#need_root[@]} -gt 0 ]; then
	say "RabbitMQ and PostgreSQL must be installed and running on loopback; run as root:"
	for command in "${need_root[@]}"; do
		printf '    %s\n' "$command" >&2
	done
	say "(or run this script as root: sudo $0)"
	exit 1
fi
