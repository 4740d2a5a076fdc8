//! The watch: polls (or alerts) → observations → printed changes and the condition's verdict.

use crate::output::{Observation, Reading, Source};
use crate::Args;
use anyhow::Context;
use dripline_cli::exit_status::{ExitFailure, INTERRUPTED, SUCCESS, TIMED_OUT, USAGE};
use dripline_cli::failures::mesh_failure;
use dripline_cli::output::LineOutput;
use dripline_cli::{report, Shutdown};
use dripline_mesh::{Binding, Exchange, ListenQueue, Listener, ListenerEvent, RequestClient};
use dripline_request::condition::Hold;
use dripline_request::output::RequestResult;
use dripline_request::RequestSpec;
use std::collections::HashMap;
use tokio::time::{Instant, MissedTickBehavior};

/// Watch until a signal, the condition, or the timeout; the exit status.
pub async fn run(args: Args, mut shutdown: Shutdown) -> anyhow::Result<u8> {
    if let Some(wild) = args
        .endpoints
        .iter()
        .find(|endpoint| endpoint.contains(['*', '#']) || endpoint.is_empty())
    {
        let message = format!("'{wild}' is not an endpoint name (no wildcards: * #)");
        return Err(ExitFailure::new(USAGE, message).into());
    }
    let settings = args.broker.one_shot_settings()?;
    let client = RequestClient::connect(&settings)
        .await
        .map_err(mesh_failure)?;
    let mut alerts = match args.alerts {
        true => {
            let bindings = args
                .endpoints
                .iter()
                .map(|endpoint| Binding {
                    exchange: Exchange::Alerts,
                    key: format!("sensor_value.{endpoint}"),
                })
                .collect();
            let listener = Listener::open(&settings, "unknown", bindings, ListenQueue::Temporary)
                .await
                .map_err(mesh_failure)?;
            Some(listener)
        }
        false => None,
    };

    let mut watch = Watch::new(&args);
    let started = Instant::now();
    let deadline = args.timeout.map(|timeout| started + timeout);
    let mut ticker = tokio::time::interval(args.interval);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {
                let due = watch.due_for_polling(started);
                let polls = due.iter().map(|endpoint| {
                    let spec = RequestSpec::get(endpoint, None);
                    let client = &client;
                    async move {
                        dripline_request::run::ask(client, &spec, args.reply_timeout).await
                    }
                });
                let results = futures_util::future::join_all(polls).await;
                for (endpoint, result) in due.iter().zip(results) {
                    let result = result.map_err(mesh_failure)?;
                    let observation = polled(endpoint, result);
                    if watch.observe(observation)? {
                        return Ok(SUCCESS);
                    }
                }
            }
            event = next_alert(&mut alerts) => {
                if let Some(observation) = watch.alerted(event) {
                    if watch.observe(observation)? {
                        return Ok(SUCCESS);
                    }
                }
            }
            () = sleep_until(deadline) => {
                report::error(watch.timed_out(&args));
                return Ok(TIMED_OUT);
            }
            () = shutdown.requested() => {
                watch.out.flush().context("writing to stdout")?;
                if args.until.is_some() {
                    report::error("interrupted");
                    return Ok(INTERRUPTED);
                }
                return Ok(SUCCESS);
            }
        }
    }
}

/// The next event of the alert listener; never, without one.
async fn next_alert(alerts: &mut Option<Listener>) -> ListenerEvent {
    match alerts {
        Some(listener) => listener.next().await,
        None => std::future::pending().await,
    }
}

/// Sleep until `deadline`; never, without one.
async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// The observation of a get's result.
fn polled(endpoint: &str, result: RequestResult) -> Observation {
    let reading = if result.succeeded() {
        Reading::Value(result.payload().clone())
    } else {
        Reading::Error(result.return_code.0, result.return_message.clone())
    };
    Observation {
        endpoint: endpoint.to_string(),
        time: chrono::Utc::now(),
        source: Source::Poll,
        reading,
    }
}

/// What the watch knows of each endpoint, and since when the condition holds.
struct Watch<'a> {
    args: &'a Args,
    out: LineOutput,
    /// The last reading printed, per endpoint.
    printed: HashMap<String, Reading>,
    /// The latest observation, per endpoint.
    latest: HashMap<String, Observation>,
    /// With --alerts: when each endpoint's last alert came, and whether it is polled now.
    alerted: HashMap<String, (Option<Instant>, bool)>,
    /// How long --until's condition has held.
    hold: Hold,
}

