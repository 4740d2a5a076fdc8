//! The sources merged into one entry per service.

use crate::management::ServiceQueue;
use crate::sources::{Heartbeats, PingAnswers};
use dripline_protocol::PackageVersion;
use serde::Serialize;
use std::collections::BTreeMap;
use tokio::time::Instant;

/// What is known of one service. `None`: no source that answered tells it.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Entry {
    /// The service name.
    pub service: String,
    /// The sources that saw it: `ping`, `management`, `heartbeat`.
    pub sources: Vec<&'static str>,
    /// Its endpoints (management API), sorted.
    pub endpoints: Option<Vec<String>>,
    /// Consumers of its queue (management API); 0 means its queue is left but nobody serves it.
    pub consumers: Option<u64>,
    /// The host serving it (ping).
    pub hostname: Option<String>,
    /// The program serving it (ping).
    pub exe: Option<String>,
    /// The user running it (ping).
    pub username: Option<String>,
    /// Package versions (ping).
    pub versions: Option<BTreeMap<String, PackageVersion>>,
    /// Ping round trip in milliseconds.
    pub ping_ms: Option<f64>,
    /// Seconds since its last heartbeat, at the end of the listening.
    pub heartbeat_age_s: Option<f64>,
    /// Heartbeats heard during the listening.
    pub heartbeats: Option<u64>,
}

impl Entry {
    /// True when this entry is `name` or serves the endpoint `name`.
    pub fn answers_to(&self, name: &str) -> bool {
        self.service == name
            || self
                .endpoints
                .as_ref()
                .is_some_and(|endpoints| endpoints.iter().any(|e| e == name))
    }
}

/// Every service any source saw, sorted by name.
pub fn merge(
    ping: &PingAnswers,
    management: Option<&BTreeMap<String, ServiceQueue>>,
    heartbeats: Option<&Heartbeats>,
    now: Instant,
) -> Vec<Entry> {
    let mut entries: BTreeMap<String, Entry> = BTreeMap::new();
    for (name, pong) in &ping.services {
        let entry = entry_of(&mut entries, name);
        entry.sources.push("ping");
        entry.hostname = Some(pong.sender.hostname.clone());
        entry.exe = Some(pong.sender.exe.clone());
        entry.username = Some(pong.sender.username.clone());
        entry.versions = Some(pong.sender.versions.clone());
        entry.ping_ms = Some((pong.round_trip.as_secs_f64() * 1e4).round() / 10.0);
    }
    for (name, queue) in management.into_iter().flatten() {
        let entry = entry_of(&mut entries, name);
        entry.sources.push("management");
        entry.endpoints = Some(queue.endpoints.clone());
        entry.consumers = queue.consumers;
    }
    for (name, heard) in heartbeats.into_iter().flat_map(|h| &h.services) {
        let entry = entry_of(&mut entries, name);
        entry.sources.push("heartbeat");
        let age = now.saturating_duration_since(heard.last).as_secs_f64();
        entry.heartbeat_age_s = Some((age * 10.0).round() / 10.0);
        entry.heartbeats = Some(heard.count);
    }
    entries.into_values().collect()
}

fn entry_of<'a>(entries: &'a mut BTreeMap<String, Entry>, name: &str) -> &'a mut Entry {
    entries.entry(name.to_string()).or_insert_with(|| Entry {
        service: name.to_string(),
        ..Entry::default()
    })
}
