//! charts/dripline-tools, run for real: the chart is rendered with helm (`helm template`, the
//! pinned helm `make chart-check` installs) with values pointing at the machine's RabbitMQ and
//! PostgreSQL, and each rendered container's command, args and environment are run with the
//! built programs, as a kubelet would start them: env from `value`, `secretKeyRef` (filled
//! from the test's secrets) and `fieldRef`; ConfigMap, Secret, emptyDir and
//! PersistentVolumeClaim volumes as directories, their mount paths in the args rewritten to
//! those directories; `$(VAR)` expanded from the container's env. So the chart's commands are
//! proved to work, not only to be valid YAML:
//!
//! - the dl-serve service runs from its rendered ConfigMap and answers the rendered helm test
//!   pod's `dl-cmd … -s ping` (which fails before the service starts); the toolbox's
//!   environment reaches it too;
//! - the logger's rendered command stores alerts, and its probe paths answer 200 on its
//!   metrics port;
//! - dl-metrics' rendered command answers its probes and exports a heartbeat it heard;
//! - the export CronJob's command writes a new file per run on its volume, incrementally, and
//!   the stdout variant prints the rows;
//! - examples/second-mesh's values, renamed for the test, carry a value set through the
//!   toolbox from the guide's key-value store through the logger into the export file.
//!
//! Every test has its own service names, queue, routing keys and schema, and removes them.

#[path = "export_support.rs"]
mod export_support;
#[path = "log_support.rs"]
mod log_support;

use dripline_e2e::{binary, free_port, run_command, unique_name, wait_until, ChildGuard};
use export_support::TestDb;
use log_support::{http_get, numeric_alerts, publish, query_count, TestQueue, PATIENCE};
use serde_json::json;
use serde_yaml::Value;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

const BROKER_PORT: u16 = 5672;

/// The helm `make chart-check` installed (scripts/chart-tools.sh): `$cache/bin/helm`, the
/// cache being `DRIPLINE_TOOLS_CACHE` or `~/.cache/dripline-tools`.
fn helm() -> PathBuf {
    let cache = std::env::var_os("DRIPLINE_TOOLS_CACHE")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache/dripline-tools"))
        })
        .expect("DRIPLINE_TOOLS_CACHE or HOME must be set to find helm");
    let path = cache.join("bin/helm");
    assert!(
        path.exists(),
        "helm is not installed at {}: run `make chart-check` first (make test does; it \
         installs the pinned helm with scripts/chart-tools.sh)",
        path.display()
    );
    path
}

fn chart_dir() -> PathBuf {
    dripline_e2e::repo_path("charts/dripline-tools")
}

/// The test's stand-in for a namespace: Secrets the chart refers to, volumes as directories
/// under a private root (removed on drop), and the manifests of the last render.
struct Cluster {
    root: PathBuf,
    secrets: BTreeMap<String, BTreeMap<String, String>>,
    docs: Vec<Value>,
}

