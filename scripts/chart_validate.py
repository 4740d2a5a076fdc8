#!/usr/bin/env python3
"""Schema validation and promise checks for `make chart-check` (run by scripts/chart-check.sh
with the venv python of scripts/chart-tools.sh).

    chart_validate.py --helm HELM --chart DIR --versions 1.27.0,1.37.0 \
        --crd-schemas DIR --rendered OUT/*.yaml --plain FILE...

--rendered: `helm template` outputs of the chart (one file per values file, the values file's
    path in the first line, `# values: PATH`). Each manifest is validated against Kubernetes'
    OpenAPI schemas (kubernetes-validate, strict: no unknown fields) for every version in
    --versions, custom resources against the JSON schemas in --crd-schemas; then the chart's
    promises are checked on it (see check_promises).
--plain: plain manifests (examples/); every YAML document with apiVersion and kind is
    validated the same way. Documents without them (values files) are skipped.
Besides, with --helm and --chart: a change of a service's config must change the checksum
annotation of that service's pod template, and only that one (check_checksums).

Prints one line per problem and exits 1 if there was any.
"""

import argparse
import copy
import glob
import json
import os
import re
import subprocess
import sys
import tempfile

import jsonschema
import kubernetes_validate
import yaml

problems = []


def problem(where, message):
    problems.append(f"{where}: {message}")


def documents(path):
    with open(path) as f:
        for index, doc in enumerate(yaml.safe_load_all(f)):
            if isinstance(doc, dict):
                yield index, doc


def name_of(doc):
    return f"{doc.get('kind')}/{(doc.get('metadata') or {}).get('name')}"


# --- schema validation ----------------------------------------------------------------------

def load_crd_schemas(directory):
    schemas = {}
    for path in sorted(glob.glob(os.path.join(directory, "*.json"))):
        with open(path) as f:
            schema = json.load(f)
        api = schema["properties"]["apiVersion"]["const"]
        kind = schema["properties"]["kind"]["const"]
        jsonschema.Draft202012Validator.check_schema(schema)
        schemas[(api, kind)] = jsonschema.Draft202012Validator(schema)
    return schemas


def validate(where, doc, versions, crd_schemas):
    key = (doc.get("apiVersion"), doc.get("kind"))
    if key in crd_schemas:
        for error in crd_schemas[key].iter_errors(doc):
            path = ".".join(str(p) for p in error.absolute_path)
            problem(where, f"{name_of(doc)} ({key[0]} schema): {path}: {error.message}")
        return
    for version in versions:
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            path = ".".join(str(p) for p in error.absolute_path)
            problem(where, f"{name_of(doc)} (Kubernetes {version}): {path}: {error.message}")
        except kubernetes_validate.SchemaNotFoundError:
            problem(where, f"{name_of(doc)}: no schema for {key[0]} {key[1]} in Kubernetes {version}"
                    " (a custom resource needs its schema in --crd-schemas)")
        except kubernetes_validate.InvalidSchemaError as error:
            problem(where, f"{name_of(doc)}: invalid schema for Kubernetes {version}: {error}")


# --- promises on the rendered chart ---------------------------------------------------------

SECRET_WORDS = re.compile(r"pass(word|wd)?|secret|token|credential|private", re.I)


def pod_specs(doc):
    """(pod spec, pod metadata) of a workload manifest."""
    kind = doc.get("kind")
    spec = doc.get("spec") or {}
    if kind == "Pod":
        return [(spec, doc.get("metadata") or {})]
    if kind in ("Deployment", "StatefulSet", "DaemonSet", "Job", "ReplicaSet"):
        template = spec.get("template") or {}
        return [(template.get("spec") or {}, template.get("metadata") or {})]
    if kind == "CronJob":
        template = ((spec.get("jobTemplate") or {}).get("spec") or {}).get("template") or {}
        return [(template.get("spec") or {}, template.get("metadata") or {})]
    return []


