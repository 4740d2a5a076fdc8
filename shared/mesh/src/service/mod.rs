//! The runtime of a dripline service: what dripline-cpp's `service` + `endpoint` and
//! dripline-python's `Service` + `RequestHandler` do, for endpoints written in Rust.
//!
//! - [`Endpoint`]: what an endpoint implements (`on_get`, `on_set`, `on_cmd`, attributes,
//!   scheduled work); handlers return a payload or a [`ReplyError`] (code, message, payload)
//!   and may queue [`Alert`]s through their [`Context`]. [`ServiceEndpoint`] is the plain
//!   service itself.
//! - [`Lockout`]: one endpoint's lock, as a pure state machine (lock, unlock with key or
//!   force, is-locked with the locker's `sender_info` as tag).
//! - [`Dispatcher`]: the pure request → [`Outcome`] logic: routing on the first routing-key
//!   token (further tokens ignored; the specifier comes only from its header), lockout
//!   checks, the built-ins (`ping`, `lock`, `unlock`, `set_condition`, get `is-locked`),
//!   dripline-python's conventions and error texts (303, 306, 307, 308, 310), a 302 reply for
//!   an undecodable body, 999 for a panicking handler. Unit-testable without a broker.
//!   [`Dispatcher::answer`] is the whole decision for one received message ([`Answer`]: reply,
//!   302, ignore or drop), what [`Service`] calls and what dl-serve's fuzz test drives.
//! - [`Service`]: the AMQP loop. Declares the queue named exactly like the service
//!   (exclusive, auto-delete, non-durable), binds `<name>.#`, `<broadcast>.#` and each
//!   `<endpoint>.#` on the requests exchange, acks every delivery when received (manual
//!   acknowledgement, batched, under a prefetch count: a flood waits in the broker), publishes
//!   alerts then the reply (to the requests exchange, routing key = `reply_to`, correlation id
//!   copied; nothing when `reply_to` is empty), sends `heartbeat.<name>` alerts and runs
//!   endpoints' scheduled work. Replies over the chunk size go out chunked.
//!
//! Failure modes: a handler error or panic is a reply, never a stop (dripline-python shuts
//! the service down after a 999; we do not). Set-up errors (e.g. another service already
//! holds the queue name: RESOURCE_LOCKED) end [`Service::run`] with an error. A lost broker
//! connection is re-opened with the connection's retry policy, keeping values and locks
//! ([`ServiceOptions::reconnect`]); when that fails `run` ends with
//! [`crate::MeshError::Unreachable`]. [`Service::run`] returns `Ok` once its shutdown future
//! completes (the caller wires SIGINT/SIGTERM to it).

mod dispatch;
mod endpoint;
mod lockout;
mod runtime;

pub use dispatch::{Answer, Dispatcher, DuplicateName, Outcome, DEFAULT_BROADCAST_KEY};
pub use endpoint::{Alert, Context, Endpoint, Reply, ReplyError, ServiceEndpoint};
pub use lockout::{force_flag, Lockout};
pub use runtime::{Service, ServiceOptions, DEFAULT_PREFETCH};
