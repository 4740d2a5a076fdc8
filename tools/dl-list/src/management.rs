//! The RabbitMQ management API (`rabbitmq_management` plugin, HTTP on 15672): each service
//! queue's bindings on the requests exchange, which are exactly its endpoint names, and its
//! consumer count. Works for any dripline implementation (PROTOCOL.md, "Discovery facts"): a
//! service's queue is named after the service and bound to `<service>.#`, `<endpoint>.#` for
//! each endpoint and `broadcast.#`.

use base64::prelude::{Engine, BASE64_STANDARD};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// The most bytes read from one API answer (a mesh of thousands of endpoints is a few MB).
const MAX_BODY_BYTES: u64 = 64 * 1024 * 1024;

/// Where the management API is and how to log in.
#[derive(Clone, Debug)]
pub struct ManagementApi {
    /// Base URL, e.g. `http://localhost:15672` (no trailing slash).
    pub url: String,
    /// User name (the broker's).
    pub username: String,
    /// Password (the broker's).
    pub password: String,
    /// The virtual host whose queues are listed.
    pub vhost: String,
    /// How long one HTTP request may take.
    pub timeout: Duration,
}

/// A service queue as the broker sees it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServiceQueue {
    /// Endpoint names (the `<endpoint>.#` bindings), sorted.
    pub endpoints: Vec<String>,
    /// Consumers reading the queue (0: the service is gone but its queue remains).
    pub consumers: Option<u64>,
}

#[derive(Deserialize)]
struct BindingRecord {
    source: String,
    destination: String,
    destination_type: String,
    routing_key: String,
}

#[derive(Deserialize)]
struct QueueRecord {
    name: String,
    #[serde(default)]
    consumers: Option<u64>,
}

impl ManagementApi {
    /// The service queues bound on `requests_exchange`, by service name. Blocking: run it on
    /// a blocking thread. The error is one line naming the URL.
    pub fn service_queues(
        &self,
        requests_exchange: &str,
    ) -> Result<BTreeMap<String, ServiceQueue>, String> {
        let vhost =
            percent_encoding::utf8_percent_encode(&self.vhost, percent_encoding::NON_ALPHANUMERIC);
        let bindings: Vec<BindingRecord> = self.get(&format!("/api/bindings/{vhost}"))?;
        let queues: Vec<QueueRecord> =
            self.get(&format!("/api/queues/{vhost}?columns=name,consumers"))?;
        let mut services = service_bindings(&bindings, requests_exchange);
        for queue in queues {
            if let Some(service) = services.get_mut(&queue.name) {
                service.consumers = queue.consumers;
            }
        }
        Ok(services)
    }

    fn get<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T, String> {
        let url = format!("{}{path}", self.url);
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(self.timeout))
            .http_status_as_error(false)
            .build()
            .into();
        let credentials = format!("{}:{}", self.username, self.password);
        let authorization = format!("Basic {}", BASE64_STANDARD.encode(credentials));
        let mut response = agent
            .get(&url)
            .header("Authorization", &authorization)
            .call()
            .map_err(|error| format!("{}: {error}", self.url))?;
        let status = response.status().as_u16();
        match status {
            200 => {}
            401 | 403 => {
                return Err(format!(
                    "{}: the management API refused user \"{}\" (HTTP {status})",
                    self.url, self.username
                ))
            }
            404 => return Err(format!("{url}: not found (HTTP 404; no such vhost?)")),
            _ => return Err(format!("{url}: HTTP {status}")),
        }
        response
            .body_mut()
            .with_config()
            .limit(MAX_BODY_BYTES)
            .read_json()
            .map_err(|error| format!("{url}: unreadable answer: {error}"))
    }
}

/// The service queues among `bindings`: a queue bound on `requests_exchange` to its own name
/// followed by `.#` is a service (client reply queues and listeners are not); its other `.#`
/// keys but `broadcast.#` are its endpoints.
fn service_bindings(
    bindings: &[BindingRecord],
    requests_exchange: &str,
) -> BTreeMap<String, ServiceQueue> {
    let mut keys: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for binding in bindings {
        if binding.source == requests_exchange && binding.destination_type == "queue" {
            keys.entry(&binding.destination)
                .or_default()
                .push(&binding.routing_key);
        }
    }
    keys.into_iter()
        .filter(|(queue, keys)| keys.iter().any(|key| *key == format!("{queue}.#")))
        .map(|(queue, keys)| {
            let mut endpoints: Vec<String> = keys
                .iter()
                .filter_map(|key| key.strip_suffix(".#"))
                .filter(|name| *name != queue && *name != "broadcast")
                .map(str::to_string)
                .collect();
            endpoints.sort();
            endpoints.dedup();
            let service = ServiceQueue {
                endpoints,
                consumers: None,
            };
            (queue.to_string(), service)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binding(destination: &str, key: &str) -> BindingRecord {
        BindingRecord {
            source: "requests".into(),
            destination: destination.into(),
            destination_type: "queue".into(),
            routing_key: key.into(),
        }
    }

    #[test]
    fn service_queues_are_those_bound_to_their_own_name() {
        let bindings = vec![
            binding("store", "store.#"),
            binding("store", "peaches.#"),
            binding("store", "chips.#"),
            binding("store", "broadcast.#"),
            // A client's reply queue and a dl-listen -r queue are no services.
            binding("amq.gen-1", "amq.gen-1"),
            binding("amq.gen-2", "#"),
            BindingRecord {
                source: "alerts".into(),
                ..binding("logger", "logger.#")
            },
        ];
        let services = service_bindings(&bindings, "requests");
        assert_eq!(services.len(), 1);
        assert_eq!(services["store"].endpoints, ["chips", "peaches"]);
    }
}