impl Cluster {
    fn new() -> Self {
        let root = std::env::temp_dir().join(unique_name("chart-commands"));
        std::fs::create_dir_all(&root).unwrap();
        let mut secrets = BTreeMap::new();
        let mut secret = |name: &str, pairs: &[(&str, &str)]| {
            secrets.insert(
                name.to_string(),
                pairs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect::<BTreeMap<_, _>>(),
            );
        };
        secret(
            "test-rabbitmq",
            &[("username", "guest"), ("password", "guest")],
        );
        secret(
            "test-postgres",
            &[("username", "postgres"), ("password", "postgres")],
        );
        // The Secrets examples/second-mesh refers to, with the local services' logins.
        secret(
            "rabbitmq-credentials",
            &[("username", "guest"), ("password", "guest")],
        );
        secret(
            "postgres-credentials",
            &[("username", "postgres"), ("password", "postgres")],
        );
        secret(
            "dripline-authentications",
            &[(
                "authentications.json",
                r#"{"dripline": {"username": "guest", "password": "guest"}}"#,
            )],
        );
        secret(
            "test-authentications",
            &[(
                "authentications.json",
                r#"{"dripline": {"username": "guest", "password": "guest"},
                    "postgres": {"username": "postgres", "password": "postgres"}}"#,
            )],
        );
        Cluster {
            root,
            secrets,
            docs: Vec::new(),
        }
    }

    /// `helm template <release> charts/dripline-tools -f <values>`; keeps the manifests.
    fn render(&mut self, release: &str, values: serde_json::Value) {
        let helm_home = self.root.join("helm-home");
        let values_path = self.root.join(format!("{release}.values.yaml"));
        // JSON is YAML.
        std::fs::write(&values_path, values.to_string()).unwrap();
        let output = Command::new(helm())
            .arg("template")
            .arg(release)
            .arg(chart_dir())
            .args(["--namespace", "default", "-f"])
            .arg(&values_path)
            .env("HELM_CONFIG_HOME", helm_home.join("config"))
            .env("HELM_CACHE_HOME", helm_home.join("cache"))
            .env("HELM_DATA_HOME", helm_home.join("data"))
            .output()
            .expect("running helm");
        assert!(
            output.status.success(),
            "helm template failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let text = String::from_utf8(output.stdout).unwrap();
        // helm separates documents with a `---` line.
        let mut documents = vec![String::new()];
        for line in text.lines() {
            if line == "---" {
                documents.push(String::new());
            } else {
                let last = documents.last_mut().unwrap();
                last.push_str(line);
                last.push('\n');
            }
        }
        self.docs = documents
            .iter()
            .map(|document| serde_yaml::from_str(document).expect("rendered YAML"))
            .filter(|doc: &Value| doc.is_mapping())
            .collect();
    }

    /// The one rendered object of `kind` whose component label is `component`.
    fn find(&self, kind: &str, component: &str) -> &Value {
        let found: Vec<&Value> = self
            .docs
            .iter()
            .filter(|doc| {
                doc["kind"].as_str() == Some(kind)
                    && doc["metadata"]["labels"]["app.kubernetes.io/component"].as_str()
                        == Some(component)
            })
            .collect();
        assert_eq!(
            found.len(),
            1,
            "expected one {kind} of component {component} in the rendered chart"
        );
        found[0]
    }

    fn config_map(&self, name: &str) -> &Value {
        self.docs
            .iter()
            .find(|doc| {
                doc["kind"].as_str() == Some("ConfigMap")
                    && doc["metadata"]["name"].as_str() == Some(name)
            })
            .unwrap_or_else(|| panic!("no ConfigMap {name} in the rendered chart"))
    }

    /// The first container of `workload` (a Pod, Deployment or CronJob) as a kubelet would
    /// start it, with `labels` as the pod's extra labels (what controllers add, e.g.
    /// job-name) for fieldRefs: volumes made, env resolved, mount paths mapped.
    fn container(&self, workload: &Value, labels: &[(&str, &str)]) -> Container {
        let (pod, metadata) = match workload["kind"].as_str() {
            Some("Pod") => (&workload["spec"], &workload["metadata"]),
            Some("Deployment") => (
                &workload["spec"]["template"]["spec"],
                &workload["spec"]["template"]["metadata"],
            ),
            Some("CronJob") => {
                let template = &workload["spec"]["jobTemplate"]["spec"]["template"];
                (&template["spec"], &template["metadata"])
            }
            other => panic!("not a workload: {other:?}"),
        };
        let container = &pod["containers"][0];
        let pod_name = format!(
            "{}-{}",
            workload["metadata"]["name"].as_str().unwrap(),
            unique_name("pod")
        );

        // Volumes: directories.
        let mut volumes = BTreeMap::new();
        for volume in pod["volumes"].as_sequence().into_iter().flatten() {
            let name = volume["name"].as_str().unwrap().to_string();
            let dir = if let Some(claim) = volume["persistentVolumeClaim"]["claimName"].as_str() {
                // A claim outlives pods: the same directory every time.
                self.root.join("pvc").join(claim)
            } else {
                self.root.join("pods").join(&pod_name).join(&name)
            };
            std::fs::create_dir_all(&dir).unwrap();
            if let Some(config_map) = volume["configMap"]["name"].as_str() {
                let data = self.config_map(config_map)["data"]
                    .as_mapping()
                    .expect("ConfigMap data");
                for (key, text) in data {
                    std::fs::write(dir.join(key.as_str().unwrap()), text.as_str().unwrap())
                        .unwrap();
                }
            } else if let Some(secret) = volume["secret"]["secretName"].as_str() {
                for (key, text) in self.secret(secret) {
                    std::fs::write(dir.join(key), text).unwrap();
                }
            } else {
                assert!(
                    volume.get("emptyDir").is_some()
                        || volume.get("persistentVolumeClaim").is_some(),
                    "volume kind not simulated: {volume:?}"
                );
            }
            volumes.insert(name, dir);
        }
        // Mount paths, longest first, so /a/b wins over /a.
        let mut mounts: Vec<(String, PathBuf)> = container["volumeMounts"]
            .as_sequence()
            .into_iter()
            .flatten()
            .map(|mount| {
                let volume = mount["name"].as_str().unwrap();
                let dir = volumes
                    .get(volume)
                    .unwrap_or_else(|| panic!("volumeMount of unknown volume {volume}"));
                (
                    mount["mountPath"].as_str().unwrap().to_string(),
                    dir.clone(),
                )
            })
            .collect();
        mounts.sort_by_key(|(path, _)| std::cmp::Reverse(path.len()));

        // Environment, in order.
        let mut env: Vec<(String, String)> = Vec::new();
        for var in container["env"].as_sequence().into_iter().flatten() {
            let name = var["name"].as_str().unwrap().to_string();
            let value = if let Some(value) = var.get("value") {
                scalar(value)
            } else if let Some(secret) = var["valueFrom"].get("secretKeyRef") {
                let (name, key) = (
                    secret["name"].as_str().unwrap(),
                    secret["key"].as_str().unwrap(),
                );
                self.secret(name)
                    .get(key)
                    .unwrap_or_else(|| panic!("Secret {name} has no key {key}"))
                    .clone()
            } else if let Some(field) = var["valueFrom"]["fieldRef"]["fieldPath"].as_str() {
                field_ref(field, metadata, labels)
            } else {
                panic!("env {name}: source not simulated: {var:?}")
            };
            env.push((name, value));
        }

        let expand = |text: &str| -> String { map_mounts(&expand_vars(text, &env), &mounts) };
        let words: Vec<String> = container["command"]
            .as_sequence()
            .into_iter()
            .flatten()
            .chain(container["args"].as_sequence().into_iter().flatten())
            .map(|word| expand(&scalar(word)))
            .collect();
        let env = env
            .iter()
            // Paths in the environment (HOME=/tmp) are mounted directories too.
            .map(|(name, value)| (name.clone(), map_mounts(value, &mounts)))
            .collect();
        let cwd = container["workingDir"]
            .as_str()
            .map(|dir| PathBuf::from(map_mounts(dir, &mounts)));
        Container { words, env, cwd }
    }

    /// The command a kubelet would run for the first container of `workload`: its command
    /// and args, which must start one of our programs, in its environment.
    fn command(&self, workload: &Value, labels: &[(&str, &str)]) -> Command {
        let container = self.container(workload, labels);
        let (program, args) = container.words.split_first().expect("a command");
        assert!(
            program.starts_with("dl-"),
            "the chart runs {program}, not one of the dl-* programs"
        );
        container.run(program, args)
    }

    /// `kubectl exec <workload> -- program args…`: another program in the container's
    /// environment.
    fn exec(&self, workload: &Value, program: &str, args: &[&str]) -> Command {
        self.container(workload, &[]).run(program, args)
    }

    fn secret(&self, name: &str) -> &BTreeMap<String, String> {
        self.secrets
            .get(name)
            .unwrap_or_else(|| panic!("the chart refers to Secret {name}, which the test has not"))
    }

    /// The directory standing for the PersistentVolumeClaim `claim`.
    fn claim_dir(&self, claim: &str) -> PathBuf {
        self.root.join("pvc").join(claim)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// A container ready to run: its words (command and args), environment and working directory.
struct Container {
    words: Vec<String>,
    env: Vec<(String, String)>,
    cwd: Option<PathBuf>,
}

impl Container {
    /// Our built `program` with `args`, in the container's environment and nothing else.
    fn run(&self, program: &str, args: &[impl AsRef<std::ffi::OsStr>]) -> Command {
        let mut command = Command::new(binary(program));
        command
            .args(args)
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null());
        if let Some(dir) = &self.cwd {
            command.current_dir(dir);
        }
        command
    }
}

/// A YAML scalar as the string Kubernetes would see.
fn scalar(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Number(number) => number.to_string(),
        Value::Bool(flag) => flag.to_string(),
        other => panic!("not a scalar: {other:?}"),
    }
}

