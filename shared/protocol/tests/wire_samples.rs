//! Golden tests against the captures of dripline-cpp 2.10.8 / dripline-python 5.1.1 in
//! `shared/wire-samples/` (beside the repository root): every captured message must decode to
//! what the capture says, and re-encoding it must give the same headers (names, AMQP types,
//! values), properties and JSON body.

use dripline_protocol::message::MessageKind;
use dripline_protocol::wire::DEFAULT_CHUNK_WAIT;
use dripline_protocol::{
    decode_chunk, encode, ChunkAssembler, DecodeError, FieldTable, FieldValue, LockoutKey, Message,
    Operation, WireChunk, WireProperties, DEFAULT_MAX_PAYLOAD_SIZE,
};
use serde_json::Value;
use std::path::PathBuf;
use std::time::{Duration, Instant};

const SAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/wire-samples");

/// (file name, whole sample) for every sample that has `messages`.
fn samples() -> Vec<(String, Value)> {
    let dir = PathBuf::from(SAMPLES);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    let samples: Vec<(String, Value)> = files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, serde_json::from_str::<Value>(&text).unwrap())
        })
        .filter(|(_, sample)| sample.get("messages").is_some())
        .collect();
    assert!(
        samples.len() >= 25,
        "expected the wire samples, found {}",
        samples.len()
    );
    samples
}

/// One typed header value of `headers_amqp_typed` as a [`FieldValue`].
fn typed_value(typed: &Value) -> FieldValue {
    let tag = typed["amqp_type"].as_str().expect("amqp_type");
    let value = &typed["value"];
    let int = || value.as_i64().expect("integer value");
    match tag {
        "t" => FieldValue::Bool(value.as_bool().unwrap()),
        "b" => FieldValue::I8(int().try_into().unwrap()),
        "B" => FieldValue::U8(int().try_into().unwrap()),
        "s" => FieldValue::I16(int().try_into().unwrap()),
        "u" => FieldValue::U16(int().try_into().unwrap()),
        "I" => FieldValue::I32(int().try_into().unwrap()),
        "i" => FieldValue::U32(int().try_into().unwrap()),
        "l" => FieldValue::I64(int()),
        "f" => FieldValue::F32(value.as_f64().unwrap() as f32),
        "d" => FieldValue::F64(value.as_f64().unwrap()),
        "S" => FieldValue::string(value.as_str().unwrap()),
        "x" => FieldValue::ByteArray(value.as_str().unwrap().as_bytes().to_vec()),
        "A" => FieldValue::Array(value.as_array().unwrap().iter().map(typed_value).collect()),
        "T" => FieldValue::Timestamp(value.as_u64().unwrap()),
        "F" => FieldValue::Table(typed_table(value)),
        "V" => FieldValue::Void,
        other => panic!("unknown AMQP type tag {other:?}"),
    }
}

fn typed_table(object: &Value) -> FieldTable {
    object
        .as_object()
        .expect("table")
        .iter()
        .map(|(key, typed)| (key.clone(), typed_value(typed)))
        .collect()
}

fn opt_string(value: &Value) -> Option<String> {
    value.as_str().map(str::to_string)
}

/// The captured AMQP message as a [`WireChunk`].
fn wire_chunk(captured: &Value) -> WireChunk {
    let props = &captured["properties"];
    WireChunk {
        routing_key: captured["routing_key"].as_str().unwrap().to_string(),
        properties: WireProperties {
            content_encoding: opt_string(&props["content_encoding"]),
            correlation_id: opt_string(&props["correlation_id"]),
            reply_to: opt_string(&props["reply_to"]),
            message_id: opt_string(&props["message_id"]),
            headers: typed_table(&props["headers_amqp_typed"]),
        },
        body: captured["body_raw"].as_str().unwrap().as_bytes().to_vec(),
    }
}

/// dl-cpp writes integer headers as `i`; pika-built captures used `I`. We always write `i`.
fn as_written_by_dl_cpp(headers: &FieldTable) -> FieldTable {
    headers
        .iter()
        .map(|(key, value)| {
            let value = match value {
                FieldValue::I32(v) => FieldValue::U32(u32::try_from(*v).unwrap()),
                other => other.clone(),
            };
            (key.clone(), value)
        })
        .collect()
}

