//! Deterministic fuzzing beyond the decoder (issue 10), without I/O:
//!
//! - a few thousand arbitrary (properties, body) pairs through the whole request → reply path
//!   of the service runtime: chunk reassembly ([`ChunkAssembler`], limits included), the
//!   dispatcher's decision ([`Dispatcher::answer`], what `Service` calls), dl-serve's real
//!   KeyValueStore endpoints built from a config, and the reply and alerts encoded and decoded
//!   again. Never a panic; every reply decodes and answers its request; the service still
//!   answers `ping` throughout.
//! - a few thousand mutated config texts through dl-serve's config loader and dispatcher
//!   builder: never a panic; every refusal names the file.
//!
//! The inputs come from a seeded generator, so a failure reproduces; the seed and the input's
//! index are in the failure message.

use dl_serve::config;
use dl_serve::run::build_dispatcher;
use dripline_mesh::service::{Answer, Dispatcher, Outcome};
use dripline_protocol::fuzzing::chunk_from_bytes;
use dripline_protocol::wire::encode_sender_info;
use dripline_protocol::{
    encode, AssemblyLimits, ChunkAssembler, FieldValue, LockoutKey, Message, MessageKind,
    Operation, SenderInfo, CONTENT_ENCODING_JSON,
};
use serde_json::{json, Value};
use std::path::Path;
use std::time::{Duration, Instant};

const CONFIG: &str = "\
name: fz_store
module: Service
endpoints:
  - name: peaches
    module: KeyValueStore
    calibration: '2*{}'
    initial_value: 0.75
    get_on_set: True
    log_on_set: True
  - name: chips
    module: KeyValueStore
    calibration: 'times3({})'
    initial_value: 1.75
    log_interval: 1
  - name: switch
    module: KeyValueStore
    calibration: {1: on, 0: off}
    initial_value: 1
";

const ROUTING_KEYS: &[&str] = &[
    "fz_store",
    "peaches",
    "peaches.extra",
    "chips",
    "switch",
    "broadcast",
    "broadcast.ping",
    "",
    "nobody",
];

const SPECIFIERS: &[&str] = &[
    "",
    "ping",
    "lock",
    "unlock",
    "is-locked",
    "set_condition",
    "calibration",
    "log_interval",
    "log_on_set",
    "get_on_set",
    "name",
    "value_raw",
    "scheduled_log",
];