/// A downward-API fieldRef the test can answer.
fn field_ref(path: &str, metadata: &Value, labels: &[(&str, &str)]) -> String {
    if let Some(label) = path
        .strip_prefix("metadata.labels['")
        .and_then(|rest| rest.strip_suffix("']"))
    {
        if let Some((_, value)) = labels.iter().find(|(key, _)| *key == label) {
            return value.to_string();
        }
        if let Some(value) = metadata["labels"][label].as_str() {
            return value.to_string();
        }
        panic!("fieldRef {path}: the pod has no such label");
    }
    panic!("fieldRef {path} not simulated")
}

/// Kubernetes' `$(VAR)` expansion in command and args: defined variables are replaced, `$$`
/// is a literal `$`, anything else stays as written.
fn expand_vars(text: &str, env: &[(String, String)]) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        if let Some(after) = tail.strip_prefix("$$") {
            out.push('$');
            rest = after;
        } else if let Some(inner) = tail.strip_prefix("$(") {
            match inner.find(')') {
                Some(end) => {
                    let name = &inner[..end];
                    match env.iter().rev().find(|(n, _)| n == name) {
                        Some((_, value)) => out.push_str(value),
                        None => out.push_str(&tail[..end + 3]),
                    }
                    rest = &inner[end + 1..];
                }
                None => {
                    out.push_str(tail);
                    rest = "";
                }
            }
        } else {
            out.push('$');
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    out
}

/// Replace a mount path at the start of a word (or after `=`) with its directory.
fn map_mounts(word: &str, mounts: &[(String, PathBuf)]) -> String {
    let (prefix, path) = match word.split_once('=') {
        Some((flag, path)) if flag.starts_with("--") => (format!("{flag}="), path),
        _ => (String::new(), word),
    };
    for (mount, dir) in mounts {
        let mount = mount.trim_end_matches('/');
        if path == mount || path.starts_with(&format!("{mount}/")) {
            return format!("{prefix}{}{}", dir.display(), &path[mount.len()..]);
        }
    }
    word.to_string()
}

/// Values every test starts from: the machine's broker and database, credentials from the
/// test's Secrets (through env) and the auth file mounted as the dripline-python chart does.
fn base_values() -> serde_json::Value {
    json!({
        "broker": {
            "host": "127.0.0.1",
            "port": BROKER_PORT,
            "existingSecret": "test-rabbitmq"
        },
        "database": {
            "host": "127.0.0.1",
            "port": 5432,
            "name": "postgres",
            "sslMode": "disable",
            "existingSecret": "test-postgres"
        },
        "authFile": {"secretName": "test-authentications"},
        "logging": {"format": "json", "verbosity": 1}
    })
}

fn merge(mut base: serde_json::Value, extra: serde_json::Value) -> serde_json::Value {
    for (key, value) in extra.as_object().unwrap() {
        base[key] = value.clone();
    }
    base
}

