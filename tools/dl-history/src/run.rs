//! What `dl-history` does: resolve settings, connect, run the subcommand.

use crate::args::{Args, Command, Target};
use anyhow::Result;
use dripline_cli::exit_status::{ExitFailure, CONFIG};
use dripline_store::tokio_postgres::Client;
use dripline_store::{connect_async, ConnectionConfig, ConnectionTask, SensorTables};

/// Run one subcommand; the exit status on success.
pub async fn run(args: Args) -> Result<u8> {
    let target = args.command.target();
    let (mut client, _task) = open(target).await?;
    let tables = tables(target);
    match &args.command {
        Command::Migrate { partition, .. } => {
            crate::migrate::run(&mut client, &tables, *partition).await
        }
        Command::Partitions { ahead, .. } => {
            crate::partitions::run(&mut client, &tables, *ahead).await
        }
        Command::Prune {
            raw,
            minute,
            hour,
            json,
            dry_run,
            ..
        } => {
            let horizons = crate::prune::Horizons {
                raw: *raw,
                minute: *minute,
                hour: *hour,
                json: *json,
            };
            crate::prune::run(&mut client, &tables, &horizons, *dry_run).await
        }
        Command::Rollup { init, .. } => crate::rollup::run(&mut client, &tables, *init).await,
    }
}

/// The tables the flags name.
fn tables(target: &Target) -> SensorTables {
    let mut tables = SensorTables::beside(target.table.clone());
    if let Some(json) = &target.json_table {
        tables.json = json.clone();
    }
    tables
}

/// Resolve the settings and connect.
async fn open(target: &Target) -> Result<(Client, ConnectionTask)> {
    let options = target
        .database
        .to_options(target.auth.auth_file.as_deref(), "dl-history");
    let config = ConnectionConfig::resolve(&options)
        .map_err(|e| anyhow::Error::from(ExitFailure::new(CONFIG, e.to_string())))?;
    connect_async(&config)
        .await
        .map_err(dripline_cli::failures::store_failure)
}