impl<'a> Watch<'a> {
    fn new(args: &'a Args) -> Self {
        Watch {
            args,
            out: LineOutput::stdout(true),
            printed: HashMap::new(),
            latest: HashMap::new(),
            alerted: HashMap::new(),
            hold: Hold::new(args.stable.unwrap_or_default()),
        }
    }

    /// The endpoints to get now: all of them, or with --alerts those whose alert is late (a
    /// note says so the first time).
    fn due_for_polling(&mut self, started: Instant) -> Vec<String> {
        if !self.args.alerts {
            return self.args.endpoints.clone();
        }
        let interval = self.args.interval;
        let mut due = Vec::new();
        for endpoint in &self.args.endpoints {
            let (last, polling) = self.alerted.entry(endpoint.clone()).or_default();
            let since = last.unwrap_or(started);
            if since.elapsed() < interval {
                continue;
            }
            if !*polling {
                report::warning(format_args!(
                    "no sensor_value.{endpoint} alert within {interval:?}: polling {endpoint}"
                ));
                *polling = true;
            }
            due.push(endpoint.clone());
        }
        due
    }

    /// The observation of an alert on one of the endpoints, if it is one.
    fn alerted(&mut self, event: ListenerEvent) -> Option<Observation> {
        let message = match event {
            ListenerEvent::Message(incoming) => incoming.message.ok()?,
            ListenerEvent::Lost(error) => {
                report::warning(format_args!("alerts: {error}; reconnecting"));
                return None;
            }
            ListenerEvent::Reconnected => return None,
        };
        let endpoint = message.routing_key.strip_prefix("sensor_value.")?;
        let (last, polling) = self.alerted.get_mut(endpoint)?;
        *last = Some(Instant::now());
        if *polling {
            report::warning(format_args!("sensor_value.{endpoint} alerts again"));
            *polling = false;
        }
        Some(Observation {
            endpoint: endpoint.to_string(),
            time: chrono::Utc::now(),
            source: Source::Alert,
            reading: Reading::Value(message.payload),
        })
    }

    /// Print the observation if it changed (or --always) and say whether --until is met.
    fn observe(&mut self, observation: Observation) -> anyhow::Result<bool> {
        let changed = self.printed.get(&observation.endpoint) != Some(&observation.reading);
        if changed || self.args.always {
            if let (true, Reading::Error(..)) = (changed, &observation.reading) {
                report::warning(format_args!(
                    "{}: {}",
                    observation.endpoint,
                    observation.short_value()
                ));
            }
            self.out
                .write_line(&observation.render(self.args.format))
                .context("writing to stdout")?;
            self.printed
                .insert(observation.endpoint.clone(), observation.reading.clone());
        }
        self.latest
            .insert(observation.endpoint.clone(), observation);
        let Some(condition) = &self.args.until else {
            return Ok(false);
        };
        let holds = self.args.endpoints.iter().all(|endpoint| {
            self.latest
                .get(endpoint)
                .is_some_and(|seen| match &seen.reading {
                    Reading::Value(value) => condition.holds(value, self.args.tolerance),
                    Reading::Error(..) => false,
                })
        });
        Ok(self.hold.update(holds))
    }

    /// The one line of a timeout: the condition and each endpoint's last value.
    fn timed_out(&self, args: &Args) -> String {
        let condition = args.until.as_ref().map(|c| c.text()).unwrap_or_default();
        let stable = args
            .stable
            .map(|d| format!(" for {d:?}"))
            .unwrap_or_default();
        let timeout = args.timeout.unwrap_or_default();
        let last: Vec<String> = args
            .endpoints
            .iter()
            .map(|endpoint| match self.latest.get(endpoint) {
                Some(seen) => {
                    let value = match &seen.reading {
                        Reading::Value(value) => value.to_string(),
                        Reading::Error(..) => seen.short_value(),
                    };
                    format!("{endpoint} {value}")
                }
                None => format!("{endpoint} (no value)"),
            })
            .collect();
        format!(
            "timed out after {timeout:?}: '{condition}' did not hold{stable}; last values: {}",
            last.join("; ")
        )
    }
}
