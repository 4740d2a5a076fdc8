//! Turning arbitrary bytes into AMQP messages, shared by the cargo-fuzz target
//! (`fuzz/fuzz_targets/decode.rs`) and a deterministic unit test that runs without cargo-fuzz.
//!
//! Only compiled with the `fuzzing` feature (and in this crate's tests).
//!
//! Input layout: byte 0 is a length `n`; the next `n` bytes steer a small structured decoder
//! (which properties are set, which headers exist and with which AMQP types, often starting
//! from a valid header set so the fuzzer gets past the first checks; reads past the end give
//! zeros); everything after them is the body.

use crate::message::MessageKind;
use crate::wire::{decode_chunk, encode, ChunkAssembler, DecodeError, WireChunk, WireProperties};
use crate::{FieldTable, FieldValue, Message, CONTENT_ENCODING_JSON};
use serde_json::Value;
use std::time::{Duration, Instant};

/// Reads steering values from the front of the input; yields zeros once it runs out.
struct Steer<'a> {
    data: &'a [u8],
}

impl<'a> Steer<'a> {
    fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((first, rest)) => {
                self.data = rest;
                *first
            }
            None => 0,
        }
    }

    fn bytes(&mut self, max: usize) -> Vec<u8> {
        let len = (usize::from(self.byte()) % (max + 1)).min(self.data.len());
        let (taken, rest) = self.data.split_at(len);
        self.data = rest;
        taken.to_vec()
    }

    fn text(&mut self, max: usize) -> String {
        String::from_utf8_lossy(&self.bytes(max)).into_owned()
    }

    fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.byte(), self.byte(), self.byte(), self.byte()])
    }
}

const HEADER_NAMES: &[&str] = &[
    "message_type",
    "message_operation",
    "specifier",
    "timestamp",
    "lockout_key",
    "return_code",
    "return_message",
    "sender_info",
    "x-unknown",
];

const TABLE_KEYS: &[&str] = &[
    "exe",
    "hostname",
    "username",
    "service_name",
    "versions",
    "version",
    "commit",
    "package",
    "dripline",
    "",
];

fn field_value(steer: &mut Steer<'_>, depth: u8) -> FieldValue {
    let tag = steer.byte() % 17;
    match tag {
        0 => FieldValue::Bool(steer.byte() & 1 == 1),
        1 => FieldValue::I8(i8::from_le_bytes([steer.byte()])),
        2 => FieldValue::U8(steer.byte()),
        3 => FieldValue::I16(i16::from_le_bytes([steer.byte(), steer.byte()])),
        4 => FieldValue::U16(u16::from_le_bytes([steer.byte(), steer.byte()])),
        5 => FieldValue::I32(steer.u32() as i32),
        6 => FieldValue::U32(u32::from(steer.byte() % 12)),
        7 => FieldValue::I64(i64::from(steer.u32()) << (steer.byte() % 40)),
        8 => FieldValue::F32(f32::from_bits(steer.u32())),
        9 => FieldValue::F64(f64::from(steer.u32())),
        10 => FieldValue::Decimal(steer.byte(), steer.u32()),
        11 => FieldValue::LongString(steer.bytes(48)),
        12 => FieldValue::ByteArray(steer.bytes(48)),
        13 if depth < 4 => {
            let len = steer.byte() % 4;
            FieldValue::Array((0..len).map(|_| field_value(steer, depth + 1)).collect())
        }
        14 => FieldValue::Timestamp(u64::from(steer.u32())),
        15 if depth < 4 => FieldValue::Table(field_table(steer, depth + 1)),
        _ => FieldValue::Void,
    }
}

fn field_table(steer: &mut Steer<'_>, depth: u8) -> FieldTable {
    let len = steer.byte() % 6;
    (0..len)
        .map(|_| {
            let key = TABLE_KEYS[usize::from(steer.byte()) % TABLE_KEYS.len()].to_string();
            (key, field_value(steer, depth))
        })
        .collect()
}

fn sender_info(steer: &mut Steer<'_>) -> FieldValue {
    let mut version = FieldTable::new();
    version.insert("version".into(), FieldValue::string(steer.text(8)));
    if steer.byte() & 1 == 1 {
        version.insert("commit".into(), FieldValue::ByteArray(steer.bytes(8)));
    }
    let mut versions = FieldTable::new();
    versions.insert(steer.text(8), FieldValue::Table(version));
    let mut table = FieldTable::new();
    for key in ["exe", "hostname", "username", "service_name"] {
        table.insert(key.into(), FieldValue::string(steer.text(8)));
    }
    table.insert("versions".into(), FieldValue::Table(versions));
    FieldValue::Table(table)
}

