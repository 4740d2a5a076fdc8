//! Messages to and from AMQP properties + body chunks (PROTOCOL.md §A2, §A10).

use crate::message::{MessageKind, Operation};
use crate::{FieldTable, FieldValue, LockoutKey, Message, PackageVersion, SenderInfo};
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use thiserror::Error;

/// The only `content_encoding` dripline accepts.
pub const CONTENT_ENCODING_JSON: &str = "application/json";
/// Bodies longer than this many bytes are split into chunks (dl-cpp `max_payload_size`).
pub const DEFAULT_MAX_PAYLOAD_SIZE: usize = 10_000;
/// The most chunks one message may announce; larger counts are a `MessageId` error (a
/// 10 kB-chunked message of this many chunks would be 655 MB).
pub const MAX_CHUNK_COUNT: usize = 65_536;
/// How long a receiver waits for the missing chunks of a message (dl-cpp `message_wait_ms`).
pub const DEFAULT_CHUNK_WAIT: Duration = Duration::from_millis(1000);

/// The AMQP basic properties dripline uses; everything else is left unset.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WireProperties {
    /// `content_encoding` (must be `application/json`).
    pub content_encoding: Option<String>,
    /// `correlation_id`.
    pub correlation_id: Option<String>,
    /// `reply_to`.
    pub reply_to: Option<String>,
    /// `message_id`: `<id>/<chunk index>/<chunk count>`.
    pub message_id: Option<String>,
    /// The dripline headers.
    pub headers: FieldTable,
}

/// One AMQP message: routing key, properties and body bytes.
#[derive(Clone, Debug, PartialEq)]
pub struct WireChunk {
    /// The AMQP routing key.
    pub routing_key: String,
    /// The properties.
    pub properties: WireProperties,
    /// The body bytes (a whole JSON text, or one byte slice of it).
    pub body: Vec<u8>,
}

/// Why a received AMQP message is not a usable dripline message.
#[derive(Debug, Error)]
pub enum DecodeError {
    /// `content_encoding` is missing or not `application/json` (dl-cpp drops these).
    #[error("content encoding is {0:?}, not application/json")]
    Encoding(Option<String>),
    /// `message_id` is missing or not `<id>/<index>/<count>` (dl-cpp drops these).
    #[error("message id {0:?} is not of the form <id>/<chunk>/<count>")]
    MessageId(Option<String>),
    /// A required header is missing or has the wrong AMQP type.
    #[error("header {name}: {problem}")]
    Header {
        /// The header name (`message_type`, `sender_info.exe`, …).
        name: String,
        /// What is wrong with it.
        problem: String,
    },
    /// The headers are fine but the body is not JSON (or chunks are missing): a service
    /// replies 302 with `{"error": …, "invalid": <body text>}`.
    #[error("body is not valid JSON: {reason}")]
    Body {
        /// The message with `payload` set to `null`, so a reply can still be addressed.
        message: Box<Message>,
        /// The body as text (lossy UTF-8; missing chunks filled with `#`).
        invalid: String,
        /// What was wrong.
        reason: String,
    },
}

/// Encode `message` as one or more AMQP messages. Integers are written as unsigned 32-bit
/// (`i`), strings as long strings (`S`), `sender_info` as a nested table; the body is compact
/// JSON (`null` at least), split into byte slices of at most `max_payload_size` bytes when
/// longer, each with `message_id` `<id>/<i>/<n>` and otherwise identical properties.
///
/// A `max_payload_size` of 0 means "never split". A request whose operation is unknown
/// (`operation: None`) is written with its `operation_code` when that fits an unsigned 32-bit
/// integer and without a `message_operation` header otherwise.
pub fn encode(message: &Message, max_payload_size: usize) -> Vec<WireChunk> {
    let headers = encode_headers(message);
    let reply_to = match message.kind {
        MessageKind::Request { .. } => message.reply_to.clone(),
        MessageKind::Reply { .. } | MessageKind::Alert => String::new(),
    };
    // Serialising a `Value` cannot fail (its map keys are strings); fall back to `null` anyway.
    let body = serde_json::to_vec(&message.payload).unwrap_or_else(|_| b"null".to_vec());
    let pieces: Vec<&[u8]> = if max_payload_size == 0 || body.len() <= max_payload_size {
        vec![body.as_slice()]
    } else {
        body.chunks(max_payload_size).collect()
    };
    let count = pieces.len();
    pieces
        .into_iter()
        .enumerate()
        .map(|(index, piece)| WireChunk {
            routing_key: message.routing_key.clone(),
            properties: WireProperties {
                content_encoding: Some(CONTENT_ENCODING_JSON.to_string()),
                correlation_id: Some(message.correlation_id.clone()),
                reply_to: Some(reply_to.clone()),
                message_id: Some(format!("{}/{index}/{count}", message.message_id)),
                headers: headers.clone(),
            },
            body: piece.to_vec(),
        })
        .collect()
}