fn describe(output: &Output) -> String {
    format!(
        "status {}, stdout {:?}, stderr {:?}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// A started program whose stderr goes to a file, for messages when something fails.
/// Point the release's logger (a quorum queue in these values) at `queue` with `key` bound,
/// writing `db`'s table in 50 ms batches with metrics on a free port, and its export at the
/// same table up to now; render; start the service and the logger; wait until the logger is
/// ready. Returns them and the metrics port.
fn start_service_and_logger(
    cluster: &mut Cluster,
    mut values: serde_json::Value,
    queue: &str,
    key: String,
    db: &TestDb,
) -> (Started, Started, u16) {
    let metrics_port = free_port();
    let logger = values["logger"].as_object_mut().unwrap();
    assert_eq!(logger["queueType"], json!("quorum"));
    logger.insert("queue".into(), json!(queue));
    logger.insert("keys".into(), json!([key]));
    logger.insert("table".into(), json!(db.table_arg()));
    logger.insert("batchTime".into(), json!("50ms"));
    logger.insert("metrics".into(), json!({"port": metrics_port}));
    values["export"]["table"] = json!(db.table_arg());
    // A value is stored a moment before the export runs: no settling margin here.
    values["export"]["until"] = json!("0s");
    cluster.render("dripline-tools", values);

    let service = cluster.find("Deployment", "service").clone();
    let serve = Started::spawn(cluster.command(&service, &[]), &cluster.root);
    let logger = cluster.find("Deployment", "logger").clone();
    let logger = Started::spawn(cluster.command(&logger, &[]), &cluster.root);
    assert!(
        wait_until(PATIENCE, || http_get(metrics_port, "/readyz").0 == 200),
        "the logger never became ready: {}",
        logger.stderr()
    );
    (serve, logger, metrics_port)
}

struct Started {
    process: ChildGuard,
    stderr: PathBuf,
}

impl Started {
    fn spawn(mut command: Command, dir: &Path) -> Self {
        let stderr = dir.join(unique_name("stderr"));
        let file = std::fs::File::create(&stderr).unwrap();
        let process = ChildGuard::spawn(command.stdout(Stdio::null()).stderr(file));
        Started { process, stderr }
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }
}

#[test]
fn service_from_its_config_map_answers_the_helm_test_ping() {
    let mut cluster = Cluster::new();
    let service = unique_name("chart_store");
    let peaches = unique_name("peaches");
    cluster.render(
        "chart-test",
        merge(
            base_values(),
            json!({
                "services": [{
                    "name": "key-value-store",
                    "config": {
                        "name": service,
                        "module": "Service",
                        // dripline-python style: the mounted auth file.
                        "auth_file": "/etc/rabbitmq-secret/authentications.json",
                        "heartbeat_interval_s": 0,
                        "endpoints": [{
                            "name": peaches,
                            "module": "KeyValueStore",
                            "calibration": "2*{}",
                            "initial_value": 0.75
                        }]
                    }
                }],
                "toolbox": {"enabled": true}
            }),
        ),
    );
    let test_pod = cluster
        .docs
        .iter()
        .find(|doc| {
            doc["kind"].as_str() == Some("Pod")
                && doc["metadata"]["annotations"]["helm.sh/hook"].as_str() == Some("test")
        })
        .expect("a helm test pod")
        .clone();

    // Before the service runs, the helm test fails: nothing is bound for its name.
    let before = run_command(&mut cluster.command(&test_pod, &[]), None);
    assert_eq!(
        before.status.code(),
        Some(4),
        "the ping must fail (403, exit 4) while no service runs: {}",
        describe(&before)
    );

    let deployment = cluster.find("Deployment", "service").clone();
    let mut serve = Started::spawn(cluster.command(&deployment, &[]), &cluster.root);
    let mut last = None;
    let answered = wait_until(Duration::from_secs(30), || {
        let output = run_command(&mut cluster.command(&test_pod, &[]), None);
        let ok = output.status.success();
        last = Some(output);
        ok
    });
    assert!(
        answered,
        "the helm test never passed: {}\ndl-serve: {}",
        last.as_ref().map(describe).unwrap_or_default(),
        serve.stderr()
    );

    // The toolbox's environment (what `kubectl exec … -- dl-get` gets) reaches the service.
    let toolbox = cluster.find("Deployment", "toolbox").clone();
    // `kubectl exec` runs another program in the container, with the container's env.
    let get = run_command(
        &mut cluster.exec(
            &toolbox,
            "dl-get",
            &[peaches.as_str(), "--field", "value_cal"],
        ),
        None,
    );
    assert!(
        get.status.success(),
        "dl-get from the toolbox: {}",
        describe(&get)
    );
    assert_eq!(String::from_utf8_lossy(&get.stdout).trim(), "1.5");

    // The rendered command stops cleanly on SIGTERM, as a pod is stopped.
    let status = serve.process.terminate(Duration::from_secs(15));
    assert_eq!(
        status.and_then(|s| s.code()),
        Some(0),
        "dl-serve on SIGTERM: {}",
        serve.stderr()
    );
}

#[test]
fn logger_command_stores_alerts_and_answers_its_probes() {
    let mut cluster = Cluster::new();
    let db = TestDb::new();
    let queue = TestQueue::new("chart_logger", BROKER_PORT);
    let prefix = unique_name("chart_value");
    let port = free_port();
    cluster.render(
        "chart-test",
        merge(
            base_values(),
            json!({
                "logger": {
                    "enabled": true,
                    "queue": &*queue,
                    "queueType": "classic",
                    "keys": [format!("{prefix}.#")],
                    "table": db.table_arg(),
                    "batchTime": "50ms",
                    "metrics": {"port": port}
                }
            }),
        ),
    );
    let deployment = cluster.find("Deployment", "logger").clone();
    let logger = start_and_probe(&cluster, &deployment, port);

    publish(BROKER_PORT, &numeric_alerts(&prefix, 0, 100));
    let count = || {
        query_count(
            &export_support::pg_url(),
            &format!("SELECT count(*) FROM {}", db.sql_table()),
        )
    };
    assert!(
        wait_until(PATIENCE, || count() == 100),
        "the logger stored {} of 100 alerts: {}",
        count(),
        logger.stderr()
    );
    assert_eq!(
        query_count(
            &export_support::pg_url(),
            &format!(
                "SELECT count(*) FROM {} WHERE sensor_name = 's7' AND value_cal = 2 * value_raw",
                db.sql_table()
            )
        ),
        10
    );
}

/// Start a workload whose probes are HTTP on its metrics `port` (the logger, dl-metrics) as
/// the kubelet would, and wait until its readiness probe answers 200; its liveness probe must
/// answer 200 too.
fn start_and_probe(cluster: &Cluster, workload: &Value, port: u16) -> Started {
    let container = &workload["spec"]["template"]["spec"]["containers"][0];
    let ports: BTreeMap<String, u64> = container["ports"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_string(),
                p["containerPort"].as_u64().unwrap(),
            )
        })
        .collect();
    let probe = |name: &str| -> (String, u16) {
        let http = &container[name]["httpGet"];
        let port = match &http["port"] {
            Value::String(named) => ports[named.as_str()],
            other => other.as_u64().unwrap(),
        };
        (http["path"].as_str().unwrap().to_string(), port as u16)
    };
    let (live_path, live_port) = probe("livenessProbe");
    let (ready_path, ready_port) = probe("readinessProbe");
    assert_eq!((live_port, ready_port), (port, port));

    let started = Started::spawn(cluster.command(workload, &[]), &cluster.root);
    assert!(
        wait_until(PATIENCE, || http_get(ready_port, &ready_path).0 == 200),
        "{ready_path} never answered 200: {}",
        started.stderr()
    );
    assert_eq!(http_get(live_port, &live_path).0, 200, "{live_path}");
    started
}

