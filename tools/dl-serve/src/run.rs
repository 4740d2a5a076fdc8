//! Wiring: config → endpoints → broker settings → connection → service, until a signal.

use crate::args::Args;
use crate::config::{self, ServiceConfig};
use crate::key_value_store::KeyValueStore;
use dripline_cli::exit_status::{CONFIG, SOFTWARE, SUCCESS};
use dripline_cli::failures::mesh_failure;
use dripline_cli::{init_logging, shutdown_signal, ExitFailure};
use dripline_mesh::service::{Dispatcher, Endpoint, Service, ServiceEndpoint, ServiceOptions};
use dripline_mesh::{BrokerSettings, MeshConnection};
use serde_json::json;
use std::time::Duration;

/// The heartbeat period when neither the flag nor the config sets one.
const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(60);

/// Run dl-serve with parsed arguments; returns the exit status.
pub fn run(args: Args) -> anyhow::Result<u8> {
    init_logging(&args.log);
    let config = config::load(&args.config, &|name| std::env::var(name).ok())
        .map_err(|error| ExitFailure::new(CONFIG, error.lines().join("\ndl-serve: ")))?;
    for warning in &config.warnings {
        tracing::warn!("{warning}");
    }
    let mut options = args.broker.to_options();
    options.config_mesh = config.mesh.clone();
    if let Some(key) = &args.heartbeat_routing_key {
        options.config_mesh.heartbeat_routing_key = Some(key.clone());
    }
    if options.auth_file.is_none() {
        options.auth_file = config.auth_file.clone();
    }
    let settings = BrokerSettings::resolve(&options)
        .map_err(|error| ExitFailure::new(CONFIG, error.to_string()))?;
    let heartbeat = args
        .heartbeat_interval_s
        .map(Duration::from_secs_f64)
        .or(config.heartbeat_interval)
        .unwrap_or(DEFAULT_HEARTBEAT);
    let dispatcher = build_dispatcher(&config, heartbeat)?;
    if args.check {
        let names: Vec<&str> = dispatcher.names().skip(1).collect();
        println!(
            "{}: service {} with endpoints [{}], broker {}",
            args.config.display(),
            config.name,
            names.join(", "),
            settings.address()
        );
        return Ok(SUCCESS);
    }
    let service_options = ServiceOptions {
        heartbeat_interval: heartbeat,
        ..ServiceOptions::default()
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| ExitFailure::new(SOFTWARE, format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(serve(config, settings, dispatcher, service_options))
}

/// The service endpoint and one KeyValueStore per configured endpoint.
pub fn build_dispatcher(config: &ServiceConfig, heartbeat: Duration) -> anyhow::Result<Dispatcher> {
    let service = ServiceEndpoint::new(&config.name)
        .with_attribute("broadcast_key", json!(config.broadcast_key))
        .with_attribute("heartbeat_interval_s", json!(heartbeat.as_secs_f64()))
        .with_attribute("enable_scheduling", json!(config.enable_scheduling));
    let endpoints: Vec<Box<dyn Endpoint>> = config
        .endpoints
        .iter()
        .map(|endpoint| {
            Box::new(KeyValueStore::new(
                endpoint.clone(),
                config.enable_scheduling,
            )) as Box<dyn Endpoint>
        })
        .collect();
    Dispatcher::new(Box::new(service), endpoints, &config.broadcast_key)
        .map_err(|error| ExitFailure::new(CONFIG, error.to_string()).into())
}

async fn serve(
    config: ServiceConfig,
    settings: BrokerSettings,
    dispatcher: Dispatcher,
    options: ServiceOptions,
) -> anyhow::Result<u8> {
    let shutdown = shutdown_signal()?;
    tokio::pin!(shutdown);
    let connection = tokio::select! {
        _ = &mut shutdown => return Ok(SUCCESS),
        connection = MeshConnection::connect(&settings, &config.name) => connection.map_err(mesh_failure)?,
    };
    let mut service = Service::new(dispatcher, options);
    service
        .run(connection, shutdown)
        .await
        .map_err(mesh_failure)?;
    Ok(SUCCESS)
}
