//! `dl-history migrate`: a plain table becomes a partitioned one in place.

use anyhow::Result;
use dripline_cli::exit_status::{ExitFailure, SOFTWARE};
use dripline_store::partition::Period;
use dripline_store::tokio_postgres::Client;
use dripline_store::SensorTables;

/// Migrate both tables.
pub async fn run(_client: &mut Client, _tables: &SensorTables, _period: Period) -> Result<u8> {
    Err(ExitFailure::new(SOFTWARE, "migrate is not written yet").into())
}
