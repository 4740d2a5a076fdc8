//! Running the request tools: one request, a broadcast, or a batch from stdin.

use crate::output::{OutputStyle, RequestResult};
use crate::{RequestArgs, RequestSpec};
use anyhow::Context;
use dripline_cli::exit_status::{self, ExitFailure};
use dripline_cli::jsonl;
use dripline_cli::output::LineOutput;
use dripline_mesh::{BrokerSettings, MeshConnection, MeshError, RequestClient, RequestOutcome};
use dripline_protocol::{LockoutKey, Message, Operation, ReturnCode};
use futures_util::StreamExt;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

/// What a tool asks for: a request built from its arguments, or a batch from stdin.
pub enum Work {
    /// One request from the command line.
    Single(RequestSpec),
    /// Read JSON lines of this operation from stdin.
    Batch(Operation),
}

impl Work {
    /// Batch mode when the target is `-`, or absent while stdin is not a terminal; else the
    /// request `single` builds. No target on a terminal is a usage error.
    pub fn choose(
        target: Option<&str>,
        operation: Operation,
        single: impl FnOnce(&str) -> Result<RequestSpec, String>,
    ) -> Result<Work, String> {
        match target {
            Some("-") => Ok(Work::Batch(operation)),
            Some(target) => single(target).map(Work::Single),
            None if !std::io::stdin().is_terminal() => Ok(Work::Batch(operation)),
            None => Err(
                "no target given (name an endpoint, or '-' to read JSON lines from stdin)".into(),
            ),
        }
    }
}

/// Run a request tool to its exit status: logging set up, a runtime built, Ctrl-C handled
/// (status 130), errors printed as one line.
pub fn run_tool(program: &str, args: RequestArgs, work: Result<Work, String>) -> ExitCode {
    dripline_cli::init_logging(&args.log);
    dripline_cli::run_main(program, || {
        let work = work.map_err(|message| ExitFailure::new(exit_status::USAGE, message))?;
        // One thread: a request tool mostly waits on the broker, and every hand-over between
        // threads costs a wake-up on the critical path of a one-shot request.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("starting the async runtime")?;
        runtime.block_on(async {
            tokio::select! {
                status = run(program, &args, work) => status,
                _ = tokio::signal::ctrl_c() => Ok(130),
            }
        })
    })
}

async fn run(program: &str, args: &RequestArgs, work: Work) -> anyhow::Result<u8> {
    let mut options = args.broker.to_options();
    // A one-shot tool should fail fast when the broker is down, not retry for a minute.
    options.max_connection_attempts = options.max_connection_attempts.or(Some(1));
    let settings = BrokerSettings::resolve(&options)
        .map_err(|e| ExitFailure::new(exit_status::CONFIG, e.to_string()))?;
    let style = OutputStyle {
        full: args.full || args.broadcast,
        field: args.field.clone(),
        pretty: args.pretty,
    };
    let mut out = LineOutput::stdout(false);
    let status = match work {
        Work::Single(mut spec) => {
            if spec.lockout_key.is_none() {
                spec.lockout_key = args.lockout_key.clone();
            }
            let client = connect(&settings).await?;
            if args.broadcast {
                broadcast(program, &client, spec, args.timeout, &style, &mut out).await?
            } else {
                let result = send(&client, &spec, args.timeout).await?;
                print_result(program, &result, &style, false, &mut out)?
            }
        }
        Work::Batch(operation) => {
            batch(program, args, operation, &settings, &style, &mut out).await?
        }
    };
    out.flush()?;
    Ok(status)
}

async fn connect(settings: &BrokerSettings) -> anyhow::Result<(MeshConnection, RequestClient)> {
    let connection = MeshConnection::connect(settings, "unknown")
        .await
        .map_err(mesh_failure)?;
    let client = RequestClient::open(&connection)
        .await
        .map_err(mesh_failure)?;
    Ok((connection, client))
}

/// Broker trouble is a dripline AMQP error (101), exit status 1, as dl-agent reports it.
fn mesh_failure(error: MeshError) -> anyhow::Error {
    ExitFailure::new(
        ReturnCode::AMQP_ERROR_BROKER_CONNECTION.exit_status(),
        error.to_string(),
    )
    .into()
}

fn build_message(
    client: &(MeshConnection, RequestClient),
    spec: &RequestSpec,
) -> Result<Message, RequestResult> {
    let lockout_key = match spec.lockout_key.as_deref().map(LockoutKey::parse) {
        None => LockoutKey::None,
        Some(LockoutKey::Invalid(text)) => {
            return Err(RequestResult::client_failure(
                &spec.target,
                &spec.specifier,
                ReturnCode::CLIENT_ERROR,
                format!("lockout key '{text}' is not a UUID; nothing was sent"),
            ))
        }
        Some(key) => key,
    };
    Ok(Message::request(
        &spec.target,
        spec.operation,
        &spec.specifier,
        spec.payload.clone(),
        lockout_key,
        client.0.sender_info().clone(),
        dripline_mesh::timestamp_now(),
    ))
}

async fn send(
    client: &(MeshConnection, RequestClient),
    spec: &RequestSpec,
    timeout: Duration,
) -> anyhow::Result<RequestResult> {
    let message = match build_message(client, spec) {
        Ok(message) => message,
        Err(failure) => return Ok(failure),
    };
    let outcome = client
        .1
        .request(message, timeout)
        .await
        .map_err(mesh_failure)?;
    Ok(match outcome {
        RequestOutcome::Reply(reply) => {
            RequestResult::from_reply(&spec.target, &spec.specifier, *reply)
        }
        RequestOutcome::Unroutable => unroutable(spec),
        RequestOutcome::TimedOut => timed_out(spec, timeout),
    })
}