fn tags(table: &FieldTable) -> Vec<(String, char)> {
    let mut out = Vec::new();
    for (key, value) in table {
        out.push((key.clone(), value.type_tag()));
        if let FieldValue::Table(inner) = value {
            for (inner_key, tag) in tags(inner) {
                out.push((format!("{key}.{inner_key}"), tag));
            }
        }
    }
    out
}

fn message_id_base(captured: &Value) -> String {
    let id = captured["properties"]["message_id"].as_str().unwrap();
    let mut parts = id.rsplitn(3, '/');
    parts.next();
    parts.next();
    parts.next().unwrap().to_string()
}

/// Check the decoded header fields against the capture's `headers` (the plain JSON view).
fn assert_fields(file: &str, captured: &Value, message: &Message) {
    let headers = &captured["properties"]["headers"];
    let props = &captured["properties"];
    let ctx = format!("{file}: {}", props["message_id"]);
    assert_eq!(
        message.type_code(),
        headers["message_type"].as_u64().unwrap() as u32,
        "{ctx}"
    );
    match &message.kind {
        MessageKind::Request {
            operation,
            operation_code,
            lockout_key,
        } => {
            let code = headers["message_operation"].as_i64().unwrap();
            assert_eq!(*operation_code, code, "{ctx}");
            assert_eq!(*operation, Operation::from_code(code), "{ctx}");
            assert!(operation.is_some(), "{ctx}");
            let key = headers["lockout_key"].as_str().unwrap();
            assert_eq!(*lockout_key, LockoutKey::parse(key), "{ctx}");
            assert_eq!(lockout_key.to_header(), key, "{ctx}");
        }
        MessageKind::Reply {
            return_code,
            return_message,
        } => {
            assert_eq!(
                u64::from(*return_code),
                headers["return_code"].as_u64().unwrap(),
                "{ctx}"
            );
            assert_eq!(
                return_message,
                headers["return_message"].as_str().unwrap(),
                "{ctx}"
            );
        }
        MessageKind::Alert => {}
    }
    assert_eq!(
        message.specifier,
        headers["specifier"].as_str().unwrap(),
        "{ctx}"
    );
    assert_eq!(
        message.timestamp,
        headers["timestamp"].as_str().unwrap(),
        "{ctx}"
    );
    let sender: dripline_protocol::SenderInfo =
        serde_json::from_value(headers["sender_info"].clone()).unwrap();
    assert_eq!(message.sender_info, sender, "{ctx}");
    assert_eq!(message.message_id, message_id_base(captured), "{ctx}");
    assert_eq!(
        message.routing_key,
        captured["routing_key"].as_str().unwrap(),
        "{ctx}"
    );
    assert_eq!(
        message.correlation_id,
        props["correlation_id"].as_str().unwrap(),
        "{ctx}"
    );
    assert_eq!(
        message.reply_to,
        props["reply_to"].as_str().unwrap(),
        "{ctx}"
    );
}

/// Re-encode and compare with the captured chunks: properties, headers (names, type tags,
/// values; `I` read as `i`) and body.
fn assert_reencodes(file: &str, captured: &[&Value], message: &Message) {
    let chunks = encode(message, DEFAULT_MAX_PAYLOAD_SIZE);
    assert_eq!(chunks.len(), captured.len(), "{file}: chunk count");
    let from_dl_cpp = captured[0]["properties"]["headers"]["sender_info"]["versions"]
        .get("dripline-cpp")
        .is_some();
    for (ours, theirs) in chunks.iter().zip(captured) {
        let expected = wire_chunk(theirs);
        let ctx = format!("{file}: {:?}", expected.properties.message_id);
        assert_eq!(ours.routing_key, expected.routing_key, "{ctx}");
        assert_eq!(
            ours.properties.content_encoding, expected.properties.content_encoding,
            "{ctx}"
        );
        assert_eq!(
            ours.properties.correlation_id, expected.properties.correlation_id,
            "{ctx}"
        );
        assert_eq!(
            ours.properties.reply_to, expected.properties.reply_to,
            "{ctx}"
        );
        assert_eq!(
            ours.properties.message_id, expected.properties.message_id,
            "{ctx}"
        );
        let theirs_headers = as_written_by_dl_cpp(&expected.properties.headers);
        assert_eq!(
            tags(&ours.properties.headers),
            tags(&theirs_headers),
            "{ctx}"
        );
        assert_eq!(ours.properties.headers, theirs_headers, "{ctx}");
        if from_dl_cpp {
            // rapidjson writes compact JSON with keys in order (scarab's param_node is a map),
            // which is exactly what serde_json writes.
            assert_eq!(
                String::from_utf8_lossy(&ours.body),
                String::from_utf8_lossy(&expected.body),
                "{ctx}"
            );
        }
    }
    if captured.len() == 1 {
        if let Some(body_json) = captured[0].get("body_json") {
            let ours: Value = serde_json::from_slice(&chunks[0].body).unwrap();
            assert_eq!(&ours, body_json, "{file}");
        }
    }
}