/// A plausible header set for message type 2, 3 or 4.
fn base_headers(steer: &mut Steer<'_>) -> FieldTable {
    let mut headers = FieldTable::new();
    let message_type = 2 + u32::from(steer.byte() % 3);
    headers.insert("message_type".into(), FieldValue::U32(message_type));
    headers.insert("specifier".into(), FieldValue::string(steer.text(16)));
    headers.insert("timestamp".into(), FieldValue::string(steer.text(32)));
    headers.insert("sender_info".into(), sender_info(steer));
    match message_type {
        3 => {
            let op = [0, 1, 9, 7][usize::from(steer.byte() % 4)];
            headers.insert("message_operation".into(), FieldValue::U32(op));
            let key = match steer.byte() % 3 {
                0 => "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9".to_string(),
                1 => String::new(),
                _ => steer.text(40),
            };
            headers.insert("lockout_key".into(), FieldValue::string(key));
        }
        2 => {
            headers.insert("return_code".into(), FieldValue::U32(steer.u32() % 1200));
            headers.insert("return_message".into(), FieldValue::string(steer.text(16)));
        }
        _ => {}
    }
    headers
}

/// Build one AMQP message from arbitrary bytes: byte 0 says how many steering bytes follow,
/// they choose the properties and headers, and the rest is the body.
pub fn chunk_from_bytes(data: &[u8]) -> WireChunk {
    let (steering, body) = match data.split_first() {
        Some((len, rest)) => rest.split_at(usize::from(*len).min(rest.len())),
        None => (data, data),
    };
    let mut steer = Steer { data: steering };
    let flags = steer.byte();
    let content_encoding = match flags & 3 {
        0 | 1 => Some(CONTENT_ENCODING_JSON.to_string()),
        2 => None,
        _ => Some(steer.text(20)),
    };
    let message_id = match (flags >> 2) & 3 {
        0 => Some("fz/0/1".to_string()),
        1 => Some(format!("fz/{}/{}", steer.byte() % 4, steer.byte() % 4)),
        2 => Some(steer.text(24)),
        _ => None,
    };
    let correlation_id = (flags & 0x10 == 0).then(|| steer.text(36));
    let reply_to = (flags & 0x20 == 0).then(|| steer.text(16));
    let mut headers = if flags & 0x40 == 0 {
        base_headers(&mut steer)
    } else {
        FieldTable::new()
    };
    let overrides = steer.byte() % 4;
    for _ in 0..overrides {
        let name = HEADER_NAMES[usize::from(steer.byte()) % HEADER_NAMES.len()];
        if steer.byte() & 3 == 0 {
            headers.remove(name);
        } else {
            headers.insert(name.to_string(), field_value(&mut steer, 0));
        }
    }
    let routing_key = steer.text(16);
    WireChunk {
        routing_key,
        properties: WireProperties {
            content_encoding,
            correlation_id,
            reply_to,
            message_id,
            headers,
        },
        body: body.to_vec(),
    }
}

fn has_float(value: &Value) -> bool {
    match value {
        Value::Number(n) => n.is_f64(),
        Value::Array(items) => items.iter().any(has_float),
        Value::Object(map) => map.values().any(has_float),
        _ => false,
    }
}

/// What a decode result is, for comparing two decodes of the same message.
fn outcome(result: &Result<Message, DecodeError>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(DecodeError::Encoding(_)) => "encoding",
        Err(DecodeError::MessageId(_)) => "message_id",
        Err(DecodeError::Header { .. }) => "header",
        Err(DecodeError::Body { .. }) => "body",
    }
}

/// A decoded message must survive encode → decode unchanged (payloads with floats excepted:
/// serde_json's default float parsing is not guaranteed to round-trip the last bit).
fn check_round_trip(message: &Message, max_payload_size: usize, now: Instant) {
    let mut assembler = ChunkAssembler::new(Duration::from_secs(1));
    let mut results: Vec<_> = encode(message, max_payload_size)
        .into_iter()
        .rev()
        .filter_map(|chunk| assembler.offer(chunk, now))
        .collect();
    assert_eq!(results.len(), 1, "encode gave an incomplete message");
    let again = match results.pop() {
        Some(Ok(again)) => again,
        other => panic!("re-encoded message does not decode: {other:?}"),
    };
    let mut expected = message.clone();
    if !matches!(expected.kind, MessageKind::Request { .. }) {
        expected.reply_to.clear(); // replies and alerts are always sent with reply_to ""
    }
    if let MessageKind::Request { operation_code, .. } = &mut expected.kind {
        if u32::try_from(*operation_code).is_err() {
            *operation_code = -1; // not representable as `i`: the header is left out
        }
    }
    if has_float(&expected.payload) {
        expected.payload = again.payload.clone();
    }
    assert_eq!(again, expected);
}

