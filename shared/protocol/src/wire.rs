//! Messages to and from AMQP properties + body chunks (PROTOCOL.md §A2, §A10).

use crate::{FieldTable, Message};
use std::time::{Duration, Instant};
use thiserror::Error;

/// The only `content_encoding` dripline accepts.
pub const CONTENT_ENCODING_JSON: &str = "application/json";
/// Bodies longer than this many bytes are split into chunks (dl-cpp `max_payload_size`).
pub const DEFAULT_MAX_PAYLOAD_SIZE: usize = 10_000;
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
pub fn encode(message: &Message, max_payload_size: usize) -> Vec<WireChunk> {
    let _ = (message, max_payload_size);
    todo!()
}

/// Decode one AMQP message that is a whole dripline message (`…/0/1`).
/// A chunk of a multi-chunk message gives a `MessageId` error: use [`ChunkAssembler`].
pub fn decode_chunk(chunk: WireChunk) -> Result<Message, DecodeError> {
    let _ = chunk;
    todo!()
}

/// Reassembles multi-chunk messages by id, joining bytes before decoding.
#[derive(Debug, Default)]
pub struct ChunkAssembler {
    _private: (),
}

impl ChunkAssembler {
    /// An assembler that waits `wait` for missing chunks.
    pub fn new(wait: Duration) -> Self {
        let _ = wait;
        todo!()
    }

    /// Take one received AMQP message. Returns the decoded message when it completes one
    /// (single-chunk messages complete at once), `None` while chunks are still missing.
    /// Duplicate chunks are ignored.
    pub fn offer(
        &mut self,
        chunk: WireChunk,
        now: Instant,
    ) -> Option<Result<Message, DecodeError>> {
        let _ = (chunk, now);
        todo!()
    }

    /// Give up on messages whose chunks did not all arrive within the wait: each becomes a
    /// `DecodeError::Body` (missing pieces filled with `#`), so a service can reply 302.
    pub fn expire(&mut self, now: Instant) -> Vec<Result<Message, DecodeError>> {
        let _ = now;
        todo!()
    }

    /// When the oldest incomplete message times out, if any is waiting.
    pub fn next_deadline(&self) -> Option<Instant> {
        todo!()
    }
}
