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
                message_id: Some(
                    ChunkId {
                        base: message.message_id.clone(),
                        index,
                        count,
                    }
                    .to_string(),
                ),
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

/// A chunk's `message_id` property, `<base>/<index>/<count>`: parsed with [`ChunkId::parse`]
/// (or `str::parse`), written with `Display` (`to_string()`), which [`encode`] uses too.
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

impl std::fmt::Display for ChunkId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}/{}", self.base, self.index, self.count)
    }
}

impl std::str::FromStr for ChunkId {
    type Err = DecodeError;

    /// [`ChunkId::parse`], with the [`DecodeError::MessageId`] a receiver reports.
    fn from_str(message_id: &str) -> Result<Self, DecodeError> {
        ChunkId::parse(message_id).ok_or_else(|| DecodeError::MessageId(Some(message_id.into())))
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

/// How much of an undecodable body is quoted back in a 302 reply's `invalid`, at most: whole
/// for the bodies of a few chunks (as dripline does), the start only for a huge one.
pub const MAX_QUOTED_BODY: usize = 64 * 1024;

fn body_error(message: Message, body: &[u8], reason: impl Into<String>) -> DecodeError {
    // Quote the start only of a huge body: echoing 16 MB back to its sender helps nobody.
    let invalid = if body.len() > MAX_QUOTED_BODY {
        format!(
            "{}… ({} bytes)",
            String::from_utf8_lossy(&body[..MAX_QUOTED_BODY]),
            body.len()
        )
    } else {
        String::from_utf8_lossy(body).into_owned()
    };
    DecodeError::Body {
        message: Box::new(message),
        invalid,
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

/// How much incomplete messages may hold while their chunks arrive: what a flood of chunks that
/// never complete (a "chunk bomb") can cost. Past a bound the oldest incomplete message is given
/// up first, as if its wait had run out (its sender gets a 302).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AssemblyLimits {
    /// Bytes of one message, all its chunks together; a message growing past it is refused.
    pub max_message_bytes: usize,
    /// Incomplete messages held at once.
    pub max_pending_messages: usize,
    /// Bytes held by all incomplete messages together.
    pub max_pending_bytes: usize,
}

/// The default largest message: 16 MiB, room for the 10 MB messages dripline senders may chunk.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 16 * 1024 * 1024;

impl Default for AssemblyLimits {
    /// 16 MiB a message, 1024 incomplete messages, 64 MiB in all: a legitimate sender has a
    /// few messages in flight at once; a flood of incomplete ones costs at most this.
    fn default() -> Self {
        AssemblyLimits {
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            max_pending_messages: 1024,
            max_pending_bytes: 64 * 1024 * 1024,
        }
    }
}

/// Ids of messages refused for their size remembered, so their later chunks are dropped
/// without another reply.
const REMEMBERED_REFUSALS: usize = 1024;

/// Chunks received so far of one message.
#[derive(Debug)]
struct Pending {
    /// When the first chunk arrived.
    first_seen: Instant,
    /// Arrival order, to find the oldest without a scan of the times.
    sequence: u64,
    /// Body bytes held.
    bytes: usize,
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

/// Reassembles multi-chunk messages by id, joining bytes before decoding, within
/// [`AssemblyLimits`].
#[derive(Debug)]
pub struct ChunkAssembler {
    wait: Duration,
    limits: AssemblyLimits,
    pending: BTreeMap<String, Pending>,
    /// Pending ids by arrival: (sequence → id), oldest first.
    arrival: BTreeMap<u64, String>,
    next_sequence: u64,
    pending_bytes: usize,
    /// Messages given up to make room or refused for their size, not yet taken.
    given_up: Vec<(String, Result<Message, DecodeError>)>,
    refused_ids: std::collections::VecDeque<String>,
    refused_total: u64,
}

impl Default for ChunkAssembler {
    /// An assembler with dl-cpp's wait ([`DEFAULT_CHUNK_WAIT`]).
    fn default() -> Self {
        ChunkAssembler::new(DEFAULT_CHUNK_WAIT)
    }
}

impl ChunkAssembler {
    /// An assembler that waits `wait` for missing chunks, within the default limits.
    pub fn new(wait: Duration) -> Self {
        ChunkAssembler::with_limits(wait, AssemblyLimits::default())
    }

    /// An assembler that waits `wait` for missing chunks and holds at most `limits`.
    pub fn with_limits(wait: Duration, limits: AssemblyLimits) -> Self {
        ChunkAssembler {
            wait,
            limits,
            pending: BTreeMap::new(),
            arrival: BTreeMap::new(),
            next_sequence: 0,
            pending_bytes: 0,
            given_up: Vec::new(),
            refused_ids: std::collections::VecDeque::new(),
            refused_total: 0,
        }
    }

    /// Messages given up since the last call, to make room for newer ones or because they grew
    /// past `max_message_bytes`, with their id base: each a `DecodeError::Body` (or another
    /// decode error when its headers were bad), so a service can reply 302. Call after every
    /// [`offer`](Self::offer).
    pub fn take_given_up(&mut self) -> Vec<(String, Result<Message, DecodeError>)> {
        std::mem::take(&mut self.given_up)
    }

    /// True while chunks of the message `base` are held.
    pub fn is_pending(&self, base: &str) -> bool {
        self.pending.contains_key(base)
    }

    /// How many messages were given up or refused for the limits so far.
    pub fn refused_total(&self) -> u64 {
        self.refused_total
    }

    /// Bytes held by incomplete messages.
    pub fn pending_bytes(&self) -> usize {
        self.pending_bytes
    }

    fn remove_pending(&mut self, base: &str) -> Option<Pending> {
        let pending = self.pending.remove(base)?;
        self.arrival.remove(&pending.sequence);
        self.pending_bytes -= pending.bytes;
        Some(pending)
    }

    /// Give up the message `base` for `reason`, queueing its 302.
    fn give_up(&mut self, base: &str, reason: String) {
        let Some(pending) = self.remove_pending(base) else {
            return;
        };
        self.refused_total += 1;
        let (body, _) = pending.joined();
        let result = decode_envelope(&pending.routing_key, &pending.properties, base)
            .and_then(|message| Err(body_error(message, &body, reason)));
        self.given_up.push((base.to_string(), result));
    }

    /// Give up the oldest incomplete messages (but `keep`) until the limits hold again.
    fn make_room(&mut self, keep: &str) {
        while self.pending.len() > self.limits.max_pending_messages
            || self.pending_bytes > self.limits.max_pending_bytes
        {
            let oldest = self
                .arrival
                .values()
                .find(|base| base.as_str() != keep)
                .cloned();
            let Some(oldest) = oldest else { break };
            let reason = format!(
                "given up to make room: more than {} incomplete messages or {} bytes waiting \
                 for chunks",
                self.limits.max_pending_messages, self.limits.max_pending_bytes
            );
            self.give_up(&oldest, reason);
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
            if chunk.body.len() > self.limits.max_message_bytes {
                // Refused before decoding: the size bound holds for one-chunk messages too.
                self.refused_total += 1;
                let reason = format!(
                    "the message is larger than {} bytes; refused",
                    self.limits.max_message_bytes
                );
                return Some(
                    decode_envelope(&chunk.routing_key, &chunk.properties, &id.base)
                        .and_then(|message| Err(body_error(message, &chunk.body, reason))),
                );
            }
            return Some(
                decode_envelope(&chunk.routing_key, &chunk.properties, &id.base)
                    .and_then(|message| decode_body(message, &chunk.body)),
            );
        }
        if self.refused_ids.contains(&id.base) {
            return None; // a later chunk of a message already refused for its size
        }
        let WireChunk {
            routing_key,
            properties,
            body,
        } = chunk;
        // Kept for the error of a chunk whose count disagrees; the properties themselves move
        // into a new message's entry (a copy of their headers cost 14 MB in a chunk bomb).
        let message_id = properties.message_id.clone();
        if !self.pending.contains_key(&id.base) {
            let sequence = self.next_sequence;
            self.next_sequence += 1;
            self.arrival.insert(sequence, id.base.clone());
            self.pending.insert(
                id.base.clone(),
                Pending {
                    first_seen: now,
                    sequence,
                    bytes: 0,
                    count: id.count,
                    routing_key,
                    properties,
                    pieces: BTreeMap::new(),
                },
            );
        }
        let pending = self.pending.get_mut(&id.base)?;
        if pending.count != id.count {
            return Some(Err(DecodeError::MessageId(message_id)));
        }
        if pending.pieces.contains_key(&id.index) {
            return None; // duplicate
        }
        if pending.bytes + body.len() > self.limits.max_message_bytes {
            let reason = format!(
                "the message is larger than {} bytes; refused",
                self.limits.max_message_bytes
            );
            self.give_up(&id.base, reason);
            if self.refused_ids.len() >= REMEMBERED_REFUSALS {
                self.refused_ids.pop_front();
            }
            self.refused_ids.push_back(id.base);
            return None;
        }
        pending.bytes += body.len();
        self.pending_bytes += body.len();
        pending.pieces.insert(id.index, body);
        if pending.pieces.len() < pending.count {
            self.make_room(&id.base);
            return None;
        }
        let pending = self.remove_pending(&id.base)?;
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
        // Arrival order is first-seen order, so the expired ones are a prefix.
        let expired: Vec<String> = self
            .arrival
            .values()
            .take_while(|base| {
                self.pending.get(*base).is_some_and(|pending| {
                    now.saturating_duration_since(pending.first_seen) >= wait
                })
            })
            .cloned()
            .collect();
        expired
            .into_iter()
            .filter_map(|base| self.remove_pending(&base).map(|pending| (base, pending)))
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
        let oldest = self.arrival.values().next()?;
        let first = self.pending.get(oldest)?.first_seen;
        Some(first.checked_add(self.wait).unwrap_or(first))
    }

    /// How many incomplete messages are waiting for chunks.
    pub fn pending_count(&self) -> usize {
        self.pending.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sender() -> SenderInfo {
        SenderInfo::ours("/usr/bin/dl-get", "vm", "root", "unknown", "0.1.0")
    }

    fn request() -> Message {
        let mut message = Message::request(
            "peaches",
            Operation::Get,
            "is-locked",
            json!({}),
            LockoutKey::None,
            sender(),
            "2026-11-26T00:29:08.315196Z".to_string(),
        );
        message.reply_to = "amq.gen-abc".to_string();
        message.message_id = "71a5cb0e-dd45-4dd1-a1da-8adf04427e09".to_string();
        message.correlation_id = "432e86eb-35f2-47e7-8eee-730419c4ebae".to_string();
        message
    }

    fn one(message: &Message) -> WireChunk {
        let mut chunks = encode(message, DEFAULT_MAX_PAYLOAD_SIZE);
        assert_eq!(chunks.len(), 1);
        chunks.remove(0)
    }

    fn with_header(name: &str, value: Option<FieldValue>) -> WireChunk {
        let mut chunk = one(&request());
        match value {
            Some(value) => chunk.properties.headers.insert(name.to_string(), value),
            None => chunk.properties.headers.remove(name),
        };
        chunk
    }

    fn with_sender_info(edit: impl FnOnce(&mut FieldTable)) -> WireChunk {
        let mut chunk = one(&request());
        let Some(FieldValue::Table(table)) = chunk.properties.headers.get_mut("sender_info") else {
            panic!("sender_info is a table");
        };
        edit(table);
        chunk
    }

    fn header_error_name(result: Result<Message, DecodeError>) -> String {
        match result {
            Err(DecodeError::Header { name, .. }) => name,
            other => panic!("expected a header error, got {other:?}"),
        }
    }

    fn tags(chunk: &WireChunk) -> Vec<(&str, char)> {
        chunk
            .properties
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.type_tag()))
            .collect()
    }

    #[test]
    fn request_headers_and_properties() {
        let chunk = one(&request());
        assert_eq!(
            tags(&chunk),
            [
                ("lockout_key", 'S'),
                ("message_operation", 'i'),
                ("message_type", 'i'),
                ("sender_info", 'F'),
                ("specifier", 'S'),
                ("timestamp", 'S'),
            ]
        );
        let headers = &chunk.properties.headers;
        assert_eq!(headers["message_type"], FieldValue::U32(3));
        assert_eq!(headers["message_operation"], FieldValue::U32(1));
        assert_eq!(
            headers["lockout_key"].as_str(),
            Some(crate::lockout::NIL_KEY)
        );
        assert_eq!(headers["specifier"].as_str(), Some("is-locked"));
        assert_eq!(chunk.routing_key, "peaches");
        assert_eq!(
            chunk.properties.content_encoding.as_deref(),
            Some("application/json")
        );
        assert_eq!(chunk.properties.reply_to.as_deref(), Some("amq.gen-abc"));
        assert_eq!(
            chunk.properties.message_id.as_deref(),
            Some("71a5cb0e-dd45-4dd1-a1da-8adf04427e09/0/1")
        );
        assert_eq!(chunk.body, b"{}");
        let info = headers["sender_info"].as_table().unwrap();
        let keys: Vec<&str> = info.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            ["exe", "hostname", "service_name", "username", "versions"]
        );
        let tools = info["versions"].as_table().unwrap()["dripline-tools"]
            .as_table()
            .unwrap();
        assert_eq!(tools["version"].as_str(), Some("0.1.0"));
        assert_eq!(tools["package"].as_str(), Some("dripline-tools"));
        assert!(!tools.contains_key("commit"));
    }

    #[test]
    fn reply_and_alert_headers() {
        let mut request = request();
        request.lockout_key_for_test();
        let reply = Message::reply(&request, 307, "denied", Value::Null, sender(), "t".into());
        let chunk = one(&reply);
        assert_eq!(
            tags(&chunk),
            [
                ("message_type", 'i'),
                ("return_code", 'i'),
                ("return_message", 'S'),
                ("sender_info", 'F'),
                ("specifier", 'S'),
                ("timestamp", 'S'),
            ]
        );
        assert_eq!(
            chunk.properties.headers["return_code"],
            FieldValue::U32(307)
        );
        assert_eq!(chunk.properties.headers["message_type"], FieldValue::U32(2));
        assert_eq!(chunk.properties.headers["specifier"].as_str(), Some(""));
        assert_eq!(chunk.routing_key, "amq.gen-abc");
        assert_eq!(chunk.properties.reply_to.as_deref(), Some(""));
        assert_eq!(
            chunk.properties.correlation_id,
            Some(request.correlation_id.clone())
        );
        assert_eq!(chunk.body, b"null");

        let mut alert = Message::alert(
            "sensor_value.peaches",
            json!({"value_raw": 1}),
            sender(),
            "t".into(),
        );
        alert.reply_to = "ignored".into();
        let chunk = one(&alert);
        assert_eq!(
            tags(&chunk),
            [
                ("message_type", 'i'),
                ("sender_info", 'F'),
                ("specifier", 'S'),
                ("timestamp", 'S')
            ]
        );
        assert_eq!(chunk.properties.reply_to.as_deref(), Some(""));
        assert_eq!(chunk.body, br#"{"value_raw":1}"#);
    }

    impl Message {
        fn lockout_key_for_test(&mut self) {
            if let MessageKind::Request { lockout_key, .. } = &mut self.kind {
                *lockout_key = LockoutKey::parse("0a1b2c3d4e5f60718293a4b5c6d7e8f9");
            }
        }
    }

    #[test]
    fn lockout_key_is_written_hyphenated() {
        let mut message = request();
        message.lockout_key_for_test();
        let chunk = one(&message);
        assert_eq!(
            chunk.properties.headers["lockout_key"].as_str(),
            Some("0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9")
        );
        assert_eq!(decode_chunk(chunk).unwrap(), message);
    }

    #[test]
    fn round_trip_each_kind() {
        let request = request();
        assert_eq!(decode_chunk(one(&request)).unwrap(), request);
        let reply = Message::reply(
            &request,
            0,
            "",
            json!({"a": [1, 2.5, "x"]}),
            sender(),
            "t".into(),
        );
        assert_eq!(decode_chunk(one(&reply)).unwrap(), reply);
        let alert = Message::alert(
            "heartbeat.x",
            json!({"id": "u", "name": "x"}),
            sender(),
            "t".into(),
        );
        assert_eq!(decode_chunk(one(&alert)).unwrap(), alert);
    }

    #[test]
    fn chunking_boundaries() {
        let mut message = request();
        message.payload = json!("abcdefgh"); // 10 bytes of JSON
        assert_eq!(encode(&message, 10).len(), 1);
        assert_eq!(encode(&message, 0).len(), 1);
        let chunks = encode(&message, 9);
        assert_eq!(chunks.len(), 2);
        assert_eq!(chunks[0].body, b"\"abcdefgh");
        assert_eq!(chunks[1].body, b"\"");
        let chunks = encode(&message, 3);
        let ids: Vec<_> = chunks
            .iter()
            .map(|c| c.properties.message_id.clone().unwrap())
            .collect();
        let base = &message.message_id;
        assert_eq!(
            ids,
            [
                format!("{base}/0/4"),
                format!("{base}/1/4"),
                format!("{base}/2/4"),
                format!("{base}/3/4")
            ]
        );
        // UTF-8 split inside a character still reassembles.
        message.payload = json!("é");
        let chunks = encode(&message, 1);
        assert_eq!(chunks.len(), 4);
        let mut assembler = ChunkAssembler::default();
        let now = Instant::now();
        let results: Vec<_> = chunks
            .into_iter()
            .filter_map(|c| assembler.offer(c, now))
            .collect();
        assert_eq!(results.len(), 1);
        assert_eq!(results[0].as_ref().unwrap().payload, json!("é"));
    }

    #[test]
    fn content_encoding_must_be_json() {
        for encoding in [None, Some(""), Some("text/plain"), Some("application/JSON")] {
            let mut chunk = one(&request());
            chunk.properties.content_encoding = encoding.map(str::to_string);
            assert!(matches!(
                decode_chunk(chunk.clone()),
                Err(DecodeError::Encoding(e)) if e.as_deref() == encoding
            ));
            let mut assembler = ChunkAssembler::default();
            assert!(matches!(
                assembler.offer(chunk, Instant::now()),
                Some(Err(DecodeError::Encoding(_)))
            ));
        }
    }

    #[test]
    fn message_id_forms() {
        let ok = |id: &str| {
            let mut chunk = one(&request());
            chunk.properties.message_id = Some(id.to_string());
            decode_chunk(chunk)
        };
        assert_eq!(ok("hello/0/1").unwrap().message_id, "hello");
        assert_eq!(ok("a/b/0/1").unwrap().message_id, "a/b");
        for bad in [
            "71a5cb0e-dd45-4dd1-a1da-8adf04427e09",
            "",
            "x/0",
            "/0/1",
            "x/1/1",
            "x/0/0",
            "x/-0/1",
            "x/+0/1",
            "x/0/ 1",
            "x/a/1",
            "x/0/99999999999999999999999",
            "x/0/65537",
            "x/0/2", // a chunk of a multi-chunk message
        ] {
            assert!(matches!(ok(bad), Err(DecodeError::MessageId(_))), "{bad:?}");
        }
        let mut chunk = one(&request());
        chunk.properties.message_id = None;
        assert!(matches!(
            decode_chunk(chunk),
            Err(DecodeError::MessageId(None))
        ));
        assert_eq!(
            ChunkId::parse("b/2/65536"),
            Some(ChunkId {
                base: "b".into(),
                index: 2,
                count: 65536
            })
        );
    }

    #[test]
    fn chunk_ids_write_what_they_parse_bases_with_slashes_included() {
        for text in [
            "b/2/65536",
            "host/42/0/1",
            "a/b/c/3/4",
            "71a5cb0e-dd45-4dd1-a1da-8adf04427e09/0/1",
        ] {
            let id: ChunkId = text.parse().unwrap();
            assert_eq!(id.to_string(), text);
        }
        let id: ChunkId = "host/42/1/2".parse().unwrap();
        assert_eq!((id.base.as_str(), id.index, id.count), ("host/42", 1, 2));
        assert!(matches!(
            "host/42".parse::<ChunkId>(),
            Err(DecodeError::MessageId(Some(text))) if text == "host/42"
        ));
        // The encoder writes the same form, whole base included.
        let mut message = request();
        message.message_id = "host/42".into();
        message.payload = serde_json::json!("x".repeat(30));
        let ids: Vec<_> = encode(&message, 10)
            .into_iter()
            .map(|chunk| chunk.properties.message_id.unwrap())
            .collect();
        assert_eq!(
            ids,
            ["host/42/0/4", "host/42/1/4", "host/42/2/4", "host/42/3/4"]
        );
    }

    #[test]
    fn message_type_any_integer_kind() {
        for value in [
            FieldValue::U8(3),
            FieldValue::I8(3),
            FieldValue::I16(3),
            FieldValue::U16(3),
            FieldValue::I32(3),
            FieldValue::U32(3),
            FieldValue::I64(3),
        ] {
            let message = decode_chunk(with_header("message_type", Some(value))).unwrap();
            assert_eq!(message.type_code(), 3);
        }
        for value in [
            None,
            Some(FieldValue::U32(1)),
            Some(FieldValue::U32(5)),
            Some(FieldValue::I64(-2)),
            Some(FieldValue::string("3")),
            Some(FieldValue::F64(3.0)),
        ] {
            assert_eq!(
                header_error_name(decode_chunk(with_header("message_type", value))),
                "message_type"
            );
        }
    }

    #[test]
    fn message_operation_lenient() {
        let op = |value| match decode_chunk(with_header("message_operation", value))
            .unwrap()
            .kind
        {
            MessageKind::Request {
                operation,
                operation_code,
                ..
            } => (operation, operation_code),
            other => panic!("{other:?}"),
        };
        assert_eq!(op(Some(FieldValue::I32(9))), (Some(Operation::Cmd), 9));
        assert_eq!(op(Some(FieldValue::U8(0))), (Some(Operation::Set), 0));
        assert_eq!(op(Some(FieldValue::U32(7))), (None, 7));
        assert_eq!(op(Some(FieldValue::I64(-5))), (None, -5));
        assert_eq!(op(None), (None, -1));
        assert_eq!(op(Some(FieldValue::string("get"))), (None, -1));
    }

    #[test]
    fn unknown_operation_re_encodes() {
        let message =
            decode_chunk(with_header("message_operation", Some(FieldValue::U32(7)))).unwrap();
        let chunk = one(&message);
        assert_eq!(
            chunk.properties.headers["message_operation"],
            FieldValue::U32(7)
        );
        assert_eq!(decode_chunk(chunk).unwrap(), message);
        let message = decode_chunk(with_header("message_operation", None)).unwrap();
        let chunk = one(&message);
        assert!(!chunk.properties.headers.contains_key("message_operation"));
        assert_eq!(decode_chunk(chunk).unwrap(), message);
    }

    fn reply_chunk() -> WireChunk {
        one(&Message::reply(
            &request(),
            0,
            "ok",
            Value::Null,
            sender(),
            "t".into(),
        ))
    }

    #[test]
    fn return_code_and_message() {
        let mut chunk = reply_chunk();
        chunk.properties.headers.remove("return_code");
        chunk.properties.headers.remove("return_message");
        let message = decode_chunk(chunk).unwrap();
        assert_eq!(
            message.kind,
            MessageKind::Reply {
                return_code: 999,
                return_message: String::new()
            }
        );
        let mut chunk = reply_chunk();
        chunk
            .properties
            .headers
            .insert("return_code".into(), FieldValue::I16(307));
        assert_eq!(decode_chunk(chunk).unwrap().return_code(), Some(307));
        for bad in [
            FieldValue::I32(-1),
            FieldValue::I64(1 << 40),
            FieldValue::string("0"),
        ] {
            let mut chunk = reply_chunk();
            chunk.properties.headers.insert("return_code".into(), bad);
            assert_eq!(header_error_name(decode_chunk(chunk)), "return_code");
        }
        let mut chunk = reply_chunk();
        chunk
            .properties
            .headers
            .insert("return_message".into(), FieldValue::U32(1));
        assert_eq!(header_error_name(decode_chunk(chunk)), "return_message");
    }

    #[test]
    fn string_headers() {
        let message = decode_chunk(with_header("specifier", None)).unwrap();
        assert_eq!(message.specifier, "");
        let message = decode_chunk(with_header("timestamp", None)).unwrap();
        assert_eq!(message.timestamp, "");
        let message = decode_chunk(with_header(
            "specifier",
            Some(FieldValue::ByteArray(b"a.b".to_vec())),
        ))
        .unwrap();
        assert_eq!(message.specifier, "a.b");
        for name in ["specifier", "timestamp", "lockout_key"] {
            assert_eq!(
                header_error_name(decode_chunk(with_header(name, Some(FieldValue::U32(1))))),
                name
            );
            assert_eq!(
                header_error_name(decode_chunk(with_header(
                    name,
                    Some(FieldValue::LongString(vec![0xff, 0xfe]))
                ))),
                name
            );
        }
        // Unknown extra headers are ignored.
        let message = decode_chunk(with_header("x-extra", Some(FieldValue::Void))).unwrap();
        assert_eq!(message, request());
    }

    #[test]
    fn lockout_key_header() {
        let key = |value| match decode_chunk(with_header("lockout_key", value))
            .unwrap()
            .kind
        {
            MessageKind::Request { lockout_key, .. } => lockout_key,
            other => panic!("{other:?}"),
        };
        assert_eq!(key(None), LockoutKey::None);
        assert_eq!(key(Some(FieldValue::string(""))), LockoutKey::None);
        assert_eq!(
            key(Some(FieldValue::string("nope"))),
            LockoutKey::Invalid("nope".into())
        );
        assert!(matches!(
            key(Some(FieldValue::string(
                "{0A1B2C3D-4E5F-6071-8293-A4B5C6D7E8F9}"
            ))),
            LockoutKey::Key(_)
        ));
    }

    #[test]
    fn sender_info_required() {
        assert_eq!(
            header_error_name(decode_chunk(with_header("sender_info", None))),
            "sender_info"
        );
        assert_eq!(
            header_error_name(decode_chunk(with_header(
                "sender_info",
                Some(FieldValue::string("x"))
            ))),
            "sender_info"
        );
        for key in ["exe", "hostname", "username", "service_name", "versions"] {
            let chunk = with_sender_info(|t| {
                t.remove(key);
            });
            assert_eq!(
                header_error_name(decode_chunk(chunk)),
                format!("sender_info.{key}")
            );
            let chunk = with_sender_info(|t| {
                t.insert(key.to_string(), FieldValue::U32(0));
            });
            assert_eq!(
                header_error_name(decode_chunk(chunk)),
                format!("sender_info.{key}")
            );
        }
        let chunk = with_sender_info(|t| {
            t.insert("versions".into(), FieldValue::Table(FieldTable::new()));
            t.insert("exe".into(), FieldValue::ByteArray(b"/bin/x".to_vec()));
            t.insert("extra".into(), FieldValue::Bool(true));
        });
        let info = decode_chunk(chunk).unwrap().sender_info;
        assert!(info.versions.is_empty());
        assert_eq!(info.exe, "/bin/x");

        let versions = |entry: FieldValue| {
            with_sender_info(|t| {
                let mut versions = FieldTable::new();
                versions.insert("pkg".into(), entry);
                t.insert("versions".into(), FieldValue::Table(versions));
            })
        };
        let mut entry = FieldTable::new();
        entry.insert("commit".into(), FieldValue::string("abc"));
        assert_eq!(
            header_error_name(decode_chunk(versions(FieldValue::Table(entry.clone())))),
            "sender_info.versions.pkg.version"
        );
        assert_eq!(
            header_error_name(decode_chunk(versions(FieldValue::string("1.0")))),
            "sender_info.versions.pkg"
        );
        entry.insert("version".into(), FieldValue::string("1.0"));
        let info = decode_chunk(versions(FieldValue::Table(entry.clone())))
            .unwrap()
            .sender_info;
        assert_eq!(
            info.versions["pkg"],
            PackageVersion {
                version: "1.0".into(),
                commit: Some("abc".into()),
                package: None
            }
        );
        entry.insert("package".into(), FieldValue::I8(1));
        assert_eq!(
            header_error_name(decode_chunk(versions(FieldValue::Table(entry)))),
            "sender_info.versions.pkg.package"
        );
    }

    fn body_error_parts(result: Result<Message, DecodeError>) -> (Message, String) {
        match result {
            Err(DecodeError::Body {
                message, invalid, ..
            }) => (*message, invalid),
            other => panic!("expected a body error, got {other:?}"),
        }
    }

    #[test]
    fn bad_bodies() {
        for (body, invalid) in [
            (&b""[..], ""),
            (b"not json", "not json"),
            (b"{\"a\":", "{\"a\":"),
            (b"{} {}", "{} {}"),
            (b"\"\xff\"", "\"\u{fffd}\""),
        ] {
            let mut chunk = one(&request());
            chunk.body = body.to_vec();
            let (message, text) = body_error_parts(decode_chunk(chunk));
            assert_eq!(text, invalid);
            assert_eq!(
                message,
                Message {
                    payload: Value::Null,
                    ..request()
                }
            );
        }
        // Any JSON value is a payload, including scalars and null.
        for body in ["null", "3", "\"s\"", "[1]", " {} "] {
            let mut chunk = one(&request());
            chunk.body = body.as_bytes().to_vec();
            assert!(decode_chunk(chunk).is_ok(), "{body}");
        }
    }

    #[test]
    fn header_errors_win_over_body_errors() {
        let mut chunk = with_header("sender_info", None);
        chunk.body = b"not json".to_vec();
        assert_eq!(header_error_name(decode_chunk(chunk)), "sender_info");
    }

    fn three_chunks() -> Vec<WireChunk> {
        let mut message = request();
        message.payload = json!("0123456789012345678901234567");
        let chunks = encode(&message, 10);
        assert_eq!(chunks.len(), 3);
        chunks
    }

    #[test]
    fn assembler_rejects_a_changed_count() {
        let chunks = three_chunks();
        let mut assembler = ChunkAssembler::default();
        let now = Instant::now();
        assert!(assembler.offer(chunks[0].clone(), now).is_none());
        let mut odd = chunks[1].clone();
        let base = request().message_id;
        odd.properties.message_id = Some(format!("{base}/1/4"));
        assert!(matches!(
            assembler.offer(odd, now),
            Some(Err(DecodeError::MessageId(_)))
        ));
        assert!(assembler.offer(chunks[1].clone(), now).is_none());
        let done = assembler.offer(chunks[2].clone(), now).unwrap().unwrap();
        assert_eq!(done.payload, json!("0123456789012345678901234567"));
    }

    #[test]
    fn assembler_keeps_messages_apart_and_expires_oldest_first() {
        let first = three_chunks();
        let mut other = request();
        other.message_id = "other".into();
        other.payload = json!("0123456789012345678901234567");
        let second = encode(&other, 10);
        let mut assembler = ChunkAssembler::new(Duration::from_millis(100));
        let t0 = Instant::now();
        let t1 = t0 + Duration::from_millis(50);
        assert_eq!(assembler.next_deadline(), None);
        assert!(assembler.offer(first[0].clone(), t0).is_none());
        assert!(assembler.offer(second[1].clone(), t1).is_none());
        assert_eq!(assembler.pending_count(), 2);
        assert_eq!(
            assembler.next_deadline(),
            Some(t0 + Duration::from_millis(100))
        );
        let expired = assembler.expire(t0 + Duration::from_millis(100));
        assert_eq!(expired.len(), 1);
        let (message, invalid) = body_error_parts(expired.into_iter().next().unwrap());
        assert_eq!(message.message_id, request().message_id);
        assert_eq!(invalid, format!("{}{}", "\"012345678", "#".repeat(20)));
        assert_eq!(
            assembler.next_deadline(),
            Some(t1 + Duration::from_millis(100))
        );
        assert!(assembler.offer(second[0].clone(), t1).is_none());
        assert_eq!(
            assembler
                .offer(second[2].clone(), t1)
                .unwrap()
                .unwrap()
                .message_id,
            "other"
        );
        assert_eq!(assembler.pending_count(), 0);
    }

    #[test]
    fn expired_message_with_bad_headers_is_a_header_error() {
        let mut chunks = three_chunks();
        chunks[1].properties.headers.remove("sender_info");
        let mut assembler = ChunkAssembler::new(Duration::ZERO);
        let now = Instant::now();
        assert!(assembler.offer(chunks[1].clone(), now).is_none());
        let expired = assembler.expire(now);
        assert_eq!(
            header_error_name(expired.into_iter().next().unwrap()),
            "sender_info"
        );
    }

    #[test]
    fn huge_chunk_counts_do_not_allocate_the_world() {
        let mut chunk = one(&request());
        chunk.properties.message_id = Some("x/65535/65536".into());
        chunk.body = vec![b'a'; 1000];
        let mut assembler = ChunkAssembler::new(Duration::ZERO);
        let now = Instant::now();
        assert!(assembler.offer(chunk, now).is_none());
        let (_, invalid) = body_error_parts(assembler.expire(now).pop().unwrap());
        // The 302's quote of the body is capped, with the whole length said.
        assert!(invalid.starts_with(&"#".repeat(65535)), "{invalid}");
        assert!(invalid.ends_with("… (66535 bytes)"), "{invalid}");
    }

    /// Chunk `index` of `count` of a message `base` with a body of `len` bytes.
    fn piece(base: &str, index: usize, count: usize, len: usize) -> WireChunk {
        let mut chunk = one(&request());
        chunk.properties.message_id = Some(format!("{base}/{index}/{count}"));
        chunk.body = vec![b'7'; len];
        chunk
    }

    fn limits(messages: usize, message_bytes: usize, pending_bytes: usize) -> AssemblyLimits {
        AssemblyLimits {
            max_message_bytes: message_bytes,
            max_pending_messages: messages,
            max_pending_bytes: pending_bytes,
        }
    }

    #[test]
    fn a_flood_of_incomplete_messages_gives_up_the_oldest_first() {
        let mut assembler =
            ChunkAssembler::with_limits(Duration::from_secs(60), limits(3, 1000, 10_000));
        let now = Instant::now();
        for n in 0..10 {
            assert!(assembler
                .offer(piece(&format!("m{n}"), 0, 2, 10), now)
                .is_none());
            assert!(assembler.pending_count() <= 3);
        }
        let given_up = assembler.take_given_up();
        let bases: Vec<&str> = given_up.iter().map(|(base, _)| base.as_str()).collect();
        assert_eq!(bases, ["m0", "m1", "m2", "m3", "m4", "m5", "m6"]);
        let (message, _) = body_error_parts(given_up.into_iter().next().unwrap().1);
        assert_eq!(message.message_id, "m0");
        assert_eq!(assembler.refused_total(), 7);
        assert!(assembler.take_given_up().is_empty());
        // The newest still complete.
        let done = assembler
            .offer(piece("m9", 1, 2, 10), now)
            .unwrap()
            .unwrap();
        assert_eq!(done.message_id, "m9");
        assert_eq!(done.payload, json!(77777777777777777777.0));
        assert_eq!(assembler.pending_count(), 2);
        assert_eq!(assembler.pending_bytes(), 20);
    }

    #[test]
    fn bytes_held_stay_within_the_total() {
        let mut assembler =
            ChunkAssembler::with_limits(Duration::from_secs(60), limits(100, 1000, 250));
        let now = Instant::now();
        for n in 0..20 {
            assembler.offer(piece(&format!("b{n}"), 0, 3, 100), now);
            assert!(
                assembler.pending_bytes() <= 250,
                "{}",
                assembler.pending_bytes()
            );
        }
        assert_eq!(assembler.pending_count(), 2);
        assert_eq!(assembler.take_given_up().len(), 18);
    }

    #[test]
    fn a_message_past_its_size_is_refused_once_and_its_later_chunks_dropped() {
        let mut assembler =
            ChunkAssembler::with_limits(Duration::from_secs(60), limits(100, 250, 10_000));
        let now = Instant::now();
        assert!(assembler.offer(piece("big", 0, 5, 100), now).is_none());
        assert!(assembler.offer(piece("big", 1, 5, 100), now).is_none());
        assert!(assembler.offer(piece("big", 2, 5, 100), now).is_none());
        let given_up = assembler.take_given_up();
        assert_eq!(given_up.len(), 1);
        match &given_up[0].1 {
            Err(DecodeError::Body { reason, .. }) => {
                assert!(reason.contains("larger than 250 bytes"), "{reason}")
            }
            other => panic!("expected a body error, got {other:?}"),
        }
        for index in 3..5 {
            assert!(assembler.offer(piece("big", index, 5, 100), now).is_none());
        }
        assert!(assembler.take_given_up().is_empty());
        assert_eq!(assembler.pending_count(), 0);
        assert_eq!(assembler.pending_bytes(), 0);
    }

    #[test]
    fn a_one_chunk_message_past_its_size_is_refused_before_decoding() {
        let mut assembler =
            ChunkAssembler::with_limits(Duration::from_secs(60), limits(100, 250, 10_000));
        // 300 bytes of unclosed brackets: refused for the size, never parsed.
        let mut chunk = piece("single", 0, 1, 0);
        chunk.body = vec![b'['; 300];
        match assembler.offer(chunk, Instant::now()) {
            Some(Err(DecodeError::Body { reason, .. })) => {
                assert!(reason.contains("larger than 250 bytes"), "{reason}")
            }
            other => panic!("expected a body error, got {other:?}"),
        }
        assert_eq!(assembler.refused_total(), 1);
        assert!(assembler
            .offer(piece("fits", 0, 1, 250), Instant::now())
            .unwrap()
            .is_ok());
    }

    #[test]
    fn a_deeply_nested_body_is_a_body_error_not_a_stack_overflow() {
        let mut assembler = ChunkAssembler::default();
        for body in [
            "[".repeat(100_000),
            r#"{"a":"#.repeat(100_000),
            format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)),
        ] {
            let mut chunk = piece("deep", 0, 1, 0);
            chunk.body = body.into_bytes();
            match assembler.offer(chunk, Instant::now()) {
                Some(Err(DecodeError::Body { reason, .. })) => {
                    assert!(reason.contains("recursion limit exceeded"), "{reason}")
                }
                other => panic!("expected a body error, got {other:?}"),
            }
        }
        // serde_json's limit is 128 levels: 127 still decode.
        let mut chunk = piece("deep", 0, 1, 0);
        chunk.body = format!("{}1{}", "[".repeat(127), "]".repeat(127)).into_bytes();
        assert!(assembler.offer(chunk, Instant::now()).unwrap().is_ok());
    }
}
