# dripline-tools: build, test, demo, bench, man pages, install.  `make help` lists the targets.
#
# Binaries are looked for where cargo puts them (CARGO_TARGET_DIR, .cargo/config, or target/).

CARGO   ?= cargo
PREFIX  ?= /usr/local
DESTDIR ?=
BINDIR  ?= $(PREFIX)/bin
MANDIR  ?= $(PREFIX)/share/man/man1
# Where bash-completion, zsh and fish look for completions under a prefix.
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR  ?= $(PREFIX)/share/zsh/site-functions
FISHCOMPDIR ?= $(PREFIX)/share/fish/vendor_completions.d

# Every tools/<program> crate builds the program of the same name.
PROGRAMS := $(notdir $(wildcard tools/dl-*))
# Evaluated only by the targets that need it.
TARGET_DIR = $(shell $(CARGO) metadata --format-version 1 --no-deps | \
	sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')

.DEFAULT_GOAL := build

.PHONY: help build test cargo-test fmt-check clippy chart-check image-check services demo bench bench-bin man completions install

help:
	@echo 'make build      build everything (cargo build --workspace --all-targets)'
	@echo 'make test       fmt check, clippy, then every test against local RabbitMQ + PostgreSQL'
	@echo 'make demo       dl-serve with examples/local-mesh: requests, then alerts → PostgreSQL → dl-export → dl-plot'
	@echo 'make bench      release multi-call build, then every bench/*.sh (each prints its own table)'
	@echo 'make man        regenerate man/*.1 from the clap definitions'
	@echo 'make completions regenerate completions/{bash,zsh,fish} from the clap definitions'
	@echo 'make chart-check helm lint + template + Kubernetes schema validation of charts/ and examples/'
	@echo 'make install    programs to $$(PREFIX)/bin, man pages to $$(PREFIX)/share/man/man1,'
	@echo '                completions for bash, zsh and fish under $$(PREFIX)/share'
	@echo '                (PREFIX=$(PREFIX), DESTDIR for staging, INSTALL_FROM=target/debug to'
	@echo '                install programs already built there instead of a release build)'
	@echo 'make image-check build the Dockerfile with buildah and try the image (root, slow)'
	@echo 'make services   make sure RabbitMQ and PostgreSQL run on loopback (installs as root)'

build:
	$(CARGO) build --workspace --all-targets

# Fast checks first. `make test` stops at the first failure; `make -k test` (what .ci/run
# does) still runs the others, so one report shows everything that is wrong.
test: fmt-check clippy chart-check cargo-test

# The end-to-end tests run the built programs, so build them before testing. --no-fail-fast:
# one failing test file does not hide the results of the others.
cargo-test: services
	$(CARGO) build --workspace
	$(CARGO) test --workspace --no-fail-fast

fmt-check:
	$(CARGO) fmt --all -- --check $(if $(CI),--color never)

clippy:
	$(CARGO) clippy --workspace --all-targets -- -D warnings

# Installs its own helm and kubernetes-validate (scripts/chart-tools.sh) on first use.
chart-check:
	@bash scripts/chart-check.sh

# Builds the Dockerfile for real with buildah (no daemon needed) and tries the image; slow
# (a release build), so not part of `make test`. Run as root.
image-check:
	@bash scripts/image-check.sh

services:
	@bash scripts/services.sh

demo:
	@bash scripts/demo.sh

# The benches run what `make install` ships: the release multi-call binary, through a link
# per program in $(BENCH_BIN) (BIN_DIR of bench/common.bash), plus the tests package's
# helper programs. Two cargo calls: `--bin` would otherwise filter dripline-tools out too.
BENCH_BIN = $(TARGET_DIR)/release/bench-bin

bench-bin:
	$(CARGO) build --release -p dripline-tools
	$(CARGO) build --release -p dripline-e2e --bin bare-consume --bin hostile-flood --bin rabbit-cluster
	@set -e; dir="$(BENCH_BIN)"; mkdir -p "$$dir"; \
	for program in $(PROGRAMS); do ln -sf ../dripline-tools "$$dir/$$program"; done; \
	for helper in bare-consume hostile-flood rabbit-cluster; do ln -sf "../$$helper" "$$dir/$$helper"; done

bench: services bench-bin
	@set -e; export BIN_DIR="$(BENCH_BIN)"; for script in bench/*.sh; do \
		[ -e "$$script" ] || continue; \
		echo "== $$script"; \
		bash "$$script"; \
	done

man:
	$(CARGO) run --quiet -p dripline-e2e --bin gen-man -- man

completions:
	$(CARGO) run --quiet -p dripline-e2e --bin gen-completions -- completions

# `make install` builds the release multi-call binary first (tools/dripline-tools: every
# program in one binary, one link per program; not the test package's generators).
# INSTALL_FROM=DIR installs the programs already built in DIR instead
# (e.g. target/debug, or a CI cache's release directory) and builds nothing:
# tests/packaging.rs does that with the debug build `make test` has just made.
install:
	$(if $(INSTALL_FROM),,$(CARGO) build --release -p dripline-tools)
	install -d "$(DESTDIR)$(BINDIR)" "$(DESTDIR)$(MANDIR)" \
		"$(DESTDIR)$(BASHCOMPDIR)" "$(DESTDIR)$(ZSHCOMPDIR)" "$(DESTDIR)$(FISHCOMPDIR)"
	@set -e; dir="$(or $(INSTALL_FROM),$(TARGET_DIR)/release)"; \
	echo "install $$dir/dripline-tools -> $(DESTDIR)$(BINDIR)/dripline-tools"; \
	install -m 755 "$$dir/dripline-tools" "$(DESTDIR)$(BINDIR)/dripline-tools"; \
	for program in $(PROGRAMS); do \
		echo "link $(DESTDIR)$(BINDIR)/$$program -> dripline-tools"; \
		ln -sf dripline-tools "$(DESTDIR)$(BINDIR)/$$program"; \
	done
	install -m 644 man/*.1 "$(DESTDIR)$(MANDIR)/"
	install -m 644 completions/bash/* "$(DESTDIR)$(BASHCOMPDIR)/"
	install -m 644 completions/zsh/* "$(DESTDIR)$(ZSHCOMPDIR)/"
	install -m 644 completions/fish/* "$(DESTDIR)$(FISHCOMPDIR)/"