#[test]
fn mesh_metrics_command_answers_its_probes_and_exports_a_heartbeat() {
    let mut cluster = Cluster::new();
    let port = free_port();
    cluster.render(
        "chart-test",
        merge(
            base_values(),
            json!({
                "meshMetrics": {
                    "enabled": true,
                    "requests": true,
                    "maxSensors": 100,
                    "metrics": {"port": port}
                }
            }),
        ),
    );
    let deployment = cluster.find("Deployment", "mesh-metrics").clone();
    let mut metrics = start_and_probe(&cluster, &deployment, port);

    // A heartbeat as a dripline service sends it reaches the rendered program.
    let service = unique_name("chart_heartbeat");
    let sent = run_command(
        Command::new(binary("dl-alert"))
            .args(["-b", "127.0.0.1", "-p", &BROKER_PORT.to_string()])
            .arg(format!("heartbeat.{service}"))
            .arg(json!({"name": service, "id": "0"}).to_string()),
        None,
    );
    assert!(sent.status.success(), "dl-alert: {}", describe(&sent));
    let line = format!("dripline_service_heartbeats_total{{service_name=\"{service}\"}} 1\n");
    assert!(
        wait_until(PATIENCE, || http_get(port, "/metrics").1.contains(&line)),
        "no {line:?} in /metrics: {}",
        metrics.stderr()
    );
    let status = metrics.process.terminate(Duration::from_secs(15));
    assert_eq!(
        status.and_then(|s| s.code()),
        Some(0),
        "dl-metrics on SIGTERM: {}",
        metrics.stderr()
    );
}

/// Rows at `hours_ago` hours before now, sensors a and b.
fn insert_rows(db: &mut TestDb, hours_ago: u32, count: u32) {
    db.exec(&format!(
        "INSERT INTO {{table}} (sensor_name, \"timestamp\", value_raw, value_cal, message_id)
         SELECT CASE WHEN i % 2 = 0 THEN 'a' ELSE 'b' END,
                now() - interval '{hours_ago} hours' + i * interval '1 second', i, 2 * i,
                gen_random_uuid()
         FROM generate_series(1, {count}) AS i"
    ));
}

/// Run the chart's export CronJob as the job `job_name` and read back the lines of the file it
/// wrote to its claim.
fn run_export_job(cluster: &Cluster, job_name: &str) -> Vec<String> {
    let cron_job = cluster.find("CronJob", "export").clone();
    let output = run_command(
        &mut cluster.command(&cron_job, &[("job-name", job_name)]),
        None,
    );
    assert!(output.status.success(), "export: {}", describe(&output));
    let claim = cluster.find("PersistentVolumeClaim", "export")["metadata"]["name"]
        .as_str()
        .unwrap()
        .to_string();
    gunzip_lines(
        &cluster
            .claim_dir(&claim)
            .join(format!("sensor_data-{job_name}.csv.gz")),
    )
}

fn gunzip_lines(path: &Path) -> Vec<String> {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut text = String::new();
    flate2::read::GzDecoder::new(file)
        .read_to_string(&mut text)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines().map(str::to_string).collect()
}

#[test]
fn export_cron_job_writes_a_new_file_per_run_on_its_claim() {
    let mut cluster = Cluster::new();
    let mut db = TestDb::new();
    insert_rows(&mut db, 2, 40);
    cluster.render(
        "chart-test",
        merge(
            base_values(),
            json!({
                "export": {
                    "enabled": true,
                    "table": db.table_arg(),
                    "format": "csv",
                    "gzip": true,
                    "output": {"type": "pvc"}
                }
            }),
        ),
    );
    let cron_job = cluster.find("CronJob", "export").clone();
    let job = |minute: u64| {
        format!(
            "{}-{minute}",
            cron_job["metadata"]["name"].as_str().unwrap()
        )
    };

    let lines = run_export_job(&cluster, &job(29_000_000));
    assert_eq!(lines[0], "sensor_name,timestamp,value_raw,value_cal");
    assert_eq!(lines.len(), 41, "header and 40 rows: {lines:?}");

    // The next night: only what arrived since, into a file of its own.
    insert_rows(&mut db, 1, 6);
    let second = run_export_job(&cluster, &job(29_001_440));
    assert_eq!(second.len(), 7, "header and the 6 new rows: {second:?}");
    let claim = cluster.find("PersistentVolumeClaim", "export")["metadata"]["name"]
        .as_str()
        .unwrap();
    let first = cluster
        .claim_dir(claim)
        .join(format!("sensor_data-{}.csv.gz", job(29_000_000)));
    assert_eq!(
        gunzip_lines(&first).len(),
        41,
        "the first file is left alone"
    );
}

