//! `dl-history partitions`: list them, or create the next ones.

use anyhow::Result;
use dripline_cli::exit_status::{ExitFailure, SOFTWARE};
use dripline_store::tokio_postgres::Client;
use dripline_store::SensorTables;

/// List (or with `ahead`, create) the partitions of both tables.
pub async fn run(_client: &mut Client, _tables: &SensorTables, _ahead: Option<u32>) -> Result<u8> {
    Err(ExitFailure::new(SOFTWARE, "partitions is not written yet").into())
}
