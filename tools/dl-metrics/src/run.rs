//! Wiring: flags → listener → the mesh state, served on the metrics address, until a signal.

use crate::state::{Limits, MeshState, Moment};
use crate::Args;
use dripline_cli::exit_status::{ExitFailure, SUCCESS, UNAVAILABLE};
use dripline_cli::failures::mesh_failure;
use dripline_cli::Shutdown;
use dripline_mesh::{Binding, Exchange, ListenQueue, Listener, ListenerEvent};
use std::sync::{Arc, Mutex, MutexGuard};

/// The binding key of the replies to server-named reply queues (`amq.gen-…`), the queues
/// every dripline client (ours, dl-agent, dripline-python) reads its replies from.
const SERVER_NAMED_REPLIES: &str = "amq.*";

/// The mesh state, shared by the listening loop and the HTTP endpoint.
struct Shared(Mutex<MeshState>);

impl Shared {
    fn lock(&self) -> MutexGuard<'_, MeshState> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl dripline_metrics::Exposition for Shared {
    fn render(&self) -> String {
        self.lock().render(Moment::now())
    }

    fn readiness(&self) -> Result<(), String> {
        if self.lock().connected() {
            Ok(())
        } else {
            Err("not connected to the broker".into())
        }
    }
}

/// Listen and serve until `shutdown`; returns the exit status.
pub async fn run(args: Args, mut shutdown: Shutdown) -> anyhow::Result<u8> {
    // Connect and reconnect for ever unless told otherwise: an exporter that exits while
    // the broker is away reports nothing, one that waits reports the broker down (and
    // /readyz says not ready).
    let settings = args.broker.settings_with(|options| {
        options.max_connection_attempts = options.max_connection_attempts.or(Some(0));
    })?;
    let limits = Limits {
        sensors: args.max_sensors as usize,
        services: args.max_services as usize,
    };
    let shared = Arc::new(Shared(Mutex::new(MeshState::new(
        limits,
        &settings.heartbeat_routing_key,
    ))));
    let address = args.metrics_addr;
    dripline_metrics::serve(address, shared.clone())
        .await
        .map_err(|error| ExitFailure::new(UNAVAILABLE, error.to_string()))?;

    let mut bindings = vec![
        Binding {
            exchange: Exchange::Alerts,
            key: format!("{}.#", settings.heartbeat_routing_key),
        },
        Binding {
            exchange: Exchange::Alerts,
            key: "sensor_value.#".to_string(),
        },
    ];
    if args.requests {
        bindings.push(Binding {
            exchange: Exchange::Requests,
            key: SERVER_NAMED_REPLIES.to_string(),
        });
    }
    let mut listener = tokio::select! {
        _ = shutdown.requested() => return Ok(SUCCESS),
        listener = Listener::open(&settings, "dl-metrics", bindings, ListenQueue::Temporary) => {
            listener.map_err(mesh_failure)?
        }
    };
    shared.lock().set_connected(listener.node_address());
    tracing::info!(
        broker = %listener.node_address().unwrap_or_default(),
        %address,
        "listening"
    );

    loop {
        let event = tokio::select! {
            biased;
            _ = shutdown.requested() => break,
            event = listener.next() => event,
        };
        match event {
            ListenerEvent::Message(incoming) => {
                let now = Moment::now();
                let mut state = shared.lock();
                match &incoming.message {
                    Ok(message) => state.observe(message, now),
                    Err(_) => state.undecodable(),
                }
            }
            ListenerEvent::Lost(error) => {
                shared.lock().set_connected(None);
                tracing::warn!("{error}; reconnecting");
            }
            ListenerEvent::Reconnected => {
                let node = listener.node_address();
                tracing::warn!(
                    "reconnected to broker at {}",
                    node.as_deref().unwrap_or_default()
                );
                shared.lock().set_connected(node);
            }
        }
    }
    listener.close().await;
    tracing::info!("stopped");
    Ok(SUCCESS)
}
