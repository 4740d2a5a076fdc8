//! # dripline-metrics
//!
//! What a long-running dripline program needs to be watched by Prometheus and probed by
//! Kubernetes, in one place for every program that serves it (dl-log-to-pg, dl-exporter):
//!
//! - [`http`]: the small bounded HTTP endpoint serving `/metrics`, `/healthz` and `/readyz`
//!   for anything that implements [`Exposition`].
//! - [`text`]: writing the Prometheus text exposition format (0.0.4): `# HELP` / `# TYPE`
//!   lines, samples, and label values escaped so that a hostile name (quotes, backslashes,
//!   line feeds) cannot break a scrape.
//!
//! The text format is written by hand: the `prometheus-client` crate does not escape label
//! values (its issue #151), and a sensor name is data from the mesh, not a constant.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod http;
pub mod text;

pub use http::{serve, Exposition};