def check_container(where, pod, container):
    name = f"container {container.get('name')}"
    pod_sc = pod.get("securityContext") or {}
    sc = container.get("securityContext") or {}

    def effective(key):
        return sc.get(key, pod_sc.get(key))

    if effective("runAsNonRoot") is not True:
        problem(where, f"{name}: runAsNonRoot is not true")
    uid = effective("runAsUser")
    if uid is None or uid == 0:
        problem(where, f"{name}: runAsUser {uid!r} (want a non-root uid)")
    if sc.get("readOnlyRootFilesystem") is not True:
        problem(where, f"{name}: readOnlyRootFilesystem is not true")
    if sc.get("allowPrivilegeEscalation") is not False:
        problem(where, f"{name}: allowPrivilegeEscalation is not false")
    if sc.get("privileged"):
        problem(where, f"{name}: privileged")
    if "ALL" not in ((sc.get("capabilities") or {}).get("drop") or []):
        problem(where, f"{name}: capabilities.drop lacks ALL")
    if ((effective("seccompProfile") or {}).get("type")) != "RuntimeDefault":
        problem(where, f"{name}: seccompProfile is not RuntimeDefault")
    resources = container.get("resources") or {}
    if not (resources.get("requests") or {}).get("memory") or not (resources.get("requests") or {}).get("cpu"):
        problem(where, f"{name}: no cpu and memory requests")
    if not (resources.get("limits") or {}).get("memory"):
        problem(where, f"{name}: no memory limit")
    for env in container.get("env") or []:
        if SECRET_WORDS.search(env.get("name", "")):
            ref = (env.get("valueFrom") or {}).get("secretKeyRef")
            if "value" in env or not ref:
                problem(where, f"{name}: env {env['name']} is not from a secretKeyRef")
    for arg in (container.get("command") or []) + (container.get("args") or []):
        if re.search(r"--password(=|$)|://[^/@\s]*:[^/@\s]*@", str(arg)):
            problem(where, f"{name}: a password on the command line: {arg!r}")


def walk_secret_keys(value, path=""):
    """Keys that look like passwords with a non-empty literal value."""
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{path}.{key}" if path else str(key)
            # password_file, auth_file, …: paths, not secrets.
            is_path = re.search(r"[-_]?(file|path)$", str(key), re.I)
            if SECRET_WORDS.search(str(key)) and not is_path and isinstance(item, (str, int, float)) and str(item):
                yield here
            yield from walk_secret_keys(item, here)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from walk_secret_keys(item, f"{path}[{index}]")


def check_promises(where, docs):
    by_kind = {}
    for doc in docs:
        by_kind.setdefault(doc.get("kind"), []).append(doc)
    if by_kind.get("Secret"):
        problem(where, "the chart renders a Secret; credentials must come from existing ones")
    for doc in docs:
        for pod, meta in pod_specs(doc):
            here = f"{where}: {name_of(doc)}"
            if pod.get("automountServiceAccountToken") is not False:
                problem(here, "automountServiceAccountToken is not false")
            for container in (pod.get("initContainers") or []) + (pod.get("containers") or []):
                check_container(here, pod, container)
    for config_map in by_kind.get("ConfigMap", []):
        for key, text in (config_map.get("data") or {}).items():
            try:
                content = yaml.safe_load(text)
            except yaml.YAMLError as error:
                problem(where, f"{name_of(config_map)} {key}: not YAML: {error}")
                continue
            for path in walk_secret_keys(content):
                problem(where, f"{name_of(config_map)} {key}: {path} holds a literal secret")

    def component(doc, value):
        return ((doc.get("metadata") or {}).get("labels") or {}).get("app.kubernetes.io/component") == value

    # Services: a ConfigMap, a checksum annotation of it, and a helm test pod pinging it.
    config_names = {}  # service -> (service name, its endpoints' names)
    for config_map in by_kind.get("ConfigMap", []):
        if component(config_map, "service"):
            service = config_map["metadata"]["labels"]["dripline-tools/service"]
            config = yaml.safe_load(config_map["data"]["config.yaml"]) or {}
            # The deprecated dripline-python 4 layout: everything under runtime-config.
            config = {**config, **(config.get("runtime-config") or {})}
            endpoints = [e.get("name") for e in config.get("endpoints") or [] if isinstance(e, dict)]
            config_names[service] = (config.get("name"), endpoints)
    tests = {}
    for pod in by_kind.get("Pod", []):
        annotations = (pod.get("metadata") or {}).get("annotations") or {}
        if annotations.get("helm.sh/hook") == "test":
            tests[pod["metadata"]["labels"].get("dripline-tools/service")] = pod
    for deployment in by_kind.get("Deployment", []):
        if not component(deployment, "service"):
            continue
        here = f"{where}: {name_of(deployment)}"
        service = deployment["metadata"]["labels"]["dripline-tools/service"]
        template = deployment["spec"]["template"]
        if not re.fullmatch(r"[0-9a-f]{64}", str((template["metadata"].get("annotations") or {}).get("checksum/config"))):
            problem(here, "no checksum/config annotation on the pod template")
        if service not in config_names:
            problem(here, "no ConfigMap for this service")
        test = tests.get(service)
        if test is None:
            problem(here, "no helm test pod for this service")
            continue
        container = test["spec"]["containers"][0]
        command = (container.get("command") or []) + (container.get("args") or [])
        if command[:1] != ["dl-cmd"] or "ping" not in command:
            problem(here, f"helm test pod does not run dl-cmd … ping: {command}")
        else:
            name, endpoints = config_names.get(service, (None, []))
            if len(command) < 2 or command[1] not in [name, *endpoints]:
                problem(here, f"helm test pod pings {command[1:2]}, neither the service {name!r} "
                        f"nor one of its endpoints {endpoints}")

    # The logger and dl-metrics: probes on their health endpoints, served where
    # --metrics-addr says.
    for deployment in by_kind.get("Deployment", []):
        if not (component(deployment, "logger") or component(deployment, "mesh-metrics")):
            continue
        here = f"{where}: {name_of(deployment)}"
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        args = container.get("args") or []
        try:
            address = args[args.index("--metrics-addr") + 1]
        except (ValueError, IndexError):
            problem(here, "no --metrics-addr")
            continue
        port = int(address.rsplit(":", 1)[1])
        ports = {p.get("name"): p.get("containerPort") for p in container.get("ports") or []}
        for probe_name, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
            http = (container.get(probe_name) or {}).get("httpGet") or {}
            probe_port = ports.get(http.get("port"), http.get("port"))
            if http.get("path") != path or probe_port != port:
                problem(here, f"{probe_name} is not GET {path} on port {port}: {http}")
    for monitor in by_kind.get("ServiceMonitor", []):
        services = [s for s in by_kind.get("Service", []) if all(
            (s["metadata"].get("labels") or {}).get(k) == v
            for k, v in monitor["spec"]["selector"].get("matchLabels", {}).items())]
        ports = {p.get("name") for s in services for p in s["spec"].get("ports", [])}
        for endpoint in monitor["spec"]["endpoints"]:
            if endpoint.get("port") not in ports:
                problem(where, f"{name_of(monitor)}: port {endpoint.get('port')} is on no selected Service")