#[test]
fn export_to_stdout_prints_the_last_day() {
    let mut cluster = Cluster::new();
    let mut db = TestDb::new();
    insert_rows(&mut db, 30, 5); // older than the day
    insert_rows(&mut db, 3, 8);
    cluster.render(
        "chart-test",
        merge(
            base_values(),
            json!({
                "export": {
                    "enabled": true,
                    "table": db.table_arg(),
                    "format": "jsonl",
                    "gzip": false,
                    "output": {"type": "stdout", "since": "24h"}
                }
            }),
        ),
    );
    assert!(
        !cluster
            .docs
            .iter()
            .any(|doc| doc["kind"].as_str() == Some("PersistentVolumeClaim")),
        "no claim for an export to stdout"
    );
    let cron_job = cluster.find("CronJob", "export").clone();
    let output = run_command(
        &mut cluster.command(&cron_job, &[("job-name", "unused")]),
        None,
    );
    assert!(output.status.success(), "{}", describe(&output));
    let rows: Vec<serde_json::Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(rows.len(), 8, "{rows:?}");
    assert!(rows
        .iter()
        .all(|row| row["value_cal"] == json!(2.0 * row["value_raw"].as_f64().unwrap())));
}

/// examples/second-mesh/dripline-tools.values.yaml, pointed at the local services with names
/// of this test's own: the guide's key-value store (its config as written there, auth_file
/// and all) sends a value on set, the logger (quorum queue, no --init-schema, as the
/// `dripline` role would run it) stores it, the nightly export writes it to its claim.
#[test]
fn second_mesh_values_carry_a_value_from_the_store_to_the_export_file() {
    let mut cluster = Cluster::new();
    let db = TestDb::new();
    let queue = TestQueue::new("chart_mesh_logger", BROKER_PORT);
    let path = dripline_e2e::repo_path("examples/second-mesh/dripline-tools.values.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut values: serde_json::Value =
        serde_json::to_value(serde_yaml::from_str::<Value>(&text).unwrap()).unwrap();

    // Only where things are and what they are called changes.
    values["broker"]["host"] = json!("127.0.0.1");
    values["database"]["host"] = json!("127.0.0.1");
    values["database"]["name"] = json!("postgres");
    let service = unique_name("chart_mesh_store");
    let config = &mut values["services"][0]["config"];
    assert_eq!(config["name"], json!("my_store"));
    config["name"] = json!(service);
    let mut peaches = String::new();
    for endpoint in config["endpoints"].as_array_mut().unwrap() {
        let name = unique_name(endpoint["name"].as_str().unwrap());
        if endpoint["name"] == json!("peaches") {
            peaches = name.clone();
        }
        endpoint["name"] = json!(name);
    }
    assert!(!peaches.is_empty(), "the store has peaches");
    assert_eq!(values["logger"]["initSchema"], json!(false));
    let (mut serve, logger, _) = start_service_and_logger(
        &mut cluster,
        values,
        &queue,
        format!("sensor_value.{peaches}"),
        &db,
    );
    let test_pod = cluster.find("Pod", "test").clone();
    assert!(
        wait_until(Duration::from_secs(30), || run_command(
            &mut cluster.command(&test_pod, &[]),
            None
        )
        .status
        .success()),
        "helm test never passed: {}",
        serve.stderr()
    );

    // kubectl exec deploy/dripline-tools-toolbox -- dl-set peaches 21
    let toolbox = cluster.find("Deployment", "toolbox").clone();
    let set = run_command(
        &mut cluster.exec(&toolbox, "dl-set", &[peaches.as_str(), "21"]),
        None,
    );
    assert!(set.status.success(), "dl-set: {}", describe(&set));
    let rows = || {
        query_count(
            &export_support::pg_url(),
            &format!(
                "SELECT count(*) FROM {} WHERE sensor_name = '{peaches}' AND value_raw = 21 \
                 AND value_cal = 42",
                db.sql_table()
            ),
        )
    };
    assert!(
        wait_until(PATIENCE, || rows() == 1),
        "the set value never reached the table: {}",
        logger.stderr()
    );

    let lines = run_export_job(&cluster, "dripline-tools-export-29000000");
    assert!(
        lines
            .iter()
            .any(|line| line.starts_with(&format!("{peaches},")) && line.ends_with(",21.0,42.0")),
        "the exported file lacks the value: {lines:?}"
    );
    assert_eq!(
        serve
            .process
            .terminate(Duration::from_secs(15))
            .and_then(|s| s.code()),
        Some(0)
    );
}

#[test]
fn kubernetes_var_expansion_as_the_kubelet_does() {
    let env = vec![("A".to_string(), "x".to_string())];
    assert_eq!(expand_vars("f-$(A).csv", &env), "f-x.csv");
    assert_eq!(expand_vars("$(B)-$$(A)-$", &env), "$(B)-$(A)-$");
    let mounts = vec![("/export".to_string(), PathBuf::from("/tmp/p"))];
    assert_eq!(map_mounts("/export/a.csv", &mounts), "/tmp/p/a.csv");
    assert_eq!(map_mounts("--state=/export/s", &mounts), "--state=/tmp/p/s");
    assert_eq!(map_mounts("/exported", &mounts), "/exported");
}

/// `overlay` merged into `base` as helm merges two values files: maps key by key, anything
/// else (lists too) replaced.
fn merge_values(base: &mut serde_json::Value, overlay: &serde_json::Value) {
    match (base, overlay) {
        (serde_json::Value::Object(base), serde_json::Value::Object(overlay)) => {
            for (key, value) in overlay {
                merge_values(base.entry(key.clone()).or_insert(json!(null)), value);
            }
        }
        (base, overlay) => *base = overlay.clone(),
    }
}

/// The value of env `name` in the first container of `workload` (a Deployment), as rendered.
fn rendered_env(workload: &Value, name: &str) -> String {
    workload["spec"]["template"]["spec"]["containers"][0]["env"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|var| var["name"].as_str() == Some(name))
        .and_then(|var| var["value"].as_str())
        .unwrap_or_else(|| panic!("no env {name}"))
        .to_string()
}

/// examples/second-mesh's high-availability variant (dripline-tools.values.yaml, then
/// dripline-tools.ha.values.yaml, as `helm install -f … -f …` layers them). As written, every
/// program gets the three RabbitMQ pods and both PostgreSQL pods as lists, and the nightly
/// export asks for a standby. Pointed at the local services, the rendered commands run: the
/// database list starts with a host that refuses (127.0.0.2, where nothing listens) and the
/// logger settles on the one that takes writes, says so, and stores alerts; the export
/// (prefer-standby, no standby here) falls back to it; the service answers the helm test.
#[test]
fn second_mesh_ha_values_list_the_nodes_and_their_commands_run() {
    let read = |name: &str| -> serde_json::Value {
        let path = dripline_e2e::repo_path(&format!("examples/second-mesh/{name}"));
        let text = std::fs::read_to_string(&path).unwrap();
        serde_json::to_value(serde_yaml::from_str::<Value>(&text).unwrap()).unwrap()
    };
    let mut values = read("dripline-tools.values.yaml");
    merge_values(&mut values, &read("dripline-tools.ha.values.yaml"));

    // As written: the lists, one env value each, and the export's choice.
    let mut cluster = Cluster::new();
    cluster.render("dripline-tools", values.clone());
    let logger = cluster.find("Deployment", "logger").clone();
    let join = |list: &serde_json::Value| -> String {
        let names: Vec<&str> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h.as_str().unwrap())
            .collect();
        names.join(",")
    };
    assert_eq!(values["broker"]["hosts"].as_array().unwrap().len(), 3);
    assert_eq!(
        rendered_env(&logger, "DRIPLINE_BROKER"),
        join(&values["broker"]["hosts"])
    );
    assert_eq!(values["database"]["hosts"].as_array().unwrap().len(), 2);
    assert_eq!(
        rendered_env(&logger, "PGHOST"),
        join(&values["database"]["hosts"])
    );
    let service = cluster.find("Deployment", "service").clone();
    assert_eq!(
        rendered_env(&service, "DRIPLINE_BROKER"),
        join(&values["broker"]["hosts"])
    );
    let cron_job = cluster.find("CronJob", "export").clone();
    let args =
        &cron_job["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["args"];
    let args: Vec<&str> = args
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|a| a.as_str())
        .collect();
    assert!(
        args.windows(2)
            .any(|w| w == ["--pg-target-session-attrs", "prefer-standby"]),
        "{args:?}"
    );

    // Pointed at the local services. The broker list becomes the one local node (a list
    // there is the broker settings' own tests' business); the database list keeps two hosts.
    let db = TestDb::new();
    let queue = TestQueue::new("chart_ha_logger", BROKER_PORT);
    let prefix = unique_name("chart_ha_value");
    values["broker"]["hosts"] = json!(["127.0.0.1"]);
    values["database"]["hosts"] = json!(["127.0.0.2", "127.0.0.1"]);
    values["database"]["name"] = json!("postgres");
    let store = unique_name("chart_ha_store");
    values["services"][0]["config"]["name"] = json!(store);
    for endpoint in values["services"][0]["config"]["endpoints"]
        .as_array_mut()
        .unwrap()
    {
        endpoint["name"] = json!(unique_name(endpoint["name"].as_str().unwrap()));
        endpoint.as_object_mut().unwrap().remove("log_interval");
    }
    let (mut serve, logger, metrics_port) =
        start_service_and_logger(&mut cluster, values, &queue, format!("{prefix}.#"), &db);
    assert!(
        logger
            .stderr()
            .contains("writing to the database at 127.0.0.1:5432 (primary)"),
        "{}",
        logger.stderr()
    );
    assert!(http_get(metrics_port, "/metrics")
        .1
        .contains("dl_log_to_pg_database_info{server=\"127.0.0.1:5432\"} 1"));
    let test_pod = cluster.find("Pod", "test").clone();
    assert!(
        wait_until(Duration::from_secs(30), || run_command(
            &mut cluster.command(&test_pod, &[]),
            None
        )
        .status
        .success()),
        "helm test never passed: {}",
        serve.stderr()
    );

    publish(BROKER_PORT, &numeric_alerts(&prefix, 0, 100));
    let count = || {
        query_count(
            &export_support::pg_url(),
            &format!("SELECT count(*) FROM {}", db.sql_table()),
        )
    };
    assert!(
        wait_until(PATIENCE, || count() == 100),
        "the logger stored {} of 100 alerts: {}",
        count(),
        logger.stderr()
    );

    let lines = run_export_job(&cluster, "dripline-tools-export-29000001");
    assert_eq!(
        lines.iter().filter(|line| line.starts_with("s7,")).count(),
        10,
        "{lines:?}"
    );
    assert_eq!(
        serve
            .process
            .terminate(Duration::from_secs(15))
            .and_then(|s| s.code()),
        Some(0)
    );
}

