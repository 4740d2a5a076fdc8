//! `bare-consume QUEUE COUNT [PREFETCH] [ACK_EVERY]`: consume COUNT messages from QUEUE on the
//! local broker as fast as lapin can, acknowledging every ACK_EVERY with one multiple-ack, and
//! print the rate. No decoding, no database: the ceiling `bench/log.sh` compares dl-log-to-pg
//! with (the same broker, queue, connection settings and prefetch).
//!
//! This binary belongs to the tests package and is never installed.

use dripline_mesh::{BrokerOptions, BrokerSettings, MeshConnection};
use futures_util::StreamExt;
use lapin::options::{BasicAckOptions, BasicConsumeOptions, BasicQosOptions};
use lapin::types::FieldTable;
use std::process::ExitCode;
use std::time::Instant;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (queue, count) = match args.as_slice() {
        [queue, count, ..] => match count.parse::<u64>() {
            Ok(count) => (queue.clone(), count),
            Err(_) => return usage(),
        },
        _ => return usage(),
    };
    let prefetch: u16 = args.get(2).and_then(|p| p.parse().ok()).unwrap_or(10_000);
    let ack_every: u64 = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(5_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    match runtime.block_on(consume(&queue, count, prefetch, ack_every)) {
        Ok(seconds) => {
            println!(
                "{count} messages in {seconds:.3} s: {:.0} messages/s",
                count as f64 / seconds
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("bare-consume: {error}");
            ExitCode::FAILURE
        }
    }
}

fn usage() -> ExitCode {
    eprintln!("usage: bare-consume QUEUE COUNT [PREFETCH] [ACK_EVERY]");
    ExitCode::from(64)
}

async fn consume(queue: &str, count: u64, prefetch: u16, ack_every: u64) -> Result<f64, String> {
    // Timed from before connecting, as bench/log.sh times dl-log-to-pg from its start.
    let started = Instant::now();
    let settings = BrokerSettings::resolve(&BrokerOptions::default()).map_err(|e| e.to_string())?;
    let connection = MeshConnection::connect(&settings, "bare-consume")
        .await
        .map_err(|e| e.to_string())?;
    let channel = connection.channel().await.map_err(|e| e.to_string())?;
    channel
        .basic_qos(prefetch, BasicQosOptions::default())
        .await
        .map_err(|e| e.to_string())?;
    let mut consumer = channel
        .basic_consume(
            queue.into(),
            "".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .map_err(|e| e.to_string())?;
    let mut received = 0u64;
    while let Some(delivery) = consumer.next().await {
        let delivery = delivery.map_err(|e| e.to_string())?;
        received += 1;
        if received.is_multiple_of(ack_every) || received == count {
            delivery
                .acker
                .ack(BasicAckOptions { multiple: true })
                .await
                .map_err(|e| e.to_string())?;
        }
        if received == count {
            break;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    connection.close().await;
    Ok(seconds)
}