# --- checksum of service configs ------------------------------------------------------------

def render(helm, chart, values_doc):
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
        yaml.safe_dump(values_doc, f)
        f.flush()
        out = subprocess.run([helm, "template", "checksum", chart, "-f", f.name],
                             check=True, capture_output=True, text=True).stdout
    return [d for d in yaml.safe_load_all(out) if isinstance(d, dict)]


def checksums(docs):
    return {
        d["metadata"]["labels"]["dripline-tools/service"]:
            d["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
        for d in docs
        if d.get("kind") == "Deployment" and "dripline-tools/service" in d["metadata"]["labels"]
    }


def check_checksums(helm, chart):
    services = [
        {"name": name, "config": {"name": f"store_{name}", "module": "Service", "endpoints": [
            {"name": f"{name}_value", "module": "KeyValueStore", "initial_value": 1}]}}
        for name in ("one", "two")
    ]
    before = checksums(render(helm, chart, {"services": services}))
    changed = copy.deepcopy(services)
    changed[0]["config"]["endpoints"][0]["initial_value"] = 2
    after = checksums(render(helm, chart, {"services": changed}))
    if sorted(before) != ["one", "two"]:
        problem("checksum", f"expected Deployments for services one and two, got {sorted(before)}")
    elif before["one"] == after["one"]:
        problem("checksum", "changing service one's config left its checksum/config unchanged")
    elif before["two"] != after["two"]:
        problem("checksum", "changing service one's config changed service two's checksum/config")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--versions", default="1.27.0,1.37.0")
    parser.add_argument("--crd-schemas", required=True)
    parser.add_argument("--rendered", nargs="*", default=[])
    parser.add_argument("--plain", nargs="*", default=[])
    parser.add_argument("--helm")
    parser.add_argument("--chart")
    args = parser.parse_args()
    versions = args.versions.split(",")
    crd_schemas = load_crd_schemas(args.crd_schemas)

    counts = {"rendered": 0, "plain": 0}
    for path in args.rendered:
        with open(path) as f:
            first = f.readline()
        where = first.removeprefix("# values:").strip() if first.startswith("# values:") else path
        docs = [doc for _, doc in documents(path)]
        if not docs:
            problem(where, "rendered no manifest")
        for doc in docs:
            validate(where, doc, versions, crd_schemas)
        check_promises(where, docs)
        counts["rendered"] += len(docs)
    for path in args.plain:
        for index, doc in documents(path):
            if "apiVersion" in doc and "kind" in doc:
                validate(f"{path} (document {index + 1})", doc, versions, crd_schemas)
                counts["plain"] += 1
    if args.helm and args.chart:
        check_checksums(args.helm, args.chart)

    for line in problems:
        print(f"chart-check: {line}")
    print(f"chart-check: {counts['rendered']} rendered manifests ({len(args.rendered)} values files) "
          f"and {counts['plain']} example manifests against Kubernetes {', '.join(versions)} "
          f"(strict) and {len(crd_schemas)} CRD schema(s); {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
