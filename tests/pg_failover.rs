//! PostgreSQL failover, done for real (issue 12): a private primary and its streaming standby
//! (`pg_basebackup -R`, synchronous; tests/private_services.rs), the programs given both
//! hosts in one URL.
//!
//! - dl-export with `target_session_attrs=prefer-standby` reads from the standby while the
//!   primary is up (proved by a row the standby has not replayed: replay is paused), and from
//!   the primary when the standby is down; `read-write` reads from the primary.
//! - dl-log-to-pg, the standby listed first and no `target_session_attrs` (its default with
//!   several hosts is `read-write`), writes to the primary; the primary is stopped in
//!   immediate mode mid-stream and the standby promoted; the logger resumes on it, and every
//!   alert is in the table exactly once. The test prints alerts lost, duplicated, and the
//!   seconds from the stop until rows were written again.
//!
//! Counts are small (6 000 alerts): the failover is about where the batch in hand goes, not
//! volume; 6 000 with 100-alert batches gives the stop dozens of commits to land between
//! while keeping the test to a few seconds of writing.

#[path = "log_support.rs"]
mod log_support;

use dripline_e2e::private_services::PrivatePostgres;
use dripline_e2e::{run, stderr_of, stdout_of, unique_name, wait_until};
use log_support::{logger_args, numeric_alerts, publish, try_count, Logger, TestQueue, PATIENCE};
use std::time::Instant;

const SHARED_BROKER: u16 = 5672;

/// `postgresql://postgres@127.0.0.1:<a>,127.0.0.1:<b>/postgres`, then `query`.
fn both(first: &PrivatePostgres, second: &PrivatePostgres, query: &str) -> String {
    format!(
        "postgresql://postgres@127.0.0.1:{},127.0.0.1:{}/postgres{query}",
        first.port(),
        second.port()
    )
}

/// `dl-export -v` of every row of `numeric_data` at `url` (JSON lines): (stdout, stderr).
fn export(url: &str, extra: &[&str]) -> (String, String) {
    let args = [
        &["--pg-url", url, "--table", "numeric_data", "--since", "1d"],
        &["--format", "jsonl", "-v"][..],
        extra,
    ]
    .concat();
    let output = run("dl-export", &args, None);
    assert!(
        output.status.success(),
        "dl-export {args:?} failed ({}): {}",
        output.status,
        stderr_of(&output)
    );
    (stdout_of(&output), stderr_of(&output))
}

#[test]
fn export_reads_from_the_standby_while_the_primary_is_up() {
    let primary = PrivatePostgres::start();
    let standby = PrivatePostgres::start_standby_of(&primary);
    primary.psql(
        "postgres",
        "CREATE TABLE numeric_data (sensor_name text NOT NULL, \"timestamp\" timestamptz \
         NOT NULL, value_raw double precision NOT NULL, value_cal double precision); \
         INSERT INTO numeric_data VALUES ('replayed', now() - interval '1 minute', 1, 2)",
    );
    let count = "SELECT count(*) FROM numeric_data";
    assert!(wait_until(PATIENCE, || try_count(
        &standby.url("postgres"),
        count
    ) == Some(1)));
    // From now on the standby replays nothing: a row inserted on the primary is only there.
    standby.psql("postgres", "SELECT pg_wal_replay_pause()");
    assert!(wait_until(PATIENCE, || standby
        .psql("postgres", "SELECT pg_get_wal_replay_pause_state()")
        == "paused"));
    primary.psql(
        "postgres",
        "INSERT INTO numeric_data VALUES ('only_on_primary', now() - interval '1 minute', 3, 4)",
    );

    // The primary listed first, and still passed over.
    let (rows, log) = export(
        &both(&primary, &standby, "?target_session_attrs=prefer-standby"),
        &[],
    );
    assert!(rows.contains("replayed"), "{rows}");
    assert!(
        !rows.contains("only_on_primary"),
        "read from the primary: {rows}\n{log}"
    );
    let on_standby = format!(
        "connected to PostgreSQL at 127.0.0.1:{} (standby)",
        standby.port()
    );
    assert!(log.contains(&on_standby), "{log}");

    // read-write (here as the flag, over the URL's any): the primary, even listed second.
    let (rows, log) = export(
        &both(&standby, &primary, "?target_session_attrs=any"),
        &["--pg-target-session-attrs", "read-write"],
    );
    assert!(rows.contains("only_on_primary"), "{rows}\n{log}");
    let on_primary = format!(
        "connected to PostgreSQL at 127.0.0.1:{} (primary)",
        primary.port()
    );
    assert!(log.contains(&on_primary), "{log}");

    // Nobody is what was asked for: one line naming each server and why (exit 69).
    let output = run(
        "dl-export",
        &[
            "--pg-url",
            &both(&primary, &primary, "?target_session_attrs=standby"),
            "--table",
            "numeric_data",
        ],
        None,
    );
    let error = stderr_of(&output);
    assert_eq!(output.status.code(), Some(69), "{error}");
    assert!(
        error.contains(&format!(
            "127.0.0.1:{}: a primary (target_session_attrs=standby)",
            primary.port()
        )),
        "{error}"
    );
    assert_eq!(error.trim().lines().count(), 1, "{error}");

    // prefer-standby with the standby down: any server will do.
    standby.stop("fast");
    let (rows, log) = export(
        &both(&standby, &primary, "?target_session_attrs=prefer-standby"),
        &[],
    );
    assert!(rows.contains("only_on_primary"), "{rows}\n{log}");
    assert!(log.contains(&on_primary), "{log}");
}

