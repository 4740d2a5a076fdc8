//! What dl-metrics knows about the mesh, and its Prometheus exposition.
//!
//! [`MeshState::observe`] takes each message heard: a `heartbeat.<service>` alert, a
//! `sensor_value.<sensor>` alert, or (with `--requests`) a reply whose return code is not 0.
//! Memory is bounded however many names appear: at most [`Limits::sensors`] sensors and
//! [`Limits::services`] services (and as many service/return-code pairs) are tracked; an alert
//! of a name that does not fit is counted in `dl_metrics_dropped_total` and otherwise ignored.
//! A name is at most 255 bytes (an AMQP routing key), so the bound is in bytes too.
//! [`MeshState::render`] writes the text exposition, ages computed at the time of the scrape.

use dripline_metrics::text::{Kind, Text};
use dripline_protocol::{Message, MessageKind};
use serde_json::Value;
use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime};

/// The longest name tracked, in bytes: as long as an AMQP routing key can be.
pub const MAX_NAME_BYTES: usize = 255;

/// How many names are tracked at most.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Sensors (`sensor_value.<name>`).
    pub sensors: usize,
    /// Services (`heartbeat.<name>`), and service/return-code pairs of error replies.
    pub services: usize,
}

/// A moment, on both clocks: monotonic for ages, the wall clock for timestamps.
#[derive(Clone, Copy, Debug)]
pub struct Moment {
    /// For ages and intervals.
    pub instant: Instant,
    /// Seconds since the Unix epoch.
    pub unix: f64,
}

impl Moment {
    /// The present moment.
    pub fn now() -> Self {
        Moment {
            instant: Instant::now(),
            unix: SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0.0, |since| since.as_secs_f64()),
        }
    }
}

struct Service {
    last: Instant,
    interval: Option<Duration>,
    heartbeats: u64,
}

struct Sensor {
    last_unix: f64,
    value_raw: Option<f64>,
    value_cal: Option<f64>,
    alerts: u64,
}

/// What was not kept, by kind.
#[derive(Default)]
struct Dropped {
    sensors: u64,
    services: u64,
    error_replies: u64,
}

/// Everything dl-metrics knows about the mesh.
pub struct MeshState {
    limits: Limits,
    heartbeat_word: String,
    services: HashMap<String, Service>,
    sensors: HashMap<String, Sensor>,
    error_replies: HashMap<(String, u32), u64>,
    dropped: Dropped,
    undecodable: u64,
    other: u64,
    /// The broker node connected to, `host:port`; `None` while disconnected.
    broker_node: Option<String>,
}

impl MeshState {
    /// An empty table; `heartbeat_word` is the first word of heartbeat routing keys
    /// (`heartbeat` unless the mesh file says otherwise).
    pub fn new(limits: Limits, heartbeat_word: &str) -> Self {
        MeshState {
            limits,
            heartbeat_word: heartbeat_word.to_string(),
            services: HashMap::new(),
            sensors: HashMap::new(),
            error_replies: HashMap::new(),
            dropped: Dropped::default(),
            undecodable: 0,
            other: 0,
            broker_node: None,
        }
    }

    /// The broker connection went up, to the node `host:port` (`Some`), or down.
    pub fn set_connected(&mut self, node: Option<String>) {
        self.broker_node = node;
    }

    /// Whether the broker connection is up (what `/readyz` reports).
    pub fn connected(&self) -> bool {
        self.broker_node.is_some()
    }

    /// A message that could not be decoded (counted, nothing else).
    pub fn undecodable(&mut self) {
        self.undecodable += 1;
    }

    /// Take one message heard at `now`.
    pub fn observe(&mut self, message: &Message, now: Moment) {
        match &message.kind {
            MessageKind::Alert => {
                let (word, name) = message
                    .routing_key
                    .split_once('.')
                    .unwrap_or((&message.routing_key, ""));
                if name.is_empty() {
                    self.other += 1;
                } else if word == self.heartbeat_word {
                    self.heartbeat(name, now);
                } else if word == "sensor_value" {
                    self.sensor_value(name, &message.payload, now);
                } else {
                    self.other += 1;
                }
            }
            MessageKind::Reply { return_code, .. } if *return_code != 0 => {
                self.error_reply(&message.sender_info.service_name, *return_code);
            }
            _ => {}
        }
    }

