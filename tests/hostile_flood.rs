//! `hostile-flood SERVICE ENDPOINT PID [REQUESTS] [CHUNKS]`: flood the running dl-serve
//! (process PID, service SERVICE with endpoint ENDPOINT) on the local broker and print a table:
//! idle ping latency (the baseline), ping latency while a burst of REQUESTS gets (default
//! 100 000) drains, and the peak resident memory during a chunk bomb of CHUNKS incomplete
//! two-chunk messages of 1 KiB (default 100 000). `bench/hostile.sh` runs it.
//!
//! This binary belongs to the tests package and is never installed.

#[path = "flood.rs"]
mod flood;

use dripline_e2e::unique_name;
use dripline_mesh::{BrokerOptions, BrokerSettings, MeshConnection, RequestClient};
use flood::{median_max_ms, ping, pings_while, status_kib, Raw};
use std::process::ExitCode;
use std::time::{Duration, Instant};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |index: usize, default: usize| -> Option<usize> {
        args.get(index)
            .map_or(Some(default), |text| text.parse().ok())
    };
    let (Some(service), Some(endpoint), Some(pid), Some(requests), Some(chunks)) = (
        args.first(),
        args.get(1),
        args.get(2).and_then(|pid| pid.parse::<u32>().ok()),
        number(3, 100_000),
        number(4, 100_000),
    ) else {
        eprintln!("usage: hostile-flood SERVICE ENDPOINT PID [REQUESTS] [CHUNKS]");
        return ExitCode::from(64);
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(bench(service, endpoint, pid, requests, chunks));
    ExitCode::SUCCESS
}

/// Forget the peak resident memory so far (Linux ≥ 4.0; root or the process's owner).
fn reset_peak(pid: u32) -> bool {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok()
}

async fn bench(service: &str, endpoint: &str, pid: u32, requests: usize, chunks: usize) {
    let settings = BrokerSettings::resolve(&BrokerOptions::default()).expect("broker settings");
    let connection = MeshConnection::connect(&settings, "hostile-flood")
        .await
        .expect("the broker");
    let client = RequestClient::open(&connection)
        .await
        .expect("request client");
    let raw = Raw::open(&connection).await;
    let nobody = unique_name("nobody");
    let limit = Duration::from_secs(600);
    let settled = Duration::from_millis(100);
    let every = Duration::from_millis(100);
    println!(
        "{:<34} {:>9} {:>9} {:>8} {:>13} {:>12}",
        "dl-serve", "median ms", "max ms", "pings", "peak RSS kB", "RSS after kB"
    );
    let row = |what: &str, round_trips: &[Duration], peak: u64| {
        let (median, max) = median_max_ms(round_trips);
        println!(
            "{what:<34} {median:>9.1} {max:>9.1} {:>8} {peak:>13} {:>12}",
            round_trips.len(),
            status_kib(pid, "VmRSS")
        );
    };

    // Baseline: 50 pings one after the other on the idle service.
    let mut idle = Vec::new();
    for _ in 0..50 {
        idle.push(
            ping(&connection, &client, service, limit)
                .await
                .unwrap_or(limit),
        );
    }
    row("idle ping (baseline)", &idle, status_kib(pid, "VmHWM"));

    // The burst: pings every 100 ms from its start until one is answered within 100 ms.
    let peak_reset = reset_peak(pid);
    let start = Instant::now();
    let burst = flood::burst(&raw, &connection, endpoint, requests, 64, &nobody);
    let (published, round_trips) =
        pings_while(&connection, &client, service, every, settled, limit, burst).await;
    let drained = start.elapsed();
    row(
        &format!("{requests}-request burst"),
        &round_trips,
        status_kib(pid, "VmHWM"),
    );

    // The chunk bomb: peak resident memory while it drains.
    let bomb_reset = reset_peak(pid);
    let start = Instant::now();
    let bomb = flood::chunk_bomb(&raw, &connection, endpoint, chunks, 1024, &nobody);
    let (_, bomb_trips) =
        pings_while(&connection, &client, service, every, settled, limit, bomb).await;
    row(
        &format!("{chunks}-message chunk bomb"),
        &bomb_trips,
        status_kib(pid, "VmHWM"),
    );
    println!(
        "burst published in {:.1} s, drained in {:.1} s; chunk bomb drained in {:.1} s{}",
        published.as_secs_f64(),
        drained.as_secs_f64(),
        start.elapsed().as_secs_f64(),
        if peak_reset && bomb_reset {
            ""
        } else {
            " (peak RSS not reset between floods: it is the peak since start)"
        }
    );
}
