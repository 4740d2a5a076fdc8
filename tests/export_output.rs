//! Where rows go: `| head -1` ends dl-export quietly, `--output` is atomic (a killed or
//! interrupted export leaves the old file and no partial one), `--gzip` decodes to the same
//! text, and a closed pipe does not advance `--state`.

#[path = "export_support.rs"]
mod support;

use dripline_e2e::{unique_name, wait_until};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use support::*;

fn rows(db: &mut TestDb, count: u32) {
    db.exec(&format!(
        "INSERT INTO {{table}} SELECT 'sensor_' || (i % 5), timestamptz '2026-11-25 00:00:00+00'
             + i * interval '10 milliseconds', i * 0.5, i * 1.5
         FROM generate_series(1, {count}) i"
    ));
}

fn scratch() -> PathBuf {
    let dir = std::env::temp_dir().join(unique_name("export_output"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn partial_files(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".partial"))
        .collect()
}

#[test]
fn head_closes_the_pipe_and_dl_export_ends_quietly() {
    let mut db = TestDb::new();
    rows(&mut db, 300_000);
    let dir = scratch();
    let state = dir.join("state");
    let mut child = db
        .dl_export()
        .args(["--format", "jsonl", "--state", state.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    assert!(
        first.starts_with("{\"sensor_name\":\"sensor_1\""),
        "{first}"
    );
    drop(stdout); // what `head -1` does
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "dl-export hung"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert_eq!(status.code(), Some(0), "stderr: {stderr}");
    assert_eq!(stderr, "", "no complaint about the closed pipe");
    assert!(
        !state.exists(),
        "state must not advance past rows nobody read"
    );

    // The same through a real shell pipeline.
    let command = format!(
        "{} --pg-url '{}' --table '{}' | head -1",
        dripline_e2e::binary("dl-export").display(),
        pg_url(),
        db.table_arg()
    );
    let output = std::process::Command::new("bash")
        .args(["-o", "pipefail", "-c", &command])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        "sensor_name,timestamp,value_raw,value_cal\n"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn killed_or_interrupted_exports_leave_the_old_file() {
    let mut db = TestDb::new();
    rows(&mut db, 250_000);
    let dir = scratch();
    let target = dir.join("export.jsonl");
    std::fs::write(&target, "old content\n").unwrap();

    for signal in ["KILL", "TERM", "INT"] {
        let mut child = db
            .dl_export()
            .args(["--format", "jsonl", "-o", target.to_str().unwrap()])
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Wait until rows are flowing into the temporary file, then strike.
        let flowing = wait_until(Duration::from_secs(60), || {
            partial_files(&dir)
                .iter()
                .any(|p| std::fs::metadata(p).map(|m| m.len() > 0).unwrap_or(false))
        });
        assert!(flowing, "no temporary file appeared");
        let _ = std::process::Command::new("kill")
            .args([&format!("-{signal}"), &child.id().to_string()])
            .status();
        let status = child.wait().unwrap();
        let mut stderr = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        assert_eq!(
            std::fs::read_to_string(&target).unwrap(),
            "old content\n",
            "after SIG{signal}"
        );
        if signal != "KILL" {
            assert_eq!(status.code(), Some(130), "SIG{signal}: {stderr}");
            assert!(stderr.contains("interrupted"), "{stderr}");
            assert!(
                partial_files(&dir).is_empty(),
                "SIG{signal} left a partial file"
            );
        }
        for leftover in partial_files(&dir) {
            std::fs::remove_file(leftover).unwrap();
        }
    }

    // Uninterrupted, the file is replaced whole.
    let output = db.run(&["--format", "jsonl", "-o", target.to_str().unwrap()]);
    ok_stdout(&output);
    assert!(output.stdout.is_empty());
    let text = std::fs::read_to_string(&target).unwrap();
    assert_eq!(text.lines().count(), 250_000);
    assert!(partial_files(&dir).is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn gzip_output_decodes_to_the_plain_text() {
    let mut db = TestDb::new();
    rows(&mut db, 20_000);
    let dir = scratch();
    let plain = ok_stdout(&db.run(&["--format", "tsv"]));

    let file = dir.join("out.tsv.gz");
    ok_stdout(&db.run(&["--format", "tsv", "--gzip", "-o", file.to_str().unwrap()]));
    let mut decoded = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(&file).unwrap())
        .read_to_end(&mut decoded)
        .unwrap();
    assert_eq!(decoded, plain);

    let piped = ok_stdout(&db.run(&["--format", "tsv", "--gzip"]));
    let mut decoded = Vec::new();
    flate2::read::GzDecoder::new(piped.as_slice())
        .read_to_end(&mut decoded)
        .unwrap();
    assert_eq!(decoded, plain);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// An `--output` that exists and is not a regular file is written into, not replaced: a
/// temporary file renamed over `/dev/null` replaces the machine's /dev/null when dl-export runs
/// as root (a FIFO stands in for it here, so that a failure harms nothing).
#[test]
fn an_output_that_is_not_a_regular_file_is_written_into_not_replaced() {
    use std::os::unix::fs::FileTypeExt;
    let mut db = TestDb::new();
    rows(&mut db, 1_000);
    let dir = scratch();
    let fifo = dir.join("pipe");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
    };
    let output = db.run(&["--format", "jsonl", "-o", fifo.to_str().unwrap()]);
    ok_stdout(&output);
    let kind = std::fs::symlink_metadata(&fifo).unwrap().file_type();
    assert!(kind.is_fifo(), "the FIFO was replaced: {kind:?}");
    // Bounded: a reader that no writer ever met stays blocked (and is left behind).
    assert!(
        wait_until(Duration::from_secs(30), || reader.is_finished()),
        "nothing was written into the FIFO"
    );
    assert_eq!(reader.join().unwrap().lines().count(), 1_000);
    assert!(partial_files(&dir).is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}
