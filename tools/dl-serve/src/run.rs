//! Wiring: config → endpoints → broker settings → connection → service, until a signal.

use crate::args::Args;
use crate::config::{self, ServiceConfig};
use crate::key_value_store::KeyValueStore;
use dripline_cli::exit_status::{CONFIG, SUCCESS};
use dripline_cli::failures::mesh_failure;
use dripline_cli::{ExitFailure, Shutdown};
use dripline_mesh::service::{Dispatcher, Endpoint, Service, ServiceEndpoint, ServiceOptions};
use dripline_mesh::{BrokerSettings, MeshConnection};
use dripline_protocol::AssemblyLimits;
use serde_json::json;
use std::time::Duration;

/// The heartbeat period when neither the flag nor the config sets one.
const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(60);

/// Run dl-serve with parsed arguments until `shutdown`; returns the exit status.
pub async fn run(args: Args, shutdown: Shutdown) -> anyhow::Result<u8> {
    let config = config::load(&args.config, &|name| std::env::var(name).ok())
        .map_err(|error| ExitFailure::new(CONFIG, error.lines().join("\n")))?;
    for warning in &config.warnings {
        tracing::warn!("{warning}");
    }
    let settings = args.broker.settings_with(|options| {
        options.config_mesh = config.mesh.clone();
        if let Some(key) = &args.heartbeat_routing_key {
            options.config_mesh.heartbeat_routing_key = Some(key.clone());
        }
        if options.auth_file.is_none() {
            options.auth_file = config.auth_file.clone();
        }
    })?;
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
    let defaults = AssemblyLimits::default();
    let max_message_bytes = args.max_message_size as usize;
    let service_options = ServiceOptions {
        heartbeat_interval: heartbeat,
        limits: AssemblyLimits {
            max_message_bytes,
            max_pending_bytes: defaults.max_pending_bytes.max(max_message_bytes),
            ..defaults
        },
        ..ServiceOptions::default()
    };
    serve(config, settings, dispatcher, service_options, shutdown).await
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
    mut shutdown: Shutdown,
) -> anyhow::Result<u8> {
    let connection = tokio::select! {
        _ = shutdown.requested() => return Ok(SUCCESS),
        connection = MeshConnection::connect(&settings, &config.name) => connection.map_err(mesh_failure)?,
    };
    let mut service = Service::new(dispatcher, options);
    service
        .run(connection, async move { shutdown.requested().await })
        .await
        .map_err(mesh_failure)?;
    Ok(SUCCESS)
}