/// Decode `data` as a fuzzer would: as one message, through a [`ChunkAssembler`], and with its
/// body cut into several chunks offered out of order with a duplicate; then check the
/// properties that must hold (no panic, consistent results, encode/decode round trip, nothing
/// left pending after expiry).
pub fn exercise(data: &[u8], now: Instant) {
    let chunk = chunk_from_bytes(data);
    let single = decode_chunk(chunk.clone());
    match &single {
        Ok(message) => check_round_trip(message, 1 + data.len() % 64, now),
        Err(DecodeError::Body { message, .. }) => assert_eq!(message.payload, Value::Null),
        Err(_) => {}
    }

    let wait = Duration::from_millis(1000);
    let mut assembler = ChunkAssembler::new(wait);
    let mut results = Vec::new();
    results.extend(assembler.offer(chunk.clone(), now));

    // The same body in `pieces` chunks of one new message id.
    let pieces = 1 + data.get(1).map_or(0, |b| usize::from(*b >> 5));
    let size = chunk.body.len().div_ceil(pieces).max(1);
    let mut parts: Vec<(usize, &[u8])> = chunk.body.chunks(size).enumerate().collect();
    if parts.is_empty() {
        parts.push((0, &[]));
    }
    let count = parts.len();
    let rotate = data.len() % count;
    parts.rotate_left(rotate);
    let forged = |index: usize, body: &[u8]| {
        let mut piece = chunk.clone();
        piece.properties.message_id = Some(format!("fz-split/{index}/{count}"));
        piece.body = body.to_vec();
        piece
    };
    let properties_ok = chunk.properties.content_encoding.as_deref() == Some(CONTENT_ENCODING_JSON);
    let mut split_results = Vec::new();
    for (n, (index, body)) in parts.iter().enumerate() {
        let result = assembler.offer(forged(*index, body), now);
        if !properties_ok {
            assert!(matches!(result, Some(Err(DecodeError::Encoding(_)))));
            continue;
        }
        if n + 1 < count {
            assert!(result.is_none(), "completed before the last chunk");
            // A duplicate is ignored.
            assert!(assembler.offer(forged(*index, body), now).is_none());
        } else {
            assert!(result.is_some(), "last chunk did not complete the message");
        }
        split_results.extend(result);
    }
    if let Some(joined) = split_results.first() {
        // Joining the pieces must give what decoding the whole body gives.
        let mut whole = chunk.clone();
        whole.properties.message_id = Some("fz-split/0/1".to_string());
        let direct = decode_chunk(whole);
        assert_eq!(outcome(joined), outcome(&direct));
        if let (Ok(a), Ok(b)) = (joined, &direct) {
            assert_eq!(a, b);
        }
    }
    results.extend(split_results);

    if let Some(deadline) = assembler.next_deadline() {
        assert!(deadline >= now);
        assert!(assembler.expire(now).is_empty() || wait.is_zero());
        for expired in assembler.expire(deadline) {
            match expired {
                Err(DecodeError::Body { message, .. }) => assert_eq!(message.payload, Value::Null),
                Err(DecodeError::Header { .. }) => {}
                other => panic!("expiry gave {other:?}"),
            }
        }
    }
    assert_eq!(assembler.pending_count(), 0);
    assert_eq!(assembler.next_deadline(), None);
    drop(results);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// xorshift64*: deterministic pseudo-random bytes without a crate.
    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
    }

    fn random_input(rng: &mut XorShift, i: usize) -> Vec<u8> {
        let steering_len = (rng.next() % 80) as usize;
        let mut data = vec![steering_len as u8];
        data.extend((0..steering_len).map(|_| rng.next() as u8));
        if i.is_multiple_of(4) && steering_len > 0 {
            // Valid encoding and message id, plausible headers: reach the body decoder.
            data[1] &= 0b1011_0000;
        }
        if i.is_multiple_of(2) {
            let tails: [&[u8]; 7] = [
                b"{}",
                b"null",
                br#"{"values":[1,"x",true]}"#,
                br#"[1.5,{"a":null}]"#,
                "\"h\u{e9}llo\"".as_bytes(),
                b"",
                b"not json",
            ];
            data.extend_from_slice(tails[(rng.next() % 7) as usize]);
        } else {
            let len = (rng.next() % 300) as usize;
            data.extend((0..len).map(|_| rng.next() as u8));
        }
        data
    }

    #[test]
    fn pseudo_random_inputs_never_panic() {
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        let now = Instant::now();
        let mut decoded = 0;
        for i in 0..4000 {
            let data = random_input(&mut rng, i);
            if decode_chunk(chunk_from_bytes(&data)).is_ok() {
                decoded += 1;
            }
            exercise(&data, now);
        }
        // The steering must let a fair share through to the body decoder.
        assert!(decoded > 100, "only {decoded} inputs decoded");
    }

    #[test]
    fn edge_inputs() {
        let now = Instant::now();
        for data in [
            &b""[..],
            b"\0",
            b"\xff",
            &[0xff; 64],
            &[0; 64],
            b"\x03\0\0\0{}",
            b"\x00{}",
            b"\xff{}",
        ] {
            exercise(data, now);
        }
    }

    #[test]
    fn valid_steering_decodes() {
        // flags 0: json encoding, fz/0/1, correlation id and reply_to present, base headers.
        let mut data = vec![20u8];
        data.extend([0u8; 20]);
        data.extend_from_slice(b"{}");
        let message = decode_chunk(chunk_from_bytes(&data)).unwrap();
        assert_eq!(message.message_id, "fz");
        assert_eq!(message.type_code(), 2);
        exercise(&data, Instant::now());
    }
}
