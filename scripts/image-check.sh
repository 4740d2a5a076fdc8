#!/usr/bin/env bash
# make image-check: build the root Dockerfile for real, without a Docker daemon or Docker Hub,
# and try the image against the local RabbitMQ.
#
# Where Docker Hub cannot be reached, the two base images the Dockerfile names are replaced by
# local stand-ins made from Debian's own packages:
#   debian:bookworm-slim      debootstrap --variant=minbase bookworm
#   rust:<host>-bookworm      the same, plus gcc, make, libc6-dev and this machine's Rust
#                             toolchain (so RUST_VERSION is the host's, not the workspace's 1.88)
# The machine's extra CA certificates (/usr/local/share/ca-certificates) go into the rust
# stand-in, so cargo can reach crates.io from behind a TLS-inspecting proxy. The Dockerfile
# itself is built unchanged with buildah (chroot isolation, vfs storage: no daemon, no
# privileges beyond root), then the image is checked: the user is 10001, every dl-* runs from
# PATH, man finds and renders the pages, bash completion is installed, and the image's dl-cmd
# and dl-get talk to a dl-serve on the local RabbitMQ.
#
# Not part of `make test`: a cold run downloads about 100 MB of Debian packages and does a
# release build in the container (10–15 minutes on 2 cores). Run as root. Stand-ins and
# buildah's layers are kept under $DRIPLINE_TOOLS_CACHE/image (default
# ~/.cache/dripline-tools/image); a second run reuses them.
set -euo pipefail

cd "$(dirname "$0")/.."
say() { printf 'image-check: %s\n' "$*" >&2; }
fail() { say "FAIL: $*"; exit 1; }