/// The chart's schema refuses host lists the programs would refuse: more than 16, a
/// database host with a port in it (libpq would read `db:5432` as a host name), an entry
/// with a comma (it would split into two), an unknown target_session_attrs. helm names the
/// value.
#[test]
fn hostile_host_lists_are_refused_by_the_schema() {
    let cluster = Cluster::new();
    let many: Vec<String> = (0..17).map(|n| format!("rabbitmq-{n}")).collect();
    for (values, names) in [
        (json!({"broker": {"hosts": many}}), "broker.hosts"),
        (
            json!({"database": {"hosts": ["db:5432"]}}),
            "database.hosts.0",
        ),
        (json!({"broker": {"hosts": ["a,b"]}}), "broker.hosts.0"),
        (
            json!({"database": {"targetSessionAttrs": "sometimes"}}),
            "database.targetSessionAttrs",
        ),
        (
            json!({"export": {"targetSessionAttrs": "primary-ish"}}),
            "export.targetSessionAttrs",
        ),
    ] {
        let values_path = cluster.root.join(unique_name("hostile.values.yaml"));
        let mut merged = base_values();
        merge_values(&mut merged, &values);
        std::fs::write(&values_path, merged.to_string()).unwrap();
        let helm_home = cluster.root.join("helm-home");
        let output = Command::new(helm())
            .arg("template")
            .arg("hostile")
            .arg(chart_dir())
            .arg("-f")
            .arg(&values_path)
            .env("HELM_CONFIG_HOME", helm_home.join("config"))
            .env("HELM_CACHE_HOME", helm_home.join("cache"))
            .env("HELM_DATA_HOME", helm_home.join("data"))
            .output()
            .expect("running helm");
        let error = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{values} was accepted");
        assert!(error.contains(names), "{values}: {error}");
    }
}

