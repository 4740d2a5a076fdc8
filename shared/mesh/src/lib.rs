//! # dripline-mesh
//!
//! The RabbitMQ side of dripline, over `lapin` and `tokio`:
//!
//! - [`settings`]: where the broker is and how to log in ([`BrokerOptions`] → [`BrokerSettings`]),
//!   from flags, environment, auth files and `~/.dripline_mesh.yaml`; passwords kept in
//!   [`settings::Secret`].
//! - [`MeshConnection`]: a connection opened with retries ([`Backoff`]), each attempt trying
//!   every address of the broker list once, and clear errors (`cannot reach broker at H:P: …`,
//!   `broker … refused user "x"`); it knows the node it is on ([`MeshConnection::node`]).
//! - [`Publisher`]: messages published (chunked when large) with publisher confirms.
//! - [`RequestClient`]: requests with replies matched by correlation id; many in flight.
//! - [`MessageStream`]: messages received from a queue, chunks reassembled.
//! - [`Listener`]: a queue bound to keys on the alerts or requests exchange, read message by
//!   message, re-opened whenever the connection is lost (what dl-listen runs on).
//! - [`settle`]: acknowledging what a durable queue delivered, and passing messages that
//!   cannot be used on to a dead-letter exchange (dl-log-to-pg's poison alerts).
//! - [`service`]: the runtime of a dripline service (queue, bindings, dispatch, lockout,
//!   heartbeat).
//!
//! It knows nothing of PostgreSQL or of command-line flags.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod addresses;
mod backoff;
pub mod client;
pub mod connection;
mod error;
pub mod fields;
pub mod incoming;
pub mod listener;
pub mod publisher;
pub mod service;
pub mod settings;
pub mod settle;

pub use addresses::{parse_broker_list, BrokerAddress};
pub use backoff::Backoff;
pub use client::{Replies, RequestClient, RequestOutcome};
pub use connection::{our_sender_info, timestamp_now, MeshConnection};
pub use error::MeshError;
pub use incoming::{Incoming, MessageStream, RawDelivery};
pub use listener::{Binding, ListenQueue, Listener, ListenerEvent};
pub use publisher::{Exchange, PendingPublish, Published, Publisher};
pub use settings::{
    BrokerNode, BrokerOptions, BrokerOrder, BrokerSettings, MeshDefaults, MAX_BROKER_ADDRESSES,
};
pub use settle::{Acknowledgements, DeadLetter, DeadLetterChannel};

/// An AMQP short string (exchange, queue, routing key), or an error when over 255 bytes.
pub fn short(name: &str) -> Result<lapin::types::ShortString, MeshError> {
    lapin::types::ShortString::try_new(name).map_err(|_| MeshError::NameTooLong(name.to_string()))
}
