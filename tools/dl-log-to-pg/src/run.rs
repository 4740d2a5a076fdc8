//! Wiring: flags → database and broker settings → the broker consumer or the stdin reader,
//! until the input ends or a signal comes.

use crate::args::Args;
use crate::broker::{self, QueuePlan};
use crate::database::Database;
use crate::metrics::{Metrics, Readiness, ReadinessRule};
use crate::stdin;
use dripline_cli::exit_status::{self, CONFIG, DATA_ERROR, SUCCESS, UNAVAILABLE};
use dripline_cli::failures::{mesh_failure, store_failure};
use dripline_cli::{ExitFailure, Shutdown};
use dripline_mesh::{Backoff, BrokerSettings, MeshError};
use dripline_store::{ConnectionConfig, SensorTables};
use std::sync::Arc;
use tokio::sync::watch;

/// Run dl-log-to-pg with parsed arguments until the input ends or `shutdown`; returns the
/// exit status.
pub async fn run(args: Args, shutdown: Shutdown) -> anyhow::Result<u8> {
    let options = args
        .database
        .to_options(args.broker.auth_file.as_deref(), "dl-log-to-pg");
    let config = ConnectionConfig::resolve(&options)
        .map_err(|error| ExitFailure::new(CONFIG, error.to_string()))?;
    let stop = shutdown.receiver();
    let metrics = Arc::new(Metrics::default());
    if let Some(address) = args.metrics_addr {
        let rule = ReadinessRule {
            needs_broker: !args.stdin,
            stall: args.stall_timeout,
        };
        dripline_metrics::serve(address, Arc::new(Readiness::new(metrics.clone(), rule)))
            .await
            .map_err(|error| ExitFailure::new(UNAVAILABLE, error.to_string()))?;
    }
    let tables = match &args.json_table {
        Some(json) => SensorTables {
            numeric: args.table.clone(),
            json: json.clone(),
        },
        None => SensorTables::beside(args.table.clone()),
    };
    let Some(database) = open_database(&args, config, tables, &metrics, stop.clone()).await? else {
        return Ok(SUCCESS);
    };
    let batch_size = args.batch_size as usize;
    if args.stdin {
        let outcome = stdin::run(database, batch_size, args.batch_time, &metrics, stop).await;
        summarize(&metrics);
        return Ok(stdin_status(&outcome));
    }
    let settings = broker_settings(&args)?;
    let plan = QueuePlan {
        queue: args.queue.clone(),
        queue_type: args.queue_type,
        keys: args.keys.clone(),
        prefetch: args.prefetch(),
        batch_size,
        batch_time: args.batch_time,
        max_message_size: args.max_message_size as usize,
    };
    broker::run(&settings, plan, database, metrics.clone(), stop)
        .await
        .map_err(queue_failure)?;
    summarize(&metrics);
    Ok(SUCCESS)
}

/// Open the database. Consuming from the broker, an unreachable database is waited for (a
/// pod may start before PostgreSQL); reading stdin, it is an error. Wrong settings or
/// credentials are errors either way. `None`: stopped while waiting.
async fn open_database(
    args: &Args,
    config: ConnectionConfig,
    tables: SensorTables,
    metrics: &Arc<Metrics>,
    mut stop: watch::Receiver<bool>,
) -> anyhow::Result<Option<Database>> {
    let mut backoff = Backoff::new(
        std::time::Duration::from_millis(200),
        std::time::Duration::from_secs(10),
    );
    let mut reported = false;
    loop {
        let error = match Database::open(
            config.clone(),
            tables.clone(),
            args.init_schema.then_some(args.partition),
            metrics.clone(),
        )
        .await
        {
            Ok(database) => return Ok(Some(database)),
            Err(error) if error.is_connection_problem() && !args.stdin => error,
            Err(error) => return Err(store_failure(error)),
        };
        if !reported {
            tracing::warn!("{error}; waiting for the database");
            reported = true;
        }
        tokio::select! {
            _ = tokio::time::sleep(backoff.next_delay()) => {}
            _ = stop.wait_for(|stop| *stop) => return Ok(None),
        }
    }
}

/// Broker settings; the logger reconnects for ever unless told otherwise.
fn broker_settings(args: &Args) -> anyhow::Result<BrokerSettings> {
    let settings = args.broker.settings_with(|options| {
        options.max_connection_attempts = options.max_connection_attempts.or(Some(0));
    })?;
    Ok(settings)
}

/// A queue declared before with other arguments is a settings problem (78), with a hint.
fn queue_failure(error: MeshError) -> anyhow::Error {
    if error.is_precondition_failed() {
        return ExitFailure::new(
            CONFIG,
            format!(
                "{error} (the queue exists with other arguments: use the same --queue-type, \
                 or another --queue)"
            ),
        )
        .into();
    }
    mesh_failure(error)
}

/// The exit status of `--stdin`: interrupted (130) before some lines refused (65).
fn stdin_status(outcome: &stdin::StdinOutcome) -> u8 {
    if outcome.stopped_at.is_some() {
        exit_status::INTERRUPTED
    } else if outcome.refused > 0 {
        DATA_ERROR
    } else {
        SUCCESS
    }
}

fn summarize(metrics: &Metrics) {
    let (received, written, duplicates, refused) = metrics.totals();
    tracing::info!(
        received,
        written,
        duplicates,
        refused,
        "stopped: {received} alerts received, {written} rows written, {duplicates} already \
         stored, {refused} not stored"
    );
}
