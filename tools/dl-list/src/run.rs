//! One listing: the sources asked at once, merged, printed; the exit status.

use crate::directory::{self, Entry};
use crate::format::{self, Format};
use crate::management::{ManagementApi, ServiceQueue};
use crate::sources::{self, Enough, Heartbeats, PingAnswers};
use crate::Args;
use anyhow::Context;
use dripline_cli::exit_status::{ExitFailure, FAILURE, SUCCESS, USAGE};
use dripline_cli::failures::mesh_failure;
use dripline_cli::output::LineOutput;
use dripline_cli::{report, Shutdown};
use dripline_mesh::{BrokerSettings, RequestClient};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

/// What the management API said: its service queues, or why it did not answer.
type ManagementAnswer = Result<BTreeMap<String, ServiceQueue>, String>;

/// Ask every source, print the directory and return the exit status.
pub async fn run(args: Args, _shutdown: Shutdown) -> anyhow::Result<u8> {
    let settings = args.broker.one_shot_settings()?;
    let api = management_api(&args, &settings)?;
    let format = args.format.resolve();

    let started = Instant::now();
    let heartbeats = match args.listen.filter(|d| !d.is_zero()) {
        Some(listen) => {
            let listener = sources::open_heartbeats(&settings)
                .await
                .map_err(mesh_failure)?;
            let prefix = settings.heartbeat_routing_key.clone();
            let until = started + listen;
            Some(tokio::spawn(async move {
                sources::heartbeats(listener, &prefix, until).await
            }))
        }
        None => None,
    };
    let (expected_sender, expected) = watch::channel(None);
    let management = api.map(|api| {
        let exchange = settings.requests_exchange.clone();
        tokio::spawn(ask_management(api, exchange, expected_sender))
    });

    let (connection, client) = RequestClient::connect(&settings)
        .await
        .map_err(mesh_failure)?;
    let (target, enough) = match &args.service {
        Some(service) => (service.as_str(), Enough::First),
        None => ("broadcast", Enough::AllOf(expected)),
    };
    let ping = sources::ping(&connection, &client, target, args.timeout, enough)
        .await
        .map_err(mesh_failure)?;
    connection.close().await;

    let management = match management {
        Some(task) => Some(task.await.context("the management API task failed")?),
        None => None,
    };
    let heartbeats = match heartbeats {
        Some(task) => Some(task.await.context("the heartbeat task failed")?),
        None => None,
    };
    let queues = management.as_ref().and_then(|answer| answer.as_ref().ok());
    let summary = summarize(&ping, management.as_ref(), heartbeats.as_ref(), &args);
    if let Some(Err(reason)) = &management {
        report::warning(format_args!(
            "the management API did not answer ({reason}); endpoints and consumers are unknown \
             (--no-management skips it)"
        ));
    }
    if ping.dropped > 0 {
        report::warning(format_args!(
            "{} more services answered than the {} listed",
            ping.dropped,
            sources::MAX_SERVICES
        ));
    }
    if args.endpoints && queues.is_none() {
        report::warning("--endpoints needs the management API: no endpoint can be listed");
    }

    let mut entries = directory::merge(&ping, queues, heartbeats.as_ref(), Instant::now());
    let mut status = SUCCESS;
    if let Some(name) = &args.service {
        entries.retain(|entry| entry.answers_to(name));
        if entries.is_empty() {
            report::error(format_args!(
                "no service or endpoint '{name}' found ({summary})"
            ));
            status = FAILURE;
        }
    }
    for name in &args.expect {
        if !entries.iter().any(|entry| entry.answers_to(name)) {
            report::error(format_args!(
                "expected service '{name}' not found ({summary})"
            ));
            status = FAILURE;
        }
    }
    print(&entries, &args, format, &summary)?;
    Ok(status)
}

/// The management API to ask, unless `--no-management`.
fn management_api(args: &Args, settings: &BrokerSettings) -> anyhow::Result<Option<ManagementApi>> {
    if args.no_management {
        return Ok(None);
    }
    let url = match &args.management_url {
        Some(url) if url.starts_with("http://") || url.starts_with("https://") => {
            url.trim_end_matches('/').to_string()
        }
        Some(url) => {
            return Err(ExitFailure::new(
                USAGE,
                format!("--management-url '{url}' is not an http:// or https:// URL"),
            )
            .into())
        }
        // The management API of the first broker node (every node of a cluster serves it).
        None => {
            let host = settings
                .nodes
                .first()
                .map_or("localhost", |node| &node.host);
            if host.contains(':') {
                format!("http://[{host}]:15672")
            } else {
                format!("http://{host}:15672")
            }
        }
    };
    Ok(Some(ManagementApi {
        url,
        username: settings.username.clone(),
        password: settings.password.expose().to_string(),
        vhost: settings.vhost.clone(),
        timeout: args.timeout.max(Duration::from_secs(1)),
    }))
}

/// Ask the management API on a blocking thread; tell `expected` which services have a
/// consumer, so that the ping can stop once all of them answered.
async fn ask_management(
    api: ManagementApi,
    requests_exchange: String,
    expected: watch::Sender<Option<BTreeSet<String>>>,
) -> ManagementAnswer {
    let answer = tokio::task::spawn_blocking(move || api.service_queues(&requests_exchange))
        .await
        .unwrap_or_else(|error| Err(format!("the HTTP client failed: {error}")));
    if let Ok(queues) = &answer {
        let served = queues
            .iter()
            .filter(|(_, queue)| queue.consumers != Some(0))
            .map(|(name, _)| name.clone())
            .collect();
        let _ = expected.send(Some(served));
    }
    answer
}

/// `sources: ping 3 replies, management 3 service queues, heartbeat off (--listen D)`.
fn summarize(
    ping: &PingAnswers,
    management: Option<&ManagementAnswer>,
    heartbeats: Option<&Heartbeats>,
    args: &Args,
) -> String {
    let ping = if ping.unroutable {
        "ping unroutable (no service bound)".to_string()
    } else {
        format!("ping {} replies", ping.services.len())
    };
    let management = match management {
        None => "management off".to_string(),
        Some(Ok(queues)) => format!("management {} service queues", queues.len()),
        Some(Err(_)) => "management unreachable".to_string(),
    };
    let heartbeat = match (heartbeats, args.listen) {
        (Some(heard), Some(listen)) => {
            format!("heartbeat {} services in {listen:?}", heard.services.len())
        }
        _ => "heartbeat off (--listen D)".to_string(),
    };
    format!("sources: {ping}, {management}, {heartbeat}")
}

fn print(entries: &[Entry], args: &Args, format: Format, summary: &str) -> anyhow::Result<()> {
    let mut out = LineOutput::stdout(false);
    let lines = match (format, args.endpoints) {
        (Format::Jsonl, true) => format::endpoints_jsonl(entries),
        (Format::Jsonl, false) => entries
            .iter()
            .map(|entry| serde_json::to_string(entry).context("encoding an entry"))
            .collect::<anyhow::Result<_>>()?,
        (_, true) => format::endpoints_table(entries),
        (_, false) if args.service.is_some() => {
            let mut lines = Vec::new();
            for (i, entry) in entries.iter().enumerate() {
                if i > 0 {
                    lines.push(String::new());
                }
                lines.extend(format::detail(entry));
            }
            lines
        }
        (_, false) => format::services_table(entries),
    };
    for line in &lines {
        out.write_line(line).context("writing to stdout")?;
    }
    if format != Format::Jsonl {
        out.write_line(summary).context("writing to stdout")?;
    }
    out.flush().context("writing to stdout")?;
    Ok(())
}
