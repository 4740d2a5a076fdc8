//! dl-log-to-pg --stdin as a user runs it (issue 16): a line that is not UTF-8 (or is too
//! long) is named and the input goes on; a file loaded twice is stored once; Ctrl-C commits
//! the batch in hand, says where it stopped and exits 130, and the rest of the file loads from
//! there. The real PostgreSQL, one schema per test.

#[path = "export_support.rs"]
mod export_support;

use dripline_e2e::{binary, unique_name, wait_until, without_env_settings, ChildGuard};
use export_support::{pg_url, TestDb};
use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// `dl-log-to-pg --stdin` for `db`'s table, nothing from the environment.
fn logger(db: &TestDb) -> Command {
    let mut command = without_env_settings(Command::new(binary("dl-log-to-pg")));
    command.args(["--stdin", "--pg-url", &pg_url(), "--table", &db.table_arg()]);
    command
}

/// Run the logger with `input` (bytes, not necessarily UTF-8) piped to its stdin.
fn load(db: &TestDb, input: &[u8]) -> Output {
    let mut child = logger(db)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("dl-log-to-pg");
    let mut stdin = child.stdin.take().expect("stdin");
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let output = child.wait_with_output().expect("waiting for dl-log-to-pg");
    writer.join().expect("the writer");
    output
}

fn count(db: &mut TestDb, sql: &str) -> i64 {
    let sql = sql.replace("{schema}", &db.schema);
    db.client
        .query_one(sql.as_str(), &[])
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .get(0)
}