fn bodies() -> Vec<Vec<u8>> {
    let mut bodies: Vec<Vec<u8>> = [
        "{}",
        r#"{"values":[1]}"#,
        r#"{"values":[-2.5]}"#,
        r#"{"values":["(((((((((("]}"#,
        r#"{"values":["2**9999"]}"#,
        r#"{"values":["__import__('os')"]}"#,
        r#"{"values":[1e300]}"#,
        r#"{"values":[1.7976931348623157e308]}"#,
        r#"{"values":[18446744073709551616]}"#,
        r#"{"values":[[1,2]]}"#,
        r#"{"values":[{"a":[1]}]}"#,
        r#"{"values":[null]}"#,
        r#"{"values":[true]}"#,
        r#"{"values":"x"}"#,
        r#"{"values":[]}"#,
        r#"{"values":[1],"keyed_args":{"a":1}}"#,
        r#"{"values":["0.5"]}"#,
        r#"{"values":["on"]}"#,
        r#"{"values":[1e400]}"#,
        "null",
        "[]",
        "",
        "not json",
    ]
    .iter()
    .map(|text| text.as_bytes().to_vec())
    .collect();
    bodies.push(format!(r#"{{"values":["{}"]}}"#, "(".repeat(5000)).into_bytes());
    bodies.push(format!("{}1{}", "[".repeat(127), "]".repeat(127)).into_bytes());
    bodies.push("[".repeat(100_000).into_bytes());
    bodies.push(b"{\"values\":[\"\xff\xfe\"]}".to_vec());
    bodies
}

fn sender() -> SenderInfo {
    SenderInfo::ours("/usr/bin/dl-serve", "fuzz", "fuzz", "unknown", "0.1.0")
}

/// Encode `message` as the service would publish it and decode it again.
fn round_trip(message: &Message, seed: u64, index: usize) -> Message {
    let mut assembler = ChunkAssembler::new(Duration::from_secs(1));
    let now = Instant::now();
    let mut decoded = None;
    for chunk in encode(message, 10_000) {
        if let Some(result) = assembler.offer(chunk, now) {
            decoded = Some(result);
        }
    }
    match decoded {
        Some(Ok(message)) => message,
        other => panic!("seed {seed} input {index}: our own message does not decode: {other:?}"),
    }
}

/// Publish an outcome as the runtime does (alerts, then the reply) and read it back.
fn check_outcome(request: &Message, outcome: Outcome, seed: u64, index: usize) {
    for alert in outcome.alerts {
        let message = Message::alert(&alert.routing_key, alert.payload, sender(), "t".into());
        round_trip(&message, seed, index);
    }
    let code = outcome.reply.code.0;
    let reply = Message::reply(
        request,
        code,
        outcome.reply.message,
        outcome.reply.payload,
        sender(),
        "t".into(),
    );
    let back = round_trip(&reply, seed, index);
    assert_eq!(
        back.correlation_id, request.correlation_id,
        "seed {seed} input {index}"
    );
    match back.kind {
        MessageKind::Reply { return_code, .. } => {
            assert_eq!(return_code, code, "seed {seed} input {index}")
        }
        other => panic!("seed {seed} input {index}: reply decoded as {other:?}"),
    }
}

/// The code of a `cmd` of `specifier` to `target`.
fn command(dispatcher: &mut Dispatcher, target: &str, specifier: &str, payload: Value) -> u32 {
    let request = Message::request(
        target,
        Operation::Cmd,
        specifier,
        payload,
        LockoutKey::parse(""),
        sender(),
        "t".into(),
    );
    dispatcher.handle(&request).reply.code.0
}

fn ping_code(dispatcher: &mut Dispatcher) -> u32 {
    let service = dispatcher.service_name().to_string();
    command(dispatcher, &service, "ping", json!({}))
}

fn random_bytes(rng: &mut fastrand::Rng, max: usize) -> Vec<u8> {
    let len = rng.usize(..=max);
    (0..len).map(|_| rng.u8(..)).collect()
}

#[test]
fn arbitrary_requests_through_the_whole_service_path() {
    let seed = 0x5eed_0010;
    let mut rng = fastrand::Rng::with_seed(seed);
    let config = config::parse(CONFIG, Path::new("fuzz.yaml"), &|_| None).expect("config");
    let mut dispatcher = build_dispatcher(&config, Duration::from_secs(60)).expect("dispatcher");
    // Small limits, so that giving up and refusing happen too.
    let limits = AssemblyLimits {
        max_message_bytes: 4096,
        max_pending_messages: 8,
        max_pending_bytes: 16 * 1024,
    };
    let mut assembler = ChunkAssembler::with_limits(Duration::from_secs(1), limits);
    let bodies = bodies();
    let start = Instant::now();
    let (mut replies, mut succeeded, mut refused, mut dropped) = (0, 0, 0, 0);
    for index in 0..4000 {
        // The decoder's own generator for the properties and headers…
        let steering = random_bytes(&mut rng, 80);
        let mut data = vec![steering.len() as u8];
        data.extend(&steering);
        if index % 3 != 0 && data.len() > 1 {
            data[1] &= 0b1011_0000; // a usable encoding, id and header set
        }
        let mut chunk = chunk_from_bytes(&data);
        // …aimed at the service's endpoints, mostly requests (of any operation code, usually
        // a valid one), with the specifiers and bodies they handle.
        let headers = &mut chunk.properties.headers;
        if rng.u8(..) < 200 {
            chunk.properties.content_encoding = Some(CONTENT_ENCODING_JSON.into());
            headers.insert("sender_info".into(), encode_sender_info(&sender()));
            headers.insert("message_type".into(), FieldValue::U32(3));
            let operation = [0, 1, 9, 0, 1, 9, 7][rng.usize(..7)];
            headers.insert("message_operation".into(), FieldValue::U32(operation));
        }
        if rng.u8(..) < 160 {
            let count = [1, 1, 1, 2, 3][rng.usize(..5)];
            let id = format!("m{}/{}/{count}", rng.u8(..16), rng.usize(..count));
            chunk.properties.message_id = Some(id);
        }
        if rng.u8(..) < 240 {
            chunk.routing_key = ROUTING_KEYS[rng.usize(..ROUTING_KEYS.len())].to_string();
        }
        if rng.bool() {
            let specifier = SPECIFIERS[rng.usize(..SPECIFIERS.len())];
            let specifier = if rng.u8(..) < 16 {
                format!("{specifier}.{}", rng.u32(..))
            } else {
                specifier.to_string()
            };
            chunk
                .properties
                .headers
                .insert("specifier".into(), FieldValue::string(specifier));
        }
        if rng.u8(..) < 16 {
            let key = ["", "garbage", "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9"][rng.usize(..3)];
            chunk
                .properties
                .headers
                .insert("lockout_key".into(), FieldValue::string(key));
        }
        chunk.body = if rng.u8(..) < 200 {
            bodies[rng.usize(..bodies.len())].clone()
        } else {
            random_bytes(&mut rng, 300)
        };
        // Through reassembly, as MessageStream does it.
        let now = start + Duration::from_millis(index as u64 * 5);
        let mut received: Vec<_> = assembler.offer(chunk, now).into_iter().collect();
        received.extend(
            assembler
                .take_given_up()
                .into_iter()
                .map(|(_, result)| result),
        );
        received.extend(assembler.expire(now));
        for result in received {
            match dispatcher.answer(result) {
                Answer::Reply { request, outcome } => {
                    replies += 1;
                    succeeded += usize::from(outcome.reply.code.0 == 0);
                    check_outcome(&request, outcome, seed, index);
                }
                Answer::Refused {
                    request, outcome, ..
                } => {
                    refused += 1;
                    assert_eq!(outcome.reply.code.0, 302, "seed {seed} input {index}");
                    check_outcome(&request, outcome, seed, index);
                }
                Answer::Ignored | Answer::Dropped(_) => dropped += 1,
            }
        }
        if index % 5 == 0 {
            // Locks taken by the inputs are let go now and then, so handlers run too.
            for target in &ROUTING_KEYS[..5] {
                command(&mut dispatcher, target, "unlock", json!({"force": true}));
            }
        }
        if index % 100 == 0 {
            for scheduled in 0..dispatcher.len() {
                if dispatcher.schedule_interval(scheduled).is_some() {
                    for alert in dispatcher.run_scheduled(scheduled) {
                        let message =
                            Message::alert(&alert.routing_key, alert.payload, sender(), "t".into());
                        round_trip(&message, seed, index);
                    }
                }
            }
            assert_eq!(
                ping_code(&mut dispatcher),
                0,
                "seed {seed} input {index}: ping"
            );
        }
    }
    // The generator must reach every branch often.
    assert!(
        replies > 1000 && succeeded > 80 && refused > 100 && dropped > 100,
        "replies {replies} ({succeeded} succeeded), refused {refused}, dropped {dropped}"
    );
    assert_eq!(ping_code(&mut dispatcher), 0);
}

/// Fragments spliced into the config text.
const CONFIG_FRAGMENTS: &[&str] = &[
    "\n  - name: extra\n    module: KeyValueStore\n",
    "\ncalibration: '{}'\n",
    "&a [*a, *a]",
    "*a",
    "!!python/object:os.system",
    "{",
    "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
    "\t",
    "on",
    "off",
    "yes",
    "~",
    "1e400",
    "99999999999999999999999999999",
    "-.inf",
    ".nan",
    "ENV{HOME}",
    "ENV{",
    "'''",
    "\"\\u0000\"",
    "héllo",
    "\u{feff}",
    "---\n",
    "...\n",
    "? complex\n: key\n",
    "<<: {a: 1}\n",
    "\n  log_interval: -1\n",
    "\n  log_interval: 1e300\n",
    "\nheartbeat_interval_s: nan\n",
    "\nbroadcast_key: peaches\n",
    "\n  - name: peaches\n",
    "\n  calibration: '((((((((((((((((((((((((((((((((((((((((((((((((({}'\n",
];

#[test]
fn mutated_configs_never_panic_and_refusals_name_the_file() {
    let seed = 0xc0f1_6010;
    let mut rng = fastrand::Rng::with_seed(seed);
    let path = Path::new("fuzz.yaml");
    let (mut loaded, mut refused) = (0, 0);
    for index in 0..3000 {
        let mut text = CONFIG.as_bytes().to_vec();
        for _ in 0..rng.usize(1..4) {
            let at = rng.usize(..=text.len());
            match rng.u8(..4) {
                0 => {
                    let fragment = CONFIG_FRAGMENTS[rng.usize(..CONFIG_FRAGMENTS.len())];
                    text.splice(at..at, fragment.bytes());
                }
                1 if at < text.len() => {
                    let end = (at + rng.usize(..20)).min(text.len());
                    text.drain(at..end);
                }
                2 if at < text.len() => text[at] = rng.u8(..),
                _ => {
                    let junk = random_bytes(&mut rng, 8);
                    text.splice(at..at, junk);
                }
            }
        }
        let text = String::from_utf8_lossy(&text);
        let env = |name: &str| (name == "HOME").then(|| "/root".to_string());
        match config::parse(&text, path, &env) {
            Ok(config) => {
                loaded += 1;
                if let Ok(mut dispatcher) = build_dispatcher(&config, Duration::from_secs(1)) {
                    assert_eq!(ping_code(&mut dispatcher), 0, "seed {seed} input {index}");
                }
            }
            Err(error) => {
                refused += 1;
                let lines = error.lines();
                assert!(
                    !lines.is_empty(),
                    "seed {seed} input {index}: an empty refusal"
                );
                for line in lines {
                    assert!(
                        line.starts_with("fuzz.yaml"),
                        "seed {seed} input {index}: {line}"
                    );
                }
            }
        }
    }
    assert!(
        loaded > 100 && refused > 100,
        "loaded {loaded}, refused {refused}"
    );
}
