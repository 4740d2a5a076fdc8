# syntax=docker/dockerfile:1
#
# dripline-tools: every dl-* program, its man page and shell completions, exactly what
# `make install` installs, on a small Debian image, run as the non-root user dripline (10001).
# For the chart's workloads (which set `command`) and for ad hoc debugging inside a pod:
#
#   docker build -t dripline-tools .
#   docker run --rm dripline-tools dl-get --help
#   kubectl exec -it POD -- dl-get peaches        (any pod of the chart, e.g. its toolbox)
#   kubectl exec -it POD -- man dl-export
#
# BuildKit is needed (cache mounts). tests/packaging.rs checks this file against the workspace
# (toolchain, staged tree); the image is not built by the tests.

# The workspace's rust-version (Cargo.toml), and one Debian release for both stages, so the
# binaries find the glibc they were linked against.
ARG RUST_VERSION=1.88
ARG DEBIAN=bookworm

FROM rust:${RUST_VERSION}-${DEBIAN} AS build
WORKDIR /src
COPY . .
# `make install` stages binaries, man pages and completions under /staging/usr/local. The
# cargo registry and target directory live in cache mounts, reused by the next build.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    --mount=type=cache,target=/src/target \
    make install DESTDIR=/staging PREFIX=/usr/local \
    && /staging/usr/local/bin/dl-get --version

FROM debian:${DEBIAN}-slim
# docker build --build-arg VERSION=… --build-arg REVISION="$(git rev-parse HEAD)" \
#   --build-arg SOURCE_URL=<where the repository is published> .
ARG VERSION=0.1.0
ARG REVISION=""
ARG SOURCE_URL=""
LABEL org.opencontainers.image.title="dripline-tools" \
      org.opencontainers.image.description="Unix tools for a dripline slow-controls mesh: dl-get, dl-set, dl-cmd, dl-serve, dl-listen, dl-alert, dl-log-to-pg, dl-export, dl-metrics, dl-list, dl-watch, dl-plot, dl-top, dl-history" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="MIT OR Apache-2.0" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="${SOURCE_URL}"
# ca-certificates: TLS to the broker and database; man-db and less: `man dl-get` in a pod;
# bash-completion: the installed completions in an interactive `bash -l`. Not pinned to
# versions: the Debian release is pinned, and its security updates should come in.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates man-db less bash-completion \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --gid 10001 dripline \
    && useradd --uid 10001 --gid 10001 --create-home --shell /bin/bash dripline
COPY --from=build /staging/usr/local/ /usr/local/
# Fail the build if a program does not run or man cannot find its page.
RUN dl-get --version && man -w dl-get dl-export >/dev/null
USER 10001:10001
WORKDIR /home/dripline
CMD ["bash"]
