//! # dripline-protocol
//!
//! The dripline wire protocol as spoken by dripline-cpp 2.10 and dripline-python 5.x, as pure
//! data and functions: no sockets, files, environment or clocks (callers pass the time in).
//!
//! - [`Message`]: a request, reply or alert as the programs see it.
//! - [`field`]: the AMQP field-table model ([`FieldValue`], with the type tags RabbitMQ uses),
//!   so headers can be checked type for type against captures of the reference peers.
//! - [`wire`]: [`encode`] a message into AMQP properties + body chunks, and decode them back
//!   ([`decode_chunk`], [`ChunkAssembler`] for multi-chunk messages). Decoding never panics:
//!   any input gives a message or a typed [`DecodeError`].
//! - [`codes`]: the return-code table ([`ReturnCode`]).
//! - [`lockout`]: lockout keys ([`LockoutKey`]).
//! - [`timestamp`]: the `YYYY-MM-DDTHH:MM:SS.ffffffZ` header format.
//! - [`sender`]: the `sender_info` table ([`SenderInfo`]).
//! - [`auth_file`]: the dripline auth file's groups of credentials (text only, no I/O).
//! - [`values`]: payload conventions (`{"values": [...]}`, dl-agent's value typing).
//! - [`record`]: a received message as a JSON line ([`MessageRecord`]), the format `dl-listen`
//!   prints and `dl-alert` / `dl-log-to-pg --stdin` read.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod auth_file;
pub mod codes;
pub mod field;
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzzing;
pub mod lockout;
pub mod message;
pub mod record;
pub mod sender;
pub mod timestamp;
pub mod values;
pub mod wire;

pub use codes::ReturnCode;
pub use field::{FieldTable, FieldValue};
pub use lockout::LockoutKey;
pub use message::{Message, MessageKind, Operation};
pub use record::{MessageRecord, RecordType};
pub use sender::{PackageVersion, SenderInfo};
pub use wire::{
    decode_chunk, encode, AssemblyLimits, ChunkAssembler, DecodeError, WireChunk, WireProperties,
    CONTENT_ENCODING_JSON, DEFAULT_MAX_PAYLOAD_SIZE,
};
