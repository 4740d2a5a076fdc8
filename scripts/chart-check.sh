#!/usr/bin/env bash
# make chart-check: the Helm chart charts/dripline-tools and the Kubernetes manifests in
# examples/, checked without a cluster.
#   1. helm lint --strict, with the default values and with every values file;
#   2. helm template for the default values, every charts/dripline-tools/examples/*.yaml and
#      examples/second-mesh/dripline-tools.values.yaml;
#   3. scripts/chart_validate.py: every rendered manifest and every plain manifest under
#      examples/ (documents with apiVersion and kind) against Kubernetes' OpenAPI schemas
#      (kubernetes-validate, strict: unknown fields fail) for the oldest and newest Kubernetes
#      the chart supports, the ServiceMonitor against charts/crd-schemas/; then the chart's
#      promises on the rendered output (non-root, read-only root, no privilege escalation,
#      resources, passwords only from secretKeyRef, config checksums, logger probes, one helm
#      test pod per service).
# Tools: scripts/chart-tools.sh installs pinned helm and kubernetes-validate into
# ${DRIPLINE_TOOLS_CACHE:-$HOME/.cache/dripline-tools} on first use.
set -euo pipefail

cd "$(dirname "$0")/.."
start=$SECONDS
say() { printf 'chart-check: %s\n' "$*" >&2; }

bash scripts/chart-tools.sh
cache=${DRIPLINE_TOOLS_CACHE:-$HOME/.cache/dripline-tools}
helm="$cache/bin/helm"
python="$cache/bin/chart-python"

chart=charts/dripline-tools
# Kubernetes versions to validate against: the chart's kubeVersion floor and the newest
# kubernetes-validate knows.
versions=1.27.0,1.37.0

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# helm keeps no state for lint/template, but must not read or write the user's settings.
export HELM_CONFIG_HOME="$out/helm-config" HELM_CACHE_HOME="$out/helm-cache" \
	HELM_DATA_HOME="$out/helm-data"

values_files=("$chart"/examples/*.yaml)
second_mesh=examples/second-mesh/dripline-tools.values.yaml
[ -f "$second_mesh" ] && values_files+=("$second_mesh")
# A variant layered on a values file: the files of one entry are joined by commas, in the
# order helm takes them (-f a -f b).
second_mesh_ha=examples/second-mesh/dripline-tools.ha.values.yaml
[ -f "$second_mesh_ha" ] && values_files+=("$second_mesh,$second_mesh_ha")
# -f for each file of a values entry.
values_args() {
	local files file
	IFS=, read -ra files <<<"$1"
	for file in "${files[@]}"; do printf -- '-f\n%s\n' "$file"; done
}

failed=0
# --- lint -----------------------------------------------------------------------------------
if ! lint=$("$helm" lint --strict --quiet "$chart" 2>&1); then
	printf '%s\n' "$lint" >&2
	say "helm lint (default values) failed"
	failed=1
fi
for values in "${values_files[@]}"; do
	mapfile -t fargs < <(values_args "$values")
	if ! lint=$("$helm" lint --strict --quiet "$chart" "${fargs[@]}" 2>&1); then
		printf '%s\n' "$lint" >&2
		say "helm lint -f $values failed"
		failed=1
	fi
done

# --- template -------------------------------------------------------------------------------
rendered=()
n=0
for values in "" "${values_files[@]}"; do
	n=$((n + 1))
	file="$out/rendered-$n.yaml"
	echo "# values: ${values:-(chart defaults)}" >"$file"
	args=(template dripline-tools "$chart" --namespace default)
	if [ -n "$values" ]; then
		mapfile -t fargs < <(values_args "$values")
		args+=("${fargs[@]}")
	fi
	# Templates run for helm test too (--include-crds for completeness; the chart has none).
	if ! "$helm" "${args[@]}" --include-crds >>"$file" 2>"$out/err"; then
		cat "$out/err" >&2
		say "helm template ${values:+-f $values }failed"
		failed=1
		continue
	fi
	rendered+=("$file")
done

# --- schemas and promises -------------------------------------------------------------------
mapfile -t plain < <(find examples -name '*.yaml' -o -name '*.yml' | sort)
if ! "$python" scripts/chart_validate.py --versions "$versions" --crd-schemas charts/crd-schemas \
	--helm "$helm" --chart "$chart" --rendered "${rendered[@]}" --plain "${plain[@]}"; then
	failed=1
fi

if [ "$failed" -ne 0 ]; then
	say "FAILED after $((SECONDS - start))s"
	exit 1
fi
say "ok: lint, template and validation of ${#values_files[@]} values files + defaults in $((SECONDS - start))s"