#[test]
fn the_logger_follows_a_promoted_standby_losing_and_duplicating_nothing() {
    let primary = PrivatePostgres::start();
    let standby = PrivatePostgres::start_standby_of(&primary);
    // The standby first: only the read-write default makes the logger pass it over.
    let url = both(&standby, &primary, "");
    let queue = TestQueue::new("pg_failover_queue", SHARED_BROKER);
    let prefix = unique_name("pg_failover");
    let small = [
        "--batch-size",
        "100",
        "--prefetch",
        "200",
        "--batch-time",
        "20ms",
    ];
    let extra = [&["--init-schema"][..], &small[..]].concat();
    let logger = Logger::start(&logger_args(&url, "numeric_data", &queue, &prefix, &extra));
    let primary_name = format!("127.0.0.1:{}", primary.port());
    let standby_name = format!("127.0.0.1:{}", standby.port());
    assert!(
        logger.stderr().contains(&format!(
            "writing to the database at {primary_name} (primary)"
        )),
        "{}",
        logger.stderr()
    );
    let server_metric = |name: &str| format!("dl_log_to_pg_database_info{{server=\"{name}\"}} 1");
    assert!(logger
        .get("/metrics")
        .1
        .contains(&server_metric(&primary_name)));

    let (first, later) = (4000, 2000);
    let total = (first + later) as i64;
    let lines = numeric_alerts(&prefix, 0, first);
    let publisher = std::thread::spawn(move || publish(SHARED_BROKER, &lines));
    let count = "SELECT count(*) FROM numeric_data";
    let on_primary = primary.url("postgres");
    assert!(
        wait_until(PATIENCE, || try_count(&on_primary, count).unwrap_or(0)
            >= 1000),
        "{}",
        logger.stderr()
    );
    let stopped = Instant::now();
    primary.stop("immediate");
    // What the primary had committed is on the standby (synchronous replication).
    let at_stop = try_count(&standby.url("postgres"), count).expect("the standby answers");
    assert!(
        at_stop < first as i64,
        "the stop came after the first alerts were all written"
    );
    // Alerts keep coming while there is no primary; they wait in the queue.
    publish(SHARED_BROKER, &numeric_alerts(&prefix, first, later));
    publisher.join().expect("publisher");
    standby.promote();
    let promoted = stopped.elapsed();
    let on_new_primary = standby.url("postgres");
    let at_promotion = try_count(&on_new_primary, count).expect("the promoted standby answers");
    assert!(
        wait_until(PATIENCE, || try_count(&on_new_primary, count).unwrap_or(0)
            > at_promotion),
        "the logger never wrote to the promoted standby: {}",
        logger.stderr()
    );
    let resumed = stopped.elapsed();
    assert!(
        wait_until(PATIENCE, || try_count(&on_new_primary, count)
            == Some(total)),
        "rows missing after the failover: {}",
        logger.stderr()
    );
    // Let any redelivered duplicate arrive before counting.
    assert!(wait_until(PATIENCE, || logger.metric("waiting_alerts") == Some(0.0)));
    let rows = try_count(&on_new_primary, count).expect("count");
    let distinct = try_count(
        &on_new_primary,
        "SELECT count(DISTINCT message_id) FROM numeric_data",
    )
    .expect("distinct count");
    let lost = total - distinct;
    let duplicated = rows - distinct;
    println!(
        "pg failover: {total} alerts, primary stopped (immediate) with {at_stop} rows \
         committed, standby promoted after {:.1} s; lost {lost}, duplicated {duplicated}; \
         writing resumed {:.1} s after the stop; redelivered rows already stored: {}",
        promoted.as_secs_f64(),
        resumed.as_secs_f64(),
        logger.metric("duplicates_total").unwrap_or(0.0)
    );
    assert_eq!((lost, duplicated), (0, 0));
    assert!(
        logger.stderr().contains(&format!(
            "writing to the database at {standby_name} (primary) now (was {primary_name} (primary))"
        )),
        "{}",
        logger.stderr()
    );
    assert!(logger
        .get("/metrics")
        .1
        .contains(&server_metric(&standby_name)));
    assert!(wait_until(PATIENCE, || logger.get("/readyz").0 == 200));
}