async fn broadcast(
    program: &str,
    client: &(MeshConnection, RequestClient),
    spec: RequestSpec,
    window: Duration,
    style: &OutputStyle,
    out: &mut LineOutput,
) -> anyhow::Result<u8> {
    let message = match build_message(client, &spec) {
        Ok(message) => message,
        Err(failure) => return print_result(program, &failure, style, false, out),
    };
    let window = if window.is_zero() {
        Duration::from_secs(10)
    } else {
        window
    };
    let replies = client
        .1
        .collect(message, window)
        .await
        .map_err(mesh_failure)?;
    let Some(replies) = replies else {
        let failure = unroutable(&spec);
        return print_result(program, &failure, style, false, out);
    };
    if replies.is_empty() {
        let failure = timed_out(&spec, window);
        return print_result(program, &failure, style, false, out);
    }
    let mut status = 0;
    for reply in replies {
        let result = RequestResult::from_reply(&spec.target, &spec.specifier, reply);
        status = status.max(print_result(program, &result, style, true, out)?);
    }
    Ok(status)
}

/// Print one result; returns its exit status. Failures also get a line on stderr.
fn print_result(
    program: &str,
    result: &RequestResult,
    style: &OutputStyle,
    batch: bool,
    out: &mut LineOutput,
) -> anyhow::Result<u8> {
    if !result.succeeded() {
        eprintln!("{program}: {}", result.describe_failure());
    }
    match style.render(result, batch) {
        Ok(Some(text)) => out.write_line(&text).context("writing to stdout")?,
        Ok(None) => {}
        Err(message) => {
            eprintln!("{program}: {message}");
            if batch {
                out.write_line("").context("writing to stdout")?;
            }
            return Ok(ReturnCode::HANDLING_REPLY.exit_status());
        }
    }
    Ok(if result.succeeded() {
        0
    } else {
        result.return_code.exit_status()
    })
}

async fn batch(
    program: &str,
    args: &RequestArgs,
    operation: Operation,
    settings: &BrokerSettings,
    style: &OutputStyle,
    out: &mut LineOutput,
) -> anyhow::Result<u8> {
    let client = connect(settings).await?;
    let client = &client;
    // Lines are read on a blocking thread so that a slow producer never stalls replies.
    let (line_sender, line_receiver) = tokio::sync::mpsc::channel(1024);
    std::thread::spawn(move || {
        let stdin = std::io::stdin().lock();
        for item in jsonl::read_objects(stdin, "stdin") {
            if line_sender.blocking_send(item).is_err() {
                break;
            }
        }
    });
    let default_key = args.lockout_key.clone();
    let timeout = args.timeout;
    let results = tokio_stream_from(line_receiver)
        .map(|item| {
            let default_key = default_key.clone();
            async move {
                let line = match item {
                    Ok(line) => line,
                    Err(error) => return Ok(bad_line(error)),
                };
                let mut spec = match RequestSpec::from_line(&line.object, operation) {
                    Ok(spec) => spec,
                    Err(reason) => {
                        let mut failure = RequestResult::client_failure(
                            line.object
                                .get("target")
                                .and_then(|t| t.as_str())
                                .unwrap_or("?"),
                            "",
                            ReturnCode::INVALID_REQUEST,
                            reason,
                        );
                        failure.line = Some(line.line);
                        return Ok(failure);
                    }
                };
                if spec.lockout_key.is_none() {
                    spec.lockout_key = default_key;
                }
                let mut result = send(client, &spec, timeout).await?;
                result.line = Some(line.line);
                Ok::<_, anyhow::Error>(result)
            }
        })
        .buffered(usize::from(args.in_flight));
    futures_util::pin_mut!(results);
    let mut status = 0u8;
    while let Some(result) = results.next().await {
        let result = result?;
        let this = print_result(program, &result, style, true, out)?;
        status = status.max(this);
        if this != 0 && args.fail_fast {
            break;
        }
    }
    Ok(status)
}

fn bad_line(error: jsonl::LineError) -> RequestResult {
    let line = match &error {
        jsonl::LineError::NotJson { line, .. } | jsonl::LineError::NotObject { line, .. } => {
            Some(*line)
        }
        jsonl::LineError::Read { .. } => None,
    };
    // The message already names the line; keep only what follows it.
    let text = error.to_string();
    let reason = text
        .split_once(": ")
        .map_or(text.clone(), |(_, rest)| rest.to_string());
    let mut failure = RequestResult::client_failure("-", "", ReturnCode::INVALID_REQUEST, reason);
    failure.line = line;
    failure
}

fn tokio_stream_from<T: Send + 'static>(
    mut receiver: tokio::sync::mpsc::Receiver<T>,
) -> impl futures_util::Stream<Item = T> {
    futures_util::stream::poll_fn(move |cx| receiver.poll_recv(cx))
}

/// The 403 of a request that no queue was bound for.
fn unroutable(spec: &RequestSpec) -> RequestResult {
    RequestResult::client_failure(
        &spec.target,
        &spec.specifier,
        ReturnCode::UNABLE_TO_SEND,
        format!(
            "no service is bound for '{}' on this mesh (unroutable)",
            spec.target
        ),
    )
}

/// The 404 of a request that got no reply within `timeout`.
fn timed_out(spec: &RequestSpec, timeout: Duration) -> RequestResult {
    RequestResult::client_failure(
        &spec.target,
        &spec.specifier,
        ReturnCode::CLIENT_TIMEOUT,
        format!("no reply within {}", humanize(timeout)),
    )
}

/// `10s` or `500ms`, for messages.
fn humanize(duration: Duration) -> String {
    if duration.subsec_millis() == 0 {
        format!("{}s", duration.as_secs())
    } else {
        format!("{}ms", duration.as_millis())
    }
}