#[test]
fn every_sample_decodes_and_reencodes() {
    let mut checked = 0;
    for (file, sample) in samples() {
        let messages = sample["messages"].as_array().unwrap();
        if file == "chunked_request_3_chunks.json" {
            continue; // see chunked_sample_reassembles
        }
        for captured in messages {
            let chunk = wire_chunk(captured);
            let is_not_json =
                file == "error_body_not_json.json" && captured.get("body_json").is_none();
            let message = match decode_chunk(chunk.clone()) {
                Ok(message) => {
                    assert!(!is_not_json, "{file}: the not-JSON body decoded");
                    assert_eq!(&message.payload, &captured["body_json"], "{file}");
                    message
                }
                Err(DecodeError::Body {
                    message,
                    invalid,
                    reason,
                }) if is_not_json => {
                    assert_eq!(invalid, "not json", "{file}");
                    assert!(!reason.is_empty());
                    assert_eq!(message.payload, Value::Null);
                    *message
                }
                Err(err) => panic!("{file}: {err}"),
            };
            assert_fields(&file, captured, &message);
            // The assembler gives the same result for a single-chunk message.
            let mut assembler = ChunkAssembler::new(DEFAULT_CHUNK_WAIT);
            let via_assembler = assembler.offer(chunk, Instant::now()).expect("complete");
            match via_assembler {
                Ok(other) => assert_eq!(other, message, "{file}"),
                Err(DecodeError::Body { message: other, .. }) => assert_eq!(*other, message),
                Err(err) => panic!("{file}: {err}"),
            }
            if is_not_json {
                // Our encoder writes `null` for the lost payload; compare headers only.
                let ours = encode(&message, DEFAULT_MAX_PAYLOAD_SIZE);
                let theirs = as_written_by_dl_cpp(&wire_chunk(captured).properties.headers);
                assert_eq!(ours[0].properties.headers, theirs, "{file}");
                assert_eq!(ours[0].body, b"null");
            } else {
                assert_reencodes(&file, &[captured], &message);
            }
            checked += 1;
        }
    }
    assert!(checked >= 50, "checked {checked} messages");
}

#[test]
fn chunked_sample_reassembles() {
    let samples = samples();
    let (file, sample) = samples
        .iter()
        .find(|(file, _)| file == "chunked_request_3_chunks.json")
        .expect("chunked sample");
    let captured: Vec<&Value> = sample["messages"].as_array().unwrap().iter().collect();
    let sizes: Vec<usize> = captured
        .iter()
        .map(|c| c["body_raw"].as_str().unwrap().len())
        .collect();
    assert_eq!(sizes, [10000, 10000, 5015]);
    let whole: String = captured
        .iter()
        .map(|c| c["body_raw"].as_str().unwrap())
        .collect();
    let expected_payload: Value = serde_json::from_str(&whole).unwrap();

    // A single chunk of a multi-chunk message is not a message by itself.
    assert!(matches!(
        decode_chunk(wire_chunk(captured[0])),
        Err(DecodeError::MessageId(_))
    ));

    for order in [[0, 1, 2], [2, 0, 1], [1, 2, 0]] {
        let mut assembler = ChunkAssembler::new(DEFAULT_CHUNK_WAIT);
        let now = Instant::now();
        let mut result = None;
        for (n, &i) in order.iter().enumerate() {
            let out = assembler.offer(wire_chunk(captured[i]), now);
            if n < 2 {
                assert!(out.is_none(), "{file}: completed early");
                // A duplicate is ignored.
                assert!(assembler.offer(wire_chunk(captured[i]), now).is_none());
            } else {
                result = out;
            }
        }
        let message = result.expect("complete").expect("decodes");
        assert_eq!(message.payload, expected_payload);
        assert_eq!(message.payload["values"][0].as_str().unwrap().len(), 25000);
        assert_fields(file, captured[0], &message);
        assert_eq!(assembler.next_deadline(), None);
        assert!(assembler.expire(now + Duration::from_secs(10)).is_empty());
        assert_reencodes(file, &captured, &message);
    }
}

