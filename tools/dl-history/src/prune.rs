//! `dl-history prune`: retention.

use anyhow::Result;
use dripline_cli::exit_status::{ExitFailure, SOFTWARE};
use dripline_store::tokio_postgres::Client;
use dripline_store::SensorTables;
use std::time::Duration;

/// How long each kind of data is kept.
#[derive(Clone, Debug)]
pub struct Horizons {
    /// Raw rows (numeric table partitions).
    pub raw: Duration,
    /// The 1-minute rollup.
    pub minute: Option<Duration>,
    /// The 1-hour rollup.
    pub hour: Option<Duration>,
    /// The JSON table's partitions.
    pub json: Option<Duration>,
}

/// Drop what is past the horizons (or, `dry_run`, say what).
pub async fn run(
    _client: &mut Client,
    _tables: &SensorTables,
    _horizons: &Horizons,
    _dry_run: bool,
) -> Result<u8> {
    Err(ExitFailure::new(SOFTWARE, "prune is not written yet").into())
}
