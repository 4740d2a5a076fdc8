//! Wiring: flags → listener → table → screen, until q or a signal.

use crate::screen::{self, Key};
use crate::table::Table;
use crate::Args;
use dripline_cli::exit_status::{SUCCESS, USAGE};
use dripline_cli::failures::mesh_failure;
use dripline_cli::{ExitFailure, Shutdown};
use dripline_mesh::{Acknowledgements, Binding, Exchange, ListenQueue, Listener, ListenerEvent};
use std::io::IsTerminal;
use std::time::{Duration, Instant};

/// Redraw at least this often (ages move on).
const TICK: Duration = Duration::from_secs(1);

/// Listen and draw until `q` or `shutdown`; returns the exit status.
pub async fn run(args: Args, mut shutdown: Shutdown) -> anyhow::Result<u8> {
    let settings = args.broker.settings_with(|_| {})?;
    let keys = if args.keys.is_empty() {
        vec!["sensor_value.#".to_string()]
    } else {
        args.keys.clone()
    };
    let bindings: Vec<Binding> = keys
        .iter()
        .map(|key| Binding {
            exchange: Exchange::Alerts,
            key: key.clone(),
        })
        .collect();
    let mut listener = tokio::select! {
        _ = shutdown.requested() => return Ok(SUCCESS),
        listener = Listener::open(&settings, "unknown", bindings, ListenQueue::Temporary) => {
            listener.map_err(mesh_failure)?
        }
    };
    if !std::io::stdout().is_terminal() {
        listener.close().await;
        return Err(ExitFailure::new(
            USAGE,
            "dl-top draws on a terminal and stdout is not one; for a stream of lines use dl-listen",
        )
        .into());
    }
    let header = format!("{} on {}", keys.join(" "), settings.address());
    let mut terminal = ratatui::init();
    let result = show(&args, &mut listener, &mut terminal, &header, &mut shutdown).await;
    ratatui::restore();
    listener.close().await;
    result.map(|()| SUCCESS)
}

async fn show(
    args: &Args,
    listener: &mut Listener,
    terminal: &mut ratatui::DefaultTerminal,
    header: &str,
    shutdown: &mut Shutdown,
) -> anyhow::Result<()> {
    let mut table = Table::new(args.window);
    let mut sort = args.sort;
    let mut keys = screen::keys();
    let mut acks = Acknowledgements::default();
    let mut tick = tokio::time::interval(TICK);
    loop {
        tokio::select! {
            _ = shutdown.requested() => return Ok(()),
            key = keys.recv() => match key {
                Some(Key::Quit) | None => return Ok(()),
                Some(Key::NextSort) => sort = screen::next_sort(sort),
                Some(Key::Redraw) => {}
            },
            _ = tick.tick() => table.expire(Instant::now()),
            event = listener.next() => match event {
                ListenerEvent::Message(incoming) => {
                    if let Ok(message) = &incoming.message {
                        table.add(&message.routing_key, &message.payload, Instant::now());
                    }
                    acks.add(incoming.ackers);
                    if let Err(error) = acks.ack(true).await {
                        tracing::debug!("acknowledgement not sent: {error}");
                    }
                }
                ListenerEvent::Lost(_) => acks.forget(),
                ListenerEvent::Reconnected => {}
            },
        }
        screen::draw(terminal, &table, sort, header)?;
    }
}