#[test]
fn large_payload_round_trips_out_of_order() {
    let text: String = (0..100_000)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    let payload = serde_json::json!({"values": [text, "héllo wörld ✓"], "n": 1});
    let sender =
        dripline_protocol::SenderInfo::ours("/bin/dl-set", "host", "me", "unknown", "0.1.0");
    let mut request = Message::request(
        "big",
        Operation::Set,
        "",
        payload.clone(),
        LockoutKey::None,
        sender,
        "2026-11-26T00:29:08.315196Z".into(),
    );
    request.reply_to = "amq.gen-x".into();
    // A chunk size that cuts through the multi-byte characters near the end.
    for size in [DEFAULT_MAX_PAYLOAD_SIZE, 7, 1000, 100_003] {
        let chunks = encode(&request, size);
        let body_len: usize = chunks.iter().map(|c| c.body.len()).sum();
        assert_eq!(chunks.len(), body_len.div_ceil(size));
        for chunk in &chunks {
            assert!(chunk.body.len() <= size);
            assert_eq!(chunk.properties.headers, chunks[0].properties.headers);
            assert_eq!(
                chunk.properties.correlation_id,
                chunks[0].properties.correlation_id
            );
        }
        let mut assembler = ChunkAssembler::default();
        let now = Instant::now();
        let mut done = Vec::new();
        // Reverse, then interleave duplicates.
        for chunk in chunks.iter().rev() {
            done.extend(assembler.offer(chunk.clone(), now));
            if chunks.len() > 1 && !done.is_empty() {
                break;
            }
        }
        assert_eq!(done.len(), 1);
        let message = done.pop().unwrap().expect("decodes");
        assert_eq!(
            message,
            Message {
                payload: payload.clone(),
                ..request.clone()
            }
        );
        assert_eq!(assembler.pending_count(), 0);
    }
}

#[test]
fn missing_chunk_expires_into_a_body_error() {
    let payload = Value::String("x".repeat(25_000));
    let sender =
        dripline_protocol::SenderInfo::ours("/bin/dl-set", "host", "me", "unknown", "0.1.0");
    let request = Message::request(
        "chips",
        Operation::Set,
        "",
        dripline_protocol::values::set_payload(payload),
        LockoutKey::None,
        sender,
        String::new(),
    );
    let chunks = encode(&request, DEFAULT_MAX_PAYLOAD_SIZE);
    assert_eq!(chunks.len(), 3);
    let wait = Duration::from_millis(1000);
    let mut assembler = ChunkAssembler::new(wait);
    let start = Instant::now();
    assert!(assembler.offer(chunks[0].clone(), start).is_none());
    assert!(assembler
        .offer(chunks[2].clone(), start + Duration::from_millis(10))
        .is_none());
    assert_eq!(assembler.next_deadline(), Some(start + wait));
    assert!(assembler
        .expire(start + Duration::from_millis(999))
        .is_empty());
    let mut expired = assembler.expire(start + wait);
    assert_eq!(expired.len(), 1);
    assert_eq!(assembler.next_deadline(), None);
    match expired.pop().unwrap() {
        Err(DecodeError::Body {
            message,
            invalid,
            reason,
        }) => {
            assert_eq!(message.message_id, request.message_id);
            assert_eq!(message.correlation_id, request.correlation_id);
            assert_eq!(message.payload, Value::Null);
            assert_eq!(message.operation(), Some(Operation::Set));
            assert_eq!(invalid.len(), 25_015);
            assert_eq!(&invalid[10_000..20_000], "#".repeat(10_000));
            assert!(invalid.starts_with("{\"values\":[\"xxx"));
            assert!(reason.contains("1 of 3"), "{reason}");
        }
        other => panic!("expected a body error, got {other:?}"),
    }
    // A late chunk starts a new (incomplete) message rather than resurrecting the old one.
    assert!(assembler.offer(chunks[1].clone(), start + wait).is_none());
    assert_eq!(assembler.pending_count(), 1);
}