fn encode_headers(message: &Message) -> FieldTable {
    let mut headers = FieldTable::new();
    headers.insert(
        "message_type".to_string(),
        FieldValue::U32(message.type_code()),
    );
    headers.insert(
        "specifier".to_string(),
        FieldValue::string(message.specifier.as_str()),
    );
    headers.insert(
        "timestamp".to_string(),
        FieldValue::string(message.timestamp.as_str()),
    );
    headers.insert(
        "sender_info".to_string(),
        encode_sender_info(&message.sender_info),
    );
    match &message.kind {
        MessageKind::Request {
            operation,
            operation_code,
            lockout_key,
        } => {
            let code = match operation {
                Some(op) => Some(op.code()),
                None => u32::try_from(*operation_code).ok(),
            };
            if let Some(code) = code {
                headers.insert("message_operation".to_string(), FieldValue::U32(code));
            }
            headers.insert(
                "lockout_key".to_string(),
                FieldValue::string(lockout_key.to_header()),
            );
        }
        MessageKind::Reply {
            return_code,
            return_message,
        } => {
            headers.insert("return_code".to_string(), FieldValue::U32(*return_code));
            headers.insert(
                "return_message".to_string(),
                FieldValue::string(return_message.as_str()),
            );
        }
        MessageKind::Alert => {}
    }
    headers
}

/// `sender_info` as the nested table dl-cpp writes.
pub fn encode_sender_info(info: &SenderInfo) -> FieldValue {
    let mut table = FieldTable::new();
    table.insert("exe".to_string(), FieldValue::string(info.exe.as_str()));
    table.insert(
        "hostname".to_string(),
        FieldValue::string(info.hostname.as_str()),
    );
    table.insert(
        "username".to_string(),
        FieldValue::string(info.username.as_str()),
    );
    table.insert(
        "service_name".to_string(),
        FieldValue::string(info.service_name.as_str()),
    );
    let versions = info
        .versions
        .iter()
        .map(|(package_name, entry)| {
            let mut fields = FieldTable::new();
            fields.insert(
                "version".to_string(),
                FieldValue::string(entry.version.as_str()),
            );
            if let Some(commit) = &entry.commit {
                fields.insert("commit".to_string(), FieldValue::string(commit.as_str()));
            }
            if let Some(package) = &entry.package {
                fields.insert("package".to_string(), FieldValue::string(package.as_str()));
            }
            (package_name.clone(), FieldValue::Table(fields))
        })
        .collect();
    table.insert("versions".to_string(), FieldValue::Table(versions));
    FieldValue::Table(table)
}

/// A parsed `message_id` property: `<base>/<index>/<count>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChunkId {
    /// The id shared by all chunks of one message.
    pub base: String,
    /// This chunk's position, `0..count`.
    pub index: usize,
    /// How many chunks the message has (1 to [`MAX_CHUNK_COUNT`]).
    pub count: usize,
}

impl ChunkId {
    /// Parse `<base>/<index>/<count>` (the base may itself contain `/`; it must not be empty).
    pub fn parse(message_id: &str) -> Option<ChunkId> {
        let mut parts = message_id.rsplitn(3, '/');
        let count = parse_decimal(parts.next()?)?;
        let index = parse_decimal(parts.next()?)?;
        let base = parts.next()?;
        if base.is_empty() || count == 0 || count > MAX_CHUNK_COUNT || index >= count {
            return None;
        }
        Some(ChunkId {
            base: base.to_string(),
            index,
            count,
        })
    }
}

