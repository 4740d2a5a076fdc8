//! # dripline-request
//!
//! What `dl-get`, `dl-set` and `dl-cmd` share — everything but their positional arguments:
//!
//! - [`RequestArgs`]: the common flags (timeout, lockout key, output, batch, broker, logging).
//! - [`RequestSpec`]: one request to send, from the command line or from a JSON line
//!   ([`spec`] parses stdin lines such as `{"target": "peaches", "value": 5}`).
//! - [`output`]: how a reply is printed (payload line, `--full`, `--field`, `--pretty`).
//! - [`condition`]: conditions on a reply (`value_cal >= 49.5`) that `dl-watch --until` and
//!   `dl-set --wait-until` wait for.
//! - [`check`]: a set checked afterwards: `--verify` (read back and compare) and
//!   `--wait-until EXPR`.
//! - [`run`]: one request, a broadcast, or a batch from stdin with many requests in flight on
//!   one connection, answered in input order; returns the exit status.
//!
//! Exit status (like dl-agent): the dripline return code / 100 for a single request (0
//! success or warning, 1 AMQP incl. broker unreachable, 2 resource, 3 service, 4 client incl.
//! timeout 404 and no route 403, 9 unhandled, ≥10 application codes), 64 for usage errors;
//! in batch mode the highest class among failed requests (0 when all succeeded).
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod args;
pub mod check;
pub mod condition;
pub mod output;
pub mod run;
pub mod spec;

pub use args::{RequestArgs, EXIT_STATUS_HELP, NO_TARGET};
pub use run::request_tool;
pub use spec::RequestSpec;