    /// A reply's service name comes from its `sender_info` header, which, unlike a routing
    /// key, has no length of its own: one over [`MAX_NAME_BYTES`] is not tracked (dropped).
    fn error_reply(&mut self, service: &str, return_code: u32) {
        let key = (service.to_string(), return_code);
        if let Some(count) = self.error_replies.get_mut(&key) {
            *count += 1;
        } else if self.error_replies.len() < self.limits.services && service.len() <= MAX_NAME_BYTES
        {
            self.error_replies.insert(key, 1);
        } else {
            self.dropped.error_replies += 1;
        }
    }

    fn heartbeat(&mut self, name: &str, now: Moment) {
        if let Some(service) = self.services.get_mut(name) {
            service.interval = Some(now.instant.saturating_duration_since(service.last));
            service.last = now.instant;
            service.heartbeats += 1;
        } else if self.services.len() < self.limits.services {
            self.services.insert(
                name.to_string(),
                Service {
                    last: now.instant,
                    interval: None,
                    heartbeats: 1,
                },
            );
        } else {
            self.dropped.services += 1;
        }
    }

    fn sensor_value(&mut self, name: &str, payload: &Value, now: Moment) {
        if !self.sensors.contains_key(name) {
            if self.sensors.len() >= self.limits.sensors {
                self.dropped.sensors += 1;
                return;
            }
            self.sensors.insert(
                name.to_string(),
                Sensor {
                    last_unix: 0.0,
                    value_raw: None,
                    value_cal: None,
                    alerts: 0,
                },
            );
        }
        let Some(sensor) = self.sensors.get_mut(name) else {
            return;
        };
        sensor.last_unix = now.unix;
        sensor.alerts += 1;
        // Only a numeric value_raw is a value; value_cal counts only beside one.
        let number = |field: &str| payload.get(field).and_then(Value::as_f64);
        sensor.value_raw = number("value_raw");
        sensor.value_cal = sensor.value_raw.and(number("value_cal"));
    }