fn parse_decimal(text: &str) -> Option<usize> {
    if text.is_empty() || text.len() > 9 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Check the properties every chunk must have; returns the parsed message id.
fn check_properties(properties: &WireProperties) -> Result<ChunkId, DecodeError> {
    if properties.content_encoding.as_deref() != Some(CONTENT_ENCODING_JSON) {
        return Err(DecodeError::Encoding(properties.content_encoding.clone()));
    }
    properties
        .message_id
        .as_deref()
        .and_then(ChunkId::parse)
        .ok_or_else(|| DecodeError::MessageId(properties.message_id.clone()))
}

fn header_error(name: &str, problem: impl Into<String>) -> DecodeError {
    DecodeError::Header {
        name: name.to_string(),
        problem: problem.into(),
    }
}

/// A string header (long string or byte array holding UTF-8); `None` when absent.
fn string_field(table: &FieldTable, key: &str, name: &str) -> Result<Option<String>, DecodeError> {
    match table.get(key) {
        None => Ok(None),
        Some(value @ (FieldValue::LongString(_) | FieldValue::ByteArray(_))) => value
            .as_str()
            .map(|text| Some(text.to_string()))
            .ok_or_else(|| header_error(name, "is not valid UTF-8")),
        Some(other) => Err(header_error(
            name,
            format!("has AMQP type '{}', expected a string", other.type_tag()),
        )),
    }
}

fn required_string(table: &FieldTable, key: &str, name: &str) -> Result<String, DecodeError> {
    string_field(table, key, name)?.ok_or_else(|| header_error(name, "is missing"))
}

/// Read the `sender_info` table; every key dl-cpp reads must be present.
pub fn decode_sender_info(value: Option<&FieldValue>) -> Result<SenderInfo, DecodeError> {
    let value = value.ok_or_else(|| header_error("sender_info", "is missing"))?;
    let table = value.as_table().ok_or_else(|| {
        header_error(
            "sender_info",
            format!("has AMQP type '{}', expected a table", value.type_tag()),
        )
    })?;
    let exe = required_string(table, "exe", "sender_info.exe")?;
    let hostname = required_string(table, "hostname", "sender_info.hostname")?;
    let username = required_string(table, "username", "sender_info.username")?;
    let service_name = required_string(table, "service_name", "sender_info.service_name")?;
    let versions_value = table
        .get("versions")
        .ok_or_else(|| header_error("sender_info.versions", "is missing"))?;
    let versions_table = versions_value.as_table().ok_or_else(|| {
        header_error(
            "sender_info.versions",
            format!(
                "has AMQP type '{}', expected a table",
                versions_value.type_tag()
            ),
        )
    })?;
    let mut versions = BTreeMap::new();
    for (package_name, entry) in versions_table {
        let name = format!("sender_info.versions.{package_name}");
        let fields = entry.as_table().ok_or_else(|| {
            header_error(
                &name,
                format!("has AMQP type '{}', expected a table", entry.type_tag()),
            )
        })?;
        let version = required_string(fields, "version", &format!("{name}.version"))?;
        let commit = string_field(fields, "commit", &format!("{name}.commit"))?;
        let package = string_field(fields, "package", &format!("{name}.package"))?;
        versions.insert(
            package_name.clone(),
            PackageVersion {
                version,
                commit,
                package,
            },
        );
    }
    Ok(SenderInfo {
        exe,
        hostname,
        username,
        service_name,
        versions,
    })
}

/// The message described by a chunk's routing key, properties and headers, with a `null`
/// payload. `base` is the message id without its chunk suffix.
fn decode_envelope(
    routing_key: &str,
    properties: &WireProperties,
    base: &str,
) -> Result<Message, DecodeError> {
    let headers = &properties.headers;
    let message_type = match headers.get("message_type") {
        None => return Err(header_error("message_type", "is missing")),
        Some(value) => value.as_integer().ok_or_else(|| {
            header_error(
                "message_type",
                format!("has AMQP type '{}', expected an integer", value.type_tag()),
            )
        })?,
    };
    let kind = match message_type {
        2 => {
            let return_code = match headers.get("return_code") {
                None => 999,
                Some(value) => {
                    let code = value.as_integer().ok_or_else(|| {
                        header_error(
                            "return_code",
                            format!("has AMQP type '{}', expected an integer", value.type_tag()),
                        )
                    })?;
                    u32::try_from(code).map_err(|_| {
                        header_error("return_code", format!("{code} is not a return code"))
                    })?
                }
            };
            MessageKind::Reply {
                return_code,
                return_message: string_field(headers, "return_message", "return_message")?
                    .unwrap_or_default(),
            }
        }
        3 => {
            // Missing or non-integer: unknown operation (a service replies 306).
            let operation_code = headers
                .get("message_operation")
                .and_then(FieldValue::as_integer)
                .unwrap_or(-1);
            let lockout_key = match string_field(headers, "lockout_key", "lockout_key")? {
                None => LockoutKey::None,
                Some(text) => LockoutKey::parse(&text),
            };
            MessageKind::Request {
                operation: Operation::from_code(operation_code),
                operation_code,
                lockout_key,
            }
        }
        4 => MessageKind::Alert,
        other => {
            return Err(header_error(
                "message_type",
                format!("{other} is not 2 (reply), 3 (request) or 4 (alert)"),
            ))
        }
    };
    Ok(Message {
        kind,
        routing_key: routing_key.to_string(),
        correlation_id: properties.correlation_id.clone().unwrap_or_default(),
        reply_to: properties.reply_to.clone().unwrap_or_default(),
        message_id: base.to_string(),
        specifier: string_field(headers, "specifier", "specifier")?.unwrap_or_default(),
        timestamp: string_field(headers, "timestamp", "timestamp")?.unwrap_or_default(),
        sender_info: decode_sender_info(headers.get("sender_info"))?,
        payload: Value::Null,
    })
}

fn body_error(message: Message, body: &[u8], reason: impl Into<String>) -> DecodeError {
    DecodeError::Body {
        message: Box::new(message),
        invalid: String::from_utf8_lossy(body).into_owned(),
        reason: reason.into(),
    }
}

/// Put the JSON body into `message`.
fn decode_body(mut message: Message, body: &[u8]) -> Result<Message, DecodeError> {
    if body.is_empty() {
        return Err(body_error(message, body, "the body is empty"));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(payload) => {
            message.payload = payload;
            Ok(message)
        }
        Err(err) => Err(body_error(message, body, err.to_string())),
    }
}

/// Decode one AMQP message that is a whole dripline message (`…/0/1`).
/// A chunk of a multi-chunk message gives a `MessageId` error: use [`ChunkAssembler`].
pub fn decode_chunk(chunk: WireChunk) -> Result<Message, DecodeError> {
    let id = check_properties(&chunk.properties)?;
    if id.count != 1 {
        return Err(DecodeError::MessageId(chunk.properties.message_id));
    }
    let message = decode_envelope(&chunk.routing_key, &chunk.properties, &id.base)?;
    decode_body(message, &chunk.body)
}

/// Bytes put in place of missing chunks are capped at this many in total; beyond it each
/// missing chunk becomes a single `#`.
const MAX_FILL_BYTES: usize = 16 * 1024 * 1024;

/// Chunks received so far of one message.
#[derive(Debug)]
struct Pending {
    /// When the first chunk arrived.
    first_seen: Instant,
    /// The announced chunk count.
    count: usize,
    /// The first chunk received, minus its body: its headers describe the message.
    routing_key: String,
    properties: WireProperties,
    /// Index → body bytes.
    pieces: BTreeMap<usize, Vec<u8>>,
}

impl Pending {
    /// Join the pieces in order; missing ones become runs of `#` as long as the longest
    /// piece received (dl-cpp's chunk size), or a single `#` past [`MAX_FILL_BYTES`].
    fn joined(&self) -> (Vec<u8>, usize) {
        let piece_len = self.pieces.values().map(Vec::len).max().unwrap_or(1).max(1);
        let missing = self.count.saturating_sub(self.pieces.len());
        let fill_len = if missing.saturating_mul(piece_len) > MAX_FILL_BYTES {
            1
        } else {
            piece_len
        };
        let mut body = Vec::new();
        for index in 0..self.count {
            match self.pieces.get(&index) {
                Some(piece) => body.extend_from_slice(piece),
                None => body.resize(body.len() + fill_len, b'#'),
            }
        }
        (body, missing)
    }
}

/// Reassembles multi-chunk messages by id, joining bytes before decoding.
#[derive(Debug)]
pub struct ChunkAssembler {
    wait: Duration,
    pending: BTreeMap<String, Pending>,
}

impl Default for ChunkAssembler {
    /// An assembler with dl-cpp's wait ([`DEFAULT_CHUNK_WAIT`]).
    fn default() -> Self {
        ChunkAssembler::new(DEFAULT_CHUNK_WAIT)
    }
}

impl ChunkAssembler {
    /// An assembler that waits `wait` for missing chunks.
    pub fn new(wait: Duration) -> Self {
        ChunkAssembler {
            wait,
            pending: BTreeMap::new(),
        }
    }

    /// Take one received AMQP message. Returns the decoded message when it completes one
    /// (single-chunk messages complete at once), `None` while chunks are still missing.
    /// Duplicate chunks are ignored.
    ///
    /// A chunk whose properties are unusable (encoding, message id, or a chunk count that
    /// differs from the earlier chunks of its id) gives `Some(Err(..))` at once and is not kept.
    pub fn offer(
        &mut self,
        chunk: WireChunk,
        now: Instant,
    ) -> Option<Result<Message, DecodeError>> {
        let id = match check_properties(&chunk.properties) {
            Ok(id) => id,
            Err(err) => return Some(Err(err)),
        };
        if id.count == 1 {
            return Some(
                decode_envelope(&chunk.routing_key, &chunk.properties, &id.base)
                    .and_then(|message| decode_body(message, &chunk.body)),
            );
        }
        let WireChunk {
            routing_key,
            properties,
            body,
        } = chunk;
        let pending = self
            .pending
            .entry(id.base.clone())
            .or_insert_with(|| Pending {
                first_seen: now,
                count: id.count,
                routing_key,
                properties: properties.clone(),
                pieces: BTreeMap::new(),
            });
        if pending.count != id.count {
            return Some(Err(DecodeError::MessageId(properties.message_id)));
        }
        if pending.pieces.contains_key(&id.index) {
            return None; // duplicate
        }
        pending.pieces.insert(id.index, body);
        if pending.pieces.len() < pending.count {
            return None;
        }
        let pending = self.pending.remove(&id.base)?;
        let (body, _) = pending.joined();
        Some(
            decode_envelope(&pending.routing_key, &pending.properties, &id.base)
                .and_then(|message| decode_body(message, &body)),
        )
    }

    /// Give up on messages whose chunks did not all arrive within the wait: each becomes a
    /// `DecodeError::Body` (missing pieces filled with `#`), so a service can reply 302.
    pub fn expire(&mut self, now: Instant) -> Vec<Result<Message, DecodeError>> {
        let wait = self.wait;
        let expired: Vec<String> = self
            .pending
            .iter()
            .filter(|(_, pending)| now.saturating_duration_since(pending.first_seen) >= wait)
            .map(|(base, _)| base.clone())
            .collect();
        expired
            .into_iter()
            .filter_map(|base| self.pending.remove(&base).map(|pending| (base, pending)))
            .map(|(base, pending)| {
                let (body, missing) = pending.joined();
                let message = decode_envelope(&pending.routing_key, &pending.properties, &base)?;
                Err(body_error(
                    message,
                    &body,
                    format!(
                        "{missing} of {} chunks did not arrive within {} ms",
                        pending.count,
                        wait.as_millis()
                    ),
                ))
            })
            .collect()
    }

    /// When the oldest incomplete message times out, if any is waiting.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.pending
            .values()
            .map(|pending| pending.first_seen)
            .min()
            .map(|first| first.checked_add(self.wait).unwrap_or(first))
    }

    /// How many incomplete messages are waiting for chunks.
    pub fn pending_count(&self) -> usize {
        self.pending.len()
    }
}