fn stderr_of(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The line `{"routing_key":"sensor_value.t","payload":{"value_raw":<value>}}`.
fn t_line(value: u32) -> Vec<u8> {
    format!("{{\"routing_key\":\"sensor_value.t\",\"payload\":{{\"value_raw\":{value}}}}}\n")
        .into_bytes()
}

#[test]
fn a_line_that_is_not_utf8_is_named_and_the_rest_stored() {
    let mut db = TestDb::new();
    // The command: line 2 is the bytes \xff\xfe.
    let input = [t_line(1), b"\xff\xfe\n".to_vec(), t_line(2), t_line(3)].concat();
    let output = load(&db, &input);
    let stderr = stderr_of(&output);
    assert_eq!(output.status.code(), Some(65), "{stderr}");
    assert!(stderr.contains("stdin line 2: not UTF-8"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert_eq!(
        count(
            &mut db,
            "SELECT count(*) FROM {schema}.numeric_data WHERE value_raw IN (1, 2, 3)"
        ),
        3
    );
}

#[test]
fn an_overlong_line_is_named_and_skipped_and_the_rest_stored() {
    let mut db = TestDb::new();
    let mut input = t_line(1);
    // 17 MiB without a newline inside: over the 16 MiB line limit.
    input.extend_from_slice(b"{\"routing_key\":\"sensor_value.t\",\"payload\":{\"value_raw\":\"");
    input.resize(input.len() + 17 * 1024 * 1024, b'x');
    input.extend_from_slice(b"\"}}\n");
    input.extend_from_slice(&t_line(3));
    let output = load(&db, &input);
    let stderr = stderr_of(&output);
    assert_eq!(output.status.code(), Some(65), "{stderr}");
    assert!(
        stderr.contains("stdin line 2: longer than 16777216 bytes"),
        "{stderr}"
    );
    assert_eq!(
        count(&mut db, "SELECT count(*) FROM {schema}.numeric_data"),
        2
    );
    assert_eq!(count(&mut db, "SELECT count(*) FROM {schema}.json_data"), 0);
}

#[test]
fn a_file_without_message_ids_loaded_twice_is_stored_once() {
    let mut db = TestDb::new();
    // Two different alerts at the same time stay two rows; a JSON row too.
    let input = "\
{\"routing_key\":\"sensor_value.a\",\"payload\":{\"value_raw\":1},\"timestamp\":\"2026-01-01T00:00:01Z\"}
{\"routing_key\":\"sensor_value.a\",\"payload\":{\"value_raw\":2},\"timestamp\":\"2026-01-01T00:00:01Z\"}
{\"routing_key\":\"sensor_value.a\",\"payload\":{\"value_raw\":1},\"timestamp\":\"2026-01-01T00:00:02Z\"}
{\"routing_key\":\"sensor_value.b\",\"payload\":{\"value_raw\":1},\"timestamp\":\"2026-01-01T00:00:01Z\"}
{\"routing_key\":\"sensor_value.c\",\"payload\":{\"value_raw\":\"on\"},\"received\":\"2026-01-01T00:00:03Z\"}
";
    for run in 1..=2 {
        let output = load(&db, input.as_bytes());
        assert_eq!(
            output.status.code(),
            Some(0),
            "run {run}: {}",
            stderr_of(&output)
        );
        assert_eq!(
            count(&mut db, "SELECT count(*) FROM {schema}.numeric_data"),
            4,
            "run {run}"
        );
        assert_eq!(
            count(&mut db, "SELECT count(*) FROM {schema}.json_data"),
            1,
            "run {run}"
        );
    }
    assert_eq!(
        count(
            &mut db,
            "SELECT count(DISTINCT message_id) FROM {schema}.numeric_data"
        ),
        4,
        "each line has its own id"
    );
}

/// `lines` alerts, one per line, each a row of its own (no message ids: derived ones).
fn many_alerts(lines: usize) -> String {
    (0..lines)
        .map(|i| {
            format!(
                "{{\"routing_key\":\"sensor_value.s{}\",\"payload\":{{\"value_raw\":{i}}},\"timestamp\":\"2026-01-01T00:00:00Z\"}}\n",
                i % 10
            )
        })
        .collect()
}

/// From stderr's "interrupted: N lines stored, R refused; stopped at stdin line L": (N, R, L).
fn interruption(stderr: &str) -> (i64, i64, usize) {
    let line = stderr
        .lines()
        .find(|line| line.contains("interrupted:"))
        .unwrap_or_else(|| panic!("no interruption line: {stderr}"));
    let numbers: Vec<i64> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter(|word| !word.is_empty())
        .map(|word| word.parse().unwrap())
        .collect();
    assert!(numbers.len() >= 3, "{line}");
    (numbers[0], numbers[1], numbers[2] as usize)
}

#[test]
fn ctrl_c_commits_the_batch_in_hand_says_where_it_stopped_and_exits_130() {
    const LINES: usize = 200_000;
    let mut db = TestDb::new();
    let input = many_alerts(LINES);
    let stderr_path = std::env::temp_dir().join(unique_name("dl-log-to-pg-stderr"));
    let mut guard = ChildGuard::spawn(
        logger(&db)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr_path).expect("stderr file")),
    );
    // The whole file goes into the pipe, which then stays open: the input does not end
    // before the signal.
    let mut stdin = guard.child.stdin.take().expect("stdin");
    let (release, held) = std::sync::mpsc::channel::<()>();
    let text = input.clone();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(text.as_bytes());
        let _ = held.recv();
    });
    let rows = "SELECT count(*) FROM {schema}.numeric_data";
    assert!(
        wait_until(Duration::from_secs(90), || count(&mut db, rows) > 0),
        "nothing stored: {}",
        std::fs::read_to_string(&stderr_path).unwrap_or_default()
    );
    let pid = guard.child.id().to_string();
    assert!(Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .expect("kill")
        .success());
    let status = wait_for_exit(&mut guard, Duration::from_secs(60));
    drop(release);
    writer.join().expect("the writer");
    let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
    let _ = std::fs::remove_file(&stderr_path);
    assert_eq!(status.code(), Some(130), "{stderr}");
    let (stored, refused, stopped_at) = interruption(&stderr);
    eprintln!("SIGINT after {stored} of {LINES} lines stored; stopped at line {stopped_at}");
    assert_eq!(refused, 0, "{stderr}");
    assert_eq!(count(&mut db, rows), stored, "{stderr}");
    assert_eq!(
        stored,
        stopped_at as i64 - 1,
        "every line before it: {stderr}"
    );
    // The rest of the file, from that line on, completes it.
    let rest: String = input
        .lines()
        .skip(stopped_at - 1)
        .map(|line| format!("{line}\n"))
        .collect();
    let output = load(&db, rest.as_bytes());
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    assert_eq!(count(&mut db, rows), LINES as i64);
}

fn wait_for_exit(guard: &mut ChildGuard, limit: Duration) -> std::process::ExitStatus {
    let mut status = None;
    assert!(
        wait_until(limit, || {
            status = guard.child.try_wait().expect("try_wait");
            status.is_some()
        }),
        "dl-log-to-pg did not stop after SIGINT"
    );
    status.expect("exited")
}