/// The history CronJobs' commands (issue 15) against a day-partitioned table with one
/// partition past the horizon: before the rollup job has run, prune keeps the partition and
/// fails (status 75, so the Job shows it); after it, prune drops the partition. The rollup job
/// on a table without rollups fails with 66.
#[test]
fn history_cron_jobs_roll_up_then_prune_only_what_the_rollups_cover() {
    let mut cluster = Cluster::new();
    let mut client = dripline_store::postgres::Client::connect(
        &export_support::pg_url(),
        dripline_store::postgres::NoTls,
    )
    .expect("test database");
    let schema = unique_name("chart_prune");
    let table = format!("{schema}.numeric_data");
    // Dropped at the end, also when an assertion fails.
    struct DropSchema<'a>(&'a mut dripline_store::postgres::Client, &'a str);
    impl Drop for DropSchema<'_> {
        fn drop(&mut self) {
            let _ = self
                .0
                .batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.1));
        }
    }
    let old = "2020-02-03T04:05:06Z";
    let line = format!(
        "{{\"routing_key\":\"sensor_value.prune\",\"payload\":{{\"value_raw\":1}},\"timestamp\":\"{old}\"}}\n"
    );
    let pg = export_support::pg_url();
    let mut guard = DropSchema(&mut client, &schema);
    for (program, args) in [
        (
            "dl-log-to-pg",
            vec!["--stdin", "--init-schema", "--partition", "day"],
        ),
        ("dl-history", vec!["partitions", "--ahead", "0"]),
    ] {
        let output = run_command(
            dripline_e2e::without_env_settings(Command::new(binary(program)))
                .args(&args)
                .args(["--pg-url", &pg, "--table", &table]),
            Some(&line),
        );
        assert!(output.status.success(), "{program}: {}", describe(&output));
    }
    cluster.render(
        "chart-test",
        merge(
            base_values(),
            json!({
                "historyRollup": {"enabled": true, "table": table},
                "historyPrune": {"enabled": true, "table": table, "raw": "90d", "minute": "2y"},
            }),
        ),
    );
    let rollup = cluster.find("CronJob", "history-rollup").clone();
    let cron_job = cluster.find("CronJob", "history-prune").clone();
    let output = run_command(&mut cluster.command(&cron_job, &[]), None);
    assert_eq!(output.status.code(), Some(75), "{}", describe(&output));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        stdout.contains("\"action\":\"keep\"") && stdout.contains("numeric_data_p20200203"),
        "{stdout}"
    );
    let output = run_command(&mut cluster.command(&rollup, &[]), None);
    assert!(output.status.success(), "rollup: {}", describe(&output));
    let output = run_command(&mut cluster.command(&cron_job, &[]), None);
    assert!(output.status.success(), "{}", describe(&output));
    let left: i64 = guard
        .0
        .query_one(&format!("SELECT count(*) FROM {table}"), &[])
        .unwrap()
        .get(0);
    assert_eq!(left, 0, "{}", describe(&output));
    let rows = |guard: &mut DropSchema, table: &str| -> i64 {
        guard
            .0
            .query_one(&format!("SELECT count(*) FROM {schema}.{table}"), &[])
            .unwrap()
            .get(0)
    };
    // 2020 is past --minute 2y; no --hour: the hour outlives its raw rows.
    assert_eq!(rows(&mut guard, "numeric_data_1m"), 0);
    assert_eq!(rows(&mut guard, "numeric_data_1h"), 1);

    // A table without rollups: the rollup job fails, and says why.
    let bare = format!("{schema}.bare");
    guard
        .0
        .batch_execute(&format!("CREATE TABLE {bare} (sensor_name text)"))
        .unwrap();
    cluster.render(
        "chart-test",
        merge(
            base_values(),
            json!({"historyRollup": {"enabled": true, "table": bare}}),
        ),
    );
    let rollup = cluster.find("CronJob", "history-rollup").clone();
    let output = run_command(&mut cluster.command(&rollup, &[]), None);
    assert_eq!(output.status.code(), Some(66), "{}", describe(&output));
}