    /// The Prometheus text exposition as of `now`, names in sorted order.
    pub fn render(&self, now: Moment) -> String {
        let mut text = Text::new();
        let mut services: Vec<(&String, &Service)> = self.services.iter().collect();
        services.sort_unstable_by_key(|(name, _)| *name);
        let mut sensors: Vec<(&String, &Sensor)> = self.sensors.iter().collect();
        sensors.sort_unstable_by_key(|(name, _)| *name);

        let name = "dripline_service_heartbeat_age_seconds";
        text.family(
            name,
            Kind::Gauge,
            "Seconds since the service's last heartbeat.",
        );
        for (service, state) in &services {
            let age = now.instant.saturating_duration_since(state.last);
            text.sample(name, &[("service_name", service)], age.as_secs_f64());
        }
        let name = "dripline_service_heartbeat_interval_seconds";
        text.family(
            name,
            Kind::Gauge,
            "Seconds between the service's last two heartbeats (after two were seen).",
        );
        for (service, state) in &services {
            if let Some(interval) = state.interval {
                text.sample(name, &[("service_name", service)], interval.as_secs_f64());
            }
        }
        let name = "dripline_service_heartbeats_total";
        text.family(name, Kind::Counter, "Heartbeats seen from the service.");
        for (service, state) in &services {
            text.sample(name, &[("service_name", service)], state.heartbeats);
        }

        for (name, help, field) in [
            (
                "dripline_sensor_value_raw",
                "The last numeric value_raw of the sensor.",
                (|s: &Sensor| s.value_raw) as fn(&Sensor) -> Option<f64>,
            ),
            (
                "dripline_sensor_value_cal",
                "The last numeric value_cal of the sensor (beside a numeric value_raw).",
                |s: &Sensor| s.value_cal,
            ),
        ] {
            text.family(name, Kind::Gauge, help);
            for (sensor, state) in &sensors {
                if let Some(value) = field(state) {
                    text.sample(name, &[("sensor", sensor)], value);
                }
            }
        }
        let name = "dripline_sensor_last_alert_timestamp_seconds";
        text.family(
            name,
            Kind::Gauge,
            "When the sensor's last sensor_value alert was received (Unix time).",
        );
        for (sensor, state) in &sensors {
            text.sample(name, &[("sensor", sensor)], state.last_unix);
        }
        let name = "dripline_sensor_alerts_total";
        text.family(
            name,
            Kind::Counter,
            "sensor_value alerts seen for the sensor.",
        );
        for (sensor, state) in &sensors {
            text.sample(name, &[("sensor", sensor)], state.alerts);
        }

        let name = "dripline_error_replies_total";
        text.family(
            name,
            Kind::Counter,
            "Replies with a non-zero return code seen on the requests exchange (--requests).",
        );
        let mut replies: Vec<(&(String, u32), &u64)> = self.error_replies.iter().collect();
        replies.sort_unstable();
        for ((service, code), count) in replies {
            let code = code.to_string();
            text.sample(
                name,
                &[("service_name", service), ("return_code", &code)],
                *count,
            );
        }

        let name = "dl_metrics_tracked";
        text.family(name, Kind::Gauge, "Names tracked, by kind.");
        for (kind, count) in [
            ("sensor", self.sensors.len()),
            ("service", self.services.len()),
            ("error_reply", self.error_replies.len()),
        ] {
            text.sample(name, &[("kind", kind)], count as u64);
        }
        let name = "dl_metrics_dropped_total";
        text.family(
            name,
            Kind::Counter,
            "Messages ignored because their name did not fit the cap, by kind.",
        );
        for (kind, count) in [
            ("sensor", self.dropped.sensors),
            ("service", self.dropped.services),
            ("error_reply", self.dropped.error_replies),
        ] {
            text.sample(name, &[("kind", kind)], count);
        }
        let name = "dl_metrics_undecodable_total";
        text.family(
            name,
            Kind::Counter,
            "Messages that were not valid dripline.",
        );
        text.sample(name, &[], self.undecodable);
        let name = "dl_metrics_other_alerts_total";
        text.family(
            name,
            Kind::Counter,
            "Alerts that were neither a heartbeat nor a sensor value with a name.",
        );
        text.sample(name, &[], self.other);
        let name = "dl_metrics_broker_connected";
        text.family(name, Kind::Gauge, "1 while connected to the broker.");
        text.sample(name, &[], u64::from(self.connected()));
        let name = "dl_metrics_broker_info";
        text.family(
            name,
            Kind::Gauge,
            "1 for the broker node connected to (none while disconnected).",
        );
        if let Some(node) = &self.broker_node {
            text.sample(name, &[("node", node)], 1u64);
        }
        text.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dripline_protocol::Message;
    use serde_json::json;

    fn alert(key: &str, payload: Value) -> Message {
        Message::alert(key, payload, Default::default(), String::new())
    }

    fn at(seconds: u64, start: Instant) -> Moment {
        Moment {
            instant: start + Duration::from_secs(seconds),
            unix: 1_000_000.0 + seconds as f64,
        }
    }

    #[test]
    fn heartbeats_give_age_and_interval() {
        let start = Instant::now();
        let mut state = MeshState::new(
            Limits {
                sensors: 10,
                services: 10,
            },
            "heartbeat",
        );
        state.observe(
            &alert("heartbeat.peaches", json!({"name": "peaches"})),
            at(0, start),
        );
        let text = state.render(at(5, start));
        assert!(
            text.contains("dripline_service_heartbeat_age_seconds{service_name=\"peaches\"} 5.0\n"),
            "{text}"
        );
        assert!(
            !text.contains("dripline_service_heartbeat_interval_seconds{"),
            "{text}"
        );
        state.observe(&alert("heartbeat.peaches", json!({})), at(10, start));
        let text = state.render(at(12, start));
        assert!(
            text.contains(
                "dripline_service_heartbeat_interval_seconds{service_name=\"peaches\"} 10.0\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("dripline_service_heartbeat_age_seconds{service_name=\"peaches\"} 2.0\n"),
            "{text}"
        );
        assert!(
            text.contains("dripline_service_heartbeats_total{service_name=\"peaches\"} 2\n"),
            "{text}"
        );
    }

    #[test]
    fn non_numeric_values_keep_only_time_and_count_and_the_cap_drops_the_rest() {
        let start = Instant::now();
        let mut state = MeshState::new(
            Limits {
                sensors: 2,
                services: 1,
            },
            "heartbeat",
        );
        state.observe(
            &alert("sensor_value.t1", json!({"value_raw": 1.5, "value_cal": 3})),
            at(0, start),
        );
        state.observe(
            &alert(
                "sensor_value.t1",
                json!({"value_raw": "on", "value_cal": 3}),
            ),
            at(1, start),
        );
        state.observe(
            &alert("sensor_value.t2", json!({"value_raw": 2, "value_cal": "x"})),
            at(2, start),
        );
        state.observe(
            &alert("sensor_value.t3", json!({"value_raw": 3})),
            at(3, start),
        );
        let text = state.render(at(4, start));
        assert!(
            !text.contains("dripline_sensor_value_raw{sensor=\"t1\"}"),
            "{text}"
        );
        assert!(
            text.contains(
                "dripline_sensor_last_alert_timestamp_seconds{sensor=\"t1\"} 1000001.0\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("dripline_sensor_alerts_total{sensor=\"t1\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("dripline_sensor_value_raw{sensor=\"t2\"} 2.0\n"),
            "{text}"
        );
        assert!(
            !text.contains("dripline_sensor_value_cal{sensor=\"t2\"}"),
            "{text}"
        );
        assert!(!text.contains("sensor=\"t3\""), "{text}");
        assert!(
            text.contains("dl_metrics_dropped_total{kind=\"sensor\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("dl_metrics_tracked{kind=\"sensor\"} 2\n"),
            "{text}"
        );
    }

    #[test]
    fn error_replies_are_counted_within_the_cap_and_a_huge_sender_name_is_dropped() {
        let start = Instant::now();
        let mut state = MeshState::new(
            Limits {
                sensors: 1,
                services: 2,
            },
            "heartbeat",
        );
        let reply = |service: &str, code: u32| {
            let sender = dripline_protocol::SenderInfo {
                service_name: service.to_string(),
                ..Default::default()
            };
            let mut message = alert("amq.gen-x", json!(null));
            message.kind = MessageKind::Reply {
                return_code: code,
                return_message: String::new(),
            };
            message.sender_info = sender;
            message
        };
        state.observe(&reply("a", 0), at(0, start));
        state.observe(&reply("a", 306), at(0, start));
        state.observe(&reply("a", 306), at(0, start));
        state.observe(&reply(&"x".repeat(1 << 20), 301), at(0, start));
        state.observe(&reply("b", 301), at(0, start));
        state.observe(&reply("c", 301), at(0, start));
        let text = state.render(at(1, start));
        assert!(
            text.contains(
                "dripline_error_replies_total{service_name=\"a\",return_code=\"306\"} 2\n"
            ),
            "{text}"
        );
        assert!(text.contains("return_code=\"301\"} 1\n"), "{text}");
        assert!(!text.contains("xxxx"), "{text}");
        assert!(!text.contains("service_name=\"c\""), "{text}");
        assert!(
            text.contains("dl_metrics_dropped_total{kind=\"error_reply\"} 2\n"),
            "{text}"
        );
    }
}