[ "$(id -u)" = 0 ] || fail "run as root (buildah with chroot isolation needs it)"
export PATH="$PATH:/usr/sbin:/sbin"
missing=()
command -v buildah >/dev/null || missing+=(buildah)
command -v debootstrap >/dev/null || missing+=(debootstrap)
if [ ${#missing[@]} -gt 0 ]; then
	say "installing ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

cache=${DRIPLINE_TOOLS_CACHE:-$HOME/.cache/dripline-tools}/image
mkdir -p "$cache"
buildah() { command buildah --storage-driver vfs --root "$cache/storage" --runroot "$cache/run" "$@"; }
rust_version=$(rustc --version | sed -E 's/^rustc ([0-9]+\.[0-9]+).*/\1/')
debian=localhost/debian:bookworm-slim
rust=localhost/rust:$rust_version-bookworm
image=localhost/dripline-tools:check

# --- stand-ins for the base images ----------------------------------------------------------
if ! buildah inspect --type image "$debian" >/dev/null 2>&1; then
	say "making $debian with debootstrap"
	rootfs=$(mktemp -d "$cache/rootfs.XXXXXX")
	debootstrap --variant=minbase bookworm "$rootfs" http://deb.debian.org/debian >/dev/null
	container=$(buildah from scratch)
	tar -C "$rootfs" -c . | tar -C "$(buildah mount "$container")" -x
	buildah umount "$container" >/dev/null
	buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		--cmd bash "$container"
	buildah commit -q "$container" "$debian" >/dev/null
	buildah rm "$container" >/dev/null
	rm -rf "$rootfs"
fi
if ! buildah inspect --type image "$rust" >/dev/null 2>&1; then
	say "making $rust from $debian and this machine's toolchain"
	container=$(buildah from --pull=never "$debian")
	mount=$(buildah mount "$container")
	cp /usr/local/share/ca-certificates/*.crt "$mount/usr/local/share/ca-certificates/" \
		2>/dev/null || true
	mkdir -p "$mount/usr/local/rust" "$mount/usr/local/cargo/bin"
	cp -a "$(rustc --print sysroot)/." "$mount/usr/local/rust/"
	for tool in cargo rustc rustdoc; do
		ln -s "/usr/local/rust/bin/$tool" "$mount/usr/local/cargo/bin/$tool"
	done
	buildah umount "$container" >/dev/null
	buildah run --isolation chroot "$container" -- sh -c 'apt-get update -qq &&
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			gcc make libc6-dev ca-certificates >/dev/null &&
		update-ca-certificates >/dev/null && rm -rf /var/lib/apt/lists/*'
	buildah config --env CARGO_HOME=/usr/local/cargo \
		--env PATH=/usr/local/cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		"$container"
	buildah commit -q "$container" "$rust" >/dev/null
	buildah rm "$container" >/dev/null
fi

# --- the Dockerfile, unchanged --------------------------------------------------------------
say "building the Dockerfile (RUST_VERSION=$rust_version)"
start=$SECONDS
buildah bud --isolation chroot --pull=never --layers \
	--build-arg RUST_VERSION="$rust_version" -t "$image" . >"$cache/build.log" 2>&1 ||
	{ tail -30 "$cache/build.log" >&2; fail "the build failed (whole log: $cache/build.log)"; }
say "built $image in $((SECONDS - start)) s"
# vfs keeps a full copy per layer: drop the previous builds' layers (the cargo cache mounts,
# in /var/tmp/buildah-cache, which make the next build quick, are kept).
buildah rmi --prune >/dev/null 2>&1 || true

# --- the image ------------------------------------------------------------------------------
user=$(buildah inspect --type image --format '{{.OCIv1.Config.User}}' "$image")
[ "$user" = "10001:10001" ] || fail "the image runs as '$user', not 10001:10001"
container=$(buildah from --pull=never "$image")
service=""
cleanup() {
	[ -n "$service" ] && kill "$service" 2>/dev/null
	buildah rm "$container" >/dev/null 2>&1 || true
	rm -rf "${work:-}"
}
trap cleanup EXIT
# chroot isolation shares the host's network: the local RabbitMQ is 127.0.0.1:5672.
in_image() { buildah run --isolation chroot "$container" -- "$@"; }

[ "$(in_image id -u)" = 10001 ] || fail "commands in the image do not run as uid 10001"
programs=()
for dir in tools/dl-*; do programs+=("${dir#tools/}"); done
for program in "${programs[@]}"; do
	in_image "$program" --version >/dev/null || fail "$program --version fails in the image"
	in_image man -w "$program" >/dev/null || fail "man finds no page for $program in the image"
	in_image test -f "/usr/local/share/bash-completion/completions/$program" ||
		fail "no bash completion for $program in the image"
done
in_image sh -c 'man dl-get 2>/dev/null | grep -q "EXIT STATUS"' ||
	fail "man dl-get does not render in the image"
if in_image touch /usr/local/bin/writable 2>/dev/null; then
	fail "the image's user can write /usr/local/bin"
fi

# A service on the host (the programs built for it), asked from inside the image.
work=$(mktemp -d)
name="image_check_$$"
cat >"$work/store.yaml" <<EOF
name: $name
module: Service
heartbeat_interval_s: 0
endpoints:
  - name: ${name}_peaches
    module: KeyValueStore
    initial_value: 0.75
EOF
target=$(cargo metadata --format-version 1 --no-deps |
	sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
serve="$target/debug/dl-serve"
[ -x "$serve" ] || cargo build -q -p dl-serve
"$serve" -c "$work/store.yaml" 2>"$work/serve.log" &
service=$!
for _ in $(seq 60); do
	in_image dl-cmd "$name" -s ping -t 1s >/dev/null 2>&1 && break
	sleep 0.5
done
in_image dl-cmd "$name" -s ping -t 2s >/dev/null || fail "the image's dl-cmd cannot ping $name"
value=$(in_image dl-get "${name}_peaches" --field value_raw -t 2s)
[ "$value" = 0.75 ] || fail "the image's dl-get read '$value', not 0.75"

# On the debootstrap stand-in, which is larger than Docker Hub's bookworm-slim.
size=$(buildah images --format '{{.Size}}' "$image" 2>/dev/null || echo '?')
say "ok: $image (user 10001, ${#programs[@]} programs with man pages and completions, ping and get from inside it; $size)"
